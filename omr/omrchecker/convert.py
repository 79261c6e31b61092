"""An OMRChecker template (parsed by ``omr.omrchecker.template``) → our layout document (``fields`` form).

Coordinates: after its preprocessors, OMRChecker resizes the found rectangle to ``pageDimensions`` and reads
bubbles there. That rectangle is the paper (CropPage; FeatureBasedAlignment with a reference scan of the whole
page; no preprocessor: the image itself), or the rectangle through the four marker centres (CropOnMarkers).
The import places that rectangle — our layout's alignment frame — on the paper in mm and maps template pixels
linearly into it. A bubble's box (``bubbleDimensions`` from its ``origin`` point) becomes a bubble centred in
the box whose radius is half the box's smaller side.
"""
from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import cv2

from .template import MARKER_MARGIN_MM, PARTICIPANT_NAMES, Block, Report


def frame_mm(method: str, opts: dict, paper: tuple[float, float], src: Path, processing_width: int,
             rep: Report) -> tuple[tuple[float, float, float, float], float]:
    """Where the template's rectangle lies on the paper (x, y, w, h mm), and the marker's width (markers)."""
    w, h = paper
    if method != "markers":
        return (0.0, 0.0, w, h), 0.0
    marker = cv2.imread(str(src), cv2.IMREAD_GRAYSCALE)
    ratio = opts.get("sheetToMarkerWidthRatio")
    if isinstance(ratio, (int, float)) and ratio > 0:
        size = w / float(ratio)
    else:
        size = w * (marker.shape[1] if marker is not None else 40) / processing_width
    inset = MARKER_MARGIN_MM + size / 2
    rep.notes.append(f"CropOnMarkers: the markers are taken as {size:.1f} mm wide, their centres {inset:.1f} mm "
                     "from the paper's edges (the template does not say where they are printed); only printing "
                     "from this layout depends on it, reading does not")
    return (inset, inset, w - 2 * inset, h - 2 * inset), size


def participant_fields(blocks: list[Block], custom: dict[str, list[str]], chosen: str | None,
                       rep: Report) -> tuple[str | None, list[str]]:
    """The custom label (or digit block) that is the participant id, and its digit fields in order."""
    digit_fields = {lab for b in blocks if sorted(b.values) == list("0123456789") for lab in b.labels}
    candidates = [(name, parts) for name, parts in custom.items()
                  if parts and all(p in digit_fields for p in parts)]
    candidates += [(b.name, b.labels) for b in blocks if all(lab in digit_fields for lab in b.labels)
                   and not any(lab in parts for _, parts in candidates for lab in b.labels)]
    if chosen is not None:
        for name, parts in candidates:
            if name == chosen:
                return name, list(parts)
        rep.refusals.append(f"--participant {chosen}: no custom label or block of digit fields has that name "
                            f"(candidates: {', '.join(n for n, _ in candidates) or 'none'})")
        return None, []
    named = [(n, p) for n, p in candidates if PARTICIPANT_NAMES.search(n)]
    if len(named) == 1:
        return named[0][0], list(named[0][1])
    if len(named) > 1:
        rep.notes.append(f"several digit fields look like the participant id ({', '.join(n for n, _ in named)}); "
                         "none was taken: pass --participant NAME")
    return None, []


def build_layout(tpl: dict, blocks: list[Block], *, lid: str, contest: str, paper: tuple[float, float],
                 alignment: dict[str, Any], frame: tuple[float, float, float, float], participant: list[str],
                 custom: dict[str, list[str]], columns: list[str] | None) -> dict[str, Any]:
    W, H = (float(v) for v in tpl["pageDimensions"])
    fx, fy, fw, fh = frame
    sx, sy = fw / W, fh / H
    radius = min(min(b.box[0] * sx, b.box[1] * sy) / 2 for b in blocks)
    fields: list[dict[str, Any]] = []
    for b in blocks:
        cx, cy = b.origin[0] + b.box[0] / 2, b.origin[1] + b.box[1] / 2
        horizontal = b.direction == "horizontal"
        bgap = b.bubbles_gap * (sx if horizontal else sy)
        lgaps = [g * (sy if horizontal else sx) for g in b.labels_gaps]
        radius = min(radius, _half_gap(bgap, lgaps))
        kinds = ["participant" if lab in participant else "question" for lab in b.labels]
        for kind, part in _runs(b.labels, kinds, lgaps):
            labels, gaps, lead = part
            x = fx + cx * sx + (0.0 if horizontal else lead)
            y = fy + cy * sy + (lead if horizontal else 0.0)
            fields.append({"block": b.name, "kind": kind, "labels": labels, "values": list(b.values),
                           "direction": b.direction, "x_mm": round(x, 3), "y_mm": round(y, 3),
                           "bubbles_gap_mm": round(bgap, 3), "labels_gap_mm": [round(g, 3) for g in gaps]
                           if gaps else 1.0})
    empties = {lab: b.empty for b in blocks if b.empty is not None for lab in b.labels}
    output: dict[str, Any] = {"custom_labels": custom, "empty_value": tpl.get("emptyValue", ""),
                              "empty_values": empties}
    if columns:
        output["columns"] = columns
    return {"id": lid, "contest": contest, "title": f"OMRChecker template {lid}",
            "paper": {"width_mm": paper[0], "height_mm": paper[1]}, "alignment": alignment,
            "bubble": {"r_mm": round(max(0.8, radius), 3)}, "fields": _participant_first(fields, participant),
            "output": output}


def _half_gap(bgap: float, lgaps: list[float]) -> float:
    """Half the smallest distance between two bubbles of a block, less a little (neighbours must not touch)."""
    d = min([bgap] + lgaps)
    return d / 2 - 0.05 if d > 0 else math.inf


def _runs(labels: list[str], kinds: list[str], gaps: list[float]) -> list[tuple[str, tuple]]:
    """Split a block's labels into runs of one kind; each run: (labels, its gaps, offset of its first label)."""
    out: list[tuple[str, tuple]] = []
    lead = 0.0
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or kinds[i] != kinds[start]:
            out.append((kinds[start], (labels[start:i], gaps[start:i - 1], lead)))
            if i < len(labels):
                lead += sum(gaps[start:i])
                start = i
    return out


def _participant_first(fields: list[dict], participant: list[str]) -> list[dict]:
    """Participant digit columns in the custom label's order (the layout numbers them in field order)."""
    if not participant:
        return fields
    singles = []
    for f in fields:
        if f["kind"] != "participant":
            continue
        gaps = f["labels_gap_mm"] if isinstance(f["labels_gap_mm"], list) else []
        lead = 0.0
        for k, lab in enumerate(f["labels"]):
            if k:
                lead += gaps[k - 1]
            g = dict(f, labels=[lab], labels_gap_mm=1.0)
            if f["direction"] == "horizontal":
                g["y_mm"] = round(f["y_mm"] + lead, 3)
            else:
                g["x_mm"] = round(f["x_mm"] + lead, 3)
            singles.append(g)
    singles.sort(key=lambda g: participant.index(g["labels"][0]))
    return singles + [f for f in fields if f["kind"] != "participant"]


def copy_image(src: Path, dest_dir: Path, name: str) -> str:
    dest_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest_dir / name)
    return name
