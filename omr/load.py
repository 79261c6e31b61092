"""Input loading: files → grayscale page images, and every bad input → a ``SheetFailure`` with a reason.

Three steps, so that the expensive one runs in workers:

* ``discover(inputs)``: expand files and folders into a sorted, de-duplicated list of files (parent process).
* ``plan_pages(path, options)``: cheap checks and a page count, by reading headers only (parent process):
  the type is sniffed from the magic bytes, never from the extension.
* ``load_page(ref, options)``: decode one page (a worker). Every file is opened here again: an open file or
  PDF is never shared across ``fork()``.

Decoding is tuned for speed: a JPEG is decoded at ½, ¼ or ⅛ resolution inside the decoder (DCT scaling) when
the page is large enough to stay above ``target_long_side_px``; a scanner PDF's page is usually one embedded
JPEG, which is taken out with pikepdf and decoded the same way; only other pages are rasterised (pdftoppm).
EXIF orientation is ignored on purpose: the reader finds the sheet's rotation itself.

Nothing here raises for a bad input: ``plan_pages`` and ``load_page`` return a ``SheetFailure`` instead. A
picture is read only when it is whole: a JPEG's structure is checked before it is decoded, and what the C
decoders complain of decides whether the pixels they returned can be trusted (never shown raw: see
``omr.decodecheck`` for the rule); a damaged one is ``Reject.CORRUPT``, never a page that looks folded.
"""
from __future__ import annotations

import errno
import math
import os
import re
import stat
import struct
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from . import external
from .decodecheck import Truncated, decoder_text, jpeg_complaint, jpeg_structure_problem, tiff_complaint
from .paths import for_library
from .errors import NoInput
from .records import Page, Reject, SheetFailure

__all__ = ["LoadOptions", "PageRef", "check_dependencies", "discover", "plan_pages", "load_page"]

_SUPPORTED = "JPEG, PNG, TIFF or PDF"
_FACTORS = (8, 4, 2, 1)
_JUNK_FILES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini"})


@dataclass(frozen=True, slots=True)
class LoadOptions:
    max_file_bytes: int = 300 * 2**20
    max_pixels: int = 80_000_000        # per decoded page (decompression-bomb guard)
    max_pages: int = 2000               # per file
    min_long_side_px: int = 1000        # below this a sheet cannot be read
    target_long_side_px: int = 1750     # decode at reduced resolution when the page is much larger
    rasterise_dpi: int = 200            # for PDF pages that are not a single embedded image
    timeout_s: float = 60.0


@dataclass(frozen=True, slots=True)
class PageRef:
    """A small picklable task record: one page of one file."""

    path: str
    index: int            # 0-based page index in the file
    kind: str             # "jpeg" | "png" | "tiff" | "pdf" (what sniffing found)
    obj: tuple[int, int] | None = None   # PDF only: (object number, generation) of the page object, found by
    #                                      plan_pages, so a worker fetches the page directly instead of walking
    #                                      the whole page tree (20 ms per page in a 2,000-page PDF)


