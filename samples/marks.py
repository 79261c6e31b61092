"""Hand-made marks on a rasterised answer sheet: what a participant does with a pencil or a pen.

Two halves, kept apart on purpose:

* **planning** (``plan_sheet``) decides, from a random generator, what the participant *meant* and *did* in
  every question and digit column (a clean fill, a blank, two fills, a tick, a crossed-out mark …). The
  ground truth — what a careful human reads, and which questions a human would call ambiguous — follows
  from the plan alone.
* **drawing** (``draw_plan``) puts those marks on the page's own pixels (the sheet rasterised at ``dpi``),
  before any geometric degradation. Every mark is drawn supersampled and then area-averaged, with pencil
  grain, irregular hand-drawn outlines, off-centre placement and the occasional overflow. A "normal" fill
  covers at least ``MIN_FILL_COVERAGE`` of the bubble disc; a "faint" fill covers less than
  ``MAX_FAINT_COVERAGE`` (a human would ask); the coverage actually drawn is measured and reported.

Nothing here reads marks: this module never imports the reader (``omr.align``, ``omr.marks``, ``omr.read``).
Coordinates: layout centres are (row=y, col=x) in mm; a page pixel (row, col) has its centre at
``mm * dpi / 25.4 - 0.5`` (poppler maps the page's top-left corner to the top-left corner of pixel (0, 0)).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from omr.layout import Group, GroupKind, Layout

SS = 4                       # supersampling factor for drawing marks
MIN_FILL_COVERAGE = 0.50     # a normal fill covers at least this fraction of the bubble disc
MAX_FAINT_COVERAGE = 0.35    # a "faint" (half-hearted) fill covers less than this: ambiguous to a human
HALF_COVERAGE = (0.38, 0.62)  # a "half" fill: one side of the bubble, this share of the disc
LIGHT_FACTOR = (0.45, 0.65)   # a "light" fill: this share of the hand's usual darkness
HEAVY_ERASURE_SHARE = (0.45, 0.75)   # a badly erased fill keeps this share of the hand's darkness (a light
                                     # erasure leaves 0.10-0.25 whatever the hand)
HAND_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Oblique.ttf"

# Light absorbed per channel (B, G, R) at full strength: a mark multiplies paper by (1 - darkness*absorb).
INKS: dict[str, tuple[float, float, float]] = {
    "pencil": (0.93, 0.94, 0.95),      # graphite: neutral, a touch bluish-grey
    "pen_blue": (0.45, 0.82, 0.92),    # ballpoint blue
    "pen_black": (0.95, 0.95, 0.95),
}

# Per-question outcome probabilities (the rest is one clean fill). Tunable per profile.
DEFAULT_QUESTION_FREQ: dict[str, float] = {
    "blank": 0.03,                 # skipped
    "double": 0.007,               # two clear fills -> answer "AC"
    "erased_then_marked": 0.03,    # light erasure smudge beside the final clear fill (NOT ambiguous)
    "tick": 0.004,                 # a tick instead of a fill (ambiguous)
    "cross": 0.003,                # a cross instead of a fill (ambiguous)
    "crossed_out_remarked": 0.004,  # filled, heavily X-ed out, another option filled (ambiguous)
    "erased_alone": 0.003,         # an erasure smudge and nothing else (ambiguous)
    "faint": 0.003,                # a fill covering < 35 % of the bubble (ambiguous)
}
# Cases a careful human hesitates over when the contest has said nothing about them (no marking rules).
AMBIGUOUS_CASES = frozenset({"tick", "cross", "crossed_out_remarked", "erased_alone", "faint", "circle",
                             "circle_letter"})

# Marks the way the public makes them (people of every age, not drilled on bubble sheets): most questions still
# get one clean fill, but circles, ticks, X's, heavy erasures, light pencil and half fills are common.
HARSH_QUESTION_FREQ: dict[str, float] = {
    "blank": 0.03,
    "double": 0.008,
    "erased_then_marked": 0.04,    # light erasure smudge beside the final fill
    "heavy_erasure": 0.04,         # dark, badly erased residue beside the final fill
    "tick": 0.04,                  # a tick on an empty bubble
    "cross": 0.04,                 # an X on an empty bubble
    "crossed_out_remarked": 0.03,  # a fill X-ed out, another option filled
    "erased_alone": 0.004,
    "faint": 0.004,
    "light": 0.05,                 # a whole fill pressed lightly (clearly darker than the paper)
    "half": 0.04,                  # half of the bubble filled
    "circle": 0.02,                # a circle drawn around the bubble, the bubble itself left empty
    "circle_letter": 0.01,         # a circle drawn around the letter inside the bubble, nothing filled
}
MARK_PROFILES: dict[str, dict[str, float]] = {"typical": DEFAULT_QUESTION_FREQ, "harsh": HARSH_QUESTION_FREQ}

# What the demo contest's marking rules (answer_keys/demo/layout.json "marking") make of each case: the rule that
# decides it, and whether the reader must leave it to a judge (a doubt) rather than read the intended answer.
RULE_OF_CASE: dict[str, str] = {
    "tick": "tick_or_x_on_empty", "cross": "tick_or_x_on_empty", "crossed_out_remarked": "crossed_out_fill",
    "circle": "circle_around", "circle_letter": "circle_around",
}
DEMO_DOUBT_CASES = frozenset({"circle", "circle_letter", "erased_alone", "faint"})

DEFAULT_DIGIT_FREQ: dict[str, float] = {
    "id_filled_on_personalised": 0.85,  # personalised sheets: the participant usually fills the ID bubbles too
    "id_forgot_digit": 0.03,            # per sheet: one ID column left blank -> "?"
    "id_double_digit": 0.01,            # per sheet: one ID column with two fills -> "?"
    "id_wrong_digit_personalised": 0.01,  # per personalised sheet: a bubbled digit differs from the printed ID
    "version_forgot_digit": 0.01,
    "digit_erasure": 0.02,              # per column: a light erasure beside the fill (not ambiguous)
    "write_boxes": 0.9,                 # writes the digits by hand in the boxes above the columns
    "write_name": 0.9,                  # generic sheets: writes name / unit / id on the dotted lines
    "stray_marks_mean": 2.5,            # stray dots and pencil specks per sheet (Poisson mean)
}


# ---------------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Style:
    """How one participant marks: the same hand across a whole sheet."""

    tool: str                  # key of INKS
    darkness: float            # mean darkness of a fill (pencil 0.40-0.70, pen 0.85-1.0)
    coverage: float            # typical fill size (radius factor of the blob, ~0.8-1.1)
    shapes: tuple[float, float, float]   # weights of blob / scribble / spiral fills
    offset: float              # typical off-centre displacement, as a fraction of the bubble radius
    overflow: float            # probability a fill spills over the printed circle
    stroke_mm: float           # pen/pencil stroke width

    @property
    def is_pencil(self) -> bool:
        return self.tool == "pencil"


@dataclass(frozen=True, slots=True)
class Op:
    """One thing drawn in one bubble."""

    bubble: int                # index into layout.centres_mm
    kind: str                  # fill | faint | light | half | tick | cross | xout | erasure | heavy_erasure
                               # | circle | circle_letter


@dataclass(slots=True)
class GroupPlan:
    key: str
    kind: GroupKind
    case: str                  # "single", "blank", "double", ... (see DEFAULT_QUESTION_FREQ) or digit cases
    truth: str                 # question: letters in layout order; digit column: the digit or "?"
    ambiguous: bool
    ops: list[Op] = field(default_factory=list)


@dataclass(slots=True)
class SheetPlan:
    style: Style
    groups: list[GroupPlan]
    participant: str           # what the ID bubbles say ("?" for a blank/ambiguous column)
    version: str
    write_boxes: bool
    write_name: bool
    stray: int


# ---------------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------------
def sample_style(rng: np.random.Generator) -> Style:
    tool = str(rng.choice(["pencil", "pen_blue", "pen_black"], p=[0.72, 0.17, 0.11]))
    if tool == "pencil":
        dark = float(rng.uniform(0.44, 0.64))
        stroke = float(rng.uniform(0.45, 0.7))
    else:
        dark = float(rng.uniform(0.87, 0.98))
        stroke = float(rng.uniform(0.3, 0.5))
    w = rng.dirichlet([2.0, 1.5, 0.8])
    return Style(tool=tool, darkness=dark, coverage=float(rng.uniform(0.78, 1.02)),
                 shapes=(float(w[0]), float(w[1]), float(w[2])), offset=float(rng.uniform(0.03, 0.18)),
                 overflow=float(rng.uniform(0.02, 0.15)), stroke_mm=stroke)


def _choice_case(rng: np.random.Generator, freq: dict[str, float]) -> str:
    u = rng.random()
    acc = 0.0
    for name, p in freq.items():
        acc += p
        if u < acc:
            return name
    return "single"


def _plan_question(g: Group, rng: np.random.Generator, freq: dict[str, float]) -> GroupPlan:
    case = _choice_case(rng, freq)
    n = g.size
    a = int(rng.integers(n))
    others = [k for k in range(n) if k != a]
    b = int(rng.choice(others))
    B = g.first
    ops: list[Op]
    if case == "single":
        ops, chosen = [Op(B + a, "fill")], [a]
    elif case == "blank":
        ops, chosen = [], []
    elif case == "double":
        ops, chosen = [Op(B + a, "fill"), Op(B + b, "fill")], [a, b]
    elif case == "erased_then_marked":
        ops, chosen = [Op(B + b, "erasure"), Op(B + a, "fill")], [a]
    elif case == "tick":
        ops, chosen = [Op(B + a, "tick")], [a]
    elif case == "cross":
        ops, chosen = [Op(B + a, "cross")], [a]
    elif case == "crossed_out_remarked":
        ops, chosen = [Op(B + b, "fill"), Op(B + b, "xout"), Op(B + a, "fill")], [a]
    elif case == "erased_alone":
        ops, chosen = [Op(B + a, "erasure")], []
    elif case == "faint":
        ops, chosen = [Op(B + a, "faint")], [a]
    elif case == "heavy_erasure":
        ops, chosen = [Op(B + b, "heavy_erasure"), Op(B + a, "fill")], [a]
    elif case in ("light", "half", "circle", "circle_letter"):
        ops, chosen = [Op(B + a, case)], [a]
    else:  # pragma: no cover - freq keys are ours
        raise ValueError(f"unknown case {case!r}")
    truth = "".join(g.labels[k] for k in sorted(chosen))
    return GroupPlan(g.key, g.kind, case, truth, case in AMBIGUOUS_CASES, ops)


def _plan_digits(groups: tuple[Group, ...], value: str, rng: np.random.Generator, dfreq: dict[str, float],
                 *, fill: bool, forgot_p: float, double_p: float, wrong_p: float) -> list[GroupPlan]:
    plans = []
    forgot = int(rng.integers(len(groups))) if rng.random() < forgot_p else -1
    double = int(rng.integers(len(groups))) if rng.random() < double_p else -1
    wrong = int(rng.integers(len(groups))) if rng.random() < wrong_p else -1
    for k, g in enumerate(groups):
        d = int(value[k])
        if wrong == k:
            d = int(rng.choice([x for x in range(10) if x != d]))
        other = int(rng.choice([x for x in range(10) if x != d]))
        if not fill:
            plans.append(GroupPlan(g.key, g.kind, "blank_column", "?", True, []))
        elif forgot == k:
            plans.append(GroupPlan(g.key, g.kind, "forgot_digit", "?", True, []))
        elif double == k:
            plans.append(GroupPlan(g.key, g.kind, "double_digit", "?", True,
                                   [Op(g.first + d, "fill"), Op(g.first + other, "fill")]))
        elif rng.random() < dfreq["digit_erasure"]:
            plans.append(GroupPlan(g.key, g.kind, "erased_then_marked", str(d), False,
                                   [Op(g.first + other, "erasure"), Op(g.first + d, "fill")]))
        else:
            plans.append(GroupPlan(g.key, g.kind, "wrong_digit" if wrong == k else "single", str(d), False,
                                   [Op(g.first + d, "fill")]))
    return plans


def plan_sheet(layout: Layout, rng: np.random.Generator, *, participant: str, version: str, personalised: bool,
               qfreq: dict[str, float] | None = None, dfreq: dict[str, float] | None = None) -> SheetPlan:
    """Decide every mark of one sheet. ``participant``/``version`` are what the participant means to enter."""
    qfreq = DEFAULT_QUESTION_FREQ if qfreq is None else qfreq
    dfreq = DEFAULT_DIGIT_FREQ if dfreq is None else dfreq
    style = sample_style(rng)
    groups: list[GroupPlan] = []
    pg = layout.digit_groups(GroupKind.PARTICIPANT)
    if pg:
        fill_id = (not personalised) or rng.random() < dfreq["id_filled_on_personalised"]
        groups += _plan_digits(pg, participant, rng, dfreq, fill=fill_id, forgot_p=dfreq["id_forgot_digit"],
                               double_p=dfreq["id_double_digit"],
                               wrong_p=dfreq["id_wrong_digit_personalised"] if personalised else 0.0)
    vg = layout.digit_groups(GroupKind.VERSION)
    if vg:
        groups += _plan_digits(vg, version, rng, dfreq, fill=True, forgot_p=dfreq["version_forgot_digit"],
                               double_p=0.0, wrong_p=0.0)
    for g in layout.question_groups:
        groups.append(_plan_question(g, rng, qfreq))
    pid = "".join(p.truth for p in groups if p.kind is GroupKind.PARTICIPANT)
    ver = "".join(p.truth for p in groups if p.kind is GroupKind.VERSION)
    return SheetPlan(style=style, groups=groups, participant=pid, version=ver,
                     write_boxes=bool(rng.random() < dfreq["write_boxes"]),
                     write_name=bool(rng.random() < dfreq["write_name"]),
                     stray=int(rng.poisson(dfreq["stray_marks_mean"])))


# ---------------------------------------------------------------------------------------------------
# Drawing primitives (supersampled masks in a patch around one bubble)
# ---------------------------------------------------------------------------------------------------
def mm_to_px(v_mm: float, dpi: float) -> float:
    """A position in mm to a pixel-centre coordinate at ``dpi``."""
    return v_mm * dpi / 25.4 - 0.5


def _pts(c: tuple[float, float], xy: np.ndarray) -> np.ndarray:
    """Points given as (x, y) offsets around centre c=(x, y), to int32 for cv2."""
    return np.round(np.asarray(xy, dtype=np.float64) + np.asarray(c)).astype(np.int32).reshape(-1, 1, 2)


def _rot(xy: np.ndarray, ang: float) -> np.ndarray:
    ca, sa = math.cos(ang), math.sin(ang)
    return xy @ np.array([[ca, sa], [-sa, ca]])


def _blob(mask: np.ndarray, rng: np.random.Generator, c: tuple[float, float], R: float, rho: float) -> None:
    k = int(rng.integers(20, 40))
    th = np.sort(rng.uniform(0, 2 * np.pi, k))
    rad = np.ones(k)
    for h in (2, 3, 4):
        rad += rng.normal(0, 0.06 / h * 2) * np.cos(h * th + rng.uniform(0, 2 * np.pi))
    rad += rng.normal(0, 0.035, k)
    rad = rho * R * np.clip(rad, 0.6, 1.4)
    xy = np.stack([rad * np.cos(th), rad * np.sin(th)], axis=1)
    cv2.fillPoly(mask, [_pts(c, xy)], 255, lineType=cv2.LINE_AA)
    if rng.random() < 0.6:   # the pencil outline drawn first, a bit outside the fill
        cv2.polylines(mask, [_pts(c, xy * rng.uniform(1.0, 1.06))], True, 255,
                      thickness=max(1, int(0.12 * R)), lineType=cv2.LINE_AA)


def _scribble(mask: np.ndarray, rng: np.random.Generator, c: tuple[float, float], R: float, rho: float,
              stroke: float) -> None:
    phi = rng.uniform(0, np.pi)
    spacing = rng.uniform(0.22, 0.36)
    n = max(2, int(2 * rho / spacing) + 1)
    ts = np.linspace(-rho + spacing / 2, rho - spacing / 2, n) + rng.normal(0, 0.03, n)
    pts = []
    for j, t in enumerate(ts):
        half = math.sqrt(max(rho * rho - t * t, 0.02)) * rng.uniform(0.85, 1.12)
        s = 1 if j % 2 == 0 else -1
        pts += [(-s * half, t), (s * half, t + rng.normal(0, 0.04))]
    xy = _rot(np.asarray(pts) * R, phi)
    thick = max(2, int(R * max(spacing * rng.uniform(1.15, 1.6), stroke)))
    cv2.polylines(mask, [_pts(c, xy)], False, 255, thickness=thick, lineType=cv2.LINE_AA)


def _spiral(mask: np.ndarray, rng: np.random.Generator, c: tuple[float, float], R: float, rho: float) -> None:
    turns = rng.uniform(2.0, 3.2)
    t = np.linspace(0, 2 * np.pi * turns, 90)
    r = rho * R * (1 - 0.85 * t / t[-1]) * (1 + rng.normal(0, 0.03, t.size))
    xy = np.stack([r * np.cos(t + rng.uniform(0, 6.3)), r * np.sin(t) * rng.uniform(0.85, 1.1)], axis=1)
    thick = max(2, int(R * rng.uniform(0.32, 0.48)))
    cv2.polylines(mask, [_pts(c, xy)], False, 255, thickness=thick, lineType=cv2.LINE_AA)
    cv2.circle(mask, tuple(int(v) for v in np.round(c)), int(R * 0.3 * rho), 255, -1, lineType=cv2.LINE_AA)


def _strokes(mask: np.ndarray, rng: np.random.Generator, c: tuple[float, float], R: float,
             segments: list[np.ndarray], thick: float) -> None:
    for seg in segments:
        # a hand-drawn stroke: resample and bend it a little
        seg = np.asarray(seg, dtype=np.float64)
        t = np.linspace(0, 1, 12)[:, None]
        pts = []
        for a, b in zip(seg[:-1], seg[1:]):
            line = a + (b - a) * t
            normal = np.array([-(b - a)[1], (b - a)[0]])
            normal /= (np.linalg.norm(normal) + 1e-9)
            bend = rng.normal(0, 0.05) * np.sin(np.pi * t)
            pts.append(line + bend * normal)
        xy = np.concatenate(pts) * R
        cv2.polylines(mask, [_pts(c, xy)], False, 255, thickness=max(1, int(round(thick))),
                      lineType=cv2.LINE_AA)


def _half_plane(mask: np.ndarray, rng: np.random.Generator, c: tuple[float, float], R: float) -> None:
    """Keep one side of ``mask`` (a fill of the left, right, top or bottom half of the bubble, hand-slanted)."""
    ang = rng.integers(4) * (np.pi / 2) + rng.normal(0, 0.25)
    off = rng.uniform(-0.15, 0.1) * R
    yy, xx = np.mgrid[:mask.shape[0], :mask.shape[1]]
    side = (xx - c[0]) * math.cos(ang) + (yy - c[1]) * math.sin(ang) > off
    mask[~side] = 0


def _disc(shape: tuple[int, int], c: tuple[float, float], R: float) -> np.ndarray:
    yy, xx = np.ogrid[:shape[0], :shape[1]]
    return (xx - c[0]) ** 2 + (yy - c[1]) ** 2 <= R * R


def _coverage(mask: np.ndarray, c: tuple[float, float], R: float) -> float:
    """Fraction of the bubble disc (centre c, radius R, supersampled px) that the mark covers."""
    disc = np.zeros_like(mask)
    cv2.circle(disc, (int(round(c[0] * 16)), int(round(c[1] * 16))), int(round(R * 16)), 255, -1, shift=4)
    inside = cv2.countNonZero(disc)
    hit = cv2.countNonZero(cv2.bitwise_and(cv2.threshold(mask, 127, 255, cv2.THRESH_BINARY)[1], disc))
    return hit / max(inside, 1)


def _grain(rng: np.random.Generator, shape: tuple[int, int], *, strength: float, holes: float) -> np.ndarray:
    """Pencil texture: streaky multiplicative noise (graphite catches on the paper's tooth)."""
    n = rng.standard_normal(shape, dtype=np.float32)
    L = 5
    k = np.zeros((L, L), np.float32)
    ang = rng.uniform(0, np.pi)
    cv2.line(k, (int(L / 2 - 2 * math.cos(ang)), int(L / 2 - 2 * math.sin(ang))),
             (int(L / 2 + 2 * math.cos(ang)), int(L / 2 + 2 * math.sin(ang))), 1.0, 1)
    k /= k.sum()
    n = cv2.filter2D(n, -1, k)
    n /= (n.std() + 1e-6)
    g = 1.0 + strength * n
    if holes > 0:
        g[rng.random(shape) < holes] *= 0.35
    return np.clip(g, 0.2, 1.5)


def composite(page: np.ndarray, y0: int, x0: int, alpha: np.ndarray, absorb: tuple[float, float, float]) -> None:
    """Multiply ``page`` (uint8 gray or BGR, modified in place) by (1 - alpha*absorb) at (y0, x0)."""
    H, W = page.shape[:2]
    h, w = alpha.shape
    ys, xs = max(0, y0), max(0, x0)
    ye, xe = min(H, y0 + h), min(W, x0 + w)
    if ys >= ye or xs >= xe:
        return
    a = np.clip(alpha[ys - y0:ye - y0, xs - x0:xe - x0], 0.0, 0.985)
    region = page[ys:ye, xs:xe].astype(np.float32)
    if page.ndim == 2:
        gray_absorb = 0.114 * absorb[0] + 0.587 * absorb[1] + 0.299 * absorb[2]
        region *= 1.0 - a * gray_absorb
    else:
        region *= 1.0 - a[..., None] * np.asarray(absorb, np.float32)
    page[ys:ye, xs:xe] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True, slots=True)
