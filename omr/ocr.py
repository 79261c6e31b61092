"""OCR of essay pages (typed or handwritten, scanned or photographed) with Tesseract.

    ocr_page(ref)       a page of an input file: a born-digital PDF page's own text layer, else OCR of the
                        page decoded at full resolution
    ocr_image(image)    OCR of one grayscale page image, preprocessing included

Preprocessing, in order (each step measures on a small copy and transforms the full-resolution page once):

1. page finding: a sheet lying in a photo is found by its edges (``omr.pagefind``; an outline broken where the
   sheet meets a desk as light as itself is completed from its straight visible sides) and warped flat onto A4 at
   ``options.dpi``; when no plausible outline exists (a scan, or the sheet fills the frame) the whole image is
   used as it is, with a warning when a large outline was seen but rejected (a photo whose sheet was missed);
2. the lighting is flattened (the page divided by a large-blur estimate of its background);
3. text direction (0° vs 90°) and skew (up to ±12°) from projection profiles of the ink, corrected in one
   rotation; then the page is cropped to its text block and, when its type is large, scaled down so text lines
   are ~30 px tall (14 pt at ~160 dpi): Tesseract's time grows with the pixels, its accuracy does not;
4. upside down or not: first a vote of the text lines (Vietnamese print has far more ink above the x-height
   band than below it: ~2 ms, decisive on typed pages), then Tesseract's orientation detection (``osd`` data,
   ~0.3 s) when the vote is unsure, then the better word confidence of two readings of a strip of the page;
5. recognition (``--psm 3``), words, confidences and paragraphs taken from Tesseract's TSV; when the words
   returned cover too little of the ink (Tesseract's global threshold merged blurred lines and it dropped
   them), the page is read again with a local (Sauvola) threshold and the reading covering more is kept; a
   page still short of ink read is unreliable;
5c. motion blur: the cepstrum of a central square (~30 ms) shows a straight smear's length and direction; a
   smeared page is read again Wiener-deconvolved with that line kernel (once or twice) and the more confident
   reading kept; a smeared page read with confidence < 88, or smeared over half a text line, is unreliable, with a
   warning to photograph it again, flat and sharp; a page read below confidence 88 with no smear found gets a
   second, weaker look (a smear hidden by defocus), kept only if its deconvolved page reads ≥ 10 points better
   and reliable;
6. a typed page with middling confidence (a blurred photo) is read again with the script model
   (``Vietnamese``), and the more confident reading is kept.

An ``upright`` image (an essay box warped upright through the sheet's fiducials) skips step 1, the 90° part of
step 3 and step 4.

Engines: ``"tesserocr"`` keeps one Tesseract per process loaded (PyPI wheel ``tesserocr``, which bundles its
own Tesseract and reads Debian's language data), ``"pytesseract"`` runs the ``tesseract`` program once per
call through ``omr.external.run`` (the same thing the pytesseract package does, with our timeout/kill
wrapper); ``"auto"`` takes tesserocr when it can be imported. Every call has a deadline: a timeout degrades
(partial or empty text, and a warning), a crash raises :class:`OcrEngineError`. Tesseract's OpenMP threads
are limited to one (``OMP_THREAD_LIMIT=1``) in the environment of the call.
"""
from __future__ import annotations

import dataclasses
import math
import os
import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from . import external, pagefind
from .errors import MissingDependency
from .load import LoadOptions, PageRef, load_page
from .paths import for_library
from .records import Page, Reject, SheetFailure

__all__ = ["OcrResult", "OcrOptions", "OcrEngineError", "FULL_RESOLUTION", "check_ocr_dependencies",
           "ocr_image", "ocr_page", "tessdata_dir"]

FULL_RESOLUTION = LoadOptions(target_long_side_px=1 << 30, rasterise_dpi=300)

_TESSDATA_CANDIDATES = ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
                        "/usr/share/tessdata", "/usr/local/share/tessdata", "/opt/homebrew/share/tessdata")
_APT_LANG = {"vie": "tesseract-ocr-vie", "Vietnamese": "tesseract-ocr-script-viet", "eng": "tesseract-ocr-eng",
             "osd": "tesseract-ocr-osd"}
_MIN_TEXT_LAYER_CHARS = 20
# Second reading of degraded typed pages: for these languages, a page whose mean confidence lies in this range
# (well-read typed pages score ≥ 95.6 in bench/ocr_bench.py, handwriting-like ≤ 62.5, blurred phone photos
# 88–94) is read again with the script model, and that reading is kept when it is more confident and not
# shorter (the script model reads blurred diacritics better: phone CER 2.6 % → 1.7 % over 6 pages, but costs
# ~35 % more time on every page, so it is not the default).
_SECOND_OPINION: dict[str, str] = {"vie": "Vietnamese"}
_SECOND_OPINION_CONF = (75.0, 94.5)
# Tesseract is fed text lines about this tall (ink extent with the marks, full-resolution pixels: 14 pt at 160 dpi);
# 14 pt at 300 dpi measures 56. Time falls with the pixels (bench: 300 → 150 dpi, 2.1 → 1.25 s/page), CER does
# not change down to ~150 dpi and rises below (125 dpi: scanner 0.14 % → 0.28 %).
_LINE_PX = 30.0
_MIN_SCALE = 0.25
# Words returned must cover this share of the ink, else the page is read again with a local threshold, and is
# unreliable if it still falls short (bench, seed 7: pages read whole 0.99–1.0; pages with lines dropped 0.70–0.72)
_MIN_COVERAGE = 0.9
_RETRY_THRESHOLD = 2              # Tesseract's thresholding_method: 0 Otsu (default), 1 tiled Otsu, 2 Sauvola
_MIN_TEXT_WITH_IMAGE = 300        # letters: less than this next to an image is a stamp on a scan
# Motion blur (a phone moved during the shot): a straight smear over N pixels shows in the cepstrum of the page (as
# read, text lines ~30 px) as a negative dip N pixel steps away along the smear. Sharp pages put their deepest dip
# 3 steps away (the strokes), 2–3 px smears ≤ 4 (a short diagonal one at (4, 4)); smears that cost CER (bench seeds
# 7/2026/4242: 4–7 px in the photo's frame) 5–13. Such a page is also read deconvolved (Wiener, the line kernel
# estimated) and the more confident reading kept (confidence tracked CER on all 15 blurred bench pages: 14.6 →
# 3.5 %, 74 → 1.5 %; where the deconvolved reading was less sure, it was also worse, and the first reading stayed).
_DEBLUR = True
_BLUR_MIN_STEPS = 5
_BLUR_WIENER_K = 0.01             # noise-to-signal: 0.005 rang (one page 16 → 61 %), 0.03 left more blur
_BLUR_KEEP_GAIN = 1.0             # the deconvolved reading must be this much more confident to be kept
_BLUR_WEAK_GAIN = 10.0            # ... and for a smear found only by the second look, this much, and reliable
                                  # (6262 p7: 61 → 87; on unblurred handwriting such a look gained ≤ 5.3)
