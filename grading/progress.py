"""How far the grading has come, per unit and per judge (the admin page). Read-only queries over the store's tables.

A page's *unit* is the unit that collected its file (``submissions.unit``, set by ``omr grade --unit``), else the
roster unit of the page's participant, else ``UNKNOWN_UNIT``; a file counts for the unit of its first page.
Everything is counted by the database (one ``GROUP BY``); only the groups of files recorded without a unit — one
per participant — are folded into their roster units here.

A judge's decisions are the ``resolve_flag`` rows of the audit log (who, when), so decisions made with
``omr resolve --who NAME`` count as well.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timezone

import sqlalchemy as sa

from omr.records import Status

from .score import ScoreStatus
from .store import ESSAY, Store, audit, flags, pages, scores, submissions

UNKNOWN_UNIT = "(chưa rõ đơn vị)"


@dataclass(slots=True)
class UnitProgress:
    unit: str
    files: int = 0           # files (submissions) whose first page is of this unit
    pages: int = 0           # answer pages (essay pages not counted)
    graded: int = 0          # answer pages done: ok and scored
    flagged: int = 0         # answer pages waiting for a judge
    rejected: int = 0        # pages that could not be read
    open_flags: int = 0      # open flags on the unit's pages (essay pages included)

    def add(self, other: UnitProgress) -> None:
        for f in fields(self):
            if f.name != "unit":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(frozen=True, slots=True)
class JudgeActivity:
    who: str
    decisions: int           # flags resolved (audit rows ``resolve_flag``)
    last: datetime           # the latest decision (UTC)


def _count_if(cond: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)


def unit_progress(store: Store, unit_of: Mapping[str, str] | None = None) -> list[UnitProgress]:
    """One row per unit (by name, ``UNKNOWN_UNIT`` last). ``unit_of``: participant id → roster unit."""
    unit_of = unit_of or {}
    open_by_page = (sa.select(flags.c.page_id, sa.func.count().label("n")).where(flags.c.state == "open")
                    .group_by(flags.c.page_id).subquery())
    # the participant matters only where the file has no unit: otherwise the group is the unit alone
    who = sa.case((submissions.c.unit.is_(None), pages.c.participant), else_=sa.null())
    q = (sa.select(submissions.c.unit, who.label("participant"),
                   _count_if(pages.c.page_no <= 1),        # a file's first page (0: the whole file failed)
                   _count_if(pages.c.status != ESSAY),
                   _count_if(sa.and_(pages.c.status == Status.OK.value,
                                     scores.c.status == ScoreStatus.SCORED.value)),
                   _count_if(pages.c.status == Status.FLAGGED.value),
                   _count_if(pages.c.status == Status.REJECTED.value),
                   sa.func.coalesce(sa.func.sum(open_by_page.c.n), 0))
         .select_from(pages.join(submissions, submissions.c.id == pages.c.submission_id)
                      .outerjoin(scores, scores.c.page_id == pages.c.id)
                      .outerjoin(open_by_page, open_by_page.c.page_id == pages.c.id))
         .group_by(submissions.c.unit, who))
    with store.read_tx("count progress per unit") as conn:
        groups = conn.execute(q).all()
    out: dict[str, UnitProgress] = {}
    for unit, participant, *numbers in groups:
        name = unit or (unit_of.get(participant) if participant else None) or UNKNOWN_UNIT
        out.setdefault(name, UnitProgress(name)).add(UnitProgress(name, *(int(n) for n in numbers)))
    return sorted(out.values(), key=lambda u: (u.unit == UNKNOWN_UNIT, u.unit.casefold()))


def total(rows: list[UnitProgress]) -> UnitProgress:
    t = UnitProgress("Tổng")
    for r in rows:
        t.add(r)
    return t


def judge_activity(store: Store) -> dict[str, JudgeActivity]:
    """Decisions per person (``who`` of the audit log) and the time of the latest one."""
    q = (sa.select(audit.c.who, sa.func.count(), sa.func.max(audit.c.at))
         .where(audit.c.action == "resolve_flag").group_by(audit.c.who))
    with store.read_tx("count decisions per judge") as conn:
        return {who: JudgeActivity(who, int(n), _utc(last)) for who, n, last in conn.execute(q)}


def _utc(t: datetime | str) -> datetime:
    if isinstance(t, str):              # SQLite without the column's type (never with func.max, kept safe)
        t = datetime.fromisoformat(t)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
