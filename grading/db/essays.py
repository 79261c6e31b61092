"""Essays: pages that are not answer sheets and the essay boxes of sheets, their OCR, full-text search and
near-duplicate pairs.

A page that is not an answer sheet is an *essay page* (page status ``essay``, never ``rejected``) of the
participant of its submission's answer sheet; a submission with no answer sheet at all keeps its pages as essay
pages with no participant and an open ``unmatched_essay`` flag (target ``participant``: a judge resolving it with a
participant id assigns the pages). Each essay box of the layout on a sheet page is an essay *region*. Every essay
page or region is one ``essays`` row (OCR ``pending`` → ``done``/``failed``, with a random anonymous code such as
``BT-7K3Q9``). An essay's ``participant`` follows the effective participant of the page that owns it (a judge's
decision included); its judging task is ``grading.db.tasks``'.

Full-text search: an FTS5 table ``essays_fts`` kept in sync by triggers (SQLite); a generated ``tsv`` tsvector
column with a GIN index (PostgreSQL). ``duplicate_pairs`` holds near-duplicate essays, once per pair.
"""
from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from omr.paths import path_from
from omr.records import SheetFailure, SheetReading

from .engine import Database, dialect_insert, utcnow
from .pages import add_flag
from .tables import (DISCARDED, ESSAY, TYPED_ENGINE, UNMATCHED_ESSAY, duplicate_pairs, essay_tasks, essays, pages,
                     submissions)

ANON_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"   # no 0/O, 1/I: read aloud and typed without mistakes
ANON_PREFIX = "BT-"


@dataclass(frozen=True, slots=True)
class EssayPage:
    """A page of a submission that is not an answer sheet: recorded as an essay page (status ``essay``).

    ``owner_page``: the page number (in the same submission) whose participant this page takes — the answer
    sheet it belongs to, or for a submission without one the first essay page (``None`` on that first page:
    it gets the ``unmatched_essay`` flag and a judge assigns the participant)."""

    reading: SheetFailure            # what the reader said about the page (kept as its machine reading)
    owner_page: int | None
    text: str | None = None          # known already (a typed entry's essay part): stored done, no OCR
    participant: str | None = None   # known already without an owner page (a typed essay-only entry's entrant)

    @property
    def source(self) -> str:
        return self.reading.source

    @property
    def page(self) -> int | None:
        return self.reading.page

    @property
    def status(self) -> str:
        return ESSAY


@dataclass(frozen=True, slots=True)
class EssayCounts:
    pages: int               # essay pages
    no_participant: int      # essay pages without a participant (yet)
    regions: int             # essay regions of answer sheets
    pending: int
    done: int
    failed: int
    unreliable: int          # done, but the OCR's confidence is low (the text is kept for search)
    duplicate_pairs: int


@dataclass(frozen=True, slots=True)
class EssayToRead:
    """An essay waiting for OCR: where its page is, and what part of it (``region_id`` for an essay box)."""

    id: int
    source: str              # the path to open (``omr.paths.path_from``: exact bytes when not UTF-8)
    content_hash: str
    page_no: int
    kind: str                # page | region
    region_id: str | None


def new_anon_codes(conn: Connection, n: int, avoid: set[str]) -> list[str]:
    """``n`` random codes like ``BT-7K3Q9`` not yet used and containing none of ``avoid`` (participant ids)."""
    out: list[str] = []
    # an id longer than the random part can only be inside a code by starting within the prefix
    starts = tuple(ANON_PREFIX[i:] for i in range(len(ANON_PREFIX)))
    avoid = {p.upper() for p in avoid if p and (len(p) <= 5 or p.upper().startswith(starts))}
    while len(out) < n:
        cand = {ANON_PREFIX + "".join(secrets.choice(ANON_ALPHABET) for _ in range(5)) for _ in range(n - len(out))}
        cand -= set(out)
        cand = {c for c in cand if not any(p in c for p in avoid)}
        taken = set(conn.execute(sa.select(essays.c.anon_code).where(essays.c.anon_code.in_(cand))).scalars())
        taken |= set(conn.execute(sa.select(essay_tasks.c.anon_code).where(essay_tasks.c.anon_code.in_(cand)))
                     .scalars())
        fresh = list(cand - taken)
        secrets.SystemRandom().shuffle(fresh)
        out.extend(fresh)
    return out