# a blurred page stays reliable only when read this confidently (bench, deconvolved or not: ≥ 90 read at ≤ 4.3 %
# CER, ≤ 85 at 5.9–30 %), and when its smear is at most half a text line long (tests: a 17 px smear on 30 px
# lines read at 15 % CER with confidence 90; bench smears 5.8–13 px)
_BLUR_RELIABLE_CONF = 88.0
_BLUR_MAX_LINES = 0.5


# ---------------------------------------------------------------------------------------------- records

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


@dataclass(frozen=True, slots=True)
class OcrOptions:
    lang: str = "vie"         # bench: scans 0.09 % CER (Vietnamese script model 0.13 %, and ~35 % slower)
    engine: str = "auto"      # "pytesseract" | "tesserocr" | "auto" (tesserocr when importable: model kept loaded)
    timeout_s: float = 120.0
    dpi: int = 300            # raster resolution for warped photos and rasterised PDF pages
    min_reliable_conf: float = 75.0   # bench: typed pages 88.8–96.6 (worst: blurred photos), handwriting-like
    #                                   51–62.5; 75 lies in the gap (a typed page at 63.8 was a photo read at 18 % CER)


class OcrEngineError(Exception):
    """Tesseract crashed or failed on a page (not a timeout). ``ocr_page`` turns it into a ``SheetFailure``."""


# ---------------------------------------------------------------------------------------- dependencies

def tessdata_dir() -> str | None:
    """Where Tesseract's language data lives: ``TESSDATA_PREFIX`` or the usual Debian/Homebrew places."""
    env = os.environ.get("TESSDATA_PREFIX")
    if env and os.path.isdir(env):
        return env
    for d in _TESSDATA_CANDIDATES:
        if os.path.isfile(os.path.join(d, "eng.traineddata")) or os.path.isfile(os.path.join(d, "vie.traineddata")):
            return d
    return None


def _has_lang(lang: str) -> bool:
    path = tessdata_dir()
    return path is not None and os.path.isfile(os.path.join(path, f"{lang}.traineddata"))


def _langs(lang: str) -> list[str]:
    return [x for x in lang.split("+") if x]


def _apt_for(lang: str) -> str:
    return _APT_LANG.get(lang, f"tesseract-ocr-{lang.lower()}")


def _want_tesserocr(options: OcrOptions) -> bool:
    if options.engine == "tesserocr":
        return True
    if options.engine == "pytesseract":
        return False
    if options.engine != "auto":
        raise ValueError(f"unknown OCR engine {options.engine!r}; use 'tesserocr', 'pytesseract' or 'auto'")
    try:
        import tesserocr  # noqa: F401
    except ImportError:
        return False
    return True


def check_ocr_dependencies(options: OcrOptions = OcrOptions()) -> None:
    """Raise ``MissingDependency`` (with the apt-get/pip advice) when the engine or language data is missing."""
    langs = _langs(options.lang)
    if not langs:
        raise MissingDependency("no OCR language given; use --ocr-lang vie")
    if _want_tesserocr(options):
        try:
            import tesserocr
        except ImportError:
            raise MissingDependency("the Python package 'tesserocr' is not installed; install it with "
                                    "'pip install tesserocr' (or choose the 'pytesseract' engine)") from None
        path = tessdata_dir()
        if path is None:
            raise MissingDependency("Tesseract's language data was not found; install it with 'sudo apt-get "
                                    "install tesseract-ocr tesseract-ocr-vie' or set TESSDATA_PREFIX to the "
                                    "folder holding vie.traineddata")
        have = set(tesserocr.get_languages(path)[1])
    else:
        external.require_program("tesseract", advice="install it with 'sudo apt-get install tesseract-ocr "
                                                     "tesseract-ocr-vie' and run the command again")
        try:
            out = external.run(["tesseract", "--list-langs"], timeout=30).decode("utf-8", "replace")
        except external.ExternalError as exc:
            raise MissingDependency(f"the program 'tesseract' does not run ({exc}); reinstall it with "
                                    "'sudo apt-get install --reinstall tesseract-ocr'") from None
        have = {ln.strip() for ln in out.splitlines()[1:] if ln.strip()}
        path = tessdata_dir() or "Tesseract's tessdata folder"
    missing = [lg for lg in langs if lg not in have]
    if missing:
        pkgs = " ".join(_apt_for(lg) for lg in missing)
        raise MissingDependency(
            f"Tesseract has no language data for {', '.join(repr(m) for m in missing)} (no "
            f"{missing[0]}.traineddata in {path}); install it with 'sudo apt-get install {pkgs}' or choose "
            f"another language (installed: {', '.join(sorted(have)) or 'none'})")


# --------------------------------------------------------------------------------------------- engines

