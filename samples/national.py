"""Ground truth for the national exam's answer sheet (``answer_keys/national2025``): the sheet as ``omr sheet``
prints it (the PDF rasterised by poppler), filled by hand-like marks (``samples.marks``: Phần I and the Đúng/Sai
statements of Phần II as questions, the candidate number and the test code as digit columns, and Phần III's
numbers written column by column) and scanned or photographed (``samples.degrade``).

    generate_set(layout, out, profile="phone", n=50, seed=1, versions=("0101", ...))

writes ``out/sheets/*.jpg`` and ``out/truth.jsonl`` (``answers`` with ``"III.2": "-1,5"``, ``ambiguous``,
``participant``, ``version``), the format ``samples.evaluate`` compares readings with.
This never imports reader code (``omr.align``, ``omr.marks``, ``omr.read``, ``omr.markerless``).
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from omr.layout import Group, GroupKind, Layout
from omr.load.pdf import pdftoppm
from omr.national_sheet import render_national

from . import degrade as dg
from . import marks as mk

# how candidates write a Phần III answer (per question): the forms of number, and the slips that need a judge
NUMERIC_FREQ = {"blank": 0.06, "double_in_column": 0.01, "erased_then_written": 0.03}


def render_blank(layout: Layout, dpi: int) -> np.ndarray:
    """The printed sheet at ``dpi``, grayscale: ``omr sheet``'s PDF rasterised by poppler."""
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "sheet.pdf"
        render_national(layout, pdf)
        return pdftoppm(pdf, 1, dpi, timeout=60)


def random_number(rng: np.random.Generator, cols: list[Group]) -> str:
    """A number that fits the columns: "-" only where the first column has it, "," only where a column does."""
    n = len(cols)
    for _ in range(50):
        sign = "-" if "-" in cols[0].labels and rng.random() < 0.25 else ""
        room = n - len(sign)
        int_len = int(rng.integers(1, room + 1))
        frac_len = int(rng.integers(0, room - int_len)) if room - int_len >= 2 and rng.random() < 0.5 else 0
        first = "0" if int_len == 1 and rng.random() < 0.3 else str(int(rng.integers(1, 10)))
        text = sign + first + "".join(str(int(d)) for d in rng.integers(0, 10, int_len - 1))
        if frac_len:
            text += "," + "".join(str(int(d)) for d in rng.integers(0, 10, frac_len))
        if all(ch in g.labels for ch, g in zip(text, cols)):
            return text
    return str(int(rng.integers(0, 10)))


def plan_numeric(layout: Layout, rng: np.random.Generator) -> tuple[list[mk.GroupPlan], dict[str, str], list[str]]:
    """Column plans of every numeric answer, the truth per answer, and the answers a judge must see."""
    plans: list[mk.GroupPlan] = []
    truth: dict[str, str] = {}
    ambiguous: list[str] = []
    numeric = layout.digit_groups(GroupKind.NUMERIC)
    for q in layout.numeric_ids:
        cols = [g for g in numeric if g.name == q]
        u = rng.random()
        text = "" if u < NUMERIC_FREQ["blank"] else random_number(rng, cols)
        double = int(rng.integers(len(text))) if text and rng.random() < NUMERIC_FREQ["double_in_column"] else -1
        erased = int(rng.integers(len(text))) if text and rng.random() < NUMERIC_FREQ["erased_then_written"] else -1
        for k, g in enumerate(cols):
            if k >= len(text):
                plans.append(mk.GroupPlan(g.key, g.kind, "blank", "", False, []))
                continue
            a = g.labels.index(text[k])
            other = int(rng.choice([j for j in range(g.size) if j != a]))
            ops = [mk.Op(g.first + a, "fill")]
            case = "single"
            if k == double:
                ops.append(mk.Op(g.first + other, "fill"))
                case = "double"
            elif k == erased:
                ops.insert(0, mk.Op(g.first + other, "erasure"))
                case = "erased_then_marked"
            plans.append(mk.GroupPlan(g.key, g.kind, case, text[k], k == double, ops))
        truth[q] = text
        if double >= 0:
            ambiguous.append(q)
    return plans, truth, ambiguous


def generate_set(layout: Layout, out: str | Path, *, profile: str, n: int, seed: int, versions: tuple[str, ...],
                 dpi: int | None = None, profile_cfg: dict[str, Any] | None = None,
                 qfreq: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """``n`` filled and degraded sheets in ``out/sheets``; returns the truths (also ``out/truth.jsonl``)."""
    out = Path(out)
    (out / "sheets").mkdir(parents=True, exist_ok=True)
    blanks: dict[int, np.ndarray] = {}
    digits = len(layout.digit_groups(GroupKind.PARTICIPANT))
    truths = []
    for i in range(n):
        r_plan, r_draw, r_deg = (np.random.default_rng(s) for s in np.random.SeedSequence([seed, i]).spawn(3))
        params = dg.sample_params(profile, r_plan, profile_cfg)
        if dpi:
            params["dpi"] = dpi
        if params["dpi"] not in blanks:
            blanks[params["dpi"]] = render_blank(layout, params["dpi"])
        page = blanks[params["dpi"]].copy()
        if params.get("colour"):
            page = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
        pid = "".join(str(int(v)) for v in r_plan.integers(0, 10, digits))
        version = str(r_plan.choice(list(versions)))
        plan = mk.plan_sheet(layout, r_plan, participant=pid, version=version, personalised=False, qfreq=qfreq)
        num_plans, num_truth, num_ambiguous = plan_numeric(layout, r_plan)
        plan.groups.extend(num_plans)
        mk.draw_plan(page, layout, plan, dpi=params["dpi"], rng=r_draw)
        answers = {gp.key: gp.truth for gp in plan.groups if gp.kind is GroupKind.QUESTION}
        answers.update(num_truth)
        ambiguous = [gp.key for gp in plan.groups if gp.kind is GroupKind.QUESTION and gp.ambiguous]
        img, _ = dg.degrade(page, profile, params, r_deg)
        name = f"{i + 1:05d}.jpg"
        cv2.imwrite(str(out / "sheets" / name), img, [cv2.IMWRITE_JPEG_QUALITY, int(params.get("jpeg_quality", 90))])
        truths.append({"file": f"sheets/{name}", "answers": answers, "ambiguous": ambiguous + num_ambiguous,
                       "participant": plan.participant, "participant_ambiguous": "?" in plan.participant,
                       "version": plan.version, "version_ambiguous": "?" in plan.version, "profile": profile,
                       "dpi": params["dpi"]})
    with (out / "truth.jsonl").open("w", encoding="utf-8") as fh:
        for t in truths:
            fh.write(json.dumps(t, ensure_ascii=False) + "\n")
    return truths
