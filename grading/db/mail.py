"""Messages, their raw bytes, entries, entry files and entrants: recorded one message per transaction.

``record_message`` writes a message with everything it yields (its raw bytes, its entries with their files, the
entrants they name) in ONE transaction, keyed on the SHA-256 of its bytes: recording a message that is already
there changes nothing, and a ``kill -9`` leaves each message either wholly recorded or not at all.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .audit import record as audit_record
from .engine import Database, chunks, dialect_insert, utcnow
from .tables import entrants, entries, entry_files, mail_cursors, message_raw, messages, pages, submissions


@dataclass(frozen=True, slots=True)
class FileRow:
    name: str
    kind: str
    content_hash: str
    size: int


@dataclass(frozen=True, slots=True)
class EntrantRow:
    id: str
    person_key: str
    name: str = ""
    date_of_birth: str = ""
    phone: str = ""
    email: str = ""
    unit: str = ""
    category: str = "other"
    school: str = ""
    class_name: str = ""


@dataclass(frozen=True, slots=True)
class EntryRow:
    code: str
    seq: int
    state: str
    unit: str | None
    received_at: datetime | None
    files: tuple[FileRow, ...]
    flags: tuple[dict[str, str], ...] = ()
    identity: dict[str, str] | None = None
    entrant: EntrantRow | None = None
    entrant_unit: str | None = None


@dataclass(frozen=True, slots=True)
class MessageRow:
    hash: str
    data: bytes
    source: str
    source_key: str
    received_at: datetime | None
    state: str                      # taken | no_entry | rejected | ignored
    unit: str | None
    subject: str = ""
    sender: str = ""
    message_id: str = ""
    body: str = ""
    reason_code: str | None = None
    reason: str | None = None
    problems: tuple[dict[str, str], ...] = ()
    receipt_to: str | None = None  # None: no receipt is due (auto-replies, bounces, our own mail)
    receipt_subject: str = ""
    receipt_body: str = ""
    entries: tuple[EntryRow, ...] = field(default=())


def known_message_hashes(db: Database) -> set[str]:
    with db.read_tx("list recorded messages") as conn:
        return set(conn.execute(sa.select(messages.c.hash)).scalars())


def record_message(db: Database, m: MessageRow) -> bool:
    """Write the message, its bytes, entries, files and entrants in one transaction; False when its hash is
    already recorded (nothing changes). Statements take their values as parameters, so each is compiled once."""
    now = utcnow()
    with db.write_tx(f"record message {m.source_key}") as conn:
        mid = conn.execute(dialect_insert(conn, messages).on_conflict_do_nothing(index_elements=["hash"])
                           .returning(messages.c.id), {
            "hash": m.hash, "source": m.source, "source_key": m.source_key, "received_at": m.received_at,
            "state": m.state, "reason_code": m.reason_code, "reason": m.reason, "problems": list(m.problems) or None,
            "unit": m.unit, "subject": m.subject, "sender": m.sender, "message_id": m.message_id, "body": m.body,
            "size": len(m.data), "receipt_due": m.receipt_to is not None, "receipt_to": m.receipt_to,
            "receipt_subject": m.receipt_subject, "receipt_body": m.receipt_body, "receipt_sent_at": None,
            "ingested_at": now}).scalar()
        if mid is None:
            return False
        conn.execute(dialect_insert(conn, message_raw).on_conflict_do_nothing(index_elements=["hash"]),
                     {"hash": m.hash, "data": m.data})
        for e in m.entries:
            _insert_entry(conn, int(mid), e, now)
        return True


def _insert_entry(conn: sa.Connection, mid: int, e: EntryRow, now: datetime) -> None:
    if e.entrant is not None:
        values = {k: getattr(e.entrant, k) or None for k in EntrantRow.__slots__}   # type: ignore[attr-defined]
        conn.execute(dialect_insert(conn, entrants).on_conflict_do_nothing(index_elements=["person_key"]),
                     {**values, "created_at": now})
    eid = conn.execute(sa.insert(entries).returning(entries.c.id), {
        "code": e.code, "message_id": mid, "seq": e.seq, "entrant_id": e.entrant.id if e.entrant else None,
        "person_key": e.entrant.person_key if e.entrant else None, "unit": e.unit, "entrant_unit": e.entrant_unit,
        "state": e.state, "flags": list(e.flags), "identity": e.identity, "received_at": e.received_at,
        "graded_at": None, "accepted_by": None, "accepted_at": None, "created_at": now}).scalar_one()
    if e.files:
        conn.execute(sa.insert(entry_files), [
            {"entry_id": eid, "seq": i, "name": f.name, "kind": f.kind, "content_hash": f.content_hash,
             "size": f.size} for i, f in enumerate(e.files)])


# -- the rules after a run: which entry counts ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PersonEntry:
    id: int
    person_key: str | None
    entrant_id: str | None
    state: str
    received_at: datetime | None
    graded: bool
    accepted: bool
    flags: tuple[dict[str, str], ...]


def person_entries(db: Database) -> list[PersonEntry]:
    with db.read_tx("list entries") as conn:
        rows = conn.execute(sa.select(entries.c.id, entries.c.person_key, entries.c.entrant_id, entries.c.state,
                                      entries.c.received_at, entries.c.graded_at, entries.c.accepted_at,
                                      entries.c.flags).order_by(entries.c.id)).all()
    return [PersonEntry(r.id, r.person_key, r.entrant_id, r.state, r.received_at, r.graded_at is not None,
                        r.accepted_at is not None, tuple(r.flags or ())) for r in rows]


def update_entries(db: Database, changes: dict[int, dict[str, Any]]) -> None:
    """Set ``state`` and/or ``flags`` of entries, all in one transaction."""
    if not changes:
        return
    with db.write_tx("update entries") as conn:
        for eid, values in changes.items():
            conn.execute(entries.update().where(entries.c.id == eid).values(**values))


def entrant_contacts(db: Database) -> list[tuple[str, str | None, str | None]]:
    """(entrant id, phone, e-mail) of every entrant."""
    with db.read_tx("list entrants") as conn:
        return [tuple(r) for r in conn.execute(sa.select(entrants.c.id, entrants.c.phone, entrants.c.email))]


# -- grading ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EntryToGrade:
    id: int
    unit: str | None
    message_hash: str
    files: tuple[FileRow, ...]
    entrant_id: str | None = None


def entries_to_grade(db: Database) -> list[EntryToGrade]:
    """Pending entries (not late, not superseded, not yet graded) with their files."""
    q = (sa.select(entries.c.id, entries.c.unit, entries.c.entrant_id, messages.c.hash, entry_files.c.name,
                   entry_files.c.kind, entry_files.c.content_hash, entry_files.c.size)
         .join(messages, messages.c.id == entries.c.message_id)
         .join(entry_files, entry_files.c.entry_id == entries.c.id, isouter=True)
         .where(entries.c.state == "pending", entries.c.graded_at.is_(None))
         .order_by(entries.c.id, entry_files.c.seq))
    out: dict[int, tuple[str | None, str, list[FileRow], str | None]] = {}
    with db.read_tx("list entries to grade") as conn:
        for r in conn.execute(q):
            unit, digest, files, _ = out.setdefault(r.id, (r.unit, r.hash, [], r.entrant_id))
            if r.content_hash is not None:
                files.append(FileRow(r.name, r.kind, r.content_hash, r.size))
    return [EntryToGrade(eid, unit, digest, tuple(files), who) for eid, (unit, digest, files, who) in out.items()]


def mark_graded(db: Database, ids: Sequence[int]) -> None:
    now = utcnow()
    with db.write_tx("mark entries graded") as conn:
        for eid in ids:
            conn.execute(entries.update().where(entries.c.id == eid, entries.c.state == "pending")
                         .values(state="graded", graded_at=now))


# -- organisers' decisions -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EntryInfo:
    id: int
    code: str
    state: str
    unit: str | None
    received_at: datetime | None
    accepted_by: str | None


def find_entry(db: Database, ref: str) -> EntryInfo | None:
    """An entry by its code (case-insensitive) or its number."""
    cond = entries.c.code == ref.strip().upper()
    if ref.strip().isdigit():
        cond = sa.or_(cond, entries.c.id == int(ref.strip()))
    with db.read_tx("find an entry") as conn:
        r = conn.execute(sa.select(entries.c.id, entries.c.code, entries.c.state, entries.c.unit,
                                   entries.c.received_at, entries.c.accepted_by).where(cond)).first()
    return None if r is None else EntryInfo(*r)


def accept_entry(db: Database, entry_id: int, who: str) -> None:
    """A late entry accepted by an organiser: pending (graded by the next ingest run), audited."""
    now = utcnow()
    with db.write_tx("accept an entry") as conn:
        code, state = conn.execute(sa.select(entries.c.code, entries.c.state).where(entries.c.id == entry_id)).one()
        conn.execute(entries.update().where(entries.c.id == entry_id)
                     .values(state="pending", accepted_by=who, accepted_at=now))
    audit_record(db, who=who, action="accept_entry", target=f"entry:{entry_id} {code}", before={"state": state},
                 after={"state": "pending"}, at=now)


# -- receipts --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DueReceipt:
    message_hash: str
    to: str
    subject: str
    body: str
    in_reply_to: str
    attempted_at: datetime | None = None   # a send was started then and never confirmed: it may have gone out


def unsent_receipts(db: Database) -> list[DueReceipt]:
    """Receipts due and not sent, in the order the messages were recorded; ``attempted_at`` set on the uncertain
    ones (a run stopped between starting to send them and recording them sent)."""
    q = (sa.select(messages.c.hash, messages.c.receipt_to, messages.c.receipt_subject, messages.c.receipt_body,
                   messages.c.message_id, messages.c.receipt_sending_at)
         .where(messages.c.receipt_due.is_(True), messages.c.receipt_sent_at.is_(None)).order_by(messages.c.id))
    with db.read_tx("list unsent receipts") as conn:
        return [DueReceipt(r.hash, r.receipt_to, r.receipt_subject or "", r.receipt_body or "", r.message_id or "",
                           r.receipt_sending_at) for r in conn.execute(q)]


def mark_receipt_sending(db: Database, message_hash: str, *, force: bool = False) -> bool:
    """Record that the receipt is about to be sent, BEFORE it is (committed): False when it is not due, already
    sent, or already attempted (unless ``force``) — then it must not be sent."""
    cond = [messages.c.hash == message_hash, messages.c.receipt_due.is_(True), messages.c.receipt_sent_at.is_(None)]
    if not force:
        cond.append(messages.c.receipt_sending_at.is_(None))
    with db.write_tx("start sending a receipt") as conn:
        n = conn.execute(messages.update().where(*cond).values(receipt_sending_at=utcnow())).rowcount
    return bool(n)


def clear_receipt_sending(db: Database, message_hash: str) -> None:
    """The receipt certainly did not go out (the server refused it or could not be reached): it is due again."""
    with db.write_tx("a receipt not sent") as conn:
        conn.execute(messages.update().where(messages.c.hash == message_hash, messages.c.receipt_sent_at.is_(None))
                     .values(receipt_sending_at=None))


def mark_receipt_sent(db: Database, message_hash: str) -> bool:
    """Mark one receipt sent (False when it already was: never sent twice)."""
    with db.write_tx("mark a receipt sent") as conn:
        n = conn.execute(messages.update().where(messages.c.hash == message_hash, messages.c.receipt_sent_at.is_(None))
                         .values(receipt_sent_at=utcnow())).rowcount
    return bool(n)


# -- IMAP cursors ----------------------------------------------------------------------------------------------
def mail_cursor(db: Database, mailbox: str) -> tuple[int, int] | None:
    """(UIDVALIDITY, last UID stored) of an IMAP mailbox read before, else None."""
    with db.read_tx("read a mailbox cursor") as conn:
        r = conn.execute(sa.select(mail_cursors.c.uidvalidity, mail_cursors.c.last_uid)
                         .where(mail_cursors.c.mailbox == mailbox)).first()
    return None if r is None else (int(r[0]), int(r[1]))


def save_mail_cursor(db: Database, mailbox: str, uidvalidity: int, last_uid: int) -> None:
    values = {"uidvalidity": uidvalidity, "last_uid": last_uid, "updated_at": utcnow()}
    with db.write_tx("save a mailbox cursor") as conn:
        n = conn.execute(mail_cursors.update().where(mail_cursors.c.mailbox == mailbox).values(**values)).rowcount
        if not n:
            conn.execute(sa.insert(mail_cursors).values(mailbox=mailbox, **values))


# -- accounting ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MailOverview:
    """Messages and entries counted by (collecting unit, state), and entries carrying a flag that keeps them out
    of rankings (``UNRANKED_FLAGS``) counted by collecting unit — what ``omr status`` and /admin both show."""
    messages: Counter
    entries: Counter
    flagged: Counter


def _in_units(column: Any, units: Collection[str] | None) -> Any:
    """No filter for ``None`` (everything); else the rows whose unit is one of ``units``."""
    return sa.true() if units is None else column.in_(sorted(units))


def mail_overview(db: Database, units: Collection[str] | None = None) -> MailOverview:
    """The counts of every message and entry (``units`` given: of those collected by these units only)."""
    with db.read_tx("count messages and entries") as conn:
        m = Counter({(r[0], r[1]): r[2] for r in conn.execute(
            sa.select(messages.c.unit, messages.c.state, sa.func.count()).where(_in_units(messages.c.unit, units))
            .group_by(messages.c.unit, messages.c.state))})
        e = Counter({(r[0], r[1]): r[2] for r in conn.execute(
            sa.select(entries.c.unit, entries.c.state, sa.func.count()).where(_in_units(entries.c.unit, units))
            .group_by(entries.c.unit, entries.c.state))})
        flagged: Counter = Counter()
        for unit, flags in conn.execute(sa.select(entries.c.unit, entries.c.flags)
                                        .where(_in_units(entries.c.unit, units))):
            if {f.get("code", "") for f in flags or ()} & UNRANKED_FLAGS:
                flagged[unit] += 1
    return MailOverview(m, e, flagged)


INELIGIBLE_FLAGS = frozenset({"under_age", "staff"})


def unit_entry_counts(db: Database, *, by_entrant: bool = False) -> dict[Any, Counter]:
    """Per collecting unit, for the reports: ``received`` (every entry), ``late`` (arrived after the deadline:
    waiting as late, or accepted by an organiser since), ``superseded`` and ``ineligible`` (flagged under age or
    on the staff list). ``by_entrant``: per (collecting unit, the entrant's own unit — school, ward, department)."""
    out: dict[Any, Counter] = {}
    q = sa.select(entries.c.unit, entries.c.entrant_unit, entries.c.state, entries.c.accepted_at, entries.c.flags)
    with db.read_tx("count entries per unit") as conn:
        for unit, own, state, accepted_at, flags in conn.execute(q):
            c = out.setdefault((unit, own) if by_entrant else unit, Counter())
            c["received"] += 1
            c["late"] += state == "late" or accepted_at is not None
            c["superseded"] += state == "superseded"
            c["ineligible"] += bool({f.get("code", "") for f in flags or ()} & INELIGIBLE_FLAGS)
    return out


def mail_counts(db: Database) -> tuple[Counter, Counter]:
    """(messages, entries) counted by (collecting unit, state)."""
    o = mail_overview(db)
    return o.messages, o.entries


@dataclass(frozen=True, slots=True)
class LateEntry:
    id: int
    code: str
    unit: str | None
    received_at: datetime | None
    sender: str
    subject: str


def late_entries(db: Database, units: Collection[str] | None = None, limit: int = 500) -> list[LateEntry]:
    """Entries waiting as late (not accepted), oldest first, with their message's sender and subject."""
    q = (sa.select(entries.c.id, entries.c.code, entries.c.unit, entries.c.received_at, messages.c.sender,
                   messages.c.subject).join(messages, messages.c.id == entries.c.message_id)
         .where(entries.c.state == "late", _in_units(entries.c.unit, units)).order_by(entries.c.id).limit(limit))
    with db.read_tx("list late entries") as conn:
        return [LateEntry(r.id, r.code, r.unit, r.received_at, r.sender or "", r.subject or "")
                for r in conn.execute(q)]


@dataclass(frozen=True, slots=True)
class RejectedMessage:
    id: int
    unit: str | None
    received_at: datetime | None
    sender: str
    subject: str
    reason_code: str | None
    reason: str | None


def rejected_messages(db: Database, units: Collection[str] | None = None,
                      limit: int = 500) -> list[RejectedMessage]:
    """Messages refused as unreadable, oldest first, with the reason recorded."""
    q = (sa.select(messages.c.id, messages.c.unit, messages.c.received_at, messages.c.sender, messages.c.subject,
                   messages.c.reason_code, messages.c.reason)
         .where(messages.c.state == "rejected", _in_units(messages.c.unit, units)).order_by(messages.c.id)
         .limit(limit))
    with db.read_tx("list rejected messages") as conn:
        return [RejectedMessage(r.id, r.unit, r.received_at, r.sender or "", r.subject or "", r.reason_code,
                                r.reason) for r in conn.execute(q)]


def entry_states(db: Database, codes: Sequence[str]) -> Counter:
    """The entries with these codes, counted by their state now."""
    out: Counter = Counter()
    with db.read_tx("count entries") as conn:
        for part in chunks(list(codes)):
            out.update(conn.execute(sa.select(entries.c.state).where(entries.c.code.in_(part))).scalars())
    return out


def flag_counts(db: Database) -> Counter:
    """Entries counted by each flag they carry (identity_pending, under_age, staff, duplicate_participant…)."""
    out: Counter = Counter()
    with db.read_tx("count entry flags") as conn:
        for flags in conn.execute(sa.select(entries.c.flags)).scalars():
            out.update({f.get("code", "?") for f in flags or ()})
    return out


UNRANKED_FLAGS = frozenset({"identity_pending", "age_unknown", "under_age", "staff", "duplicate_participant",
                            "received_unknown"})
UNRANKED_STATES = frozenset({"late", "superseded"})


def unranked_pages(db: Database) -> dict[int, list[str]]:
    """Pages that stay out of rankings, with why: every entry holding the page's file is late (not accepted),
    superseded, or flagged (``UNRANKED_FLAGS``). Pages of files that came from no entry are not listed."""
    q = (sa.select(pages.c.id, entries.c.state, entries.c.flags)
         .join(submissions, submissions.c.id == pages.c.submission_id)
         .join(entry_files, entry_files.c.content_hash == submissions.c.content_hash)
         .join(entries, entries.c.id == entry_files.c.entry_id))
    why: dict[int, list[set[str]]] = {}
    with db.read_tx("read entries kept out of rankings") as conn:
        for page_id, state, flags in conn.execute(q):
            reasons = {f.get("code", "") for f in flags or ()} & UNRANKED_FLAGS
            if state in UNRANKED_STATES:
                reasons.add(state)
            why.setdefault(int(page_id), []).append(reasons)
    return {pid: sorted(set().union(*sets)) for pid, sets in why.items() if all(sets)}


def raw_message(db: Database, digest: str) -> bytes | None:
    with db.read_tx("read a stored message") as conn:
        return conn.execute(sa.select(message_raw.c.data).where(message_raw.c.hash == digest)).scalar()


def message_rows(db: Database, columns: Iterable[str] = ("source_key", "state", "reason_code")) -> list[tuple]:
    """Chosen columns of every message, in the order recorded (tests, reports)."""
    with db.read_tx("list messages") as conn:
        return [tuple(r) for r in conn.execute(sa.select(*(messages.c[c] for c in columns)).order_by(messages.c.id))]


def entry_rows(db: Database, columns: Iterable[str] = ("code", "state", "unit")) -> list[tuple]:
    with db.read_tx("list entries") as conn:
        return [tuple(r) for r in conn.execute(sa.select(*(entries.c[c] for c in columns)).order_by(entries.c.id))]
