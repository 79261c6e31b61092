"""Tables that organisers keep in a spreadsheet (the roster, the units, the staff list): a CSV in UTF-8 (BOM
allowed; commas, semicolons — Excel in a Vietnamese or European locale — or tabs) or an Excel ``.xlsx``.

Any other encoding is refused with how to save the file as UTF-8, never decoded by a guess. Header names are
compared folded (``fold_header``: no diacritics, ``đ`` → ``d``, case and spacing ignored), so ``Số báo danh``,
``so bao danh`` and ``SỐ BÁO DANH`` are one column.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path

from .errors import InputError
from .textfile import NotUtf8, utf8_text

SAVE_AS_UTF8 = ('open it in Excel and save it again with File > Save As, type "CSV UTF-8 (Comma delimited) (*.csv)" '
                '(the type whose name starts with "CSV UTF-8"), or in a text editor with the encoding UTF-8')


def fold_header(text: str) -> str:
    """A header or a name as compared: no diacritics, ``đ`` → ``d``, case-folded, single spaces."""
    text = unicodedata.normalize("NFD", str(text or "")).replace("đ", "d").replace("Đ", "D")
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).casefold().split())


def _csv_rows(text: str) -> list[list[str]]:
    head = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=head.count)
    return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def _xlsx_rows(path: Path) -> list[list[str]]:
    """The first sheet of an Excel workbook as text; whole numbers without ``.0`` (ids typed as numbers)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = []
        for values in wb.worksheets[0].iter_rows(values_only=True):
            rows.append(["" if v is None else str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
                         for v in values])
        return rows
    finally:
        wb.close()


def read_table(path: str | Path, *, what: str) -> list[list[str]]:
    """The file's rows, header first (``what`` names the file in messages: "roster", "units file"…).
    ``InputError`` (exit 9) when it cannot be read, with what to do."""
    path = Path(path)
    try:
        data = path.read_bytes()
        if data.startswith(b"PK\x03\x04"):
            try:
                return _xlsx_rows(path)
            except Exception as exc:           # openpyxl raises many kinds for a damaged workbook
                raise InputError(f"{what} {path} looks like an Excel workbook but cannot be read ({exc}); save it "
                                 "again from Excel, or as CSV UTF-8") from None
        try:
            return _csv_rows(utf8_text(data))
        except NotUtf8 as exc:
            raise InputError(f"{what} {path} is not saved as UTF-8 ({exc}); {SAVE_AS_UTF8}") from None
    except (OSError, csv.Error) as exc:
        raise InputError(f"cannot read {what} {path}: {exc}") from None


def header_columns(header: list[str], aliases: Mapping[str, tuple[str, ...]]) -> dict[str, int | None]:
    """Each wanted column's index in the header (the first alias found, compared folded), ``None`` if absent."""
    folded = [fold_header(h) for h in header]
    return {k: next((folded.index(a) for a in names if a in folded), None) for k, names in aliases.items()}


def table_rows(table: list[list[str]], col: Mapping[str, int | None]) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows under the header that hold anything, each as (its line number in the file, {wanted column: its
    value stripped, "" where the row is short or the file has no such column})."""
    for n, row in enumerate(table[1:], start=2):
        if any(c.strip() for c in row):
            yield n, {k: row[i].strip() if i is not None and i < len(row) else "" for k, i in col.items()}
