"""Item analysis of the multiple-choice part, per version and question, with key-error alerts.

Over the scored answer sheets of one version: **difficulty** (the share answering correctly), **point-biserial
discrimination** (the correlation of answering correctly with the rest of the sheet's points: the question's own
points left out), the **distractor table** (the share marking each option — overall, in the top 27 % and in the
bottom 27 % by points) and **KR-20** (the reliability of the version's right/wrong items). These are statistics,
computed in floats; marks stay exact elsewhere.

An **alert** says a question may be mis-keyed, with its evidence: a negative discrimination (those who did well
elsewhere answered it correctly less often), or a distractor marked by more of the top 27 % than the key. Fixing
the key is done in ``keys.json`` and ``omr rescore`` (audited).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from .db.exports import ScoredSheet
from .keys import KeySet
from .score import Outcome

TOP_SHARE = 0.27


@dataclass(frozen=True, slots=True)
class ItemStats:
    version: str
    question: str
    key: str                                 # the accepted marks ("B"; "AC"; alternatives joined by "|")
    n: int
    difficulty: float                        # share correct
    discrimination: float | None             # point-biserial (corrected); None when undefined
    options: tuple[tuple[str, float, float, float], ...]   # (option, share all, share top 27 %, share bottom 27 %)
    alert: str | None                        # why the key may be wrong (Vietnamese), or None


@dataclass(frozen=True, slots=True)
class VersionStats:
    version: str
    sheets: int
    kr20: float | None
    items: tuple[ItemStats, ...]


def _pbis(correct: Sequence[int], rest: Sequence[float]) -> float | None:
    n = len(correct)
    p = sum(correct) / n if n else 0.0
    if n < 2 or p in (0.0, 1.0):
        return None
    mean = sum(rest) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in rest) / n)
    if sd == 0:
        return None
    m1 = sum(x for x, c in zip(rest, correct) if c) / sum(correct)
    m0 = sum(x for x, c in zip(rest, correct) if not c) / (n - sum(correct))
    return (m1 - m0) / sd * math.sqrt(p * (1 - p))


def kr20(matrix: Sequence[Sequence[int]]) -> float | None:
    """KR-20 of right/wrong item scores (rows: sheets); None with fewer than two items or no variance."""
    if not matrix or len(matrix[0]) < 2:
        return None
    n, k = len(matrix), len(matrix[0])
    totals = [sum(r) for r in matrix]
    mean = sum(totals) / n
    var = sum((t - mean) ** 2 for t in totals) / n
    if var == 0:
        return None
    pq = sum(p * (1 - p) for p in (sum(r[i] for r in matrix) / n for i in range(k)))
    return k / (k - 1) * (1 - pq / var)


def _alert(key: str, disc: float | None, options: Sequence[tuple[str, float, float, float]]) -> str | None:
    if disc is not None and disc < 0:
        return (f"độ phân biệt âm ({disc:.2f}): thí sinh làm tốt các câu khác lại trả lời đúng câu này ít hơn — "
                "kiểm tra đáp án")
    keyed = {o: top for o, _, top, _ in options if o in key}
    best_key = max(keyed.values(), default=0.0)
    lure = [(o, top) for o, _, top, _ in options if o not in key and top > best_key]
    if lure:
        o, top = max(lure, key=lambda t: t[1])
        return (f"nhóm 27 % điểm cao chọn {o} ({top:.0%}) nhiều hơn đáp án {key} ({best_key:.0%}) — kiểm tra đáp án")
    return None


def _shares(options: Sequence[str], answered: Sequence[tuple[int, dict[str, str]]], top: set[int],
            bottom: set[int]) -> list[tuple[str, float, float, float]]:
    """(option, share marking it: all, top group, bottom group), in one pass over the answers."""
    counts = {o: [0, 0, 0] for o in options}
    n = [len(answered), sum(1 for i, _ in answered if i in top), sum(1 for i, _ in answered if i in bottom)]
    for i, q in answered:
        for o in q["marked"]:
            if o in counts:
                c = counts[o]
                c[0] += 1
                c[1] += i in top
                c[2] += i in bottom
    return [(o, *(c[g] / n[g] if n[g] else 0.0 for g in range(3))) for o, c in counts.items()]


def _version(version: str, sheets: Sequence[ScoredSheet], keys: KeySet) -> VersionStats:
    key = next(k for k in keys.keys if k.version == version)
    items = [it for it in key.items if it.cancelled is None and it.points > 0]
    points = [sum(Fraction(q["points"]) for q in s.questions.values()) for s in sheets]
    order = sorted(range(len(sheets)), key=lambda i: points[i], reverse=True)
    cut = max(1, round(len(sheets) * TOP_SHARE)) if sheets else 0
    top, bottom = set(order[:cut]), set(order[-cut:]) if cut else set()
    out, matrix = [], [[0] * len(items) for _ in sheets]
    for j, it in enumerate(items):
        answered = [(i, s.questions[it.question]) for i, s in enumerate(sheets) if it.question in s.questions]
        correct = [1 if q["outcome"] == Outcome.CORRECT.value else 0 for _, q in answered]
        for (i, _), c in zip(answered, correct):
            matrix[i][j] = c
        rest = [float(points[i] - Fraction(q["points"])) for i, q in answered]
        shares = _shares(it.options, answered, top, bottom)
        text = "|".join("".join(sorted(a)) for a in it.accept)
        disc = _pbis(correct, rest)
        out.append(ItemStats(version, it.question, text, len(answered),
                             sum(correct) / len(answered) if answered else 0.0, disc, tuple(shares),
                             _alert(text, disc, shares) if len(answered) >= 10 else None))
    return VersionStats(version, len(sheets), kr20(matrix), tuple(out))


def analyse(sheets: Sequence[ScoredSheet], keys: KeySet) -> list[VersionStats]:
    """Every version with scored sheets, in the keys' order."""
    by: dict[str, list[ScoredSheet]] = {}
    for s in sheets:
        if s.version is not None:
            by.setdefault(s.version, []).append(s)
    return [_version(k.version, by[k.version], keys) for k in keys.keys if k.version in by]