class _Engine(Protocol):
    name: str

    def tsv(self, image: np.ndarray, *, dpi: int, psm: int, timeout_s: float,
            threshold: int = 0) -> tuple[str, bool]: ...

    def osd(self, image: np.ndarray, *, dpi: int, timeout_s: float) -> tuple[int, float] | None: ...


_ENV = ("env", "OMP_THREAD_LIMIT=1")


class _CliEngine:
    """One ``tesseract`` process per call (what pytesseract does), through ``omr.external.run``."""

    def __init__(self, lang: str):
        self.lang = lang
        self.name = f"tesseract {_cli_version()} {lang} (pytesseract)"

    def tsv(self, image: np.ndarray, *, dpi: int, psm: int, timeout_s: float,
            threshold: int = 0) -> tuple[str, bool]:
        ok, buf = cv2.imencode(".pgm", image)
        if not ok:
            raise OcrEngineError("the page image could not be encoded for Tesseract")
        args = [*_ENV, "tesseract", "stdin", "stdout", "-l", self.lang, "--psm", str(psm), "--dpi", str(dpi),
                "-c", "tessedit_do_invert=0", "-c", f"thresholding_method={int(threshold)}", "tsv"]
        try:
            out = external.run(args, timeout=timeout_s, input=buf.tobytes())
        except external.ExternalTimeout:
            return "", True
        except external.ExternalError as exc:
            raise OcrEngineError(f"Tesseract failed: {exc}") from None
        return out.decode("utf-8", "replace"), False

    def osd(self, image: np.ndarray, *, dpi: int, timeout_s: float) -> tuple[int, float] | None:
        ok, buf = cv2.imencode(".pgm", image)
        args = [*_ENV, "tesseract", "stdin", "stdout", "-l", "osd", "--psm", "0", "--dpi", str(dpi)]
        try:
            out = external.run(args, timeout=timeout_s, input=buf.tobytes()).decode("utf-8", "replace")
        except external.ExternalError:
            return None                        # too few characters, timeout: the caller decides otherwise
        rot, conf = None, 0.0
        for line in out.splitlines():
            if line.startswith("Rotate:"):
                rot = int(line.split(":")[1])
            elif line.startswith("Orientation confidence:"):
                conf = float(line.split(":")[1])
        return None if rot is None else (rot, conf)


_CLI_VERSION: list[str] = []


def _cli_version() -> str:
    if not _CLI_VERSION:
        try:
            out = external.run(["tesseract", "--version"], timeout=30).decode("utf-8", "replace")
            _CLI_VERSION.append(out.split()[1] if out.startswith("tesseract") else "?")
        except external.ExternalError:
            return "?"
    return _CLI_VERSION[0]


class _TesserocrEngine:
    """A Tesseract kept loaded in this process (tesserocr). Not thread-safe inside: calls are serialised."""

    def __init__(self, lang: str, path: str):
        import tesserocr

        self._tesserocr = tesserocr
        self.lang = lang
        self._lock = threading.Lock()
        try:
            self._api = tesserocr.PyTessBaseAPI(path=path, lang=lang, psm=tesserocr.PSM.AUTO)
        except RuntimeError as exc:
            raise MissingDependency(f"Tesseract could not load the language {lang!r} from {path} ({exc}); "
                                    f"install it with 'sudo apt-get install {_apt_for(lang)}'") from None
        self._api.SetVariable("tessedit_do_invert", "0")
        self._osd_api = None
        self._path = path
        version = tesserocr.tesseract_version().split()[1]
        self.name = f"tesseract {version} {lang} (tesserocr)"

    def _set(self, api, image: np.ndarray, dpi: int) -> None:
        img = np.ascontiguousarray(image)
        api.SetImageBytes(img.tobytes(), img.shape[1], img.shape[0], 1, img.shape[1])
        api.SetSourceResolution(int(dpi))

    def tsv(self, image: np.ndarray, *, dpi: int, psm: int, timeout_s: float,
            threshold: int = 0) -> tuple[str, bool]:
        with self._lock:
            api = self._api
            try:
                api.SetPageSegMode(int(psm))
                api.SetVariable("thresholding_method", str(int(threshold)))
                self._set(api, image, dpi)
                ok = api.Recognize(timeout=max(1, int(timeout_s * 1000)))
                text = api.GetTSVText(0) or "" if ok else self._partial(api)
            except RuntimeError as exc:
                raise OcrEngineError(f"Tesseract failed: {exc}") from None
            finally:
                api.Clear()
        return text, not ok

    @staticmethod
    def _partial(api) -> str:
        try:
            return api.GetTSVText(0) or ""
        except RuntimeError:
            return ""

    def osd(self, image: np.ndarray, *, dpi: int, timeout_s: float) -> tuple[int, float] | None:
        with self._lock:
            if self._osd_api is None:
                try:
                    self._osd_api = self._tesserocr.PyTessBaseAPI(path=self._path, lang="osd",
                                                                  psm=self._tesserocr.PSM.OSD_ONLY)
                except RuntimeError:
                    return None
            api = self._osd_api
            self._set(api, image, dpi)
            try:
                res = api.DetectOrientationScript()
            except RuntimeError:
                res = None
            finally:
                api.Clear()
        if not res:
            return None
        # orient_deg is the clockwise rotation of the image; the CLI's "Rotate:" is the correction (same value)
        return int(res["orient_deg"]), float(res["orient_conf"])


_ENGINES: dict[tuple[str, str, str], _Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _engine(options: OcrOptions) -> _Engine:
    """The engine for these options, created once per process (the tesserocr one keeps its model loaded)."""
    kind = "tesserocr" if _want_tesserocr(options) else "pytesseract"
    path = tessdata_dir() or ""
    key = (kind, options.lang, path)
    with _ENGINES_LOCK:
        eng = _ENGINES.get(key)
        if eng is None:
            if kind == "tesserocr":
                if not path:
                    check_ocr_dependencies(options)        # raises with the install advice
                eng = _TesserocrEngine(options.lang, path)
            else:
                eng = _CliEngine(options.lang)
            _ENGINES[key] = eng
    return eng


# ------------------------------------------------------------------------------------------- TSV → text

@dataclass(frozen=True, slots=True)
class _Words:
    text: str
    mean_conf: float
    words: int
    boxes: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 4), np.int64))  # left, top, w, h


