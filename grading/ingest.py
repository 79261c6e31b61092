"""Entries as they arrive by e-mail: every message of a mailbox accounted for, its entries recorded, graded.

``ingest`` takes the messages of one collecting unit's mailbox (``grading.mail.sources``), and for each message
not seen before (its SHA-256):

1. ``grading.mail.parse`` takes it apart. Its state: ``ignored`` (an auto-reply, a bounce, or our own mail),
   ``rejected`` (too large, too many parts, MIME that cannot be separated), ``no_entry`` (no file an entry can be),
   else ``taken`` with its entries: one for the message's own files, one per forwarded message bringing files.
2. Each entry's time: the message's time received; a message forwarded by a unit listed in ``units.csv`` (the
   outer sender is its mailbox) keeps the time its first receiving unit recorded (the inner message's topmost
   ``Received:``), and must itself have arrived before the forwarding deadline. After its deadline an entry is
   ``late`` (kept, not graded until an organiser accepts it).
3. Who entered (``grading.entrants``): the identity in the entry's body, else a file named like its entrant;
   a stable entrant id; the eligibility flags.
4. The entry's files are written content-addressed to the files folder (``<hash>.<ext>``; a cache, written when
   a run grades: each is made again from the stored raw message when missing), then the message — raw bytes,
   entries, files, entrants, receipt — is recorded in ONE transaction (``grading.db.mail``): a ``kill -9``
   leaves each message once or not at all.

After the messages: which of one person's entries counts (``keep_entry``: the others are ``superseded``),
possible same persons (``duplicate_participant``), then the pending entries' files graded by the existing
pipeline (``grading.batch.grade``) with their collecting unit.
"""
from __future__ import annotations

import base64
import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone, tzinfo
from pathlib import Path
from typing import Any

from omr.errors import InputError

from .db import mail as db
from .entrants import Flag, Staff, eligibility, entrant_from, identity_from_path, identity_from_text, person_key
from .mail.parse import EXTENSIONS, GRADABLE_KINDS, FilePart, ParsedMessage, parse_message
from .mail.raw import RawMessage
from .mail.reasons import Problem, describe
from .mail.remote import MailServerError
from .mail.receipt import ReceiptEntry, receipt_text
from .mail.sources import Item, Vanished
from .mail.summary import ENTRY_STATES, MESSAGE_STATES
from .units import Units

DOCUMENT_KINDS = frozenset({"docx", "odt"})    # typed entries: read by ``grading.typed`` (identity and answers)


@dataclass(frozen=True, slots=True)
class IngestOptions:
    unit: str | None                           # the collecting unit (its code when units.csv lists it)
    files_dir: Path                            # where entry files are written (content-addressed)
    entry_deadline: datetime | None = None
    forward_deadline: datetime | None = None
    reference_date: date | None = None
    keep_entry: str = "last"
    language: str = "vi"
    contest_name: str = ""
    tz: tzinfo = timezone.utc
    units: Units | None = None
    staff: Staff = field(default_factory=Staff)
    own_addresses: frozenset[str] = frozenset()   # mail from these is ours (receipts): ignored


@dataclass
class IngestTally:
    messages: int = 0                          # found in the source
    already: int = 0                           # recorded by an earlier run (same hash)
    states: Counter = field(default_factory=Counter)       # new messages by state
    entries: Counter = field(default_factory=Counter)      # this run's new entries by state, after the rules
    codes: list[str] = field(default_factory=list)         # this run's new entries
    vanished: list[Vanished] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {"messages": self.messages, "already_recorded": self.already,
                "states": {s: self.states[s] for s in MESSAGE_STATES},
                "entries": {s: self.entries[s] for s in ENTRY_STATES},
                "vanished": [{"key": v.key, "error": v.error} for v in self.vanished],
                "seconds": round(self.seconds, 3)}


@dataclass(frozen=True, slots=True)
class _Group:
    """The files of one entry, with where its identity and time come from."""
    seq: int
    files: tuple[FilePart, ...]
    body: str
    received_at: datetime | None
    late: str                                  # the deadline missed, for people ("" when on time)
    named: tuple[tuple[str, str], ...] = ()    # the identity its files' or folders' names give


