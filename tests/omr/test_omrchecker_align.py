"""Alignment without our ArUco markers, on sheets of OMRChecker-style templates moved by known homographies:
rotated, shifted, in perspective, turned upside down. The bubbles must land where they truly are; a page that
is not the sheet is rejected with a reason."""
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from omr.errors import AlignmentError
from omr.layout import load_layout
from omr.markerless import align_any
from omr.omrchecker import import_folder
from samples import foreign as fo

DPI = 100
PX = DPI / 25.4


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    base = tmp_path_factory.mktemp("align")
    out = {}
    for method in ("page", "markers"):
        fo.write_omrchecker_folder(base / f"omr-{method}", method, questions=60)
        import_folder(base / f"omr-{method}", base / method)
        out[method] = load_layout(base / method)
    fo.write_omrchecker_folder(base / "omr-features", "features", questions=60, reference_from=out["page"])
    import_folder(base / "omr-features", base / "features")
    out["features"] = load_layout(base / "features")
    return out


def _mm_to_px():
    return np.array([[PX, 0, -0.5], [0, PX, -0.5], [0, 0, 1]])


def place(page, M, size, background=70, seed=0):
    """``page`` moved by ``M`` (page px → image px) onto a textured background of ``size`` (w, h)."""
    rng = np.random.default_rng(seed)
    bg = np.clip(rng.normal(background, 12, (size[1] // 8, size[0] // 8)), 0, 255).astype(np.uint8)
    bg = cv2.resize(bg, size, interpolation=cv2.INTER_LINEAR)
    warped = cv2.warpPerspective(page, M, size, flags=cv2.INTER_LINEAR, borderValue=0)
    inside = cv2.warpPerspective(np.full(page.shape, 255, np.uint8), M, size, flags=cv2.INTER_NEAREST)
    return np.where(inside > 0, warped, bg).astype(np.uint8)


def moved(angle_deg=0.0, shift=(0, 0), perspective=0.0, scale=1.0, to=(600, 800)):
    """Page px → image px: turned about the page's centre, which lands at ``to`` + ``shift``."""
    a = math.radians(angle_deg)
    R = np.array([[scale * math.cos(a), -scale * math.sin(a), 0], [scale * math.sin(a), scale * math.cos(a), 0],
                  [0, 0, 1]])
    T0 = np.array([[1, 0, -413], [0, 1, -584], [0, 0, 1]])
    T1 = np.array([[1, 0, to[0] + shift[0]], [0, 1, to[1] + shift[1]], [0, 0, 1]])
    P = np.array([[1, 0, 0], [0, 1, 0], [perspective, perspective / 2, 1]])
    return T1 @ P @ R @ T0


def error_mm(layout, al, M):
    pts = layout.centres_mm[:, ::-1]
    truth = cv2.perspectiveTransform(pts.reshape(-1, 1, 2), M @ _mm_to_px()).reshape(-1, 2)
    got = al.map_mm(pts)
    return float(np.max(np.linalg.norm(got - truth, axis=1))) / PX


CASES = {
    "straight": moved(),
    "rotated": moved(angle_deg=8, shift=(25, -10)),
    "perspective": moved(angle_deg=-5, perspective=0.00012, scale=0.9),
    "upside_down": moved(angle_deg=183),
    "quarter_turn": moved(angle_deg=91, shift=(30, -20), to=(700, 700)),
}


@pytest.mark.slow
@pytest.mark.parametrize("method", ["page", "markers", "features"])
@pytest.mark.parametrize("case", list(CASES))
def test_each_method_finds_the_bubbles_on_moved_pages(layouts, method, case):
    layout = layouts[method]
    page = fo.render_blank(layout, DPI)
    M = CASES[case]
    img = place(page, M, (1400, 1400) if case == "quarter_turn" else (1200, 1600))
    al = align_any(img, layout)
    assert al.search == method
    assert error_mm(layout, al, M) < 0.45


def test_image_method_is_the_image_itself(tmp_path):
    fo.write_omrchecker_folder(tmp_path / "omr", "page", questions=20)
    import_folder(tmp_path / "omr", tmp_path / "c")
    raw = (tmp_path / "c" / "layout.json").read_text().replace('"method": "page"', '"method": "image"')
    (tmp_path / "c" / "layout.json").write_text(raw)
    layout = load_layout(tmp_path / "c")
    page = fo.render_blank(layout, DPI)
    al = align_any(page, layout)
    assert error_mm(layout, al, np.eye(3)) < 0.3


@pytest.mark.parametrize("method", ["page", "markers", "features"])
def test_a_page_that_is_not_the_sheet_is_rejected_with_a_reason(layouts, method):
    rng = np.random.default_rng(3)
    img = place(np.full((1169, 827), 250, np.uint8), moved(angle_deg=4), (1200, 1600), seed=2)
    cv2.putText(img, "not an answer sheet", (300, 700), cv2.FONT_HERSHEY_SIMPLEX, 2, 0, 3)
    img[rng.random(img.shape) < 0.001] = 0
    with pytest.raises(AlignmentError) as exc:
        align_any(img, layouts[method])
    assert exc.value.code in ("not_a_sheet", "bad_alignment", "partial_sheet")
    assert exc.value.message


def test_a_sheet_printed_slightly_larger_than_its_frame_is_fitted_region_by_region(tmp_path):
    """The image method takes the image as the frame; the page in it is 0.6 % larger (a printer's scaling): one
    shift cannot fit both ends of the sheet, a snap per region and a homography through them can."""
    fo.write_omrchecker_folder(tmp_path / "omr", "page", questions=60)
    import_folder(tmp_path / "omr", tmp_path / "c")
    raw = (tmp_path / "c" / "layout.json").read_text().replace('"method": "page"', '"method": "image"')
    (tmp_path / "c" / "layout.json").write_text(raw)
    layout = load_layout(tmp_path / "c")
    page = fo.render_blank(layout, DPI)
    h, w = page.shape
    M = np.array([[1.006, 0, -2.0], [0, 1.006, -2.5], [0, 0, 1]])
    img = cv2.warpPerspective(page, M, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    al = align_any(img, layout)
    assert error_mm(layout, al, M) < 0.2


def test_features_fall_back_to_the_page_outline_when_the_reference_is_the_paper(layouts, tmp_path):
    """A reference image whose print does not match (a reprint with other headings): no keypoints agree, the
    paper's outline finds the page and says so; with a frame smaller than the paper the failure stands."""
    import json
    import shutil

    src = Path(layouts["features"].align.reference).parent
    shutil.copytree(src, tmp_path / "c")
    ref = np.full((1169, 827), 255, np.uint8)
    rng = np.random.default_rng(5)
    for k in range(40):
        cv2.putText(ref, f"{rng.integers(1e6)} other text", (40, 30 + 28 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    cv2.imwrite(str(tmp_path / "c" / "reference.png"), ref)
    layout = load_layout(tmp_path / "c")
    M = CASES["rotated"]
    img = place(fo.render_blank(layout, DPI), M, (1200, 1600))
    al = align_any(img, layout)
    assert al.search == "page"
    assert error_mm(layout, al, M) < 0.45
    raw = json.loads((tmp_path / "c" / "layout.json").read_text())
    raw["alignment"]["frame_mm"] = {"x_mm": 5, "y_mm": 5, "w_mm": 200, "h_mm": 287}
    (tmp_path / "c" / "layout.json").write_text(json.dumps(raw))
    with pytest.raises(AlignmentError):
        align_any(img, load_layout(tmp_path / "c"))


def test_page_outline_on_a_light_lid_is_refused_with_what_to_do(layouts):
    page = fo.render_blank(layouts["page"], DPI)
    img = place(page, moved(angle_deg=1.5), (1200, 1600), background=250)
    with pytest.raises(AlignmentError) as exc:
        align_any(img, layouts["page"])
    assert "cannot be told from the background" in exc.value.message and "dark background" in exc.value.message
    dark = place(page, moved(angle_deg=1.5), (1200, 1600), background=70)
    assert align_any(dark, layouts["page"]).search == "page"
