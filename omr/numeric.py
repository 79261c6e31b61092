"""Numeric answers written in columns (the national exam's Part III): the column readings → the string as
written ("-1,5"), or a flag with the reason — never a guess.

A column is one written character: "-", "," or a digit, or nothing. Blank columns at either end are fine
(a short number); a blank column between written ones, a column with two marks or an unclear mark, and a
string that is no number ("1,,5", ",5", "-") are flagged. A flagged answer keeps what could be read, with
"?" for a column that could not, so that it never equals a key.
"""
from __future__ import annotations

import re

from .layout import GroupKind, Layout
from .records import Flag, GroupRead, MarkState

NUMBER = re.compile(r"-?\d+(,\d+)?")

_TEXT = {
    "ambiguous_mark": "Câu {q}: cột {c} có ô tô mờ hoặc tô chưa kín, cần người chấm xem lại",
    "multiple_marks_in_column": "Câu {q}: cột {c} tô nhiều hơn một ô, cần người chấm xem lại",
    "gap_in_number": "Câu {q}: có cột để trống giữa các cột đã tô, cần người chấm xem lại",
    "not_a_number": "Câu {q}: các ô đã tô không tạo thành một số ({text}), cần người chấm xem lại",
}


_COLUMN_REASONS = ("ambiguous_mark", "multiple_marks_in_column")
_COLUMN = re.compile(r": cột (\d+) ")


def flagged_column(reason: str, message: str) -> int | None:
    """The column (1 = leftmost) a numeric answer's flag is about, the one whose fills the flag carries, from
    the flag's reason and message as ``numeric_answers`` wrote them; ``None`` for a flag about the whole answer
    (its fills are the first column's)."""
    if reason not in _COLUMN_REASONS:
        return None
    m = _COLUMN.search(message)
    return int(m.group(1)) if m else None


def numeric_answers(layout: Layout, reads: tuple[GroupRead, ...]) -> tuple[dict[str, str], list[Flag]]:
    """Every numeric answer of ``layout`` from its column readings (``reads``, in layout order)."""
    by_q: dict[str, list[GroupRead]] = {q: [] for q in layout.numeric_ids}
    name_of = {g.key: g.name for g in layout.by_kind[GroupKind.NUMERIC]}
    for r in reads:
        by_q[name_of[r.key]].append(r)
    answers: dict[str, str] = {}
    flags: list[Flag] = []
    for q, cols in by_q.items():
        if not cols:
            continue
        answers[q], more = _one(q, cols)
        flags += more
    return answers, flags


def _one(q: str, cols: list[GroupRead]) -> tuple[str, list[Flag]]:
    chars: list[str] = []
    flags: list[Flag] = []
    for r in cols:
        col = r.key.rsplit("/", 1)[-1]
        n = sum(s is MarkState.MARKED for s in r.states)
        if any(s is MarkState.AMBIGUOUS for s in r.states):
            chars.append("?")
            flags.append(_flag(q, "ambiguous_mark", r, col=col))
        elif n > 1:
            chars.append("?")
            flags.append(_flag(q, "multiple_marks_in_column", r, col=col))
        else:
            chars.append(r.marked if n == 1 else " ")
    text = "".join(chars).strip()
    if flags:
        return text.replace(" ", "?"), flags
    if " " in text:
        return text.replace(" ", "?"), [_flag(q, "gap_in_number", cols[0])]
    if text and not NUMBER.fullmatch(text):
        return text, [_flag(q, "not_a_number", cols[0], text=text)]
    return text, []


def _flag(q: str, reason: str, r: GroupRead, *, col: str = "", text: str = "") -> Flag:
    return Flag("question", q, reason, _TEXT[reason].format(q=q, c=col, text=text), min(r.confidence, 0.5), r.fills)