def _parse_tsv(tsv: str) -> _Words:
    """Words with their confidences; lines joined by spaces, paragraphs (block/par) by a blank line."""
    paras: list[list[list[str]]] = []
    key_par, key_line = None, None
    total_w = total_c = 0.0
    n = 0
    boxes: list[tuple[int, int, int, int]] = []
    for row in tsv.splitlines():
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        word = cols[11].strip()
        if not word:
            continue
        try:
            conf = float(cols[10])
        except ValueError:
            continue
        kp, kl = (cols[2], cols[3]), (cols[2], cols[3], cols[4])
        if kp != key_par:
            paras.append([])
            key_par, key_line = kp, None
        if kl != key_line:
            paras[-1].append([])
            key_line = kl
        paras[-1][-1].append(word)
        try:
            boxes.append((int(cols[6]), int(cols[7]), int(cols[8]), int(cols[9])))
        except ValueError:
            pass
        if conf >= 0:
            weight = len(word)
            total_w += weight
            total_c += weight * conf
        n += 1
    text = "\n\n".join(" ".join(" ".join(line) for line in p) for p in paras if p)
    return _Words(unicodedata.normalize("NFC", text), total_c / total_w if total_w else 0.0, n,
                  np.array(boxes, np.int64).reshape(-1, 4))


# ---------------------------------------------------------------------------------------- preprocessing

def _flatten(gray: np.ndarray) -> np.ndarray:
    """Divide by a large-blur estimate of the paper (text erased by a max filter first): even lighting."""
    h, w = gray.shape
    f = 8
    small = cv2.resize(gray, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    bg = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    bg = cv2.medianBlur(bg, 5)
    bg = cv2.GaussianBlur(bg, (0, 0), 3)
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(gray, np.maximum(bg, 1), scale=255)


def _ink_mask(small: np.ndarray) -> np.ndarray:
    """Ink on a flattened page at low resolution, without blobs touching the border (scan edges, table)."""
    if (small < 200).mean() < 0.0005:              # nothing dark at all: Otsu would split paper noise
        return np.zeros_like(small)
    thr = min(200.0, float(cv2.threshold(small, 0, 255, cv2.THRESH_OTSU)[0]))
    mask = (small < thr).astype(np.uint8) * 255
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    h, w = mask.shape
    keep = np.zeros(n, bool)
    x, y, bw, bh, area = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3], stats[:, 4]
    touches = (x <= 1) | (y <= 1) | (x + bw >= w - 1) | (y + bh >= h - 1)
    keep[1:] = ~touches[1:] & (area[1:] >= 2) & (bh[1:] < 0.2 * h) & (bw[1:] < 0.9 * w)
    return np.where(keep[lab], 255, 0).astype(np.uint8)


def _profile_score(ys: np.ndarray) -> float:
    """How peaky the projection of points is (1 ≈ uniform; text lines give 2–5)."""
    lo = int(math.floor(ys.min()))
    hist = np.bincount((ys - lo).astype(np.int64))
    extent = max(1, len(hist))
    return float((hist.astype(np.float64) ** 2).sum() * extent / (len(ys) ** 2))


def _best_angle(xs: np.ndarray, ys: np.ndarray, angles: np.ndarray) -> tuple[float, float]:
    best = (-1.0, 0.0)
    for a in angles:
        r = math.radians(a)
        proj = ys * math.cos(r) - xs * math.sin(r)
        sc = _profile_score(proj)
        if sc > best[0]:
            best = (sc, float(a))
    return best[1], best[0]


def _direction_and_skew(mask: np.ndarray, *, may_turn: bool = True) -> tuple[int, float, float]:
    """(quarter turns to make text lines horizontal (0 or 1; always 0 unless ``may_turn``), skew in degrees,
    line score)."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 50:
        return 0, 0.0, 0.0
    if len(xs) > 40000:
        idx = np.random.default_rng(0).choice(len(xs), 40000, replace=False)
        xs, ys = xs[idx], ys[idx]
    xs = xs.astype(np.float64)
    ys = ys.astype(np.float64)
    coarse = np.arange(-12.0, 12.01, 1.0)
    a0, s0 = _best_angle(xs, ys, coarse)
    turn = 0
    if may_turn:
        a1, s1 = _best_angle(ys, -xs, coarse)       # the same on the page turned a quarter
        if s1 > s0 * 1.15:
            turn, a0, xs, ys = 1, a1, ys, -xs
    fine = np.arange(a0 - 1.0, a0 + 1.001, 0.1)
    a, s = _best_angle(xs, ys, fine)
    return turn, a, s


def _rotate(img: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate about the centre, growing the canvas so nothing is cut; background white."""
    h, w = img.shape
    M = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle_deg, 1.0)
    c, s = abs(M[0, 0]), abs(M[0, 1])
    W, H = int(math.ceil(w * c + h * s)), int(math.ceil(w * s + h * c))
    M[0, 2] += (W - w) / 2
    M[1, 2] += (H - h) / 2
    return cv2.warpAffine(img, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=255)


