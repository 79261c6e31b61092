"""What the command groups share: the contest and store arguments, the store's URL, a plain text table, and how
two stages' exit codes combine."""
from __future__ import annotations

import argparse
from pathlib import Path

from omr.errors import ExitCode


def contest_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--contest", required=True, metavar="DIR",
                   help="contest folder holding layout.json and keys.json (e.g. answer_keys/demo)")
    s.add_argument("--db", default=None, metavar="URL",
                   help="results store: sqlite:///path or postgresql://user@host/db "
                        "(default: DIR/out/results.sqlite)")


def fraction_arg(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < v <= 1.0:
        raise argparse.ArgumentTypeError(f"{v} must be above 0 and at most 1")
    return v

def db_url(args: argparse.Namespace, *, must_exist: bool) -> str:
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

def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)

def severity(code: int) -> int:
    """rejects (4) > flags (3) > ok (0), for combining the exit codes of two stages of one command."""
    return {ExitCode.OK: 0, ExitCode.FINISHED_WITH_FLAGS: 1, ExitCode.FINISHED_WITH_REJECTS: 2}.get(code, 3)
