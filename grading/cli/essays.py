"""Essays from the command line: ``omr ocr`` (the contest's pending essays, or one file), ``omr duplicates``,
``omr search`` and ``omr essays status``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from omr.cli import Handler, positive_int
from omr.errors import ExitCode
from omr.paths import display_source

from .common import contest_args, db_url, fraction_arg, table


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    s = sub.add_parser("ocr", help="recognise essay text: the contest's pending essays (resumable), or one FILE "
                                   "printed to stdout")
    s.add_argument("file", nargs="?", metavar="FILE", help="an image or PDF to read (no store involved)")
    s.add_argument("--contest", default=None, metavar="DIR", help="contest folder: OCR its pending essays")
    s.add_argument("--db", default=None, metavar="URL", help="results store (default: DIR/out/results.sqlite)")
    s.add_argument("--workers", type=positive_int, default=None, help="processes (default: all cores)")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the OCR on an existing Dask cluster (tcp://host:port) instead of local processes")
    s.add_argument("--retry-failed", action="store_true", help="also read again the essays whose OCR failed")
    s.add_argument("--lang", default=None, help="Tesseract language(s) (default: vie)")

    s = sub.add_parser("duplicates", help="find near-duplicate essays (shared passages), store and list them")
    contest_args(s)
    s.add_argument("--threshold", type=fraction_arg, default=None,
                   help="containment (share of the shorter essay's 5-word runs found in the other) from which "
                        "a pair is reported, above 0 and at most 1 (default 0.5)")

    s = sub.add_parser("search", help="full-text search in the essays' recognised text")
    s.add_argument("query", metavar="QUERY", help="words that must all appear (Vietnamese, with diacritics)")
    contest_args(s)
    s.add_argument("--plain", action="store_true", help="match without diacritics (hoc finds học, hộc, …)")
    s.add_argument("--blind", action="store_true", help="do not show participant ids (anonymous codes only)")
    s.add_argument("--limit", type=positive_int, default=50, help="at most this many essays (default 50)")

    s = sub.add_parser("essays", help="essay judging: how far the double-blind scoring is")
    esub = s.add_subparsers(dest="essays_command", metavar="ACTION", required=True)
    st = esub.add_parser("status", help="essay tasks pending / one score / disputed / final, and each judge's work")
    contest_args(st)

    return {"ocr": _cmd_ocr, "duplicates": _cmd_duplicates, "search": _cmd_search, "essays": _cmd_essays}


def ocr_run_options(args: argparse.Namespace) -> Any:
    """The OCR stage's options from the command line (``OmrError`` when ``omr.ocr`` is missing)."""
    from grading.essays import OcrRunOptions

    ocr = _ocr_options(args)
    return OcrRunOptions(workers=args.workers or os.cpu_count() or 1, scheduler=args.scheduler,
                         retry_failed=getattr(args, "retry_failed", False), ocr=ocr)

def _ocr_options(args: argparse.Namespace) -> Any:
    from omr.ocr import OcrOptions

    lang = getattr(args, "lang", None)
    return OcrOptions(lang=lang) if lang else OcrOptions()

def check_ocr(run: Any) -> None:
    from omr.ocr import check_ocr_dependencies

    check_ocr_dependencies(run.ocr)

def run_ocr_stage(store: Any, layout: Any, run: Any, how: str) -> Any:
    from grading.essays import OcrTally, ocr_pending

    tally = OcrTally()
    try:
        ocr_pending(store, layout, run, tally)
    except KeyboardInterrupt:
        print(tally.text(how), file=sys.stderr)
        raise
    return tally

def _cmd_ocr(args: argparse.Namespace) -> int:
    from omr.errors import BadArguments

    if (args.file is None) == (args.contest is None):
        raise BadArguments("give either FILE (print its text) or --contest DIR (read the contest's pending essays)")
    if args.file is not None:
        if args.db or args.retry_failed:
            raise BadArguments("--db and --retry-failed go with --contest, not with FILE")
        return _ocr_one_file(args)
    from grading.batch import accounting
    from grading.cluster import check_scheduler
    from grading.contest import load_contest
    from grading.essays import earlier_failures
    from grading.store import Store

    contest = load_contest(args.contest)            # exit 5
    run = ocr_run_options(args)
    check_ocr(run)                                 # exit 6 before the first essay
    if args.scheduler:
        check_scheduler(args.scheduler)
    how = f"Dask scheduler {args.scheduler}" if args.scheduler else f"{run.workers} worker(s)"
    with Store.open(db_url(args, must_exist=True)) as store:
        tally = run_ocr_stage(store, contest.layout, run, how)
        acc = accounting(store)
        print(tally.text(how))
        print(acc.text())
        if note := earlier_failures(store, tally):
            print(note, file=sys.stderr)
        return tally.exit_code

