"""Who may judge a contest round's essays (``rules.json``: each round's ``judges``, ``unit`` or ``city``).

* a round judged by ``city`` judges: its tasks go to city judges only — accounts whose unit is ``city`` (also
  ``thành phố``), the same marker that makes a city admin (``grading.scope``);
* a round judged by ``unit`` judges: a task goes only to judges of the entry's unit in that round (the district
  or department the round entry belongs to) or of a unit below it in ``units.csv``; never to city judges;
* whatever the round, judges of the entry's own unit never get it (``grading.essays.judging``);
* a round the rules do not name (the rules changed after it opened) goes to nobody;
* tasks outside any round (a contest without rounds) are not restricted here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omr.errors import InputError
from omr.table import fold_header

from .scope import CITY_MARKERS
from .units import Units

# ``grading.rules.Level``'s values: the rules module is not imported here, as it imports the essays package,
# which hands out tasks by these rules
CITY, UNIT = "city", "unit"


@dataclass(frozen=True, slots=True)
class RoundAccess:
    """What one judge may take: every task of the rounds ``anywhere``; a task of the rounds ``unit_rounds`` only
    when its round entry's unit is one of ``scopes`` (his unit's code and the codes above it)."""
    anywhere: frozenset[str]
    unit_rounds: frozenset[str]
    scopes: frozenset[str]

    def allows(self, round_name: str | None, entry_unit: str | None) -> bool:
        if round_name is None:
            return True
        return round_name in self.anywhere or (round_name in self.unit_rounds and (entry_unit or "") in self.scopes)


@dataclass(frozen=True, slots=True)
class RoundJudging:
    rules: Any                # grading.rules.Rules
    units: Units | None

    def access(self, judge_unit: str) -> RoundAccess:
        city = fold_header(judge_unit) in CITY_MARKERS
        anywhere = frozenset(r.name for r in self.rules.rounds if r.judges.value == CITY and city)
        unit_rounds = frozenset(r.name for r in self.rules.rounds if r.judges.value == UNIT and not city)
        return RoundAccess(anywhere, unit_rounds, frozenset() if city else self._scopes(judge_unit))

    def _scopes(self, judge_unit: str) -> frozenset[str]:
        """The judge's unit code and every code above it (without a units file: his unit as written)."""
        if self.units is None:
            return frozenset({judge_unit.strip()})
        try:
            unit = self.units.find(judge_unit)
        except InputError:
            return frozenset()              # a unit nobody can place judges no unit round
        by_code, out = self.units.by_code(), []
        while unit.code not in out:
            out.append(unit.code)
            if not unit.parent or unit.parent not in by_code:
                break
            unit = by_code[unit.parent]
        return frozenset(out)
