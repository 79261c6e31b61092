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

The parts, each owning one thing (none imports this package back):

* ``records``: ``LoadOptions``, ``PageRef`` and the internal rejection;
* ``discover``: finding the input files;
* ``sniff``: the file type from its magic bytes; ``headers``: JPEG/PNG/TIFF headers and truncation checks;
* ``limits``: file size, page count and pixel limits;
* ``decode``: JPEG/PNG/TIFF pages to grayscale at reduced scale;
* ``pdf``: PDF pages (the sole scanned image, or poppler's ``pdftoppm``: the one wrapper around it, and the check
  that it is installed);
* ``pages``: ``plan_pages`` and ``load_page``, which turn every rejection into a ``SheetFailure``.
"""
from __future__ import annotations

from .discover import discover, require_files
from .pages import load_page, plan_pages
from .pdf import check_dependencies, pdftoppm
from .records import LoadOptions, PageRef

__all__ = ["LoadOptions", "PageRef", "check_dependencies", "discover", "plan_pages", "load_page", "require_files",
           "pdftoppm"]