def _ocr_one_file(args: argparse.Namespace) -> int:
    from grading.essays import OcrRunOptions, ocr_file

    run = OcrRunOptions(workers=args.workers or os.cpu_count() or 1, scheduler=args.scheduler,
                        ocr=_ocr_options(args), progress=False)
    check_ocr(run)
    worst = ExitCode.OK
    shown = display_source(args.file)
    for out in ocr_file(args.file, run):
        if out.result is None:
            print(f"== {shown} page {out.key}: FAILED: {out.failure}", file=sys.stderr)
            worst = ExitCode.FINISHED_WITH_REJECTS
            continue
        r = out.result
        print(f"== {shown} page {out.key} ({r.source}, {r.engine}, confidence {r.mean_conf:.0f}, "
              f"{r.words} word(s){'' if r.reliable else ', LOW CONFIDENCE'})"
              + "".join(f"\n   warning: {w}" for w in r.warnings), file=sys.stderr)
        sys.stdout.write(r.text if r.text.endswith("\n") or not r.text else r.text + "\n")
        sys.stdout.flush()
        if not r.reliable and worst == ExitCode.OK:
            worst = ExitCode.FINISHED_WITH_FLAGS
    return worst

def _cmd_duplicates(args: argparse.Namespace) -> int:
    from grading.contest import load_contest
    from grading.essays import find_duplicates, load_essay_questions
    from grading.store import Store

    load_contest(args.contest)                      # exit 5
    questions = load_essay_questions(args.contest)  # exit 5
    with Store.open(db_url(args, must_exist=True)) as store:
        found, new = find_duplicates(store, questions, threshold=args.threshold)
        n_essays = len(store.essay_texts())
    rows = [("essay", "essay", "similarity", "containment", "first shared passage")]
    for f in found:
        first = " ".join(str(f.passages[0]["text"]).split()) if f.passages else ""
        rows.append((f.code_a, f.code_b, f"{f.similarity:.2f}", f"{f.containment:.2f}",
                     (first[:120] + "…") if len(first) > 120 else first))
    if found:
        print(table(rows))
    print(f"{len(found)} near-duplicate pair(s) among {n_essays} essay(s) read ({new} new)"
          + (f", {len(questions)} question statement(s) ignored" if questions else ""), file=sys.stderr)
    return ExitCode.FINISHED_WITH_FLAGS if new else ExitCode.OK      # what this run found that was not known

def _cmd_search(args: argparse.Namespace) -> int:
    from grading.essays import snippet
    from grading.store import Store

    with Store.open(db_url(args, must_exist=True), read_only=True) as store:
        rows = store.search_essays(args.query, plain=args.plain, limit=args.limit)
    head = ("essay",) + (() if args.blind else ("participant",)) + ("text",)
    out = [head]
    for r in rows:
        who = () if args.blind else (r["participant"] or "(unassigned)",)
        out.append((r["anon_code"],) + who + (snippet(r["text"] or "", args.query, plain=args.plain),))
    if rows:
        print(table(out))
    print(f"{len(rows)} essay(s) match {args.query!r}" + (" (without diacritics)" if args.plain else ""),
          file=sys.stderr)
    return ExitCode.OK

def _cmd_essays(args: argparse.Namespace) -> int:
    from grading.essays import judge_progress, load_rubric, task_counts
    from grading.store import Store

    rubric = load_rubric(args.contest)              # exit 5 when rubric.json is not valid
    with Store.open(db_url(args, must_exist=True), read_only=True) as store:
        counts = task_counts(store, rubric)
        people = [p for p in judge_progress(store) if p.assigned]
    print(f"essay tasks in {store.url}" + ("" if rubric else f" (no {Path(args.contest) / 'rubric.json'} yet: "
                                                           "nothing can be scored)"))
    labels = {"tasks": "tasks", "waiting_participant": "waiting for a participant", "pending": "pending (no score)",
              "one_score": "one score", "disputed": "disputed, awaiting the third judge",
              "final_two": "final after two scores", "final_three": "final after three scores",
              "final": "final", "no_rubric": "open, question not in the rubric"}
    print(table([(labels[k], str(n)) for k, _, n in counts.rows()]))
    if people:
        print()
        print(table([("judge", "unit", "assigned", "scored", "open")]
                     + [(p.name, p.unit, str(p.assigned), str(p.scored), str(p.open)) for p in people]))
    return ExitCode.OK
