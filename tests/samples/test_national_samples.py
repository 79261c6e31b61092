"""The national sheet's ground truth: numbers that fit the columns, and a generated set read back exactly."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from omr.layout import GroupKind, load_layout

NATIONAL = Path(__file__).resolve().parents[2] / "answer_keys" / "national2025"


def test_random_numbers_fit_the_columns():
    from samples.national import random_number

    layout = load_layout(NATIONAL)
    cols = [g for g in layout.digit_groups(GroupKind.NUMERIC) if g.name == "III.1"]
    rng = np.random.default_rng(5)
    seen = {random_number(rng, cols) for _ in range(400)}
    assert all(re.fullmatch(r"-?\d+(,\d+)?", s) and len(s) <= 4 for s in seen)
    assert any(s.startswith("-") for s in seen) and any("," in s for s in seen) and any(len(s) == 4 for s in seen)
    assert all(s.index(",") in (1, 2) for s in seen if "," in s)


@pytest.mark.slow
def test_generated_sheets_read_back_without_silent_errors(tmp_path):
    from omr.load import LoadOptions, discover, plan_pages
    from omr.read import read_ref
    from samples.evaluate import evaluate
    from samples.national import generate_set

    layout = load_layout(NATIONAL)
    truths = generate_set(layout, tmp_path, profile="scanner", n=3, seed=4, versions=("101", "102"), dpi=150)
    saved = [json.loads(line) for line in (tmp_path / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    assert saved == truths and set(truths[0]["answers"]) == set(layout.question_ids + layout.numeric_ids)
    readings = []
    for f in sorted((tmp_path / "sheets").glob("*.jpg")):
        found, _ = discover([str(f)])
        readings += [read_ref(ref, layout, LoadOptions()).to_json() for ref in plan_pages(found[0], LoadOptions())]
    ev = evaluate(readings, truths, root=tmp_path)
    assert ev.questions["silent_error"] == 0 and ev.questions["exact"] >= 0.95 * 3 * 78
    assert ev.participant["silent_error"] == 0 and ev.version["silent_error"] == 0
    assert ev.participant["exact"] + ev.participant["flagged"] == 3
