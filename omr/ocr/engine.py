"""Tesseract, two ways: kept loaded in this process (``tesserocr``) or run once per reading (``tesseract-cli``).

``"tesserocr"`` keeps one Tesseract per process loaded (PyPI wheel ``tesserocr``, which bundles its own
Tesseract and reads Debian's language data); ``"tesseract-cli"`` runs the ``tesseract`` program once per call
through ``omr.external.run`` (our timeout and process-group kill; ``"pytesseract"`` is accepted as its name);
``"auto"`` takes tesserocr when it can be imported. Every call has a deadline: a timeout degrades (partial or
empty text, and the caller warns), a crash raises :class:`OcrEngineError`. Tesseract's OpenMP threads are limited
to one (``OMP_THREAD_LIMIT=1``) in the environment of the call.

Also here: the dependency check with its install advice, and the TSV Tesseract returns turned into words.
"""
from __future__ import annotations

import dataclasses
import os
import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from .. import external
from ..errors import MissingDependency
from .records import OcrEngineError, OcrOptions, OcrWord

TESSEROCR = "tesserocr"
CLI = "tesseract-cli"
_ALIASES = {"pytesseract": CLI}    # the name the CLI engine is also known by (it does what pytesseract does)

_TESSDATA_CANDIDATES = ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
                        "/usr/share/tessdata", "/usr/local/share/tessdata", "/opt/homebrew/share/tessdata")
_APT_LANG = {"vie": "tesseract-ocr-vie", "Vietnamese": "tesseract-ocr-script-viet", "eng": "tesseract-ocr-eng",
             "osd": "tesseract-ocr-osd"}


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


def has_lang(lang: str) -> bool:
    path = tessdata_dir()
    return path is not None and os.path.isfile(os.path.join(path, f"{lang}.traineddata"))


def _langs(lang: str) -> list[str]:
    return [x for x in lang.split("+") if x]


def _apt_for(lang: str) -> str:
    return _APT_LANG.get(lang, f"tesseract-ocr-{lang.lower()}")


def engine_kind(options: OcrOptions) -> str:
    """``TESSEROCR`` or ``CLI`` for ``options.engine`` (``"auto"``: tesserocr when it can be imported)."""
    name = _ALIASES.get(options.engine, options.engine)
    if name in (TESSEROCR, CLI):
        return name
    if name != "auto":
        raise ValueError(f"unknown OCR engine {options.engine!r}; use '{TESSEROCR}', '{CLI}' or 'auto'")
    try:
        import tesserocr  # noqa: F401
    except ImportError:
        return CLI
    return TESSEROCR


def check_ocr_dependencies(options: OcrOptions = OcrOptions()) -> None:
    """Raise ``MissingDependency`` (with the apt-get/pip advice) when the engine or language data is missing."""
    langs = _langs(options.lang)
    if not langs:
        raise MissingDependency("no OCR language given; use --ocr-lang vie")
    if engine_kind(options) == TESSEROCR:
        try:
            import tesserocr
        except ImportError:
            raise MissingDependency("the Python package 'tesserocr' is not installed; install it with "
                                    f"'pip install tesserocr' (or choose the '{CLI}' engine)") from None
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

class Engine(Protocol):
    name: str

    def tsv(self, image: np.ndarray, *, dpi: int, psm: int, timeout_s: float,
            threshold: int = 0, vertical: bool = True) -> tuple[str, bool]: ...

    def osd(self, image: np.ndarray, *, dpi: int, timeout_s: float) -> tuple[int, float] | None: ...


class Deadline:
    """The time left for one page's readings."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


_ENV = ("env", "OMP_THREAD_LIMIT=1")


class CliEngine:
    """One ``tesseract`` process per call (what the pytesseract package does), through ``omr.external.run``."""

    def __init__(self, lang: str):
        self.lang = lang
        self.name = f"tesseract {_cli_version()} {lang} ({CLI})"

    def tsv(self, image: np.ndarray, *, dpi: int, psm: int, timeout_s: float,
            threshold: int = 0, vertical: bool = True) -> tuple[str, bool]:
        ok, buf = cv2.imencode(".pgm", image)
        if not ok:
            raise OcrEngineError("the page image could not be encoded for Tesseract")
        args = [*_ENV, "tesseract", "stdin", "stdout", "-l", self.lang, "--psm", str(psm), "--dpi", str(dpi),
                "-c", "tessedit_do_invert=0", "-c", f"thresholding_method={int(threshold)}",
                "-c", f"textord_tabfind_vertical_text={int(vertical)}", "tsv"]
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


class TesserocrEngine:
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
        self.name = f"tesseract {version} {lang} ({TESSEROCR})"

    def _set(self, api, image: np.ndarray, dpi: int) -> None:
        img = np.ascontiguousarray(image)
        api.SetImageBytes(img.tobytes(), img.shape[1], img.shape[0], 1, img.shape[1])
        api.SetSourceResolution(int(dpi))

    def tsv(self, image: np.ndarray, *, dpi: int, psm: int, timeout_s: float,
            threshold: int = 0, vertical: bool = True) -> tuple[str, bool]:
        with self._lock:
            api = self._api
            try:
                api.SetPageSegMode(int(psm))
                api.SetVariable("thresholding_method", str(int(threshold)))
                api.SetVariable("textord_tabfind_vertical_text", str(int(vertical)))
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


_ENGINES: dict[tuple[str, str, str], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def engine_for(options: OcrOptions) -> Engine:
    """The engine for these options, created once per process (the tesserocr one keeps its model loaded)."""
    kind = engine_kind(options)
    path = tessdata_dir() or ""
    key = (kind, options.lang, path)
    with _ENGINES_LOCK:
        eng = _ENGINES.get(key)
        if eng is None:
            if kind == TESSEROCR:
                if not path:
                    check_ocr_dependencies(options)        # raises with the install advice
                eng = TesserocrEngine(options.lang, path)
            else:
                eng = CliEngine(options.lang)
            _ENGINES[key] = eng
    return eng


# ------------------------------------------------------------------------------------------- TSV → words

@dataclass(frozen=True, slots=True)
class Words:
    text: str
    mean_conf: float
    words: int
    boxes: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 4), np.int64))  # left, top, w, h
    lines: tuple[str, ...] = ()     # each recognised text line, in reading order (NFC)
    placed: tuple[OcrWord, ...] = ()    # each word with its box and line, in reading order


def parse_tsv(tsv: str) -> Words:
    """Words with their confidences; lines joined by spaces, paragraphs (block/par) by a blank line; and the
    text lines on their own (a typed entry's answers and identity are read line by line)."""
    paras: list[list[list[str]]] = []
    key_par, key_line = None, None
    total_w = total_c = 0.0
    n = 0
    boxes: list[tuple[int, int, int, int]] = []
    placed: list[OcrWord] = []
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
            box = (int(cols[6]), int(cols[7]), int(cols[8]), int(cols[9]))
            boxes.append(box)
            placed.append(OcrWord(unicodedata.normalize("NFC", word), conf, *box,
                                  line=(int(cols[2]), int(cols[3]), int(cols[4]))))
        except ValueError:
            pass
        if conf >= 0:
            weight = len(word)
            total_w += weight
            total_c += weight * conf
        n += 1
    text = "\n\n".join(" ".join(" ".join(line) for line in p) for p in paras if p)
    lines = tuple(unicodedata.normalize("NFC", " ".join(line)) for p in paras for line in p if line)
    return Words(unicodedata.normalize("NFC", text), total_c / total_w if total_w else 0.0, n,
                 np.array(boxes, np.int64).reshape(-1, 4), lines, tuple(placed))
