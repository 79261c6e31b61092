"""The counts behind the progress page (``grading.reports.progress``): pages per unit, decisions per person.

A page's unit here is the unit that collected its file (``submissions.unit``); pages of files recorded without a
unit are grouped per participant instead, for ``grading.reports.progress`` to fold into their roster units.
Everything is counted by the database, in one ``GROUP BY`` per question asked."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from omr.records import Status

from ..score import ScoreStatus
from .engine import Database as Store
from .tables import DISCARDED, ESSAY, audit, flags, pages, scores, submissions

RESOLVE_FLAG = "resolve_flag"     # the audit action of a judge's decision on a flag


@dataclass(frozen=True, slots=True)
class UnitGroup:
    """The pages of one unit (``participant`` ``None``), or of one participant's files recorded without a unit
    (``unit`` ``None``; ``participant`` ``None`` too for pages without one)."""
    unit: str | None
    participant: str | None
    files: int               # files whose first page is in the group
    pages: int               # answer pages (essay and discarded pages not counted)
    graded: int              # answer pages ok and scored
    flagged: int             # answer pages waiting for a judge
    rejected: int            # pages that could not be read
    open_flags: int          # open flags on the group's pages (essay pages included)


def _count_if(cond: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)


def unit_groups(store: Store) -> list[UnitGroup]:
    """The store's pages counted per unit, and per participant where the file has no unit (unordered)."""
    open_by_page = (sa.select(flags.c.page_id, sa.func.count().label("n")).where(flags.c.state == "open")
                    .group_by(flags.c.page_id).subquery())
    # the participant matters only where the file has no unit: otherwise the group is the unit alone
    who = sa.case((submissions.c.unit.is_(None), pages.c.participant), else_=sa.null())
    q = (sa.select(submissions.c.unit, who.label("participant"),
                   _count_if(pages.c.page_no <= 1),        # a file's first page (0: the whole file failed)
                   _count_if(pages.c.status.notin_([ESSAY, DISCARDED])),
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
        return [UnitGroup(unit, participant, *(int(n) for n in numbers))
                for unit, participant, *numbers in conn.execute(q).all()]


def decisions_per_person(store: Store) -> list[tuple[str, int, datetime | str]]:
    """(who, how many flags they resolved, the time of the latest) from the audit log, unordered. The time is
    as the database returns it (SQLite: without its time zone, which is UTC)."""
    q = (sa.select(audit.c.who, sa.func.count(), sa.func.max(audit.c.at))
         .where(audit.c.action == RESOLVE_FLAG).group_by(audit.c.who))
    with store.read_tx("count decisions per judge") as conn:
        return [(who, int(n), last) for who, n, last in conn.execute(q)]
