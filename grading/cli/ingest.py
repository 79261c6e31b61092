"""``omr ingest`` (a unit's mailbox into the store: every message accounted for, its entries graded) and
``omr entries accept`` (an organiser accepts a late entry, audited)."""
from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from omr.cli import Handler, positive_int
from omr.errors import BadArguments, ExitCode

from .common import contest_args, db_url

RECEIPT_RULE = ("Receipts (--reply --smtp URL): each new message gets at most one, ever. Its sending is recorded "
                "before it goes out and after; a run stopped in between (kill -9, a connection lost) leaves it "
                "uncertain. `omr ingest SOURCE --contest DIR --unit UNIT --resend-receipts` lists the receipts not "
                "sent (the uncertain ones marked); with --smtp URL it sends those never attempted, and the "
                "uncertain ones only with --force. None goes to auto-replies, bounces or the contest's own mail. "
                "An unreachable SMTP server leaves the receipts unsent and the run ends with exit code 12 after "
                "its summary.")


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    s = sub.add_parser("ingest", help="take in the entries e-mailed to a unit's mailbox (IMAP, Maildir, mbox, a "
                                      "folder of .eml), record every message, grade the new entries",
                       epilog=RECEIPT_RULE)
    s.add_argument("source", help="imaps://USER@HOST[:PORT]/MAILBOX (password in OMR_IMAP_PASSWORD or "
                                  "--password-file, never in the URL), a Maildir folder, an mbox file, or a folder "
                                  "of .eml files")
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
    s.add_argument("--password-file", default=None, metavar="FILE",
                   help="IMAP: a file whose first line is the mailbox's password (else OMR_IMAP_PASSWORD)")
    s.add_argument("--ca-file", default=None, metavar="FILE",
                   help="IMAP and SMTP: a PEM certificate to trust besides the system's (else OMR_MAIL_CA_FILE)")
    s.add_argument("--mark-seen", action="store_true",
                   help="IMAP only: mark each message as read once it is stored (never before; never deleted)")
    s.add_argument("--reply", action="store_true", help="send each new message its receipt (needs --smtp)")
    s.add_argument("--smtp", default=None, metavar="URL",
                   help="smtp://host:port (STARTTLS when offered) or smtps://user@host to send receipts through "
                        "(a password in OMR_SMTP_PASSWORD)")
    s.add_argument("--from", dest="sender", default=None, metavar="ADDRESS",
                   help="the receipts' sender (default: the unit's mailbox in units.csv, else the IMAP user)")
    s.add_argument("--resend-receipts", action="store_true",
                   help="instead of reading the mailbox: list the receipts not sent yet (uncertain ones marked) "
                        "and, with --smtp, send those never attempted")
    s.add_argument("--force", action="store_true",
                   help="with --resend-receipts --smtp: send the uncertain receipts too (a person may get two)")
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
    own = {a.casefold() for a in (unit.mailbox if unit else "", _sender(args, unit, required=False)) if a}
    return IngestOptions(
        unit=unit.code if unit else unit_text, files_dir=files_dir, entry_deadline=_deadline(args, settings),
        forward_deadline=settings.local_time(settings.forward_deadline), reference_date=settings.reference_day,
        keep_entry=settings.keep_entry, language=settings.language, contest_name=settings.name, tz=settings.tz,
        units=units, staff=load_staff(args.contest), own_addresses=frozenset(own))


def _sender(args: argparse.Namespace, unit: Any, *, required: bool = True) -> str:
    """The receipts' From: ``--from``, else the unit's mailbox, else the IMAP mailbox's user when an address."""
    from grading.mail.imap import ImapUrl, is_imap_url

    if args.sender:
        return args.sender.strip()
    if unit is not None and unit.mailbox:
        return unit.mailbox
    if is_imap_url(args.source):
        user = ImapUrl.parse(args.source).user
        if "@" in user:
            return user
    if required:
        raise BadArguments("the receipts need a sender address: give --from ADDRESS (or the unit's mailbox in "
                           "units.csv)")
    return ""


def _sender_for(args: argparse.Namespace) -> Any:
    """The SMTP sender ``--smtp`` names (connected at its first receipt)."""
    from grading.mail.smtp import open_sender
    from grading.units import load_units

    units = load_units(args.contest)
    unit = units.find(args.unit.strip()) if units is not None else None
    return open_sender(args.smtp, sender=_sender(args, unit), ca_file=args.ca_file)


def _check_flags(args: argparse.Namespace) -> None:
    if args.reply and not args.smtp:
        raise BadArguments("--reply needs --smtp smtp://host:port to send the receipts through")
    if args.smtp and not (args.reply or args.resend_receipts):
        raise BadArguments("--smtp sends receipts: give --reply (with the run) or --resend-receipts")
    if args.force and not (args.resend_receipts and args.smtp):
        raise BadArguments("--force only goes with --resend-receipts --smtp URL (it sends the uncertain receipts)")