def _text_box(mask: np.ndarray, f: float, shape: tuple[int, int], pad: int) -> tuple[int, int, int, int] | None:
    """Bounding box (r0, r1, c0, c1) at full resolution of the ink in a low-resolution mask."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    r0 = max(0, int(ys.min() * f) - pad)
    r1 = min(shape[0], int((ys.max() + 1) * f) + pad)
    c0 = max(0, int(xs.min() * f) - pad)
    c1 = min(shape[1], int((xs.max() + 1) * f) + pad)
    return r0, r1, c0, c1


def _line_height(mask: np.ndarray) -> float | None:
    """Median height (mask rows) of the ink bands of the text lines of a deskewed page; None below 3 lines."""
    ink = (mask > 0).any(1)
    edges = np.flatnonzero(np.diff(np.r_[0, ink.astype(np.int8), 0]))
    heights = (edges[1::2] - edges[::2]).astype(np.float64)
    heights = heights[heights >= 3]
    if len(heights) < 3:
        return None
    med = float(np.median(heights))
    typical = heights[(heights >= 0.5 * med) & (heights <= 1.8 * med)]
    return float(np.median(typical)) if len(typical) >= 3 else None


def _coverage(image: np.ndarray, boxes: np.ndarray) -> float:
    """Share of the ink of ``image`` (the page as Tesseract read it) that lies in or next to a returned word.

    A page read whole gives 0.96–1.0; Tesseract dropping whole text lines (its global threshold merged blurred
    lines into blobs it takes for pictures) shows as a low share.
    """
    small, f = _small(image, 1000)
    mask = _ink_mask(small)
    total = cv2.countNonZero(mask)
    if total == 0:
        return 1.0
    cover = np.zeros_like(mask)
    for left, top, w, h in boxes:
        pad = 0.3 * h
        cv2.rectangle(cover, (int((left - pad) / f), int((top - pad) / f)),
                      (int((left + w + pad) / f), int((top + h + pad) / f)), 255, -1)
    return cv2.countNonZero(cv2.bitwise_and(mask, cover)) / total


def _small(img: np.ndarray, long_px: int = 1500) -> tuple[np.ndarray, float]:
    h, w = img.shape
    f = max(1.0, max(h, w) / long_px)
    return cv2.resize(img, (max(1, round(w / f)), max(1, round(h / f))), interpolation=cv2.INTER_AREA), f


def _motion_blur(page: np.ndarray, n: int = 512, *, strict: bool = True) -> tuple[float, float] | None:
    """(length px, angle rad) of a straight motion smear on the page as read, or None when it looks sharp.

    The cepstrum (inverse FFT of the log spectrum) of a central square: a box kernel of length L has spectral
    zeros every 1/L along its direction, which give the cepstrum's deepest negative value at distance L in that
    direction, and further dips at 2L and 3L. ~30 ms (two 512² FFTs).

    ``strict=False`` (a second look at a page read with low confidence): the deepest dip at least
    ``_BLUR_MIN_STEPS`` away, even when a stroke's dip nearby is deeper — a smear on a low-resolution sheet
    that is also out of focus leaves a shallower dip than the strokes (6262 p7: 11 px, 0.8 of the stroke dip's
    depth; sharp pages show such dips too, up to 0.72, hence only on a page that already read badly).
    """
    return _smear_in(_cepstrum(page, n), strict=strict)


def _cepstrum(page: np.ndarray, n: int = 512) -> np.ndarray | None:
    """The centred cepstrum of the page's central n² square (n even, ≥ 128), or None for a smaller page."""
    h, w = page.shape
    n = min(n, h, w) // 2 * 2
    if n < 128:
        return None
    y0, x0 = (h - n) // 2, (w - n) // 2
    crop = page[y0:y0 + n, x0:x0 + n].astype(np.float32)
    crop -= crop.mean()
    win = np.hanning(n).astype(np.float32)
    spec = np.abs(np.fft.rfft2(crop * win[:, None] * win[None, :]))
    return np.fft.fftshift(np.fft.irfft2(np.log(spec + 1e-3), s=crop.shape))


