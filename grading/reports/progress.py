"""How far the grading has come, per unit and per judge (the admin page), from the counts of ``grading.db.progress``.

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

from ..db.progress import decisions_per_person, unit_groups
from ..store import Store

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


def unit_progress(store: Store, unit_of: Mapping[str, str] | None = None) -> list[UnitProgress]:
    """One row per unit (by name, ``UNKNOWN_UNIT`` last). ``unit_of``: participant id → roster unit."""
    unit_of = unit_of or {}
    out: dict[str, UnitProgress] = {}
    for g in unit_groups(store):
        name = g.unit or (unit_of.get(g.participant) if g.participant else None) or UNKNOWN_UNIT
        out.setdefault(name, UnitProgress(name)).add(UnitProgress(name, g.files, g.pages, g.graded, g.flagged,
                                                                  g.rejected, g.open_flags))
    return sorted(out.values(), key=lambda u: (u.unit == UNKNOWN_UNIT, u.unit.casefold()))


def total(rows: list[UnitProgress]) -> UnitProgress:
    t = UnitProgress("Tổng")
    for r in rows:
        t.add(r)
    return t


def judge_activity(store: Store) -> dict[str, JudgeActivity]:
    """Decisions per person (``who`` of the audit log) and the time of the latest one."""
    return {who: JudgeActivity(who, n, _utc(last)) for who, n, last in decisions_per_person(store)}


def _utc(t: datetime | str) -> datetime:
    if isinstance(t, str):              # SQLite without the column's type (never with func.max, kept safe)
        t = datetime.fromisoformat(t)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
