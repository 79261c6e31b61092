"""Typed entries read from scans and photos through the OCR (``omr entry`` on images): generated DOCX entries
(``samples/entries.py``) → PDF (LibreOffice) → pages rasterised at 300 dpi (``pdftoppm``) → degraded like
``samples/degrade.py``'s scanner, phone or clean profile → a multi-page TIFF (or an image-only PDF), read by
``read_entry`` with OCR on. Counts answers exact / flagged / silent (read differently from the truth, unflagged)
and seconds per page.

    PYTHONPATH=$PWD python bench/ocr_entries_bench.py -n 10 --profile scanner [--as pdf]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omr.documents import DocumentOptions, load_entry_contest, read_entry  # noqa: E402
from omr.records import SheetFailure  # noqa: E402
from samples import degrade as dg  # noqa: E402
from samples.entries import generate  # noqa: E402


def raster_pages(pdf: Path, out: Path, dpi: int = 300) -> list[np.ndarray]:
    """The PDF's pages as 8-bit BGR images (``pdftoppm -r dpi -png``)."""
    stem = out / pdf.stem
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(stem)], check=True, timeout=300)
    return [cv2.imread(str(p)) for p in sorted(out.glob(f"{pdf.stem}-*.png"))]


def degraded(page: np.ndarray, profile: str, rng: np.random.Generator) -> np.ndarray:
    """One page as a scanner or phone would give it (``samples/degrade.py``), JPEG-compressed, in grayscale."""
    if profile == "none":
        return cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    p = dg.sample_params(profile, rng)
    if profile == "scanner" and p["dpi"] != 300:
        f = p["dpi"] / 300
        page = cv2.resize(page, (round(page.shape[1] * f), round(page.shape[0] * f)), interpolation=cv2.INTER_AREA)
    img, _ = dg.degrade(page, profile, p, rng)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(p.get("jpeg_quality", 95))])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def save_scan(pages: list[np.ndarray], path: Path) -> Path:
    """``.tif``: a multi-page TIFF (JPEG-compressed, as scanners save them); ``.pdf``: an image-only PDF (no
    text layer); ``.png``: the first page."""
    ims = [Image.fromarray(p) for p in pages]
    if path.suffix == ".png":
        ims[0].save(path)
    else:
        ims[0].save(path, save_all=True, append_images=ims[1:], resolution=300.0,
                    **({"compression": "tiff_jpeg", "quality": 90} if path.suffix == ".tif" else {}))
    return path


def score(rec: dict, truth: dict, tally: Counter, name: str) -> None:
    flagged = {f["question"] for f in rec["flags"] if "question" in f}
    whole = ("unread_answers", "ocr_failed", "ocr_no_answers", "rejected")
    unsure = any(f.get("reason") in whole for f in rec["flags"])
    for q, want in truth["answers"].items():
        got = rec["answers"].get(q, "")
        if q in flagged or (unsure and got == "" and want != ""):
            tally["flagged"] += 1
        elif got == want:
            tally["exact"] += 1
        else:
            tally["silent_error"] += 1
            print(f"silent error: {name} question {q}: truth {want!r}, read {got!r} "
                  f"({rec['evidence'].get(q, '')})", file=sys.stderr)


def run(n: int, seed: int, profile: str, suffix: str, contest: Path) -> dict:
    tally: Counter = Counter()
    pages = 0
    seconds = 0.0
    ident = 0
    reasons: Counter = Counter()
    rng = np.random.default_rng(seed)
    ec = load_entry_contest(contest)
    with tempfile.TemporaryDirectory(prefix="ocr-entries-") as tmp:
        data = Path(tmp)
        generate(data, contest, n=n, seed=seed, pdf_every=1)
        for truth_path in sorted(data.glob("*.truth.json")):
            truth = json.loads(truth_path.read_text(encoding="utf-8"))
            imgs = [degraded(p, profile, rng) for p in raster_pages(data / truth["file"], data)]
            scan = save_scan(imgs, data / f"{truth_path.name.split('.')[0]}-scan{suffix}")
            t0 = time.perf_counter()
            got = read_entry(str(scan), ec, DocumentOptions(ocr=True))
            rec = got.to_json()
            if isinstance(got, SheetFailure):
                print(f"rejected: {scan.name}: {rec}", file=sys.stderr)
                rec = {"answers": {}, "flags": [{"document": None, "reason": "rejected"}], "evidence": {},
                       "identity": {}}
            seconds += time.perf_counter() - t0
            pages += len(imgs)
            score(rec, truth, tally, scan.name)
            reasons.update(f"{truth['style']['answers']}:{f['reason']}" for f in rec["flags"] if "question" in f
                           or f["reason"] in ("ocr_no_answers", "ocr_failed", "ocr_unreliable"))
            ident += rec["identity"].get("name") == truth["identity"].get("name")
    answers = sum(tally[k] for k in ("exact", "flagged", "silent_error"))
    return {"entries": n, "profile": profile, "as": suffix, "pages": pages, "answers": answers,
            **{k: tally[k] for k in ("exact", "flagged", "silent_error")},
            "flagged_pct": round(100 * tally["flagged"] / max(answers, 1), 2), "name_exact": f"{ident}/{n}",
            "seconds_per_page": round(seconds / max(pages, 1), 2), "flags_by_style": dict(sorted(reasons.items()))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--profile", choices=("none", "clean", "scanner", "phone"), default="scanner")
    p.add_argument("--as", dest="suffix", choices=(".tif", ".pdf"), default=".tif")
    p.add_argument("--contest", type=Path, default=ROOT / "answer_keys" / "demo")
    args = p.parse_args(argv)
    result = run(args.n, args.seed, args.profile, args.suffix, args.contest)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["silent_error"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
