"""Layouts of sheets printed by others: bubble grids, the alignment method and the CSV columns.

A layout with ``fields`` (instead of our ``questions.blocks``) places its bubbles as grids, the way
OMRChecker's ``fieldBlocks`` do: a block has field labels (the question or digit-column ids, any strings),
bubble values (the printed options), a direction and two pitches::

    "fields": [
      {"block": "MCQ_Block_1", "kind": "question", "labels": ["q1", "q2"], "values": ["A", "B", "C", "D"],
       "direction": "horizontal", "x_mm": 30, "y_mm": 60, "bubbles_gap_mm": 7, "labels_gap_mm": 7},
      {"block": "Roll", "kind": "participant", "labels": ["roll1", "roll2"], "values": ["0", …, "9"],
       "direction": "vertical", …}
    ]

``x_mm``/``y_mm`` is the centre of the first bubble; ``horizontal`` puts a field's values side by side and
its fields one under the other (``vertical`` the other way round). ``labels_gap_mm`` may be a list (one gap
per pair of consecutive labels). A ``participant`` block's fields are the digit columns of the participant id,
in order; a ``version`` block's those of the test version (mã đề).

Two more kinds answer questions that are not one choice among options:

* ``truefalse``: statements judged true or false, each its own question: ``"group": "II.1"`` and labels
  ``["a", "b", "c", "d"]`` give the questions ``II.1a`` … ``II.1d``; values default to ``["Đ", "S"]``.
  The group is scored as a whole by the answer key (``grading.keyparts``).
* ``numeric``: one short numeric answer written in columns (``"labels": ["III.2"]``, one question per block):
  ``columns`` columns, each a column of rows "-", ",", "0" … "9" going down (``bubbles_gap_mm`` apart; the
  columns ``labels_gap_mm`` apart). The "-" row has a bubble only in ``sign_columns`` (default the first),
  the "," row only in ``comma_columns`` (default the middle ones). ``x_mm``/``y_mm`` is where the first
  column's "-" row is. The answer is the string as written ("-1,5"), put together by ``omr.numeric``.

``alignment`` says how a page is found when the sheet has none of our ArUco markers::

    "alignment": {"method": "page" | "markers" | "features" | "image" | "timing_marks" | "aruco",
                  "frame_mm": {"x_mm": 0, "y_mm": 0, "w_mm": 210, "h_mm": 297},
                  "marker": "omr_marker.jpg", "marker_size_mm": 12,     # method "markers"
                  "reference": "reference.png",                         # method "features"
                  "timing_marks": [{"x_mm": 15, "y_mm": 7, "dx_mm": 6, "dy_mm": 0, "count": 31,
                                    "w_mm": 2, "h_mm": 4}, …]}          # method "timing_marks"

``timing_marks`` are lines of identical filled rectangles (the first mark's centre, the step to the next, how
many, each mark's size); method ``timing_marks`` needs two lines in different directions (a row along one edge
and a column along another). Any layout may declare them: ``omr sheet`` prints them.

The frame is the rectangle of the page that the method finds: the paper's outline (``page``), the rectangle
through the four marker centres (``markers``), the reference image's extent (``features``), the whole image
(``image``). Image paths are relative to the layout file.

``output`` keeps what OMRChecker's CSV needs: ``columns`` (its ``outputColumns``; default: every field not
joined, then the custom labels), ``custom_labels`` (fields joined into one column), the global ``empty_value``
and ``empty_values`` (field → the empty value of its block, where the block has its own).

This module parses and checks those parts into plain records; ``omr.layout`` compiles them.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_FIELDS = 400
MAX_VALUES = 12
MAX_NUMERIC_COLUMNS = 8
FIELD_KINDS = ("question", "participant", "version", "truefalse", "numeric")
TRUE_FALSE = ("Đ", "S")
NUMERIC_ROWS = ("-", ",") + tuple("0123456789")


class AlignMethod(enum.Enum):
    ARUCO = "aruco"          # our four ArUco fiducials (the default)
    PAGE = "page"            # the sheet's outline against the background
    MARKERS = "markers"      # four identical corner markers, given as an image
    FEATURES = "features"    # keypoints matched against a reference image of the blank sheet
    IMAGE = "image"          # the image is the frame (a scan already cropped to the sheet)
    TIMING = "timing_marks"  # rows of black rectangles printed along the sheet's edges


@dataclass(frozen=True, slots=True)
class TimingTrack:
    """A straight line of ``count`` identical filled rectangles (``w_mm`` × ``h_mm``), the first centred at
    (``x_mm``, ``y_mm``), each next one ``dx_mm``, ``dy_mm`` further: a row along an edge, or a column."""

    x_mm: float
    y_mm: float
    dx_mm: float
    dy_mm: float
    count: int
    w_mm: float
    h_mm: float

    def centres_mm(self) -> list[tuple[float, float]]:
        return [(self.x_mm + k * self.dx_mm, self.y_mm + k * self.dy_mm) for k in range(self.count)]

    @property
    def pitch_mm(self) -> float:
        return math.hypot(self.dx_mm, self.dy_mm)


@dataclass(frozen=True, slots=True)
class AlignSpec:
    method: AlignMethod
    frame: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)    # x, y, w, h in mm
    marker: str | None = None            # absolute path of the marker image
    marker_size_mm: float = 0.0          # the marker's printed width
    reference: str | None = None         # absolute path of the reference image
    tracks: tuple[TimingTrack, ...] = ()  # timing marks (method "timing_marks"; printed whatever the method)

    def frame_corners_mm(self) -> list[tuple[float, float]]:
        """The frame's corners (x, y) in mm: top-left, top-right, bottom-right, bottom-left."""
        x, y, w, h = self.frame
        return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


