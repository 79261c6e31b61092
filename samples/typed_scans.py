"""Scans and phone photos of printed typed entries, with ground truth: the DOCX entries of ``samples.entries``
rendered to PDF by LibreOffice, rasterised at 300 dpi (``pdftoppm``), and degraded page by page like a scanner or
a phone camera (``samples.degrade``), saved as a multi-page TIFF (as scanners save them), an image-only PDF or a
PNG of the first page. ``NAME.truth.json`` beside each scan is the entry's truth (``file`` names the scan).

Rendering is the slow part (LibreOffice ~3 s a document): every document of a run is rendered by ONE soffice
call, and the rendered PDFs are kept in ``--cache`` (keyed by contest, seed and index: ``samples.entries`` draws
each entry from those alone), so a second profile, or a second run, renders nothing again.

    python -m samples.typed_scans OUT -n 20 --profile phone [--as .pdf] [--cache DIR] [--seed 1]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from . import degrade as dg
from .entries import generate

PROFILES = ("none", "clean", "scanner", "phone")


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


def rendered(contest: Path, n: int, seed: int, cache: Path) -> Path:
    """A folder of ``n`` entries rendered to PDF with their truth files, from the cache when it holds them."""
    key = hashlib.sha256(f"{contest.resolve()}|{seed}".encode()).hexdigest()[:12]
    folder = cache / f"entries-{key}"
    have = len(list(folder.glob("entry-*.pdf"))) if folder.is_dir() else 0
    if have < n:                                            # entries are drawn from (seed, index) alone
        if folder.exists():
            shutil.rmtree(folder)
        generate(folder, contest, n=n, seed=seed, pdf_every=1)    # one soffice call for all of them
    return folder


def make_scans(out: Path, contest: Path, *, n: int, profile: str, seed: int = 1, suffix: str = ".tif",
               cache: Path | None = None) -> list[Path]:
    """``n`` scans in ``out``, each ``entry-00001-<profile><suffix>`` with ``entry-00001.truth.json``."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, PROFILES.index(profile)])
    paths = []
    with tempfile.TemporaryDirectory(prefix="typed-scans-") as tmp:
        src = rendered(contest, n, seed, cache or Path(tmp))
        for i in range(1, n + 1):
            stem = f"entry-{i:05d}"
            truth = json.loads((src / f"{stem}.truth.json").read_text(encoding="utf-8"))
            pages = [degraded(p, profile, rng) for p in raster_pages(src / f"{stem}.pdf", Path(tmp))]
            scan = save_scan(pages, out / f"{stem}-{profile}{suffix}")
            truth.update(file=scan.name, profile=profile, pages=len(pages))
            (out / f"{stem}.truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
            paths.append(scan)
    return paths


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m samples.typed_scans", description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, help="folder to write the scans and their truth files into")
    p.add_argument("--contest", type=Path, default=Path("answer_keys/demo"))
    p.add_argument("-n", type=int, default=10, help="how many entries")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--profile", choices=PROFILES, default="scanner")
    p.add_argument("--as", dest="suffix", choices=(".tif", ".pdf", ".png"), default=".tif")
    p.add_argument("--cache", type=Path, help="keep the rendered PDFs here (rendered once per contest and seed)")
    args = p.parse_args(argv)
    paths = make_scans(args.out, args.contest, n=args.n, profile=args.profile, seed=args.seed, suffix=args.suffix,
                       cache=args.cache)
    print(f"wrote {len(paths)} {args.profile} scans to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
