"""A page's effective reading and what follows from it: status, the store's own flags, and its score.

A page's *effective* reading is its machine reading (never changed) overlaid with the human resolutions, latest
wins; every score is computed from it, with a stored key set (``keysets``, by digest). Flags the store adds itself
(``origin = "grading"``): ``no_key`` (target ``version``) when a page's version has no key, resolved by a judge
entering the version; ``unreadable_answer`` (target ``question``) when an answer does not parse into the
question's options. A ``no_key`` flag is closed automatically when a later re-score brings a key for that version.
An organiser's ``discard`` resolution (``grading.db.discards``) makes the page ``discarded`` until a ``restore``.

Everything here runs inside a transaction the caller holds.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from omr.records import Status

from ..keys import KeySet
from ..score import ScoreStatus, SheetScore, score_sheet
from .engine import Database, chunks, dialect_insert
from .tables import DISCARDED, ESSAY, essays, flags, keysets, pages, resolutions, scores, submissions


DISCARD, RESTORE = "discard", "restore"      # ``resolutions.target`` of an organiser's decision on a whole page


@dataclass(slots=True)
class PageState:
    """A page's effective reading: machine reading overlaid with the human resolutions (latest wins)."""

    id: int
    submission_id: int
    rejected: bool
    answers: dict[str, str]
    participant: str | None
    version: str | None
    open_flags: list[Any] = field(default_factory=list)     # flag rows (id, target, key, reason)
    essay: bool = False                                      # an essay page: never scored
    participant_decided: bool = False                        # a judge set the participant
    discarded: bool = False                                  # an organiser took the page out (latest wins)

    @property
    def open_questions(self) -> set[str]:
        return {f.key for f in self.open_flags if f.target == "question" and f.key is not None}


def load_states(conn: Connection, page_ids: Sequence[int]) -> dict[int, PageState]:
    out: dict[int, PageState] = {}
    for chunk in chunks(page_ids):
        for r in conn.execute(sa.select(pages.c.id, pages.c.submission_id, pages.c.reading)
                              .where(pages.c.id.in_(chunk))):
            reading = r.reading
            out[r.id] = PageState(id=r.id, submission_id=r.submission_id,
                                  rejected=reading.get("status") == Status.REJECTED.value,
                                  essay=reading.get("status") == ESSAY,
                                  answers=dict(reading.get("answers") or {}),
                                  participant=reading.get("participant"), version=reading.get("version"))
        for r in conn.execute(sa.select(resolutions.c.page_id, resolutions.c.target, resolutions.c.key,
                                        resolutions.c.value)
                              .where(resolutions.c.page_id.in_(chunk)).order_by(resolutions.c.id)):
            st = out[r.page_id]
            if r.target == "question" and r.key is not None:
                st.answers[r.key] = r.value
            elif r.target == "participant":
                st.participant = r.value
                st.participant_decided = True
            elif r.target == "version":
                st.version = r.value
            elif r.target in (DISCARD, RESTORE):
                st.discarded = r.target == DISCARD
        for r in conn.execute(sa.select(flags.c.id, flags.c.page_id, flags.c.target, flags.c.key, flags.c.reason)
                              .where(flags.c.page_id.in_(chunk), flags.c.state == "open").order_by(flags.c.id)):
            out[r.page_id].open_flags.append(r)
    return out


def add_flag(conn: Connection, page_id: int, target: str, key: str | None, reason: str, message: str,
             now: datetime) -> Any:
    fid = conn.execute(sa.insert(flags).values(
        page_id=page_id, target=target, key=key, reason=reason, message=message, confidence=0.0, fills=None,
        origin="grading", state="open").returning(flags.c.id)).scalar_one()
    return conn.execute(sa.select(flags.c.id, flags.c.page_id, flags.c.target, flags.c.key, flags.c.reason)
                        .where(flags.c.id == fid)).one()


def update_page_status(conn: Connection, st: PageState) -> None:
    """Write the page's effective status and participant, and carry the participant to its essays and to the
    essay pages it owns (except those a judge assigned to someone himself)."""
    if st.essay:
        status = ESSAY
        if not st.participant_decided:
            owner = conn.execute(sa.select(pages.c.participant)
                                 .select_from(essays.join(pages, pages.c.id == essays.c.owner_page_id))
                                 .where(essays.c.page_id == st.id, essays.c.kind == "page")).first()
            if owner is not None:
                st.participant = owner.participant
    else:
        status = (Status.REJECTED if st.rejected else Status.FLAGGED if st.open_flags else Status.OK).value
    if st.discarded:
        status = DISCARDED
    conn.execute(sa.update(pages).where(pages.c.id == st.id).values(
        status=status, participant=st.participant, version=st.version))
    conn.execute(sa.update(essays).where(essays.c.page_id == st.id, essays.c.participant.is_distinct_from(
        st.participant)).values(participant=st.participant))
    owned = list(conn.execute(sa.select(essays.c.page_id).where(
        essays.c.owner_page_id == st.id, essays.c.kind == "page", essays.c.page_id != st.id)).scalars())
    if owned:
        decided = set(conn.execute(sa.select(resolutions.c.page_id).where(
            resolutions.c.page_id.in_(owned), resolutions.c.target == "participant")).scalars())
        follow = [i for i in owned if i not in decided]
        if follow:
            conn.execute(sa.update(pages).where(pages.c.id.in_(follow)).values(participant=st.participant))
            conn.execute(sa.update(essays).where(essays.c.page_id.in_(follow)).values(participant=st.participant))


