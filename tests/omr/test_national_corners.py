"""The national sheet's corner squares searched where a scan puts them (``omr.markerless.corner_markers``): found
in each of the page's four orientations, and when they are not there (a photo with the sheet small in the frame,
squares at the image's corners that are not the sheet's), the whole image is searched as before."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from omr import markerless as ml
from omr.layout import load_layout
from omr.load.pdf import pdftoppm
from omr.national_sheet import render_national

NATIONAL = Path(__file__).resolve().parents[2] / "answer_keys" / "national2025"
DPI = 150
PPM = DPI / 25.4


@pytest.fixture(scope="module")
def layout():
    return load_layout(NATIONAL)


@pytest.fixture(scope="module")
def blank(layout, tmp_path_factory):
    pdf = tmp_path_factory.mktemp("corners") / "sheet.pdf"
    render_national(layout, pdf)
    return pdftoppm(pdf, 1, DPI, timeout=60)


def frame_px(layout) -> np.ndarray:
    """The four marker centres of the upright page at ``DPI`` (x, y), pixel-centre convention."""
    x, y, w, h = layout.align.frame
    return np.array([(x, y), (x + w, y), (x + w, y + h), (x, y + h)]) * PPM - 0.5


def test_the_corner_squares_of_a_scan_are_found_in_the_corner_windows(layout, blank):
    found = ml.corner_markers(blank, layout)
    assert found is not None
    assert np.abs(ml._clockwise(found) - frame_px(layout)).max() < 1.0


@pytest.mark.parametrize("turn", [None, cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_COUNTERCLOCKWISE])
def test_a_scan_in_any_orientation_is_aligned_from_its_corner_windows(layout, blank, turn, monkeypatch):
    img = blank if turn is None else cv2.rotate(blank, turn)
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 1.5, 1.0)        # a scan a little askew, shifted
    m[:, 2] += (9, -6)
    img = cv2.warpAffine(img, m, (w, h), borderValue=255)

    def no_search(*_a, **_k):
        raise AssertionError("the whole image was searched")
    monkeypatch.setattr(ml, "find_markers", no_search)
    al = ml.align_any(img, layout)
    # where the layout's top-left bubble of Phần I lands: the same place as on the page turned the same way
    g = next(g for g in layout.question_groups if g.key == "I.1")
    y_mm, x_mm = layout.centres_mm[g.first]
    p = np.array([x_mm * PPM - 0.5, y_mm * PPM - 0.5, 1.0])
    H0 = np.eye(3)
    bh, bw = blank.shape
    if turn == cv2.ROTATE_90_CLOCKWISE:
        H0 = np.array([[0, -1, bh - 1], [1, 0, 0], [0, 0, 1]], float)
    elif turn == cv2.ROTATE_180:
        H0 = np.array([[-1, 0, bw - 1], [0, -1, bh - 1], [0, 0, 1]], float)
    elif turn == cv2.ROTATE_90_COUNTERCLOCKWISE:
        H0 = np.array([[0, 1, 0], [-1, 0, bw - 1], [0, 0, 1]], float)
    want = np.vstack([m, [0, 0, 1]]) @ H0 @ p
    got = al.map_mm(np.array([[x_mm, y_mm]]))[0]
    assert np.abs(got - want[:2]).max() < 1.5, (turn, got, want)


def test_a_photo_with_the_sheet_small_in_the_frame_is_searched_whole(layout, blank):
    h, w = blank.shape
    img = np.full((int(h * 1.5), int(w * 1.5)), 60, np.uint8)      # a dark table around the sheet
    img[h // 4:h // 4 + h, w // 4:w // 4 + w] = blank
    assert ml.corner_markers(img, layout) is None
    al = ml.align_any(img, layout)
    got = al.map_mm(np.array([layout.align.frame[:2]]))[0]
    assert np.abs(got - (frame_px(layout)[0] + (w // 4, h // 4))).max() < 1.0


def test_squares_at_the_image_corners_that_are_not_the_sheets_are_rejected_by_its_bubbles(layout, blank):
    """A page whose image corners hold squares like the sheet's (another page's, a scanner's marks) while the
    sheet lies smaller in the middle: the corner quad is refused by the printed bubbles, the whole image is
    searched, and the sheet is found."""
    h, w = blank.shape
    H, W = int(h * 1.35), int(w * 1.35)
    img = np.full((H, W), 255, np.uint8)
    oy, ox = (H - h) // 2, (W - w) // 2
    img[oy:oy + h, ox:ox + w] = blank
    marker = ml._marker_image(layout.align.marker)
    side = int(round(layout.align.marker_size_mm * max(H, W) / layout.height_mm))
    decoy = cv2.resize(marker, (side, side), interpolation=cv2.INTER_AREA)
    for y, x in ((20, 20), (20, W - side - 20), (H - side - 20, W - side - 20), (H - side - 20, 20)):
        img[y:y + side, x:x + side] = decoy
    assert ml.corner_markers(img, layout) is not None               # the decoys are found first …
    al = ml.align_any(img, layout)                                  # … and refused: the sheet is found
    got = al.map_mm(np.array([layout.align.frame[:2]]))[0]
    assert np.abs(got - (frame_px(layout)[0] + (ox, oy))).max() < 1.0
