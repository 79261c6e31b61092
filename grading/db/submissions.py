"""Recording what the reader said: runs, submissions with their pages, flags, scores and essays.

* **One transaction per submission.** A submission row, its pages, their flags and scores are written together or
  not at all (a ``kill -9`` leaves a whole submission or none). ``known_hashes`` is therefore exactly the set of
  fully recorded files; a resumed run skips them.
* **Idempotent.** Recording the same ``content_hash`` again changes nothing (``INSERT … ON CONFLICT DO NOTHING``
  on the UNIQUE hash is the final guard) and says so in the returned ``RecordResult``.

File names: ``submissions.source`` is always text, the path with its bytes that are not UTF-8 written ``\\xNN``;
``source_raw`` holds the path's exact bytes when (and only when) it is not valid UTF-8. Whatever opens a stored
file again takes its path from both (``omr.paths.path_from``); the rule is documented in ``omr.paths``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from omr.paths import display_source, path_from, source_bytes
from omr.records import SheetFailure, SheetReading, Status

from ..keys import KeySet
from . import queries
from .engine import Database, dialect_insert, utcnow
from .essays import EssayPage, insert_essays
from .pages import add_flag, ensure_keyset, load_states, score_page, update_page_status, update_submission_status
from .tables import ESSAY, SYSTEM, flags, pages, runs, submissions
from .tasks import sync_tasks


@dataclass(frozen=True, slots=True)
class RecordResult:
    submission_id: int
    created: bool            # False: this content was already recorded (nothing was changed)
    source: str              # the path stored for it (the first one seen), openable (``omr.paths.path_from``)


def start_run(db: Database, args: dict[str, Any]) -> int:
    with db.write_tx("start a run") as conn:
        return int(conn.execute(sa.insert(runs).values(started_at=utcnow(), args=args)
                                .returning(runs.c.id)).scalar_one())


def finish_run(db: Database, run_id: int, counts: dict[str, Any] | None = None) -> None:
    counts = queries.counts(db) if counts is None else counts
    with db.write_tx("finish a run") as conn:
        conn.execute(sa.update(runs).where(runs.c.id == run_id).values(finished_at=utcnow(), counts=counts))


def known_hashes(db: Database) -> set[str]:
    """Content hashes of submissions fully recorded (each is one transaction): a resumed run skips them."""
    with db.read_tx("list recorded files") as conn:
        return set(conn.execute(sa.select(submissions.c.content_hash)).scalars())


def sources_by_hash(db: Database) -> dict[str, str]:
    """Content hash → the recorded file's path, as ``os`` gives it (so it compares with the paths found now)."""
    with db.read_tx("list recorded files") as conn:
        return {h: path_from(source, raw) for h, source, raw in conn.execute(
            sa.select(submissions.c.content_hash, submissions.c.source, submissions.c.source_raw))}


def record_submission(db: Database, source: str, content_hash: str, size: int,
                      results: Sequence[SheetReading | SheetFailure | EssayPage], keys: KeySet | None, *,
                      run_id: int | None = None, essay_regions: Sequence[str] = (),
                      unit: str | None = None) -> RecordResult:
    """Write a submission with its pages, flags, (when ``keys`` is given) scores and essays (pending OCR,
    grouped into judging tasks) in ONE transaction. ``essay_regions``: the layout's essay box ids,
    one essay per box on every answer-sheet page read; ``unit``: the unit that collected the file. Recording a
    ``content_hash`` that is already there changes nothing. ``source`` is the path as ``os`` gives it: stored
    as text by the rule of ``omr.paths`` (escaped, and its exact bytes in ``source_raw`` when not UTF-8)."""
    shown = display_source(source)
    if len(content_hash) != 64 or any(c not in "0123456789abcdef" for c in content_hash):
        raise ValueError(f"content_hash must be a lowercase sha256 hex digest, got {content_hash!r}")
    page_nos = [r.page or 0 for r in results]
    if len(set(page_nos)) != len(page_nos):
        raise ValueError(f"{shown}: page numbers repeat in the results: {page_nos}")
    for r in results:
        if not isinstance(r, (SheetReading, SheetFailure, EssayPage)):
            raise TypeError(f"results hold SheetReading/SheetFailure/EssayPage records, got {type(r).__name__}")
        if isinstance(r, EssayPage) and r.owner_page is not None and r.owner_page not in page_nos:
            raise ValueError(f"{shown}: essay page {r.page} belongs to page {r.owner_page}, not in the results")
    now = utcnow()
    with db.write_tx(f"record {shown}") as conn:
        ins = dialect_insert(conn, submissions).values(
            source=shown, source_raw=source_bytes(source), content_hash=content_hash, size=size,
            n_pages=len(results), status=Status.OK.value, first_seen=now, last_run=run_id, unit=unit,
        ).on_conflict_do_nothing(index_elements=["content_hash"]).returning(submissions.c.id)
        sid = conn.execute(ins).scalar()
        if sid is None:
            row = conn.execute(sa.select(submissions.c.id, submissions.c.source, submissions.c.source_raw)
                               .where(submissions.c.content_hash == content_hash)).one()
            return RecordResult(int(row.id), False, path_from(row.source, row.source_raw))
        page_ids = []
        for r in results:
            page_ids.append(_insert_page(conn, sid, r, now))
        insert_essays(conn, results, page_ids, tuple(essay_regions), now)
        digest = ensure_keyset(db, conn, keys, now) if keys is not None else None
        states = load_states(conn, page_ids)
        for pid in page_ids:
            st = states[pid]
            if keys is not None and digest is not None and not st.rejected and not st.essay:
                score_page(db, conn, st, keys, digest, SYSTEM, now)
            else:
                update_page_status(conn, st)
        update_submission_status(conn, [sid])
        sync_tasks(conn, now, submission_ids=[sid])
        return RecordResult(int(sid), True, source)


def _insert_page(conn: Connection, sid: int, r: SheetReading | SheetFailure | EssayPage, now: datetime) -> int:
    if isinstance(r, EssayPage):
        reading = {**r.reading.to_json(detail=True), "status": ESSAY, "essay": {"owner_page": r.owner_page},
                   "participant": r.participant}
        values = dict(status=ESSAY, reason_code=None, reason=None, layout=None, participant=r.participant,
                      version=None, reading=reading)
    elif isinstance(r, SheetFailure):
        values = dict(status=Status.REJECTED.value, reason_code=r.reason_code.value, reason=r.reason,
                      layout=None, participant=None, version=None, reading=r.to_json(detail=True))
    else:
        values = dict(status=r.status.value, reason_code=None, reason=None, layout=r.layout,
                      participant=r.participant, version=r.version, reading=r.to_json(detail=True))
    pid = int(conn.execute(sa.insert(pages).values(submission_id=sid, page_no=r.page or 0, read_at=now,
                                                   **values).returning(pages.c.id)).scalar_one())
    if isinstance(r, SheetReading) and r.status is Status.FLAGGED and not r.flags:
        add_flag(conn, pid, "page", None, "flagged", "the reader flagged this page without saying why; "
                 "look at the page", now)
    if isinstance(r, SheetReading) and r.flags:
        conn.execute(sa.insert(flags), [dict(
            page_id=pid, target=f.target, key=f.key, reason=f.reason, message=f.message,
            confidence=float(f.confidence), fills=list(f.values) if f.values else None, origin="reader",
            state="open", resolution=None, resolved_by=None, resolved_at=None) for f in r.flags])
    return pid