class _Rejected(Exception):
    """Internal control flow: becomes a ``SheetFailure`` at the edge of ``plan_pages`` / ``load_page``."""

    def __init__(self, code: Reject, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --------------------------------------------------------------------------------------------- dependencies

def check_dependencies() -> None:
    """Raise ``MissingDependency`` (with install advice) when a program the loader needs is missing.

    The CLI calls this once before a batch starts; ``load_page`` itself never raises for a missing program.
    """
    external.require_program(
        "pdftoppm", advice="it rasterises PDF pages that are not scanned images; install it with "
                           "'sudo apt-get install poppler-utils' (Debian/Ubuntu) and run the command again")


# ------------------------------------------------------------------------------------------------ discover

def _natural_key(text: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t.casefold() for t in re.split(r"(\d+)", text))


def discover(inputs: list[str]) -> tuple[list[str], list[SheetFailure]]:
    """Expand files and folders into files to read, and report inputs that do not exist.

    Folders are walked recursively in natural order ("scan2" before "scan10"), links to folders followed;
    files and folders whose name starts with '.' and Windows thumbnail caches are skipped; a file named directly
    is always taken. A file reached twice (named twice, via a symlink, or inside two given folders) is kept
    once, at its first place; a folder reached twice is walked once, and a link back into its own folder (a
    loop) is reported, not followed.
    """
    files: list[str] = []
    failures: list[SheetFailure] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            problem = _not_a_file(path)
            if problem is None:
                files.append(path)
            else:
                failures.append(problem)

    for given in inputs:
        if not os.path.lexists(given):
            failures.append(SheetFailure(given, None, Reject.NOT_FOUND,
                                         f"{given} does not exist; check the path (and that the drive or "
                                         "network share holding it is mounted)"))
            continue
        if not os.path.isdir(given):
            add(given)
            continue
        found: list[tuple[tuple, str]] = []

        def on_error(err: OSError) -> None:
            where = err.filename or given
            failures.append(SheetFailure(str(where), None, Reject.UNREADABLE,
                                         f"the folder {where} cannot be listed ({err.strerror}); check its "
                                         "permissions"))

        walked = {os.path.realpath(given)}
        for root, dirs, names in os.walk(given, onerror=on_error, followlinks=True):
            dirs[:] = _folders_to_walk(given, root, [d for d in dirs if not d.startswith(".")], walked, failures)
            rel_parts = Path(os.path.relpath(root, given)).parts
            for name in names:
                if name.startswith(".") or name.casefold() in _JUNK_FILES:
                    continue
                parts = (*(p for p in rel_parts if p != "."), name)
                found.append((tuple(_natural_key(p) for p in parts), os.path.join(root, name)))
        for _, path in sorted(found, key=lambda t: t[0]):
            add(path)
    return files, failures


def _not_a_file(path: str) -> SheetFailure | None:
    """Why ``path`` is no file to read (a broken link, a pipe, a device), or None. Found here, before anything
    opens it: opening a pipe waits for a writer forever."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return SheetFailure(path, None, Reject.NOT_FOUND, _broken_link(path))
        return None                      # gone since it was listed: plan_pages says so
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return SheetFailure(path, None, Reject.UNREADABLE, f"{path} is a link that leads back to itself (a "
                                                               "loop), not to a scan; give the scan itself")
        return None                      # plan_pages reports it with its reason
    if stat.S_ISREG(st.st_mode):
        return None
    return SheetFailure(path, None, Reject.UNSUPPORTED_TYPE, f"{path} {_NOT_REGULAR}")


_NOT_REGULAR = "is not a regular file (a device, pipe or socket); give scan files only"


def _broken_link(path: str) -> str:
    return f"{path} is a broken link (its target does not exist); give the scan itself"


def require_files(inputs: list[str], files: list[str], failures: list[SheetFailure]) -> None:
    """``NoInput`` when ``discover`` found nothing at all in ``inputs``: no file and nothing to report."""
    if not files and not failures:
        shown = ", ".join(inputs)
        raise NoInput(f"no file to read in {shown}: the folder is empty (or holds only hidden files); check the "
                      "path, or copy the scans there first")


def _folders_to_walk(top: str, root: str, dirs: list[str], walked: set[str],
                     failures: list[SheetFailure]) -> list[str]:
    """The sub-folders of ``root`` (inside the given folder ``top``) still to walk: each real folder once; a link
    to a folder that holds it on the way from ``top`` (a loop) becomes a failure that says so."""
    above, at = set(), root
    while True:
        above.add(os.path.realpath(at))
        if os.path.samefile(at, top) or at == os.path.dirname(at):
            break
        at = os.path.dirname(at)
    keep = []
    for d in dirs:
        path = os.path.join(root, d)
        real = os.path.realpath(path)
        if os.path.islink(path) and real in above:
            failures.append(SheetFailure(path, None, Reject.UNREADABLE,
                                         f"the folder link {path} points back to {real}, a folder that holds it (a "
                                         "loop): it was not followed; remove the link or give the folder itself"))
        elif real not in walked:
            walked.add(real)
            keep.append(d)
    return keep


# ------------------------------------------------------------------------------------------------- sniffing

def _sniff(head: bytes) -> str:
    """The file type from its first bytes: a supported kind, or a description of an unsupported one."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head[:4] in (b"II+\x00", b"MM\x00+"):
        return "BigTIFF"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF image"
    if head.startswith(b"BM"):
        return "BMP image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP image"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"hevc"):
            return "HEIC photo"
        if brand in (b"avif", b"avis"):
            return "AVIF image"
        return "video"
    if head.startswith((b"\x00\x00\x00\x0cjP  ", b"\xff\x4f\xff\x51")):
        return "JPEG 2000 image"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "Microsoft Office 97-2003 document"
    if head.startswith((b"Rar!", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b", b"BZh", b"\xfd7zXZ")):
        return "compressed archive"
    if head.startswith(b"%!PS"):
        return "PostScript file"
    if head.startswith(b"{\\rtf"):
        return "RTF document"
    if _looks_like_text(head):
        low = head[:512].lstrip().lower()
        if low.startswith((b"<!doctype html", b"<html")):
            return "web page (HTML)"
        if low.startswith(b"<?xml") or low.startswith(b"<svg"):
            return "XML/SVG file"
        return "text file"
    return "unknown"


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:      # not just a character cut at the end of the sample
            return False
    return True


_HINTS = {
    "zip": "a ZIP archive; unzip it and give the folder of scans instead",
    "BigTIFF": "a BigTIFF image, which is not supported; save the scans as ordinary TIFF, PNG, JPEG or PDF",
    "HEIC photo": "a HEIC photo (the iPhone default); convert it to JPEG, or set the camera to "
                  "'Most Compatible' and take the photo again",
    "Microsoft Office 97-2003 document": "a Microsoft Office document; export the scans it holds as PDF or "
                                         "images",
    "compressed archive": "a compressed archive; extract it and give the folder of scans instead",
    "video": "a video; take photos or scans of the sheets instead",
}


def _unsupported(name: str, kind: str, path: str) -> _Rejected:
    if kind == "zip":
        kind, hint = _zip_kind(path)
    else:
        hint = _HINTS.get(kind)
    if hint is None:
        ext = os.path.splitext(name)[1].lower()
        if kind == "unknown":
            what = (f"named {ext} but its content is not a JPEG, PNG, TIFF or PDF image (it may be damaged); "
                    "scan or copy it again" if ext in (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".pdf")
                    else f"not a {_SUPPORTED} file; remove it from the inputs")
        elif kind in ("GIF image", "BMP image", "WebP image", "AVIF image", "JPEG 2000 image"):
            what = f"a {kind}, which is not read; save it as PNG or JPEG"
        else:
            what = f"a {kind}, not a scan; only {_SUPPORTED} files are read — remove it from the inputs"
            if ext in (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".pdf"):
                what = f"a {kind} although it is named {ext}; scan or export the sheet again"
        hint = what
    return _Rejected(Reject.UNSUPPORTED_TYPE, f"{name} is {hint}")


def _zip_kind(path: str) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "zip", _HINTS["zip"]
    office = [("word/", "a Word document (DOCX)"), ("xl/", "an Excel workbook (XLSX)"),
              ("ppt/", "a PowerPoint file (PPTX)")]
    for prefix, what in office:
        if any(n.startswith(prefix) for n in names):
            return "office", f"{what}, not a scan; export the scans it holds as PDF or JPEG and give those"
    if "mimetype" in names and any(n == "content.xml" for n in names):
        return "office", "an OpenDocument file, not a scan; export the scans it holds as PDF or JPEG"
    return "zip", _HINTS["zip"]


# --------------------------------------------------------------------------------------- header parsers

ReadAt = Callable[[int, int], bytes]


@dataclass(frozen=True, slots=True)
class _Header:
    width: int
    height: int
    dpi: float | None
    data_start: int = 0        # JPEG: offset of the first SOS marker


def _file_reader(f) -> ReadAt:
    def read_at(offset: int, n: int) -> bytes:
        f.seek(offset)
        return f.read(n)
    return read_at


def _bytes_reader(data: bytes) -> ReadAt:
    def read_at(offset: int, n: int) -> bytes:
        return data[offset:offset + n]
    return read_at


_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _density_dpi(units: int, x: int, y: int) -> float | None:
    if x <= 0 or y <= 0:
        return None
    if units == 1:
        return (x + y) / 2
    if units == 2:                       # dots per cm
        return (x + y) / 2 * 2.54
    return None                          # 0: aspect ratio only


def _jpeg_header(read_at: ReadAt, size: int, name: str) -> _Header:
    """Frame size, JFIF density and where the image data starts, from the markers (nothing is decoded)."""
    pos, width, height, dpi = 2, None, None, None
    for _ in range(20000):
        hdr = read_at(pos, 4)
        if len(hdr) < 4:
            raise _truncated_jpeg(name)
        if hdr[0] != 0xFF:
            raise _Rejected(Reject.CORRUPT, f"{name} is a damaged JPEG (invalid marker in its header); "
                                            "scan or export it again")
        marker = hdr[1]
        if marker == 0xFF:               # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xD9:
            break
        seglen = int.from_bytes(hdr[2:4], "big")
        if seglen < 2:
            break
        if marker == 0xDA:
            if width is None:
                break
            if height == 0:
                raise _Rejected(Reject.UNSUPPORTED_TYPE, f"{name} is a JPEG variant that is not read (height "
                                                         "given after the image data); save it again as JPEG")
            return _Header(width, height, dpi, pos)
        if marker in _SOF:
            seg = read_at(pos + 4, 6)
            if len(seg) < 6:
                raise _truncated_jpeg(name)
            height, width = struct.unpack(">HH", seg[1:5])
        elif marker == 0xE0 and dpi is None:
            seg = read_at(pos + 4, 12)
            if len(seg) == 12 and seg[:5] == b"JFIF\x00":
                dpi = _density_dpi(seg[7], *struct.unpack(">HH", seg[8:12]))
        pos += 2 + seglen
        if pos >= size:
            raise _truncated_jpeg(name)
    raise _Rejected(Reject.CORRUPT, f"{name} is a damaged JPEG (no image data after its header); scan or "
                                    "export it again")


def _truncated_jpeg(name: str) -> _Rejected:
    return _Rejected(Reject.TRUNCATED, f"{name} is cut off: the JPEG ends before its end marker (the copy, "
                                       "upload or scan did not finish); copy or scan it again")


def _check_jpeg_end(read_at: ReadAt, size: int, header: _Header, name: str) -> None:
    """A complete JPEG has an EOI marker (FF D9) after its image data (OpenCV returns grey for the rest)."""
    # FF D9 cannot occur inside entropy-coded data, so any FF D9 after the first SOS is the end of the image;
    # look in the tail first (cheap), then everywhere after SOS (trailing data after EOI, e.g. MPF images).
    tail_start = max(header.data_start, size - 65536)
    if read_at(tail_start, size - tail_start).rfind(b"\xff\xd9") >= 0:
        return
    if tail_start > header.data_start and read_at(header.data_start, size).rfind(b"\xff\xd9") >= 0:
        return
    raise _truncated_jpeg(name)


def _png_header(read_at: ReadAt, size: int, name: str) -> tuple[_Header, int, int]:
    head = read_at(0, 33)
    if len(head) < 33:
        raise _truncated_png(name)
    if head[12:16] != b"IHDR":
        raise _Rejected(Reject.CORRUPT, f"{name} is a damaged PNG (no IHDR header); save or scan it again")
    width, height = struct.unpack(">II", head[16:24])
    bit_depth, colour_type = head[24], head[25]
    dpi, pos = None, 8
    for _ in range(10000):
        chunk = read_at(pos, 8)
        if len(chunk) < 8:
            raise _truncated_png(name)
        length, ctype = struct.unpack(">I4s", chunk)
        if ctype == b"pHYs":
            body = read_at(pos + 8, 9)
            if len(body) == 9:
                x, y, unit = struct.unpack(">IIB", body)
                if unit == 1:
                    dpi = _density_dpi(1, round(x * 0.0254), round(y * 0.0254))
        if ctype in (b"IDAT", b"IEND"):
            break
        pos += 12 + length
    if width == 0 or height == 0:
        raise _Rejected(Reject.CORRUPT, f"{name} is a damaged PNG (zero size); save or scan it again")
    tail = read_at(max(0, size - 1024), 1024)
    if b"IEND" not in tail:
        raise _truncated_png(name)
    return _Header(width, height, dpi), bit_depth, colour_type


def _truncated_png(name: str) -> _Rejected:
    return _Rejected(Reject.TRUNCATED, f"{name} is cut off: the PNG ends before its end chunk (the copy, "
                                       "upload or save did not finish); copy or save it again")


@dataclass(frozen=True, slots=True)
class _TiffPage:
    width: int
    height: int
    dpi: float | None
    data_end: int              # end of the last strip/tile of this page


_TIFF_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}


def _tiff_pages(read_at: ReadAt, size: int, name: str, *, stop_after: int | None = None,
                max_pages: int = 1 << 20) -> list[_TiffPage]:
    """Walk the IFD chain of a classic TIFF: size, resolution and data extent of each page (nothing decoded)."""
    head = read_at(0, 8)
    if len(head) < 8:
        raise _truncated_tiff(name)
    e = "<" if head[:2] == b"II" else ">"
    offset = struct.unpack(e + "I", head[4:8])[0]
    pages: list[_TiffPage] = []
    visited: set[int] = set()
    while offset:
        if offset in visited:
            raise _Rejected(Reject.CORRUPT, f"{name} is a damaged TIFF (its page list loops); save or scan "
                                             "it again")
        visited.add(offset)
        if offset + 2 > size:
            raise _truncated_tiff(name)
        count = struct.unpack(e + "H", read_at(offset, 2))[0]
        table = read_at(offset + 2, count * 12 + 4)
        if len(table) < count * 12 + 4:
            raise _truncated_tiff(name)
        tags: dict[int, tuple[int, ...]] = {}
        for i in range(count):
            tag, typ, n = struct.unpack(e + "HHI", table[i * 12:i * 12 + 8])
            if tag not in (256, 257, 273, 279, 282, 283, 296, 324, 325):
                continue
            item = _TIFF_TYPE_SIZE.get(typ)
            if item is None or n > 10_000_000:
                continue
            raw = table[i * 12 + 8:i * 12 + 12]
            if item * n > 4:
                ptr = struct.unpack(e + "I", raw)[0]
                raw = read_at(ptr, item * n)
                if len(raw) < item * n:
                    raise _truncated_tiff(name)
            tags[tag] = _tiff_values(e, typ, n, raw)
        width, height = (tags.get(256) or (0,))[0], (tags.get(257) or (0,))[0]
        offs, counts = tags.get(273) or tags.get(324) or (), tags.get(279) or tags.get(325) or ()
        data_end = max((o + c for o, c in zip(offs, counts)), default=0)
        dpi = None
        if 282 in tags and 283 in tags:
            unit = (tags.get(296) or (2,))[0]
            x, y = float(tags[282][0]), float(tags[283][0])
            if x > 0 and y > 0 and unit in (2, 3):          # 2: per inch, 3: per cm (1: no unit)
                dpi = (x + y) / 2 * (2.54 if unit == 3 else 1.0)
        pages.append(_TiffPage(int(width), int(height), dpi, int(data_end)))
        if len(pages) > max_pages or (stop_after is not None and len(pages) > stop_after):
            break
        offset = struct.unpack(e + "I", table[count * 12:count * 12 + 4])[0]
    return pages


def _tiff_values(e: str, typ: int, n: int, raw: bytes) -> tuple:
    if typ == 3:
        return struct.unpack(e + "H" * n, raw[:2 * n])
    if typ == 4 or typ == 13:
        return struct.unpack(e + "I" * n, raw[:4 * n])
    if typ == 5:
        v = struct.unpack(e + "I" * (2 * n), raw[:8 * n])
        return tuple(v[i] / v[i + 1] if v[i + 1] else 0.0 for i in range(0, 2 * n, 2))
    if typ in (1, 7):
        return tuple(raw[:n])
    return (0,) * n


def _truncated_tiff(name: str) -> _Rejected:
    return _Rejected(Reject.TRUNCATED, f"{name} is cut off: the TIFF's pages point past the end of the file "
                                       "(the copy, upload or scan did not finish); copy or scan it again")


# ----------------------------------------------------------------------------------------------- size rules

def _too_large(width: int, height: int, options: LoadOptions, name: str, what: str) -> _Rejected:
    return _Rejected(Reject.TOO_LARGE,
                     f"{what} of {name} is {width}×{height} px ({width * height / 1e6:.0f} megapixels), "
                     f"over the {options.max_pixels / 1e6:.0f}-megapixel limit; this is not a normal scan — "
                     "scan the sheet at 200–300 dpi")


def _check_pixels(width: int, height: int, options: LoadOptions, name: str, what: str) -> None:
    if width * height > options.max_pixels:
        raise _too_large(width, height, options, name, what)
    if max(width, height) < options.min_long_side_px:
        raise _Rejected(Reject.TOO_SMALL,
                        f"{what} of {name} is only {width}×{height} px; a sheet needs at least "
                        f"{options.min_long_side_px} px on its long side to be read — scan at 200–300 dpi, or "
                        "photograph the sheet closer at full camera resolution")


def _factor(long_side: int, target: int) -> int:
    """The largest reduction in (1, 2, 4, 8) that keeps the long side at or above ``target``."""
    for f in _FACTORS:
        if long_side // f >= target:
            return f
    return 1


def _reduce(img: np.ndarray, target: int) -> tuple[np.ndarray, int]:
    f = _factor(max(img.shape[:2]), target)
    if f == 1:
        return img, 1
    h, w = img.shape[0] // f, img.shape[1] // f
    # crop to a multiple of f so that INTER_AREA takes its fast integer path (drops < f pixels at the edge)
    return cv2.resize(img[:h * f, :w * f], (w, h), interpolation=cv2.INTER_AREA), f


def _to_gray8(img: np.ndarray) -> np.ndarray:
    """Any decoded array (gray/colour/alpha, 8/16-bit, float) → 2-D uint8, alpha composited on white."""
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        f = img.astype(np.float32)
        top = float(f.max()) if f.size else 1.0
        img = np.clip(f * (255.0 / (top if top > 1.0 else 1.0)), 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return img
    channels = img.shape[2]
    if channels in (2, 4):
        colour = img[..., 0] if channels == 2 else cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2GRAY)
        alpha = img[..., -1].astype(np.uint16)
        return ((colour.astype(np.uint16) * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    if channels == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return np.ascontiguousarray(img[..., 0])


def _pil_to_gray(im) -> np.ndarray:
    """A PIL image → uint8 gray (RGB-ordered colour handled by PIL's own conversion)."""
    mode = im.mode
    if mode == "L":
        return np.asarray(im).copy()
    if mode in ("1", "P", "RGB", "CMYK", "YCbCr", "LAB", "HSV"):
        return np.asarray(im.convert("L")).copy()
    if mode in ("LA", "PA", "RGBA", "RGBa", "La"):
        rgba = np.asarray(im.convert("RGBA"))
        return _to_gray8(cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    arr = np.asarray(im)
    if mode.startswith("I;16"):
        arr = arr.astype(np.uint16)
    elif mode == "I" and arr.size and arr.max() > 255:
        arr = np.clip(arr, 0, 65535).astype(np.uint16)
    elif mode == "I":
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    return _to_gray8(arr)


# ---------------------------------------------------------------------------------------------- plan_pages

def _stat_checks(path: str, options: LoadOptions) -> int:
    name = os.path.basename(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise _Rejected(Reject.NOT_FOUND, _broken_link(path)) from None
        raise _Rejected(Reject.NOT_FOUND, f"{path} no longer exists (moved or deleted while the batch "
                                          "was running); add it again") from None
    except OSError as exc:
        raise _Rejected(Reject.UNREADABLE, f"{path} cannot be opened ({exc.strerror}); check its "
                                          "permissions") from None
    if not stat.S_ISREG(st.st_mode):
        raise _Rejected(Reject.UNSUPPORTED_TYPE, f"{name} {_NOT_REGULAR}")
    if st.st_size == 0:
        raise _Rejected(Reject.EMPTY_FILE, f"{name} is empty (0 bytes): the scan, copy or upload did not "
                                           "finish; scan or copy it again")
    if st.st_size > options.max_file_bytes:
        raise _Rejected(Reject.TOO_LARGE,
                        f"{name} is {st.st_size / 2**20:.0f} MB, over the {options.max_file_bytes / 2**20:.0f} MB "
                        "limit per file; split it into smaller files (for example 200 pages per PDF), or scan at "
                        "300 dpi grayscale")
    return st.st_size


def _open_error(path: str, exc: OSError) -> _Rejected:
    if isinstance(exc, FileNotFoundError):
        return _Rejected(Reject.NOT_FOUND, f"{path} no longer exists (moved or deleted while the batch was "
                                           "running); add it again")
    return _Rejected(Reject.UNREADABLE, f"{path} cannot be read ({exc.strerror}); check its permissions")


def plan_pages(path: str, options: LoadOptions) -> list[PageRef] | SheetFailure:
    """Sniff the type, check the size limits and count the pages of one file, reading headers only."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _plan(path, options)
    except _Rejected as r:
        return SheetFailure(path, None, r.code, r.message)
    except MemoryError:
        return SheetFailure(path, None, Reject.TOO_LARGE, f"{os.path.basename(path)} needs more memory than is "
                                                          "available to open; split or rescan it")
    except Exception as exc:  # noqa: BLE001 — a bad file must never stop the batch
        return SheetFailure(path, None, Reject.INTERNAL,
                            f"unexpected error while opening {os.path.basename(path)}: {exc!r}; please report "
                            "this with the file")


def _plan(path: str, options: LoadOptions) -> list[PageRef]:
    name = os.path.basename(path)
    size = _stat_checks(path, options)
    try:
        with open(path, "rb") as f:
            head = f.read(1024)
            kind = _sniff(head)
            read_at = _file_reader(f)
            if kind == "jpeg":
                header = _jpeg_header(read_at, size, name)
                _check_pixels(header.width, header.height, options, name, "the image")
                _check_jpeg_end(read_at, size, header, name)
                return [PageRef(path, 0, "jpeg")]
            if kind == "png":
                header, _, _ = _png_header(read_at, size, name)
                _check_pixels(header.width, header.height, options, name, "the image")
                return [PageRef(path, 0, "png")]
            if kind == "tiff":
                pages = _tiff_pages(read_at, size, name, max_pages=options.max_pages)
                _check_page_count(len(pages), options, name)
                for i, p in enumerate(pages):
                    if p.width == 0 or p.height == 0:
                        raise _Rejected(Reject.CORRUPT, f"page {i + 1} of {name} has no size (damaged TIFF); "
                                                        "save or scan it again")
                    if p.data_end > size:
                        raise _truncated_tiff(name)
                return [PageRef(path, i, "tiff") for i in range(len(pages))]
    except OSError as exc:
        raise _open_error(path, exc) from None
    if kind == "pdf":
        return _plan_pdf(path, size, options)
    raise _unsupported(name, kind, path)


def _check_page_count(n: int, options: LoadOptions, name: str) -> None:
    if n == 0:
        raise _Rejected(Reject.NO_PAGES, f"{name} has no pages; export or scan it again")
    if n > options.max_pages:
        raise _Rejected(Reject.TOO_MANY_PAGES, f"{name} has more than {options.max_pages} pages, over the limit per "
                                          "file; split it into smaller files")


def _open_pdf(path: str):
    import pikepdf

    name = os.path.basename(path)
    try:
        return pikepdf.open(for_library(path), inherit_page_attributes=False)
    except pikepdf.PasswordError:
        raise _Rejected(Reject.ENCRYPTED, f"{name} is password-protected; remove the password (for example "
                                          "print it to a new PDF) and add it again") from None
    except pikepdf.PdfError as exc:
        raise _Rejected(Reject.CORRUPT, f"{name} is a damaged PDF that cannot be opened "
                                        f"({_first_line(exc)}); export or scan it again") from None
    except OSError as exc:
        raise _open_error(path, exc) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _plan_pdf(path: str, size: int, options: LoadOptions) -> list[PageRef]:
    name = os.path.basename(path)
    with open(path, "rb") as f:
        f.seek(max(0, size - 2048))
        if b"%%EOF" not in f.read():
            raise _Rejected(Reject.TRUNCATED, f"{name} is cut off: the PDF has no end marker (%%EOF) — the "
                                              "copy, upload or scan did not finish; copy or scan it again")
    with _open_pdf(path) as pdf:
        try:
            pages = list(pdf.pages)
        except Exception as exc:  # noqa: BLE001 — qpdf raises several types for a broken page tree
            raise _Rejected(Reject.CORRUPT, f"{name} is a damaged PDF: its page list cannot be read "
                                            f"({_first_line(exc)}); export or scan it again") from None
        _check_page_count(len(pages), options, name)
        objs = [p.obj.objgen for p in pages]
        counts: dict[tuple[int, int], int] = {}
        for o in objs:
            counts[o] = counts.get(o, 0) + 1
        return [PageRef(path, i, "pdf", o if o != (0, 0) and counts[o] == 1 else None)
                for i, o in enumerate(objs)]


# ----------------------------------------------------------------------------------------------- load_page

def load_page(ref: PageRef, options: LoadOptions) -> Page | SheetFailure:
    """Decode one page in this process. Returns a ``Page`` (grayscale uint8) or a ``SheetFailure``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # PIL/pikepdf warnings are checked as results, not noise
            return _load(ref, options)
    except _Rejected as r:
        return SheetFailure(ref.path, ref.index + 1, r.code, r.message)
    except MemoryError:
        return SheetFailure(ref.path, ref.index + 1, Reject.TOO_LARGE,
                            f"page {ref.index + 1} of {os.path.basename(ref.path)} needs more memory than is "
                            "available to decode; rescan it at 300 dpi")
    except Exception as exc:  # noqa: BLE001 — a bad page must never stop the batch
        return SheetFailure(ref.path, ref.index + 1, Reject.INTERNAL,
                            f"unexpected error while decoding page {ref.index + 1} of "
                            f"{os.path.basename(ref.path)}: {exc!r}; please report this with the file")


def _load(ref: PageRef, options: LoadOptions) -> Page:
    size = _stat_checks(ref.path, options)
    if ref.kind == "pdf":
        return _load_pdf(ref, options)
    if ref.kind == "tiff":
        return _load_tiff(ref, options, size)
    try:
        with open(ref.path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise _open_error(ref.path, exc) from None
    name = os.path.basename(ref.path)
    if ref.kind == "jpeg":
        img, dpi, scale = _decode_jpeg(data, options, name, "the image")
    elif ref.kind == "png":
        img, dpi, scale = _decode_png(data, options, name)
    else:
        raise _Rejected(Reject.UNSUPPORTED_TYPE, f"{name}: unknown page kind {ref.kind!r}")
    return Page(img, ref.path, ref.index + 1, dpi, float(scale))


def _decode_jpeg(data: bytes, options: LoadOptions, name: str, what: str
                 ) -> tuple[np.ndarray, float | None, int]:
    if not data.startswith(b"\xff\xd8\xff"):
        raise _Rejected(Reject.CORRUPT, f"{what} of {name} is not a JPEG any more (the file changed or is "
                                        "damaged); scan or copy it again")
    read_at = _bytes_reader(data)
    header = _jpeg_header(read_at, len(data), name)
    _check_pixels(header.width, header.height, options, name, what)
    _check_jpeg_data(data, header, name, what)
    f = _factor(max(header.width, header.height), options.target_long_side_px)
    flags = {1: cv2.IMREAD_GRAYSCALE, 2: cv2.IMREAD_REDUCED_GRAYSCALE_2, 4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
             8: cv2.IMREAD_REDUCED_GRAYSCALE_8}[f] | cv2.IMREAD_IGNORE_ORIENTATION
    img, said = decoder_text(lambda: cv2.imdecode(np.frombuffer(data, np.uint8), flags))
    expected = (-(-header.height // f), -(-header.width // f))
    if img is None or img.shape[:2] != expected:
        raise _Rejected(Reject.CORRUPT, f"{what} of {name} is a damaged JPEG that cannot be decoded; scan or "
                                        "export it again")
    complaint = jpeg_complaint(said)
    if complaint is not None:
        raise _damaged_image(name, what, complaint)
    if img.ndim != 2:
        img = _to_gray8(img)
    return img, (header.dpi / f if header.dpi else None), f


def _check_jpeg_data(data: bytes, header: _Header, name: str, what: str) -> None:
    """TRUNCATED or CORRUPT when the JPEG's image data is cut or its markers are broken (``omr.decodecheck``)."""
    try:
        problem = jpeg_structure_problem(data, header.data_start)
    except Truncated:
        raise _truncated_jpeg(name) from None
    if problem is not None:
        raise _damaged_image(name, what, problem)


def _damaged_image(name: str, what: str, detail: str) -> _Rejected:
    where = name if what == "the image" else f"{name} ({what})"
    return _Rejected(Reject.CORRUPT, f"the image inside {where} is damaged: {detail}; the scan, copy or export "
                                     "went wrong — scan or export the page again")


def _decode_png(data: bytes, options: LoadOptions, name: str) -> tuple[np.ndarray, float | None, int]:
    header, bit_depth, colour_type = _png_header(_bytes_reader(data), len(data), name)
    _check_pixels(header.width, header.height, options, name, "the image")
    buf = np.frombuffer(data, np.uint8)
    if colour_type in (4, 6):              # alpha: composite on white instead of dropping it
        raw, _ = decoder_text(lambda: cv2.imdecode(buf, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION))
        img = None if raw is None else _to_gray8(raw)
    else:                                  # libpng's warnings are not shown; its errors leave no image
        img, _ = decoder_text(lambda: cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION))
    if img is None or img.shape[:2] != (header.height, header.width):
        raise _Rejected(Reject.CORRUPT, f"{name} is a damaged PNG that cannot be decoded; save or scan it again")
    img, f = _reduce(img, options.target_long_side_px)
    return img, (header.dpi / f if header.dpi else None), f


def _load_tiff(ref: PageRef, options: LoadOptions, size: int) -> Page:
    name = os.path.basename(ref.path)
    what = f"page {ref.index + 1}"
    try:
        with open(ref.path, "rb") as fh:
            pages = _tiff_pages(_file_reader(fh), size, name, stop_after=ref.index)
            if ref.index >= len(pages):
                raise _Rejected(Reject.CORRUPT, f"{name} has fewer pages than when it was opened; add it again")
            info = pages[ref.index]
            if info.width == 0 or info.height == 0:
                raise _Rejected(Reject.CORRUPT, f"{what} of {name} has no size (damaged TIFF); save or scan "
                                                "it again")
            if info.data_end > size:
                raise _truncated_tiff(name)
            _check_pixels(info.width, info.height, options, name, what)
            fh.seek(0)
            img = _decode_tiff_page(fh, ref.index, info, name, what)
    except OSError as exc:
        raise _open_error(ref.path, exc) from None
    img, f = _reduce(img, options.target_long_side_px)
    return Page(img, ref.path, ref.index + 1, info.dpi / f if info.dpi else None, float(f))


def _decode_tiff_page(fh, index: int, info: _TiffPage, name: str, what: str) -> np.ndarray:
    """Page ``index`` of an open TIFF as gray pixels; CORRUPT when it cannot be decoded or libtiff reports
    errors in its data (the fax decoders go on after a bad code word and return a garbled picture)."""
    from PIL import Image

    def decode() -> np.ndarray:
        with Image.open(fh) as im:
            im.seek(index)
            if im.size != (info.width, info.height):
                raise _Rejected(Reject.CORRUPT, f"{what} of {name} is a damaged TIFF; save or scan it again")
            im.load()
            return _pil_to_gray(im)

    try:
        img, said = decoder_text(decode)
    except (OSError, EOFError, SyntaxError, ValueError, TypeError, struct.error) as exc:
        raise _Rejected(Reject.CORRUPT, f"{what} of {name} is a damaged TIFF that cannot be decoded "
                                        f"({_first_line(exc)}); save or scan it again") from None
    complaint = tiff_complaint(said)
    if complaint is not None:
        raise _damaged_image(name, what, complaint)
    return img


# ----------------------------------------------------------------------------------------------------- PDF

_PAINTING = frozenset({"S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "sh", "BI", "INLINE IMAGE", "d0", "d1"})
_SHOWING = frozenset({"Tj", "TJ", "'", '"'})


def _inherited(page, key: str):
    node, depth = page, 0
    while node is not None and depth < 64:
        if key in node:
            return node[key]
        node = node.get("/Parent")
        depth += 1
    return None


def _pdf_page(pdf, ref: PageRef):
    import pikepdf

    if ref.obj is not None:
        try:
            obj = pdf.get_object(ref.obj)
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/Page":
                return obj
        except (pikepdf.PdfError, ValueError, KeyError):
            pass
    pages = pdf.pages
    if ref.index >= len(pages):
        raise _Rejected(Reject.CORRUPT, f"{os.path.basename(ref.path)} has fewer pages than when it was opened; "
                                        "add it again")
    return pages[ref.index].obj


def _mat_mul(m, n):
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _sole_image(page):
    """The one image a page shows, with its placement matrix, when nothing else is painted; else None.

    Invisible text (render mode 3: the OCR layer of a "searchable" scan), clipping paths and colour settings
    are allowed; any other painting, a form XObject or an inline image means the page must be rasterised.
    """
    import pikepdf

    resources = _inherited(page, "/Resources")
    xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
    if not isinstance(xobjects, pikepdf.Dictionary) or len(xobjects) == 0:
        return None
    try:
        return _sole_image_in(pikepdf.parse_content_stream(page), xobjects)
    except (pikepdf.PdfError, TypeError, ValueError, IndexError):
        return None               # a broken or garbled content stream: poppler is more lenient


def _sole_image_in(instructions, xobjects):
    ctm, stack, mode, found = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0), [], 0, None
    for instruction in instructions:
        op, operands = str(instruction.operator), instruction.operands
        if op == "q":
            stack.append((ctm, mode))
        elif op == "Q":
            if stack:
                ctm, mode = stack.pop()
        elif op == "cm":
            ctm = _mat_mul(tuple(float(v) for v in operands), ctm)
        elif op == "Tr":
            mode = int(operands[0])
        elif op in _SHOWING:
            if mode != 3:
                return None
        elif op == "Do":
            xobj = xobjects.get(str(operands[0]))
            if found is not None or xobj is None or xobj.get("/Subtype") != "/Image":
                return None
            found = (xobj, ctm)
        elif op in _PAINTING:
            return None
    return found


def _page_box(page) -> tuple[float, float]:
    box = _inherited(page, "/CropBox") or _inherited(page, "/MediaBox")
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
        return abs(x1 - x0), abs(y1 - y0)
    except (TypeError, ValueError):
        return 612.0, 792.0          # the PDF default (US Letter) when the box is missing or broken


def _load_pdf(ref: PageRef, options: LoadOptions) -> Page:
    import pikepdf

    name = os.path.basename(ref.path)
    what = f"page {ref.index + 1}"
    with _open_pdf(ref.path) as pdf:
        try:
            page = _pdf_page(pdf, ref)
            sole = _sole_image(page)
        except pikepdf.PdfError as exc:
            raise _Rejected(Reject.CORRUPT, f"{what} of {name} is damaged ({_first_line(exc)}); export or scan "
                                            "the PDF again") from None
        if sole is not None:
            image = _extract_image(*sole, options, name, what)
            if image is not None:
                img, dpi, f = image
                return Page(img, ref.path, ref.index + 1, dpi, float(f))
        w_pt, h_pt = _page_box(page)
        _check_page_images(page, options, name, what)
    return _rasterise(ref, w_pt, h_pt, options)


def _extract_image(xobj, ctm, options: LoadOptions, name: str, what: str
                   ) -> tuple[np.ndarray, float | None, int] | None:
    """Decode the page's one image; None when it must be rasterised instead (masks, JBIG2, exotic types)."""
    import pikepdf

    if xobj.get("/ImageMask", False) or "/SMask" in xobj or "/Mask" in xobj:
        return None
    try:
        width, height = int(xobj.Width), int(xobj.Height)
    except (AttributeError, TypeError, ValueError):
        return None
    _check_pixels(width, height, options, name, what)
    filters = xobj.get("/Filter")
    filters = [str(filters)] if isinstance(filters, pikepdf.Name) else [str(x) for x in (filters or [])]
    colourspace = xobj.get("/ColorSpace")
    cmyk = isinstance(colourspace, pikepdf.Name) and str(colourspace) == "/DeviceCMYK"
    decode = xobj.get("/Decode")
    inverted = decode is not None and len(decode) >= 2 and float(decode[0]) == 1.0 and float(decode[1]) == 0.0
    if filters == ["/DCTDecode"] and not cmyk:
        img, file_dpi, f = _decode_jpeg(bytes(xobj.read_raw_bytes()), options, name, what)
        if inverted:
            img = 255 - img
    else:
        if filters == ["/DCTDecode"]:          # a CMYK JPEG: Pillow decodes it, after the same structure check
            raw = bytes(xobj.read_raw_bytes())
            if raw.startswith(b"\xff\xd8\xff"):
                _check_jpeg_data(raw, _jpeg_header(_bytes_reader(raw), len(raw), name), name, what)
        img = _pdf_image_pixels(xobj, name, what)
        if img is None or img.shape != (height, width):
            return None
        img, f = _reduce(img, options.target_long_side_px)
    a, b, c, d, _, _ = ctm
    if a * d - b * c < 0:        # mirrored placement: flip so what remains is a rotation, which the reader handles
        img = np.ascontiguousarray(img[:, ::-1])
    shown_w, shown_h = math.hypot(a, b) / 72.0, math.hypot(c, d) / 72.0
    dpi = (width / shown_w + height / shown_h) / 2 / f if shown_w > 0 and shown_h > 0 else None
    return img, dpi, f


def _pdf_image_pixels(xobj, name: str, what: str) -> np.ndarray | None:
    """A PDF image that is not a plain JPEG, decoded by pikepdf and Pillow; None when they cannot decode that kind
    (JBIG2 without jbig2dec, an exotic colour space: poppler can still draw it); CORRUPT when its data is
    damaged (a Flate stream that breaks off, a CMYK JPEG or a fax image with bad codes)."""
    import pikepdf
    from pikepdf.models.image import ImageDecompressionError, PdfImage

    try:
        img, said = decoder_text(lambda: _pil_to_gray(PdfImage(xobj).as_pil_image()))
    except (pikepdf.DataDecodingError, ImageDecompressionError, OSError, EOFError) as exc:
        if isinstance(exc, OSError) and "not available" in str(exc):
            return None           # Pillow built without that decoder ("decoder jpeg2k not available")
        raise _damaged_image(name, what, "its data cannot be decoded") from None
    except (pikepdf.PdfError, NotImplementedError, ValueError, pikepdf.UnsupportedImageTypeError,
            pikepdf.DependencyError, pikepdf.NotExtractableError):
        return None
    complaint = tiff_complaint(said) or jpeg_complaint(said)
    if complaint is not None:
        raise _damaged_image(name, what, complaint)
    return img


def _check_page_images(page, options: LoadOptions, name: str, what: str) -> None:
    """TOO_LARGE when an image the page can draw (in its resources, inside its forms, as a mask) has more pixels
    than ``options.max_pixels``: a decompression bomb, refused before poppler spends minutes inflating it."""
    import pikepdf

    todo, seen = [_inherited(page, "/Resources")], set()
    while todo and len(seen) < 10_000:
        resources = todo.pop()
        xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
        if not isinstance(xobjects, pikepdf.Dictionary):
            continue
        for key in list(xobjects.keys()):
            xobj = xobjects.get(key)
            if not isinstance(xobj, pikepdf.Stream) or xobj.objgen in seen:
                continue
            seen.add(xobj.objgen)
            if xobj.get("/Subtype") == "/Form":
                todo.append(xobj.get("/Resources"))
                continue
            for image in (xobj, xobj.get("/SMask"), xobj.get("/Mask")):
                if isinstance(image, pikepdf.Stream):
                    width, height = _int_or_0(image.get("/Width")), _int_or_0(image.get("/Height"))
                    if width * height > options.max_pixels:
                        raise _too_large(width, height, options, name, what)


def _int_or_0(value) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _rasterise(ref: PageRef, w_pt: float, h_pt: float, options: LoadOptions) -> Page:
    name = os.path.basename(ref.path)
    what = f"page {ref.index + 1}"
    dpi = options.rasterise_dpi
    _check_pixels(round(w_pt / 72 * dpi), round(h_pt / 72 * dpi), options, name, what + " (rasterised)")
    n = str(ref.index + 1)
    try:
        out = external.run(["pdftoppm", "-f", n, "-l", n, "-r", str(dpi), "-gray", "-cropbox", ref.path],
                           timeout=options.timeout_s)
    except external.ExternalTimeout:
        raise _Rejected(Reject.TIMEOUT, f"{what} of {name} took longer than {options.timeout_s:g} s to rasterise "
                                        "and was skipped; simplify or rescan the page") from None
    except external.ExternalError as exc:
        if exc.returncode is None:
            raise _Rejected(Reject.INTERNAL, f"{what} of {name} could not be rasterised: {exc}; install "
                                             "poppler-utils (sudo apt-get install poppler-utils)") from None
        raise _Rejected(Reject.CORRUPT, f"{what} of {name} could not be rasterised ({exc}); export or scan the "
                                        "PDF again") from None
    img = cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_GRAYSCALE) if out else None
    if img is None:
        raise _Rejected(Reject.CORRUPT, f"{what} of {name} could not be rasterised (no image from pdftoppm); "
                                        "export or scan the PDF again")
    if max(img.shape) < options.min_long_side_px:
        _check_pixels(img.shape[1], img.shape[0], options, name, what)
    img, f = _reduce(img, options.target_long_side_px)
    return Page(img, ref.path, ref.index + 1, dpi / f, float(f))
