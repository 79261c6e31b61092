"""``omr export`` (the results tables) and ``omr annotate`` (each graded page marked)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from omr.cli import Handler
from omr.errors import ExitCode

from .common import contest_args, db_url


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    s = sub.add_parser("export", help="write the results table (xlsx with item statistics and issues, or csv)")
    contest_args(s)
    s.add_argument("--out", "-o", required=True, help="results.xlsx or results.csv")
    s.add_argument("--headers", choices=("auto", "labels", "codes"), default="auto",
                   help="column names: 'labels' in the contest's language, 'codes' (participant_id, total_exact… "
                        "— stable, for scripts), 'auto' (default): labels in a workbook, codes in a CSV")
    s.add_argument("--unit", default=None, metavar="UNIT",
                   help="only what this unit and the units under it collected (a code or a name from units.csv): "
                        "one file per unit, as its admin downloads it from /admin")

    s = sub.add_parser("annotate", help="write each graded page straightened, with every answer marked "
                                        "correct / wrong / to review and a legend (JPEG per page)")
    contest_args(s)
    s.add_argument("--out", "-o", required=True, help="folder for the annotated pages")
    s.add_argument("--participant", default=None, help="only this participant's pages")

    return {"export": _cmd_export, "annotate": _cmd_annotate}


def _cmd_export(args: argparse.Namespace) -> int:
    from grading.contest import load_contest
    from grading.reports.export import export
    from grading.store import Store

    contest = load_contest(args.contest)
    within = None
    if args.unit:
        from grading.scope import admin_scope
        from grading.units import load_units
        from omr.errors import BadArguments

        units = load_units(args.contest)                   # exit 9
        if units is None:
            raise BadArguments("--unit needs the contest's units file (units.csv) to know which units are under it")
        within = admin_scope(units.find(args.unit).code, units).units()
    with Store.open(db_url(args, must_exist=True), read_only=True) as store:
        written = export(store, contest, args.out, headers=args.headers, within=within)
    for path in written:
        print(path)
    return ExitCode.OK

def _cmd_annotate(args: argparse.Namespace) -> int:
    from grading.reports.annotate import annotate
    from grading.contest import load_contest
    from grading.store import Store

    contest = load_contest(args.contest)
    with Store.open(db_url(args, must_exist=True), read_only=True) as store:
        written, problems = annotate(store, contest.layout, Path(args.out), participant=args.participant)
    for p in problems:
        print(f"omr annotate: {p}", file=sys.stderr)
    print(f"wrote {written} annotated page(s) to {args.out}" + (f"; {len(problems)} could not be drawn"
                                                                 if problems else ""))
    return ExitCode.FINISHED_WITH_REJECTS if problems else ExitCode.OK
