"""The one rule for spreadsheet cells holding text from outside (OWASP CSV injection), on tiny exact inputs."""
from __future__ import annotations

import io
import math
import zipfile

import openpyxl
import pandas as pd
import pytest

from grading.reports.cells import formula_like, inert, inert_frame, inert_sheet

DANGEROUS = ["=1+1", '=HYPERLINK("http://x","y")', "+1", "-1+2", "-", "@SUM(A1)", "\t", "\tx", "\rx", "  =1",
             "\n=1", "\u3000@x", " +1", "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)"]
HARMLESS = ["", " ", "abc", "a=b", "1-2", "000123", "Nguyễn Văn An", "'=1", "x\t=1", "(=1)"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_formula_like_texts_get_a_quote_in_csv(text):
    assert formula_like(text) and inert(text) == "'" + text


@pytest.mark.parametrize("text", HARMLESS)
def test_other_texts_are_left_as_they_are(text):
    assert not formula_like(text) and inert(text) == text


def test_inert_frame_quotes_text_keeps_numbers_and_our_exact_totals():
    df = pd.DataFrame({"name": ["=1+1", "An", None], "total": [-2.0, 1.5, math.nan],
                       "total_exact": ["-2", "=1", None], "rank": pd.array([1, None, 2], dtype="Int64")})
    out = inert_frame(df, exact=["total_exact"])
    assert list(out["name"])[:2] == ["'=1+1", "An"] and pd.isna(out["name"].iloc[2])
    assert list(out["total_exact"])[:2] == ["-2", "'=1"]          # a number we computed, then a stray text
    assert out["total"].tolist()[:2] == [-2.0, 1.5] and out["total"].dtype.kind == "f"
    assert out["rank"].dtype == df["rank"].dtype
    assert list(df["name"])[:2] == ["=1+1", "An"]                  # the input is not changed
    assert inert_frame(df).loc[0, "total_exact"] == "'-2"          # not declared exact: quoted like any text


def test_inert_sheet_keeps_exact_text_as_string_cells_and_numbers_as_numbers():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["=1+1", -2, "x", "+1", 3.5])
    assert ws["A1"].data_type == "f"                               # what openpyxl does with a bare "=" text
    inert_sheet(ws)
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as z:
        assert b"<f>" not in z.read("xl/worksheets/sheet1.xml")
    cells = next(openpyxl.load_workbook(buf).active.iter_rows())
    assert [c.value for c in cells] == ["=1+1", -2, "x", "+1", 3.5]
    assert [c.data_type for c in cells] == ["s", "n", "s", "s", "n"]
    assert [c.quotePrefix for c in cells] == [True, False, False, True, False]
