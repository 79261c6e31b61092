"""The contest's rules as data (``rules.json`` in the contest folder): how the total is made, how ties are broken,
the rounds from the units to the city and who goes on, the prize bands, and the collective-prize formula.

``rules.json``::

    {"total": {"mc_weight": 1, "essay_weight": 1},
     "tie_breaks": ["essay_score", "earlier_receipt"],
     "rounds": [
       {"name": "so-khao-huyen", "title": "Sơ khảo cấp huyện", "level": "unit", "advance": {"top": 100, "per": "unit"}},
       {"name": "chung-khao", "title": "Chung khảo", "level": "city"}],
     "prizes": {"individual": [{"band": "nhat", "title": "Giải Nhất", "count": 3}, …],
                "collective": [{"band": "nhat", "title": "Giải Nhất tập thể", "count": 3}, …]},
     "collective": {"participation": 60, "finalists": 1, "mean_final_score": 1}}

* ``total``: a participant's score is ``mc_weight`` × the multiple-choice points + ``essay_weight`` × the essay
  score (weights are numbers or exact text: ``0.5``, ``"1/2"``, ``"0,5"``); in a round, the essay score is that
  round's.
* ``tie_breaks``: from a fixed menu (``TieBreak``), in order; entries still equal on the score and every
  tie-break share a rank, and a cut or a prize band that falls between them is a flag for the committee.
* ``rounds``: in order; ``level`` ``unit`` (each unit closes its own round: ``omr round close NAME --unit U``) or
  ``city``; ``judges`` (``unit`` or ``city``, default the level) says whose judges score it; ``advance`` (every
  round but the last) is ``{"top": N, "per": "unit"}``, ``{"top": N}`` or ``{"min_score": X}``. Unit rounds come
  before city rounds. The last round is the final: the individual prizes go by its score.
* ``prizes``: the bands in order, each with a ``count``.
* ``collective``: a weighted sum over named measures of each unit (``Measure``) — data, not a formula language.

``load_rules`` raises ``LayoutError`` (exit 5) listing every problem with its path; ``None`` when there is no file.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from omr.errors import LayoutError
from omr.layout import read_json_document

from .essays.rubric import parse_points

RULES = "rules.json"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class TieBreak(enum.Enum):
    ESSAY_SCORE = "essay_score"            # the higher essay score first
    MC_POINTS = "mc_points"                # the higher multiple-choice points first
    EARLIER_RECEIPT = "earlier_receipt"    # the entry received first (the server's clock) first


class Level(enum.Enum):
    UNIT = "unit"
    CITY = "city"


class Measure(enum.Enum):
    PARTICIPATION = "participation"          # entries / the unit's size (units.csv)
    ENTRIES = "entries"                      # entries received
    FINALISTS = "finalists"                  # entries that reached the final round
    MEAN_FINAL_SCORE = "mean_final_score"    # mean final-round score of the unit's finalists (0 without any)
    INDIVIDUAL_PRIZES = "individual_prizes"  # individual awards won by the unit's participants


@dataclass(frozen=True, slots=True)
class Advance:
    top: int | None = None
    per_unit: bool = False
    min_score: Fraction | None = None


@dataclass(frozen=True, slots=True)
class Round:
    name: str
    title: str
    level: Level
    judges: Level
    advance: Advance | None          # None: the final round


@dataclass(frozen=True, slots=True)
class Band:
    band: str
    title: str
    count: int


@dataclass(frozen=True, slots=True)
class Rules:
    mc_weight: Fraction = Fraction(1)
    essay_weight: Fraction = Fraction(1)
    tie_breaks: tuple[TieBreak, ...] = ()
    rounds: tuple[Round, ...] = ()
    individual: tuple[Band, ...] = ()
    collective: tuple[Band, ...] = ()
    measures: tuple[tuple[Measure, Fraction], ...] = ()

    def round(self, name: str) -> Round:
        for r in self.rounds:
            if r.name == name:
                return r
        raise LayoutError(f"round {name!r} is not in rules.json (rounds: {', '.join(r.name for r in self.rounds)})")

    def index(self, name: str) -> int:
        return self.rounds.index(self.round(name))

    @property
    def final(self) -> Round | None:
        return self.rounds[-1] if self.rounds else None


def _number(value: Any, path: str, problems: list[str], *, positive: bool = False) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        problems.append(f"{path}: must be a number")
        return Fraction(0)
    try:
        f = parse_points(str(value) if isinstance(value, float) else value)
    except (ValueError, ZeroDivisionError):
        problems.append(f"{path}: {value!r} is not a number")
        return Fraction(0)
    if f < 0 or (positive and f == 0):
        problems.append(f"{path}: must be {'above' if positive else 'at least'} 0")
    return f


def _count(value: Any, path: str, problems: list[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        problems.append(f"{path}: must be a whole number above 0")
        return 0
    return value


def _unknown(raw: dict[str, Any], known: set[str], path: str, problems: list[str]) -> None:
    problems += [f"{path}{k}: unknown key (known: {', '.join(sorted(known))})" for k in raw
                 if k not in known and not k.startswith("_")]


def _enum(cls: Any, value: Any, path: str, problems: list[str]) -> Any:
    try:
        return cls(value)
    except ValueError:
        problems.append(f"{path}: {value!r} is not one of {', '.join(m.value for m in cls)}")
        return None


def _advance(raw: Any, path: str, problems: list[str]) -> Advance | None:
    if not isinstance(raw, dict):
        problems.append(f"{path}: must be an object such as {{\"top\": 100, \"per\": \"unit\"}}, {{\"top\": 10}} "
                        "or {\"min_score\": 7.5}")
        return None
    _unknown(raw, {"top", "per", "min_score"}, f"{path}.", problems)
    if ("top" in raw) == ("min_score" in raw):
        problems.append(f"{path}: needs exactly one of top or min_score")
        return None
    if "per" in raw and raw["per"] != "unit":
        problems.append(f"{path}.per: {raw['per']!r} is not unit")
    if "min_score" in raw:
        if "per" in raw:
            problems.append(f"{path}.per: only with top")
        return Advance(min_score=_number(raw["min_score"], f"{path}.min_score", problems))
    return Advance(top=_count(raw["top"], f"{path}.top", problems), per_unit=raw.get("per") == "unit")


def _rounds(raw: Any, problems: list[str]) -> tuple[Round, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append("rounds: must be a list of at least one round")
        return ()
    out: list[Round] = []
    for i, r in enumerate(raw):
        path = f"rounds[{i}]"
        if not isinstance(r, dict):
            problems.append(f"{path}: must be an object")
            continue
        _unknown(r, {"name", "title", "level", "judges", "advance"}, f"{path}.", problems)
        name = r.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(f"{path}.name: must be a short code of lower-case letters, digits, - or _ (e.g. "
                            "so-khao)")
            name = f"#{i}"
        elif name in {x.name for x in out}:
            problems.append(f"{path}.name: {name!r} is already the name of another round")
        title = r.get("title", name)
        if not isinstance(title, str):
            problems.append(f"{path}.title: must be text")
        level = _enum(Level, r.get("level"), f"{path}.level", problems) or Level.CITY
        judges = _enum(Level, r["judges"], f"{path}.judges", problems) if "judges" in r else level
        last = i == len(raw) - 1
        advance = None
        if "advance" in r:
            advance = _advance(r["advance"], f"{path}.advance", problems)
            if last:
                problems.append(f"{path}.advance: the last round is the final: nobody goes on from it")
        elif not last:
            problems.append(f"{path}.advance: needed (who goes on to the next round)")
        if out and out[-1].level is Level.CITY and level is Level.UNIT:
            problems.append(f"{path}.level: a unit round cannot follow a city round")
        out.append(Round(name, title if isinstance(title, str) else name, level, judges or level, advance))
    return tuple(out)


def _bands(raw: Any, path: str, problems: list[str]) -> tuple[Band, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(f"{path}: must be a list of bands such as {{\"band\": \"nhat\", \"count\": 3}}")
        return ()
    out: list[Band] = []
    for i, b in enumerate(raw):
        p = f"{path}[{i}]"
        if not isinstance(b, dict):
            problems.append(f"{p}: must be an object")
            continue
        _unknown(b, {"band", "title", "count"}, f"{p}.", problems)
        code = b.get("band")
        if not isinstance(code, str) or not _NAME.match(code):
            problems.append(f"{p}.band: must be a short code of lower-case letters, digits, - or _ (e.g. nhat)")
            continue
        if code in {x.band for x in out}:
            problems.append(f"{p}.band: {code!r} is already a band")
        title = b.get("title", code)
        if not isinstance(title, str):
            problems.append(f"{p}.title: must be text")
        out.append(Band(code, title if isinstance(title, str) else code, _count(b.get("count"), f"{p}.count",
                                                                                problems)))
    return tuple(out)


def rules_from_dict(raw: Any, *, source: str) -> Rules:
    """The rules checked: every problem at once (``LayoutError``, exit 5), each with its path."""
    if not isinstance(raw, dict):
        raise LayoutError(f"{source}: the rules must be a JSON object", details=["(top level): not an object"])
    problems: list[str] = []
    _unknown(raw, {"total", "tie_breaks", "rounds", "prizes", "collective"}, "", problems)
    total = raw.get("total", {})
    mc = essay = Fraction(1)
    if not isinstance(total, dict):
        problems.append("total: must be an object such as {\"mc_weight\": 1, \"essay_weight\": 1}")
    else:
        _unknown(total, {"mc_weight", "essay_weight"}, "total.", problems)
        mc = _number(total.get("mc_weight", 1), "total.mc_weight", problems)
        essay = _number(total.get("essay_weight", 1), "total.essay_weight", problems)
        if mc == 0 and essay == 0:
            problems.append("total: the weights cannot both be 0")
    ties: list[TieBreak] = []
    raw_ties = raw.get("tie_breaks", [])
    if not isinstance(raw_ties, list):
        problems.append("tie_breaks: must be a list")
        raw_ties = []
    for i, t in enumerate(raw_ties):
        tb = _enum(TieBreak, t, f"tie_breaks[{i}]", problems)
        if tb in ties:
            problems.append(f"tie_breaks[{i}]: {t!r} is listed twice")
        elif tb is not None:
            ties.append(tb)
    rounds = _rounds(raw.get("rounds"), problems)
    prizes = raw.get("prizes", {})
    if not isinstance(prizes, dict):
        problems.append("prizes: must be an object with individual and collective bands")
        prizes = {}
    _unknown(prizes, {"individual", "collective"}, "prizes.", problems)
    individual = _bands(prizes.get("individual"), "prizes.individual", problems)
    collective = _bands(prizes.get("collective"), "prizes.collective", problems)
    measures: list[tuple[Measure, Fraction]] = []
    formula = raw.get("collective", {})
    if not isinstance(formula, dict):
        problems.append("collective: must be an object of measure: weight")
        formula = {}
    for k, v in formula.items():
        if k.startswith("_"):
            continue
        m = _enum(Measure, k, f"collective.{k}", problems)
        w = _number(v, f"collective.{k}", problems)
        if m is not None:
            measures.append((m, w))
    if collective and not measures:
        problems.append("collective: the collective prizes need a formula (e.g. {\"participation\": 1})")
    if problems:
        raise LayoutError(f"{source}: the contest rules have {len(problems)} problem(s)", details=problems)
    return Rules(mc, essay, tuple(ties), rounds, individual, collective, tuple(measures))


def load_rules(folder: str | Path) -> Rules | None:
    """``DIR/rules.json`` checked, or ``None`` when there is none."""
    path = Path(folder) / RULES
    if not path.exists():
        return None
    raw, path = read_json_document(path, file_name=RULES, what="contest rules file",
                                   hint="see answer_keys/demo/rules.json")
    return rules_from_dict(raw, source=str(path))


def need_rules(folder: str | Path) -> Rules:
    """The rules, or ``LayoutError`` saying the folder needs a ``rules.json``."""
    rules = load_rules(folder)
    if rules is None:
        raise LayoutError(f"{Path(folder) / RULES} does not exist: rounds and prizes follow the contest's rules; "
                          "see answer_keys/demo/rules.json")
    return rules
