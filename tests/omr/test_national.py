"""The national exam's sheet (answer_keys/national2025): its layout's question types, the PDF ``omr sheet``
prints, and reading it without our markers — Phần III numbers from pixels, ids, a rotated and shifted page."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pytest

from omr.csvout import CsvWriter
from omr.errors import ExitCode, LayoutError
from omr.layout import GroupKind, layout_from_dict, load_layout
from omr.load.pdf import pdftoppm
from omr.national_sheet import render_national
from omr.numeric import numeric_answers
from omr.read import read_page
from omr.records import GroupRead, MarkState, Page

NATIONAL = Path(__file__).resolve().parents[2] / "answer_keys" / "national2025"
DPI = 150


@pytest.fixture(scope="module")
def layout():
    return load_layout(NATIONAL)


@pytest.fixture(scope="module")
def blank(layout, tmp_path_factory):
    pdf = tmp_path_factory.mktemp("national") / "sheet.pdf"
    render_national(layout, pdf)
    return pdftoppm(pdf, 1, DPI, timeout=60)


def _fill(img: np.ndarray, layout, key: str, label: str, kind: GroupKind | None = None) -> None:
    g = next(g for g in layout.groups if g.key == key and kind in (None, g.kind))
    y, x = layout.centres_mm[g.first + g.labels.index(label)] * DPI / 25.4
    cv2.circle(img, (int(round(x)), int(round(y))), int(1.45 * DPI / 25.4), 0, -1)


def _filled(layout, blank, numbers: dict[str, str], extra: list[tuple[str, str]] = ()) -> np.ndarray:
    """Every Phần I / II question answered, candidate 012345, test code 102, and the Phần III numbers given
    (each written from the first column)."""
    img = blank.copy()
    for i, g in enumerate(layout.question_groups):
        _fill(img, layout, g.key, g.labels[i % g.size])
    for kind, value in ((GroupKind.PARTICIPANT, "012345"), (GroupKind.VERSION, "102")):
        for g, d in zip(layout.digit_groups(kind), value):
            _fill(img, layout, g.key, d, kind)
    for q, text in numbers.items():
        for c, ch in enumerate(text, 1):
            _fill(img, layout, f"{q}/{c}", ch)
    for key, label in extra:
        _fill(img, layout, key, label)
    return img


def test_layout_compiles_true_false_statements_and_numeric_columns(layout):
    assert layout.question_ids[:2] == ("I.1", "I.2") and len(layout.question_ids) == 40 + 32
    g = next(g for g in layout.question_groups if g.key == "II.8d")
    assert g.labels == ("Đ", "S")
    assert layout.numeric_ids == tuple(f"III.{i}" for i in range(1, 7))
    cols = [g for g in layout.digit_groups(GroupKind.NUMERIC) if g.name == "III.2"]
    assert [g.key for g in cols] == ["III.2/1", "III.2/2", "III.2/3", "III.2/4"]
    assert cols[0].labels[0] == "-" and "," not in cols[0].labels
    assert cols[1].labels[0] == "," and cols[2].labels[0] == "," and cols[3].labels[0] == "0"
    assert len(layout.digit_groups(GroupKind.PARTICIPANT)) == 6 and len(layout.digit_groups(GroupKind.VERSION)) == 3
    assert not layout.has_fiducials and layout.qr is None
    assert [c["id"] for c in layout.geometry_json()["numeric"]] == list(layout.numeric_ids)


def test_bad_new_kinds_are_reported(layout):
    raw = json.loads((NATIONAL / "layout.json").read_text(encoding="utf-8"))
    raw["fields"][2]["kind"] = "essay"
    tf = next(f for f in raw["fields"] if f["kind"] == "truefalse")
    del tf["group"]
    num = next(f for f in raw["fields"] if f["kind"] == "numeric")
    num["comma_columns"] = [7]
    raw["printing"] = "elsewhere"
    with pytest.raises(LayoutError) as exc:
        layout_from_dict(raw, base=NATIONAL)
    text = "\n".join(exc.value.details)
    assert "fields[2].kind: 'essay' is not one of" in text
    assert ".group: missing" in text
    assert ".comma_columns: must be a list of column numbers 1..4" in text
    assert "printing: 'elsewhere' is not one of" in text


def _reads(*cols: tuple[str, tuple[str, ...], str]) -> tuple[GroupRead, ...]:
    out = []
    for key, labels, marked in cols:
        states = tuple(MarkState.MARKED if lab in marked else MarkState.BLANK for lab in labels)
        out.append(GroupRead(key, "".join(lab for lab in labels if lab in marked), states, (0.0,) * len(labels), 0.95))
    return tuple(out)


@pytest.mark.parametrize("marks, answer, reason", [
    (("-", "1", ",", "5"), "-1,5", None),
    (("1", "2", "", ""), "12", None),
    (("", "", "", ""), "", None),
    (("", "0", "5", ""), "05", None),
    (("1", "", "5", ""), "1?5", "gap_in_number"),
    (("", ",", "5", ""), ",5", "not_a_number"),
    (("1", ",", ",", "5"), "1,,5", "not_a_number"),
    (("-", "", "", ""), "-", "not_a_number"),
    (("1", "27", "", ""), "1?", "multiple_marks_in_column"),
])
def test_numeric_columns_make_a_number_or_a_flag(layout, marks, answer, reason):
    cols = [g for g in layout.digit_groups(GroupKind.NUMERIC) if g.name == "III.4"]
    reads = _reads(*((g.key, g.labels, m) for g, m in zip(cols, marks)))
    answers, flags = numeric_answers(layout, reads)
    assert answers == {"III.4": answer}
    assert [f.reason for f in flags] == ([reason] if reason else [])
    assert all(f.key == "III.4" and f.target == "question" for f in flags)


def test_printed_sheet_has_corner_squares_and_nothing_of_ours(layout, blank, tmp_path):
    k = DPI / 25.4
    for x, y in layout.align.frame_corners_mm():
        assert blank[int(y * k) - 2:int(y * k) + 3, int(x * k) - 2:int(x * k) + 3].max() < 80
    ys, xs = (layout.centres_mm * k).astype(int).T
    assert np.median(blank[ys, xs]) > 150          # bubble centres are paper (digits printed small inside)
    out = tmp_path / "s.pdf"
    assert render_national(layout, out, copies=2) == 2
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 2
        assert "/QR" not in str(pdf.pages[0].get("/Resources", ""))


def test_numbers_ids_and_test_code_read_from_pixels(layout, blank, tmp_path):
    img = _filled(layout, blank, {"III.1": "-1,5", "III.2": "12", "III.3": "0,25"})
    rec = read_page(Page(img, "x.png", 1, DPI), layout)
    table = CsvWriter(str(tmp_path / "o.csv"), layout)
    table.add(rec)
    table.close()
    with open(tmp_path / "o.csv", encoding="utf-8", newline="") as fh:
        row = next(csv.DictReader(fh))
    assert (row["participant"], row["version"], row["III.1"], row["III.4"], row["II.1b"]) == \
        ("012345", "102", "-1,5", "", "S")
    assert rec.participant == "012345" and rec.version == "102"
    assert (rec.answers["III.1"], rec.answers["III.2"], rec.answers["III.3"], rec.answers["III.4"]) == \
        ("-1,5", "12", "0,25", "")
    assert rec.answers["I.1"] == "A" and rec.answers["I.2"] == "B" and rec.answers["II.1a"] == "Đ"
    assert rec.answers["II.1b"] == "S"
    assert not [f for f in rec.flags if f.key in layout.numeric_ids]


def test_rotated_shifted_page_is_aligned_by_its_corner_squares(layout, blank):
    img = _filled(layout, blank, {"III.5": "-3", "III.6": "7,8"})
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 3.5, 0.92)
    m[:, 2] += (40, -25)
    moved = cv2.warpAffine(img, m, (w + 60, h + 40), borderValue=70)
    rec = read_page(Page(moved, "x.png", 1, None), layout)
    assert rec.participant == "012345" and rec.version == "102"
    assert rec.answers["III.5"] == "-3" and rec.answers["III.6"] == "7,8"
    assert abs(rec.alignment["rotation_deg"] - 3.5) < 0.3
    straight = read_page(Page(img, "x.png", 1, DPI), layout)
    assert rec.answers == straight.answers


def test_two_marks_in_a_numeric_column_are_flagged_not_guessed(layout, blank):
    img = _filled(layout, blank, {"III.2": "45"}, extra=[("III.2/2", "9")])
    rec = read_page(Page(img, "x.png", 1, DPI), layout)
    flag = next(f for f in rec.flags if f.key == "III.2")
    assert flag.reason == "multiple_marks_in_column" and "cột 2" in flag.message
    assert rec.answers["III.2"] == "4?" and rec.status.value == "flagged"


@pytest.mark.slow
def test_cli_prints_the_national_sheet(tmp_path):
    omr = [sys.executable, "-m", "omr.cli", "sheet"]
    out = tmp_path / "n.pdf"
    r = subprocess.run(omr + ["--layout", str(NATIONAL / "layout.json"), "-o", str(out), "--copies", "3"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 3
    roster = tmp_path / "r.csv"
    roster.write_text("participant_id,name\n7,Phạm Thu Hà\n", encoding="utf-8")
    r = subprocess.run(omr + [str(NATIONAL), "--roster", str(roster), "-o", str(out)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == ExitCode.NOT_YET and "roster" in r.stderr
    r = subprocess.run(omr + [str(NATIONAL), "--layout", str(NATIONAL), "-o", str(out)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == ExitCode.BAD_ARGS
    r = subprocess.run([sys.executable, "-m", "omr.cli", "layout", str(NATIONAL)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "72 questions and 6 numeric answers, 6-digit participant id, 3-digit version" \
        in r.stdout


def test_residue_beside_a_true_false_mark_is_a_doubt_not_a_second_answer(layout, blank):
    """A true/false statement has two bubbles: a pen fill rubbed out beside the final one, still at 0.85 of its
    darkness on a page of lighter pencil marks, is not read as both answers."""
    img = blank.copy()
    for i, g in enumerate(layout.question_groups):
        y, x = layout.centres_mm[g.first + i % g.size] * DPI / 25.4
        cv2.circle(img, (int(round(x)), int(round(y))), int(1.45 * DPI / 25.4), 110, -1)
    g = next(g for g in layout.question_groups if g.key == "II.1a")
    for label, grey in (("Đ", 0), ("S", 38)):
        y, x = layout.centres_mm[g.first + g.labels.index(label)] * DPI / 25.4
        cv2.circle(img, (int(round(x)), int(round(y))), int(1.45 * DPI / 25.4), grey, -1)
    rec = read_page(Page(img, "x.png", 1, DPI), layout)
    assert [f.reason for f in rec.flags if f.key == "II.1a"] == ["uneven_marks"]
    assert rec.answers["II.1b"] == "S" and not [f for f in rec.flags if f.key == "II.1b"]
