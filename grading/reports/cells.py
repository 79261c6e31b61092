"""Spreadsheet cells holding text from outside (roster names and units, file names, participant ids as read,
judge names, messages, OCR text) are inert: no spreadsheet takes them for a formula (OWASP "CSV injection").

One rule, ``formula_like``: a text is dangerous when it begins with a tab or a carriage return, or — after any
leading whitespace — with ``=``, ``+``, ``-``, ``@`` or their full-width forms ``＝＋－＠``.

- CSV: such a text is written with a single quote in front (``inert``, ``inert_frame``).
- XLSX: every text is a string cell (openpyxl would store a text starting with ``=`` as a formula), and a
  dangerous one also gets the quote-prefix style, so the exact text is kept and stays text when edited in Excel
  (``inert_sheet``).

Numbers we computed stay numbers; exact totals we computed are text such as ``"-1/3"``: the columns holding them
are named to ``inert_frame``, and a cell there is left as is only when it is such a number.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

TRIGGERS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
CONTROL_LEADS = ("\t", "\r")
QUOTE = "'"
EXACT_NUMBER = re.compile(r"-?\d+(?:/\d+)?")


def formula_like(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula (the OWASP rule, with full-width forms and leading
    whitespace)."""
    if text.startswith(CONTROL_LEADS):
        return True
    rest = text.lstrip()
    return bool(rest) and rest[0] in TRIGGERS


def inert(text: str) -> str:
    """``text`` for a CSV cell: a single quote in front when it is formula-like."""
    return QUOTE + text if formula_like(text) else text


def _cell(value: Any, exact: bool) -> Any:
    if not isinstance(value, str) or (exact and EXACT_NUMBER.fullmatch(value)):
        return value
    return inert(value)


def inert_frame(df: Any, exact: Iterable[str] = ()) -> Any:
    """A copy of the pandas frame ``df`` fit for ``to_csv``: every text cell and header through ``inert``;
    numeric columns untouched. In the ``exact`` columns (exact numbers we computed, as text) a cell that is such a
    number (``-1/3``) is kept as is."""
    exact = frozenset(exact)
    out = df.copy()
    for col in out.columns:
        if out[col].dtype.kind not in "biufcmM":
            keep = col in exact
            out[col] = out[col].map(lambda v, keep=keep: _cell(v, keep))
    out.columns = [inert(c) if isinstance(c, str) else c for c in out.columns]
    return out


def inert_sheet(ws: Any) -> None:
    """Make every text cell of the openpyxl worksheet ``ws`` a string cell (never a formula), with the quote-prefix
    style when it is formula-like; the text itself is kept exactly."""
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
                if formula_like(cell.value):
                    cell.quotePrefix = True
