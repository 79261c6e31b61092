"""``omr import omrchecker DIR --contest CONTEST_DIR``: an OMRChecker folder → our contest folder.

Reads ``template.json`` (required), ``config.json`` and ``evaluation.json`` (optional), the marker or
reference image its preprocessors name; writes ``layout.json`` (our ``fields`` form, see omr/layout_fields.py),
``keys.json`` when there is an evaluation, the images the alignment needs, and ``import-report.txt``. Every
construct that is not translated is reported by name; a construct that would change what is read (an unknown
key or preprocessor, a v2 template, an answer key given as an image) stops the import with exit code 5 and
the list, before anything is written.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import LayoutError
from ..layout import layout_from_dict, read_json_document
from .convert import build_layout, copy_image, frame_mm, participant_fields
from .evaluation import build_keys
from .template import Report, check_top, parse_labels, read_blocks, read_config, read_preprocessors

PAPERS = {"A4": (210.0, 297.0), "A3": (297.0, 420.0), "letter": (215.9, 279.4)}


@dataclass(frozen=True, slots=True)
class ImportResult:
    layout_path: Path
    keys_path: Path | None
    notes: tuple[str, ...]


def _load(folder: Path, name: str, required: bool) -> Any:
    if not (folder / name).is_file():
        if required:
            raise LayoutError(f"{folder / name} does not exist: an OMRChecker folder holds template.json")
        return None
    doc, _ = read_json_document(folder / name, file_name=name, what=f"OMRChecker {name}",
                                hint="pass the folder that holds OMRChecker's template.json")
    return doc


def _alignment(pre: dict[str, dict], folder: Path, dest: Path, paper: tuple[float, float], processing_width: int,
               rep: Report) -> tuple[dict[str, Any], tuple[float, float, float, float]]:
    """Our alignment section from the preprocessors that find the sheet (markers > features > page)."""
    if "CropOnMarkers" in pre:
        opts = pre["CropOnMarkers"]
        src = folder / str(opts.get("relativePath", "omr_marker.jpg"))
        if not src.is_file():
            rep.refusals.append(f"CropOnMarkers relativePath: {src} does not exist")
            return {}, (0, 0, *paper)
        frame, size = frame_mm("markers", opts, paper, src, processing_width, rep)
        for k in opts:
            if k not in ("relativePath", "sheetToMarkerWidthRatio"):
                rep.notes.append(f"CropOnMarkers {k}: not applied (the markers are matched at many scales and "
                                 "checked by the printed bubbles)")
        extra = [n for n in pre if n != "CropOnMarkers"]
        if extra:
            rep.notes.append(f"{', '.join(extra)}: not applied (the markers find the sheet)")
        return {"method": "markers", "marker": copy_image(src, dest, "marker" + src.suffix.lower()),
                "marker_size_mm": round(size, 3), "frame_mm": _frame_json(frame)}, frame
    if "FeatureBasedAlignment" in pre:
        opts = pre["FeatureBasedAlignment"]
        src = folder / str(opts.get("reference", ""))
        if not opts.get("reference") or not src.is_file():
            rep.refusals.append(f"FeatureBasedAlignment reference: {src} does not exist")
            return {}, (0, 0, *paper)
        for k in opts:
            if k != "reference":
                rep.notes.append(f"FeatureBasedAlignment {k}: not applied (ORB keypoints, RANSAC homography)")
        rep.notes.append("FeatureBasedAlignment: the reference image is taken to show the whole paper")
        frame = (0.0, 0.0, *paper)
        return {"method": "features", "reference": copy_image(src, dest, "reference" + src.suffix.lower()),
                "frame_mm": _frame_json(frame)}, frame
    frame = (0.0, 0.0, *paper)
    if "CropPage" in pre:
        return {"method": "page", "frame_mm": _frame_json(frame)}, frame
    rep.notes.append("no preprocessor finds the sheet: each image is taken to be exactly the sheet (alignment "
                     "method \"image\")")
    return {"method": "image", "frame_mm": _frame_json(frame)}, frame


def _frame_json(frame: tuple[float, float, float, float]) -> dict[str, float]:
    return dict(zip(("x_mm", "y_mm", "w_mm", "h_mm"), (round(v, 3) for v in frame)))


def import_folder(src: str | Path, contest_dir: str | Path, *, paper: str = "A4",
                  participant: str | None = None) -> ImportResult:
    """Translate an OMRChecker folder into ``contest_dir``. Raises ``LayoutError`` (exit 5) listing every
    construct that stops it; nothing is written then."""
    folder, dest = Path(src), Path(contest_dir)
    rep = Report()
    tpl = _load(folder, "template.json", True)
    cfg = _load(folder, "config.json", False)
    ev = _load(folder, "evaluation.json", False)
    if not check_top(tpl, rep):
        raise LayoutError(f"{folder}: cannot import this OMRChecker template", details=rep.refusals)
    paper_mm = PAPERS[paper]
    processing_width = read_config(cfg, rep)
    blocks = read_blocks(tpl, rep)
    pre = read_preprocessors(tpl, rep)
    custom_raw = tpl.get("customLabels", {}) or {}
    custom = {str(k): parse_labels(v, f"customLabels.{k}", rep) for k, v in custom_raw.items()}
    columns = parse_labels(tpl["outputColumns"], "outputColumns", rep) if tpl.get("outputColumns") else None
    pname, pfields = participant_fields(blocks, custom, participant, rep)
    staging = dest / ".import-images"
    alignment, frame = _alignment(pre, folder, staging, paper_mm, processing_width, rep)
    if rep.refusals:
        _discard(staging)
        raise LayoutError(f"{folder}: cannot import this OMRChecker template", details=rep.refusals)
    lid = _slug(folder.resolve().name)
    contest = _slug(dest.resolve().name)
    doc = build_layout(tpl, blocks, lid=lid, contest=contest, paper=paper_mm, alignment=alignment, frame=frame,
                       participant=pfields, custom=custom, columns=columns)
    try:
        layout = layout_from_dict(doc, source=str(dest / "layout.json"), base=staging)
    except LayoutError:
        _discard(staging)
        raise
    if pname:
        rep.notes.append(f"participant id: {pname} ({'+'.join(pfields)})")
    questions = [g.key for g in layout.question_groups]
    keys = None
    if ev is not None:
        joined = {k: v for k, v in custom.items() if k != pname}
        keys = build_keys(ev, folder, contest=contest, lid=lid, questions=questions, joined=joined, rep=rep)
        if rep.refusals:
            _discard(staging)
            raise LayoutError(f"{folder}: cannot import this OMRChecker evaluation", details=rep.refusals)
    return _write(dest, staging, doc, keys, rep)


def _write(dest: Path, staging: Path, doc: dict, keys: dict | None, rep: Report) -> ImportResult:
    dest.mkdir(parents=True, exist_ok=True)
    if staging.is_dir():
        for f in staging.iterdir():
            f.replace(dest / f.name)
        staging.rmdir()
    layout_path = dest / "layout.json"
    layout_path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    keys_path = None
    if keys is not None:
        keys_path = dest / "keys.json"
        keys_path.write_text(json.dumps(keys, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (dest / "import-report.txt").write_text("\n".join(rep.notes) + "\n", encoding="utf-8")
    return ImportResult(layout_path, keys_path, tuple(rep.notes))


def _discard(staging: Path) -> None:
    if staging.is_dir():
        for f in staging.iterdir():
            f.unlink()
        staging.rmdir()


def _slug(name: str) -> str:
    out = "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-")
    return out or "omrchecker"