def _by_person(groups: list[_Group]) -> list[_Group]:
    """A group whose files or folders name two or more entrants ("Nguyễn Văn An - 5.9.2010/…", a class's ZIP)
    becomes one entry per entrant named, plus one for the files that name nobody; numbered again in order."""
    out: list[_Group] = []
    for g in groups:
        people: dict[str, list[FilePart]] = {}
        named: dict[str, dict[str, str]] = {}
        for f in g.files:
            ident = identity_from_path(f.path)
            key = person_key(ident)
            people.setdefault(key, []).append(f)
            named.setdefault(key, ident)
        if len([k for k in people if k]) < 2:
            out.append(g)
            continue
        for key, files in people.items():
            out.append(replace(g, files=tuple(files), named=tuple(named[key].items())))
    first = groups[0].seq if groups else 0
    return [replace(g, seq=first + i) for i, g in enumerate(out)]


def entry_code(message_hash: str, seq: int) -> str:
    """The code people quote: stable for a message and its entry number."""
    digest = hashlib.sha256(f"{message_hash}:{seq}".encode()).digest()
    return "BD-" + base64.b32encode(digest).decode("ascii")[:8]


def _late(when: datetime | None, deadline: datetime | None, tz: tzinfo) -> str:
    if when is None or deadline is None or when <= deadline:
        return ""
    return f"{when.astimezone(tz):%H:%M %d/%m/%Y} > {deadline.astimezone(tz):%H:%M %d/%m/%Y}"


def _groups(p: ParsedMessage, outer: datetime | None, o: IngestOptions) -> list[_Group]:
    """One group for the message's own files, one per forwarded message with files (depth first). A forward
    from a listed unit's mailbox keeps the inner time and must meet the forwarding deadline."""
    out: list[_Group] = []
    if p.files:
        out.append(_Group(0, p.files, p.body, outer, _late(outer, o.entry_deadline, o.tz)))

    def walk(msg: ParsedMessage, when: datetime | None, forward_late: str) -> None:
        by_unit = o.units is not None and msg.sender and o.units.by_mailbox(msg.sender) is not None
        for fw in msg.forwards:
            inner = fw.received_at if by_unit and fw.received_at else when
            late = forward_late
            if by_unit and fw.received_at and not late:
                late = _late(when, o.forward_deadline, o.tz)
            if fw.files:
                out.append(_Group(len(out) + (0 if p.files else 1), fw.files, fw.body or msg.body, inner,
                                  late or _late(inner, o.entry_deadline, o.tz)))
            walk(fw, inner, late)

    walk(p, outer, "")
    return _by_person(out)


def _all_problems(p: ParsedMessage) -> list[Problem]:
    return [*p.problems, *(q for fw in p.forwards for q in _all_problems(fw))]


def _materialise(files_dir: Path, f: FilePart) -> None:
    path = files_dir / f"{f.digest}.{f.extension}"
    if path.exists():
        return
    files_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as out:
        out.write(f.data)
    os.replace(tmp, path)


def file_path(files_dir: Path, row: db.FileRow) -> Path:
    return files_dir / f"{row.content_hash}.{EXTENSIONS[row.kind]}"


def restore_files(store: Any, files_dir: Path, entry: db.EntryToGrade) -> None:
    """Write an entry's files again from its stored raw message (the files folder is a cache of them)."""
    if all(file_path(files_dir, f).exists() for f in entry.files):
        return
    data = db.raw_message(store, entry.message_hash)
    if data is None:
        raise InputError(f"the raw message {entry.message_hash[:12]} of entry {entry.id} is not in the store")
    parsed = parse_message(RawMessage(data, "", "", None))
    for f in parsed.all_files():
        _materialise(files_dir, f)


def _entrant_unit(identity: dict[str, str], units: Units | None) -> str | None:
    text = identity.get("unit") or identity.get("school") or ""
    if not text:
        return None
    if units is not None:
        try:
            return units.find(text).code
        except InputError:
            pass
    return text


def _document_identity(files: Iterable[FilePart]) -> dict[str, str]:
    """The identity block of the entry's first typed document that names its entrant ({} when none does)."""
    from .typed import document_identity

    for f in files:
        if f.kind in DOCUMENT_KINDS:
            found = document_identity(f.data, f.extension)
            if person_key(found):
                return found
    return {}


