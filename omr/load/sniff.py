"""The file type from its magic bytes (never its extension), and what to tell people about a type that is not
read."""
from __future__ import annotations

import os
import zipfile

from ..records import Reject
from .records import _Rejected


_SUPPORTED = "JPEG, PNG, TIFF or PDF"


def file_kind(head: bytes) -> str:
    """The file type from its first bytes (at least 1,024 of them): ``jpeg``, ``png``, ``tiff``, ``pdf``, ``zip``,
    or a description of another kind (``HEIC photo``, ``text file``, ``unknown``…)."""
    return sniff_head(head)


def sniff_head(head: bytes) -> str:
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
