"""``omr ingest`` (a unit's mailbox into the store: every message accounted for, its entries graded) and
``omr entries accept`` (an organiser accepts a late entry, audited)."""
from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from omr.cli import Handler, positive_int
from omr.errors import BadArguments, ExitCode, NotYet

from .common import contest_args, db_url


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    s = sub.add_parser("ingest", help="take in the entries e-mailed to a unit's mailbox (Maildir, mbox, a folder "
                                      "of .eml), record every message, grade the new entries")
    s.add_argument("source", help="a Maildir folder, an mbox file, a folder of .eml files (imaps://user@host/INBOX "
                                  "is not built in yet)")
    contest_args(s)
    s.add_argument("--unit", required=True, metavar="UNIT",
                   help="the collecting unit whose mailbox this is (a code or a name from units.csv)")
    s.add_argument("--no-grade", action="store_true", help="only take the entries in; grade them later")
    s.add_argument("--deadline", default=None, metavar="ISO",
                   help="this run's entry deadline instead of contest.json's entry_deadline (2026-09-06T17:00, "
                        "local time in the contest's time zone)")
    s.add_argument("--files", default=None, metavar="DIR",
                   help="where entry files are written (default: beside a SQLite store, <store folder>/entries; "
                        "required with PostgreSQL)")
    s.add_argument("--mark-seen", action="store_true", help="IMAP only: mark the messages taken as read")
    s.add_argument("--reply", action="store_true", help="send each new message its receipt (needs --smtp)")
    s.add_argument("--smtp", default=None, metavar="URL", help="smtp://host:port to send receipts through")
    s.add_argument("--resend-receipts", action="store_true",
                   help="list the receipts not sent yet (and send them with --smtp) instead of reading the mailbox")
    s.add_argument("--workers", type=positive_int, default=1, help="processes for grading (default: 1)")

    s = sub.add_parser("entries", help="entries by e-mail: accept a late one")
    esub = s.add_subparsers(dest="entries_command", required=True)
    a = esub.add_parser("accept", help="accept a late entry: it is graded by the next `omr ingest` run (audited)")
    a.add_argument("entry", help="the entry's code (BD-…) or number")
    contest_args(a)
    a.add_argument("--who", required=True, help="who accepts it (kept in the audit log)")
    return {"ingest": _cmd_ingest, "entries": _cmd_entries}


def _files_dir(args: argparse.Namespace, url: str) -> Path:
    if args.files:
        return Path(args.files).resolve()
    from grading.db.engine import sqlite_path

    path = sqlite_path(url)
    if path is None:
        raise BadArguments("with a PostgreSQL store, pass --files DIR: the folder where entry files are written "
                           "for grading (a cache: each file can be made again from the stored messages)")
    return path.resolve().parent / "entries"


def _deadline(args: argparse.Namespace, settings: Any) -> datetime | None:
    text = args.deadline if args.deadline is not None else settings.entry_deadline
    try:
        return settings.local_time(text)
    except ValueError:
        raise BadArguments(f"--deadline {args.deadline!r} is not a date and time (e.g. 2026-09-06T17:00)") from None


def _options(args: argparse.Namespace, files_dir: Path) -> Any:
    from grading.contest import load_settings
    from grading.entrants import load_staff
    from grading.ingest import IngestOptions
    from grading.units import load_units

    settings = load_settings(args.contest)          # exit 5
    units = load_units(args.contest)                # exit 9
    unit_text = args.unit.strip()
    unit = units.find(unit_text) if units is not None else None
    return IngestOptions(
        unit=unit.code if unit else unit_text, files_dir=files_dir, entry_deadline=_deadline(args, settings),
        forward_deadline=settings.local_time(settings.forward_deadline), reference_date=settings.reference_day,
        keep_entry=settings.keep_entry, language=settings.language, contest_name=settings.name, tz=settings.tz,
        units=units, staff=load_staff(args.contest),
        own_addresses=frozenset({unit.mailbox.casefold()} if unit and unit.mailbox else ()))


def _cmd_ingest(args: argparse.Namespace) -> int:
    from grading.contest import load_contest
    from grading.ingest import IngestTally, grade_pending, ingest
    from grading.mail.sources import open_source
    from grading.mail.summary import run_text
    from grading.store import Store

    if args.reply and not args.smtp:
        raise BadArguments("--reply needs --smtp smtp://host:port to send the receipts through")
    if args.smtp:
        raise NotYet("sending receipts by SMTP is not built into `omr ingest` yet; receipts are recorded with each "
                     "message: list the ones not sent with `omr ingest SOURCE --contest DIR --unit UNIT "
                     "--resend-receipts`")
    if args.resend_receipts:
        return _list_receipts(args)
    url = db_url(args, must_exist=False)
    options = _options(args, _files_dir(args, url))
    contest = None if args.no_grade else load_contest(args.contest)       # exit 5 before anything is read
    items = open_source(args.source)                                      # exit 9 / 10
    if args.mark_seen:
        print("omr ingest: --mark-seen applies to IMAP mailboxes; a local mailbox is never changed", file=sys.stderr)
    with Store.open(url) as store:
        run_id = store.start_run({"command": "ingest", "source": args.source, "unit": options.unit,
                                  "contest": str(args.contest), "grade": not args.no_grade})
        tally = IngestTally()
        try:
            ingest(items, store, options, tally, materialise=contest is not None)
        finally:
            print(run_text(tally, options.language))
        graded = 0
        if contest is not None:
            from omr.load import check_dependencies

            check_dependencies()
            graded = grade_pending(store, contest, options.files_dir, workers=args.workers)
        store.finish_run(run_id, {**tally.as_json(), "entries_graded": graded})
        _print_store(store, options.language)
    bad = tally.states["rejected"] or tally.vanished
    return ExitCode.FINISHED_WITH_REJECTS if bad else ExitCode.OK


def _print_store(store: Any, language: str) -> None:
    from grading.db.mail import flag_counts, mail_overview
    from grading.mail.summary import flags_text, store_text

    o = mail_overview(store)
    print(store_text(o.messages, o.entries, language, o.flagged))
    flags = flag_counts(store)
    if flags:
        print(flags_text(flags, language))


def _list_receipts(args: argparse.Namespace) -> int:
    from grading.db.mail import unsent_receipts
    from grading.store import Store

    with Store.open(db_url(args, must_exist=True)) as store:
        due = unsent_receipts(store)
    for r in due:
        print(f"{r.message_hash[:12]}  {r.to}  {r.subject}")
    print(f"{len(due)} receipt(s) not sent yet")
    return ExitCode.OK


def _cmd_entries(args: argparse.Namespace) -> int:
    from grading.db.mail import accept_entry, find_entry
    from grading.store import Store

    with Store.open(db_url(args, must_exist=True)) as store:
        e = find_entry(store, args.entry)
        if e is None:
            raise BadArguments(f"there is no entry {args.entry!r}; entry codes look like BD-7K2M9QXA")
        if e.state != "late":
            raise BadArguments(f"entry {e.code} is {e.state}, not late: there is nothing to accept")
        accept_entry(store, e.id, args.who.strip())
    print(f"entry {e.code} accepted by {args.who.strip()}: it is graded by the next `omr ingest` run")
    return ExitCode.OK
