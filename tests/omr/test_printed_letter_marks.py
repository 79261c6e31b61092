"""Marks on bubbles with dark printed letters inside, photographed by a phone: the shape of the ink is measured
against the page's own blank bubbles of the same letter, so a blurred letter and ring are not read as a loop, a
tick or a stroke, and a fill over the letter is a fill (sheets from the generator, as ``bench.foreign_bench``
makes them)."""
import cv2
import numpy as np
import pytest

from omr.layout import GroupKind, load_layout
from omr.omrchecker import import_folder
from omr.load import LoadOptions, discover, plan_pages
from omr.read import read_ref
from omr.records import SheetReading
from samples import degrade as dg
from samples import foreign as fo
from samples import marks as mk

SEED = 7001


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    base = tmp_path_factory.mktemp("letters")
    fo.write_omrchecker_folder(base / "omr", "markers")
    import_folder(base / "omr", base / "contest")
    return load_layout(base / "contest")


def photo(layout, i: int, path, *, blank: bool):
    """Sheet ``i`` of a phone set as ``samples.foreign.generate_set`` draws it, written as a JPEG to ``path``:
    (truth, ambiguous keys)."""
    r_plan, r_draw, r_deg = (np.random.default_rng(s) for s in np.random.SeedSequence([SEED, i]).spawn(3))
    params = dg.sample_params("phone", r_plan, None)
    page = fo.render_blank(layout, params["dpi"])
    if params.get("colour"):
        page = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
    truth, ambiguous = {g.key: "" for g in layout.question_groups}, set()
    if not blank:
        n = len(layout.digit_groups(GroupKind.PARTICIPANT))
        plan = mk.plan_sheet(layout, r_plan, participant="".join(str(int(v)) for v in r_plan.integers(0, 10, n)),
                             version="", personalised=False)
        mk.draw_plan(page, layout, plan, dpi=params["dpi"], rng=r_draw)
        truth = {gp.key: gp.truth for gp in plan.groups if gp.kind is GroupKind.QUESTION}
        ambiguous = {gp.key for gp in plan.groups if gp.kind is GroupKind.QUESTION and gp.ambiguous}
    img, _ = dg.degrade(page, "phone", params, r_deg)
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, int(params.get("jpeg_quality", 90))])
    return truth, ambiguous


def read(path, layout):
    """As ``omr read`` reads a file (the JPEG decoded at the scale the loader picks)."""
    found, _ = discover([str(path)])
    (ref,) = plan_pages(found[0], LoadOptions())
    return read_ref(ref, layout, LoadOptions())


@pytest.mark.slow
def test_a_blank_photo_of_letter_printed_bubbles_reads_blank_without_doubts(layout, tmp_path):
    photo(layout, 9, tmp_path / "blank.jpg", blank=True)
    rec = read(tmp_path / "blank.jpg", layout)
    assert isinstance(rec, SheetReading)
    assert not any(rec.answers.values())
    assert [(f.key, f.reason) for f in rec.flags if f.target == "question"] == []


@pytest.mark.slow
def test_fills_over_dark_printed_letters_are_fills_not_circles_or_ticks(layout, tmp_path):
    truth, ambiguous = photo(layout, 25, tmp_path / "filled.jpg", blank=False)
    rec = read(tmp_path / "filled.jpg", layout)
    assert isinstance(rec, SheetReading)
    needless = [(f.key, f.reason) for f in rec.flags if f.target == "question" and f.key not in ambiguous
                and f.reason in ("circled", "tick_or_x", "unusual_mark")]
    assert needless == []
    wrong = [q for q, want in truth.items() if q not in ambiguous and rec.answers[q] != want
             and q not in {f.key for f in rec.flags}]
    assert wrong == []
