"""The limits a file and a page must keep: a regular, non-empty file under the size limit, a page count, and a
pixel count between "too small to read" and "a decompression bomb"."""
from __future__ import annotations

import os
import stat

from ..records import Reject
from .discover import _NOT_REGULAR, _broken_link
from .records import LoadOptions, _Rejected


def stat_checks(path: str, options: LoadOptions) -> int:
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


def _check_page_count(n: int, options: LoadOptions, name: str) -> None:
    if n == 0:
        raise _Rejected(Reject.NO_PAGES, f"{name} has no pages; export or scan it again")
    if n > options.max_pages:
        raise _Rejected(Reject.TOO_MANY_PAGES, f"{name} has more than {options.max_pages} pages, over the limit per "
                                          "file; split it into smaller files")


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
