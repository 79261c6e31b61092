"""Scoring: a pure function from a sheet's answers and version to a ``SheetScore`` (Fractions throughout).

Rules, per question (first that applies):

1. cancelled ``award`` → CANCELLED, full points (in the maximum); cancelled ``drop`` → CANCELLED, 0 points,
   and the question leaves the maximum.
2. the question has an open flag (``open_flags``) → UNREADABLE, 0 points until a human resolves it; the
   question stays in the maximum and is listed in ``SheetScore.needs_review``. An answer string that does
   not parse into the question's option labels is UNREADABLE too (and also listed).
3. nothing marked → BLANK, the key's ``unmarked`` points (0 unless the key says otherwise), never a penalty.
4. the set of marks equals one accepted alternative → CORRECT, the question's points (or that alternative's
   own weight, which may be negative).
5. more than one mark on a *single-answer* question (every alternative is one option) → MULTIPLE: scored
   exactly like a wrong answer (0 points minus the penalty), but kept apart for item analysis and judges.
6. anything else → WRONG, minus the penalty (0 when the key has no penalty).

A numeric answer (``KeyItem.numbers``) is CORRECT when it is the same number as an accepted one, WRONG when
it is another number, UNREADABLE when it is no number (a flag the reader raised), BLANK when empty. Questions
in a scoring group (``KeySet.groups``) score 0 each; the group gets its own entry (its name as the id) with
the points of its table for the number right: CORRECT all right, PARTIAL some, WRONG none, BLANK nothing
marked, UNREADABLE while one of them is. A section counts the groups whose questions are all in it.

An unknown or missing version gives ``status = NO_KEY`` with no per-question results and a message for the
judge: never a silent default version.
"""
from __future__ import annotations

import enum
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .keyparts import ScoreGroup, number_value, same_number
from .keys import Cancelled, KeyItem, KeySet, split_labels


class Outcome(enum.Enum):
    CORRECT = "correct"
    PARTIAL = "partial"     # a group with some of its questions right
    WRONG = "wrong"
    BLANK = "blank"
    MULTIPLE = "multiple"
    CANCELLED = "cancelled"
    UNREADABLE = "unreadable"


class ScoreStatus(enum.Enum):
    SCORED = "scored"
    NO_KEY = "no_key"       # also the flag reason a judge sees


@dataclass(frozen=True, slots=True)
class QuestionScore:
    question: str
    outcome: Outcome
    marked: str              # what counted: the effective marks ("" blank, "AC" two marks)
    points: Fraction         # may be negative (penalty)
    max_points: Fraction     # 0 for a dropped question


@dataclass(frozen=True, slots=True)
class SectionScore:
    name: str
    points: Fraction
    max_points: Fraction


@dataclass(frozen=True, slots=True)
class SheetScore:
    status: ScoreStatus
    version: str | None
    questions: tuple[QuestionScore, ...]
    sections: tuple[SectionScore, ...]
    total: Fraction
    max_total: Fraction
    message: str = ""       # why there is no score (NO_KEY), for the judge
    groups: frozenset[str] = frozenset()    # entries that score a group (their questions are listed too)

    @property
    def needs_review(self) -> tuple[str, ...]:
        """Question ids scored 0 only because they are unreadable / still flagged (a group waits for its
        questions: they are the ones listed)."""
        return tuple(q.question for q in self.questions if q.outcome is Outcome.UNREADABLE
                     and q.question not in self.groups)

    def to_json(self) -> dict[str, Any]:
        """Fractions as exact strings ("41/3"); floats only where a reader wants them."""
        return {
            "status": self.status.value, "version": self.version, "message": self.message,
            "total": str(self.total), "max_total": str(self.max_total),
            "total_float": float(self.total), "max_total_float": float(self.max_total),
            "sections": [{"name": s.name, "points": str(s.points), "max_points": str(s.max_points)}
                         for s in self.sections],
            "questions": {q.question: {"outcome": q.outcome.value, "marked": q.marked, "points": str(q.points),
                                       "max_points": str(q.max_points)} for q in self.questions},
            "needs_review": list(self.needs_review),
        }


