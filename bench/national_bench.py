"""Accuracy and speed of ``omr read`` on the national exam's sheet (``answer_keys/national2025``): printed by
``omr sheet``, filled and degraded by ``samples.national`` (the reader never sees how), aligned on the sheet's
own corner squares (no ArUco, no QR).

    .venv/bin/python -m bench.national_bench -n 100 [--profiles scanner,phone] [--marks typical,harsh]

Per profile: answers (Phần I, each Phần II statement, each Phần III number) exact / flagged / silent, the
candidate number and the test code likewise, rejected pages; then the speed at 300 dpi (scanner profile, one
process). Sets are written under bench/data/national/ (regenerated on every run).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "national"
LAYOUT = ROOT / "answer_keys" / "national2025"


def _numeric_result(readings: list[dict[str, Any]], truths: list[dict[str, Any]], root: Path,
                    ids: tuple[str, ...]) -> dict[str, int]:
    """The Phần III numbers alone: exact / flagged / silent."""
    by_file = {Path(r["source"]).relative_to(root).as_posix(): r for r in readings}
    out: Counter = Counter()
    for t in truths:
        r = by_file[t["file"]]
        flagged = {f.get("question") for f in r.get("flags", [])}
        for q in ids:
            if r["status"] == "rejected" or q in flagged:
                out["flagged"] += 1
            elif r["answers"].get(q) == t["answers"][q]:
                out["exact"] += 1
            else:
                out["silent_error"] += 1
    return dict(out)


def run_profile(profile: str, n: int, seed: int, marks: str) -> dict[str, Any]:
    from bench.foreign_bench import _read
    from grading.keys import load_keys
    from omr.layout import load_layout
    from samples import marks as mk
    from samples import national as na
    from samples.evaluate import evaluate

    layout = load_layout(LAYOUT)
    versions = load_keys(LAYOUT, layout).versions
    base = DATA / f"{profile}-{marks}"
    shutil.rmtree(base, ignore_errors=True)
    truths = na.generate_set(layout, base, profile=profile, n=n, seed=seed, versions=versions,
                             qfreq=mk.MARK_PROFILES[marks])
    readings, ms = _read(sorted((base / "sheets").glob("*.jpg")), layout)
    ev = evaluate(readings, truths, root=base)
    rejected = [r.get("reason_code") for r in readings if r["status"] == "rejected"]
    return {"profile": profile, "marks": marks, "sheets": len(truths), **ev.as_json(),
            "numeric": _numeric_result(readings, truths, base, layout.numeric_ids),
            "rejected_reasons": {k: rejected.count(k) for k in set(rejected)},
            "ms_per_page_median": round(statistics.median(ms), 1)}


def speed(n: int, seed: int) -> float:
    """Sheets per second at 300 dpi (scanner profile), one process."""
    from bench.foreign_bench import _read
    from omr.layout import load_layout
    from samples import degrade as dg
    from samples import national as na

    layout = load_layout(LAYOUT)
    base = DATA / "speed"
    shutil.rmtree(base, ignore_errors=True)
    cfg = dict(dg.PROFILES["scanner"], dpi=((300,), (1.0,)))
    na.generate_set(layout, base, profile="scanner", n=n, seed=seed, versions=("101",), dpi=300, profile_cfg=cfg)
    _, ms = _read(sorted((base / "sheets").glob("*.jpg")), layout)
    return round(1000 / statistics.median(ms), 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=100, help="sheets per profile")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--profiles", default="scanner,phone")
    ap.add_argument("--marks", default="typical", help="mark mixes (samples.marks.MARK_PROFILES), comma-separated")
    ap.add_argument("--speed-n", type=int, default=10, help="sheets for the speed figure (0: skip)")
    args = ap.parse_args(argv)
    results = []
    for marks in args.marks.split(","):
        for profile in filter(None, args.profiles.split(",")):
            r = run_profile(profile, args.n, args.seed, marks)
            results.append(r)
            print(f"{profile:8s} {marks:8s} sheets {r['sheets']:4d}  answers {r['questions']:6d}  silent "
                  f"{r['questions_silent_errors']}  flagged {r['questions_flagged_share']:.2%}  numeric "
                  f"{r['numeric']}  status {r['sheet_page_status']}  rejected {r['rejected_reasons']}  "
                  f"candidate {r['participant']}  test code {r['version']}  {r['ms_per_page_median']} ms/page",
                  flush=True)
    if args.speed_n:
        s = speed(args.speed_n, args.seed)
        print(f"sheets/s at 300 dpi, one process (scanner profile): {s}")
        results.append({"speed_sheets_per_s": s})
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
