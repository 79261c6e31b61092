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

from omr.cli import Handler, _positive_int, main as omr_main
from omr.errors import ExitCode


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

    s = sub.add_parser("annotate", help="write each graded page straightened, with every answer marked "
                                        "correct / wrong / to review and a legend (JPEG per page)")
    contest_args(s)
    s.add_argument("--out", "-o", required=True, help="folder for the annotated pages")
    s.add_argument("--participant", default=None, help="only this participant's pages")

    return {"grade": _cmd_grade, "status": _cmd_status, "flags": _cmd_flags, "resolve": _cmd_resolve,
            "rescore": _cmd_rescore, "export": _cmd_export, "annotate": _cmd_annotate}


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
    if args.scheduler:
        check_scheduler(args.scheduler)             # exit 6
    options = GradeOptions(workers=args.workers or os.cpu_count() or 1, scheduler=args.scheduler)
    with Store.open(_db_url(args, must_exist=False)) as store:    # exit 7
        run_id = store.start_run({"command": "grade", "inputs": list(args.inputs), "contest": str(args.contest),
                                  "workers": options.workers, "scheduler": args.scheduler})
        how = f"Dask scheduler {args.scheduler}" if args.scheduler else f"{options.workers} worker(s)"
        tally = RunTally()
        try:
            grade(args.inputs, contest, store, options, run_id=run_id, tally=tally)
        except KeyboardInterrupt:
            print(tally.text(how), file=sys.stderr)
            store.finish_run(run_id, tally.as_json())
            raise
        store.finish_run(run_id, tally.as_json())
        acc = accounting(store)
        print(f"contest {contest.layout.contest} ({contest.folder}) — results in {store.url}")
        print(tally.text(how))
        print(acc.text())
        return run_exit_code(tally, acc)


def _cmd_status(args: argparse.Namespace) -> int:
    from grading.batch import accounting
    from grading.store import Store

    with Store.open(_db_url(args, must_exist=True)) as store:
        acc = accounting(store)
        print(f"contest {args.contest} — results in {store.url}")
        print(acc.text())
    return ExitCode.OK


_FLAG_COLUMNS = ("id", "source", "page_no", "participant", "target", "key", "reason", "message")


def _cmd_flags(args: argparse.Namespace) -> int:
    from grading.store import Store

    with Store.open(_db_url(args, must_exist=True)) as store:
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
    with Store.open(_db_url(args, must_exist=True)) as store:
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
    with Store.open(_db_url(args, must_exist=True)) as store:
        written, problems = annotate(store, contest.layout, Path(args.out), participant=args.participant)
    for p in problems:
        print(f"omr annotate: {p}", file=sys.stderr)
    print(f"wrote {written} annotated page(s) to {args.out}" + (f"; {len(problems)} could not be drawn"
                                                                 if problems else ""))
    return ExitCode.FINISHED_WITH_REJECTS if problems else ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
