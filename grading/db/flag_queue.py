"""The queries behind the judges' flag queue: open flags page by page, the next one, one flag with its page and
score. Flags on essay pages and judges' reports on essays (``grading.db.reports``) are the organisers' (admins see
them; judges never do, so essay judging stays blind)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .engine import Database as Store, fold
from .reports import JUDGE
from .tables import ESSAY, flags, pages, runs, scores, submissions

_OPEN_FROM = flags.join(pages, pages.c.id == flags.c.page_id).join(
    submissions, submissions.c.id == pages.c.submission_id)


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which open flags a viewer works on: all of them, or those of one unit, one reason, or whose file name
    holds some text (any case). Empty fields do not filter."""
    unit: str = ""
    reason: str = ""
    file: str = ""
    within: frozenset[str] | None = None     # a unit admin's collecting units (``grading.scope``); None: all

    def where(self, q: Any, *, admin: bool) -> Any:
        q = q.where(flags.c.state == "open")
        if not admin:
            q = q.where(pages.c.status != ESSAY, flags.c.origin != JUDGE)
        if self.within is not None:
            q = q.where(submissions.c.unit.in_(sorted(self.within)))
        if self.unit:
            q = q.where(submissions.c.unit == self.unit)
        if self.reason:
            q = q.where(flags.c.reason == self.reason)
        if self.file:
            q = q.where(fold(submissions.c.source).contains(self.file.casefold(), autoescape=True))
        return q


ALL = QueueFilter()


def open_flags(store: Store, offset: int, limit: int, *, admin: bool,
               only: QueueFilter = ALL) -> tuple[list[dict[str, Any]], int]:
    """One page of the open flags the viewer may see (``only`` those), oldest first, and how many there are in
    all. Each row has the run's inputs (``inputs``) so that its file can be shown relative to them."""
    q = (sa.select(flags.c.id, flags.c.target, flags.c.key, flags.c.reason, flags.c.confidence,
                   pages.c.id.label("page_id"), pages.c.page_no, pages.c.participant, pages.c.version,
                   submissions.c.source, submissions.c.unit, runs.c.args.label("run_args"))
         .select_from(_OPEN_FROM.outerjoin(runs, runs.c.id == submissions.c.last_run)).order_by(flags.c.id))
    n = sa.select(sa.func.count()).select_from(_OPEN_FROM)
    with store.read_tx("list open flags") as conn:
        total = conn.execute(only.where(n, admin=admin)).scalar()
        rows = [dict(r._mapping) for r in conn.execute(only.where(q, admin=admin).offset(offset).limit(limit))]
    for r in rows:
        r["inputs"] = list((r.pop("run_args") or {}).get("inputs") or [])
    return rows, int(total or 0)


def queue_choices(store: Store, *, admin: bool, within: frozenset[str] | None = None) -> tuple[list[str], list[str]]:
    """The units and the reasons that open flags the viewer may see have, sorted: what the filters offer."""
    mine = QueueFilter(within=within)
    with store.read_tx("list the flag queue's units and reasons") as conn:
        units = conn.execute(mine.where(sa.select(submissions.c.unit).select_from(_OPEN_FROM), admin=admin)
                             .where(submissions.c.unit.is_not(None)).distinct()).scalars().all()
        reasons = conn.execute(mine.where(sa.select(flags.c.reason).select_from(_OPEN_FROM), admin=admin)
                               .distinct()).scalars().all()
    return sorted(units), sorted(reasons)


def next_open_flag(store: Store, after: int, *, admin: bool, only: QueueFilter = ALL) -> int | None:
    """The first open flag the viewer may see (``only`` those) after ``after``, else the first one at all."""
    q = sa.select(sa.func.min(flags.c.id)).select_from(_OPEN_FROM)
    with store.read_tx("find the next flag") as conn:
        nxt = conn.execute(only.where(q, admin=admin).where(flags.c.id > after)).scalar()
        if nxt is None:
            nxt = conn.execute(only.where(q, admin=admin)).scalar()
    return nxt


def next_open_flags(store: Store, after: int, n: int) -> list[dict[str, Any]]:
    """The next ``n`` open flags after ``after`` (for drawing their pictures ahead)."""
    q = (sa.select(flags.c.id, flags.c.page_id, flags.c.target, flags.c.key, flags.c.fills, flags.c.reason,
                   flags.c.message)
         .where(flags.c.state == "open", flags.c.id > after).order_by(flags.c.id).limit(n))
    with store.read_tx("find the next flags") as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def flag_detail(store: Store, flag_id: int) -> dict[str, Any] | None:
    """A flag with its page, file and score, or ``None``."""
    q = (sa.select(flags, pages.c.page_no, pages.c.participant, pages.c.version, pages.c.status.label("page_status"),
                   submissions.c.source, submissions.c.unit, scores.c.total, scores.c.max_total,
                   scores.c.status.label("score_status"))
         .join(pages, pages.c.id == flags.c.page_id).join(submissions, submissions.c.id == pages.c.submission_id)
         .outerjoin(scores, scores.c.page_id == pages.c.id).where(flags.c.id == flag_id))
    with store.read_tx("read a flag") as conn:
        row = conn.execute(q).first()
    return None if row is None else dict(row._mapping)