ARUCO = AlignSpec(AlignMethod.ARUCO)


@dataclass(frozen=True, slots=True)
class OutputSpec:
    columns: tuple[str, ...]                                  # CSV response columns, in order
    custom_labels: tuple[tuple[str, tuple[str, ...]], ...]    # column → the fields joined into it
    empty_value: str
    empty_of: tuple[tuple[str, str], ...]                     # field → its block's empty value

    def empty(self, field: str) -> str:
        return dict(self.empty_of).get(field, self.empty_value)


@dataclass(frozen=True, slots=True)
class FieldGroup:
    """One field as compiled: its kind ("question" | "participant" | "version" | "numeric"; a true/false
    statement is a "question"), label, values and bubble centres. A numeric column's label is
    ``<question>/<column>`` and ``question`` names the answer it is part of."""

    kind: str
    label: str
    values: tuple[str, ...]
    centres: tuple[tuple[float, float], ...]    # (y, x) mm
    path: str
    question: str = ""


def parse_alignment(p: Any, raw: Any, base: Path | None, width: float, height: float) -> AlignSpec:
    """``alignment`` (``p`` collects problems; see ``omr.layout._Problems``)."""
    if raw is None:
        return ARUCO
    if not isinstance(raw, dict):
        p.add("alignment", "must be an object with a method")
        return ARUCO
    try:
        method = AlignMethod(raw.get("method"))
    except ValueError:
        p.add("alignment.method", f"{raw.get('method')!r} is not one of "
                                  f"{', '.join(m.value for m in AlignMethod)}")
        return ARUCO
    if method is AlignMethod.ARUCO:
        return ARUCO
    fr = raw.get("frame_mm", {"x_mm": 0, "y_mm": 0, "w_mm": width, "h_mm": height})
    if not isinstance(fr, dict):
        p.add("alignment.frame_mm", "must be an object with x_mm, y_mm, w_mm, h_mm")
        fr = {}
    frame = (p.number(fr, "x_mm", "alignment.frame_mm", lo=0, hi=1000),
             p.number(fr, "y_mm", "alignment.frame_mm", lo=0, hi=1000),
             p.number(fr, "w_mm", "alignment.frame_mm", lo=20, hi=1000),
             p.number(fr, "h_mm", "alignment.frame_mm", lo=20, hi=1000))
    marker = reference = None
    size = 0.0
    if method is AlignMethod.MARKERS:
        marker = _image_path(p, raw, "marker", base)
        size = p.number(raw, "marker_size_mm", "alignment", lo=2, hi=60)
    if method is AlignMethod.FEATURES:
        reference = _image_path(p, raw, "reference", base)
    tracks = _tracks(p, raw.get("timing_marks"), width, height)
    if method is AlignMethod.TIMING and (len(tracks) < 2 or len({_direction(t) for t in tracks}) < 2):
        p.add("alignment.timing_marks", "method timing_marks needs at least two lines of marks in different "
                                        "directions (a row along one edge and a column along another)")
    return AlignSpec(method, frame, marker, size, reference, tracks)


def _direction(t: TimingTrack) -> int:
    """The line's direction in 10° steps, one way or the other."""
    return round(math.degrees(math.atan2(t.dy_mm, t.dx_mm)) % 180 / 10) % 18