def _smear_in(cep: np.ndarray | None, *, strict: bool = True) -> tuple[float, float] | None:
    """``_motion_blur`` on a cepstrum from ``_cepstrum`` (both looks of a page share one)."""
    if cep is None:
        return None
    n = cep.shape[0]
    yy, xx = np.mgrid[0:n, 0:n] - n // 2
    rad = np.hypot(xx, yy)
    reach = min(25, (n // 2 - 1) // 3)            # the dip's 3rd rahmonic must lie inside the square
    vals = np.where((rad >= 3) & (rad <= reach), cep, np.inf)
    if not strict:
        vals = np.where(np.maximum(np.abs(xx), np.abs(yy)) >= _BLUR_MIN_STEPS, vals, np.inf)
    k = np.unravel_index(int(np.argmin(vals)), vals.shape)
    dy, dx = k[0] - n // 2, k[1] - n // 2
    length, angle = math.hypot(dx, dy), math.atan2(dy, dx)
    if max(abs(dx), abs(dy)) < _BLUR_MIN_STEPS:
        return None
    # a box kernel's log spectrum repeats its singularities: its cepstrum dips again at 2L and 3L (rahmonics),
    # a stroke width does not (a 150 dpi scan's strokes made a lone dip 5 px away, +1.7 sd at 2L and 3L together)
    if cep[n // 2 + 2 * dy, n // 2 + 2 * dx] + cep[n // 2 + 3 * dy, n // 2 + 3 * dx] >= 0.0:
        return None
    # sub-pixel: a parabola through the dip and its neighbours along the smear, then across it
    cep = cep.astype(np.float32)

    def at(r: float, a: float) -> float:
        x = np.float32([[n // 2 + r * math.cos(a)]])
        y = np.float32([[n // 2 + r * math.sin(a)]])
        return float(cv2.remap(cep, x, y, cv2.INTER_LINEAR)[0, 0])

    def vertex(lo: float, mid: float, hi: float) -> float:
        curv = lo - 2 * mid + hi
        return float(np.clip(0.5 * (lo - hi) / curv, -0.5, 0.5)) if curv > 0 else 0.0

    step = 1.0 / length
    angle += step * vertex(at(length, angle - step), at(length, angle), at(length, angle + step))
    length += vertex(at(length - 1, angle), at(length, angle), at(length + 1, angle))
    return length, angle


def _deblur(page: np.ndarray, length: float, angle: float, k: float = _BLUR_WIENER_K) -> np.ndarray:
    """Wiener deconvolution of a straight smear: an antialiased line ``length`` px long (end to end) at ``angle``."""
    length = max(1.0, length)
    f = page.astype(np.float32) / 255.0
    pad = 32
    f = cv2.copyMakeBorder(f, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    H, W = f.shape
    f = cv2.copyMakeBorder(f, 0, cv2.getOptimalDFTSize(H) - H, 0, cv2.getOptimalDFTSize(W) - W, cv2.BORDER_REFLECT)
    size = int(length) + 5 | 1
    m, c, s, sh = size // 2, math.cos(angle), math.sin(angle), 16
    psf = np.zeros((size, size), np.float32)
    cv2.line(psf, (round((m - length / 2 * c) * sh), round((m - length / 2 * s) * sh)),
             (round((m + length / 2 * c) * sh), round((m + length / 2 * s) * sh)), 1.0, 1, cv2.LINE_AA, 4)
    big = np.zeros_like(f)
    big[:size, :size] = psf / psf.sum()
    big = np.roll(big, (-m, -m), (0, 1))
    otf = np.fft.rfft2(big)
    out = np.fft.irfft2(np.fft.rfft2(f) * np.conj(otf) / (np.abs(otf) ** 2 + k), s=f.shape)
    out = out[pad:pad + page.shape[0], pad:pad + page.shape[1]]
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------------- OCR

class _Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


def _marks_vote(mask: np.ndarray) -> bool | None:
    """Upside down by the shape of the text lines: True/False when clear, None when unsure.

    Vietnamese print carries far more ink above the x-height band (ascenders, capitals and the tone and vowel
    marks) than below it (descenders, the dot below): typed pages measure 2.1–2.5 upright and 0.39–0.47
    upside down; handwriting, whose lines merge, lands in between and is left to Tesseract's OSD. Motion blur
    smears the marks into the x-height band (ratio 1.6–1.8 upright, 0.66 upside down) while nearly every line
    still leans the same way: with 15 lines or more, 90 % of them agreeing and a ratio beyond 1.3 also decide
    (handwriting-like pages give 6–11 merged lines). OSD was wrong (180°, confidence 2.7–3.8) on such pages.
    """
    prof = (mask > 0).sum(1).astype(np.float64)
    ink = prof > 0
    edges = np.flatnonzero(np.diff(np.r_[0, ink.astype(np.int8), 0]))
    runs = [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= 3]
    if len(runs) < 5:
        return None
    heights = np.array([b - a for a, b in runs], np.float64)
    med = float(np.median(heights))
    above = below = 0.0
    up = down = 0
    for (a, b), hgt in zip(runs, heights):
        if not 0.5 * med <= hgt <= 1.8 * med:
            continue                              # merged lines or specks
        seg = prof[a:b]
        core = np.flatnonzero(seg >= 0.5 * seg.max())
        ab, be = float(seg[:core[0]].sum()), float(seg[core[-1] + 1:].sum())
        above += ab
        below += be
        up += ab > be
        down += be > ab
    n = up + down
    if n < 5:
        return None
    ratio = above / max(below, 1.0)
    if ratio >= 1.8 and up >= 0.85 * n or n >= 15 and ratio >= 1.3 and up >= 0.9 * n:
        return False
    if ratio <= 0.55 and down >= 0.85 * n or n >= 15 and ratio <= 1 / 1.3 and down >= 0.9 * n:
        return True
    return None


def _upside_down(engine: _Engine, page: np.ndarray, mask: np.ndarray, dpi: int, deadline: _Deadline) -> bool:
    """Is the (deskewed, cropped) page upside down? The marks vote, then OSD, then a two-way confidence test."""
    vote = _marks_vote(mask)
    if vote is not None:
        return vote
    budget = min(10.0, deadline.left())
    if budget <= 0:
        return False
    small = page
    osd_dpi = dpi
    if dpi > 200:                                    # OSD needs ~150 dpi at most: 4× fewer pixels
        small = cv2.resize(page, (page.shape[1] // 2, page.shape[0] // 2), interpolation=cv2.INTER_AREA)
        osd_dpi = dpi // 2
    res = engine.osd(small, dpi=osd_dpi, timeout_s=budget)
    if res is not None and res[1] >= 1.5 and res[0] in (0, 180):
        return res[0] == 180
    # unsure: read a strip of the page both ways and keep the more confident reading
    h = page.shape[0]
    strip = page[int(h * 0.35):int(h * 0.55)]
    confs = []
    for img in (strip, np.ascontiguousarray(strip[::-1, ::-1])):
        left = min(10.0, deadline.left())
        if left <= 0:
            return False
        tsv, _ = engine.tsv(img, dpi=dpi, psm=6, timeout_s=left)
        confs.append(_parse_tsv(tsv).mean_conf)
    return confs[1] > confs[0] + 5


def ocr_image(image: np.ndarray, options: OcrOptions = OcrOptions(), *, upright: bool = False) -> OcrResult:
    """OCR one page image (grayscale uint8; colour is converted). Never raises for a bad page: blank → empty.

    ``upright``: the image is already flat and upright (an essay box warped upright through the sheet's
    fiducials): no page outline is looked for, and it is never turned a quarter or a half (a box holding one
    written line has too few lines to tell its direction); skew is still corrected.

    Raises ``MissingDependency`` when the engine or language data is missing, ``OcrEngineError`` when
    Tesseract crashes, ``ValueError`` for an array that is not an image.
    """
    t0 = time.perf_counter()
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
        raise ValueError("ocr_image needs a 2-D grayscale uint8 image")
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    if image.dtype != np.uint8:
        raise ValueError(f"ocr_image needs a uint8 image, got {image.dtype}")
    if options.timeout_s <= 0:
        raise ValueError("timeout_s must be positive")
    deadline = _Deadline(options.timeout_s)
    engine = _engine(options)
    warnings: list[str] = []

    blurred: list[float] = []             # [smear length, text line height] (px) once a smear is found

    def result(words: _Words | None, name: str | None = None, cover: float = 1.0) -> OcrResult:
        w = words or _Words("", 0.0, 0)
        reliable = bool(w.words > 0 and w.mean_conf >= options.min_reliable_conf and cover >= _MIN_COVERAGE)
        if reliable and blurred and (w.mean_conf < max(options.min_reliable_conf, _BLUR_RELIABLE_CONF)
                                     or blurred[0] > _BLUR_MAX_LINES * blurred[1]):
            reliable = False
            warnings.append(f"badly blurred photo (motion blur ~{blurred[0]:.0f} px, {blurred[0] / blurred[1]:.0%} of "
                            f"a text line; confidence {w.mean_conf:.1f}): marked unreliable; photograph the page "
                            "again, flat and sharp")
        return OcrResult(w.text, round(w.mean_conf, 2), w.words, reliable,
                         name or engine.name, "ocr", time.perf_counter() - t0, tuple(warnings))

    # 1. the sheet in a photo
    page = image
    dpi = max(70, min(600, int(round(max(image.shape) / (pagefind.A4_MM[1] / 25.4)))))
    try:
        found = None if upright else pagefind.find_page(image)
    except pagefind.PageNotFound as exc:
        found = None
        if exc.outline_seen:
            warnings.append(f"no sheet outline found in what looks like a photo ({exc.reason}): the whole image "
                            "was read")
    if found is not None:
        page, _ = pagefind.warp_to_a4(image, found.corners, dpi=options.dpi)
        dpi = options.dpi
        warnings.append("page found by edges: warped flat to A4")
    # 2. even lighting
    page = _flatten(page)
    # 3. direction and skew, then the text block
    small, f = _small(page)
    mask = _ink_mask(small)
    if cv2.countNonZero(mask) < 30:
        warnings.append("blank page: no ink found")
        return result(None)
    turn, skew, _ = _direction_and_skew(mask, may_turn=not upright)
    if turn:
        page = np.ascontiguousarray(np.rot90(page, 1))     # a quarter counter-clockwise
        mask = np.ascontiguousarray(np.rot90(mask, 1))
    if abs(skew) >= 0.15:
        page = _rotate(page, skew)
        small, f = _small(page)
        mask = _ink_mask(small)
    box = _text_box(mask, f, page.shape, pad=int(0.2 * dpi))
    if box is None:
        warnings.append("blank page: no ink found")
        return result(None)
    r0, r1, c0, c1 = box
    page = np.ascontiguousarray(page[r0:r1, c0:c1])
    # 3b. large text is scaled down: Tesseract's time grows with the pixels, its accuracy does not
    line = _line_height(mask)
    read_line = _LINE_PX if line is None else line * f     # text line height (px) on the page as read
    if line is not None:
        scale = max(_MIN_SCALE, _LINE_PX / (line * f))
        if scale < 0.9:
            read_line *= scale
            page = cv2.resize(page, (max(1, round(page.shape[1] * scale)), max(1, round(page.shape[0] * scale))),
                              interpolation=cv2.INTER_AREA)
            dpi = max(30, int(round(dpi * scale)))
    # 4. upside down?
    if not upright and _upside_down(engine, page, mask, dpi, deadline):
        page = np.ascontiguousarray(page[::-1, ::-1])
    # 5. recognition
    left = deadline.left()
    if left <= 0.05:
        warnings.append(f"timeout: page not recognised within {options.timeout_s:g} s")
        return result(None)
    tsv, timed_out = engine.tsv(page, dpi=dpi, psm=3, timeout_s=left)
    words = _parse_tsv(tsv)
    if timed_out:
        warnings.append(f"timeout: page {'partly' if words.words else 'not'} recognised within "
                        f"{options.timeout_s:g} s")
        return result(words)
    # 5b. whole lines left out (blurred lines merged by Tesseract's global threshold): read again with a
    # local (Sauvola) threshold and keep the reading that covers more of the ink
    threshold = 0
    cover = _coverage(page, words.boxes)
    if cover < _MIN_COVERAGE and deadline.left() > 1.0:
        tsv2, timed_out2 = engine.tsv(page, dpi=dpi, psm=3, timeout_s=deadline.left(), threshold=_RETRY_THRESHOLD)
        words2 = _parse_tsv(tsv2)
        cover2 = _coverage(page, words2.boxes)
        warnings.append(f"text missed: the words read cover {cover:.0%} of the ink; read again with a local "
                        f"threshold ({cover2:.0%})")
        if not timed_out2 and cover2 > cover:
            words, cover, threshold = words2, cover2, _RETRY_THRESHOLD
    # 5c. motion blur: the page is also read deconvolved, and the more confident reading kept
    cep = _cepstrum(page) if _DEBLUR else None
    blur = _smear_in(cep)
    weak = False                   # found only by the second look: a smear only if deconvolving it reads better
    if blur is None and words.mean_conf < _BLUR_RELIABLE_CONF:
        blur = _smear_in(cep, strict=False)
        weak = blur is not None
    if blur is not None:
        length, angle = blur
        blurred += [length, read_line]
        msg = f"{'possible ' if weak else ''}motion blur (~{length:.0f} px at {math.degrees(angle) % 180:.0f}°)"
        if deadline.left() > 1.0:
            best: tuple[np.ndarray, _Words, float] | None = None
            tried = []
            # a smear over N pixels (the dip's distance) is a line whose ends lie N - 1 apart: that kernel first
            # (bench, 15 blurred pages: better in 11, e.g. 17 → 1.2 %, 30 → 5.9 % CER); the N-long one when the
            # first is still unsure (two pages read far better with it: 17 → 3.5 %, 9.5 → 7.5 %)
            for span in (length - 1.0,) if weak else (length - 1.0, length):
                if deadline.left() <= 1.0:
                    break
                sharp = _deblur(page, span, angle)
                tsv2, timed_out2 = engine.tsv(sharp, dpi=dpi, psm=3, timeout_s=deadline.left(), threshold=threshold)
                words2 = _parse_tsv(tsv2)
                cover2 = _coverage(sharp, words2.boxes)
                tried.append(f"{words2.mean_conf:.1f}")
                if (not timed_out2 and cover2 >= min(cover, _MIN_COVERAGE)
                        and (best is None or words2.mean_conf > best[1].mean_conf)):
                    best = (sharp, words2, cover2)
                if words2.mean_conf >= _BLUR_RELIABLE_CONF:
                    break
            if best is not None and (best[1].mean_conf >= words.mean_conf + _BLUR_KEEP_GAIN if not weak else
                                     best[1].mean_conf >= max(words.mean_conf + _BLUR_WEAK_GAIN,
                                                              options.min_reliable_conf)):
                warnings.append(f"{msg}: deconvolved (confidence {words.mean_conf:.1f} → {best[1].mean_conf:.1f})")
                page, words, cover = best
            else:
                warnings.append(f"{msg}: the deconvolved page read no better (confidence {words.mean_conf:.1f}; "
                                f"deconvolved {', '.join(tried)})")
                if weak:
                    blurred.clear()        # not confirmed: the page is judged on its reading alone
        else:
            warnings.append(f"{msg}: no time left to deconvolve it")
            if weak:
                blurred.clear()
    if cover < _MIN_COVERAGE:
        warnings.append(f"text missed: the words read cover only {cover:.0%} of the ink (marked unreliable)")
    # 6. a degraded typed page (blurred photo): a second reading with the script model, keep the surer one
    second = _SECOND_OPINION.get(options.lang)
    lo, hi = _SECOND_OPINION_CONF
    if (second is not None and lo <= words.mean_conf < hi and deadline.left() > 1.0 and _has_lang(second)):
        other = _engine(dataclasses.replace(options, lang=second))
        tsv2, timed_out2 = other.tsv(page, dpi=dpi, psm=3, timeout_s=deadline.left(), threshold=threshold)
        words2 = _parse_tsv(tsv2)
        if not timed_out2 and words2.mean_conf > words.mean_conf and words2.words >= 0.97 * words.words:
            warnings.append(f"degraded page: read again with '{second}' (confidence {words.mean_conf:.1f} → "
                            f"{words2.mean_conf:.1f})")
            return result(words2, other.name, cover)
    return result(words, None, cover)


# --------------------------------------------------------------------------------------- text layer (PDF)

def _visible_text(path: str, index: int) -> tuple[bool, bool]:
    """(draws visible text — not only an invisible OCR layer —, draws an image) for PDF page ``index``."""
    import pikepdf

    with pikepdf.open(for_library(path)) as pdf:
        page = pdf.pages[index]
        seen: set[tuple[int, int]] = set()
        images = [False]

        def scan(obj, depth: int) -> bool:
            try:
                instructions = pikepdf.parse_content_stream(obj)
            except pikepdf.PdfError:
                return False
            mode = 0
            stack: list[int] = []
            xobjs = None
            try:
                res = obj.get("/Resources")
                xobjs = res.get("/XObject") if res is not None else None
            except (AttributeError, pikepdf.PdfError):
                xobjs = None
            for ins in instructions:
                op = str(ins.operator)
                if op == "q":
                    stack.append(mode)
                elif op == "Q" and stack:
                    mode = stack.pop()
                elif op == "Tr":
                    mode = int(ins.operands[0])
                elif op in ("Tj", "TJ", "'", '"') and mode != 3:
                    return True
                elif op == "Do" and depth < 3 and xobjs is not None:
                    x = xobjs.get(str(ins.operands[0]))
                    if x is not None and x.get("/Subtype") == "/Image":
                        images[0] = True
                    if x is not None and x.get("/Subtype") == "/Form" and x.objgen not in seen:
                        seen.add(x.objgen)
                        if scan(x, depth + 1):
                            return True
            return False

        return scan(page, 0), images[0]


def _clean_layout_text(raw: str) -> str:
    """pdftotext -layout output → paragraphs (blank-line separated) of space-joined lines, NFC."""
    text = unicodedata.normalize("NFC", raw.replace("\f", "\n"))
    paras, cur = [], []
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            cur.append(line)
        elif cur:
            paras.append(" ".join(cur))
            cur = []
    if cur:
        paras.append(" ".join(cur))
    return "\n\n".join(paras)


def _text_layer(ref: PageRef, timeout_s: float) -> tuple[str | None, list[str]]:
    """(the page's own text, warnings); text None when the page must be recognised by OCR instead."""
    try:
        visible, image = _visible_text(ref.path, ref.index)
    except Exception:  # noqa: BLE001 — an odd PDF: let the loader decide what it is
        return None, []
    if not visible:
        return None, []
    n = str(ref.index + 1)
    try:
        raw = external.run(["pdftotext", "-layout", "-enc", "UTF-8", "-f", n, "-l", n, ref.path, "-"],
                           timeout=timeout_s)
    except external.ExternalError as exc:
        return None, [f"text layer not read ({exc}): page recognised by OCR instead"]
    text = _clean_layout_text(raw.decode("utf-8", "replace"))
    letters = sum(ch.isalpha() for ch in text)
    if letters < _MIN_TEXT_LAYER_CHARS:
        return None, []
    if image and letters < _MIN_TEXT_WITH_IMAGE:      # a scan with a stamped header/footer ("Scanned with …")
        return None, []
    if text.count("\ufffd") > 0.02 * letters:
        return None, ["text layer unusable (its fonts have no character mapping): page recognised by OCR instead"]
    return text, []


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
        text, warns = _text_layer(ref, options.timeout_s)
        if text is not None:
            return OcrResult(text, 100.0, len(text.split()), True, "text layer", "text_layer",
                             time.perf_counter() - t0, tuple(warns))
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