def has_open_sheet_flag(store: Store, page_id: int) -> bool:
    """Whether an answer-sheet page (not an essay page) has an open flag a judge may see (not a judge's report)."""
    with store.read_tx("check a page has an open flag") as conn:
        return conn.execute(sa.select(flags.c.id).join(pages, pages.c.id == flags.c.page_id).where(
            flags.c.page_id == page_id, flags.c.state == "open", pages.c.status != ESSAY,
            flags.c.origin != JUDGE).limit(1)).first() is not None


def page_unit(store: Store, page_id: int) -> tuple[bool, str | None]:
    """(whether the page exists, the collecting unit of its file)."""
    with store.read_tx("read a page's unit") as conn:
        row = conn.execute(sa.select(submissions.c.unit).join(pages, pages.c.submission_id == submissions.c.id)
                           .where(pages.c.id == page_id)).first()
    return (False, None) if row is None else (True, row.unit)


def _question_where(q: Any, *, admin: bool, only: QueueFilter) -> Any:
    return only.where(q, admin=admin).where(flags.c.target == "question")


def grid_reasons(store: Store, *, admin: bool, only: QueueFilter = ALL) -> list[tuple[str, int]]:
    """The reasons of the open question flags the viewer may see (``only`` those: the reason filter is ignored),
    with how many flags each, sorted by reason: what the grid review offers."""
    only = QueueFilter(unit=only.unit, file=only.file, within=only.within)
    q = (sa.select(flags.c.reason, sa.func.count()).select_from(_OPEN_FROM).group_by(flags.c.reason)
         .order_by(flags.c.reason))
    with store.read_tx("list the grid's reasons") as conn:
        return [(r, int(n)) for r, n in conn.execute(_question_where(q, admin=admin, only=only))]


def grid_flags(store: Store, limit: int, *, admin: bool, only: QueueFilter) -> tuple[list[dict[str, Any]], int]:
    """The first ``limit`` open question flags the viewer may see (``only`` those), oldest first, each with its
    fills and the machine's reading of its question (``machine``: the marks read, ``""`` blank); and how many
    such flags are open in all."""
    q = (sa.select(flags.c.id, flags.c.key, flags.c.reason, flags.c.message, flags.c.confidence, flags.c.fills,
                   pages.c.id.label("page_id"), pages.c.page_no, pages.c.participant, pages.c.version,
                   pages.c.reading, submissions.c.source, submissions.c.unit)
         .select_from(_OPEN_FROM).order_by(flags.c.id).limit(limit))
    n = sa.select(sa.func.count()).select_from(_OPEN_FROM)
    with store.read_tx("list the grid's flags") as conn:
        total = conn.execute(_question_where(n, admin=admin, only=only)).scalar()
        rows = [dict(r._mapping) for r in conn.execute(_question_where(q, admin=admin, only=only))]
    for r in rows:
        r["machine"] = _machine_answer(r.pop("reading"), r["key"])
    return rows, int(total or 0)


def machine_answers(store: Store, flag_ids: list[int]) -> dict[int, str | None]:
    """The machine's reading of each question flag's question (``None``: not a question flag, or no reading)."""
    q = (sa.select(flags.c.id, flags.c.key, flags.c.target, pages.c.reading)
         .join(pages, pages.c.id == flags.c.page_id).where(flags.c.id.in_(flag_ids)))
    with store.read_tx("read the machine's answers") as conn:
        return {r.id: _machine_answer(r.reading, r.key) if r.target == "question" else None
                for r in conn.execute(q)}


def _machine_answer(reading: Any, key: str | None) -> str | None:
    answers = (reading or {}).get("answers") if isinstance(reading, dict) else None
    value = (answers or {}).get(key or "")
    return value if isinstance(value, str) else None


def decided_flags(store: Store, flag_ids: list[int], *, admin: bool,
                  within: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """Those of ``flag_ids`` that are no longer open, among the flags the viewer may see: id, who decided and
    the value (what a grid shows on a cell another judge decided meanwhile)."""
    q = (sa.select(flags.c.id, flags.c.resolved_by, flags.c.resolution).select_from(_OPEN_FROM)
         .where(flags.c.id.in_(flag_ids), flags.c.state != "open").order_by(flags.c.id))
    if not admin:
        q = q.where(pages.c.status != ESSAY, flags.c.origin != JUDGE)
    if within is not None:
        q = q.where(submissions.c.unit.in_(sorted(within)))
    with store.read_tx("read decided flags") as conn:
        return [{"id": r.id, "who": r.resolved_by or "?", "value": (r.resolution or {}).get("value", "")}
                for r in conn.execute(q)]
