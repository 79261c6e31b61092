"""A sheet photographed while the phone moved: the smear hides the corner markers from the detector; the reader
finds the sheet on the page deconvolved of the smear (``omr.deblur``) and reads the marks on the page as taken."""
import math

import cv2
import numpy as np
import pytest

from omr.layout import GroupKind
from omr.load import LoadOptions, plan_pages
from omr.read import read_page, read_ref, smeared_doubts
from omr.records import GroupRead, MarkState, Page, SheetReading, Status

DPI = 150
PPM = DPI / 25.4


@pytest.fixture(scope="module")
def blank(demo_sheet):
    return demo_sheet


@pytest.fixture(scope="module")
def filled(blank, demo_layout):
    """The demo sheet at 150 dpi with every question answered (A, B, C, D in turn) by a dark disc, the candidate
    number and the version filled in too (the QR code does not survive a long smear)."""
    img = blank.copy()
    want = {}

    def disc(idx):
        y, x = demo_layout.centres_mm[idx]
        cv2.circle(img, (int(round(x * PPM)), int(round(y * PPM))), int(demo_layout.bubble_r_mm * 0.85 * PPM), 40, -1)

    for g in demo_layout.question_groups:
        disc(g.first + int(g.key) % 4)
        want[g.key] = g.labels[int(g.key) % 4]
    for kind, value in ((GroupKind.PARTICIPANT, "123456"), (GroupKind.VERSION, "101")):
        for d, g in zip(value, demo_layout.digit_groups(kind)):
            disc(g.first + int(d))
    return img, want


def _smeared(img: np.ndarray, length: float, angle_deg: float) -> np.ndarray:
    """A straight motion smear ``length`` px long, the sheet then lying on a grey desk."""
    size = int(length) + 3 | 1
    m, a = size // 2, math.radians(angle_deg)
    k = np.zeros((size, size), np.float32)
    cv2.line(k, (round(m - length / 2 * math.cos(a)), round(m - length / 2 * math.sin(a))),
             (round(m + length / 2 * math.cos(a)), round(m + length / 2 * math.sin(a))), 1.0, 1, cv2.LINE_AA)
    out = cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REPLICATE)
    return cv2.copyMakeBorder(out, 200, 200, 150, 150, cv2.BORDER_CONSTANT, value=110)


def _tilted(img: np.ndarray, k: float) -> np.ndarray:
    """The sheet photographed at a slant: its right edge ``k`` of the height shorter at each end."""
    h, w = img.shape
    m = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]),
                                    np.float32([[0, 0], [w, h * k], [w, h * (1 - k)], [0, h]]))
    return cv2.warpPerspective(img, m, (w, h), borderValue=255)


def _read(tmp_path, img, layout):
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), img)
    return read_ref(plan_pages(str(path), LoadOptions())[0], layout, LoadOptions())


@pytest.mark.parametrize("length", [12, 16])
def test_a_sheet_smeared_past_its_markers_is_found_on_the_page_deconvolved(tmp_path, demo_layout, filled, length):
    img, want = filled
    rec = _read(tmp_path, _smeared(img, length, 35), demo_layout)
    assert rec.status.value != "rejected", getattr(rec, "reason", "")
    assert abs(rec.alignment["motion_blur_px"] - length) < 2.5
    assert rec.answers == want and rec.participant == "123456" and rec.version == "101"


@pytest.mark.parametrize("length, angle", [(11, 35), (10, 0)])
def test_a_slanted_smeared_sheet_found_by_three_markers_is_read_by_four_on_the_page_deconvolved(
        tmp_path, demo_layout, filled, length, angle):
    """The far corner of a slanted photo is the smallest: a smear that the others survive hides its marker. A
    three-marker fit may misplace bubbles and sends the whole sheet to a judge; deconvolved, all four are found."""
    img, want = filled
    photo = _smeared(_tilted(img, 0.15), length, angle)
    first = read_page(Page(image=photo, source="photo.png", page=1, dpi=None, scale=1.0), demo_layout)
    assert first.alignment["markers"] == 3                      # what the reader had to go on before
    rec = _read(tmp_path, photo, demo_layout)
    assert rec.alignment["markers"] == 4 and abs(rec.alignment["motion_blur_px"] - length) < 2.5
    assert not any(f.reason == "three_markers" for f in rec.flags)
    assert rec.answers == want and rec.participant == "123456" and rec.version == "101"


