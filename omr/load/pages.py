"""The loader's two steps over one file: ``plan_pages`` (cheap checks and a page count, from headers) and
``load_page`` (decode one page); neither raises for a bad input."""
from __future__ import annotations

import os
import warnings

from ..records import Page, Reject, SheetFailure
from .decode import _decode_jpeg, _decode_png, _load_tiff
from .headers import _check_jpeg_end, _file_reader, _jpeg_header, _png_header, _tiff_pages, _truncated_tiff
from .limits import _check_page_count, _check_pixels, stat_checks
from .pdf import _load_pdf, plan_pdf
from .records import LoadOptions, PageRef, _open_error, _Rejected
from .sniff import sniff_head, _unsupported


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
    size = stat_checks(path, options)
    try:
        with open(path, "rb") as f:
            head = f.read(1024)
            kind = sniff_head(head)
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
        return plan_pdf(path, size, options)
    raise _unsupported(name, kind, path)


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
    size = stat_checks(ref.path, options)
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
