"""The essay rubric (``DIR/rubric.json``): criteria and their maximum points per question, the tolerance between
two judges, the rule for the final score; and exact points as judges and organisers write them.

::

    {"tolerance": "1,5", "final_rule": "closest_mean",
     "questions": [{"id": "essay", "title": "Bài tự luận", "criteria": [
         {"id": "noi_dung", "title": "Nội dung", "max": 6}, {"id": "dien_dat", "title": "Diễn đạt", "max": "2"}]}]}

``id`` of a question is the layout's essay box id (essays written on the sheet) or ``"essay"`` for the free essay
pages of a submission (``grading.store.PAGE_QUESTION``). Points are exact: ``7``, ``"7,5"``, ``"7.5"``, ``"15/2"``.
``tolerance``: points on the TOTAL; ``final_rule``: ``closest_mean`` (mean of the two closest of three totals) or
``third`` (the third judge's total). Read with ``omr.layout.read_json_document``; every problem is listed in one
``LayoutError`` (exit 5).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from omr.errors import LayoutError
from omr.layout import read_json_document

from ..keys import parse_fraction

RUBRIC = "rubric.json"
MAX_POINTS = Fraction(1000)


class FinalRule(enum.Enum):
    CLOSEST_MEAN = "closest_mean"
    THIRD = "third"


def parse_points(value: Any) -> Fraction:
    """``7``, ``7.5``, ``"7,5"``, ``"7.5"``, ``"15/2"`` → Fraction (exact): ``keys.parse_fraction`` with a decimal
    comma accepted (as Vietnamese write it). ``ValueError`` otherwise."""
    if isinstance(value, str):
        text = value.strip()
        # what a judge types: digits, one decimal mark or a fraction bar — no exponents ("1e9999999" would make
        # Fraction compute for seconds while the task is locked), nothing long
        if len(text) > 20 or any(c not in "0123456789.,/+-" for c in text):
            raise ValueError(f"{value!r} is not a number")
        if text.count(",") == 1 and "." not in text and "/" not in text:
            text = text.replace(",", ".")
        value = text
    return parse_fraction(value)


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    title: str
    max_points: Fraction


@dataclass(frozen=True, slots=True)
class RubricQuestion:
    id: str
    title: str
    criteria: tuple[Criterion, ...]

    @property
    def max_total(self) -> Fraction:
        return sum((c.max_points for c in self.criteria), Fraction(0))


@dataclass(frozen=True, slots=True)
class Rubric:
    questions: tuple[RubricQuestion, ...]
    tolerance: Fraction
    final_rule: FinalRule

    def question(self, qid: str) -> RubricQuestion | None:
        return next((q for q in self.questions if q.id == qid), None)

    @property
    def question_ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions)


def rubric_from_dict(raw: Any, *, source: str = RUBRIC) -> Rubric:
    """Validate a parsed rubric; ``LayoutError`` lists every problem with its field path."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise LayoutError(f"{source} must be an object {{\"tolerance\": …, \"final_rule\": …, \"questions\": […]}}")
    for k in sorted(set(raw) - {"tolerance", "final_rule", "questions", "title", "note"}):
        problems.append(f"{k}: unknown field (expected tolerance, final_rule, questions)")

    def points(value: Any, path: str, *, positive: bool) -> Fraction | None:
        try:
            f = parse_points(value)
        except ValueError:
            problems.append(f"{path}: {value!r} is not a number of points (7, \"7,5\", \"7.5\" or \"15/2\")")
            return None
        if f < 0 or (positive and f == 0) or f > MAX_POINTS:
            problems.append(f"{path}: {value!r} must be {'above' if positive else 'at least'} 0 and at most "
                            f"{MAX_POINTS}")
            return None
        return f

    tolerance = points(raw.get("tolerance"), "tolerance", positive=False) if "tolerance" in raw else None
    if "tolerance" not in raw:
        problems.append("tolerance: required (points on the total by which two judges may differ)")
    rule = None
    try:
        rule = FinalRule(raw.get("final_rule"))
    except ValueError:
        problems.append(f"final_rule: {raw.get('final_rule')!r} must be \"closest_mean\" or \"third\"")
    questions: list[RubricQuestion] = []
    items = raw.get("questions")
    if not isinstance(items, list) or not items:
        problems.append("questions: required, a non-empty list of {id, title, criteria}")
        items = []
    for i, q in enumerate(items):
        path = f"questions[{i}]"
        if not isinstance(q, dict):
            problems.append(f"{path}: must be an object with id, title and criteria")
            continue
        qid = q.get("id")
        if not isinstance(qid, str) or not qid.strip():
            problems.append(f"{path}.id: required (the layout's essay box id, or \"essay\" for essay pages)")
            qid = None
        title = q.get("title", "")
        if not isinstance(title, str):
            problems.append(f"{path}.title: must be text")
        crits: list[Criterion] = []
        seen: list[str] = []
        cl = q.get("criteria")
        if not isinstance(cl, list) or not cl:
            problems.append(f"{path}.criteria: required, a non-empty list of {{id, title, max}}")
            cl = []
        for j, c in enumerate(cl):
            cpath = f"{path}.criteria[{j}]"
            if not isinstance(c, dict):
                problems.append(f"{cpath}: must be an object with id, title and max")
                continue
            cid, ctitle = c.get("id"), c.get("title")
            if not isinstance(cid, str) or not cid.strip():
                problems.append(f"{cpath}.id: required")
            else:
                seen.append(cid.strip())
            if not isinstance(ctitle, str) or not ctitle.strip():
                problems.append(f"{cpath}.title: required (Vietnamese, shown to the judges)")
            if "max" not in c:
                problems.append(f"{cpath}.max: required (the criterion's maximum points)")
                continue
            mx = points(c["max"], f"{cpath}.max", positive=True)
            if isinstance(cid, str) and cid.strip() and isinstance(ctitle, str) and mx is not None:
                crits.append(Criterion(cid.strip(), ctitle.strip(), mx))
        if len(set(seen)) != len(seen):
            problems.append(f"{path}.criteria: ids repeat")
        if qid is not None:
            questions.append(RubricQuestion(qid.strip(), title if isinstance(title, str) else "", tuple(crits)))
    if len({q.id for q in questions}) != len(questions):
        problems.append("questions: ids repeat")
    if problems:
        raise LayoutError(f"{source} is not valid", details=problems)
    assert tolerance is not None and rule is not None
    return Rubric(tuple(questions), tolerance, rule)


def load_rubric(folder: str | Path, *, required: bool = False) -> Rubric | None:
    """``DIR/rubric.json`` (``None`` when there is none and not ``required``); ``LayoutError`` (exit 5)."""
    path = Path(folder)
    if path.is_dir():
        path = path / RUBRIC
    if not path.is_file() and not required:
        return None
    raw, path = read_json_document(path, file_name=RUBRIC, what="rubric file",
                                   hint="write the contest's essay rubric (see answer_keys/demo/rubric.json)")
    return rubric_from_dict(raw, source=str(path))
