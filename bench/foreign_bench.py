"""Accuracy and speed of ``omr read`` on sheets printed by others: OMRChecker-style templates imported with
``omr import omrchecker``, rendered, filled and degraded by ``samples.foreign`` (the reader never sees how).

    .venv/bin/python -m bench.foreign_bench -n 40 [--methods markers,page,features,timing] [--profiles scanner,phone]

For each alignment method (CropOnMarkers → markers, CropPage → page outline, FeatureBasedAlignment →
keypoints; ``timing``: the CropPage template with timing marks along two edges, aligned on them) and each
profile: silent errors, flagged share, rejected pages, participant ids, and blank sheets
(every 5th sheet is left blank: its bubbles carry printed letters) — all must read blank and unflagged. Then
the speed at 300 dpi (scanner profile, one process) against our own sheet (ArUco + QR) read the same way.
Sets are written under bench/data/foreign/ (regenerated on every run).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "foreign"
# method "timing": a row of marks along the top edge, a column along the left one (clear of the bubbles)
TIMING_MARKS = [{"x_mm": 15, "y_mm": 7, "dx_mm": 6, "dy_mm": 0, "count": 31, "w_mm": 2, "h_mm": 4},
                {"x_mm": 7, "y_mm": 40, "dx_mm": 0, "dy_mm": 6, "count": 40, "w_mm": 4, "h_mm": 2}]


def _contest(method: str, base: Path) -> Path:
    from omr.layout import load_layout
    from omr.omrchecker import import_folder
    from samples import foreign as fo

    shutil.rmtree(base, ignore_errors=True)
    if method == "timing":                 # not an OMRChecker construct: the page template with timing marks
        fo.write_omrchecker_folder(base / "omr", "page")
        import_folder(base / "omr", base / "contest")
        raw = json.loads((base / "contest" / "layout.json").read_text())
        raw["alignment"] = {"method": "timing_marks", "timing_marks": TIMING_MARKS}
        (base / "contest" / "layout.json").write_text(json.dumps(raw, indent=1))
        return base / "contest"
    ref = None
    if method == "features":
        fo.write_omrchecker_folder(base / "omr-page", "page")
        import_folder(base / "omr-page", base / "contest-page")
        ref = load_layout(base / "contest-page")
    fo.write_omrchecker_folder(base / "omr", method, reference_from=ref)
    import_folder(base / "omr", base / "contest")
    return base / "contest"


def _read(files: list[Path], layout: Any) -> tuple[list[dict[str, Any]], list[float]]:
    """Read in this process (one core), the way one ``omr read`` worker does; wall ms per page."""
    from omr.load import LoadOptions, discover, plan_pages
    from omr.read import read_ref

    out, ms = [], []
    opts = LoadOptions()
    for f in files:
        found, _ = discover([str(f)])
        for ref in plan_pages(found[0], opts):
            t0 = time.perf_counter()
            rec = read_ref(ref, layout, opts)
            ms.append((time.perf_counter() - t0) * 1000)
            out.append(rec.to_json())
    return out, ms


def _blank_result(readings: list[dict[str, Any]], truths: list[dict[str, Any]], root: Path) -> dict[str, int]:
    by_file = {Path(r["source"]).relative_to(root).as_posix(): r for r in readings}
    res = {"blank_sheets": 0, "read_blank": 0, "flagged": 0, "rejected": 0, "marks_read": 0}
    for t in truths:
        if not t["blank"]:
            continue
        r = by_file[t["file"]]
        res["blank_sheets"] += 1
        if r["status"] == "rejected":
            res["rejected"] += 1
            continue
        marked = sum(1 for v in r["answers"].values() if v)
        q_flags = sum(1 for f in r["flags"] if "question" in f)
        res["marks_read"] += marked
        res["flagged"] += q_flags > 0          # a question flagged (the empty id is flagged on every blank)
        res["read_blank"] += marked == 0 and q_flags == 0
    return res


def run_method(method: str, profile: str, n: int, seed: int) -> dict[str, Any]:
    from omr.layout import load_layout
    from samples import foreign as fo
    from samples.evaluate import evaluate

    base = DATA / f"{method}-{profile}"
    contest = _contest(method, base)
    layout = load_layout(contest)
    truths = fo.generate_set(layout, base / "set", profile=profile, n=n, seed=seed, blank_every=5, dpi=None)
    for t in truths:
        t["participant_ambiguous"] = "?" in t["participant"]
        if t["blank"]:
            t["participant"] = None
    readings, ms = _read(sorted((base / "set" / "sheets").glob("*.jpg")), layout)
    sheets = [t for t in truths if not t["blank"]]
    ev = evaluate(readings, sheets, root=base / "set")
    rejected = [r.get("reason_code") for r in readings if r["status"] == "rejected"]
    return {"method": method, "profile": profile, "sheets": len(truths), **ev.as_json(),
            "rejected_reasons": {k: rejected.count(k) for k in set(rejected)},
            "blank": _blank_result(readings, truths, base / "set"),
            "ms_per_page_median": round(statistics.median(ms), 1)}


def speed(n: int, seed: int) -> dict[str, Any]:
    """Wall ms per page at 300 dpi (scanner profile), one process: each markerless method and our sheet."""
    from omr.layout import load_layout
    from samples import degrade as dg
    from samples import foreign as fo
    from samples.generator import _generate

    out: dict[str, Any] = {}
    cfg = dict(dg.PROFILES["scanner"], dpi=((300,), (1.0,)))
    for method in ("markers", "page", "features", "timing"):
        base = DATA / f"speed-{method}"
        layout = load_layout(_contest(method, base))
        fo.generate_set(layout, base / "set", profile="scanner", n=n, seed=seed, dpi=300, profile_cfg=cfg)
        _, ms = _read(sorted((base / "set" / "sheets").glob("*.jpg")), layout)
        out[method] = round(1000 / statistics.median(ms), 1)
    ours = load_layout(ROOT / "answer_keys" / "demo")
    base = DATA / "speed-ours"
    shutil.rmtree(base, ignore_errors=True)
    _generate(ours, base, profile="scanner", n=n, seed=seed, workers=1, fmt="jpg", extras=False,
              overrides={"dpi": ((300,), (1.0,))})
    _, ms = _read(sorted((base / "sheets").glob("*.jpg")), ours)
    out["ours_aruco"] = round(1000 / statistics.median(ms), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=40, help="sheets per method and profile")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--methods", default="markers,page,features,timing")
    ap.add_argument("--profiles", default="scanner,phone")
    ap.add_argument("--speed-n", type=int, default=20, help="sheets per method for the speed figure (0: skip)")
    args = ap.parse_args(argv)
    results = []
    for method in args.methods.split(","):
        for profile in args.profiles.split(","):
            r = run_method(method, profile, args.n, args.seed)
            results.append(r)
            print(f"{method:9s} {profile:8s} sheets {r['sheets']:4d}  questions {r['questions']:5d}  silent "
                  f"{r['questions_silent_errors']}  flagged {r['questions_flagged_share']:.2%}  status "
                  f"{r['sheet_page_status']}  rejected {r['rejected_reasons']}  participant {r['participant']}  "
                  f"blank {r['blank']}  {r['ms_per_page_median']} ms/page", flush=True)
    if args.speed_n:
        s = speed(args.speed_n, args.seed)
        print("sheets/s at 300 dpi, one process (scanner profile): " + ", ".join(f"{k} {v}" for k, v in s.items()))
        results.append({"speed_sheets_per_s": s})
    (DATA / "results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