class Drawn:
    coverage: float
    darkness: float
    shape: str


class Pen:
    """Draws marks on one page at one dpi in one participant's style."""

    def __init__(self, page: np.ndarray, dpi: float, r_mm: float, style: Style, rng: np.random.Generator):
        self.page, self.dpi, self.style, self.rng = page, dpi, style, rng
        self.r = r_mm * dpi / 25.4
        self.absorb = INKS[style.tool]

    # -- one bubble ----------------------------------------------------------------------------------
    def _patch(self, cy: float, cx: float, extent: float) -> tuple[int, int, int, np.ndarray, tuple[float, float]]:
        half = int(math.ceil(extent * self.r)) + 2
        y0, x0 = int(round(cy)) - half, int(round(cx)) - half
        size = 2 * half + 1
        mask = np.zeros((size * SS, size * SS), np.uint8)
        # centre in supersampled patch coordinates (pixel centres at (i + 0.5) / SS - 0.5)
        c = ((cx - x0 + 0.5) * SS - 0.5, (cy - y0 + 0.5) * SS - 0.5)
        return y0, x0, size, mask, c

    def _finish(self, mask: np.ndarray, size: int, darkness: float, *, grain: bool, blur: float = 0.0
                ) -> np.ndarray:
        a = cv2.resize(mask, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        if blur > 0:
            a = cv2.GaussianBlur(a, (0, 0), blur)
        if grain:
            if self.style.is_pencil:
                a *= _grain(self.rng, a.shape, strength=float(self.rng.uniform(0.18, 0.3)),
                            holes=float(self.rng.uniform(0.0, 0.06)))
            else:
                a *= _grain(self.rng, a.shape, strength=0.05, holes=0.0)
            # uneven pressure across the mark
            gy, gx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
            ang = self.rng.uniform(0, 2 * np.pi)
            a *= 1.0 + self.rng.uniform(0, 0.2) * (gx * math.cos(ang) + gy * math.sin(ang))
        return a * darkness

    def _darkness(self) -> float:
        s = self.style
        if s.is_pencil:
            return float(np.clip(self.rng.normal(s.darkness, 0.045), 0.40, 0.70))
        return float(np.clip(self.rng.normal(s.darkness, 0.03), 0.85, 1.0))

    def fill(self, cy: float, cx: float, *, faint: bool = False, light: bool = False, half: bool = False) -> Drawn:
        """A fill in the participant's style; ``faint``: a small one (< 35 % of the disc); ``light``: a whole
        fill pressed lightly (0.45–0.65 of the hand's darkness); ``half``: one side of the bubble filled."""
        rng, s = self.rng, self.style
        shape = str(rng.choice(["blob", "scribble", "spiral"], p=np.asarray(s.shapes) / sum(s.shapes)))
        for attempt in range(8):
            y0, x0, size, mask, c = self._patch(cy, cx, 1.8)
            R = self.r * SS
            if faint:
                rho = rng.uniform(0.3, 0.52)
                off = rng.uniform(0.0, 0.4)
            else:
                rho = float(np.clip(rng.normal(s.coverage, 0.07), 0.72, 1.08)) + 0.06 * attempt
                if rng.random() < s.overflow:
                    rho = rng.uniform(1.05, 1.22)
                off = min(0.25, abs(rng.normal(0, s.offset)))
            ang = rng.uniform(0, 2 * np.pi)
            cc = (c[0] + off * R * math.cos(ang), c[1] + off * R * math.sin(ang))
            kind = "blob" if faint and shape == "spiral" else shape
            if kind == "blob":
                _blob(mask, rng, cc, R, rho)
            elif kind == "scribble":
                _scribble(mask, rng, cc, R, rho, s.stroke_mm / 25.4 * self.dpi / self.r)
            else:
                _spiral(mask, rng, cc, R, rho)
            if half:
                _half_plane(mask, rng, c, R)
            cov = _coverage(mask, c, R)
            if half and HALF_COVERAGE[0] <= cov <= HALF_COVERAGE[1]:
                break
            if not half and ((faint and 0.08 <= cov < MAX_FAINT_COVERAGE - 0.03)
                             or (not faint and cov >= MIN_FILL_COVERAGE)):
                break
        else:  # fall back to a plain blob of the right size
            y0, x0, size, mask, c = self._patch(cy, cx, 1.8)
            R = self.r * SS
            _blob(mask, rng, c, R, 0.45 if faint else 0.95)
            if half:
                _half_plane(mask, rng, c, R)
            kind = "blob"
            cov = _coverage(mask, c, R)
        d = self._darkness() * (float(rng.uniform(*LIGHT_FACTOR)) if light else 1.0)
        composite(self.page, y0, x0, self._finish(mask, size, d, grain=True), self.absorb)
        return Drawn(round(cov, 3), round(d, 3), kind)

    def tick(self, cy: float, cx: float) -> Drawn:
        rng = self.rng
        pts = np.array([[-0.55, 0.0], [-0.12, 0.5], [0.62, -0.68]]) + rng.normal(0, 0.08, (3, 2))
        return self._stroke_mark(cy, cx, [pts], "tick", scale=rng.uniform(0.85, 1.3))

    def cross(self, cy: float, cx: float) -> Drawn:
        rng = self.rng
        a = np.array([[-0.6, -0.6], [0.6, 0.6]]) + rng.normal(0, 0.08, (2, 2))
        b = np.array([[0.6, -0.6], [-0.6, 0.6]]) + rng.normal(0, 0.08, (2, 2))
        return self._stroke_mark(cy, cx, [a, b], "cross", scale=rng.uniform(0.8, 1.25))

    def xout(self, cy: float, cx: float) -> Drawn:
        """A heavy X struck through a filled bubble to cancel it."""
        rng = self.rng
        a = np.array([[-0.7, -0.7], [0.7, 0.7]]) + rng.normal(0, 0.06, (2, 2))
        b = np.array([[0.7, -0.7], [-0.7, 0.7]]) + rng.normal(0, 0.06, (2, 2))
        return self._stroke_mark(cy, cx, [a, b], "xout", scale=rng.uniform(1.55, 2.0), heavy=True)

    def _stroke_mark(self, cy: float, cx: float, segs: list[np.ndarray], name: str, *, scale: float,
                     heavy: bool = False) -> Drawn:
        rng = self.rng
        y0, x0, size, mask, c = self._patch(cy, cx, 2.2)
        R = self.r * SS
        ang = rng.normal(0, 0.25)
        off = rng.normal(0, 0.1, 2)
        segs = [_rot(s * scale, ang) + off for s in segs]
        width_mm = self.style.stroke_mm * (rng.uniform(1.4, 1.9) if heavy else rng.uniform(0.9, 1.2))
        thick = width_mm / 25.4 * self.dpi * SS
        _strokes(mask, rng, c, R, segs, thick)
        cov = _coverage(mask, c, R)
        d = min(1.0, self._darkness() * (1.15 if heavy else 1.0))
        composite(self.page, y0, x0, self._finish(mask, size, d, grain=True), self.absorb)
        return Drawn(round(cov, 3), round(d, 3), name)

    def circle(self, cy: float, cx: float, *, letter: bool = False) -> Drawn:
        """A hand-drawn loop around the bubble (``letter``: around the printed letter, inside the bubble),
        the bubble itself left empty: not always closed, sometimes overlapping its start."""
        rng = self.rng
        y0, x0, size, mask, c = self._patch(cy, cx, 2.2)
        R = self.r * SS
        a = rng.uniform(0.5, 0.78) if letter else rng.uniform(1.2, 1.5)
        b = a * rng.uniform(0.85, 1.05)
        start = rng.uniform(0, 2 * np.pi)
        t = start + np.linspace(0, 2 * np.pi * rng.uniform(0.93, 1.12), 80)
        wobble = 1 + rng.normal(0, 0.025, t.size).cumsum() / 4
        xy = np.stack([a * wobble * np.cos(t), b * wobble * np.sin(t)], axis=1)
        xy = _rot(xy, rng.normal(0, 0.3)) + rng.normal(0, 0.06, 2)
        thick = self.style.stroke_mm * rng.uniform(0.9, 1.2) / 25.4 * self.dpi * SS
        cv2.polylines(mask, [_pts(c, xy * R)], False, 255, thickness=max(1, int(round(thick))), lineType=cv2.LINE_AA)
        cov = _coverage(mask, c, R)
        d = self._darkness()
        composite(self.page, y0, x0, self._finish(mask, size, d, grain=True), self.absorb)
        return Drawn(round(cov, 3), round(d, 3), "circle_letter" if letter else "circle")

    def erasure(self, cy: float, cx: float, *, heavy: bool = False) -> Drawn:
        """What is left after rubbing out a pencil fill: a light, blurred, patchy smudge (``heavy``: a bad
        erasure, darker and less patchy)."""
        rng = self.rng
        y0, x0, size, mask, c = self._patch(cy, cx, 1.9)
        R = self.r * SS
        off = rng.uniform(0, 0.25)
        ang = rng.uniform(0, 2 * np.pi)
        _blob(mask, rng, (c[0] + off * R * math.cos(ang), c[1] + off * R * math.sin(ang)), R,
              rng.uniform(0.75, 1.1))
        a = cv2.resize(mask, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        # patchy: the eraser removed some parts more than others
        low = rng.random((4, 4)).astype(np.float32)
        low = cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)
        a *= np.clip((0.5 if heavy else 0.25) + low, 0.0, 1.0)
        a = cv2.GaussianBlur(a, (0, 0), max(0.6, 0.18 * self.r))
        a *= _grain(rng, a.shape, strength=0.3, holes=0.0)
        d = float(self.style.darkness * rng.uniform(*HEAVY_ERASURE_SHARE) if heavy else rng.uniform(0.10, 0.25))
        cov = float((a[_disc(a.shape, ((c[0] + 0.5) / SS - 0.5, (c[1] + 0.5) / SS - 0.5), self.r)] > 0.5).mean())
        composite(self.page, y0, x0, a * d, self.absorb)   # a pen leaves a ghost of its own colour (erasable pen)
        return Drawn(round(cov, 3), round(d, 3), "heavy_erasure" if heavy else "erasure")

    def dot(self, cy: float, cx: float) -> None:
        """A stray dot or a few pencil specks."""
        rng = self.rng
        px_mm = self.dpi / 25.4
        half = int(1.2 * px_mm) + 2
        y0, x0 = int(round(cy)) - half, int(round(cx)) - half
        size = 2 * half + 1
        mask = np.zeros((size * SS, size * SS), np.uint8)
        c = ((cx - x0 + 0.5) * SS - 0.5, (cy - y0 + 0.5) * SS - 0.5)
        if rng.random() < 0.5:
            r = rng.uniform(0.15, 0.45) * px_mm * SS
            cv2.ellipse(mask, (int(c[0]), int(c[1])), (max(1, int(r)), max(1, int(r * rng.uniform(0.6, 1.0)))),
                        float(rng.uniform(0, 180)), 0, 360, 255, -1, lineType=cv2.LINE_AA)
        else:
            for _ in range(int(rng.integers(2, 7))):
                p = np.asarray(c) + rng.normal(0, 0.35 * px_mm * SS, 2)
                cv2.circle(mask, (int(p[0]), int(p[1])), max(1, int(rng.uniform(0.04, 0.12) * px_mm * SS)), 255,
                           -1, lineType=cv2.LINE_AA)
        a = cv2.resize(mask, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        composite(self.page, y0, x0, a * float(rng.uniform(0.3, 0.8)), self.absorb)

    # -- handwriting ---------------------------------------------------------------------------------
    def write(self, text: str, x_mm: float, baseline_mm: float, height_mm: float) -> None:
        """Handwritten-looking text: an oblique font with per-letter jitter, drawn in the participant's ink."""
        if not text:
            return
        rng = self.rng
        px_mm = self.dpi / 25.4
        size = max(8, int(height_mm * px_mm * 1.35))
        font = _font(size)
        width = int(font.getlength(text) * 1.25) + size
        img = Image.new("L", (width, int(size * 1.8)), 0)
        draw = ImageDraw.Draw(img)
        x = size * 0.2
        base = size * 1.3
        for ch in text:
            dy = rng.normal(0, size * 0.04)
            draw.text((x, base + dy), ch, fill=255, font=font, anchor="ls")
            x += font.getlength(ch) * rng.uniform(0.98, 1.12)
        a = np.asarray(img, np.float32) / 255.0
        # thicken a little (pen stroke) and slant
        k = max(1, int(round(self.style.stroke_mm * px_mm * 0.4)))
        if k > 1:
            a = cv2.dilate(a, np.ones((k, k), np.uint8))
        rot = cv2.getRotationMatrix2D((0.0, base), float(rng.normal(0, 1.5)), 1.0)
        a = cv2.warpAffine(a, rot, (a.shape[1], a.shape[0]))
        a = cv2.GaussianBlur(a, (0, 0), 0.5)
        if self.style.is_pencil:
            a *= _grain(rng, a.shape, strength=0.25, holes=0.03)
        y0 = int(round(mm_to_px(baseline_mm, self.dpi) - base))
        x0 = int(round(mm_to_px(x_mm, self.dpi) - size * 0.2))
        composite(self.page, y0, x0, a * min(1.0, self.style.darkness * 1.2), self.absorb)


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(HAND_FONT if Path(HAND_FONT).exists() else
                              "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", size)


# ---------------------------------------------------------------------------------------------------
# Drawing a whole plan
# ---------------------------------------------------------------------------------------------------
def draw_plan(page: np.ndarray, layout: Layout, plan: SheetPlan, *, dpi: float, rng: np.random.Generator,
              texts: dict[str, tuple[float, float, str]] | None = None) -> dict[str, list[dict]]:
    """Draw ``plan`` on ``page`` (uint8, modified in place). Returns per-group details of non-plain cases.

    ``texts``: handwriting to add, name -> (x_mm, baseline_mm, text).
    """
    pen = Pen(page, dpi, layout.bubble_r_mm, plan.style, rng)
    details: dict[str, list[dict]] = {}
    for gp in plan.groups:
        entries = []
        for op in gp.ops:
            cy, cx = (mm_to_px(v, dpi) for v in layout.centres_mm[op.bubble])
            if op.kind == "fill":
                d = pen.fill(cy, cx)
            elif op.kind == "faint":
                d = pen.fill(cy, cx, faint=True)
            elif op.kind in ("light", "half"):
                d = pen.fill(cy, cx, light=op.kind == "light", half=op.kind == "half")
            elif op.kind in ("circle", "circle_letter"):
                d = pen.circle(cy, cx, letter=op.kind == "circle_letter")
            elif op.kind == "heavy_erasure":
                d = pen.erasure(cy, cx, heavy=True)
            elif op.kind == "tick":
                d = pen.tick(cy, cx)
            elif op.kind == "cross":
                d = pen.cross(cy, cx)
            elif op.kind == "xout":
                d = pen.xout(cy, cx)
            elif op.kind == "erasure":
                d = pen.erasure(cy, cx)
            else:  # pragma: no cover
                raise ValueError(op.kind)
            g = layout.groups[int(layout.group_of[op.bubble])]
            entries.append({"option": g.labels[op.bubble - g.first], "kind": op.kind, "shape": d.shape,
                            "coverage": d.coverage, "darkness": d.darkness})
        if gp.case != "single":
            key = gp.key if gp.kind is GroupKind.QUESTION else f"{gp.kind.value}:{gp.key}"
            details[key] = [{"case": gp.case}] + entries if entries else [{"case": gp.case}]
    for name, (x_mm, y_mm, text) in (texts or {}).items():
        pen.write(text, x_mm, y_mm, 3.2 if name.startswith("box") else 3.0)
    _stray(pen, layout, plan.stray, rng)
    return details


def _stray(pen: Pen, layout: Layout, count: int, rng: np.random.Generator) -> None:
    """Stray dots and specks near bubbles, never inside a bubble's disc."""
    centres = layout.centres_mm
    r = layout.bubble_r_mm
    placed = 0
    for _ in range(count * 20):
        if placed >= count:
            break
        i = int(rng.integers(len(centres)))
        ang = rng.uniform(0, 2 * np.pi)
        dist = rng.uniform(1.35, 2.2) * r
        y, x = centres[i, 0] + dist * math.sin(ang), centres[i, 1] + dist * math.cos(ang)
        if np.min(np.hypot(centres[:, 0] - y, centres[:, 1] - x)) < 1.3 * r:
            continue
        pen.dot(mm_to_px(y, pen.dpi), mm_to_px(x, pen.dpi))
        placed += 1
