"""OMRChecker's ``template.json`` (v1, its ``master`` branch) and ``config.json`` → our layout document.

What is translated: ``pageDimensions`` (pixels → mm through the paper size), ``bubbleDimensions`` (global and
per block), ``fieldBlocks`` with a built-in ``fieldType`` or ``bubbleValues`` + ``direction``, ``origin``,
``bubblesGap``, ``labelsGap`` (a number or one gap per pair of labels), ``fieldLabels`` with ranges
(``"q1..10"``), ``emptyValue`` (global and per block), ``customLabels``, ``outputColumns``, and the
preprocessors that find the sheet (``CropPage`` → the page outline, ``CropOnMarkers`` → four corner
markers, ``FeatureBasedAlignment`` → keypoints against the reference image). Image filters (``GaussianBlur``,
``MedianBlur``, ``Levels``) and ``config.json``'s tuning are not needed by our measurement and are reported as
not applied. Anything else — an unknown key, a preprocessor OMRChecker v1 does not have, a v2 template — is a
refusal that names it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

FIELD_TYPES: dict[str, tuple[tuple[str, ...], str]] = {     # OMRChecker v1's built-in field types
    "QTYPE_INT": (tuple("0123456789"), "vertical"),
    "QTYPE_INT_FROM_1": (tuple("1234567890"), "vertical"),
    "QTYPE_MCQ4": (("A", "B", "C", "D"), "horizontal"),
    "QTYPE_MCQ5": (("A", "B", "C", "D", "E"), "horizontal"),
    "QTYPE_MCQ4_RTL": (("D", "C", "B", "A"), "horizontal"),
    "QTYPE_MCQ5_RTL": (("E", "D", "C", "B", "A"), "horizontal"),
}
TOP_KEYS = frozenset({"pageDimensions", "bubbleDimensions", "preProcessors", "fieldBlocks", "customLabels",
                      "outputColumns", "emptyValue"})
V2_KEYS = frozenset({"templateDimensions", "processingImageShape", "outputImageShape", "alignment",
                     "customBubbleFieldTypes", "conditionalSets", "fieldBlocksOffset", "sortFiles"})
BLOCK_KEYS = frozenset({"origin", "bubblesGap", "labelsGap", "fieldLabels", "fieldType", "bubbleValues",
                        "direction", "bubbleDimensions", "emptyValue"})
FILTERS = frozenset({"GaussianBlur", "MedianBlur", "Levels"})
FINDERS = ("CropOnMarkers", "FeatureBasedAlignment", "CropPage")      # in order of preference
PROCESSING_WIDTH = 666        # OMRChecker's default config.dimensions.processing_width
MARKER_MARGIN_MM = 5.0        # assumed white margin between the paper's edge and a corner marker
_RANGE = re.compile(r"^([^.\d]+)(\d+)\.{2,3}(\d+)$")
PARTICIPANT_NAMES = re.compile(r"roll|sbd|candidate|registration|student|^id$|_id$|participant", re.I)


@dataclass
class Report:
    """What the import did not translate (``notes``) and what stops it (``refusals``), each naming the
    construct."""

    notes: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)


def parse_labels(strings: Any, where: str, rep: Report) -> list[str]:
    """OMRChecker's field strings: ``"q1..10"`` (or ``q1...10``) is q1, q2, …, q10; anything else is itself."""
    if not isinstance(strings, list) or not all(isinstance(x, str) for x in strings):
        rep.refusals.append(f"{where}: must be a list of field strings, got {strings!r}")
        return []
    out: list[str] = []
    for s in strings:
        m = _RANGE.match(s)
        if "." in s and not m:
            rep.refusals.append(f"{where}: {s!r} is not a range like \"q1..10\"")
            continue
        if m:
            a, b = int(m.group(2)), int(m.group(3))
            if a >= b:
                rep.refusals.append(f"{where}: the range {s!r} does not run upwards")
                continue
            out.extend(f"{m.group(1)}{n}" for n in range(a, b + 1))
        else:
            out.append(s)
    if len(set(out)) != len(out):
        rep.refusals.append(f"{where}: field labels overlap: {strings}")
    return out


@dataclass
class Block:
    name: str
    labels: list[str]
    values: tuple[str, ...]
    direction: str
    origin: tuple[float, float]          # template px, the first bubble's box top-left
    bubbles_gap: float
    labels_gaps: list[float]
    box: tuple[float, float]             # bubble box (w, h) in template px
    empty: str | None


def _pair(v: Any) -> tuple[float, float] | None:
    if (isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                    and x >= 0 for x in v)):
        return float(v[0]), float(v[1])
    return None


def read_blocks(tpl: dict, rep: Report) -> list[Block]:
    blocks_raw = tpl.get("fieldBlocks")
    if not isinstance(blocks_raw, dict) or not blocks_raw:
        rep.refusals.append("fieldBlocks: missing or empty")
        return []
    box_default = _pair(tpl.get("bubbleDimensions"))
    out = []
    for name, b in blocks_raw.items():
        where = f"fieldBlocks.{name}"
        if not isinstance(b, dict):
            rep.refusals.append(f"{where}: must be an object")
            continue
        for k in b:
            if k not in BLOCK_KEYS:
                rep.refusals.append(f"{where}.{k}: not a field-block key of OMRChecker v1 templates")
        blk = _block(name, b, where, box_default, rep)
        if blk:
            out.append(blk)
    return out