def score_sheet(answers: Mapping[str, str], version: str | None, keys: KeySet, *,
                open_flags: Collection[str] = frozenset()) -> SheetScore:
    """Score one sheet. ``answers``: question id → marked labels (missing = blank). ``open_flags``: question
    ids whose reading a human has not yet resolved."""
    key = keys.get(version)
    if key is None:
        have = ", ".join(keys.versions) or "none"
        what = "no version was read" if version is None else f"there is no answer key for version {version!r}"
        return SheetScore(status=ScoreStatus.NO_KEY, version=version, questions=(), sections=(),
                          total=Fraction(0), max_total=Fraction(0),
                          message=f"{what} (keys exist for {have}); a judge must enter the version from the sheet")

    out: list[QuestionScore] = []
    for it in key.items:
        raw = answers.get(it.question, "") or ""
        if it.cancelled is Cancelled.AWARD:
            out.append(QuestionScore(it.question, Outcome.CANCELLED, raw, it.max_points, it.max_points))
            continue
        if it.cancelled is Cancelled.DROP:
            out.append(QuestionScore(it.question, Outcome.CANCELLED, raw, Fraction(0), Fraction(0)))
            continue
        if it.numbers:
            out.append(_numeric(it, raw, it.question in open_flags))
            continue
        marks = split_labels(raw, it.options) if raw else frozenset()
        if it.question in open_flags or marks is None:
            outcome, pts = Outcome.UNREADABLE, Fraction(0)
        elif not marks:
            outcome, pts = Outcome.BLANK, it.unmarked
        elif marks in it.accept:
            outcome, pts = Outcome.CORRECT, it.points_for(marks)
        elif len(marks) > 1 and it.single_answer:
            outcome, pts = Outcome.MULTIPLE, -it.penalty
        else:
            outcome, pts = Outcome.WRONG, -it.penalty
        marked = raw if marks is None else "".join(o for o in it.options if o in marks)
        out.append(QuestionScore(it.question, outcome, marked, pts, it.max_points))

    out += [_group(g, {q.question: q for q in out}) for g in keys.groups]
    by_q = {q.question: q for q in out}
    members = {s.name: list(s.questions) + [g.name for g in keys.groups if set(g.questions) <= set(s.questions)]
               for s in keys.sections}
    sections = tuple(SectionScore(s.name, _fsum([by_q[q].points for q in members[s.name]]),
                                  _fsum([by_q[q].max_points for q in members[s.name]]))
                     for s in keys.sections)
    return SheetScore(status=ScoreStatus.SCORED, version=key.version, questions=tuple(out), sections=sections,
                      total=_fsum([q.points for q in out]), max_total=_fsum([q.max_points for q in out]),
                      groups=frozenset(g.name for g in keys.groups))


def _numeric(it: KeyItem, raw: str, flagged: bool) -> QuestionScore:
    if flagged or (raw and number_value(raw) is None):
        return QuestionScore(it.question, Outcome.UNREADABLE, raw, Fraction(0), it.max_points)
    if not raw:
        return QuestionScore(it.question, Outcome.BLANK, raw, it.unmarked, it.max_points)
    if same_number(raw, it.numbers):
        return QuestionScore(it.question, Outcome.CORRECT, raw, it.points, it.max_points)
    return QuestionScore(it.question, Outcome.WRONG, raw, -it.penalty, it.max_points)


def _group(g: ScoreGroup, by_q: dict[str, QuestionScore]) -> QuestionScore:
    """A group's entry: the table's points for the number of its questions right."""
    mine = [by_q[q] for q in g.questions if q in by_q]
    right = sum(q.outcome in (Outcome.CORRECT, Outcome.CANCELLED) for q in mine)
    best = g.by_count[len(g.questions)]
    if any(q.outcome is Outcome.UNREADABLE for q in mine):
        outcome, pts = Outcome.UNREADABLE, Fraction(0)
    elif all(q.outcome is Outcome.BLANK for q in mine):
        outcome, pts = Outcome.BLANK, g.by_count[0]
    else:
        outcome = Outcome.CORRECT if right == len(g.questions) else Outcome.PARTIAL if right else Outcome.WRONG
        pts = g.by_count[right]
    return QuestionScore(g.name, outcome, f"{right}/{len(g.questions)}", pts, best)


def _fsum(values: list[Fraction]) -> Fraction:
    """Exact sum of Fractions over one common denominator (a chain of Fraction additions is ~10× slower)."""
    if not values:
        return Fraction(0)
    d = math.lcm(*{v.denominator for v in values})
    return Fraction(sum(v.numerator * (d // v.denominator) for v in values), d)