def _tracks(p: Any, raw: Any, width: float, height: float) -> tuple[TimingTrack, ...]:
    """``timing_marks``: a list of lines of marks (see ``TimingTrack``), every mark on the paper."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        p.add("alignment.timing_marks", "must be a list of lines of marks")
        return ()
    out = []
    for i, t in enumerate(raw):
        path = f"alignment.timing_marks[{i}]"
        if not isinstance(t, dict):
            p.add(path, "must be an object")
            continue
        vals = [p.number(t, k, path, lo=lo, hi=1000) for k, lo in
                (("x_mm", 0), ("y_mm", 0), ("dx_mm", -1000), ("dy_mm", -1000))]
        count = p.number(t, "count", path, lo=3, hi=200, integer=True)
        w, h = p.number(t, "w_mm", path, lo=0.8, hi=30), p.number(t, "h_mm", path, lo=0.8, hi=30)
        if any(math.isnan(v) for v in (*vals, count, w, h)):
            continue
        track = TimingTrack(*vals, int(count), w, h)
        along = (abs(track.dx_mm) * w + abs(track.dy_mm) * h) / max(track.pitch_mm, 1e-9)
        if track.pitch_mm <= along:
            p.add(path, "consecutive marks overlap: the step (dx_mm, dy_mm) is shorter than a mark")
            continue
        if any(not (w / 2 <= x <= width - w / 2 and h / 2 <= y <= height - h / 2) for x, y in track.centres_mm()):
            p.add(path, "a mark lies outside the paper")
            continue
        out.append(track)
    return tuple(out)


def _image_path(p: Any, raw: dict, key: str, base: Path | None) -> str | None:
    name = raw.get(key)
    if not isinstance(name, str) or not name.strip():
        p.add(f"alignment.{key}", "missing: the image file's name, relative to the layout file")
        return None
    path = (base or Path(".")) / name
    if not path.is_file():
        p.add(f"alignment.{key}", f"{path} does not exist")
        return None
    return str(path.resolve())


def parse_fields(p: Any, raw: Any) -> list[FieldGroup]:
    """``fields``: every block compiled into its fields; labels unique across blocks."""
    if not isinstance(raw, list) or not raw:
        p.add("fields", "must be a non-empty list of field blocks")
        return []
    out: list[FieldGroup] = []
    for i, b in enumerate(raw):
        path = f"fields[{i}]"
        if not isinstance(b, dict):
            p.add(path, "must be an object")
            continue
        out.extend(_block(p, b, path))
    seen: set[str] = set()
    for f in out:
        if f.label in seen:
            p.add(f.path, f"field {f.label!r} is defined twice")
        seen.add(f.label)
    if len(out) > MAX_FIELDS:
        p.add("fields", f"{len(out)} fields; a sheet holds at most {MAX_FIELDS}")
    return out


def _strings(p: Any, raw: Any, path: str, *, lo: int, hi: int) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(s, str) and s for s in raw):
        p.add(path, f"must be a list of non-empty strings, got {raw!r}")
        return ()
    if not lo <= len(raw) <= hi:
        p.add(path, f"{len(raw)} entries; {lo} to {hi} are allowed")
    if len(set(raw)) != len(raw):
        p.add(path, f"entries repeat: {raw}")
    return tuple(raw)


def _block(p: Any, b: dict, path: str) -> list[FieldGroup]:
    kind = b.get("kind", "question")
    if kind not in FIELD_KINDS:
        p.add(f"{path}.kind", f"{kind!r} is not one of {', '.join(FIELD_KINDS)}")
    if kind == "numeric":
        return _numeric_block(p, b, path)
    labels = _strings(p, b.get("labels"), f"{path}.labels", lo=1, hi=MAX_FIELDS)
    default_values = list(TRUE_FALSE) if kind == "truefalse" else None
    values = _strings(p, b.get("values", default_values), f"{path}.values", lo=2, hi=MAX_VALUES)
    if kind in ("participant", "version") and values and not all(v.isdigit() and len(v) == 1 for v in values):
        p.add(f"{path}.values", f"a {kind} block's values are the digits 0-9")
    if kind == "truefalse":
        group = b.get("group")
        if not isinstance(group, str) or not group.strip():
            p.add(f"{path}.group", "missing: the id of the true/false question (\"II.1\"), its statements are "
                                   "the labels")
            group = ""
        labels = tuple(group + lab for lab in labels)
        kind = "question"
    direction = b.get("direction", "horizontal")
    if direction not in ("horizontal", "vertical"):
        p.add(f"{path}.direction", f"{direction!r} is not \"horizontal\" or \"vertical\"")
    x0 = p.number(b, "x_mm", path, lo=0, hi=1000)
    y0 = p.number(b, "y_mm", path, lo=0, hi=1000)
    bgap = p.number(b, "bubbles_gap_mm", path, lo=1, hi=100)
    gaps = _label_gaps(p, b.get("labels_gap_mm"), f"{path}.labels_gap_mm", len(labels))
    if any(math.isnan(v) for v in (x0, y0, bgap)) or gaps is None or not labels or not values:
        return []
    out = []
    lead = 0.0
    for k, label in enumerate(labels):
        if k:
            lead += gaps[k - 1]
        if direction == "horizontal":      # values side by side, fields downwards
            pts = tuple((y0 + lead, x0 + j * bgap) for j in range(len(values)))
        else:                              # values downwards, fields side by side
            pts = tuple((y0 + j * bgap, x0 + lead) for j in range(len(values)))
        out.append(FieldGroup(str(kind), label, values, pts, path))
    return out


def _numeric_block(p: Any, b: dict, path: str) -> list[FieldGroup]:
    """One numeric answer: a column group per written character (see the module's doc)."""
    labels = _strings(p, b.get("labels"), f"{path}.labels", lo=1, hi=1)
    ncols = p.number(b, "columns", path, lo=1, hi=MAX_NUMERIC_COLUMNS, integer=True)
    x0 = p.number(b, "x_mm", path, lo=0, hi=1000)
    y0 = p.number(b, "y_mm", path, lo=0, hi=1000)
    row = p.number(b, "bubbles_gap_mm", path, lo=1, hi=100)
    col = p.number(b, "labels_gap_mm", path, lo=1, hi=100)
    if any(math.isnan(v) for v in (ncols, x0, y0, row, col)) or not labels:
        return []
    n = int(ncols)
    sign = _columns(p, b.get("sign_columns", [1]), f"{path}.sign_columns", n)
    comma = _columns(p, b.get("comma_columns", list(range(2, n))), f"{path}.comma_columns", n)
    out = []
    for c in range(1, n + 1):
        vals = [v for v in NUMERIC_ROWS if (v != "-" or c in sign) and (v != "," or c in comma)]
        pts = tuple((y0 + NUMERIC_ROWS.index(v) * row, x0 + (c - 1) * col) for v in vals)
        out.append(FieldGroup("numeric", f"{labels[0]}/{c}", tuple(vals), pts, path, question=labels[0]))
    return out


def _columns(p: Any, raw: Any, path: str, n: int) -> set[int]:
    if not isinstance(raw, list) or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= n
                                            for v in raw):
        p.add(path, f"must be a list of column numbers 1..{n}, got {raw!r}")
        return set()
    return set(raw)


