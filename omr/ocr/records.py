"""The OCR's records: the options of a reading, its result, the engine's failure."""
from __future__ import annotations

from dataclasses import dataclass

from ..load import LoadOptions

# every pixel of the page: OCR reads at full resolution (PDF pages rasterised at 300 dpi)
FULL_RESOLUTION = LoadOptions(target_long_side_px=1 << 30, rasterise_dpi=300)


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


@dataclass(frozen=True, slots=True)
class OcrOptions:
    lang: str = "vie"         # the language model: more accurate and faster on scans than the script model
    engine: str = "auto"      # "tesserocr" (model kept loaded) | "tesseract-cli" (one `tesseract` run per
    #                           reading; "pytesseract" is accepted for it) | "auto" (tesserocr when importable)
    timeout_s: float = 120.0
    dpi: int = 300            # raster resolution for warped photos and rasterised PDF pages
    min_reliable_conf: float = 75.0   # between typed pages (even blurred photos) and handwriting-like ones


class OcrEngineError(Exception):
    """Tesseract crashed or failed on a page (not a timeout). ``ocr_page`` turns it into a ``SheetFailure``."""
