"""``omr flags`` (what waits for a human) and ``omr resolve`` (a human's decision)."""
from __future__ import annotations

import argparse
import json
import sys

from omr.cli import Handler, positive_int
from omr.errors import ExitCode

from .common import contest_args, db_url, table


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    s = sub.add_parser("flags", help="list flagged items for the judges")
    contest_args(s)
    s.add_argument("--state", choices=("open", "resolved", "all"), default="open")
    s.add_argument("--json", action="store_true", help="print a JSON list instead of a table")

    s = sub.add_parser("resolve", help="record a judge's decision for one flag and re-score its page")
    s.add_argument("flag_id", type=positive_int, metavar="FLAG_ID")
    s.add_argument("value", metavar="VALUE",
                   help='question: the marks that count ("B", "AC", "" for blank); participant/version: the '
                        "whole field; page: a note")
    contest_args(s)
    s.add_argument("--who", required=True, help="the judge's name or login (kept in the audit log)")

    return {"flags": _cmd_flags, "resolve": _cmd_resolve}


_FLAG_COLUMNS = ("id", "source", "page_no", "participant", "target", "key", "reason", "message")

def _cmd_flags(args: argparse.Namespace) -> int:
    from grading.store import Store

    with Store.open(db_url(args, must_exist=True)) as store:
        rows = store.list_flags(state=None if args.state == "all" else args.state)
    if args.json:
        out = [{"id": r["id"], "source": r["source"], "page": r["page_no"], "participant": r["participant"],
                "target": r["target"], "key": r["key"], "reason": r["reason"], "message": r["message"],
                "state": r["state"], "origin": r["origin"], "confidence": r["confidence"]} for r in rows]
        json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return ExitCode.OK
    print(table([("id", "source", "page", "participant", "target", "key", "reason", "message")]
                 + [tuple("" if r[c] is None else str(r[c]) for c in _FLAG_COLUMNS) for r in rows]))
    print(f"{len(rows)} {args.state if args.state != 'all' else ''} flag(s)".replace("  ", " "), file=sys.stderr)
    return ExitCode.OK

def _cmd_resolve(args: argparse.Namespace) -> int:
    from grading.store import Store

    with Store.open(db_url(args, must_exist=True)) as store:
        sc = store.resolve_flag(args.flag_id, args.value, args.who)
    if sc is None:
        print(f"flag {args.flag_id} resolved by {args.who} (the page has no score)")
    else:
        js = sc.to_json()
        what = (f"total {js['total']} ({float(sc.total):g}) of {js['max_total']}" if js["status"] == "scored"
                else f"still no score: {sc.message}")
        print(f"flag {args.flag_id} resolved by {args.who}: version {sc.version}, {what}")
    return ExitCode.OK