def _block(name: str, b: dict, where: str, box_default: tuple[float, float] | None,
           rep: Report) -> Block | None:
    if "fieldType" in b:
        ft = b["fieldType"]
        if ft not in FIELD_TYPES:
            rep.refusals.append(f"{where}.fieldType: {ft!r} is not one of OMRChecker's built-in field types "
                                f"({', '.join(FIELD_TYPES)})")
            return None
        values, direction = FIELD_TYPES[ft]
        values = tuple(b.get("bubbleValues", values))
        direction = b.get("direction", direction)
    elif "bubbleValues" in b and "direction" in b:
        values, direction = tuple(b["bubbleValues"]), b["direction"]
    else:
        rep.refusals.append(f"{where}: needs fieldType, or bubbleValues and direction")
        return None
    if direction not in ("horizontal", "vertical") or not all(isinstance(v, str) and v for v in values):
        rep.refusals.append(f"{where}: bad direction {direction!r} or bubbleValues {list(values)!r}")
        return None
    origin, box = _pair(b.get("origin")), _pair(b.get("bubbleDimensions")) or box_default
    labels = parse_labels(b.get("fieldLabels"), f"{where}.fieldLabels", rep)
    bgap, lgap = b.get("bubblesGap"), b.get("labelsGap")
    if origin is None or box is None or not isinstance(bgap, (int, float)):
        rep.refusals.append(f"{where}: origin, bubblesGap and bubbleDimensions must be numbers")
        return None
    if isinstance(lgap, (int, float)) and not isinstance(lgap, bool):
        gaps = [float(lgap)] * max(0, len(labels) - 1)
    elif isinstance(lgap, list) and len(lgap) == max(0, len(labels) - 1):
        gaps = [float(x) for x in lgap]
    else:
        rep.refusals.append(f"{where}.labelsGap: a number, or one gap per pair of consecutive labels")
        return None
    empty = b.get("emptyValue")
    return Block(name, labels, values, direction, origin, float(bgap), gaps, box,
                 empty if isinstance(empty, str) else None)


def read_preprocessors(tpl: dict, rep: Report) -> dict[str, dict]:
    """Known preprocessors by name (options); filters noted, anything else refused by name."""
    pre = tpl.get("preProcessors", [])
    found: dict[str, dict] = {}
    if not isinstance(pre, list):
        rep.refusals.append("preProcessors: must be a list")
        return found
    for i, p in enumerate(pre):
        name = p.get("name") if isinstance(p, dict) else None
        if name in FILTERS:
            rep.notes.append(f"preProcessors[{i}] {name}: not applied (marks are measured against the paper "
                             "around each bubble, so blur and levels need no tuning)")
        elif name in FINDERS:
            found[name] = p.get("options") or {}
        else:
            rep.refusals.append(f"preProcessors[{i}]: {name!r} is not a preprocessor this import knows "
                                f"(known: {', '.join(sorted(FILTERS | set(FINDERS)))})")
    return found


def check_top(tpl: Any, rep: Report) -> bool:
    if not isinstance(tpl, dict):
        rep.refusals.append("template.json: must be a JSON object")
        return False
    v2 = sorted(k for k in tpl if k in V2_KEYS)
    if v2:
        rep.refusals.append(f"template.json: {', '.join(v2)}: an OMRChecker v2 (dev) template; only the v1 format "
                            "of OMRChecker's master branch is supported")
    for k in tpl:
        if k not in TOP_KEYS and k not in V2_KEYS:
            rep.refusals.append(f"template.json: {k}: not a key of OMRChecker v1 templates")
    for k in ("pageDimensions", "bubbleDimensions", "fieldBlocks"):
        if k not in tpl:
            rep.refusals.append(f"template.json: {k}: missing")
    if _pair(tpl.get("pageDimensions")) is None or 0 in (tpl.get("pageDimensions") or [0]):
        rep.refusals.append("template.json: pageDimensions must be [width, height] in pixels")
    return not rep.refusals


def read_config(cfg: Any, rep: Report) -> int:
    """``config.json``: only ``dimensions.processing_width`` matters (it sizes CropOnMarkers' marker); the
    rest is OMRChecker's own tuning, noted as not applied. Returns the processing width."""
    if cfg is None:
        return PROCESSING_WIDTH
    if not isinstance(cfg, dict):
        rep.refusals.append("config.json: must be a JSON object")
        return PROCESSING_WIDTH
    width = PROCESSING_WIDTH
    for k, v in cfg.items():
        if k == "dimensions" and isinstance(v, dict):
            pw = v.get("processing_width", PROCESSING_WIDTH)
            width = int(pw) if isinstance(pw, (int, float)) and pw > 0 else PROCESSING_WIDTH
        elif k == "threshold_params":
            rep.notes.append("config.json threshold_params: not applied (each page's blank and marked levels are "
                             "measured on the page itself)")
        elif k == "alignment_params":
            rep.notes.append("config.json alignment_params: not applied (the whole sheet is aligned by a "
                             "homography; no per-block shifting)")
        elif k == "outputs":
            rep.notes.append("config.json outputs: not applied (results go to JSON Lines, and CSV with --csv)")
        else:
            rep.notes.append(f"config.json {k}: unknown, ignored")
    return width
