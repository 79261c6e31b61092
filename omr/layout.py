"""The answer sheet as data.

A layout file (JSON, sizes in mm, origin at the page's top-left corner, ``x`` to the right, ``y`` down)
describes the paper, the four ArUco fiducials, the QR code, the participant-ID and test-version digit grids,
the multiple-choice blocks and the essay boxes. ``load_layout`` validates everything and reports *every*
problem at once, each with the path of the bad field. The result is a frozen ``Layout`` whose bubble
centres are compiled into arrays, in the project's one convention: (row, col) = (y, x), in mm.
"""
from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import LayoutError
from .layout_fields import ARUCO, AlignMethod, AlignSpec, OutputSpec, parse_alignment, parse_fields, \
    parse_output
from .textfile import NotUtf8, utf8_text

MAX_QUESTIONS = 200
MIN_OPTIONS, MAX_OPTIONS = 2, 8
MAX_DIGITS = 12
DEFAULT_OPTIONS = ("A", "B", "C", "D")
DIGIT_LABELS = tuple("0123456789")
CORNERS = ("top-left", "top-right", "bottom-right", "bottom-left")
ARUCO_DICTIONARIES = ("DICT_4X4_50", "DICT_5X5_50", "DICT_6X6_50")
MIN_BUBBLE_GAP_MM = 0.8
PRINT_STYLES = ("", "vn-thpt-2025")    # sheets of others that ``omr sheet`` draws ("": it does not)


class GroupKind(enum.Enum):
    QUESTION = "question"
    PARTICIPANT = "participant"
    VERSION = "version"
    NUMERIC = "numeric"        # one column of a numeric answer ("-", ",", digits); ``name`` is the question


@dataclass(frozen=True, slots=True)
class Group:
    """One set of bubbles of which (normally) one is marked: a question, or one digit column."""

    kind: GroupKind
    key: str                   # question id ("17"), or digit position ("1".."n") for id/version
    labels: tuple[str, ...]    # option letters, or "0".."9"
    first: int                 # index of the first bubble in the layout's bubble arrays
    size: int                  # number of bubbles (== len(labels))
    name: str = ""             # the field's own label on sheets printed by others ("roll3"), else ""

    @property
    def indices(self) -> range:
        return range(self.first, self.first + self.size)


@dataclass(frozen=True, slots=True)
class Rect:
    x_mm: float
    y_mm: float
    w_mm: float
    h_mm: float

    def contains(self, x: float, y: float, margin: float = 0.0) -> bool:
        return (self.x_mm - margin <= x <= self.x_mm + self.w_mm + margin
                and self.y_mm - margin <= y <= self.y_mm + self.h_mm + margin)

    def as_json(self) -> dict[str, float]:
        return {"x_mm": self.x_mm, "y_mm": self.y_mm, "w_mm": self.w_mm, "h_mm": self.h_mm}


@dataclass(frozen=True, slots=True)
class EssayBox:
    id: str
    label: str
    rect: Rect


@dataclass(frozen=True, slots=True)
class DigitGrid:
    digits: int
    x_mm: float
    y_mm: float
    col_pitch_mm: float
    row_pitch_mm: float


@dataclass(frozen=True, slots=True)
class QuestionBlock:
    first: int
    count: int
    x_mm: float
    y_mm: float
    option_pitch_mm: float
    row_pitch_mm: float
    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MarkingRules:
    """What the contest says about marks that are not a clean fill (``"marking"`` in layout.json). The reader
    applies them, ``omr sheet`` prints them; a decision taken by a rule is recorded on the reading.

    * ``crossed_out_fill``: a filled bubble struck through (X) beside another fill — ``cancel`` (the other fill
      is the answer) or ``flag`` (a judge decides);
    * ``tick_or_x_on_empty``: a tick or an X alone on an empty bubble — ``mark`` (it counts) or ``flag``;
    * ``circle_around``: a loop drawn around a bubble or its letter, the bubble left empty — ``flag`` or ``mark``;
    * ``indistinct_marks``: two marks in a question that cannot be told apart (one is lighter, but not so light
      that it is plainly an erasure) — ``flag`` or ``both`` (read as two answers).
    """

    crossed_out_fill: str = "flag"
    tick_or_x_on_empty: str = "flag"
    circle_around: str = "flag"
    indistinct_marks: str = "flag"

    def as_json(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in MARKING_CHOICES}


