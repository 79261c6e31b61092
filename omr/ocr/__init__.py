"""OCR of essay pages (typed or handwritten, scanned or photographed) with Tesseract.

    ocr_page(ref)       a page of an input file: a born-digital PDF page's own text layer, else OCR of the
                        page decoded at full resolution
    ocr_image(image)    OCR of one grayscale page image, preprocessing included

``ocr_image`` runs these steps in order (``omr.ocr.pipeline``; each measures on a small copy and transforms the
full-resolution page once):

find_sheet                   a sheet lying in a photo is found by its edges (``omr.pagefind``; an outline broken
                             where the sheet meets a desk as light as itself is completed from its straight
                             visible sides) and warped flat onto A4 at ``options.dpi``; when no plausible outline
                             exists (a scan, or the sheet fills the frame) the whole image is used as it is, with
                             a warning when a large outline was seen but rejected (a photo whose sheet was missed);
even_lighting                the page divided by a large-blur estimate of its background;
straighten, crop_to_text     text direction (0° vs 90°) and skew (up to ±12°) from projection profiles of the
                             ink, corrected in one rotation; then the page cropped to its text block;
scale_to_line_height         large type scaled down so text lines are ~30 px tall (14 pt at ~160 dpi):
                             Tesseract's time grows with the pixels, its accuracy does not;
turn_upright                 upside down or not: first a vote of the text lines (Vietnamese print has far more
                             ink above the x-height band than below it: ~2 ms, decisive on typed pages), then
                             Tesseract's orientation detection (``osd`` data, ~0.3 s) when the vote is unsure,
                             then the better word confidence of two readings of a strip of the page;
read                         recognition (``--psm 3``): words, confidences and paragraphs from Tesseract's TSV,
                             and the share of the ink the words cover;
reread_with_local_threshold  when the words cover too little of the ink (Tesseract's global threshold merged
                             blurred lines and it dropped them), the page is read again with a local (Sauvola)
                             threshold and the reading covering more is kept;
deblur                       motion blur: the cepstrum of a central square (~30 ms) shows a straight smear's
                             length and direction; a smeared page is read again Wiener-deconvolved with that line
                             kernel (once or twice) and the more confident reading kept; a page read with low
                             confidence and no smear found gets a second, weaker look (a smear hidden by defocus),
                             kept only if its deconvolved page reads far better and reliably;
flag_missed_text             a page still short of ink read is said to be;
second_opinion               a typed page with middling confidence (a blurred photo) is read again with the script
                             model (``Vietnamese``), and the more confident reading kept;
judge                        reliable when confident, covering the ink, and — when smeared — read as confidently
                             as a sharp page with a smear of at most half a text line (else a warning to
                             photograph it again, flat and sharp).

An ``upright`` image (an essay box warped upright through the sheet's fiducials) skips ``find_sheet``, the 90°
part of ``straighten`` and ``turn_upright``.

Engines (``omr.ocr.engine``): ``"tesserocr"`` keeps one Tesseract per process loaded; ``"tesseract-cli"`` (also
accepted as ``"pytesseract"``) runs the ``tesseract`` program once per call with our timeout wrapper; ``"auto"``
takes tesserocr when it can be imported.

The package: ``records`` (options, result, engine error), ``engine`` (Tesseract and its dependencies, TSV → words),
``ink`` (lighting, ink mask, text block, line height, coverage), ``orient`` (direction, skew, upside down),
``deblur`` (cepstrum, smear, Wiener), ``textlayer`` (a PDF page's own text), ``pipeline`` (the steps).
"""
from __future__ import annotations

from .engine import check_ocr_dependencies, tessdata_dir
from .pipeline import ocr_image, ocr_page
from .records import FULL_RESOLUTION, OcrEngineError, OcrOptions, OcrResult

__all__ = ["OcrResult", "OcrOptions", "OcrEngineError", "FULL_RESOLUTION", "check_ocr_dependencies",
           "ocr_image", "ocr_page", "tessdata_dir"]
