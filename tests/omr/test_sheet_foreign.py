"""``omr sheet`` on a layout of a sheet printed by others (imported from OMRChecker): the PDF draws what the
layout describes, and the printed page, rasterised and read back with that layout, reads blank."""
import json

import numpy as np
import pytest

from omr.cli import main
from omr.errors import ExitCode
from omr.layout import load_layout
from omr.omrchecker import import_folder
from omr.read import read_page
from omr.records import Page, SheetReading
from samples import foreign as fo
from tests.conftest import rasterise

DPI = 150
PX = DPI / 25.4


def contest(base, method):
    fo.write_omrchecker_folder(base / f"omr-{method}", method, questions=24)
    import_folder(base / f"omr-{method}", base / method)
    return base / method


def on_table(page):
    h, w = page.shape
    img = np.full((h + 80, w + 80), 60, np.uint8)
    img[40:40 + h, 40:40 + w] = page
    return img


@pytest.mark.parametrize("method", ["markers", "page"])
def test_printed_imported_sheet_reads_back_blank(tmp_path, method):
    folder = contest(tmp_path, method)
    pdf = tmp_path / "sheet.pdf"
    assert main(["sheet", str(folder / "layout.json"), "--out", str(pdf), "--copies", "2"]) == ExitCode.OK
    layout = load_layout(folder)
    img = rasterise(pdf, 300, 2)                             # a scan's resolution
    assert abs(img.shape[0] - 297 * 2 * PX) < 1.5 and abs(img.shape[1] - 210 * 2 * PX) < 1.5
    rec = read_page(Page(on_table(img), "printed.png", 1, None), layout)
    assert isinstance(rec, SheetReading), rec
    assert rec.answers == {f"q{i}": "" for i in range(1, 25)}
    assert not [f for f in rec.flags if f.target == "question"]


def dark(img, x_mm, y_mm, half=2):
    x, y = int(round(x_mm * PX)), int(round(y_mm * PX))
    return float(img[y - half:y + half + 1, x - half:x + half + 1].mean())


def test_pdf_draws_bubbles_markers_and_labels_where_the_layout_says(tmp_path):
    folder = contest(tmp_path, "markers")
    pdf = tmp_path / "sheet.pdf"
    assert main(["sheet", str(folder), "--out", str(pdf)]) == ExitCode.OK
    layout = load_layout(folder)
    img = rasterise(pdf, DPI)
    for x, y in layout.align.frame_corners_mm():           # the marker image's black centre at each corner
        assert dark(img, x, y) < 60
    r = layout.bubble_r_mm - 0.1
    y, x = layout.centres_mm[layout.question_groups[0].first]
    assert min(dark(img, x + dx, y + dy, 0) for dx, dy in ((r, 0), (-r, 0), (0, r), (0, -r))) < 140
    assert dark(img, x - r - 3, y, 3) < 245                  # the label "q1" left of the row
    assert dark(img, x + 1.6 * r, y, 0) > 240                # paper between the bubbles
    # the raster the sample generator fills is the same drawing
    gen = fo.render_blank(layout, DPI)
    h, w = min(gen.shape[0], img.shape[0]), min(gen.shape[1], img.shape[1])
    assert np.mean(np.abs(gen[:h, :w].astype(float) - img[:h, :w])) < 6


def test_page_layout_with_an_inner_frame_prints_the_frame(tmp_path):
    folder = contest(tmp_path, "page")
    raw = json.loads((folder / "layout.json").read_text())
    raw["alignment"]["frame_mm"] = {"x_mm": 6, "y_mm": 6, "w_mm": 198, "h_mm": 285}
    (folder / "layout.json").write_text(json.dumps(raw))
    pdf = tmp_path / "sheet.pdf"
    assert main(["sheet", str(folder), "--out", str(pdf)]) == ExitCode.OK
    img = rasterise(pdf, DPI)
    assert dark(img, 6.3, 150, 0) < 100 and dark(img, 150, 290.7, 0) < 100
    assert dark(img, 4, 150, 0) > 240