# every rule and the values it takes; the first is the default
MARKING_CHOICES: dict[str, tuple[str, ...]] = {
    "crossed_out_fill": ("flag", "cancel"),
    "tick_or_x_on_empty": ("flag", "mark"),
    "circle_around": ("flag", "mark"),
    "indistinct_marks": ("flag", "both"),
}


@dataclass(frozen=True, slots=True, eq=False)
class Layout:
    id: str
    contest: str
    title: str
    subtitle: str
    width_mm: float
    height_mm: float
    aruco_dictionary: str
    fiducial_size_mm: float
    fiducial_inset_mm: float
    qr: Rect | None            # None on sheets printed by others (no QR of ours)
    bubble_r_mm: float
    participant: DigitGrid | None
    version: DigitGrid | None
    blocks: tuple[QuestionBlock, ...]
    essays: tuple[EssayBox, ...]
    groups: tuple[Group, ...]
    centres_mm: np.ndarray     # (n_bubbles, 2) float64, (row, col) = (y, x); read-only
    group_of: np.ndarray       # (n_bubbles,) int: index into ``groups``; read-only
    by_kind: dict[GroupKind, tuple[Group, ...]] = field(default_factory=dict, repr=False)
    align: AlignSpec = ARUCO   # how a page is found (our ArUco fiducials unless the layout says otherwise)
    output: OutputSpec | None = None   # OMRChecker-style CSV columns, for layouts imported from it
    marking: MarkingRules = field(default_factory=MarkingRules)
    printing: str = ""         # a sheet printed by others that ``omr sheet`` can draw: its style ("vn-thpt-2025")

    def __post_init__(self) -> None:
        # the same tuple object every time: the reader caches vectorised indices by identity
        self.by_kind.update({k: tuple(g for g in self.groups if g.kind is k) for k in GroupKind})

    # -- derived views -------------------------------------------------------------------------------
    @property
    def has_fiducials(self) -> bool:
        """True for our own sheets (four ArUco fiducials); sheets printed by others are found otherwise."""
        return self.align.method is AlignMethod.ARUCO

    @property
    def participant_digits(self) -> int:
        """How many digit columns the participant id has on the sheet (0: none)."""
        return len(self.by_kind[GroupKind.PARTICIPANT])

    @property
    def question_groups(self) -> tuple[Group, ...]:
        return self.by_kind[GroupKind.QUESTION]

    def digit_groups(self, kind: GroupKind) -> tuple[Group, ...]:
        return self.by_kind[kind]

    @property
    def question_ids(self) -> tuple[str, ...]:
        return tuple(g.key for g in self.question_groups)

    @property
    def numeric_ids(self) -> tuple[str, ...]:
        """The numeric answers (written in columns), in layout order; each is one answer id."""
        return tuple(dict.fromkeys(g.name for g in self.by_kind[GroupKind.NUMERIC]))

    def fiducial_rects(self) -> tuple[Rect, ...]:
        """The four marker squares, in the order of ``CORNERS`` (marker id = index)."""
        s, m = self.fiducial_size_mm, self.fiducial_inset_mm
        w, h = self.width_mm, self.height_mm
        return (Rect(m, m, s, s), Rect(w - m - s, m, s, s),
                Rect(w - m - s, h - m - s, s, s), Rect(m, h - m - s, s, s))

    def fiducial_corners_mm(self) -> np.ndarray:
        """(4 markers, 4 corners, 2) as (x, y) mm, corners in ArUco order (TL, TR, BR, BL of the marker)."""
        out = np.empty((4, 4, 2), dtype=np.float64)
        for i, r in enumerate(self.fiducial_rects()):
            out[i] = [(r.x_mm, r.y_mm), (r.x_mm + r.w_mm, r.y_mm),
                      (r.x_mm + r.w_mm, r.y_mm + r.h_mm), (r.x_mm, r.y_mm + r.h_mm)]
        return out

    def geometry_json(self) -> dict[str, Any]:
        """Everything another tool needs to find things on the sheet (``omr layout --json``)."""
        r = self.bubble_r_mm

        def bubbles(g: Group) -> list[dict[str, Any]]:
            return [{"label": lab, "x_mm": round(float(self.centres_mm[i, 1]), 3),
                     "y_mm": round(float(self.centres_mm[i, 0]), 3), "r_mm": r}
                    for lab, i in zip(g.labels, g.indices)]

        def digits(kind: GroupKind) -> dict[str, Any] | None:
            gs = self.digit_groups(kind)
            if not gs:
                return None
            return {"digits": [{"position": int(g.key), "options": bubbles(g)} for g in gs]}

        return {
            "layout": self.id,
            "contest": self.contest,
            "paper": {"width_mm": self.width_mm, "height_mm": self.height_mm},
            "bubble_r_mm": r,
            "fiducials": [{"id": i, "corner": c, "dictionary": self.aruco_dictionary, **rect.as_json()}
                          for i, (c, rect) in enumerate(zip(CORNERS, self.fiducial_rects()))] if self.has_fiducials
                         else [],
            "alignment": self.align.method.value,
            "qr": self.qr.as_json() if self.qr else None,
            "participant_id": digits(GroupKind.PARTICIPANT),
            "version": digits(GroupKind.VERSION),
            "questions": [{"id": g.key, "options": bubbles(g)} for g in self.question_groups],
            "numeric": [{"id": q, "columns": [bubbles(g) for g in self.by_kind[GroupKind.NUMERIC] if g.name == q]}
                        for q in self.numeric_ids],
            "essays": [{"id": e.id, "label": e.label, **e.rect.as_json()} for e in self.essays],
        }