def _label_gaps(p: Any, raw: Any, path: str, n: int) -> list[float] | None:
    if isinstance(raw, bool) or raw is None:
        p.add(path, "missing: a number, or a list of one gap per pair of consecutive labels")
        return None
    if isinstance(raw, (int, float)):
        if not 1 <= raw <= 200:
            p.add(path, f"{raw} is outside 1..200")
            return None
        return [float(raw)] * max(0, n - 1)
    if isinstance(raw, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
        if len(raw) != max(0, n - 1):
            p.add(path, f"{len(raw)} gaps for {n} labels; give {max(0, n - 1)}")
            return None
        return [float(v) for v in raw]
    p.add(path, f"must be a number or a list of numbers, got {raw!r}")
    return None


def parse_output(p: Any, raw: Any, fields: list[FieldGroup]) -> OutputSpec | None:
    """``output``: CSV columns in OMRChecker's layout (defaults: every field, custom labels joined)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        p.add("output", "must be an object")
        return None
    known = {f.label for f in fields}
    custom: list[tuple[str, tuple[str, ...]]] = []
    cl = raw.get("custom_labels", {})
    if not isinstance(cl, dict):
        p.add("output.custom_labels", "must be an object {column: [field, …]}")
        cl = {}
    for name, parts in cl.items():
        parts_t = _strings(p, parts, f"output.custom_labels.{name}", lo=1, hi=MAX_FIELDS)
        bad = [x for x in parts_t if x not in known]
        if bad:
            p.add(f"output.custom_labels.{name}", f"field(s) {', '.join(bad)} are not on the layout")
        custom.append((str(name), parts_t))
    joined = {x for _, parts in custom for x in parts}
    default_cols = [f.label for f in fields if f.label not in joined] + [n for n, _ in custom]
    cols = raw.get("columns", default_cols)
    columns = _strings(p, cols, "output.columns", lo=1, hi=MAX_FIELDS * 2) if cols else tuple(default_cols)
    allowed = known | {n for n, _ in custom}
    bad_cols = [c for c in columns if c not in allowed]
    if bad_cols:
        p.add("output.columns", f"column(s) {', '.join(bad_cols)} are neither fields nor custom labels")
    empty = raw.get("empty_value", "")
    if not isinstance(empty, str):
        p.add("output.empty_value", f"must be a string, got {empty!r}")
        empty = ""
    empties = raw.get("empty_values", {})
    if not isinstance(empties, dict) or not all(isinstance(v, str) for v in empties.values()):
        p.add("output.empty_values", "must be an object {field: empty value}")
        empties = {}
    return OutputSpec(columns=columns, custom_labels=tuple(custom), empty_value=empty,
                      empty_of=tuple((str(k), v) for k, v in empties.items()))
