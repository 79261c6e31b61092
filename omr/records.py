"""Records passed between stages: frozen, slotted, picklable. Closed sets are Enums.

``SheetReading`` and ``SheetFailure`` are what a worker returns for one page; their ``to_json`` is the
``omr read`` JSON-Lines contract (field names are promises to users' scripts: add, never rename). ``source`` holds
the path as the ``os`` functions give it (undecodable bytes as surrogates); ``to_json`` writes it by the rule of
``omr.paths``: an escaped string, and ``source_bytes`` (base64 of the exact bytes) when the name is not UTF-8.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .paths import display_text, source_fields


class Status(enum.Enum):
    OK = "ok"
    FLAGGED = "flagged"
    REJECTED = "rejected"


class MarkState(enum.Enum):
    BLANK = "blank"
    MARKED = "marked"
    AMBIGUOUS = "ambiguous"     # between the page's blank and marked levels: a human decides
    ERASED = "erased"           # a light smudge next to a clear mark: ignored, recorded
    CANCELLED = "cancelled"     # a fill struck through beside another fill, cancelled by the contest's rule


class Reject(enum.Enum):
    """Why a file or page could not be read at all. ``value`` is the machine code in the JSON."""

    NOT_FOUND = "not_found"
    UNSUPPORTED_TYPE = "unsupported_type"
    UNREADABLE = "unreadable"          # exists but cannot be opened or listed (permissions)
    EMPTY_FILE = "empty_file"
    NO_PAGES = "no_pages"
    TOO_MANY_PAGES = "too_many_pages"
    TOO_LARGE = "too_large"
    CORRUPT = "corrupt"
    TRUNCATED = "truncated"
    ENCRYPTED = "encrypted"
    TOO_SMALL = "too_small"           # image too small to hold a sheet at a readable resolution
    NOT_A_SHEET = "not_a_sheet"       # no fiducials at all: blank page, essay page, a photo of something else
    PARTIAL_SHEET = "partial_sheet"   # some fiducials found, not enough to align: half a sheet, cut off
    BAD_ALIGNMENT = "bad_alignment"   # fiducials found but they do not fit the layout (residuals too large)
    WRONG_LAYOUT = "wrong_layout"     # the QR names another contest or layout
    DUPLICATE = "duplicate"           # the same bytes as another submission (grading keeps the first)
    TIMEOUT = "timeout"
    INTERNAL = "internal_error"


@dataclass(frozen=True, slots=True, eq=False)
class Page:
    """One page image: grayscale uint8 (rows, cols), where it came from, and its resolution."""

    image: np.ndarray
    source: str
    page: int                 # 1-based page number in the source file
    dpi: float | None         # from the file when known; estimated by alignment otherwise
    scale: float = 1.0        # the decoder's reduction (2 = decoded at half resolution)


@dataclass(frozen=True, slots=True)
class Flag:
    target: str               # "question" | "participant" | "version" | "page"
    key: str | None           # question id, or digit position, or None for the whole page/field
    reason: str               # machine code, e.g. "ambiguous_mark", "multiple_marks_in_digit"
    message: str              # what a judge reads
    confidence: float         # 0..1: how sure the machine is of what it reported
    values: tuple[float, ...] = ()   # the measured fill of each option (for the judge's overlay)

    def to_json(self) -> dict[str, Any]:
        """``{"question": "17", ...}``, ``{"participant": 3, ...}`` (digit position, or null), ``{"page": null}``."""
        key: Any = self.key
        if self.target in ("participant", "version") and key is not None:
            key = int(key)
        d: dict[str, Any] = {self.target: key, "reason": self.reason, "message": self.message,
                             "confidence": round(self.confidence, 3)}
        if self.values:
            d["fills"] = [round(v, 3) for v in self.values]
        return d


@dataclass(frozen=True, slots=True)
class GroupRead:
    """What one question (or one ID digit column) says: the chosen labels and the evidence."""

    key: str
    marked: str                        # labels in order ("" blank, "AC" two marks); digits for id columns
    states: tuple[MarkState, ...]      # one per option
    fills: tuple[float, ...]           # measured fill per option, 0 = paper, 1 = ink
    confidence: float
    rule: str | None = None            # the marking rule that decided this reading (a tick counted, a fill
                                       # crossed out cancelled …), when one did


@dataclass(frozen=True, slots=True)
class SheetReading:
    source: str
    page: int
    layout: str
    status: Status
    participant: str | None
    version: str | None
    answers: dict[str, str]
    flags: tuple[Flag, ...]
    qr: dict[str, str] | None = None             # decoded QR payload fields, if any
    participant_bubbles: str | None = None       # what the ID bubbles say ("12?456" with ? unreadable)
    version_bubbles: str | None = None
    groups: tuple[GroupRead, ...] = ()
    alignment: dict[str, float] = field(default_factory=dict)   # residual_mm, rotation_deg, dpi …
    timings_ms: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, str] | None = None     # a typed entry (only): question id → the text it came from

    def to_json(self, *, detail: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            **source_fields(self.source), "page": self.page, "status": self.status.value, "layout": self.layout,
            "participant": self.participant, "version": self.version, "answers": dict(self.answers),
            "flags": [f.to_json() for f in self.flags],
            "qr": self.qr, "participant_bubbles": self.participant_bubbles,
            "version_bubbles": self.version_bubbles,
            "alignment": {k: round(v, 4) for k, v in self.alignment.items()},
            # question id → the marking rule that decided its reading or made it a doubt (see layout "marking")
            "rules": {g.key: g.rule for g in self.groups if g.rule},
        }
        if self.evidence is not None:
            d["evidence"] = dict(self.evidence)
        if detail:
            flat = rounded([v for g in self.groups for v in g.fills], 3)
            fills, k = {}, 0
            for g in self.groups:
                fills[g.key] = flat[k:k + len(g.fills)]
                k += len(g.fills)
            d["fills"] = fills
            d["timings_ms"] = {k: round(v, 2) for k, v in self.timings_ms.items()}
        return d


def rounded(values: list[float], ndigits: int) -> list[float]:
    """``[round(v, ndigits) for v in values]`` at numpy's speed. Scaling by 10**ndigits and rounding to the
    nearest integer gives Python's exact decimal rounding except for values within a hair of a half, where the
    product's own rounding may decide: those few are rounded by ``round`` itself."""
    if set(map(type, values)) != {float}:                 # ints stay ints, numpy scalars their own type
        return [round(v, ndigits) for v in values]
    a = np.asarray(values, dtype=np.float64)
    scale = 10.0 ** ndigits
    with np.errstate(invalid="ignore", over="ignore"):
        y = a * scale
        out = (np.rint(y) / scale).tolist()
        tricky = ~(np.abs(y - np.floor(y) - 0.5) > 1e-6)                   # near a half, or not finite
    for i in np.flatnonzero(tricky):
        out[i] = round(values[i], ndigits)
    return out


@dataclass(frozen=True, slots=True)
class SheetFailure:
    """A file or page that could not be read: never lost, always with a reason."""

    source: str
    page: int | None          # None when the whole file failed before pages were known
    reason_code: Reject
    reason: str               # human-readable: what happened and what to do
    timings_ms: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # the reason is text for people: a file name in it shows its undecodable bytes escaped (omr.paths)
        object.__setattr__(self, "reason", display_text(self.reason))

    @property
    def status(self) -> Status:
        return Status.REJECTED

    def to_json(self, *, detail: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            **source_fields(self.source), "page": self.page, "status": Status.REJECTED.value,
            "participant": None, "version": None, "answers": {}, "flags": [],
            "reason_code": self.reason_code.value, "reason": self.reason,
        }
        if detail:
            d["timings_ms"] = {k: round(v, 2) for k, v in self.timings_ms.items()}
        return d
