"""Answer-key rules beyond one choice per question: groups scored by how many of their questions are right
(the national exam's Phần II) and numeric answers (Phần III).

In ``keys.json``::

    "group_points_by_count": {"1": "0.1", "2": "0.25", "3": "0.5", "4": 1},   # the default table
    "groups": [
      {"name": "II.1", "questions": ["II.1a", "II.1b", "II.1c", "II.1d"]},  # uses the default table
      {"name": "II.2", "questions": [...], "points_by_count": {...}}       # or its own
    ],
    "versions": {"0101": {"questions": {"III.2": "-1,5", "III.3": ["0,5", "1/2"]}}}

A group's questions score nothing on their own (their points and penalty are 0); the group scores the
table's points for the number of its questions answered right (a count missing from the table scores 0).
A numeric answer is right when it is the same number as an accepted one: "-1,50" equals "-1,5" and "05"
equals "5" (compared as exact decimals, comma or point); anything that is not a number never matches.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

_NUMBER = re.compile(r"-?(\d+([.,]\d*)?|[.,]\d+)")
_GROUP_KEYS = frozenset({"name", "questions", "points_by_count"})


@dataclass(frozen=True, slots=True)
class ScoreGroup:
    name: str                                  # the group's id in scores ("II.1")
    questions: tuple[str, ...]
    by_count: tuple[Fraction, ...]             # points for 0, 1, … len(questions) right

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "questions": list(self.questions), "by_count": [str(v) for v in self.by_count]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ScoreGroup:
        return cls(d["name"], tuple(d["questions"]), tuple(Fraction(v) for v in d["by_count"]))


def number_value(text: str) -> Decimal | None:
    """The exact value of a written number ("-1,5" → -1.5), or ``None`` when it is not one."""
    t = text.strip()
    if not _NUMBER.fullmatch(t):
        return None
    try:
        return Decimal(t.replace(",", "."))
    except InvalidOperation:
        return None


def same_number(written: str, accepted: tuple[str, ...]) -> bool:
    v = number_value(written)
    return v is not None and any(number_value(a) == v for a in accepted)


def parse_numbers(p: Any, raw: Any, path: str) -> tuple[str, ...]:
    """Accepted numbers: a string ("-1,5") or a list of them; each must be a number."""
    alts = raw if isinstance(raw, list) else [raw]
    out = []
    for j, a in enumerate(alts):
        where = f"{path}[{j}]" if isinstance(raw, list) else path
        if not isinstance(a, str) or number_value(a) is None:
            p.add(where, f"must be a number written as on the sheet, such as \"-1,5\", got {a!r}")
            continue
        out.append(a.strip())
    if isinstance(raw, list) and not raw:
        p.add(path, "an empty list; give at least one accepted number")
    return tuple(out)


def parse_groups(p: Any, raw: dict, known: dict[str, int]) -> tuple[ScoreGroup, ...]:
    """``groups`` (and the default ``group_points_by_count``): each question in at most one group."""
    groups_raw = raw.get("groups", [])
    if not isinstance(groups_raw, list):
        p.add("groups", "must be a list of {\"name\": ..., \"questions\": [...]}")
        return ()
    default = raw.get("group_points_by_count")
    out: list[ScoreGroup] = []
    seen: dict[str, str] = {}
    for i, g in enumerate(groups_raw):
        path = f"groups[{i}]"
        if not isinstance(g, dict):
            p.add(path, "must be an object with name and questions")
            continue
        p.unknown(g, _GROUP_KEYS, path)
        name = g.get("name")
        qs = g.get("questions")
        if not isinstance(name, str) or not name.strip():
            p.add(f"{path}.name", f"must be a non-empty string, got {name!r}")
            continue
        if not isinstance(qs, list) or not qs or not all(isinstance(q, str) for q in qs):
            p.add(f"{path}.questions", "must be a non-empty list of question ids")
            continue
        for q in qs:
            if q not in known:
                p.add(f"{path}.questions", f"question {q!r} is not on the layout")
            elif q in seen:
                p.add(f"{path}.questions", f"question {q!r} is already in group {seen[q]!r}")
            seen[q] = name
        table = g.get("points_by_count", default)
        out.append(ScoreGroup(name, tuple(qs), _table(p, table, f"{path}.points_by_count", len(qs))))
    names = [g.name for g in out]
    clash = {n for n in names if names.count(n) > 1 or n in known}
    if clash:
        p.add("groups", f"group name(s) {', '.join(sorted(clash))} repeat or name a question")
    return tuple(out)


def _table(p: Any, raw: Any, path: str, n: int) -> tuple[Fraction, ...]:
    if not isinstance(raw, dict):
        p.add(path, "missing: an object {\"<number right>\": points}, here or as group_points_by_count")
        return (Fraction(0),) * (n + 1)
    out = [Fraction(0)] * (n + 1)
    for k, v in raw.items():
        if not (isinstance(k, str) and k.isdigit() and int(k) <= n):
            p.add(f"{path}.{k}", f"must be a count of questions right, 0..{n}")
            continue
        out[int(k)] = p.fraction({"v": v}, "v", f"{path}.{k}", Fraction(0))
    return tuple(out)
