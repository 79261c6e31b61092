"""``omr demo`` (what ``make run`` runs): print a sample contest's sheet, fill and "scan" sheets, read them back
and compare with the ground truth, then grade them into an SQLite results store and export the results —
with the same commands a user types. Everything lands under one output folder; the summary says where.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Callable

from answer_keys import demo_contest
from omr.errors import ExitCode
from omr.layout import load_layout


def run_demo(out: Path, *, n: int, workers: int, run: Callable[[list[str]], int]) -> int:
    """The demo under ``out``; ``run`` is the ``omr`` command (``grading.cli.main``) it types commands into."""
    from samples.evaluate import evaluate, load_jsonl
    from samples.generator import generate_set

    from omr.read import ReadOptions, read_inputs
    from omr.sheet import render_sheets

    contest = demo_contest()
    layout = load_layout(contest / "layout.json")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    render_sheets(layout, out / "blank-sheet.pdf", copies=1)
    print(f"[1/3] generating {n} filled scanner-profile sheets and a few non-sheet pages…", file=sys.stderr)
    set_dir = out / "scans"
    generate_set(layout, set_dir, profile="scanner", n=n, seed=2026, workers=workers, fmt="jpg", extras=True)
    t1 = time.perf_counter()
    print(f"[2/4] reading {set_dir / 'sheets'} with {workers} worker(s)…", file=sys.stderr)
    readings_path = out / "readings.jsonl"
    summary = read_inputs([str(set_dir / "sheets")], layout, json_out=str(readings_path),
                          options=ReadOptions(workers=workers, detail=True))
    t2 = time.perf_counter()
    print("[3/4] comparing with the ground truth…", file=sys.stderr)
    ev = evaluate(load_jsonl(readings_path), load_jsonl(set_dir / "truth.jsonl"), root=set_dir)
    (out / "evaluation.json").write_text(json.dumps(ev.as_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"[4/4] grading into {out / 'results.sqlite'} and exporting…", file=sys.stderr)
    db = f"sqlite:///{(out / 'results.sqlite').resolve()}"
    print("$ omr grade …", flush=True)
    graded = run(["grade", str(set_dir / "sheets"), "--contest", str(contest), "--db", db,
                       "--workers", str(workers)])
    typed_docs, typed_line = typed_demo(out / "typed", contest, TYPED_ENTRIES)
    print("$ omr grade … (typed entries: DOCX)", flush=True)
    typed = run(["grade", *map(str, typed_docs), "--contest", str(contest), "--db", db, "--workers", "1"])
    written = handwritten_demo(out / "handwritten", contest, HANDWRITTEN_ENTRIES)
    print("$ omr grade … (handwritten entries: scanned PDF, queued for judges to type in)", flush=True)
    handwritten = run(["grade", *map(str, written), "--contest", str(contest), "--db", db, "--workers", "1"])
    exported = run(["export", "--contest", str(contest), "--db", db, "--out", str(out / "results.xlsx")])
    t3 = time.perf_counter()
    ingested = ingest_demo(out / "mail", run)

    print(f"demo contest: {layout.contest} / {layout.id}, {n} sheets")
    print(f"  generated in {t1 - t0:.1f} s, read in {t2 - t1:.1f} s, graded and exported in {t3 - t2:.1f} s")
    print("  " + summary.text(workers).replace("\n", "\n  "))
    print("  accuracy against the ground truth:")
    print("    " + ev.text().replace("\n", "\n    "))
    print("  " + typed_line)
    print(f"  handwritten entries: {len(written)} scanned PDF — {waiting_transcriptions(db)} entries waiting to be "
          "typed in by judges (omr review, page /transcribe)")
    print("outputs:")
    print(f"  blank sheet to print : {out / 'blank-sheet.pdf'}")
    print(f"  scans + ground truth : {set_dir}/sheets, {set_dir}/truth.jsonl")
    print(f"  readings (JSON Lines): {readings_path}")
    print(f"  evaluation           : {out / 'evaluation.json'}")
    print(f"  results store        : {out / 'results.sqlite'}  (omr status --contest {contest} --db {db})")
    print(f"  typed entries (DOCX) : {out / 'typed'}  (entry-*.docx, entry-*.truth.json)")
    print(f"  handwritten (PDF)    : {out / 'handwritten'}  (entry-*/entry.pdf, entry-*/truth.json)")
    print(f"  results table        : {out / 'results.xlsx'}")
    print(f"  entries by e-mail    : {out / 'mail'}  (mailbox/, truth.json, results.sqlite)")
    # the demo succeeds when every page is accounted for (flags and rejected non-sheets are expected)
    if ev.missing:
        print(f"error: {ev.missing} page(s) of the sample set have no reading", file=sys.stderr)
        return int(ExitCode.INTERNAL)
    # grading ends 0/3/4 (flags and the rejected non-sheet pages are expected here); anything else failed
    fine = (ExitCode.OK, ExitCode.FINISHED_WITH_FLAGS, ExitCode.FINISHED_WITH_REJECTS)
    bad = next((c for c in (graded, typed, handwritten) if c not in fine), None)
    if bad is not None or exported:
        print(f"error: grading exited {graded} (typed entries: {typed}, handwritten: {handwritten}), export exited "
              f"{exported}", file=sys.stderr)
        return int(bad if bad is not None else exported)
    if ingested != ExitCode.OK:
        print(f"error: omr ingest exited {ingested}", file=sys.stderr)
        return int(ingested)
    return int(ExitCode.OK)


TYPED_ENTRIES = 6            # a handful: DOCX only, no LibreOffice in the demo


def typed_demo(out: Path, contest: Path, n: int) -> tuple[list[Path], str]:
    """``n`` generated typed entries (DOCX, with ground truth), and a line comparing what the document reader
    makes of them with the truth: answers exact, flagged for a person, and silent errors (read wrongly, not
    flagged)."""
    from omr.documents import load_entry_contest, read_entry
    from samples.entries import generate

    print(f"[+] typed entries: {n} generated DOCX entries…", file=sys.stderr)
    docs = generate(out, contest, n=n, seed=2026, pdf_every=0)
    reader = load_entry_contest(contest)
    exact = flagged = silent = 0
    for doc in docs:
        truth = json.loads(doc.with_suffix(".truth.json").read_text(encoding="utf-8"))
        rec = read_entry(str(doc), reader).to_json()
        doubtful = {f.get("question") for f in rec.get("flags", [])}
        for q, want in truth["answers"].items():
            if q in doubtful:
                flagged += 1
            elif rec.get("answers", {}).get(q, "") == want:
                exact += 1
            else:
                silent += 1
    return docs, (f"typed entries: {len(docs)} DOCX, {exact + flagged + silent} answers — {exact} exact, "
                  f"{flagged} flagged for a person, {silent} silent error(s)")


HANDWRITTEN_ENTRIES = 2      # scanned handwriting-like entries, queued for judges to type in (grading.transcribe)


def handwritten_demo(out: Path, contest: Path, n: int) -> list[Path]:
    """``n`` generated handwritten entries (a two-page scanned PDF each, with ground truth)."""
    from omr.documents import load_entry_contest
    from samples.handwriting import handwritten_entry

    print(f"[+] handwritten entries: {n} generated scanned entries…", file=sys.stderr)
    questions = [q.id for q in load_entry_contest(contest).questions.questions]
    return [handwritten_entry(out / f"entry-{i}", seed=2026 + i, questions=questions)[0][-1] for i in range(1, n + 1)]


def waiting_transcriptions(db: str) -> int:
    """How many transcriptions of the store are not taken yet."""
    from grading.store import Store
    from grading.transcribe import transcription_rows

    with Store.open(db, read_only=True) as store:
        return sum(1 for r in transcription_rows(store) if r["state"] != "taken")


def ingest_demo(out: Path, run: Callable[[list[str]], int], n: int = 16) -> int:
    """A district's mailbox of ``n`` generated messages (entries, a class's ZIP, a school's forward, empty and
    late mails, auto-replies…) taken in with ``omr ingest --no-grade``: every message in one state."""
    import shutil

    from samples.mail import CONTEST_SETTINGS, write_mailbox

    print(f"[+] entries by e-mail: {n} generated messages to a district's mailbox…", file=sys.stderr)
    write_mailbox(out, n=n, seed=2026, fmt="maildir", small=True)
    contest = out / "contest"
    shutil.rmtree(contest, ignore_errors=True)
    shutil.copytree(demo_contest(), contest)
    shutil.copy(out / "units.csv", contest / "units.csv")
    (contest / "contest.json").write_text(json.dumps(CONTEST_SETTINGS, ensure_ascii=False), encoding="utf-8")
    db = out / "results.sqlite"
    db.unlink(missing_ok=True)
    print("$ omr ingest …", flush=True)
    return run(["ingest", str(out / "mailbox"), "--contest", str(contest), "--db", f"sqlite:///{db.resolve()}",
                "--unit", "Quận Hoàn Kiếm", "--no-grade"])
