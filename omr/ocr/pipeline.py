"""``ocr_image`` as a sequence of named steps over one page's state, and ``ocr_page`` (text layer, else OCR).

Each step takes the run (what is fixed for the page: options, engine, deadline) and the page's state, and returns
the new state; a step that finds nothing more to do (a blank page, no time left) marks the state ``done`` and the
page is judged as it stands. The order and what each step does are in the package's docstring (``omr.ocr``).
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from .. import pagefind
from ..load import LoadOptions, PageRef, load_page
from ..records import Page, Reject, SheetFailure
from .cells import erase_rules, vertical_rules, without_rules
from ..deblur import cepstrum, deconvolve, smear_in
from .engine import Deadline, Engine, Words, engine_for, has_lang, parse_tsv
from .ink import coverage, flatten, ink_mask, line_height, small_copy, text_box
from .orient import direction_and_skew, rotate, upside_down
from .records import FULL_RESOLUTION, OcrEngineError, OcrOptions, OcrResult
from .textlayer import text_layer

# Tesseract is fed text lines about this tall (ink extent with the marks, full-resolution px: 14 pt at 160 dpi):
# its time falls with the pixels, its accuracy holds down to ~150 dpi (bench/RESULTS.md).
_LINE_PX = 30.0
_MIN_SCALE = 0.25
# the words returned must cover this share of the ink, else the page is read again with a local threshold, and
# is unreliable if it still falls short (a page read whole covers ~1, one with lines dropped far less)
_MIN_COVERAGE = 0.9
_RETRY_THRESHOLD = 2              # Tesseract's thresholding_method: 0 Otsu (default), 1 tiled Otsu, 2 Sauvola
# A typed page with middling confidence (between handwriting and a well-read typed page: a blurred photo) is read
# again with the script model, which reads blurred diacritics better but costs ~35 % more time on every page (so
# it is not the default); that reading is kept when it is more confident and not shorter.
_SECOND_OPINION: dict[str, str] = {"vie": "Vietnamese"}
_SECOND_OPINION_CONF = (75.0, 94.5)
# A smeared page is also read deconvolved and the more confident reading kept: confidence tracks accuracy there.
_DEBLUR = True
_BLUR_KEEP_GAIN = 1.0             # the deconvolved reading must be this much more confident to be kept
_BLUR_WEAK_GAIN = 10.0            # ... and for a smear found only by the second look, this much (more than any
#                                   look at unblurred handwriting gains), and reliable
# a blurred page stays reliable only when read this confidently, and when its smear is at most half a text line
# long (longer smears read badly even at a confidence that would pass)
_BLUR_RELIABLE_CONF = 88.0
_BLUR_MAX_LINES = 0.5


@dataclass(frozen=True, slots=True)
class Run:
    """What every step may consult; fixed for the page."""
    options: OcrOptions
    engine: Engine
    deadline: Deadline
    upright: bool             # an essay box warped upright: no outline looked for, never turned
    started: float            # time.perf_counter() when the page was handed over


@dataclass(frozen=True, slots=True)
class PageState:
    """The page as the steps leave it."""
    image: np.ndarray         # the page as it will be read (grayscale uint8)
    dpi: int                  # its resolution
    warnings: tuple[str, ...] = ()
    mask: np.ndarray | None = None    # its ink at low resolution (before the crop), ``f`` full px per mask px
    f: float = 1.0
    line_px: float = _LINE_PX         # the text line height (px) on the page as read
    words: Words | None = None        # the reading kept
    cover: float = 1.0                # the share of the ink its words cover
    threshold: int = 0                # the thresholding method it was read with
    blur: tuple[float, float] | None = None   # (smear length, text line height) px when the page is smeared
    engine_name: str | None = None    # the engine that read it, when not the run's
    done: bool = False                # nothing more to do (blank page, no time left): judged as it stands
    rules: tuple[tuple[int, int, int], ...] = ()   # drawn vertical lines (x, top, bottom) on the page as read

    def replace(self, **changes) -> PageState:
        return dataclasses.replace(self, **changes)

    def warn(self, text: str, **changes) -> PageState:
        return dataclasses.replace(self, warnings=(*self.warnings, text), **changes)


Step = Callable[[Run, PageState], PageState]


# ---------------------------------------------------------------------------------------------- geometry

def find_sheet(run: Run, st: PageState) -> PageState:
    """A sheet lying in a photo, found by its edges, warped flat onto A4 at ``options.dpi``; the whole image
    when there is no plausible outline (a scan, or the sheet fills the frame)."""
    if run.upright:
        return st
    try:
        found = pagefind.find_page(st.image)
    except pagefind.PageNotFound as exc:
        if exc.outline_seen:
            return st.warn(f"no sheet outline found in what looks like a photo ({exc.reason}): the whole image "
                           "was read")
        return st
    page, _ = pagefind.warp_to_a4(st.image, found.corners, dpi=run.options.dpi)
    return st.warn("page found by edges: warped flat to A4", image=page, dpi=run.options.dpi)


def even_lighting(run: Run, st: PageState) -> PageState:
    """The page divided by a large-blur estimate of its paper."""
    return st.replace(image=flatten(st.image))


def straighten(run: Run, st: PageState) -> PageState:
    """Text lines made horizontal: a quarter turn when they run up the page (not for an upright image), the skew
    rotated away; a page without ink is done."""
    page = st.image
    small, f = small_copy(page)
    mask = ink_mask(small)
    if cv2.countNonZero(mask) < 30:
        return st.warn("blank page: no ink found", done=True)
    turn, skew, _ = direction_and_skew(without_rules(mask) if run.options.tables else mask, may_turn=not run.upright)
    if turn and run.options.tables and _osd_upright(run, page):
        turn, skew, _ = direction_and_skew(without_rules(mask), may_turn=False)
    if turn:
        page = np.ascontiguousarray(np.rot90(page, 1))     # a quarter counter-clockwise
        mask = np.ascontiguousarray(np.rot90(mask, 1))
    if abs(skew) >= 0.15:
        page = rotate(page, skew)
        small, f = small_copy(page)
        mask = ink_mask(small)
    return st.replace(image=page, mask=mask, f=f)


def erase_lines(run: Run, st: PageState) -> PageState:
    """Long drawn lines painted over (``OcrOptions.tables``: a typed entry's ruled tables), the ink mask made
    again without them (after ``straighten``: a skewed line is not found by the straight kernels)."""
    if not run.options.tables:
        return st
    rules = vertical_rules(st.image)
    page = erase_rules(st.image)
    small, f = small_copy(page)
    return st.replace(image=page, mask=ink_mask(small), f=f, rules=rules)


def _osd_upright(run: Run, page: np.ndarray) -> bool:
    """Tesseract's orientation detection says the text lines already run across (0° or 180°): a typed page with a
    table of short rows (question numbers beside one-letter answers) makes the projection profiles prefer a
    quarter turn, its columns passing for lines."""
    if run.deadline.left() <= 1.0:
        return False
    small, f = small_copy(erase_rules(page), 2000)
    found = run.engine.osd(small, dpi=max(70, int(round(run.options.dpi / f))),
                           timeout_s=min(10.0, run.deadline.left()))
    return found is not None and found[0] in (0, 180) and found[1] >= 2.0


def crop_to_text(run: Run, st: PageState) -> PageState:
    """The text block with a margin of 0.2 inch."""
    box = text_box(st.mask, st.f, st.image.shape, pad=int(0.2 * st.dpi))
    if box is None:
        return st.warn("blank page: no ink found", done=True)
    r0, r1, c0, c1 = box
    rules = tuple((x - c0, top - r0, bottom - r0) for x, top, bottom in st.rules if c0 <= x < c1)
    return st.replace(image=np.ascontiguousarray(st.image[r0:r1, c0:c1]), rules=rules)


def scale_to_line_height(run: Run, st: PageState) -> PageState:
    """Large text scaled down to lines ``_LINE_PX`` tall: Tesseract's time grows with the pixels, its accuracy
    does not."""
    line = line_height(st.mask)
    if line is None:
        return st
    read_line = line * st.f
    scale = max(_MIN_SCALE, _LINE_PX / read_line)
    if scale >= 0.9:
        return st.replace(line_px=read_line)
    page = st.image
    page = cv2.resize(page, (max(1, round(page.shape[1] * scale)), max(1, round(page.shape[0] * scale))),
                      interpolation=cv2.INTER_AREA)
    rules = tuple((round(x * scale), round(t * scale), round(b * scale)) for x, t, b in st.rules)
    return st.replace(image=page, line_px=read_line * scale, dpi=max(30, int(round(st.dpi * scale))), rules=rules)


def turn_upright(run: Run, st: PageState) -> PageState:
    """A page upside down turned a half (never an upright image)."""
    if run.upright or not upside_down(run.engine, st.image, st.mask, st.dpi, run.deadline):
        return st
    h, w = st.image.shape
    rules = tuple((w - 1 - x, h - 1 - b, h - 1 - t) for x, t, b in st.rules)
    return st.replace(image=np.ascontiguousarray(st.image[::-1, ::-1]), rules=rules)


# ---------------------------------------------------------------------------------------------- readings

def _mode(options: OcrOptions) -> dict[str, int | bool]:
    """How Tesseract lays out the page: automatic (``--psm 3``), or, for a typed entry that may hold tables, one
    block of lines (``--psm 6``: a table's row is read across as one line, not column by column — ``--psm 3`` and
    ``4`` drop or garble a column of one-letter answers, taken for vertical text)."""
    return {"psm": 6, "vertical": False} if options.tables else {"psm": 3, "vertical": True}


def _reading(engine: Engine, image: np.ndarray, dpi: int, deadline: Deadline, threshold: int,
             mode: dict[str, int | bool]) -> tuple[Words, bool]:
    """(the words, timed out) of one more reading of ``image`` in the time left."""
    tsv, timed_out = engine.tsv(image, dpi=dpi, timeout_s=deadline.left(), threshold=threshold, **mode)
    return parse_tsv(tsv), timed_out


def read(run: Run, st: PageState) -> PageState:
    """Tesseract's reading (``--psm 3``, or 6 for a typed entry's page) and the share of the ink its words cover;
    out of time: done."""
    left = run.deadline.left()
    if left <= 0.05:
        return st.warn(f"timeout: page not recognised within {run.options.timeout_s:g} s", done=True)
    tsv, timed_out = run.engine.tsv(st.image, dpi=st.dpi, timeout_s=left, **_mode(run.options))
    words = parse_tsv(tsv)
    if timed_out:
        return st.warn(f"timeout: page {'partly' if words.words else 'not'} recognised within "
                       f"{run.options.timeout_s:g} s", words=words, done=True)
    return st.replace(words=words, cover=coverage(st.image, words.boxes))


def reread_with_local_threshold(run: Run, st: PageState) -> PageState:
    """Whole lines left out (blurred lines merged by Tesseract's global threshold): read again with a local
    (Sauvola) threshold, and the reading covering more of the ink kept."""
    if st.cover >= _MIN_COVERAGE or run.deadline.left() <= 1.0:
        return st
    words, timed_out = _reading(run.engine, st.image, st.dpi, run.deadline, _RETRY_THRESHOLD,
                                 _mode(run.options))
    cover = coverage(st.image, words.boxes)
    st = st.warn(f"text missed: the words read cover {st.cover:.0%} of the ink; read again with a local "
                 f"threshold ({cover:.0%})")
    if timed_out or cover <= st.cover:
        return st
    return st.replace(words=words, cover=cover, threshold=_RETRY_THRESHOLD)


def _find_smear(st: PageState) -> tuple[tuple[float, float] | None, bool]:
    """(smear length and angle or None, found only by the second, weaker look at a page read with low
    confidence — a smear only if deconvolving it reads better)."""
    cep = cepstrum(st.image) if _DEBLUR else None
    blur = smear_in(cep)
    if blur is None and st.words.mean_conf < _BLUR_RELIABLE_CONF:
        blur = smear_in(cep, strict=False)
        return blur, blur is not None
    return blur, False


def _deconvolved_readings(run: Run, st: PageState, length: float, angle: float, weak: bool
                          ) -> tuple[tuple[np.ndarray, Words, float] | None, list[str]]:
    """The best (page, words, cover) read deconvolved, or None; and every deconvolved reading's confidence.

    A smear over N pixels (the dip's distance) is a line whose ends lie N - 1 apart: that kernel first; the
    N-long one when the first is still unsure (bench/RESULTS.md).
    """
    best: tuple[np.ndarray, Words, float] | None = None
    tried: list[str] = []
    for span in (length - 1.0,) if weak else (length - 1.0, length):
        if run.deadline.left() <= 1.0:
            break
        sharp = deconvolve(st.image, span, angle)
        words, timed_out = _reading(run.engine, sharp, st.dpi, run.deadline, st.threshold,
                                     _mode(run.options))
        cover = coverage(sharp, words.boxes)
        tried.append(f"{words.mean_conf:.1f}")
        if (not timed_out and cover >= min(st.cover, _MIN_COVERAGE)
                and (best is None or words.mean_conf > best[1].mean_conf)):
            best = (sharp, words, cover)
        if words.mean_conf >= _BLUR_RELIABLE_CONF:
            break
    return best, tried


def deblur(run: Run, st: PageState) -> PageState:
    """Motion blur: a smeared page is also read Wiener-deconvolved with the smear's line kernel, and the more
    confident reading kept; a smear found only by the second look counts only when that reading is kept."""
    blur, weak = _find_smear(st)
    if blur is None:
        return st
    length, angle = blur
    st = st.replace(blur=(length, st.line_px))
    msg = f"{'possible ' if weak else ''}motion blur (~{length:.0f} px at {math.degrees(angle) % 180:.0f}°)"
    unconfirmed = None if weak else st.blur       # a weak smear not confirmed: judged on the reading alone
    if run.deadline.left() <= 1.0:
        return st.warn(f"{msg}: no time left to deconvolve it", blur=unconfirmed)
    best, tried = _deconvolved_readings(run, st, length, angle, weak)
    conf = st.words.mean_conf
    if best is not None and (best[1].mean_conf >= conf + _BLUR_KEEP_GAIN if not weak else
                             best[1].mean_conf >= max(conf + _BLUR_WEAK_GAIN, run.options.min_reliable_conf)):
        return st.warn(f"{msg}: deconvolved (confidence {conf:.1f} → {best[1].mean_conf:.1f})",
                       image=best[0], words=best[1], cover=best[2])
    return st.warn(f"{msg}: the deconvolved page read no better (confidence {conf:.1f}; deconvolved "
                   f"{', '.join(tried)})", blur=unconfirmed)


def flag_missed_text(run: Run, st: PageState) -> PageState:
    """A reading still short of the ink: said (the judge marks it unreliable)."""
    if st.cover >= _MIN_COVERAGE:
        return st
    return st.warn(f"text missed: the words read cover only {st.cover:.0%} of the ink (marked unreliable)")


def second_opinion(run: Run, st: PageState) -> PageState:
    """A degraded typed page (a blurred photo) read again with the script model; the surer reading kept."""
    second = _SECOND_OPINION.get(run.options.lang)
    lo, hi = _SECOND_OPINION_CONF
    if second is None or not lo <= st.words.mean_conf < hi or run.deadline.left() <= 1.0 or not has_lang(second):
        return st
    other = engine_for(dataclasses.replace(run.options, lang=second))
    words, timed_out = _reading(other, st.image, st.dpi, run.deadline, st.threshold, _mode(run.options))
    if timed_out or words.mean_conf <= st.words.mean_conf or words.words < 0.97 * st.words.words:
        return st
    return st.warn(f"degraded page: read again with '{second}' (confidence {st.words.mean_conf:.1f} → "
                   f"{words.mean_conf:.1f})", words=words, engine_name=other.name)


def judge(run: Run, st: PageState) -> OcrResult:
    """The result: reliable when confident enough, covering the ink, and — on a smeared page — confident as a
    sharp page and smeared by at most half a text line."""
    w = st.words or Words("", 0.0, 0)
    opts = run.options
    warnings = st.warnings
    reliable = bool(w.words > 0 and w.mean_conf >= opts.min_reliable_conf and st.cover >= _MIN_COVERAGE)
    if reliable and st.blur and (w.mean_conf < max(opts.min_reliable_conf, _BLUR_RELIABLE_CONF)
                                 or st.blur[0] > _BLUR_MAX_LINES * st.blur[1]):
        reliable = False
        smear, line = st.blur
        warnings += (f"badly blurred photo (motion blur ~{smear:.0f} px, {smear / line:.0%} of a text line; "
                     f"confidence {w.mean_conf:.1f}): marked unreliable; photograph the page again, flat and sharp",)
    return OcrResult(w.text, round(w.mean_conf, 2), w.words, reliable, st.engine_name or run.engine.name, "ocr",
                     time.perf_counter() - run.started, warnings, w.lines, w.placed, st.rules)


STEPS: tuple[Step, ...] = (find_sheet, even_lighting, straighten, erase_lines, crop_to_text, scale_to_line_height,
                           turn_upright, read, reread_with_local_threshold, deblur, flag_missed_text, second_opinion)


# ---------------------------------------------------------------------------------------------- entries

def _grayscale(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
        raise ValueError("ocr_image needs a 2-D grayscale uint8 image")
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    if image.dtype != np.uint8:
        raise ValueError(f"ocr_image needs a uint8 image, got {image.dtype}")
    return image


def ocr_image(image: np.ndarray, options: OcrOptions = OcrOptions(), *, upright: bool = False) -> OcrResult:
    """OCR one page image (grayscale uint8; colour is converted). Never raises for a bad page: blank → empty.

    ``upright``: the image is already flat and upright (an essay box warped upright through the sheet's
    fiducials): no page outline is looked for, and it is never turned a quarter or a half (a box holding one
    written line has too few lines to tell its direction); skew is still corrected.

    Raises ``MissingDependency`` when the engine or language data is missing, ``OcrEngineError`` when
    Tesseract crashes, ``ValueError`` for an array that is not an image.
    """
    started = time.perf_counter()
    image = _grayscale(image)
    if options.timeout_s <= 0:
        raise ValueError("timeout_s must be positive")
    deadline = Deadline(options.timeout_s)
    run = Run(options, engine_for(options), deadline, upright, started)
    dpi = max(70, min(600, int(round(max(image.shape) / (pagefind.A4_MM[1] / 25.4)))))
    st = PageState(image, dpi)
    for step in STEPS:
        st = step(run, st)
        if st.done:
            break
    return judge(run, st)


def ocr_page(ref: PageRef, options: OcrOptions = OcrOptions(), load: LoadOptions = FULL_RESOLUTION
             ) -> OcrResult | SheetFailure:
    """The text of one page: a born-digital PDF page's text layer, else OCR of the page at full resolution.

    ``load`` is used with its reduced decoding switched off (OCR needs every pixel) and PDF pages rasterised
    at ``options.dpi``. Bad pages and engine crashes come back as ``SheetFailure``; a missing engine or
    language raises ``MissingDependency`` (check it once with ``check_ocr_dependencies`` before a batch).
    """
    t0 = time.perf_counter()
    warns: list[str] = []
    if ref.kind == "pdf":
        text, warns = text_layer(ref, options.timeout_s)
        if text is not None:
            return OcrResult(text, 100.0, len(text.split()), True, "text layer", "text_layer",
                             time.perf_counter() - t0, tuple(warns), tuple(x for x in text.splitlines() if x.strip()))
    load = dataclasses.replace(load, target_long_side_px=1 << 30, rasterise_dpi=options.dpi)
    page = load_page(ref, load)
    if isinstance(page, SheetFailure):
        return page
    assert isinstance(page, Page)
    try:
        res = ocr_image(page.image, options)
    except OcrEngineError as exc:
        return SheetFailure(ref.path, ref.index + 1, Reject.INTERNAL,
                            f"page {ref.index + 1} of {os.path.basename(ref.path)} could not be recognised: "
                            f"{exc}; please report this with the file")
    return dataclasses.replace(res, seconds=time.perf_counter() - t0, warnings=(*warns, *res.warnings))
