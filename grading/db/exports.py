"""The reads behind the export's tables (``grading.reports.export``): every read page's answers and score by question,
the open flags per page, and the rejected files and pages (discarded pages: ``grading.db.discards``)."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from omr.records import Status

from ..score import ScoreStatus
from .engine import Database as Store
from .judging import collected_within
from .tables import DISCARDED, essay_tasks, flags, pages, scores, submissions


@dataclass(frozen=True, slots=True)
class Collected:
    """What some collecting units took in: their files' pages (ids) and the judging tasks of those files' essays
    (anonymous codes) — what a unit admin's export keeps."""
    page_ids: frozenset[int]
    task_codes: frozenset[str]


def collected_by(store: Store, within: Collection[str]) -> Collected:
    with store.read_tx("read what some units collected") as conn:
        ids = conn.execute(sa.select(pages.c.id).join(submissions, submissions.c.id == pages.c.submission_id)
                           .where(submissions.c.unit.in_(sorted(within)))).scalars()
        page_ids = frozenset(int(i) for i in ids)
        codes = frozenset(conn.execute(sa.select(essay_tasks.c.anon_code)
                                       .where(collected_within(essay_tasks, within))).scalars())
    return Collected(page_ids, codes)


@dataclass(frozen=True, slots=True)
class AnswerPage:
    id: int
    questions: dict[str, dict[str, str]] | None      # scores.questions (None: not scored)
    answers: dict[str, str]                          # the machine reading (used when there is no score)


def answer_pages(store: Store) -> tuple[dict[int, AnswerPage], dict[int, int]]:
    """Every page neither rejected nor discarded, by id, and the number of open flags per page id (pages with none
    left out), read in one transaction."""
    q = (sa.select(pages.c.id, pages.c.reading, scores.c.status, scores.c.questions)
         .outerjoin(scores, scores.c.page_id == pages.c.id)
         .where(pages.c.status.notin_([Status.REJECTED.value, DISCARDED])))
    with store.read_tx("read answers for the export") as conn:
        out = {r.id: AnswerPage(r.id, r.questions if r.status == ScoreStatus.SCORED.value else None,
                                dict((r.reading or {}).get("answers") or {})) for r in conn.execute(q)}
        open_flags = dict(conn.execute(sa.select(flags.c.page_id, sa.func.count())
                                       .where(flags.c.state == "open").group_by(flags.c.page_id)).all())
    return out, {int(k): int(v) for k, v in open_flags.items()}


def rejections(store: Store) -> list[dict[str, Any]]:
    """Every rejected page (page 0: the whole file) with its id, file, reason code and reason, by file then page."""
    q = (sa.select(pages.c.id.label("page_id"), submissions.c.source, pages.c.page_no, pages.c.reason_code,
                   pages.c.reason)
         .join(submissions, submissions.c.id == pages.c.submission_id)
         .where(pages.c.status == Status.REJECTED.value).order_by(submissions.c.id, pages.c.page_no))
    with store.read_tx("read rejections for the export") as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


@dataclass(frozen=True, slots=True)
class ScoredSheet:
    page_id: int
    participant: str | None
    version: str | None
    questions: dict[str, dict[str, str]]     # scores.questions: outcome, marked, points, max_points


def scored_sheets(store: Store) -> list[ScoredSheet]:
    """Every answer page read without open problems and scored (status ok), by page id: item analysis reads these."""
    q = (sa.select(pages.c.id, scores.c.participant, scores.c.version, scores.c.questions)
         .join(scores, scores.c.page_id == pages.c.id)
         .where(pages.c.status == Status.OK.value, scores.c.status == ScoreStatus.SCORED.value).order_by(pages.c.id))
    with store.read_tx("read scored sheets") as conn:
        return [ScoredSheet(r.id, r.participant, r.version, dict(r.questions or {})) for r in conn.execute(q)]