# ---------------------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------------------
class _Problems:
    """Collects every problem with the path of the field, so a user fixes them all in one go."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}")

    def number(self, obj: dict, key: str, path: str, *, lo: float, hi: float,
               default: float | None = None, integer: bool = False) -> float:
        full = f"{path}.{key}" if path else key
        if key not in obj:
            if default is None:
                self.add(full, "missing")
                return float("nan")
            return default
        v = obj[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
            self.add(full, f"must be {'a whole number' if integer else 'a number'}, got {v!r}")
            return float("nan")
        if not lo <= v <= hi:
            self.add(full, f"{v} is outside {lo}..{hi}")
            return float("nan")
        return float(v)

    def text(self, obj: dict, key: str, path: str, default: str | None = None) -> str:
        full = f"{path}.{key}" if path else key
        v = obj.get(key, default)
        if v is None:
            self.add(full, "missing")
            return ""
        if not isinstance(v, str) or (not v.strip() and default is None):
            self.add(full, f"must be a non-empty string, got {v!r}")
            return ""
        return v

    def mapping(self, obj: dict, key: str, path: str, *, optional: bool = False) -> dict | None:
        full = f"{path}.{key}" if path else key
        if key not in obj or obj[key] is None:
            if not optional:
                self.add(full, "missing")
            return None
        if not isinstance(obj[key], dict):
            self.add(full, f"must be an object, got {type(obj[key]).__name__}")
            return None
        return obj[key]


def _options(p: _Problems, raw: Any, path: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(o, str) and o.strip() for o in raw):
        p.add(path, f"must be a list of option labels, got {raw!r}")
        return DEFAULT_OPTIONS
    if not MIN_OPTIONS <= len(raw) <= MAX_OPTIONS:
        p.add(path, f"{len(raw)} options; a question has {MIN_OPTIONS} to {MAX_OPTIONS}")
    if len(set(raw)) != len(raw):
        p.add(path, f"option labels repeat: {raw}")
    return tuple(raw)


def _digit_grid(p: _Problems, d: dict | None, path: str) -> DigitGrid | None:
    if d is None:
        return None
    digits = p.number(d, "digits", path, lo=1, hi=MAX_DIGITS, integer=True)
    return DigitGrid(
        digits=0 if math.isnan(digits) else int(digits),
        x_mm=p.number(d, "x_mm", path, lo=0, hi=2000),
        y_mm=p.number(d, "y_mm", path, lo=0, hi=2000),
        col_pitch_mm=p.number(d, "col_pitch_mm", path, lo=2, hi=50, default=6.0),
        row_pitch_mm=p.number(d, "row_pitch_mm", path, lo=2, hi=50, default=5.2),
    )


@dataclass(frozen=True, slots=True)
class _Markers:
    """The fiducials' settings as read (sizes ``nan`` where the field was wrong)."""

    dictionary: str
    size_mm: float
    inset_mm: float


