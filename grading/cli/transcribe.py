"""``omr transcribe queue`` (a transcription task for every handwritten entry of a store graded before) and
``omr transcribe status`` (the transcriptions and their states). Judges type the entries in the web app
(``omr review``, page /transcribe)."""
from __future__ import annotations

import argparse
import json
from collections import Counter

from omr.cli import Handler

from .common import contest_args, db_url, table


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    s = sub.add_parser("transcribe", help="handwritten entries typed in by two judges (double entry)")
    tsub = s.add_subparsers(dest="transcribe_cmd", required=True, metavar="ACTION")
    a = tsub.add_parser("queue", help="queue a transcription for every handwritten entry that has none (a re-run "
                                      "adds only new ones; work under way or taken is never touched)")
    contest_args(a)
    a = tsub.add_parser("status", help="every transcription: its submission, state, unit and participant")
    contest_args(a)
    a.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    return {"transcribe": _cmd_transcribe}


def _cmd_transcribe(args: argparse.Namespace) -> int:
    from grading.store import Store
    from grading.transcribe import queue, rules_for, transcription_rows

    if args.transcribe_cmd == "queue":
        rules_for(args.contest)                     # not a documents contest, or a broken one: exit 5
        with Store.open(db_url(args, must_exist=True)) as store:
            added = queue(store, args.contest)
            rows = transcription_rows(store)
        waiting = sum(1 for r in rows if r["state"] != "taken")
        print(f"{added} transcription(s) added; {waiting} of {len(rows)} not taken yet")
        return 0
    with Store.open(db_url(args, must_exist=True), read_only=True) as store:
        rows = transcription_rows(store)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if rows:
        print(table([("id", "submission", "state", "entries", "unit", "participant"),
                     *((str(r["id"]), str(r["submission_id"]), r["state"], str(r["entries"]), r["unit"] or "",
                        r["participant"] or "") for r in rows)]))
    counts = Counter(r["state"] for r in rows)
    print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no transcriptions")
    return 0
