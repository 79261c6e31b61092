"""The harsh mark kinds of the sample generator: planned with the right truth, drawn where and how they say.

Measured on the pixels a Pen draws on white paper, independently of the reader (no omr.align / omr.marks)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from omr.layout import load_layout
from samples import marks as mk

ROOT = Path(__file__).resolve().parents[2]
LAYOUT = load_layout(ROOT / "answer_keys" / "demo" / "layout.json")
DPI = 300.0
R_PX = LAYOUT.bubble_r_mm * DPI / 25.4
PENCIL = mk.Style(tool="pencil", darkness=0.55, coverage=0.92, shapes=(0.5, 0.3, 0.2), offset=0.05,
                  overflow=0.0, stroke_mm=0.55)


def _draw(kind: str, seed: int = 0) -> tuple[np.ndarray, mk.Drawn]:
    page = np.full((240, 240), 255, np.uint8)
    pen = mk.Pen(page, DPI, LAYOUT.bubble_r_mm, PENCIL, np.random.default_rng(seed))
    c = 119.5
    d = {"fill": lambda: pen.fill(c, c), "light": lambda: pen.fill(c, c, light=True),
         "half": lambda: pen.fill(c, c, half=True), "circle": lambda: pen.circle(c, c),
         "circle_letter": lambda: pen.circle(c, c, letter=True), "erasure": lambda: pen.erasure(c, c),
         "heavy_erasure": lambda: pen.erasure(c, c, heavy=True)}[kind]()
    return 1.0 - page.astype(np.float64) / 255.0, d


def _radii() -> np.ndarray:
    yy, xx = np.mgrid[:240, :240]
    return np.hypot(yy - 119.5, xx - 119.5) / R_PX


NEW_CASES = {"heavy_erasure": (False, 1), "light": (False, 1), "half": (False, 1), "circle": (True, 1),
             "circle_letter": (True, 1)}


@pytest.mark.parametrize("case", sorted(NEW_CASES))
def test_plan_truth_of_each_harsh_case(case):
    g = LAYOUT.question_groups[0]
    gp = mk._plan_question(g, np.random.default_rng(3), {case: 1.0})
    ambiguous, letters = NEW_CASES[case]
    assert gp.case == case and gp.ambiguous is ambiguous and len(gp.truth) == letters
    kinds = [op.kind for op in gp.ops]
    target = [op for op in gp.ops if op.kind != "heavy_erasure"][0]
    assert g.labels[target.bubble - g.first] == gp.truth       # the mark is on the intended answer
    if case == "heavy_erasure":
        assert kinds == ["heavy_erasure", "fill"] and gp.ops[0].bubble != gp.ops[1].bubble
    # what the demo rules make of it
    assert (case in mk.DEMO_DOUBT_CASES) is case.startswith("circle")
    assert mk.RULE_OF_CASE.get(case) == ("circle_around" if case.startswith("circle") else None)


def test_harsh_profile_mixes_every_kind_and_rules_cover_tick_cross_crossed_out():
    assert set(mk.HARSH_QUESTION_FREQ) >= {"tick", "cross", "crossed_out_remarked", "heavy_erasure", "light",
                                          "half", "circle", "circle_letter"}
    assert sum(mk.HARSH_QUESTION_FREQ.values()) < 0.5
    assert mk.RULE_OF_CASE["tick"] == mk.RULE_OF_CASE["cross"] == "tick_or_x_on_empty"
    assert mk.RULE_OF_CASE["crossed_out_remarked"] == "crossed_out_fill"


def test_circle_around_a_bubble_leaves_the_bubble_empty_and_inks_the_ring_outside():
    for seed in range(5):
        dark, d = _draw("circle", seed)
        rad = _radii()
        assert dark[rad < 0.75].max() < 0.05                   # the bubble left empty (the loop may touch its rim)
        ring = dark[(rad > 1.05) & (rad < 1.7)]
        assert (ring > 0.2).sum() > 0.5 * 2 * math.pi * 1.35 * R_PX   # a loop most of the way round
        assert d.coverage < 0.1


def test_circle_around_the_letter_stays_inside_the_bubble_with_an_empty_centre():
    for seed in range(5):
        dark, _ = _draw("circle_letter", seed)
        rad = _radii()
        assert dark[rad > 1.05].max() < 0.05
        assert dark[rad < 0.2].mean() < 0.05
        assert dark[(rad > 0.45) & (rad < 0.9)].mean() > 0.08


def test_light_fill_is_lighter_than_a_fill_and_heavy_residue_between_light_erasure_and_fill():
    def mean_dark(kind):
        return np.mean([_draw(kind, s)[0][_radii() < 0.6].mean() for s in range(6)])
    fill, light = mean_dark("fill"), mean_dark("light")
    heavy, erasure = mean_dark("heavy_erasure"), mean_dark("erasure")
    assert 0.4 * fill < light < 0.75 * fill
    assert erasure < heavy < 0.8 * fill


def test_half_fill_covers_one_side_of_the_bubble():
    for seed in range(5):
        dark, d = _draw("half", seed)
        assert mk.HALF_COVERAGE[0] <= d.coverage <= mk.HALF_COVERAGE[1]
        rad = _radii()
        yy, xx = np.mgrid[:240, :240]
        halves = [dark[(rad < 0.9) & m].mean() for m in (xx < 119.5, xx > 119.5, yy < 119.5, yy > 119.5)]
        assert max(halves) > 3 * min(halves)                  # one side dark, the opposite one not