class _Bubbles:
    """Bubble centres as they are compiled: groups, centres (row, col) in mm, and the field path of each."""

    def __init__(self) -> None:
        self.groups: list[Group] = []
        self.centres: list[tuple[float, float]] = []
        self.where: list[str] = []

    def add(self, kind: GroupKind, key: str, labels: tuple[str, ...], pts: list[tuple[float, float]],
            path: str, name: str = "") -> None:
        self.groups.append(Group(kind, key, labels, len(self.centres), len(labels), name))
        self.centres.extend(pts)
        self.where.extend([path] * len(pts))


def _bubble_arrays(bubbles: _Bubbles) -> tuple[np.ndarray, np.ndarray]:
    """The layout's read-only arrays: every bubble's centre (mm, n × 2) and the group each bubble belongs to."""
    arr = np.asarray(bubbles.centres, dtype=np.float64).reshape(-1, 2)
    arr.setflags(write=False)
    group_of = np.repeat(np.arange(len(bubbles.groups)), [g.size for g in bubbles.groups])
    group_of.setflags(write=False)
    return arr, group_of


def layout_from_dict(raw: Any, *, source: str = "<layout>", base: Path | None = None) -> Layout:
    """Validate a parsed layout document and compile it. Raises ``LayoutError`` listing every problem.
    ``base``: the folder that image paths in ``alignment`` are relative to (the layout file's)."""
    p = _Problems()
    if not isinstance(raw, dict):
        raise LayoutError(f"{source}: a layout is a JSON object", details=[f"got {type(raw).__name__}"])
    if "fields" in raw:
        return _foreign_layout(p, raw, source, base)

    lid = p.text(raw, "id", "")
    contest = p.text(raw, "contest", "")
    title = p.text(raw, "title", "", default="")
    subtitle = p.text(raw, "subtitle", "", default="")
    width, height = _paper(p, raw)
    markers = _markers(p, raw)
    qr = _qr(p, raw)
    bub = p.mapping(raw, "bubble", "", optional=True) or {}
    r_mm = p.number(bub, "r_mm", "bubble", lo=1.0, hi=6.0, default=2.3)
    participant = _digit_grid(p, p.mapping(raw, "participant_id", "", optional=True), "participant_id")
    version = _digit_grid(p, p.mapping(raw, "version", "", optional=True), "version")
    blocks = _blocks(p, p.mapping(raw, "questions", "") or {})
    essays = _essays(p, raw.get("essays") or [])
    marking = _marking(p, p.mapping(raw, "marking", "", optional=True) or {})

    bubbles = _Bubbles()
    _digit_bubbles(bubbles, participant, version)
    _question_bubbles(p, bubbles, blocks)

    # geometry checks only when the numbers themselves were sane
    if not p.items:
        _check_geometry(p, width, height, markers.inset_mm, markers.size_mm, qr, r_mm, bubbles.centres,
                        bubbles.where, essays)
    if p.items:
        raise LayoutError(f"{source}: the layout has {len(p.items)} problem(s); fix them and try again",
                          details=p.items)

    arr, group_of = _bubble_arrays(bubbles)
    return Layout(id=lid, contest=contest, title=title, subtitle=subtitle, width_mm=width, height_mm=height,
                  aruco_dictionary=markers.dictionary, fiducial_size_mm=markers.size_mm,
                  fiducial_inset_mm=markers.inset_mm, qr=qr, bubble_r_mm=r_mm, participant=participant,
                  version=version, blocks=tuple(blocks), essays=tuple(essays), groups=tuple(bubbles.groups),
                  centres_mm=arr, group_of=group_of, marking=marking)