def _entry(g: _Group, digest: str, o: IngestOptions) -> tuple[db.EntryRow, ReceiptEntry]:
    identity = dict(g.named) if g.named else identity_from_text(g.body)
    document = _document_identity(g.files)
    if document:                       # the document's own identity block comes first
        identity = {**identity, **document}
    if not person_key(identity):
        named = next((i for i in map(identity_from_path, (f.path for f in g.files)) if i), {})
        identity = {**identity, **named}
    entrant = entrant_from(identity)
    flags: list[Flag] = eligibility(identity, entrant, o.reference_date, o.staff)
    if g.late:
        flags.append(Flag("late", g.late))
    if g.received_at is None:
        flags.append(Flag("received_unknown", "no time received from the mailbox or a Received: header; the "
                                              "deadline cannot be checked"))
    row = db.EntryRow(
        code=entry_code(digest, g.seq), seq=g.seq, state="late" if g.late else "pending", unit=o.unit,
        received_at=g.received_at, files=tuple(db.FileRow(f.path, f.kind, f.digest, len(f.data)) for f in g.files),
        flags=tuple(f.as_json() for f in flags), identity=identity or None,
        entrant=db.EntrantRow(**{k: getattr(entrant, k) for k in db.EntrantRow.__slots__}) if entrant else None,
        entrant_unit=_entrant_unit(identity, o.units))
    return row, ReceiptEntry(row.code, g.files, g.late)


def _decide(raw: RawMessage, p: ParsedMessage, o: IngestOptions) -> tuple[str, Problem | None, list[_Group]]:
    if p.ours:
        return "ignored", Problem("own_mail", "", "a receipt the contest sent (X-OMR-Receipt)"), []
    if p.auto:
        return "ignored", Problem("auto_reply", "", p.auto), []
    if p.sender and p.sender in o.own_addresses:
        return "ignored", Problem("own_mail", "", f"sent from {p.sender}, the contest's own mailbox"), []
    if p.fatal is not None:
        return "rejected", p.fatal, []
    groups = _groups(p, p.received_at, o)
    if not groups:
        return "no_entry", Problem("no_attachment"), []
    return "taken", None, groups


def message_row(raw: RawMessage, digest: str, p: ParsedMessage, o: IngestOptions) -> tuple[db.MessageRow,
                                                                                            list[FilePart]]:
    """The message as recorded, and the files to write before it is."""
    state, why, groups = _decide(raw, p, o)
    rows, receipts = zip(*(_entry(g, digest, o) for g in groups)) if groups else ((), ())
    problems = _all_problems(p)
    shown = [why] if why is not None and state in ("rejected", "no_entry") else []
    subject, body = receipt_text(language=o.language, contest=o.contest_name, who=p.sender_name or p.answer_to,
                                 received_at=p.received_at, tz=o.tz, entries=list(receipts),
                                 problems=shown + problems, subject=p.subject)
    m = db.MessageRow(
        hash=digest, data=raw.data, source=raw.source, source_key=raw.key, received_at=p.received_at, state=state,
        unit=o.unit, subject=p.subject, sender=p.sender, message_id=p.message_id, body=p.body,
        reason_code=why.code if why else None, reason=describe(why, o.language) if why else None,
        problems=tuple({"code": q.code, "name": q.name, "detail": q.detail} for q in problems),
        receipt_to=p.answer_to or None if state != "ignored" else None, receipt_subject=subject,
        receipt_body=body, entries=tuple(rows))
    return m, [f for g in groups for f in g.files]


AfterMessage = Callable[[RawMessage, db.MessageRow | None], None]


def ingest(items: Iterable[Item], store: Any, o: IngestOptions, tally: IngestTally | None = None, *,
           materialise: bool = True, after: AfterMessage | None = None) -> IngestTally:
    """Record every new message of ``items``; then apply the rules (``apply_rules``). Grading is separate
    (``grade_pending``). ``materialise``: write the entry files now (a run that grades); without it they are
    written from the stored message when they are graded. ``after(message, row)``: called once each message is
    in the store (its transaction committed), ``row`` the one recorded now or None when it was already there.
    A mail server lost mid-run (``MailServerError``) ends the reading; the rules still apply to what was taken,
    then the error is raised."""
    t0 = time.perf_counter()
    tally = IngestTally() if tally is None else tally
    known = db.known_message_hashes(store)
    stopped: MailServerError | None = None
    try:
        try:
            for item in items:
                tally.messages += 1
                if isinstance(item, Vanished):
                    tally.vanished.append(item)
                    continue
                row = _one(item, store, o, tally, known, materialise)
                if after is not None:
                    after(item, row)
        except MailServerError as exc:
            stopped = exc
        apply_rules(store, o.keep_entry)
        tally.entries = db.entry_states(store, tally.codes)
    finally:
        tally.seconds = time.perf_counter() - t0
    if stopped is not None:
        raise stopped
    return tally


