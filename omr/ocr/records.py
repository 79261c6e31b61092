"""The OCR's records: the options of a reading, its result, the engine's failure."""
from __future__ import annotations

from dataclasses import dataclass

from ..load import LoadOptions

# every pixel of the page: OCR reads at full resolution (PDF pages rasterised at 300 dpi)
FULL_RESOLUTION = LoadOptions(target_long_side_px=1 << 30, rasterise_dpi=300)


@dataclass(frozen=True, slots=True)
class OcrWord:
    """One recognised word where it stands on the page as read (px of the straightened, cropped, scaled page):
    what a table's rows and columns are rebuilt from (``omr.ocr.cells``)."""

    text: str                 # NFC
    conf: float               # 0..100 (-1: Tesseract gave none)
    left: int
    top: int
    width: int
    height: int
    line: tuple[int, int, int] = (0, 0, 0)    # Tesseract's block, paragraph and line numbers

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height


@dataclass(frozen=True, slots=True)
class OcrResult:
    text: str                 # UTF-8, NFC-normalised, paragraphs separated by blank lines
    mean_conf: float          # 0..100, word confidences averaged (weighted by word length); 100 for a text layer
    words: int
    reliable: bool            # False when mean_conf is low (handwriting): text kept for search, the UI says so
    engine: str               # e.g. "tesseract 5.5.4 vie (tesserocr)" or "text layer"
    source: str               # "ocr" | "text_layer"
    seconds: float
    warnings: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()   # the text's lines as printed (OCR lines; a text layer's lines)
    placed: tuple[OcrWord, ...] = ()   # the OCR's words with their boxes, in reading order (none for a text layer)
    rules: tuple[tuple[int, int, int], ...] = ()   # drawn vertical lines (x, top, bottom), same px as ``placed``


@dataclass(frozen=True, slots=True)
class OcrOptions:
    lang: str = "vie"         # the language model: more accurate and faster on scans than the script model
    engine: str = "auto"      # "tesserocr" (model kept loaded) | "tesseract-cli" (one `tesseract` run per
    #                           reading; "pytesseract" is accepted for it) | "auto" (tesserocr when importable)
    timeout_s: float = 120.0
    dpi: int = 300            # raster resolution for warped photos and rasterised PDF pages
    min_reliable_conf: float = 75.0   # between typed pages (even blurred photos) and handwriting-like ones
    tables: bool = False      # a typed entry's page, which may hold tables: long drawn lines (a table's ruling)
    #                           painted over before the reading, and no vertical text looked for (Tesseract
    #                           takes a column of one-letter answers for a line of vertical text)


class OcrEngineError(Exception):
    """Tesseract crashed or failed on a page (not a timeout). ``ocr_page`` turns it into a ``SheetFailure``."""