def _marking(p: _Problems, raw: dict) -> MarkingRules:
    for key in raw:
        if key not in MARKING_CHOICES:
            p.add(f"marking.{key}", f"unknown rule; the rules are {', '.join(MARKING_CHOICES)}")
    values = {}
    for key, allowed in MARKING_CHOICES.items():
        v = raw.get(key, allowed[0])
        if v not in allowed:
            p.add(f"marking.{key}", f"must be one of {', '.join(repr(a) for a in allowed)}, got {v!r}")
            v = allowed[0]
        values[key] = v
    return MarkingRules(**values)


def _foreign_layout(p: _Problems, raw: dict, source: str, base: Path | None) -> Layout:
    """A layout whose bubbles are given as field grids (``omr.layout_fields``): a sheet printed by others."""
    lid = p.text(raw, "id", "")
    contest = p.text(raw, "contest", "")
    width, height = _paper(p, raw)
    align = parse_alignment(p, raw.get("alignment"), base, width, height)
    if align.method is AlignMethod.ARUCO:
        p.add("alignment", "a layout with \"fields\" names its alignment method (page, markers, features, "
                           "image): it has no ArUco fiducials of ours")
    bub = p.mapping(raw, "bubble", "", optional=True) or {}
    r_mm = p.number(bub, "r_mm", "bubble", lo=0.8, hi=6.0, default=2.3)
    fields = parse_fields(p, raw.get("fields"))
    output = parse_output(p, raw.get("output"), fields)
    for key in ("questions", "participant_id", "version", "qr", "fiducials"):
        if key in raw:
            p.add(key, "not allowed together with \"fields\"")
    printing = raw.get("printing", "")
    if printing not in PRINT_STYLES:
        p.add("printing", f"{printing!r} is not one of {', '.join(map(repr, PRINT_STYLES))}")
    bubbles = _Bubbles()
    digits = {"participant": 0, "version": 0}
    kinds = {"participant": GroupKind.PARTICIPANT, "version": GroupKind.VERSION}
    for f in fields:
        if f.kind in digits:
            digits[f.kind] += 1
            bubbles.add(kinds[f.kind], str(digits[f.kind]), f.values, list(f.centres), f.path, name=f.label)
        elif f.kind == "numeric":
            bubbles.add(GroupKind.NUMERIC, f.label, f.values, list(f.centres), f.path, name=f.question)
        else:
            bubbles.add(GroupKind.QUESTION, f.label, f.values, list(f.centres), f.path, name=f.label)
    clash = {f.question for f in fields if f.kind == "numeric"} & {f.label for f in fields}
    if clash:
        p.add("fields", f"answer id(s) {', '.join(sorted(clash))} name both a numeric answer and another field")
    if not p.items:
        _check_foreign_geometry(p, width, height, r_mm, bubbles)
    if p.items:
        raise LayoutError(f"{source}: the layout has {len(p.items)} problem(s); fix them and try again",
                          details=p.items)
    arr, group_of = _bubble_arrays(bubbles)
    return Layout(id=lid, contest=contest, title=p.text(raw, "title", "", default=""),
                  subtitle=p.text(raw, "subtitle", "", default=""), width_mm=width, height_mm=height,
                  aruco_dictionary="", fiducial_size_mm=0.0, fiducial_inset_mm=0.0, qr=None, bubble_r_mm=r_mm,
                  participant=None, version=None, blocks=(), essays=(), groups=tuple(bubbles.groups),
                  centres_mm=arr, group_of=group_of, align=align, output=output, printing=printing)