def _one(item: RawMessage, store: Any, o: IngestOptions, tally: IngestTally, known: set[str],
         materialise: bool) -> db.MessageRow | None:
    """Record one message unless its hash is known; the row recorded, else None."""
    digest = hashlib.sha256(item.data).hexdigest()
    if digest in known:
        tally.already += 1
        return None
    m, files = message_row(item, digest, parse_message(item), o)
    for f in files if materialise else ():
        _materialise(o.files_dir, f)
    known.add(digest)
    if not db.record_message(store, m):
        tally.already += 1
        return None
    tally.states[m.state] += 1
    tally.entries.update(e.state for e in m.entries)
    tally.codes.extend(e.code for e in m.entries)
    return m


def apply_rules(store: Any, keep: str) -> None:
    """Which of one person's entries counts (the others ``superseded``; late ones not accepted take no part), and
    ``duplicate_participant`` on entrants that share a phone or an e-mail under different names."""
    rows = db.person_entries(store)
    changes: dict[int, dict[str, Any]] = {}
    by_person: dict[str, list[db.PersonEntry]] = {}
    for r in rows:
        if r.person_key and r.state in ("pending", "graded", "superseded"):
            by_person.setdefault(r.person_key, []).append(r)
    floor = datetime.min.replace(tzinfo=timezone.utc)
    for group in by_person.values():
        group.sort(key=lambda r: (r.received_at or floor, r.id))
        kept = group[-1] if keep == "last" else group[0]
        for r in group:
            want = ("graded" if r.graded else "pending") if r is kept else "superseded"
            if r.state != want:
                changes.setdefault(r.id, {})["state"] = want
    shared: dict[str, set[str]] = {}
    for eid, phone, email in db.entrant_contacts(store):
        for contact in (f"p:{phone}" if phone else "", f"e:{email}" if email else ""):
            if contact:
                shared.setdefault(contact, set()).add(eid)
    doubtful = {e for ids in shared.values() if len(ids) > 1 for e in ids}
    for r in rows:
        if r.entrant_id in doubtful and not any(f.get("code") == "duplicate_participant" for f in r.flags):
            changes.setdefault(r.id, {})["flags"] = [*r.flags, Flag(
                "duplicate_participant", "another entrant has the same phone or e-mail").as_json()]
    db.update_entries(store, changes)


def grade_pending(store: Any, contest: Any, files_dir: Path, *, workers: int = 1, progress: bool = False) -> int:
    """Grade the pending entries' files with their collecting unit: scans and PDFs by the page reader, typed
    documents (DOCX, ODT, a PDF whose text layer answers the questions) by ``grading.typed``, each recorded under
    its entry's entrant. Returns the entries graded."""
    from .batch import GradeOptions, grade
    from .transcribe import queue as queue_transcriptions

    todo = db.entries_to_grade(store)
    by_unit: dict[str | None, list[db.EntryToGrade]] = {}
    for e in todo:
        if any(f.kind in GRADABLE_KINDS | DOCUMENT_KINDS for f in e.files):
            by_unit.setdefault(e.unit, []).append(e)
    done = 0
    for unit, group in by_unit.items():
        for e in group:
            restore_files(store, files_dir, e)
        kinds = GRADABLE_KINDS | DOCUMENT_KINDS
        paths = sorted({str(file_path(files_dir, f)) for e in group for f in e.files if f.kind in kinds})
        who = {f.content_hash: e.entrant_id for e in group if e.entrant_id for f in e.files if f.kind in kinds}
        grade(paths, contest, store, GradeOptions(workers=workers, unit=unit, progress=progress, participants=who))
        db.mark_graded(store, [e.id for e in group])
        done += len(group)
    queue_transcriptions(store, contest.folder)             # handwritten entries: for judges to type in
    return done
