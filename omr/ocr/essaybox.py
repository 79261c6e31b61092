"""An essay box of a sheet page, as the OCR and the judges' pictures need it: pixel work beside the OCR it feeds.

``crop_region`` warps the box upright at a given resolution through the page's alignment; ``blank_printed_marks``
paints white what the sheet printed inside the box (its label and border lines), so that the text read is only
what the participant wrote; ``read_essay_box`` does the whole trip for one box — load the page, align it, crop,
blank, read — and says why when it cannot.
"""
from __future__ import annotations

import numpy as np

from ..align import align
from ..errors import AlignmentError
from ..layout import Layout, Rect
from ..load import LoadOptions, PageRef, load_page
from ..records import SheetFailure
from .engine import OcrOptions
from .pipeline import ocr_image
from .records import OcrResult


def crop_region(image: np.ndarray, H: np.ndarray, rect: Rect, *, dpi: float = 300.0) -> np.ndarray:
    """The layout rectangle ``rect`` (mm) of a page, warped upright at ``dpi``; ``H`` maps layout mm to image
    pixels (``omr.align.Alignment.H``). Pure: a new grayscale uint8 array, white outside the page."""
    import cv2

    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(f"expected a grayscale uint8 image, got {image.dtype} with shape {image.shape}")
    if dpi <= 0 or rect.w_mm <= 0 or rect.h_mm <= 0:
        raise ValueError(f"bad crop: {rect} at {dpi} dpi")
    s = dpi / 25.4                                       # output pixels per mm
    w, h = int(round(rect.w_mm * s)), int(round(rect.h_mm * s))
    # output pixel (u, v) (centre convention) ↔ layout mm (x0 + (u + ½)/s, y0 + (v + ½)/s) ↔ image H·mm
    to_mm = np.array([[1 / s, 0, rect.x_mm + 0.5 / s], [0, 1 / s, rect.y_mm + 0.5 / s], [0, 0, 1]])
    return cv2.warpPerspective(image, H @ to_mm, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=255)


# What the sheet printed in an essay box is not the participant's text: painted white before OCR. The margins
# cover the alignment error (fiducials reproject within omr.align.MAX_RESIDUAL_MM = 0.6 mm RMS) and the half
# of the 0.5 pt border line that falls inside the box.
LABEL_MARGIN_MM = 1.0        # around the label's rectangle (omr.sheet.essay_label_rect)
BORDER_BAND_MM = 1.0         # along the box's four edges, inside the crop


def blank_printed_marks(crop: np.ndarray, region: Rect, *, label: Rect | None = None, dpi: float = 300.0,
                        label_margin_mm: float = LABEL_MARGIN_MM, border_mm: float = BORDER_BAND_MM) -> np.ndarray:
    """``crop`` (``crop_region`` of ``region`` at ``dpi``) with a band of ``border_mm`` along its four edges
    and the label's rectangle (layout mm, grown by ``label_margin_mm``) painted white. Everything else — the
    first line to the right of the label too — is kept. Pure: a new array."""
    if crop.ndim != 2 or crop.dtype != np.uint8:
        raise ValueError(f"expected a grayscale uint8 image, got {crop.dtype} with shape {crop.shape}")
    if dpi <= 0 or label_margin_mm < 0 or border_mm < 0:
        raise ValueError(f"bad blanking: {dpi} dpi, margins {label_margin_mm} / {border_mm} mm")
    s = dpi / 25.4
    h, w = crop.shape
    out = crop.copy()
    b = int(np.ceil(border_mm * s))
    if b:
        out[:b], out[-b:], out[:, :b], out[:, -b:] = 255, 255, 255, 255
    if label is not None:
        # output pixel u covers layout mm x0 + u/s .. x0 + (u + 1)/s (crop_region's convention)
        c0 = max(0, int(np.floor((label.x_mm - label_margin_mm - region.x_mm) * s)))
        c1 = min(w, int(np.ceil((label.x_mm + label.w_mm + label_margin_mm - region.x_mm) * s)))
        r0 = max(0, int(np.floor((label.y_mm - label_margin_mm - region.y_mm) * s)))
        r1 = min(h, int(np.ceil((label.y_mm + label.h_mm + label_margin_mm - region.y_mm) * s)))
        if c0 < c1 and r0 < r1:
            out[r0:r1, c0:_label_end(out[r0:r1], c0, c1, s, label_margin_mm)] = 255
    return out


def _label_end(band: np.ndarray, c0: int, c1: int, s: float, margin_mm: float) -> int:
    """Where the printed label ends in its band (pixel columns). The estimate ``c1`` comes from the font this
    machine has, which may not be the one the sheet was printed with (DejaVu and Liberation Bold differ by ~15 %):
    the label's ink is followed from its start across gaps under 2 mm (word spaces at 9 pt are ~1 mm), and the
    end taken within 0.75–1.3 times the estimated width; no ink there keeps the estimate."""
    w = band.shape[1]
    width = c1 - c0
    hi = min(w, c0 + int(round(1.3 * width)))
    part = band[:, c0:hi]
    ink = (part < min(200.0, float(np.median(part)) - 50.0)).any(0)   # a scan's 9 pt label is grey, not black
    cols = np.flatnonzero(ink)
    if len(cols) == 0:
        return c1
    gaps = np.flatnonzero(np.diff(cols) > 2 * s)          # the first gap wider than 2 mm ends the label
    last = cols[gaps[0]] if len(gaps) else cols[-1]
    end = c0 + int(last) + 1 + int(np.ceil(margin_mm * s))
    return int(min(hi, max(c0 + int(round(0.75 * width)), end)))


class EssayBoxError(Exception):
    """The box could not be read: ``message`` says why, for people."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def read_essay_box(ref: PageRef, layout: Layout, region: Rect, label: Rect | None, ocr: OcrOptions, *,
                   load: LoadOptions) -> OcrResult | SheetFailure:
    """The text written in the essay box ``region`` (layout mm) of the page ``ref``: the page loaded and aligned,
    the box warped upright at the OCR's dpi, its printed label and border blanked, then read. A page that cannot
    be loaded is its ``SheetFailure``; a page on which the box cannot be located raises ``EssayBoxError``."""
    page = load_page(ref, load)
    if isinstance(page, SheetFailure):
        return page
    try:
        al = align(page.image, layout)
    except AlignmentError as exc:
        raise EssayBoxError(f"the essay box cannot be located on the page: {exc.message}") from None
    dpi = float(ocr.dpi)
    crop = crop_region(page.image, al.H, region, dpi=dpi)
    return ocr_image(blank_printed_marks(crop, region, label=label, dpi=dpi), ocr, upright=True)
