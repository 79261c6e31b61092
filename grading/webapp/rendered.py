"""A typed entry as it looks: the document the entrant sent (DOCX/ODT rendered by LibreOffice headless, a PDF by
poppler, a scan or photo as stored) as page pictures, for whoever reviews its flags — the extracted answer lines
alone do not show a table read the wrong way round or an answer struck through in the document.

Rendering costs ~3 s per document (LibreOffice), so the pictures are kept on disk, keyed by the document's
content (the same bytes are never rendered twice, whatever their path), and one document is rendered at a time per
process."""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path

import cv2
import numpy as np

from omr import external
from omr.documents.render import render_png
from omr.errors import OmrError
from omr.documents.container import sniff_document
from omr.documents.records import DocumentOptions, DocumentRejected, Format
from omr.load import LoadOptions, load_page, plan_pages
from omr.records import SheetFailure

MAX_PAGES = 3                    # pages shown: the answers are on the first ones; the essay is judged elsewhere
DPI = 130                        # an A4 page ~1075 px wide: as wide as the lines read above it (1100 px)
LONG_SIDE = 1520                 # px: a scan shown at the same size (A4 at 130 dpi)

_lock = threading.Lock()


class NotShown(Exception):
    """The document cannot be shown as it looks (why, in the judges' language)."""


def cache_dir() -> Path:
    return Path(os.environ.get("OMR_RENDER_CACHE") or Path(tempfile.gettempdir()) / "omr-rendered")


def _digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pdf_pages(pdf: str, out: Path) -> list[Path]:
    external.require_program("pdftoppm", advice="install poppler-utils (Debian: apt-get install poppler-utils)")
    external.run(["pdftoppm", "-png", "-r", str(DPI), "-l", str(MAX_PAGES), pdf, str(out / "page")], timeout=60)
    return sorted(out.glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def _scan_pages(path: str, out: Path) -> list[Path]:
    """A scan or photo of a typed entry (its first pages, as stored)."""
    options = LoadOptions(target_long_side_px=LONG_SIDE)
    refs = plan_pages(path, options)
    if isinstance(refs, SheetFailure):
        raise NotShown(f"không mở được ảnh ({refs.reason})")
    kept = []
    for i, ref in enumerate(refs[:MAX_PAGES], start=1):
        page = load_page(ref, options)
        if isinstance(page, SheetFailure):
            raise NotShown(f"không mở được trang {i} của ảnh ({page.reason})")
        img, k = page.image, LONG_SIDE / max(page.image.shape)
        if k < 1:
            img = cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        target = out / f"page-{i}.png"
        cv2.imwrite(str(target), img)
        kept.append(target)
    return kept


def _render(path: str, out: Path) -> list[Path]:
    # the document reader's own checks first (size, ZIP bombs, passwords): LibreOffice never opens what it refuses
    try:
        fmt = sniff_document(path, DocumentOptions(ocr=True))
    except DocumentRejected as exc:
        raise NotShown(f"không dựng được hình tài liệu ({exc.message})") from None
    if fmt is Format.PDF:
        return _pdf_pages(path, out)
    if fmt is Format.IMAGE:
        return _scan_pages(path, out)
    if fmt in (Format.DOCX, Format.ODT):
        with tempfile.TemporaryDirectory(prefix="omr-render-") as tmp:
            # LibreOffice names its PDF after the file: a plain name avoids trouble with the entrant's own
            source = Path(tmp) / f"entry.{fmt.value}"
            source.write_bytes(Path(path).read_bytes())
            pages = render_png(source, tmp, dpi=DPI)
            kept = []
            for i, p in enumerate(pages[:MAX_PAGES], start=1):
                target = out / f"page-{i}.png"
                os.replace(p, target)
                kept.append(target)
            return kept
    raise NotShown("tài liệu văn bản thuần không có hình thức trình bày để hiển thị")


def document_pages(path: str) -> list[np.ndarray]:
    """The first ``MAX_PAGES`` pages of the document at ``path`` (grayscale), rendered once and kept."""
    try:
        digest = _digest(path)
    except OSError as exc:
        raise NotShown(f"không mở được tệp gốc ({exc.strerror or exc})") from None
    out = cache_dir() / digest
    done = out / "done"
    with _lock:
        if not done.is_file():
            out.mkdir(parents=True, exist_ok=True)
            for old in out.glob("page-*.png"):
                old.unlink()
            try:
                pages = _render(path, out)
            except OmrError as exc:
                raise NotShown(f"không dựng được hình tài liệu ({exc.message})") from None
            except external.ExternalError as exc:
                raise NotShown(f"không dựng được hình tài liệu ({exc})") from None
            if not pages:
                raise NotShown("LibreOffice không tạo ra trang nào")
            done.write_text(str(len(pages)))
        files = sorted(out.glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    images = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in files]
    if any(img is None for img in images) or not images:
        done.unlink(missing_ok=True)
        raise NotShown("hình tài liệu đã lưu bị hỏng; mở lại trang để dựng lại")
    return images


def stack(images: list[np.ndarray], gap: int = 12) -> np.ndarray:
    """Pictures one under the other, centred, separated by a grey band (grayscale)."""
    width = max(img.shape[1] for img in images)
    rows: list[np.ndarray] = []
    for i, img in enumerate(images):
        if i:
            rows.append(np.full((gap, width), 160, np.uint8))
        pad = width - img.shape[1]
        rows.append(cv2.copyMakeBorder(img, 0, 0, pad // 2, pad - pad // 2, cv2.BORDER_CONSTANT, value=255))
    return np.vstack(rows)
