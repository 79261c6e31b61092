"""Transcription of handwritten entries: the queue, who types which entry, the entries typed, and taking the
final values as the submission's answers page.

A *handwritten submission* is one whose every page is an essay page read from pixels (no answer sheet, no typed
document: no essay of it has its text from a document) — once per submission, one ``transcriptions`` row. Two
judges type it independently (slots 1 and 2); a difference sends it to a third judge (slot 3) who decides only
the differing fields. Judges of the collecting unit never get it, and nobody gets it twice. Once taken, the
final values become a page of the submission — a ``SheetReading`` like a typed entry's answers page, scored with
the contest's keys — whose participant its essay pages follow, so scores, exports, ranking and essay judging
need nothing new; an e-mailed entry of that file whose entrant was unknown gets the typed one (and his
eligibility flags). Nothing here decides what agrees: the caller's ``rules`` (``grading.transcribe``) does.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from omr.paths import path_from
from omr.records import SheetReading

from ..keys import KeySet
from .engine import Database, chunks, dialect_insert, utcnow
from .pages import ensure_keyset, load_states, score_page, update_page_status, update_submission_status
from .submissions import _insert_page
from .tables import (DISCARDED, ESSAY, TYPED_ENGINE, UNMATCHED_ESSAY, TranscriptionState, audit, entrants, entries,
                     entry_files, essays, flags, judges, pages, submissions, transcription_entries, transcription_notes,
                     transcriptions)
from .tasks import sync_tasks, unit_key

ASSIGNED, SUBMITTED = "assigned", "submitted"
DECIDER = 3                   # the slot of the judge who decides a difference


class TranscriptionError(Exception):
    """Why an entry cannot be written (Vietnamese, for the judge's page)."""


@dataclass(frozen=True, slots=True)
class Settlement:
    """What the entries typed so far make of a transcription."""
    state: TranscriptionState
    differences: tuple[str, ...] = ()
    final: dict[str, str] | None = None          # every field's final value, when taken


@dataclass(frozen=True, slots=True)
class AnswersPage:
    """What taken values make: the answers page, and the entrant they name (``None``: the roster's person, or
    nobody) with the eligibility flags of an e-mailed entry whose identity was pending."""
    reading: SheetReading
    entrant: dict[str, Any] | None = None           # the ``entrants`` row's values
    identity: dict[str, str] | None = None
    entry_flags: tuple[dict[str, str], ...] = ()    # ``grading.entrants.eligibility`` as JSON


IDENTITY_FLAGS = frozenset({"identity_pending", "age_unknown", "under_age", "staff"})   # replaced by the typed identity


class Rules(Protocol):
    keys: KeySet | None

    def settle(self, typed: dict[int, dict[str, str]]) -> Settlement: ...

    def answers_page(self, final: dict[str, str], source: str, page_no: int) -> AnswersPage: ...


@dataclass(frozen=True, slots=True)
class EntryView:
    """One judge's entry with what his page shows: the submission's essay pages (pictures), and for the decider
    the differing fields with both values."""
    id: int
    transcription_id: int
    slot: int
    judge_id: int
    state: str
    entered: dict[str, str] | None
    transcription_state: str
    essay_ids: tuple[int, ...]
    differences: tuple[str, ...]
    both: dict[str, tuple[str, str]]              # decider only: field → (entry 1's value, entry 2's value)


def _handwritten() -> Any:
    """Submissions with an essay page, every page an essay page (or discarded), no essay typed, no transcription."""
    p, e = pages.alias("p"), essays.alias("e")
    has_essay = sa.exists().where(p.c.submission_id == submissions.c.id, p.c.status == ESSAY)
    other = sa.exists().where(p.c.submission_id == submissions.c.id, p.c.status.notin_([ESSAY, DISCARDED]))
    typed = sa.exists().where(e.c.page_id == p.c.id, p.c.submission_id == submissions.c.id,
                              e.c.engine == TYPED_ENGINE)
    known = sa.exists().where(transcriptions.c.submission_id == submissions.c.id)
    return (sa.select(submissions.c.id, submissions.c.unit).where(has_essay, ~other, ~typed, ~known)
            .order_by(submissions.c.id))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A handwritten submission not queued yet, with its essay pages (openable path, page number)."""
    submission_id: int
    pages: tuple[tuple[str, int], ...]


def handwritten_candidates(db: Database) -> list[Candidate]:
    """The handwritten submissions that have no transcription yet, with where their essay pages are."""
    with db.read_tx("find handwritten entries") as conn:
        sids = [r.id for r in conn.execute(_handwritten())]
        found: dict[int, list[tuple[str, int]]] = {sid: [] for sid in sids}
        for chunk in chunks(sids):
            for r in conn.execute(sa.select(pages.c.submission_id, pages.c.page_no, submissions.c.source,
                                            submissions.c.source_raw)
                                  .join(submissions, submissions.c.id == pages.c.submission_id)
                                  .where(pages.c.submission_id.in_(chunk), pages.c.status == ESSAY)
                                  .order_by(pages.c.submission_id, pages.c.page_no)):
                found[r.submission_id].append((path_from(r.source, r.source_raw), r.page_no))
    return [Candidate(sid, tuple(p)) for sid, p in found.items()]


def queue_handwritten(db: Database, *, who: str, only: Sequence[int] | None = None) -> int:
    """A transcription for every handwritten submission that has none — of those in ``only`` when given (a re-run
    adds only new ones and never touches one under way or taken). Returns how many were added."""
    now = utcnow()
    with db.write_tx("queue handwritten entries") as conn:
        added = 0
        q = _handwritten()
        if only is not None:
            q = q.where(submissions.c.id.in_(list(only)))
        for sid, unit in conn.execute(q).all():
            unit = unit.strip() if unit and unit_key(unit) else None
            tid = conn.execute(dialect_insert(conn, transcriptions).values(
                submission_id=sid, state=TranscriptionState.OPEN.value, unit=unit, unit_key=unit_key(unit),
                created_at=now).on_conflict_do_nothing(index_elements=["submission_id"])
                .returning(transcriptions.c.id)).scalar()
            if tid is not None:
                added += 1
                conn.execute(sa.insert(audit).values(at=now, who=who, action="transcription_queue",
                                                     target=f"transcription:{tid} submission:{sid}",
                                                     before=None, after={"state": TranscriptionState.OPEN.value}))
        return added


def transcribed_by(judge_id: Any, submission_id: Any) -> Any:
    """SQL: the judge typed (or decided) the transcription of the submission, or said it was no handwritten entry
    — he saw who wrote it."""
    te, tr, tn = transcription_entries.alias("te"), transcriptions.alias("tr"), transcription_notes.alias("tn")
    return sa.or_(sa.exists().where(te.c.transcription_id == tr.c.id, tr.c.submission_id == submission_id,
                                    te.c.judge_id == judge_id),
                  sa.exists().where(tn.c.transcription_id == tr.c.id, tr.c.submission_id == submission_id,
                                    tn.c.judge_id == judge_id))


def essay_task_transcribed_by(judge_id: Any, task_id: Any) -> Any:
    """SQL: the judge transcribed a submission with an essay in the essay task ``task_id``."""
    e, p = essays.alias("te_e"), pages.alias("te_p")
    return sa.exists().where(e.c.task_id == task_id, p.c.id == e.c.page_id, transcribed_by(judge_id, p.c.submission_id))


def take_next(db: Database, judge_id: int) -> int | None:
    """The judge's entry to type: the one he holds, else a new one — a third decision first, then a first or
    second entry, by transcription id — never of his own unit, never one he typed already, never one whose pages
    an organiser discarded. ``None``: none left."""
    now = utcnow()
    with db.write_tx("take the next transcription") as conn:
        judge = conn.execute(sa.select(judges.c.id, judges.c.name, judges.c.unit).where(judges.c.id == judge_id)
                             .with_for_update()).first()
        if judge is None:
            raise TranscriptionError("Không có giám khảo này.")
        held = conn.execute(sa.select(transcription_entries.c.id).where(
            transcription_entries.c.judge_id == judge_id, transcription_entries.c.state == ASSIGNED)
            .order_by(transcription_entries.c.id).limit(1)).scalar()
        if held is not None:
            return int(held)
        skip: list[int] = []
        for _ in range(20):
            row = _next_free(conn, judge_id, unit_key(judge.unit), skip)
            if row is None:
                return None
            taken = set(conn.execute(sa.select(transcription_entries.c.slot).where(
                transcription_entries.c.transcription_id == row.id)).scalars())
            free = [DECIDER] if row.state == TranscriptionState.DISPUTED.value else [s for s in (1, 2)
                                                                                      if s not in taken]
            if not free or free[0] in taken:
                skip.append(row.id)
                continue
            try:
                with conn.begin_nested():
                    eid = int(conn.execute(sa.insert(transcription_entries).values(
                        transcription_id=row.id, slot=free[0], judge_id=judge_id, state=ASSIGNED,
                        assigned_at=now).returning(transcription_entries.c.id)).scalar_one())
            except IntegrityError:
                skip.append(row.id)
                continue
            conn.execute(sa.insert(audit).values(at=now, who=judge.name, action="transcription_assign",
                                                 target=f"transcription:{row.id} entry:{eid}", before=None,
                                                 after={"judge": judge.name, "slot": free[0]}))
            return eid
    return None


def _next_free(conn: Connection, judge_id: int, ukey: str | None, skip: Sequence[int]) -> Any | None:
    t, te = transcriptions, transcription_entries
    n_typing = (sa.select(sa.func.count()).select_from(te).where(te.c.transcription_id == t.c.id, te.c.slot < DECIDER)
                .scalar_subquery())
    has_decider = sa.exists().where(te.c.transcription_id == t.c.id, te.c.slot == DECIDER)
    mine = sa.or_(sa.exists().where(te.c.transcription_id == t.c.id, te.c.judge_id == judge_id),
                  sa.exists().where(transcription_notes.c.transcription_id == t.c.id,
                                    transcription_notes.c.judge_id == judge_id))
    has_pages = sa.exists().where(pages.c.submission_id == t.c.submission_id, pages.c.status == ESSAY)  # not discarded
    q = (sa.select(t.c.id, t.c.state)
         .where(sa.or_(sa.and_(t.c.state == TranscriptionState.OPEN.value, n_typing < 2),
                       sa.and_(t.c.state == TranscriptionState.DISPUTED.value, ~has_decider)), ~mine, has_pages)
         .order_by(sa.case((t.c.state == TranscriptionState.DISPUTED.value, 0), else_=1), t.c.id).limit(1))
    if ukey is not None:
        q = q.where(sa.or_(t.c.unit_key.is_(None), t.c.unit_key != ukey))
    if skip:
        q = q.where(t.c.id.notin_(list(skip)))
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True, of=t)
    return conn.execute(q).first()


def entry_view(db: Database, entry_id: int) -> EntryView | None:
    with db.read_tx("read a transcription entry") as conn:
        e = conn.execute(sa.select(transcription_entries).where(transcription_entries.c.id == entry_id)).first()
        if e is None:
            return None
        t = conn.execute(sa.select(transcriptions).where(transcriptions.c.id == e.transcription_id)).one()
        essay_ids = tuple(conn.execute(
            sa.select(essays.c.id).join(pages, pages.c.id == essays.c.page_id)
            .where(pages.c.submission_id == t.submission_id, essays.c.kind == "page", pages.c.status == ESSAY)
            .order_by(pages.c.page_no)).scalars())
        differences = tuple(t.differences or ())
        both: dict[str, tuple[str, str]] = {}
        if e.slot == DECIDER:
            typed = {r.slot: r.entered or {} for r in conn.execute(sa.select(
                transcription_entries.c.slot, transcription_entries.c.entered).where(
                transcription_entries.c.transcription_id == t.id, transcription_entries.c.slot < DECIDER))}
            both = {f: (typed.get(1, {}).get(f, ""), typed.get(2, {}).get(f, "")) for f in differences}
        return EntryView(e.id, t.id, e.slot, e.judge_id, e.state, e.entered, t.state, essay_ids, differences, both)


def submit_entry(db: Database, entry_id: int, judge_id: int, entered: dict[str, str], rules: Rules) -> Settlement:
    """Write the judge's entry (once: a submitted entry is never changed), then settle the transcription under its
    row lock: still open, disputed (the differing fields kept for the decider) or taken (``_take``)."""
    now = utcnow()
    with db.write_tx(f"submit transcription entry {entry_id}") as conn:
        tid = conn.execute(sa.select(transcription_entries.c.transcription_id)
                           .where(transcription_entries.c.id == entry_id)).scalar()
        if tid is None:
            raise TranscriptionError("Bài này không còn được giao cho bạn.")
        t = conn.execute(sa.select(transcriptions).where(transcriptions.c.id == tid).with_for_update()).one()
        e = conn.execute(sa.select(transcription_entries).where(transcription_entries.c.id == entry_id)).one()
        if e.judge_id != judge_id:
            raise TranscriptionError("Bài này không được giao cho bạn.")
        if e.state != ASSIGNED:
            raise TranscriptionError("Bạn đã gửi bài này; giá trị đã ghi không sửa được.")
        who = conn.execute(sa.select(judges.c.name).where(judges.c.id == judge_id)).scalar_one()
        conn.execute(sa.update(transcription_entries).where(transcription_entries.c.id == entry_id).values(
            state=SUBMITTED, entered=entered, submitted_at=now))
        conn.execute(sa.insert(audit).values(at=now, who=who, action="transcription_entry",
                                             target=f"transcription:{tid} entry:{entry_id}",
                                             before=None, after={"slot": e.slot, "entered": entered}))
        typed = {r.slot: r.entered for r in conn.execute(sa.select(
            transcription_entries.c.slot, transcription_entries.c.entered).where(
            transcription_entries.c.transcription_id == tid, transcription_entries.c.state == SUBMITTED))}
        outcome = rules.settle(typed)
        if outcome.state is TranscriptionState.DISPUTED and t.state == TranscriptionState.OPEN.value:
            conn.execute(sa.update(transcriptions).where(transcriptions.c.id == tid).values(
                state=outcome.state.value, differences=list(outcome.differences)))
            conn.execute(sa.insert(audit).values(at=now, who=who, action="transcription_disputed",
                                                 target=f"transcription:{tid}", before={"state": t.state},
                                                 after={"state": outcome.state.value,
                                                        "differences": list(outcome.differences)}))
        elif outcome.state is TranscriptionState.TAKEN and outcome.final is not None:
            _take(db, conn, t, outcome.final, rules, who, now)
        return outcome


def _take(db: Database, conn: Connection, t: Any, final: dict[str, str], rules: Rules, who: str,
          now: datetime) -> None:
    """The final values as a new page of the submission (scored), its essay pages owned by it (they follow its
    participant, their ``unmatched_essay`` flag closed), the entrant recorded, the transcription taken; audited."""
    sid = t.submission_id
    sub = conn.execute(sa.select(submissions.c.source, submissions.c.content_hash).where(submissions.c.id == sid)
                       .with_for_update()).one()
    page_no = int(conn.execute(sa.select(sa.func.max(pages.c.page_no)).where(pages.c.submission_id == sid))
                  .scalar() or 0) + 1
    made = rules.answers_page(final, sub.source, page_no)
    reading = made.reading
    if made.entrant is not None:
        conn.execute(dialect_insert(conn, entrants).values(**made.entrant, created_at=now)
                     .on_conflict_do_nothing(index_elements=["person_key"]))
        _fill_pending_entries(conn, sub.content_hash, made, who, now)
    pid = _insert_page(conn, sid, reading, now)
    conn.execute(sa.update(submissions).where(submissions.c.id == sid).values(n_pages=submissions.c.n_pages + 1))
    st = load_states(conn, [pid])[pid]
    if rules.keys is not None:
        score_page(db, conn, st, rules.keys, ensure_keyset(db, conn, rules.keys, now), who, now)
    else:
        update_page_status(conn, st)
    essay_pages = list(conn.execute(sa.select(pages.c.id).where(pages.c.submission_id == sid,
                                                                pages.c.status == ESSAY)).scalars())
    conn.execute(sa.update(essays).where(essays.c.page_id.in_(essay_pages), essays.c.kind == "page")
                 .values(owner_page_id=pid))
    conn.execute(sa.update(flags).where(flags.c.page_id.in_(essay_pages), flags.c.reason == UNMATCHED_ESSAY,
                                        flags.c.state == "open").values(
        state="resolved", resolved_by=who, resolved_at=now, resolution={"transcription": t.id}))
    states = load_states(conn, essay_pages)
    for p in essay_pages:
        update_page_status(conn, states[p])
    update_submission_status(conn, [sid])
    sync_tasks(conn, now, submission_ids=[sid], who=who)
    conn.execute(sa.update(transcriptions).where(transcriptions.c.id == t.id).values(
        state=TranscriptionState.TAKEN.value, final=final, page_id=pid, participant=reading.participant,
        decided_at=now))
    conn.execute(sa.insert(audit).values(at=now, who=who, action="transcription_taken",
                                         target=f"transcription:{t.id} submission:{sid} page:{pid}",
                                         before={"state": t.state},
                                         after={"state": TranscriptionState.TAKEN.value, "final": final,
                                                "participant": reading.participant}))


def _fill_pending_entries(conn: Connection, content_hash: str, made: AnswersPage, who: str, now: datetime) -> None:
    """E-mailed entries holding this file whose entrant was not known (``identity_pending``): the typed identity
    names him now, and his eligibility flags replace the identity ones (so the entry can be ranked). An entry
    whose entrant is known already is left as it is."""
    assert made.entrant is not None
    rows = conn.execute(sa.select(entries.c.id, entries.c.flags).join(
        entry_files, entry_files.c.entry_id == entries.c.id).where(
        entry_files.c.content_hash == content_hash, entries.c.entrant_id.is_(None))).all()
    for eid, old in {r.id: r.flags for r in rows}.items():
        flags = [f for f in old or () if f.get("code") not in IDENTITY_FLAGS] + list(made.entry_flags)
        conn.execute(sa.update(entries).where(entries.c.id == eid).values(
            entrant_id=made.entrant["id"], person_key=made.entrant["person_key"], identity=made.identity,
            flags=flags))
        conn.execute(sa.insert(audit).values(at=now, who=who, action="entry_identity", target=f"entry:{eid}",
                                             before={"flags": old}, after={"entrant": made.entrant["id"],
                                                                           "flags": flags, "by": "transcription"}))


def transcription_rows(db: Database) -> list[dict[str, Any]]:
    """Every transcription (id, submission, state, unit, participant, entries submitted), by id."""
    te = transcription_entries
    n = (sa.select(sa.func.count()).select_from(te).where(te.c.transcription_id == transcriptions.c.id,
                                                           te.c.state == SUBMITTED).scalar_subquery())
    with db.read_tx("list transcriptions") as conn:
        return [dict(r._mapping) for r in conn.execute(
            sa.select(transcriptions.c.id, transcriptions.c.submission_id, transcriptions.c.state,
                      transcriptions.c.unit, transcriptions.c.participant, n.label("entries"))
            .order_by(transcriptions.c.id))]


def progress_rows(db: Database, within: frozenset[str] | None = None) -> list[tuple[str | None, str, int, bool]]:
    """(collecting unit, state, entries submitted, a page still in play) of every transcription — of the units
    ``within`` only when given (a unit admin's scope, ``grading.scope``)."""
    te = transcription_entries
    n = (sa.select(sa.func.count()).select_from(te).where(te.c.transcription_id == transcriptions.c.id,
                                                           te.c.state == SUBMITTED, te.c.slot < DECIDER)
         .scalar_subquery())
    has_pages = sa.exists().where(pages.c.submission_id == transcriptions.c.submission_id, pages.c.status == ESSAY)
    q = sa.select(transcriptions.c.unit, transcriptions.c.state, n, has_pages).order_by(transcriptions.c.id)
    if within is not None:
        q = q.where(transcriptions.c.unit.in_(sorted(within)))
    with db.read_tx("count transcriptions") as conn:
        return [(r[0], r[1], int(r[2]), bool(r[3])) for r in conn.execute(q)]
