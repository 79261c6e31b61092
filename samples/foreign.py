"""Ground truth for sheets printed by others: OMRChecker-style folders, their sheets rendered, filled and
degraded (the yardstick for layouts imported with ``omr import omrchecker``).

``write_omrchecker_folder(out, method=...)`` writes an OMRChecker v1 folder (``template.json``,
``config.json``, ``evaluation.json``, and the marker or reference image its preprocessor needs) for a
100-question, 9-digit roll-number sheet in OMRChecker's own style: bubbles with their letters printed inside,
no ArUco and no QR. ``render_blank(layout, dpi)`` draws any imported layout as printed; ``generate_set``
fills pages with hand-like marks (``samples.marks``) and scans or photographs them (``samples.degrade``),
writing ``sheets/*.jpg`` and ``truth.jsonl`` like ``samples.generator`` does.

This never imports reader code (``omr.align``, ``omr.marks``, ``omr.read``, ``omr.markerless``).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from omr.layout import GroupKind, Layout
from omr.sheet import font_files
from omr.sheet_foreign import render_raster

from . import degrade as dg
from . import marks as mk

PAGE_PX = (1240, 1754)            # pageDimensions of the generated templates: A4 at 150 px per inch
METHODS = {"markers": "CropOnMarkers", "page": "CropPage", "features": "FeatureBasedAlignment"}


def marker_image(size: int = 120) -> np.ndarray:
    """A round corner marker (black disc, white ring, black centre), like OMRChecker's omr_marker.jpg."""
    img = np.full((size, size), 255, np.uint8)
    c = (size // 2, size // 2)
    cv2.circle(img, c, int(size * 0.42), 0, -1, cv2.LINE_AA)
    cv2.circle(img, c, int(size * 0.28), 255, -1, cv2.LINE_AA)
    cv2.circle(img, c, int(size * 0.15), 0, -1, cv2.LINE_AA)
    return img


def template_doc(method: str, *, questions: int = 100, inset_px: int = 90) -> dict[str, Any]:
    """An OMRChecker v1 template: Roll (9 digits) + MCQ4 questions in four columns."""
    pre: list[dict[str, Any]] = []
    if method == "markers":
        pre = [{"name": "CropOnMarkers", "options": {"relativePath": "omr_marker.jpg",
                                                      "sheetToMarkerWidthRatio": 17}}]
    elif method == "page":
        pre = [{"name": "CropPage", "options": {"morphKernel": [10, 10]}}]
    elif method == "features":
        pre = [{"name": "CropPage", "options": {"morphKernel": [10, 10]}},
               {"name": "FeatureBasedAlignment", "options": {"reference": "reference.png"}}]
    per_col = math.ceil(questions / 4)
    blocks: dict[str, Any] = {
        "Roll": {"fieldType": "QTYPE_INT", "fieldLabels": ["roll1..9"], "origin": [inset_px + 60, 300],
                 "bubblesGap": 38, "labelsGap": 40},
    }
    for c in range(4):
        first = c * per_col + 1
        last = min(questions, first + per_col - 1)
        blocks[f"MCQ_Block_{c + 1}"] = {
            "fieldType": "QTYPE_MCQ4", "fieldLabels": [f"q{first}..{last}"],
            "origin": [inset_px + 70 + c * 262, 720], "bubblesGap": 40, "labelsGap": 36}
    return {"pageDimensions": list(PAGE_PX), "bubbleDimensions": [28, 28], "preProcessors": pre,
            "fieldBlocks": blocks, "customLabels": {"Roll": ["roll1..9"]}, "emptyValue": "",
            "outputColumns": ["Roll"] + [f"q{i}" for i in range(1, questions + 1)]}


def evaluation_doc(questions: int, rng: np.random.Generator) -> dict[str, Any]:
    answers = [str(rng.choice(list("ABCD"))) for _ in range(questions)]
    return {"source_type": "custom",
            "options": {"questions_in_order": [f"q1..{questions}"], "answers_in_order": answers},
            "marking_schemes": {"DEFAULT": {"correct": "4", "incorrect": "-1", "unmarked": "0"}}}


def write_omrchecker_folder(out: str | Path, method: str, *, questions: int = 100, seed: int = 1,
                            reference_from: Layout | None = None) -> Path:
    """An OMRChecker folder; for ``features`` the reference image is drawn from ``reference_from`` (the same
    template imported with method ``page``: the same frame, the whole paper)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    (out / "template.json").write_text(json.dumps(template_doc(method, questions=questions), indent=1))
    (out / "config.json").write_text(json.dumps({"dimensions": {"processing_width": 666,
                                                                "processing_height": 820},
                                                 "threshold_params": {"MIN_JUMP": 25}}, indent=1))
    (out / "evaluation.json").write_text(json.dumps(evaluation_doc(questions, rng), indent=1))
    if method == "markers":
        cv2.imwrite(str(out / "omr_marker.jpg"), marker_image())
    if method == "features":
        if reference_from is None:
            raise ValueError("the features template needs reference_from (the layout to draw the reference)")
        cv2.imwrite(str(out / "reference.png"), render_blank(reference_from, 100))
    return out


def render_blank(layout: Layout, dpi: float) -> np.ndarray:
    """The blank sheet as ``omr sheet`` prints it (``omr.sheet_foreign``), rasterised at ``dpi``: grayscale."""
    return render_raster(layout, dpi, font_files())


def _participant(layout: Layout, rng: np.random.Generator) -> str:
    n = len(layout.digit_groups(GroupKind.PARTICIPANT))
    return "".join(str(int(v)) for v in rng.integers(0, 10, n))


def generate_set(layout: Layout, out: str | Path, *, profile: str, n: int, seed: int, dpi: int | None = 300,
                 blank_every: int = 0, profile_cfg: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """``n`` filled (every ``blank_every``-th left blank) and degraded sheets of ``layout`` in ``out/sheets``;
    returns the truths (also written to ``out/truth.jsonl``)."""
    out = Path(out)
    (out / "sheets").mkdir(parents=True, exist_ok=True)
    blanks: dict[int, np.ndarray] = {}
    truths = []
    for i in range(n):
        ss = np.random.SeedSequence([seed, i])
        r_plan, r_draw, r_deg = (np.random.default_rng(s) for s in ss.spawn(3))
        params = dg.sample_params(profile, r_plan, profile_cfg)
        if dpi:
            params["dpi"] = dpi
        if params["dpi"] not in blanks:
            blanks[params["dpi"]] = render_blank(layout, params["dpi"])
        page = blanks[params["dpi"]].copy()
        dpi_used = params["dpi"]
        if params.get("colour"):
            page = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
        is_blank = bool(blank_every) and i % blank_every == blank_every - 1
        answers: dict[str, str] = {g.key: "" for g in layout.question_groups}
        participant, ambiguous = "", []
        if not is_blank:
            plan = mk.plan_sheet(layout, r_plan, participant=_participant(layout, r_plan), version="",
                                 personalised=False)
            mk.draw_plan(page, layout, plan, dpi=dpi_used, rng=r_draw)
            answers = {gp.key: gp.truth for gp in plan.groups if gp.kind is GroupKind.QUESTION}
            ambiguous = [gp.key for gp in plan.groups if gp.kind is GroupKind.QUESTION and gp.ambiguous]
            participant = plan.participant
        img, _ = dg.degrade(page, profile, params, r_deg)
        name = f"{i + 1:05d}.jpg"
        cv2.imwrite(str(out / "sheets" / name), img, [cv2.IMWRITE_JPEG_QUALITY, int(params.get("jpeg_quality", 90))])
        truths.append({"file": f"sheets/{name}", "blank": is_blank, "answers": answers, "ambiguous": ambiguous,
                       "participant": participant, "profile": profile})
    with (out / "truth.jsonl").open("w", encoding="utf-8") as fh:
        for t in truths:
            fh.write(json.dumps(t) + "\n")
    return truths
