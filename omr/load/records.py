"""The records the loader's steps pass around: run options, a page to decode, and the rejection that becomes a
``SheetFailure`` at the edge of ``plan_pages`` / ``load_page``."""
from __future__ import annotations

from dataclasses import dataclass

from ..records import Reject


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


def _open_error(path: str, exc: OSError) -> _Rejected:
    if isinstance(exc, FileNotFoundError):
        return _Rejected(Reject.NOT_FOUND, f"{path} no longer exists (moved or deleted while the batch was "
                                           "running); add it again")
    return _Rejected(Reject.UNREADABLE, f"{path} cannot be read ({exc.strerror}); check its permissions")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