def update_submission_status(conn: Connection, sub_ids: Sequence[int]) -> None:
    """ok: every page ok; rejected: every page rejected; flagged: anything else (nothing is silent).
    Essay pages are neutral unless they carry an open flag (then the submission is flagged); discarded pages are
    neutral, and a submission whose pages are all discarded is ``discarded``."""
    for chunk in chunks(sub_ids):
        by_sub: dict[int, set[str]] = defaultdict(set)
        has_pages: set[int] = set()
        kept: set[int] = set()                   # submissions with a page that is not discarded
        n_open = (sa.select(sa.func.count()).where(flags.c.page_id == pages.c.id, flags.c.state == "open")
                  .scalar_subquery())
        for sid, status, n in conn.execute(sa.select(pages.c.submission_id, pages.c.status, n_open)
                                           .where(pages.c.submission_id.in_(chunk))):
            has_pages.add(sid)
            if status == DISCARDED:
                continue
            kept.add(sid)
            if status == ESSAY:          # essay pages count only through their open flags (unmatched_essay …)
                if n:
                    by_sub[sid].add(Status.FLAGGED.value)
                continue
            by_sub[sid].add(status)
        for sid in chunk:
            sts = by_sub.get(sid, set())
            if sid in has_pages and sid not in kept:
                status = DISCARDED
            elif sts == {Status.OK.value} or not sts:
                status = Status.OK.value if sts or sid in has_pages else Status.REJECTED.value
            elif sts == {Status.REJECTED.value}:
                status = Status.REJECTED.value
            else:
                status = Status.FLAGGED.value
            conn.execute(sa.update(submissions).where(submissions.c.id == sid, submissions.c.status != status)
                         .values(status=status))


def ensure_keyset(db: Database, conn: Connection, keys: KeySet, now: datetime) -> str:
    """Keep ``keys`` in ``keysets`` (once per digest and store); returns its digest."""
    digest = keys.digest
    if digest in db.committed_keysets:       # written by an earlier, committed transaction: skip
        return digest
    conn.execute(dialect_insert(conn, keysets).values(digest=digest, contest=keys.contest, layout=keys.layout,
                                                      data=keys.to_json(), created_at=now)
                 .on_conflict_do_nothing(index_elements=["digest"]))
    db.key_cache[digest] = keys
    # remembered only once this transaction has committed (a rollback would take the row away again)
    sa.event.listen(conn, "commit", lambda _conn: db.committed_keysets.add(digest), once=True)
    return digest


def keyset(db: Database, conn: Connection, digest: str) -> KeySet:
    """The key set stored under ``digest``, parsed once per Store (content-addressed: never stale)."""
    if digest not in db.key_cache:
        data = conn.execute(sa.select(keysets.c.data).where(keysets.c.digest == digest)).scalar_one()
        db.key_cache[digest] = KeySet.from_json(data)
    return db.key_cache[digest]


def score_page(db: Database, conn: Connection, st: PageState, keys: KeySet, digest: str, who: str,
               now: datetime) -> SheetScore:
    """Score one page from its effective reading, keep the store's own flags in step, write the score."""
    sc = score_sheet(st.answers, st.version, keys, open_flags=st.open_questions)
    no_key = [f for f in st.open_flags if f.reason == ScoreStatus.NO_KEY.value]
    if sc.status is ScoreStatus.NO_KEY and not no_key:
        st.open_flags.append(add_flag(conn, st.id, "version", None, ScoreStatus.NO_KEY.value, sc.message, now))
    elif sc.status is ScoreStatus.SCORED and no_key:
        conn.execute(sa.update(flags).where(flags.c.id.in_([f.id for f in no_key])).values(
            state="resolved", resolved_by=who, resolved_at=now,
            resolution={"auto": f"an answer key for version {sc.version} exists now"}))
        st.open_flags = [f for f in st.open_flags if f not in no_key]
    flagged_q = st.open_questions
    for q in sc.needs_review:
        if q not in flagged_q:
            marked = st.answers.get(q, "")
            st.open_flags.append(add_flag(conn, st.id, "question", q, "unreadable_answer",
                                          f"the reading {marked!r} is not a valid answer to question {q}; "
                                          "enter the marks that count", now))
    js = sc.to_json()
    conn.execute(sa.delete(scores).where(scores.c.page_id == st.id))
    conn.execute(sa.insert(scores).values(
        page_id=st.id, participant=st.participant, version=st.version, status=sc.status.value,
        total=js["total"], total_float=float(sc.total), max_total=js["max_total"],
        max_float=float(sc.max_total), questions=js["questions"], sections=js["sections"],
        needs_review=js["needs_review"], key_digest=digest, computed_at=now))
    update_page_status(conn, st)
    return sc