def _cmd_ingest(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from grading.contest import load_contest
    from grading.ingest import IngestTally, grade_pending
    from grading.ingest_remote import ReceiptRun
    from grading.mail.imap import is_imap_url, open_mailbox
    from grading.mail.remote import MailServerError
    from grading.mail.sources import open_source
    from grading.mail.summary import run_text
    from grading.store import Store

    _check_flags(args)
    if args.resend_receipts:
        return _resend_receipts(args)
    url = db_url(args, must_exist=False)
    options = _options(args, _files_dir(args, url))
    contest = None if args.no_grade else load_contest(args.contest)       # exit 5 before anything is read
    imap = is_imap_url(args.source)
    source = open_mailbox(args.source, password_file=args.password_file, ca_file=args.ca_file,
                          mark_seen=args.mark_seen) if imap else open_source(args.source)   # exit 2 / 9
    if args.mark_seen and not imap:
        print("omr ingest: --mark-seen applies to IMAP mailboxes; a local mailbox is never changed", file=sys.stderr)
    sender = _sender_for(args) if args.reply else None
    with ExitStack() as stack:
        if imap:
            stack.enter_context(source)          # connect and log in before anything else: exit 12 when it fails
        if sender is not None:
            stack.enter_context(sender)          # connects at the first receipt
        store = stack.enter_context(Store.open(url))
        run_id = store.start_run({"command": "ingest", "source": args.source, "unit": options.unit,
                                  "contest": str(args.contest), "grade": not args.no_grade})
        tally = IngestTally()
        receipts = ReceiptRun(store, sender) if sender is not None else None
        stopped: MailServerError | None = None
        try:
            _take(source, imap, receipts, store, options, tally, materialise=contest is not None)
        except MailServerError as exc:         # the mailbox went away: what was taken stays, and is graded
            stopped = exc
        finally:
            print(run_text(tally, options.language))
        graded = 0
        if contest is not None:
            from omr.load import check_dependencies

            check_dependencies()
            graded = grade_pending(store, contest, options.files_dir, workers=args.workers)
        store.finish_run(run_id, {**tally.as_json(), "entries_graded": graded,
                                  **({"receipts": _receipt_json(receipts.tally)} if receipts else {})})
        _print_store(store, options.language)
    _after_run(stopped, receipts.tally if receipts else None, options.language)
    bad = tally.states["rejected"] or tally.vanished
    return ExitCode.FINISHED_WITH_REJECTS if bad else ExitCode.OK


def _take(source: Any, imap: bool, receipts: Any, store: Any, options: Any, tally: Any, *,
          materialise: bool) -> None:
    """Read the source into the store; each new message's receipt sent when ``receipts``; an IMAP message
    confirmed once stored, the mailbox's cursor saved."""
    from grading.ingest import ingest
    from grading.ingest_remote import ImapIntake

    if not imap:
        ingest(source, store, options, tally, materialise=materialise,
               after=receipts.after_message if receipts else None)
        return
    intake = ImapIntake(source, store, say=lambda text: print(f"omr ingest: {text}", file=sys.stderr))

    def after(message: Any, row: Any) -> None:
        if receipts is not None:
            receipts.after_message(message, row)
        intake.stored(message)

    try:
        ingest(intake.items(), store, options, tally, materialise=materialise, after=after)
    finally:
        intake.save()


def _receipt_json(t: Any) -> dict[str, int]:
    return {"sent": t.sent, "refused": len(t.refused), "not_sent": t.left, "uncertain": t.uncertain}


def _after_run(stopped: Any, receipts: Any, language: str) -> None:
    """The receipts' line after the summary; then the mailbox's error, else the SMTP server's (exit 12)."""
    from grading.ingest_remote import receipts_text
    from grading.mail.remote import MailServerError

    if receipts is not None:
        print(receipts_text(receipts, language))
    if stopped is not None:
        raise stopped
    if receipts is not None and receipts.unsent:
        if receipts.server_error is not None:
            raise receipts.server_error
        raise MailServerError(f"the SMTP server refused {len(receipts.refused)} receipt(s): " +
                              "; ".join(receipts.refused[:3]))


def _print_store(store: Any, language: str) -> None:
    from grading.db.mail import flag_counts, mail_overview
    from grading.mail.summary import flags_text, store_text

    o = mail_overview(store)
    print(store_text(o.messages, o.entries, language, o.flagged))
    flags = flag_counts(store)
    if flags:
        print(flags_text(flags, language))


def _resend_receipts(args: argparse.Namespace) -> int:
    """List the receipts not sent yet (the uncertain ones marked); with ``--smtp`` send those never attempted
    (and, with ``--force``, the uncertain ones); exit 12 when some could not be sent."""
    from grading.contest import load_settings
    from grading.db.mail import unsent_receipts
    from grading.ingest_remote import ReceiptRun, due_receipt
    from grading.store import Store

    language = load_settings(args.contest).language
    vi = language == "vi"
    with Store.open(db_url(args, must_exist=True)) as store:
        due = unsent_receipts(store)
        for r in due:
            mark = ""
            if r.attempted_at is not None:
                mark = (f"  [không chắc đã gửi: bắt đầu gửi lúc {r.attempted_at:%Y-%m-%d %H:%M:%S} UTC]" if vi else
                        f"  [uncertain: sending started {r.attempted_at:%Y-%m-%d %H:%M:%S} UTC, never confirmed]")
            print(f"{r.message_hash[:12]}  {r.to}  {r.subject}{mark}")
        print(f"{len(due)} receipt(s) not sent yet")
        uncertain = sum(r.attempted_at is not None for r in due)
        if uncertain and not (args.smtp and args.force):
            print(f"  {uncertain} thư không chắc đã gửi (có thể người nhận đã có): chỉ gửi lại khi thêm --force" if vi
                  else f"  {uncertain} uncertain (the person may have it already): sent again only with --force")
        if not args.smtp:
            return ExitCode.OK
        run = ReceiptRun(store, _sender_for(args))
        with run.sender:
            for r in due:
                run.send(due_receipt(r), force=args.force)
    _after_run(None, run.tally, language)
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
