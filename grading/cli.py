"""The full ``omr`` command: the reader's subcommands (``omr.cli``) plus grading's own.

Grading subcommands register here so that ``omr`` (pixels → readings) never imports ``grading``.
Results go to stdout; progress and logs to stderr; ``omr.cli.main`` maps exceptions to exit codes.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from omr.cli import Handler, _positive_int, main as omr_main
from omr.errors import ExitCode
from omr.paths import display_source


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    """Add grading's subcommands to the parser; return their handlers by name."""
    def contest_args(s: argparse.ArgumentParser) -> None:
        s.add_argument("--contest", required=True, metavar="DIR",
                       help="contest folder holding layout.json and keys.json (e.g. answer_keys/demo)")
        s.add_argument("--db", default=None, metavar="URL",
                       help="results store: sqlite:///path or postgresql://user@host/db "
                            "(default: DIR/out/results.sqlite)")

    s = sub.add_parser("grade", help="read and score scans into the contest's results store (resumable)")
    s.add_argument("inputs", nargs="+", help="files or folders (recursive): JPEG, PNG, TIFF, PDF")
    contest_args(s)
    s.add_argument("--workers", type=_positive_int, default=None, help="processes (default: all cores)")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="read pages on an existing Dask cluster (tcp://host:port) instead of local processes")
    s.add_argument("--ocr", choices=("inline", "later"), default="later",
                   help="essays: 'later' (default) registers them pending for `omr ocr`; 'inline' reads them "
                        "at the end of this run")
    s.add_argument("--unit", default=None, metavar="NAME",
                   help="the unit (department, district, school) that collected these files: recorded with each "
                        "new submission for per-unit progress and reports")

    s = sub.add_parser("ocr", help="recognise essay text: the contest's pending essays (resumable), or one FILE "
                                   "printed to stdout")
    s.add_argument("file", nargs="?", metavar="FILE", help="an image or PDF to read (no store involved)")
    s.add_argument("--contest", default=None, metavar="DIR", help="contest folder: OCR its pending essays")
    s.add_argument("--db", default=None, metavar="URL", help="results store (default: DIR/out/results.sqlite)")
    s.add_argument("--workers", type=_positive_int, default=None, help="processes (default: all cores)")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the OCR on an existing Dask cluster (tcp://host:port) instead of local processes")
    s.add_argument("--retry-failed", action="store_true", help="also read again the essays whose OCR failed")
    s.add_argument("--lang", default=None, help="Tesseract language(s) (default: vie)")

    s = sub.add_parser("duplicates", help="find near-duplicate essays (shared passages), store and list them")
    contest_args(s)
    s.add_argument("--threshold", type=_fraction_arg, default=None,
                   help="containment (share of the shorter essay's 5-word runs found in the other) from which "
                        "a pair is reported, above 0 and at most 1 (default 0.5)")

    s = sub.add_parser("search", help="full-text search in the essays' recognised text")
    s.add_argument("query", metavar="QUERY", help="words that must all appear (Vietnamese, with diacritics)")
    contest_args(s)
    s.add_argument("--plain", action="store_true", help="match without diacritics (hoc finds học, hộc, …)")
    s.add_argument("--blind", action="store_true", help="do not show participant ids (anonymous codes only)")
    s.add_argument("--limit", type=_positive_int, default=50, help="at most this many essays (default 50)")

    s = sub.add_parser("status", help="what the results store holds: files and pages by status, reasons, flags")
    contest_args(s)

    s = sub.add_parser("flags", help="list flagged items for the judges")
    contest_args(s)
    s.add_argument("--state", choices=("open", "resolved", "all"), default="open")
    s.add_argument("--json", action="store_true", help="print a JSON list instead of a table")

    s = sub.add_parser("resolve", help="record a judge's decision for one flag and re-score its page")
    s.add_argument("flag_id", type=_positive_int, metavar="FLAG_ID")
    s.add_argument("value", metavar="VALUE",
                   help='question: the marks that count ("B", "AC", "" for blank); participant/version: the '
                        "whole field; page: a note")
    contest_args(s)
    s.add_argument("--who", required=True, help="the judge's name or login (kept in the audit log)")

    s = sub.add_parser("rescore", help="reload keys.json and re-score every page (human decisions kept)")
    contest_args(s)
    s.add_argument("--who", required=True, help="who re-scores (kept in the audit log)")

    s = sub.add_parser("export", help="write the results table (xlsx with item statistics and issues, or csv)")
    contest_args(s)
    s.add_argument("--out", "-o", required=True, help="results.xlsx or results.csv")

    s = sub.add_parser("demo", help="generate a small sample contest, read it, compare with the truth, grade "
                                    "it into SQLite and export (what `make run` runs)")
    s.add_argument("--out", default="out/demo")
    s.add_argument("-n", type=_positive_int, default=24)
    s.add_argument("--workers", type=_positive_int, default=None)

    s = sub.add_parser("annotate", help="write each graded page straightened, with every answer marked "
                                        "correct / wrong / to review and a legend (JPEG per page)")
    contest_args(s)
    s.add_argument("--out", "-o", required=True, help="folder for the annotated pages")
    s.add_argument("--participant", default=None, help="only this participant's pages")

    s = sub.add_parser("judges", help="accounts of the judges' web app")
    jsub = s.add_subparsers(dest="judges_cmd", required=True, metavar="ACTION")
    a = jsub.add_parser("add", help="create a judge's account and print its one-time password (shown once)")
    a.add_argument("name", metavar="NAME", help="login (one word)")
    a.add_argument("--unit", required=True, help="the judge's unit (school, board …)")
    a.add_argument("--role", choices=("judge", "admin"), default="judge", help="admin also sees /admin")
    contest_args(a)

    s = sub.add_parser("essays", help="essay judging: how far the double-blind scoring is")
    esub = s.add_subparsers(dest="essays_command", metavar="ACTION", required=True)
    st = esub.add_parser("status", help="essay tasks pending / one score / disputed / final, and each judge's work")
    contest_args(st)

    s = sub.add_parser("review", help="serve the judges' web app (flag queue, keyboard decisions) with uvicorn")
    contest_args(s)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=_positive_int, default=8000, help="port (default 8000)")
    s.add_argument("--secure-cookies", action="store_true",
                   help="mark the session and login cookies Secure (sent over HTTPS only): use it when the app is "
                        "served behind an HTTPS reverse proxy")
    s.add_argument("--trusted-proxy", action="append", default=[], type=_proxy, metavar="ADDR",
                   help="a reverse proxy (address or network, repeatable) whose X-Forwarded-For names the client "
                        "for the login throttle; from anyone else that header is ignored")

    return {"judges": _cmd_judges, "review": _cmd_review, "grade": _cmd_grade, "status": _cmd_status, "flags": _cmd_flags, "resolve": _cmd_resolve,
            "rescore": _cmd_rescore, "export": _cmd_export, "annotate": _cmd_annotate, "demo": _cmd_demo, "ocr": _cmd_ocr,
            "duplicates": _cmd_duplicates, "search": _cmd_search, "essays": _cmd_essays}