def _check_foreign_geometry(p: _Problems, width: float, height: float, r: float, bubbles: _Bubbles) -> None:
    """Every bubble on the paper, and no two bubbles overlapping (their rings would read each other)."""
    reported: set[str] = set()
    for (y, x), path in zip(bubbles.centres, bubbles.where):
        if path not in reported and not (r <= x <= width - r and r <= y <= height - r):
            p.add(path, f"a bubble at x={x:.1f}, y={y:.1f} mm lies outside the paper")
            reported.add(path)
    a = np.asarray(bubbles.centres, dtype=np.float64).reshape(-1, 2)
    if 1 < len(a) <= 3000:
        d = np.sqrt(((a[:, None, :] - a[None, :, :]) ** 2).sum(-1))
        np.fill_diagonal(d, np.inf)
        i, j = np.unravel_index(np.argmin(d), d.shape)
        if d[i, j] < 2 * r:
            p.add(bubbles.where[i], f"bubbles at x={a[i, 1]:.1f}, y={a[i, 0]:.1f} mm and x={a[j, 1]:.1f}, "
                                    f"y={a[j, 0]:.1f} mm are {d[i, j]:.2f} mm apart: they overlap")


def _paper(p: _Problems, raw: dict) -> tuple[float, float]:
    paper = p.mapping(raw, "paper", "") or {}
    return (p.number(paper, "width_mm", "paper", lo=50, hi=1000),
            p.number(paper, "height_mm", "paper", lo=50, hi=1000))


def _markers(p: _Problems, raw: dict) -> _Markers:
    fid = p.mapping(raw, "fiducials", "", optional=True) or {}
    dictionary = fid.get("dictionary", "DICT_4X4_50")
    if dictionary not in ARUCO_DICTIONARIES:
        p.add("fiducials.dictionary", f"{dictionary!r} is not one of {', '.join(ARUCO_DICTIONARIES)}")
    return _Markers(dictionary, p.number(fid, "size_mm", "fiducials", lo=5, hi=40, default=10.0),
                    p.number(fid, "inset_mm", "fiducials", lo=3, hi=50, default=8.0))


def _qr(p: _Problems, raw: dict) -> Rect:
    qr_raw = p.mapping(raw, "qr", "") or {}
    size = p.number(qr_raw, "size_mm", "qr", lo=10, hi=80, default=22.0)
    return Rect(p.number(qr_raw, "x_mm", "qr", lo=0, hi=1000), p.number(qr_raw, "y_mm", "qr", lo=0, hi=1000),
                size, size)


def _blocks(p: _Problems, qs: dict) -> list[QuestionBlock]:
    """``questions``: the default options and the blocks of questions (a block with bad fields is kept, with
    ``nan`` or 0 there, so that later checks skip it)."""
    default_options = _options(p, qs.get("options", list(DEFAULT_OPTIONS)), "questions.options")
    blocks_raw = qs.get("blocks")
    if not isinstance(blocks_raw, list) or not blocks_raw:
        p.add("questions.blocks", "must be a non-empty list of blocks")
        blocks_raw = []
    blocks: list[QuestionBlock] = []
    for i, b in enumerate(blocks_raw):
        path = f"questions.blocks[{i}]"
        if not isinstance(b, dict):
            p.add(path, "must be an object")
            continue
        opts = _options(p, b["options"], f"{path}.options") if "options" in b else default_options
        first = p.number(b, "first", path, lo=1, hi=10_000, integer=True)
        count = p.number(b, "count", path, lo=1, hi=MAX_QUESTIONS, integer=True)
        blocks.append(QuestionBlock(
            first=0 if math.isnan(first) else int(first), count=0 if math.isnan(count) else int(count),
            x_mm=p.number(b, "x_mm", path, lo=0, hi=1000), y_mm=p.number(b, "y_mm", path, lo=0, hi=1000),
            option_pitch_mm=p.number(b, "option_pitch_mm", path, lo=2, hi=40, default=6.0),
            row_pitch_mm=p.number(b, "row_pitch_mm", path, lo=2, hi=40, default=6.0), options=opts))
    return blocks


