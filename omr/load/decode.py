"""JPEG, PNG and TIFF pages decoded to grayscale uint8, at reduced scale when the page is large (a JPEG inside the
decoder), and only when the picture is whole (``omr.decodecheck``)."""
from __future__ import annotations

import os
import struct

import cv2
import numpy as np

from ..decodecheck import Truncated, decoder_text, jpeg_complaint, jpeg_structure_problem, tiff_complaint
from ..records import Page, Reject
from .headers import (_bytes_reader, _file_reader, _Header, _jpeg_header, _png_header, _tiff_pages, _TiffPage,
                      _truncated_jpeg, _truncated_tiff)
from .limits import _check_pixels
from .records import LoadOptions, PageRef, _first_line, _open_error, _Rejected


_FACTORS = (8, 4, 2, 1)


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