def test_a_sharp_sheet_is_read_without_looking_for_a_smear(tmp_path, demo_layout, filled):
    img, want = filled
    rec = _read(tmp_path, _smeared(img, 1, 0), demo_layout)
    assert "motion_blur_px" not in rec.alignment and rec.answers == want


def test_a_smeared_page_that_is_no_sheet_stays_refused_with_its_reason(tmp_path, demo_layout):
    page = np.full((1700, 1200), 235, np.uint8)
    for y in range(200, 1500, 40):                  # lines of "text"
        cv2.line(page, (150, y), (1050, y), 60, 3)
    rec = _read(tmp_path, _smeared(page, 14, 20), demo_layout)
    assert rec.status.value == "rejected" and rec.reason_code.value == "not_a_sheet"


def test_on_a_smeared_sheet_only_plain_marks_are_read_the_rest_goes_to_a_judge(tmp_path, demo_layout, filled):
    # an erasure's residue beside question 1's answer: on a sharp photo an erasure, read; smeared, the smear
    # also blurs what tells residue from a mark — a doubt with its reason, the plain questions still read
    img, want = filled
    img = img.copy()
    g = next(g for g in demo_layout.question_groups if g.key == "1")
    y, x = demo_layout.centres_mm[g.first]
    cv2.circle(img, (int(round(x * PPM)), int(round(y * PPM))), int(demo_layout.bubble_r_mm * 0.9 * PPM), 175, -1)
    sharp = _read(tmp_path, _smeared(img, 1, 0), demo_layout)
    assert sharp.answers["1"] == want["1"] and not [f for f in sharp.flags if f.key == "1"]
    rec = _read(tmp_path, _smeared(img, 12, 35), demo_layout)
    reasons = {f.key: f.reason for f in rec.flags if f.target == "question"}
    assert reasons.get("1") == "blurred_mark" and "nhoè" in next(f.message for f in rec.flags if f.key == "1")
    assert {k: v for k, v in rec.answers.items() if k not in reasons} == {k: v for k, v in want.items()
                                                                          if k not in reasons}
    assert len(reasons) <= 5



def test_on_a_smeared_sheet_a_bubble_lighter_than_the_blanks_is_a_doubt_not_a_blank():
    """A phone photo at 76 dpi smeared 8 px (generated phone set s23301, page 62): the loop drawn round question
    34's C blurred into the paper around the bubble; no mark on it, but the bubble read 0.28 of the page's mark
    level lighter than its blanks (its surround darker: the paper level is taken there) — it was a silent blank.
    Blanks of smeared pages read ≥ -0.06; any question holding such a bubble goes to a judge."""
    def q(key, fills, marked=""):
        states = tuple(MarkState.MARKED if lab in marked else MarkState.BLANK for lab in "ABCD")
        return GroupRead(key, marked, states, fills, 0.9, None)

    rec = SheetReading("p.jpg", 1, "demo-a4-100", Status.OK, None, None, {}, (),
                       groups=(q("33", (0.10, 0.12, 0.11, 0.08)),                 # blank, within the blanks
                               q("34", (0.119, 0.088, -0.11, 0.062)),             # the loop round C
                               q("35", (0.09, 0.95, 0.12, 0.11), "B")),           # a plain fill
                       alignment={"blank_level": 0.1115, "mark_level": 0.8964})
    doubts = smeared_doubts(rec, {"33", "34", "35"})
    assert [(f.key, f.reason) for f in doubts] == [("34", "blurred_mark")]
    assert smeared_doubts(rec, {"33", "35"}) == ()          # not a question of the sheet: not its business