def insert_essays(conn: Connection, results: Sequence[SheetReading | SheetFailure | EssayPage],
                  page_ids: Sequence[int], regions: tuple[str, ...], now: datetime) -> None:
    """One essay (pending OCR) per essay page and per essay box of every sheet page (their judging tasks are
    made by ``sync_tasks``); the ``unmatched_essay`` flag on the first page of a submission with no answer sheet."""
    pid_by_no = {(r.page or 0): pid for r, pid in zip(results, page_ids)}
    n_essay_pages = sum(1 for r in results if isinstance(r, EssayPage))
    rows: list[dict[str, Any]] = []
    for r, pid in zip(results, page_ids):
        if isinstance(r, EssayPage):
            rows.append(dict(page_id=pid, kind="page", region_id=None,
                             owner_page_id=None if r.owner_page is None else pid_by_no[r.owner_page],
                             **({} if r.text is None else _known_text(r.text, now))))
            if r.owner_page is None and r.participant is None:
                add_flag(conn, pid, "participant", None, UNMATCHED_ESSAY,
                         f"no answer sheet in this submission: its {n_essay_pages} page(s) are essays without a "
                         "participant; assign one (resolve this flag with the participant id)", now)
        elif isinstance(r, SheetReading):
            rows.extend(dict(page_id=pid, kind="region", region_id=region, owner_page_id=pid) for region in regions)
    if not rows:
        return
    avoid = {r.participant for r in results if isinstance(r, SheetReading) and r.participant}
    for row, code in zip(rows, new_anon_codes(conn, len(rows), avoid)):
        conn.execute(sa.insert(essays).values(**{"ocr_state": "pending", **row}, participant=None, anon_code=code,
                                              created_at=now))


def _known_text(text: str, now: datetime) -> dict[str, Any]:
    """An essay whose text is known when it is recorded (a typed document's essay part): done, from a text
    layer, never sent to OCR."""
    from ..essays.duplicates import strip_diacritics

    return dict(ocr_state="done", text=text, text_plain=strip_diacritics(text), mean_conf=100.0, reliable=True,
                engine=TYPED_ENGINE, source="text_layer", warnings=[], seconds=0.0, ocr_at=now)


def essays_to_ocr(db: Database, *, retry_failed: bool = False) -> list[EssayToRead]:
    """Essays whose OCR is pending (and failed ones with ``retry_failed``), by source and page; none of a discarded
    page."""
    states = ["pending", "failed"] if retry_failed else ["pending"]
    q = (sa.select(essays.c.id, essays.c.kind, essays.c.region_id, pages.c.page_no, submissions.c.source,
                   submissions.c.source_raw, submissions.c.content_hash)
         .join(pages, pages.c.id == essays.c.page_id).join(submissions, submissions.c.id == pages.c.submission_id)
         .where(essays.c.ocr_state.in_(states), pages.c.status != DISCARDED)
         .order_by(submissions.c.id, pages.c.page_no, essays.c.id))
    with db.read_tx("list the essays to read") as conn:
        return [EssayToRead(r.id, path_from(r.source, r.source_raw), r.content_hash, r.page_no, r.kind,
                            r.region_id)
                for r in conn.execute(q)]


def save_ocr(db: Database, essay_id: int, result: Any) -> bool:
    """Store an OCR result (``omr.ocr.OcrResult``): text, its diacritic-free twin, confidence, engine.
    Only an essay not yet done is written (a re-run never writes twice); returns whether it was."""
    from ..essays.duplicates import strip_diacritics

    text = result.text or ""
    values = dict(ocr_state="done", text=text, text_plain=strip_diacritics(text),
                  mean_conf=float(result.mean_conf), reliable=bool(result.reliable), engine=result.engine,
                  source=result.source, warnings=list(result.warnings), seconds=float(result.seconds),
                  ocr_at=utcnow())
    with db.write_tx(f"store the text of essay {essay_id}") as conn:
        n = conn.execute(sa.update(essays).where(essays.c.id == essay_id, essays.c.ocr_state != "done")
                         .values(**values)).rowcount
    return n == 1


def fail_ocr(db: Database, essay_id: int, reason: str) -> bool:
    """Mark a pending essay's OCR failed, with the reason (kept in ``warnings``)."""
    with db.write_tx(f"mark essay {essay_id} failed") as conn:
        n = conn.execute(sa.update(essays).where(essays.c.id == essay_id, essays.c.ocr_state != "done")
                         .values(ocr_state="failed", warnings=[reason], ocr_at=utcnow())).rowcount
    return n == 1