def _essays(p: _Problems, items: Any) -> list[EssayBox]:
    essays: list[EssayBox] = []
    if not isinstance(items, list):
        p.add("essays", f"must be a list of essay boxes, got {type(items).__name__}")
        items = []
    for i, e in enumerate(items):
        path = f"essays[{i}]"
        if not isinstance(e, dict):
            p.add(path, "must be an object")
            continue
        essays.append(EssayBox(
            id=p.text(e, "id", path), label=p.text(e, "label", path, default=""),
            rect=Rect(p.number(e, "x_mm", path, lo=0, hi=1000), p.number(e, "y_mm", path, lo=0, hi=1000),
                      p.number(e, "w_mm", path, lo=5, hi=1000), p.number(e, "h_mm", path, lo=5, hi=1000))))
    if len({e.id for e in essays}) != len(essays):
        p.add("essays", "essay ids repeat")
    return essays


def _digit_bubbles(bubbles: _Bubbles, participant: DigitGrid | None, version: DigitGrid | None) -> None:
    """One group of ten bubbles ("0".."9") per digit column of the participant-ID and version grids."""
    for kind, grid, path in ((GroupKind.PARTICIPANT, participant, "participant_id"),
                             (GroupKind.VERSION, version, "version")):
        if grid is None or grid.digits <= 0 or any(map(math.isnan, (grid.x_mm, grid.y_mm))):
            continue
        for d in range(grid.digits):
            x = grid.x_mm + d * grid.col_pitch_mm
            bubbles.add(kind, str(d + 1), DIGIT_LABELS,
                        [(grid.y_mm + v * grid.row_pitch_mm, x) for v in range(10)], path)


def _question_bubbles(p: _Problems, bubbles: _Bubbles, blocks: list[QuestionBlock]) -> None:
    """One group per question, in block order; every question number once, numbered 1..n without gaps."""
    seen: dict[int, str] = {}
    for i, b in enumerate(blocks):
        if math.isnan(b.x_mm) or math.isnan(b.y_mm) or b.count <= 0:
            continue
        for k in range(b.count):
            qn = b.first + k
            if qn in seen:
                p.add(f"questions.blocks[{i}]", f"question {qn} is already in {seen[qn]}")
                continue
            seen[qn] = f"questions.blocks[{i}]"
            y = b.y_mm + k * b.row_pitch_mm
            bubbles.add(GroupKind.QUESTION, str(qn), b.options,
                        [(y, b.x_mm + j * b.option_pitch_mm) for j in range(len(b.options))],
                        f"questions.blocks[{i}]")
    if len(seen) > MAX_QUESTIONS:
        p.add("questions", f"{len(seen)} questions; a sheet holds at most {MAX_QUESTIONS}")
    if seen and sorted(seen) != list(range(1, len(seen) + 1)):
        missing = sorted(set(range(1, max(seen) + 1)) - set(seen))
        p.add("questions.blocks", f"questions must be numbered 1..n without gaps; missing {missing[:10]}")


