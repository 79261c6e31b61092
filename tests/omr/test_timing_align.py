"""Alignment on timing marks (``alignment.method: timing_marks``): a row of marks along the top edge and a
column along the left one, found on rotated, shifted, perspective and upside-down pages, with a mark missing
or a smudge beside one; a page without them is rejected with the reason."""
import json

import cv2
import numpy as np
import pytest

from omr.errors import AlignmentError, LayoutError
from omr.layout import layout_from_dict, load_layout
from omr.markerless import align_any
from omr.omrchecker import import_folder
from samples import foreign as fo
from tests.omr.test_omrchecker_align import DPI, PX, error_mm, moved, place

TRACKS = [{"x_mm": 15, "y_mm": 7, "dx_mm": 6, "dy_mm": 0, "count": 31, "w_mm": 2, "h_mm": 4},
          {"x_mm": 7, "y_mm": 40, "dx_mm": 0, "dy_mm": 6, "count": 40, "w_mm": 4, "h_mm": 2}]


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    base = tmp_path_factory.mktemp("timing")
    fo.write_omrchecker_folder(base / "omr", "page", questions=60)
    import_folder(base / "omr", base / "c")
    raw = json.loads((base / "c" / "layout.json").read_text())
    raw["alignment"] = {"method": "timing_marks", "timing_marks": TRACKS}
    (base / "c" / "layout.json").write_text(json.dumps(raw))
    return load_layout(base / "c")


CASES = {
    "straight": moved(),
    "rotated": moved(angle_deg=8, shift=(25, -10)),
    "perspective": moved(angle_deg=-5, perspective=0.00012, scale=0.9),
    "upside_down": moved(angle_deg=183),
    "small": moved(angle_deg=3, scale=0.7),
    "quarter_turn": moved(angle_deg=91, shift=(30, -20), to=(700, 700)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_timing_marks_find_the_bubbles_on_moved_pages(layout, case):
    page = fo.render_blank(layout, DPI)
    M = CASES[case]
    al = align_any(place(page, M, (1400, 1400) if case == "quarter_turn" else (1200, 1600)), layout)
    assert al.search == "timing_marks"
    assert error_mm(layout, al, M) < 0.3


def _mark_px(track, k):
    return int(round((track["x_mm"] + k * track["dx_mm"]) * PX)), int(round((track["y_mm"] + k * track["dy_mm"]) * PX))


def test_a_missing_mark_and_a_smudge_beside_another_do_not_move_the_sheet(layout):
    page = fo.render_blank(layout, DPI)
    for track, k in ((TRACKS[0], 0), (TRACKS[0], 12), (TRACKS[1], 20)):        # erased marks, one at an end
        x, y = _mark_px(track, k)
        page[y - 12:y + 13, x - 12:x + 13] = 255
    x, y = _mark_px(TRACKS[1], 5)
    cv2.rectangle(page, (x + 4, y - 2), (x + 14, y + 5), 0, -1)               # a smudge beside a mark
    M = moved(angle_deg=-6, shift=(10, 20))
    al = align_any(place(page, M, (1200, 1600)), layout)
    assert error_mm(layout, al, M) < 0.3


def test_a_page_without_timing_marks_is_rejected_with_the_reason(layout, tmp_path):
    page = fo.render_blank(layout, DPI)
    page[: int(12 * PX)] = 255                                                 # the top row cut off
    page[:, : int(11 * PX)] = 255                                              # and the left column
    with pytest.raises(AlignmentError) as exc:
        align_any(place(page, moved(angle_deg=2), (1200, 1600)), layout)
    assert exc.value.code in ("not_a_sheet", "partial_sheet")
    assert "timing marks" in exc.value.message


def test_the_printed_sheet_has_its_timing_marks(layout):
    page = fo.render_blank(layout, DPI)
    for track in TRACKS:
        for k in (0, track["count"] - 1):
            x, y = _mark_px(track, k)
            assert page[y - 2:y + 3, x - 2:x + 3].max() < 30
    x, y = _mark_px(TRACKS[0], 0)
    assert page[y, x + int(3 * PX)] > 200                                      # white between marks


def test_timing_marks_need_two_directions_and_no_overlap():
    base = {"id": "x", "contest": "c", "paper": {"width_mm": 210, "height_mm": 297}, "bubble": {"r_mm": 2},
            "fields": [{"block": "MCQ", "labels": ["q1"], "values": ["A", "B"], "x_mm": 50, "y_mm": 100,
                        "bubbles_gap_mm": 6, "labels_gap_mm": 6}]}
    with pytest.raises(LayoutError) as exc:
        layout_from_dict({**base, "alignment": {"method": "timing_marks", "timing_marks": TRACKS[:1]}})
    assert "two lines of marks in different directions" in "\n".join(exc.value.details)
    bad = [dict(TRACKS[0], dx_mm=1.5), TRACKS[1]]
    with pytest.raises(LayoutError) as exc:
        layout_from_dict({**base, "alignment": {"method": "timing_marks", "timing_marks": bad}})
    assert "overlap" in "\n".join(exc.value.details)
    ok = layout_from_dict({**base, "alignment": {"method": "timing_marks", "timing_marks": TRACKS}})
    assert [t.count for t in ok.align.tracks] == [31, 40]
    assert np.allclose(ok.align.tracks[1].centres_mm()[-1], (7, 40 + 39 * 6))


def test_a_timing_mark_sheet_is_read(layout):
    from omr.read import read_page
    from omr.records import Page, SheetReading
    from tests.omr.test_omrchecker_read import fill, on_table

    page = fo.render_blank(layout, 150)
    truth = {f"q{i}": "ABCD"[i % 4] if i % 5 else "" for i in range(1, 61)}
    for q, v in truth.items():
        if v:
            fill(page, layout, q, v)
    h, w = page.shape
    turned = cv2.warpAffine(page, cv2.getRotationMatrix2D((w / 2, h / 2), 4, 1.0), (w, h), borderValue=255)
    rec = read_page(Page(on_table(turned), "timing.png", 1, None), layout)
    assert isinstance(rec, SheetReading), rec
    assert rec.answers == truth