def essay_counts(db: Database) -> EssayCounts:
    """Essay pages, boxes and their OCR; essays of discarded pages are not counted."""
    kept = essays.join(pages, pages.c.id == essays.c.page_id)
    live = pages.c.status != DISCARDED
    with db.read_tx("count essays") as conn:
        ep = conn.execute(sa.select(sa.func.count(), sa.func.count(pages.c.participant))
                          .where(pages.c.status == ESSAY)).one()
        by = Counter(dict(conn.execute(sa.select(essays.c.ocr_state, sa.func.count()).select_from(kept).where(live)
                                       .group_by(essays.c.ocr_state)).all()))
        regions = conn.execute(sa.select(sa.func.count()).select_from(kept)
                               .where(essays.c.kind == "region", live)).scalar_one()
        unreliable = conn.execute(sa.select(sa.func.count()).select_from(kept).where(
            essays.c.ocr_state == "done", essays.c.reliable.is_(False), live)).scalar_one()
        dups = conn.execute(sa.select(sa.func.count()).select_from(duplicate_pairs)).scalar_one()
    return EssayCounts(pages=int(ep[0]), no_participant=int(ep[0] - ep[1]), regions=int(regions),
                       pending=int(by["pending"]), done=int(by["done"]), failed=int(by["failed"]),
                       unreliable=int(unreliable), duplicate_pairs=int(dups))


def essay_texts(db: Database) -> list[tuple[int, str, str]]:
    """(essay id, anon code, text) of every essay read, in id order (none of a discarded page)."""
    with db.read_tx("read the essays' texts") as conn:
        return [(int(r.id), r.anon_code, r.text or "") for r in conn.execute(
            sa.select(essays.c.id, essays.c.anon_code, essays.c.text).join(pages, pages.c.id == essays.c.page_id)
            .where(essays.c.ocr_state == "done", pages.c.status != DISCARDED).order_by(essays.c.id))]


def record_duplicate_pairs(db: Database, pairs: Sequence[tuple[int, int, float, float, list[dict[str, Any]]]]) -> int:
    """Store near-duplicate pairs ``(essay a, essay b, similarity, containment, passages)`` with a < b; a pair
    already stored keeps its row (and ``found_at``) with the new figures. Returns how many are new."""
    now = utcnow()
    new = 0
    with db.write_tx("store duplicate essays") as conn:
        for a, b, sim, cont, passages in pairs:
            if not a < b:
                raise ValueError(f"duplicate pair ({a}, {b}): the first essay id must be the smaller")
            ins = dialect_insert(conn, duplicate_pairs).values(essay_a=a, essay_b=b, similarity=float(sim),
                                                        containment=float(cont), passages=passages, found_at=now)
            ins = ins.on_conflict_do_nothing(index_elements=["essay_a", "essay_b"]).returning(duplicate_pairs.c.id)
            if conn.execute(ins).scalar() is not None:
                new += 1
            else:
                conn.execute(sa.update(duplicate_pairs).where(duplicate_pairs.c.essay_a == a,
                                                              duplicate_pairs.c.essay_b == b)
                             .values(similarity=float(sim), containment=float(cont), passages=passages))
    return new


def search_essays(db: Database, query: str, *, plain: bool = False, limit: int = 50) -> list[dict[str, Any]]:
    """Essays that match ``query`` (``grading.essays.query``: every word, "phrases in quotes", OR) in the full-text
    index (``plain``: compared without diacritics). Best first; each row: id, anon_code, participant, text,
    ocr_state, reliable."""
    from ..essays.query import fts5, parse_query, tsquery

    q = parse_query(query, plain=plain)
    cols = (essays.c.id, essays.c.anon_code, essays.c.participant, essays.c.text, essays.c.ocr_state,
            essays.c.reliable)
    with db.read_tx("search the essays") as conn:
        if conn.dialect.name == "postgresql":
            tsq = sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), tsquery(q, "B" if plain else "A"))
            tsv = sa.literal_column("essays.tsv")
            rows = conn.execute(sa.select(*cols).where(tsv.op("@@")(tsq))
                                .order_by(sa.func.ts_rank(tsv, tsq).desc(), essays.c.id).limit(limit))
        else:
            fts = sa.table("essays_fts", sa.column("rowid"), sa.column("rank"))
            rows = conn.execute(sa.select(*cols).join(fts, fts.c.rowid == essays.c.id)
                                .where(sa.text("essays_fts MATCH :m").bindparams(
                                    m=fts5(q, "text_plain" if plain else "text")))
                                .order_by(fts.c.rank, essays.c.id).limit(limit))
        return [dict(r._mapping) for r in rows]