def _check_geometry(p: _Problems, width: float, height: float, inset: float, fsize: float, qr: Rect,
                    r: float, centres: list[tuple[float, float]], where: list[str],
                    essays: list[EssayBox]) -> None:
    quiet = 2.0  # mm of white around fiducials and QR that nothing may enter
    fid = [Rect(inset, inset, fsize, fsize), Rect(width - inset - fsize, inset, fsize, fsize),
           Rect(width - inset - fsize, height - inset - fsize, fsize, fsize),
           Rect(inset, height - inset - fsize, fsize, fsize)]
    if 2 * (inset + fsize) > min(width, height):
        p.add("fiducials", "the fiducials do not fit on the paper")
    if qr.x_mm + qr.w_mm > width - inset or qr.y_mm + qr.h_mm > height - inset:
        p.add("qr", "the QR code reaches past the printable area")
    if any(_overlap(qr, f, quiet) for f in fid):
        p.add("qr", "the QR code overlaps a fiducial")
    reported: set[str] = set()
    for (y, x), path in zip(centres, where):
        if path in reported:
            continue
        if not (inset + r <= x <= width - inset - r and inset + r <= y <= height - inset - r):
            p.add(path, f"a bubble at x={x:.1f}, y={y:.1f} mm lies outside the printable area")
            reported.add(path)
        elif qr.contains(x, y, r + quiet) or any(f.contains(x, y, r + quiet) for f in fid):
            p.add(path, f"a bubble at x={x:.1f}, y={y:.1f} mm overlaps the QR code or a fiducial")
            reported.add(path)
    if len(centres) > 1:
        a = np.asarray(centres)
        # nearest-neighbour distances on a coarse sort: bubbles sit on grids, so sort by row then col
        d = np.sqrt(((a[:, None, :] - a[None, :, :]) ** 2).sum(-1)) if len(a) <= 3000 else None
        if d is not None:
            np.fill_diagonal(d, np.inf)
            i, j = np.unravel_index(np.argmin(d), d.shape)
            if d[i, j] < 2 * r + MIN_BUBBLE_GAP_MM:
                p.add(where[i], f"bubbles at x={a[i, 1]:.1f}, y={a[i, 0]:.1f} mm and x={a[j, 1]:.1f}, "
                                f"y={a[j, 0]:.1f} mm ({where[j]}) are {d[i, j]:.2f} mm apart; they need "
                                f"at least {2 * r + MIN_BUBBLE_GAP_MM:.1f} mm")
    for i, e in enumerate(essays):
        if e.rect.x_mm + e.rect.w_mm > width - inset or e.rect.y_mm + e.rect.h_mm > height - inset:
            p.add(f"essays[{i}]", "the essay box reaches past the printable area")


def _overlap(a: Rect, b: Rect, margin: float) -> bool:
    return not (a.x_mm + a.w_mm + margin <= b.x_mm or b.x_mm + b.w_mm + margin <= a.x_mm
                or a.y_mm + a.h_mm + margin <= b.y_mm or b.y_mm + b.h_mm + margin <= a.y_mm)


def read_json_document(path: str | Path, *, file_name: str, what: str, hint: str) -> tuple[Any, Path]:
    """Read a contest's JSON file (``path`` may be the contest folder holding ``file_name``); every failure is
    a ``LayoutError`` that says what to do (``hint``). UTF-8 only (a BOM allowed). Returns the parsed document
    and the file's path."""
    path = Path(path)
    if path.is_dir():
        path = path / file_name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LayoutError(f"{what} {path} does not exist; {hint}") from None
    except OSError as exc:
        raise LayoutError(f"cannot read {what} {path}: {exc}") from None
    try:
        text = utf8_text(data)
    except NotUtf8 as exc:
        raise LayoutError(f"{what} {path} is not saved as UTF-8 ({exc}); open it in a text editor and save it "
                          "again with the encoding UTF-8") from None
    return _parse_json(text, path), path


def _parse_json(text: str, path: Path) -> Any:
    """The document, or ``LayoutError`` when it is no JSON this program can hold: bad syntax, numbers of more
    than 4300 digits, nesting too deep, or ``\\uD800``-style escapes that are half a character."""
    try:
        doc = json.loads(text)
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except json.JSONDecodeError as exc:
        raise LayoutError(f"{path} is not valid JSON",
                          details=[f"line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from None
    except UnicodeEncodeError:
        raise LayoutError(f"{path} is not valid JSON",
                          details=["a \\u escape stands for half a character (a lone surrogate)"]) from None
    except ValueError:                              # an integer longer than Python converts
        raise LayoutError(f"{path} is not valid JSON",
                          details=["a number has more than 4300 digits"]) from None
    except RecursionError:
        raise LayoutError(f"{path} is not valid JSON", details=["lists or objects nested too deeply"]) from None
    return doc


def load_layout(path: str | Path) -> Layout:
    """Read and validate a layout file (or a contest folder holding ``layout.json``)."""
    raw, path = read_json_document(path, file_name="layout.json", what="layout file",
                                   hint="pass --layout PATH to a layout.json (or a contest folder holding one)")
    return layout_from_dict(raw, source=str(path), base=path.parent)
