"""``omr grade`` (read and score a folder into the store), ``omr status`` and ``omr rescore``."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from omr.cli import Handler, positive_int
from omr.errors import ExitCode
from omr.paths import display_source

from grading.i18n import Say
from grading.units import recorded_unit

from .common import contest_args, db_url, severity
from .essays import check_ocr, ocr_run_options, run_ocr_stage


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    s = sub.add_parser("grade", help="read and score scans into the contest's results store (resumable)")
    s.add_argument("inputs", nargs="+", help="files or folders (recursive): JPEG, PNG, TIFF, PDF")
    contest_args(s)
    s.add_argument("--workers", type=positive_int, default=None, help="processes (default: all cores)")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="read pages on an existing Dask cluster (tcp://host:port) instead of local processes")
    s.add_argument("--ocr", choices=("inline", "later"), default="later",
                   help="essays: 'later' (default) registers them pending for `omr ocr`; 'inline' reads them "
                        "at the end of this run")
    s.add_argument("--unit", default=None, metavar="NAME",
                   help="the unit (department, district, school) that collected these files: recorded with each "
                        "new submission for per-unit progress and reports (a code or a name from units.csv when the "
                        "contest has one: recorded as its code; a unit not in it is refused)")

    s = sub.add_parser("status", help="what the results store holds: files and pages by status, reasons, flags")
    contest_args(s)

    s = sub.add_parser("rescore", help="reload keys.json and re-score every page (human decisions kept)")
    contest_args(s)
    s.add_argument("--who", required=True, help="who re-scores (kept in the audit log)")

    return {"grade": _cmd_grade, "status": _cmd_status, "rescore": _cmd_rescore}


def _cmd_grade(args: argparse.Namespace) -> int:
    from grading.contest import load_contest
    from grading.batch import GradeOptions, RunTally, accounting, grade, run_exit_code
    from grading.cluster import check_scheduler
    from grading.store import Store
    from grading.transcribe import queue as queue_transcriptions, transcription_rows
    from omr.load import check_dependencies

    contest = load_contest(args.contest)            # exit 5 before anything else
    check_dependencies()                            # exit 6
    ocr_run = None
    if args.ocr == "inline":
        ocr_run = ocr_run_options(args)
        check_ocr(ocr_run)                         # exit 6 (or 10 while omr.ocr is not installed)
    if args.scheduler:
        check_scheduler(args.scheduler)             # exit 6
    say = Say(contest.settings.language)
    unit = recorded_unit(args.contest, args.unit or "") or None     # a unit not in units.csv: exit 9
    options = GradeOptions(workers=args.workers or os.cpu_count() or 1, scheduler=args.scheduler, unit=unit)
    with Store.open(db_url(args, must_exist=False)) as store:    # exit 7
        run_id = store.start_run({"command": "grade", "inputs": [display_source(i) for i in args.inputs],
                                  "contest": display_source(str(args.contest)),
                                  "workers": options.workers, "scheduler": args.scheduler, "unit": unit})
        how = (f"Dask scheduler {args.scheduler}" if args.scheduler
               else say(f"{options.workers} worker(s)", f"{options.workers} tiến trình"))
        tally = RunTally()
        try:
            grade(args.inputs, contest, store, options, run_id=run_id, tally=tally)
        except KeyboardInterrupt:
            print(tally.text(how, say), file=sys.stderr)
            _finish_interrupted(store, run_id, tally.as_json())
            raise
        store.finish_run(run_id, tally.as_json())
        queue_transcriptions(store, contest.folder)         # handwritten entries: for judges to type in
        ocr_tally = None
        if ocr_run is not None:
            ocr_tally = run_ocr_stage(store, contest.layout, ocr_run, how)
        acc = accounting(store, contest.settings.tz)
        print(say(f"contest {contest.layout.contest} ({contest.folder}) — results in {store.url}",
                  f"cuộc thi {contest.layout.contest} ({contest.folder}) — kết quả lưu tại {store.url}"))
        print(tally.text(how, say))
        if ocr_tally is not None:
            print(ocr_tally.text(how))
        print(acc.text(say))
        waiting = sum(1 for r in transcription_rows(store) if r["state"] != "taken")
        if waiting:
            print(say(f"handwritten entries waiting to be typed in: {waiting} (omr review, page /transcribe)",
                      f"bài viết tay chờ nhập: {waiting} (giám khảo nhập ở trang /transcribe của omr review)"))
        code = run_exit_code(tally, acc)
        if ocr_tally is not None:
            code = max(code, ocr_tally.exit_code, key=severity)
        return code

def _finish_interrupted(store: Any, run_id: int, counts: dict[str, Any]) -> None:
    """Record the end of an interrupted run, as far as the store lets us: the signal may have landed inside a
    transaction whose connection still holds SQLite's write lock, so the pool is emptied first; if the store still
    refuses, say so and let the interruption end the command (what was recorded stays either way)."""
    from omr.errors import OmrError

    store.engine.dispose()
    try:
        store.finish_run(run_id, counts)
    except OmrError as exc:
        print(f"omr grade: the end of this run was not recorded ({exc.message}); what was recorded stays",
              file=sys.stderr)


def _cmd_status(args: argparse.Namespace) -> int:
    from grading.batch import accounting
    from grading.contest import load_settings
    from grading.store import Store

    settings = load_settings(args.contest)
    say = Say(settings.language)
    with Store.open(db_url(args, must_exist=True), read_only=True) as store:
        acc = accounting(store, settings.tz)
        print(say(f"contest {args.contest} — results in {store.url}", f"cuộc thi {args.contest} — kết quả lưu tại "
                  f"{store.url}"))
        print(acc.text(say))
        _print_mail(store, args.contest)
    return ExitCode.OK


def _print_mail(store: Any, contest: str) -> None:
    """Messages and entries per state per collecting unit, when the store holds any (``omr ingest``)."""
    from grading.contest import load_settings
    from grading.db.mail import flag_counts, mail_overview
    from grading.mail.summary import flags_text, store_text

    o = mail_overview(store)
    if o.messages or o.entries:
        language = load_settings(contest).language
        print(store_text(o.messages, o.entries, language, o.flagged))
        flags = flag_counts(store)
        if flags:
            print(flags_text(flags, language))

def _cmd_rescore(args: argparse.Namespace) -> int:
    from grading.contest import load_contest
    from grading.store import Store

    contest = load_contest(args.contest)
    say = Say(contest.settings.language)
    with Store.open(db_url(args, must_exist=True)) as store:
        n = store.rescore(contest.keys, args.who)
        acc_line = store.counts()
    keys = f"{contest.folder / 'keys.json'} ({contest.keys.digest[:12]})"
    print(say(f"re-scored {n} page(s) with {keys}; open flags: {acc_line['flags_open']}",
              f"đã chấm lại {n} trang theo đáp án {keys}; cờ chưa xử lý: {acc_line['flags_open']}"))
    return ExitCode.OK
