"""What pictures are drawn from (``grading.reports.annotate``, ``grading.webapp.images``): the graded answer pages with
their score, key set and open flags, and where an essay page or an essay box's page is.

Paths come back openable (``omr.paths.path_from`` of the stored name and bytes)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from omr.paths import path_from
from omr.records import Status

from ..keys import KeySet
from .engine import Database as Store
from .engine import chunks
from .pages import keyset
from .tables import DISCARDED, ESSAY, TYPED_ENGINE, essays, flags, pages, scores, submissions


@dataclass(frozen=True, slots=True)
class GradedPage:
    page_id: int
    source: str                              # the path to open
    page_no: int
    participant: str | None
    version: str | None
    questions: dict[str, dict[str, Any]]     # the score's questions ({}: not scored)
    keys: KeySet | None                      # the key set the page was scored with
    open_flags: tuple[tuple[str, str | None], ...]   # (target, key)


@dataclass(frozen=True, slots=True)
class ScanPage:
    source: str              # the path to open
    page_no: int
    text: str | None = None  # a typed entry's essay part: its text is the page (the document is never shown)


@dataclass(frozen=True, slots=True)
class EssayScan:
    kind: str                # page | region
    region_id: str | None    # the layout's essay box (kind region)
    scan: ScanPage


def _json(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


def graded_pages(store: Store, *, participant: str | None = None, page_id: int | None = None) -> list[GradedPage]:
    """Every read answer page (not rejected, discarded or an essay page, not a whole-file failure) — or one
    participant's, or one page — by participant, file and page, with its current score, key set and open flags."""
    q = (sa.select(pages.c.id, submissions.c.source, submissions.c.source_raw, pages.c.page_no,
                   pages.c.participant, pages.c.version, scores.c.questions, scores.c.key_digest)
         .select_from(pages.join(submissions, pages.c.submission_id == submissions.c.id)
                      .outerjoin(scores, scores.c.page_id == pages.c.id))
         .where(pages.c.status.notin_([Status.REJECTED.value, ESSAY, DISCARDED]), pages.c.page_no > 0)
         .order_by(pages.c.participant, submissions.c.source, pages.c.page_no))
    if participant is not None:
        q = q.where(pages.c.participant == participant)
    if page_id is not None:
        q = q.where(pages.c.id == page_id)
    with store.read_tx("reading pages to annotate") as conn:
        rows = conn.execute(q).all()
        keysets_by = {d: keyset(store, conn, d) for d in {r.key_digest for r in rows if r.key_digest}}
        open_flags: dict[int, list[tuple[str, str | None]]] = {}
        fq = sa.select(flags.c.page_id, flags.c.target, flags.c.key).where(flags.c.state == "open")
        # one page or one participant (a judge's crop): only their flags, not every open flag of the contest
        scopes = [fq.where(flags.c.page_id.in_(ids)) for ids in chunks([r.id for r in rows])] \
            if participant is not None or page_id is not None else [fq]
        for q_flags in scopes:
            for f in conn.execute(q_flags):
                open_flags.setdefault(f.page_id, []).append((f.target, f.key))
    return [GradedPage(r.id, path_from(r.source, r.source_raw), r.page_no, r.participant, r.version,
                       _json(r.questions) if r.questions is not None else {},
                       keysets_by.get(r.key_digest) if r.key_digest else None, tuple(open_flags.get(r.id, ())))
            for r in rows]


def essay_page_scan(store: Store, page_id: int) -> ScanPage | None:
    """Where the essay page ``page_id`` is — or the discarded page, shown as stored to the organisers — or
    ``None`` when that page is neither."""
    with store.read_tx("find an essay page") as conn:
        row = conn.execute(sa.select(pages.c.page_no, submissions.c.source, submissions.c.source_raw,
                                     essays.c.text, essays.c.engine)
                           .join(submissions, submissions.c.id == pages.c.submission_id)
                           .join(essays, sa.and_(essays.c.page_id == pages.c.id, essays.c.kind == "page"),
                                 isouter=True)
                           .where(pages.c.id == page_id, pages.c.status.in_([ESSAY, DISCARDED]),
                                  pages.c.page_no > 0)).first()
    return None if row is None else ScanPage(path_from(row.source, row.source_raw), row.page_no, _typed(row))


def essay_scan(store: Store, essay_id: int) -> EssayScan | None:
    """The essay's kind and box, and where its page is; ``None`` when there is no such essay."""
    with store.read_tx("find an essay") as conn:
        row = conn.execute(sa.select(essays.c.kind, essays.c.region_id, pages.c.page_no, submissions.c.source,
                                     submissions.c.source_raw, essays.c.text, essays.c.engine)
                           .join(pages, pages.c.id == essays.c.page_id)
                           .join(submissions, submissions.c.id == pages.c.submission_id)
                           .where(essays.c.id == essay_id)).first()
    if row is None:
        return None
    return EssayScan(row.kind, row.region_id, ScanPage(path_from(row.source, row.source_raw), row.page_no,
                                                       _typed(row)))


def _typed(row: Any) -> str | None:
    """The essay's text when it came from a typed document (``engine`` ``document``), else None."""
    return (row.text or "") if row.engine == TYPED_ENGINE else None


def typed_evidence(store: Store, page_id: int) -> dict[str, str] | None:
    """A typed entry's answers page: question id → the text each answer came from; ``None`` for any other page
    (a scan)."""
    with store.read_tx("read a page") as conn:
        reading = conn.execute(sa.select(pages.c.reading).where(pages.c.id == page_id)).scalar()
    reading = _json(reading) if reading is not None else None
    if not isinstance(reading, dict) or not isinstance(reading.get("evidence"), dict):
        return None
    return {str(k): str(v) for k, v in reading["evidence"].items()}