def _fraction_arg(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < v <= 1.0:
        raise argparse.ArgumentTypeError(f"{v} must be above 0 and at most 1")
    return v


def _db_url(args: argparse.Namespace, *, must_exist: bool) -> str:
    """``--db``, else the contest's SQLite file. Commands that only read refuse to create an empty store."""
    from grading.store import DatabaseError, default_url

    if args.db:
        return args.db
    url = default_url(args.contest)
    path = Path(args.contest) / "out" / "results.sqlite"
    if must_exist and not path.is_file():
        raise DatabaseError(f"there are no results for {args.contest} yet ({path} does not exist); run "
                            f"`omr grade SCANS --contest {args.contest}` first, or pass --db URL")
    return url


def _cmd_grade(args: argparse.Namespace) -> int:
    from grading.batch import (GradeOptions, RunTally, accounting, check_scheduler, grade, load_contest,
                               run_exit_code)
    from grading.store import Store
    from omr.load import check_dependencies

    contest = load_contest(args.contest)            # exit 5 before anything else
    check_dependencies()                            # exit 6
    ocr_run = None
    if args.ocr == "inline":
        ocr_run = _ocr_run_options(args)
        _check_ocr(ocr_run)                         # exit 6 (or 10 while omr.ocr is not installed)
    if args.scheduler:
        check_scheduler(args.scheduler)             # exit 6
    unit = (args.unit or "").strip() or None
    options = GradeOptions(workers=args.workers or os.cpu_count() or 1, scheduler=args.scheduler, unit=unit)
    with Store.open(_db_url(args, must_exist=False)) as store:    # exit 7
        run_id = store.start_run({"command": "grade", "inputs": [display_source(i) for i in args.inputs],
                                  "contest": display_source(str(args.contest)),
                                  "workers": options.workers, "scheduler": args.scheduler, "unit": unit})
        how = f"Dask scheduler {args.scheduler}" if args.scheduler else f"{options.workers} worker(s)"
        tally = RunTally()
        try:
            grade(args.inputs, contest, store, options, run_id=run_id, tally=tally)
        except KeyboardInterrupt:
            print(tally.text(how), file=sys.stderr)
            store.finish_run(run_id, tally.as_json())
            raise
        store.finish_run(run_id, tally.as_json())
        ocr_tally = None
        if ocr_run is not None:
            ocr_tally = _run_ocr_stage(store, contest.layout, ocr_run, how)
        acc = accounting(store)
        print(f"contest {contest.layout.contest} ({contest.folder}) — results in {store.url}")
        print(tally.text(how))
        if ocr_tally is not None:
            print(ocr_tally.text(how))
        print(acc.text())
        code = run_exit_code(tally, acc)
        if ocr_tally is not None:
            from grading.essays import ocr_exit_code

            code = max(code, ocr_exit_code(store), key=_severity)
        return code


def _severity(code: int) -> int:
    """rejects (4) > flags (3) > ok (0), for combining the exit codes of two stages of one command."""
    return {ExitCode.OK: 0, ExitCode.FINISHED_WITH_FLAGS: 1, ExitCode.FINISHED_WITH_REJECTS: 2}.get(code, 3)


# -- essays ---------------------------------------------------------------------------------------------------
def _ocr_run_options(args: argparse.Namespace) -> Any:
    """The OCR stage's options from the command line (``OmrError`` when ``omr.ocr`` is missing)."""
    from grading.essays import OcrRunOptions

    ocr = _ocr_options(args)
    return OcrRunOptions(workers=args.workers or os.cpu_count() or 1, scheduler=args.scheduler,
                         retry_failed=getattr(args, "retry_failed", False), ocr=ocr)


def _ocr_options(args: argparse.Namespace) -> Any:
    from omr.ocr import OcrOptions

    lang = getattr(args, "lang", None)
    return OcrOptions(lang=lang) if lang else OcrOptions()


def _check_ocr(run: Any) -> None:
    from omr.ocr import check_ocr_dependencies

    check_ocr_dependencies(run.ocr)


def _run_ocr_stage(store: Any, layout: Any, run: Any, how: str) -> Any:
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
    from grading.batch import accounting, check_scheduler, load_contest
    from grading.essays import ocr_exit_code
    from grading.store import Store

    contest = load_contest(args.contest)            # exit 5
    run = _ocr_run_options(args)
    _check_ocr(run)                                 # exit 6 before the first essay
    if args.scheduler:
        check_scheduler(args.scheduler)
    how = f"Dask scheduler {args.scheduler}" if args.scheduler else f"{run.workers} worker(s)"
    with Store.open(_db_url(args, must_exist=True)) as store:
        tally = _run_ocr_stage(store, contest.layout, run, how)
        acc = accounting(store)
        print(tally.text(how))
        print(acc.text())
        return ocr_exit_code(store)


def _ocr_one_file(args: argparse.Namespace) -> int:
    from grading.essays import OcrRunOptions, ocr_file

    run = OcrRunOptions(workers=args.workers or os.cpu_count() or 1, scheduler=args.scheduler,
                        ocr=_ocr_options(args), progress=False)
    _check_ocr(run)
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
    from grading.batch import load_contest
    from grading.essays import find_duplicates, load_essay_questions
    from grading.store import Store

    load_contest(args.contest)                      # exit 5
    questions = load_essay_questions(args.contest)  # exit 5
    with Store.open(_db_url(args, must_exist=True)) as store:
        found, new = find_duplicates(store, questions, threshold=args.threshold)
        n_essays = len(store.essay_texts())
    rows = [("essay", "essay", "similarity", "containment", "first shared passage")]
    for f in found:
        first = " ".join(str(f.passages[0]["text"]).split()) if f.passages else ""
        rows.append((f.code_a, f.code_b, f"{f.similarity:.2f}", f"{f.containment:.2f}",
                     (first[:120] + "…") if len(first) > 120 else first))
    if found:
        print(_table(rows))
    print(f"{len(found)} near-duplicate pair(s) among {n_essays} essay(s) read ({new} new)"
          + (f", {len(questions)} question statement(s) ignored" if questions else ""), file=sys.stderr)
    return ExitCode.FINISHED_WITH_FLAGS if found else ExitCode.OK


def _cmd_search(args: argparse.Namespace) -> int:
    from grading.essays import snippet
    from grading.store import Store

    with Store.open(_db_url(args, must_exist=True), read_only=True) as store:
        rows = store.search_essays(args.query, plain=args.plain, limit=args.limit)
    head = ("essay",) + (() if args.blind else ("participant",)) + ("text",)
    out = [head]
    for r in rows:
        who = () if args.blind else (r["participant"] or "(unassigned)",)
        out.append((r["anon_code"],) + who + (snippet(r["text"] or "", args.query, plain=args.plain),))
    if rows:
        print(_table(out))
    print(f"{len(rows)} essay(s) match {args.query!r}" + (" (without diacritics)" if args.plain else ""),
          file=sys.stderr)
    return ExitCode.OK


def _cmd_essays(args: argparse.Namespace) -> int:
    from grading.scoring import judge_progress, load_rubric, task_counts
    from grading.store import Store

    rubric = load_rubric(args.contest)              # exit 5 when rubric.json is not valid
    with Store.open(_db_url(args, must_exist=True), read_only=True) as store:
        counts = task_counts(store, rubric)
        people = [p for p in judge_progress(store) if p.assigned]
    print(f"essay tasks in {store.url}" + ("" if rubric else f" (no {Path(args.contest) / 'rubric.json'} yet: "
                                                           "nothing can be scored)"))
    labels = {"tasks": "tasks", "waiting_participant": "waiting for a participant", "pending": "pending (no score)",
              "one_score": "one score", "disputed": "disputed, awaiting the third judge",
              "final_two": "final after two scores", "final_three": "final after three scores",
              "final": "final", "no_rubric": "open, question not in the rubric"}
    print(_table([(labels[k], str(n)) for k, _, n in counts.rows()]))
    if people:
        print()
        print(_table([("judge", "unit", "assigned", "scored", "open")]
                     + [(p.name, p.unit, str(p.assigned), str(p.scored), str(p.open)) for p in people]))
    return ExitCode.OK


def _cmd_status(args: argparse.Namespace) -> int:
    from grading.batch import accounting
    from grading.store import Store

    with Store.open(_db_url(args, must_exist=True), read_only=True) as store:
        acc = accounting(store)
        print(f"contest {args.contest} — results in {store.url}")
        print(acc.text())
    return ExitCode.OK


_FLAG_COLUMNS = ("id", "source", "page_no", "participant", "target", "key", "reason", "message")


def _cmd_flags(args: argparse.Namespace) -> int:
    from grading.store import Store

    with Store.open(_db_url(args, must_exist=True), read_only=True) as store:
        rows = store.list_flags(state=None if args.state == "all" else args.state)
    if args.json:
        out = [{"id": r["id"], "source": r["source"], "page": r["page_no"], "participant": r["participant"],
                "target": r["target"], "key": r["key"], "reason": r["reason"], "message": r["message"],
                "state": r["state"], "origin": r["origin"], "confidence": r["confidence"]} for r in rows]
        json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return ExitCode.OK
    print(_table([("id", "source", "page", "participant", "target", "key", "reason", "message")]
                 + [tuple("" if r[c] is None else str(r[c]) for c in _FLAG_COLUMNS) for r in rows]))
    print(f"{len(rows)} {args.state if args.state != 'all' else ''} flag(s)".replace("  ", " "), file=sys.stderr)
    return ExitCode.OK


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _cmd_resolve(args: argparse.Namespace) -> int:
    from grading.store import Store

    with Store.open(_db_url(args, must_exist=True)) as store:
        sc = store.resolve_flag(args.flag_id, args.value, args.who)
    if sc is None:
        print(f"flag {args.flag_id} resolved by {args.who} (the page has no score)")
    else:
        js = sc.to_json()
        what = (f"total {js['total']} ({float(sc.total):g}) of {js['max_total']}" if js["status"] == "scored"
                else f"still no score: {sc.message}")
        print(f"flag {args.flag_id} resolved by {args.who}: version {sc.version}, {what}")
    return ExitCode.OK


def _cmd_rescore(args: argparse.Namespace) -> int:
    from grading.batch import load_contest
    from grading.store import Store

    contest = load_contest(args.contest)
    with Store.open(_db_url(args, must_exist=True)) as store:
        n = store.rescore(contest.keys, args.who)
        acc_line = store.counts()
    print(f"re-scored {n} page(s) with {contest.folder / 'keys.json'} (keys {contest.keys.digest[:12]}); "
          f"open flags: {acc_line['flags_open']}")
    return ExitCode.OK


def _cmd_export(args: argparse.Namespace) -> int:
    from grading.batch import load_contest
    from grading.export import export
    from grading.store import Store

    contest = load_contest(args.contest)
    with Store.open(_db_url(args, must_exist=True), read_only=True) as store:
        written = export(store, contest, args.out)
    for path in written:
        print(path)
    return ExitCode.OK


def main(argv: list[str] | None = None) -> int:
    return omr_main(argv, extend=register)


def _cmd_annotate(args: argparse.Namespace) -> int:
    from grading.annotate import annotate
    from grading.batch import load_contest
    from grading.store import Store

    contest = load_contest(args.contest)
    with Store.open(_db_url(args, must_exist=True), read_only=True) as store:
        written, problems = annotate(store, contest.layout, Path(args.out), participant=args.participant)
    for p in problems:
        print(f"omr annotate: {p}", file=sys.stderr)
    print(f"wrote {written} annotated page(s) to {args.out}" + (f"; {len(problems)} could not be drawn"
                                                                 if problems else ""))
    return ExitCode.FINISHED_WITH_REJECTS if problems else ExitCode.OK



def _cmd_judges(args: argparse.Namespace) -> int:
    from grading.judges import Role, add_judge
    from grading.store import Store

    with Store.open(_db_url(args, must_exist=False)) as store:
        password = add_judge(store, args.name, unit=args.unit, role=Role(args.role))
    print(f"judge {args.name} ({args.role}, {args.unit}) created; one-time password (shown only now, to be "
          f"changed at the first login):", file=sys.stderr)
    print(password)
    return ExitCode.OK


def _proxy(text: str) -> Any:
    from grading.webapp.auth import parse_proxy

    try:
        return parse_proxy(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _cmd_review(args: argparse.Namespace) -> int:
    import uvicorn

    from grading.batch import load_contest
    from grading.store import Store
    from grading.webapp.app import create_app

    contest = load_contest(args.contest)
    with Store.open(_db_url(args, must_exist=True)) as store:
        app = create_app(store, contest.layout, contest_dir=contest.folder, secure_cookies=args.secure_cookies,
                         trusted_proxies=args.trusted_proxy)
        print(f"omr review: serving {store.url} on http://{args.host}:{args.port}/ (Ctrl-C stops)"
              + ("; cookies are Secure: open it through HTTPS" if args.secure_cookies else ""), file=sys.stderr)
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", proxy_headers=False)
    return ExitCode.OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from grading.demo import run_demo

    return run_demo(Path(args.out), n=args.n, workers=args.workers or os.cpu_count() or 1)


if __name__ == "__main__":
    sys.exit(main())
