"""Reading sheets of an imported OMRChecker template: blank bubbles with printed letters read blank, marks
read as marked, and ``omr read --csv`` writes OMRChecker's column layout."""
import csv
import json

import cv2
import numpy as np
import pytest

from omr.cli import main
from omr.errors import ExitCode
from omr.layout import GroupKind, load_layout
from omr.omrchecker import import_folder
from omr.read import read_page
from omr.records import Page, SheetReading
from samples import foreign as fo

DPI = 150
PX = DPI / 25.4


@pytest.fixture(scope="module")
def contest(tmp_path_factory):
    base = tmp_path_factory.mktemp("readfx")
    fo.write_omrchecker_folder(base / "omr", "page", questions=20)
    import_folder(base / "omr", base / "contest")
    return base / "contest"


def on_table(page):
    """The sheet lying straight on a dark table, 40 px from the image's corner."""
    h, w = page.shape
    img = np.full((h + 80, w + 80), 60, np.uint8)
    img[40:40 + h, 40:40 + w] = page
    return img


def fill(page, layout, key, labels):
    g = next(g for g in layout.groups if (g.name or g.key) == key)
    for lab in labels:
        y, x = layout.centres_mm[g.first + g.labels.index(lab)]
        cv2.circle(page, (int(round(x * PX)), int(round(y * PX))), int(layout.bubble_r_mm * PX * 0.9), 35, -1)


def test_a_blank_sheet_with_printed_letters_reads_blank(contest):
    layout = load_layout(contest)
    rec = read_page(Page(on_table(fo.render_blank(layout, DPI)), "blank.png", 1, None), layout)
    assert isinstance(rec, SheetReading)
    assert rec.answers == {f"q{i}": "" for i in range(1, 21)}
    assert not [f for f in rec.flags if f.target == "question"]


def test_marks_are_read_on_the_imported_layout(contest):
    layout = load_layout(contest)
    page = fo.render_blank(layout, DPI)
    for i in range(1, 21):
        fill(page, layout, f"q{i}", "ABCD"[i % 4])
    for k, d in enumerate("123456789"):
        fill(page, layout, f"roll{k + 1}", d)
    rec = read_page(Page(on_table(page), "marked.png", 1, None), layout)
    assert rec.answers == {f"q{i}": "ABCD"[i % 4] for i in range(1, 21)}
    assert rec.participant == "123456789" and not rec.flags


def test_csv_in_omrcheckers_column_layout(contest, tmp_path):
    layout_doc = json.loads((contest / "layout.json").read_text())
    layout_doc["output"]["empty_value"] = "-"
    (tmp_path / "c").mkdir()
    for f in contest.iterdir():
        (tmp_path / "c" / f.name).write_bytes(f.read_bytes())
    (tmp_path / "c" / "layout.json").write_text(json.dumps(layout_doc))
    layout = load_layout(tmp_path / "c")
    assert [g.name for g in layout.digit_groups(GroupKind.PARTICIPANT)][:2] == ["roll1", "roll2"]
    page = fo.render_blank(layout, DPI)
    fill(page, layout, "q1", "A")
    fill(page, layout, "q2", "CD")
    for i in range(4, 21):
        fill(page, layout, f"q{i}", "B")
    for k, d in enumerate("987654321"):
        fill(page, layout, f"roll{k + 1}", d)
    scans = tmp_path / "scans"
    scans.mkdir()
    cv2.imwrite(str(scans / "s1.png"), on_table(page))
    code = main(["read", str(scans), "--layout", str(tmp_path / "c"), "--json-out", str(tmp_path / "r.jsonl"),
                 "--csv", str(tmp_path / "r.csv"), "--workers", "1"])
    assert code in (ExitCode.OK, ExitCode.FINISHED_WITH_FLAGS)
    with (tmp_path / "r.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["file_id", "input_path", "output_path", "score", "Roll"] + [f"q{i}" for i in range(1, 21)]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1]))
    assert row["file_id"] == "s1.png" and row["input_path"].endswith("s1.png")
    assert row["Roll"] == "987654321"
    assert (row["q1"], row["q2"], row["q3"], row["q4"]) == ("A", "CD", "-", "B")


def test_an_erasure_next_to_a_clear_mark_is_recorded_not_flagged(contest):
    """Printed letters raise every fill; an erasure is judged above the page's blank level, not above zero."""
    layout = load_layout(contest)
    page = fo.render_blank(layout, DPI)
    for i in range(1, 21):
        fill(page, layout, f"q{i}", "ABCD"[i % 4])
    g = next(g for g in layout.groups if g.key == "q2")
    y, x = layout.centres_mm[g.first]
    cv2.circle(page, (int(round(x * PX)), int(round(y * PX))), int(layout.bubble_r_mm * PX * 0.85), 105, -1)
    rec = read_page(Page(on_table(page), "erased.png", 1, None), layout)
    q2 = next(r for r in rec.groups if r.key == "q2")
    assert rec.answers["q2"] == "C"
    assert q2.states[0].value == "erased"
    assert not [f for f in rec.flags if f.key == "q2"]


def test_omr_samples_fills_an_imported_layout_and_omr_read_reads_it(contest, tmp_path):
    from grading.cli import main as omr_main

    out = tmp_path / "set"
    assert omr_main(["samples", "--contest", str(contest), "--profile", "scanner", "-n", "5", "--seed", "4",
                     "--out", str(out)]) == ExitCode.OK
    truths = [json.loads(line) for line in (out / "truth.jsonl").read_text().splitlines()]
    assert len(truths) == 5 and truths[4]["blank"] and not truths[0]["blank"]
    assert len(list((out / "sheets").glob("*.jpg"))) == 5
    assert omr_main(["samples", "--contest", str(contest), "-n", "1", "--format", "pdf",
                     "--out", str(tmp_path / "x")]) == ExitCode.BAD_ARGS
