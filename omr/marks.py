"""Bubbles: measure how dark each one is, then decide per group with a confidence.

Measure, then decide: ``measure_fills`` only measures (one vectorised gather of sample points mapped through
the alignment); ``classify`` decides and attaches a confidence; nothing here draws or prints.

The fill of a bubble is the darkness of the darker half of the samples inside it, relative to the paper
just outside that bubble (so uneven light and shadows cancel) and to the page's black (the fiducials' black
cells, so low-contrast scans and grey pencil scale the same way): 0 = paper, 1 = printed black. Taking the
darker half makes a mark that covers half the bubble read as dark as a full one, while a light erasure, a
tick or a stray dot stays light.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .align import Alignment
from .layout import Group, Layout
from .records import MarkState


@dataclass(frozen=True, slots=True)
class Fills:
    fill: np.ndarray           # (n_bubbles,) darker-half darkness, 0 = paper, 1 = black
    ring: np.ndarray           # (n_bubbles,) median darkness of the ring just outside the bubble (overflow)
    cross: np.ndarray          # (n_bubbles,) X arms reaching far beyond the bubble (3 of 4 diagonals) − ring
    cross_near: np.ndarray     # (n_bubbles,) the same on the near ring only (weaker evidence)
    ring_samples: np.ndarray   # (n_bubbles, 32) darkness around each bubble (strokes leaving it, at any angle)
    black: float               # the page's black reflectance (fiducials), 0..1
    # per-sample darkness for the shape of unusual marks (omr.markrules): the 37 disc samples; per angle (32) the
    # darkest of the loops outside the rim (3 radii) and inside it (4 radii)
    inside_samples: np.ndarray = field(default_factory=lambda: np.zeros((0, 37), np.float32))
    outer_samples: np.ndarray = field(default_factory=lambda: np.zeros((0, 32), np.float32))
    inner_samples: np.ndarray = field(default_factory=lambda: np.zeros((0, 32), np.float32))


@dataclass(frozen=True, slots=True)
class Thresholds:
    blank: float               # typical fill of an empty bubble on this page
    mark: float                # typical fill of a marked bubble on this page
    lo: float                  # ≤ lo: blank
    hi: float                  # ≥ hi: marked; between: ambiguous (or erased next to a clear mark)


# Sample pattern, in units of the bubble radius: inside disc (rings 0, .22, .42, .6) and an outer ring.
def _disc_pattern() -> np.ndarray:
    pts = [(0.0, 0.0)]
    for rad, n in ((0.22, 6), (0.42, 12), (0.6, 18)):
        a = np.linspace(0, 2 * np.pi, n, endpoint=False) + rad
        pts += list(zip(rad * np.cos(a), rad * np.sin(a)))
    return np.asarray(pts)


_INSIDE = _disc_pattern()                                   # (37, 2) as (dx, dy) / r
_RING_N = 32
_RING_ANGLES = np.arange(_RING_N) * (2 * np.pi / _RING_N)
RING_GAP_MM = 0.8                                           # ring radius = r + gap
# the four diagonal sectors (45° ± 22.5°, …): an X drawn over a bubble reaches beyond it in three or four
_SECTORS = np.array([[(k * 8 + 4 + d) % _RING_N for d in range(-2, 3)] for k in range(4)])
# the X's arms are looked for further out too, on the diagonals only (clear of neighbouring bubbles there)
CROSS_GAP_MM = 1.6
_CROSS_ANGLES = _RING_ANGLES[_SECTORS.ravel()]
# each sector is a run of ring indices: its darkest sample by one ``minimum.reduceat`` (every other segment)
_SECTOR_BOUNDS = _SECTORS[:, [0, -1]].ravel() + [0, 1] * len(_SECTORS)
# a loop drawn around the bubble (between it and its neighbours), or around its letter (inside the rim)
OUTER_GAPS_MM = (0.45, 0.8, 1.1)
INNER_RADII = (0.45, 0.6, 0.72, 0.85)                      # × the bubble radius
_UNIT = np.stack([np.cos(_RING_ANGLES), np.sin(_RING_ANGLES)], -1)   # (32, 2)


_REMAP_COLS = 4096            # cv2.remap wants maps narrower than 32767: points go in rows of this many


def _sample(image: np.ndarray, pts_xy: np.ndarray) -> np.ndarray:
    """Nearest-pixel gather (one ``cv2.remap``); points off the image read as white (255) so they never look
    marked. ``pts_xy``: (..., 2) image points (x, y); returns float32 values of shape ``pts_xy.shape[:-1]``."""
    shape = pts_xy.shape[:-1]
    flat = np.asarray(pts_xy).reshape(-1, 2)
    n = len(flat)
    rows = max(1, -(-n // _REMAP_COLS))
    grid = np.empty((rows * _REMAP_COLS, 2), dtype=np.float32)
    grid[:n] = flat                       # cast to float32 while copying (one pass, no intermediate array)
    grid[n:] = -10.0
    grid = grid.reshape(rows, _REMAP_COLS, 2)
    out = cv2.remap(image, grid, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=255)
    return out.reshape(-1)[:n].astype(np.float32).reshape(shape)


_PATTERN: dict[int, tuple[Layout, np.ndarray]] = {}


def _pattern_mm(layout: Layout) -> np.ndarray:
    """Every sample point of every bubble, (n_bubbles, 37 + 32 + 20 + loops × 32, 2) as (x, y) mm: the disc,
    the near ring, the X's far diagonals, then the loops outside and inside the rim. Cached per layout."""
    hit = _PATTERN.get(id(layout))
    if hit is not None and hit[0] is layout:
        return hit[1]
    r = layout.bubble_r_mm
    centres_xy = layout.centres_mm[:, ::-1]                       # (n, 2) as (x, y) mm
    n = len(centres_xy)
    inside_mm = centres_xy[:, None, :] + _INSIDE[None, :, :] * r
    ring_mm = centres_xy[:, None, :] + (r + RING_GAP_MM) * _UNIT[None]
    far = r + CROSS_GAP_MM
    far_mm = centres_xy[:, None, :] + far * np.stack([np.cos(_CROSS_ANGLES), np.sin(_CROSS_ANGLES)], -1)[None]
    loop_mm = centres_xy[:, None, None, :] + np.asarray(_loop_radii(r))[None, :, None, None] * _UNIT[None, None]
    pts = np.concatenate([inside_mm, ring_mm, far_mm, loop_mm.reshape(n, -1, 2)], axis=1)
    pts.setflags(write=False)
    if len(_PATTERN) > 64:
        _PATTERN.clear()
    _PATTERN[id(layout)] = (layout, pts)
    return pts


def _loop_radii(r: float) -> list[float]:
    return [r + g for g in OUTER_GAPS_MM if g != RING_GAP_MM] + [k * r for k in INNER_RADII]


def black_level(image: np.ndarray, alignment: Alignment, layout: Layout) -> tuple[float, float]:
    """(black grey level, paper grey level next to it), sampled on the fiducials' black border cells (on sheets
    without our fiducials: on the printed bubbles and their labels)."""
    if not layout.has_fiducials:
        return _printed_black(image, alignment, layout)
    pts = _fiducial_pattern_mm(layout)
    vals = _sample(image, alignment.map_mm(pts))
    n_black = len(layout.fiducial_rects()) * 24
    return percentile(vals[:n_black], 50), percentile(vals[n_black:], 75)


_FIDUCIAL_PATTERN: dict[int, tuple[Layout, np.ndarray]] = {}


def _fiducial_pattern_mm(layout: Layout) -> np.ndarray:
    """The fiducials' black border cells (24 points each), then a ring 1.5 mm outside each marker (16 points
    each, the paper), as (x, y) mm. Cached per layout."""
    hit = _FIDUCIAL_PATTERN.get(id(layout))
    if hit is not None and hit[0] is layout:
        return hit[1]
    pts = []
    for rect in layout.fiducial_rects():
        cell = rect.w_mm / 6.0
        t = np.linspace(0.5, 5.5, 6) * cell
        for along in t:
            pts += [(rect.x_mm + along, rect.y_mm + cell / 2), (rect.x_mm + along, rect.y_mm + rect.h_mm - cell / 2),
                    (rect.x_mm + cell / 2, rect.y_mm + along), (rect.x_mm + rect.w_mm - cell / 2, rect.y_mm + along)]
    for rect in layout.fiducial_rects():
        for a in np.linspace(0, 1, 8, endpoint=False):
            pts += [(rect.x_mm - 1.5 + a * (rect.w_mm + 3), rect.y_mm - 1.5),
                    (rect.x_mm - 1.5 + a * (rect.w_mm + 3), rect.y_mm + rect.h_mm + 1.5)]
    arr = np.asarray(pts, dtype=np.float64)
    arr.setflags(write=False)
    if len(_FIDUCIAL_PATTERN) > 64:
        _FIDUCIAL_PATTERN.clear()
    _FIDUCIAL_PATTERN[id(layout)] = (layout, arr)
    return arr


_SORT_ROWS_UP_TO = 512


def _percentile_rows(a: np.ndarray, qs: tuple[float, ...]) -> list[np.ndarray]:
    """``np.percentile(a, q, axis=1)`` (linear interpolation) for every q of ``qs``: short rows from one sort
    (numpy's vectorised sort costs a fraction of a partition around several ranks), long ones from one
    partial sort."""
    m = a.shape[1] - 1
    pos = [q / 100.0 * m for q in qs]
    if m < _SORT_ROWS_UP_TO:
        part = np.sort(a, axis=1)
    else:
        kth = sorted({k for p in pos for k in (int(np.floor(p)), min(int(np.floor(p)) + 1, m))})
        part = np.partition(a, kth, axis=1)
    out = []
    for p in pos:
        lo = int(np.floor(p))
        hi = min(lo + 1, m)
        out.append(part[:, lo] + (p - lo) * (part[:, hi] - part[:, lo]))
    return out


def percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` of a 1-D array (linear interpolation), without its generic overhead."""
    return float(_percentile_rows(np.asarray(values).reshape(1, -1), (q,))[0][0])


_GRID = np.stack(np.meshgrid(np.linspace(-1.25, 1.25, 11), np.linspace(-1.25, 1.25, 11)), -1).reshape(-1, 2)


def _printed_black(image: np.ndarray, alignment: Alignment, layout: Layout) -> tuple[float, float]:
    """Black and paper levels from the print around the bubbles (outlines and letters): the darkest and a
    light percentile of a fine grid over a sample of bubbles. Marks are dark too, which does not matter:
    the black of a page is only its darkest ink."""
    c = layout.centres_mm[:, ::-1]
    if len(c) > 300:
        c = c[:: int(np.ceil(len(c) / 300))]
    pts = c[:, None, :] + _GRID[None] * layout.bubble_r_mm
    vals = _sample(image, alignment.map_mm(pts.reshape(-1, 2)))
    return percentile(vals, 1.0), percentile(vals, 90)


def measure_fills(image: np.ndarray, alignment: Alignment, layout: Layout) -> Fills:
    """Measure every bubble of ``layout`` on ``image`` (grayscale uint8). Pure: no decisions."""
    pts = _pattern_mm(layout)
    n = len(pts)
    loops = _loop_radii(layout.bubble_r_mm)
    px = alignment.map_mm(pts.reshape(-1, 2)).reshape(n, -1, 2)
    vals = _sample(image, px)
    n_in, n_ring, n_far = len(_INSIDE), _RING_N, len(_CROSS_ANGLES)
    inside, ring = vals[:, :n_in], vals[:, n_in:n_in + n_ring]
    far_vals = vals[:, n_in + n_ring:n_in + n_ring + n_far]
    loop_vals = vals[:, n_in + n_ring + n_far:].reshape(n, len(loops), _RING_N)

    black_px, paper_near_black = black_level(image, alignment, layout)
    ring_median, paper_local = _percentile_rows(ring, (50, 75))   # the 75th: robust to marks overflowing it
    paper_local = np.maximum(paper_local, 1.0)
    black_refl = min(0.9, black_px / max(paper_near_black, 1.0))  # 0 = perfect black; low contrast → larger
    ink_span = 1.0 - black_refl

    refl = inside / paper_local[:, None]
    k = len(_INSIDE) // 2 + 1
    darker_half = np.partition(refl, k - 1, axis=1)[:, :k]        # the k darkest samples
    fill = (1.0 - darker_half.mean(axis=1)) / ink_span
    ring_refl = ring / paper_local[:, None]
    ring_dark = (1.0 - ring_median / paper_local) / ink_span     # the median of ring_refl (a positive scale)
    # an X: its arms cross the near ring AND reach the far diagonal points in at least three of four sectors.
    # Darkest = lowest grey level over the paper: the minimum is taken before dividing (the same values)
    pl = paper_local[:, None]
    near = (1.0 - np.minimum.reduceat(ring, _SECTOR_BOUNDS, axis=1)[:, ::2] / pl) / ink_span  # (n, 4) per sector
    far_dark = (1.0 - np.minimum.reduceat(far_vals, np.arange(0, n_far, 5), axis=1) / pl) / ink_span
    both = np.minimum(near, far_dark)
    cross = np.sort(both, axis=1)[:, 1] - ring_dark                                 # 3rd darkest of 4
    cross_near = np.sort(near, axis=1)[:, 1] - ring_dark
    ring_samples = ((1.0 - ring_refl) / ink_span).astype(np.float32, copy=False)
    # a loop around the bubble darkens most of the ring: its paper is the brightest quarter of every radius
    outside = np.concatenate([ring, loop_vals[:, :len(OUTER_GAPS_MM) - 1].reshape(n, -1)], axis=1)
    k90 = int(0.9 * (outside.shape[1] - 1))
    loop_paper = np.maximum(paper_local, np.sort(outside, axis=1)[:, k90])
    # the darkest of the loops per angle: darkness falls as the grey level rises, so it is taken at the
    # lowest grey level (the same value as the maximum of every loop's darkness, for a fraction of the work)
    n_out = len(OUTER_GAPS_MM) - 1
    lp = loop_paper[:, None]
    outer = np.maximum((1.0 - _min_of(loop_vals[:, :n_out]) / lp) / ink_span, ring_samples)
    inner = (1.0 - _min_of(loop_vals[:, n_out:]) / lp) / ink_span
    return Fills(fill=np.clip(fill, -0.5, 1.5), ring=np.clip(ring_dark, -0.5, 1.5),
                 cross=np.clip(cross, -0.5, 1.5), cross_near=np.clip(cross_near, -0.5, 1.5),
                 ring_samples=ring_samples, black=float(black_refl),
                 inside_samples=((1.0 - refl) / ink_span).astype(np.float32, copy=False),
                 outer_samples=outer.astype(np.float32, copy=False), inner_samples=inner.astype(np.float32, copy=False))


def _min_of(loops: np.ndarray) -> np.ndarray:
    """``loops.min(axis=1)`` of a (n, few, 32) view, one loop at a time (numpy reduces a strided middle axis
    slowly)."""
    out = loops[:, 0].copy()
    for i in range(1, loops.shape[1]):
        np.minimum(out, loops[:, i], out=out)
    return out


# Decision constants (fractions of the gap between this page's blank and marked levels, or of its mark level)
LO_FRACTION = 0.22            # blanks reach ~0.16 of the blank→mark span; faint marks and ticks start ~0.26
HI_FRACTION = 0.60            # clear fills are ≥ ~0.7; lone erasures reach ~0.55
ERASED_RATIO = 0.55            # a middling bubble ≤ this × the clear mark in its group is an erasure
UNEVEN_RATIO = 0.75            # two marks where the lighter is < this × the darker: maybe an erasure → a doubt
CROSS_LEVEL = 0.15             # X arms far beyond a marked bubble (Fills.cross): crossed out → a doubt
CROSS_NEAR_RATIO = 0.45        # weaker X evidence (× the page's mark level), enough when a question has 2+ marks
ARM_RATIO, ARM_FLOOR = 0.5, 0.18   # a ring sample darker than max(floor, ratio × mark level) is a stroke
ARM_MAX_FRACTION = 0.45        # more of the ring dark than this is an overflowing fill, not strokes
MIN_ARMS = 3                   # strokes leaving a bubble in 3+ places: crossed out (when 2+ marks)
MIN_CONTRAST = 0.18            # marked level must exceed blank level by this much, else thresholds are fixed
STANDS_OUT = 0.2               # a group's darkest bubble this much above its next is taken as marked
MIN_LABEL_SAMPLES = 5          # bubbles per printed label needed to estimate that label's own blank level
DEFAULT_BLANK, DEFAULT_MARK = 0.08, 0.60


@dataclass(frozen=True, slots=True, eq=False)
class GroupIndex:
    """Vectorised view of a tuple of groups (contiguous runs of bubbles). Built once per layout."""

    idx: np.ndarray            # bubble indices of all groups, in order
    gid: np.ndarray            # group number of each of those bubbles
    starts: np.ndarray         # where each group starts within ``idx``
    label_id: np.ndarray       # printed-label class of each bubble (same letter/digit → same class)
    n_labels: int


_GROUP_INDEX: dict[int, tuple[tuple[Group, ...], "GroupIndex"]] = {}


def group_index(groups: tuple[Group, ...]) -> GroupIndex:
    """Cached by the identity of ``groups`` (a layout hands out the same tuple every time)."""
    hit = _GROUP_INDEX.get(id(groups))
    if hit is not None and hit[0] is groups:
        return hit[1]
    if len(_GROUP_INDEX) > 256:
        _GROUP_INDEX.clear()
    gi = _build_group_index(groups)
    _GROUP_INDEX[id(groups)] = (groups, gi)
    return gi


def _build_group_index(groups: tuple[Group, ...]) -> GroupIndex:
    sizes = np.fromiter((g.size for g in groups), dtype=np.intp, count=len(groups))
    idx = (np.concatenate([np.arange(g.first, g.first + g.size) for g in groups]) if groups
           else np.empty(0, np.intp))
    labels: dict[str, int] = {}
    label_id = np.fromiter((labels.setdefault(lab, len(labels)) for g in groups for lab in g.labels),
                           dtype=np.intp, count=len(idx))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp) if len(groups) else np.empty(0, np.intp)
    for a in (idx, sizes, label_id, starts):
        a.setflags(write=False)
    return GroupIndex(idx=idx, gid=np.repeat(np.arange(len(groups)), sizes), starts=starts,
                      label_id=label_id, n_labels=len(labels))


def normalise_labels(fill: np.ndarray, groups: tuple[Group, ...]) -> np.ndarray:
    """Remove each printed label's own darkness (an "A" prints darker than a "C") from the fills of
    ``groups``: every label's median level is moved to the common median. Returns a new array."""
    out = fill.astype(np.float64, copy=True)
    gi = group_index(groups)
    if not len(gi.idx):
        return out
    sub = fill[gi.idx]
    # each label's blank level, from bubbles that are not their group's darkest (those may be marked): a
    # participant who answers "B" everywhere leaves too few unmarked B's, and B is then not adjusted
    # (the darkest is kept when it does not stand out: on a blank sheet some printed letter is always darkest)
    gmax = np.maximum.reduceat(sub, gi.starts)[gi.gid]
    second = np.maximum.reduceat(np.where(sub < gmax, sub, -np.inf), gi.starts)[gi.gid]
    unmarked = (sub < gmax) | (gmax - second < STANDS_OUT)
    base = _medians_by_label(sub[unmarked], gi.label_id[unmarked], gi.n_labels)
    known = np.sort(base[~np.isnan(base)])
    if not len(known):
        return out
    # np.nanmedian's value without its cost (~0.2 ms a page, and numpy.ma imported on its first call)
    m = len(known) // 2
    centre = known[m] if len(known) % 2 else (known[m - 1] + known[m]) / 2
    shift = np.nan_to_num(base - centre)
    out[gi.idx] = sub - shift[gi.label_id]
    return out


def _medians_by_label(values: np.ndarray, labels: np.ndarray, n_labels: int) -> np.ndarray:
    """Median of ``values`` per label (NaN where a label has fewer than MIN_LABEL_SAMPLES): one sort."""
    order = np.lexsort((values, labels))
    v, lab = values[order], labels[order]
    counts = np.bincount(lab, minlength=n_labels)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    lo_i = first + (counts - 1) // 2
    hi_i = first + counts // 2
    ok = counts >= MIN_LABEL_SAMPLES
    out = np.full(n_labels, np.nan)
    out[ok] = (v[lo_i[ok]] + v[hi_i[ok]]) / 2
    return out


def page_thresholds(fill: np.ndarray, groups: tuple[Group, ...]) -> Thresholds:
    """Adapt the blank/marked levels to this page (pencil vs pen, contrast, blur)."""
    if not groups:
        span = DEFAULT_MARK - DEFAULT_BLANK
        return Thresholds(DEFAULT_BLANK, DEFAULT_MARK, DEFAULT_BLANK + LO_FRACTION * span,
                          DEFAULT_BLANK + HI_FRACTION * span)
    gi = group_index(groups)
    sub = fill[gi.idx]
    gmax = np.maximum.reduceat(sub, gi.starts)
    rest = sub[sub < gmax[gi.gid]]
    blank = percentile(rest, 50) if len(rest) else DEFAULT_BLANK
    # the typical mark: median of the group maxima that stand clearly above the blank level
    clear = gmax[gmax > blank + MIN_CONTRAST]
    # too few clear marks (a blank or nearly blank sheet): the mark level is assumed as far above this page's
    # own blank level as the default is above the default blank (printed letters make blanks darker)
    mark = (percentile(clear, 50) if len(clear) >= max(3, len(groups) // 10)
            else max(DEFAULT_MARK, blank + DEFAULT_MARK - DEFAULT_BLANK))
    if mark - blank < MIN_CONTRAST * 1.5:
        blank, mark = DEFAULT_BLANK, DEFAULT_MARK
    span = mark - blank
    return Thresholds(blank=blank, mark=mark, lo=blank + LO_FRACTION * span, hi=blank + HI_FRACTION * span)


# States as small integers while vectorised; mapped to MarkState at the edge.
STATE_ORDER = (MarkState.BLANK, MarkState.MARKED, MarkState.AMBIGUOUS, MarkState.ERASED, MarkState.CANCELLED)
_BLANK, _MARKED, _AMBIGUOUS, _ERASED, _CANCELLED = range(5)


def classify(fill: np.ndarray, groups: tuple[Group, ...], th: Thresholds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decide every bubble of ``groups`` at once.

    Returns (bubble indices, state codes per bubble (index into STATE_ORDER), confidence per group 0..1).
    A bubble between the blank and marked levels is ambiguous, unless its group holds a clear mark far darker
    than it (then it is an erasure: recorded, not an answer).
    """
    gi = group_index(groups)
    if not len(gi.idx):
        return gi.idx, np.empty(0, np.int8), np.empty(0)
    f = fill[gi.idx]
    strongest = np.maximum.reduceat(f, gi.starts)[gi.gid]
    span = max(th.mark - th.blank, 1e-6)
    state = np.full(len(f), _AMBIGUOUS, dtype=np.int8)
    state[f <= th.lo] = _BLANK
    state[f >= th.hi] = _MARKED
    # the ratio is taken above this page's blank level (letters printed inside bubbles raise every fill)
    erased = ((state == _AMBIGUOUS) & (strongest >= th.hi)
              & (f - th.blank <= ERASED_RATIO * (strongest - th.blank)) & (strongest - f >= 0.5 * span))
    state[erased] = _ERASED
    margin = np.where(state == _MARKED, (f - th.hi) / span,
             np.where(state == _BLANK, (th.lo - f) / span,
             np.where(state == _ERASED, np.minimum(strongest * ERASED_RATIO - f, f - th.lo) / span, 0.0)))
    conf = np.clip(0.5 + 2.0 * np.minimum.reduceat(margin, gi.starts), 0.0, 1.0)
    has_amb = np.maximum.reduceat((state == _AMBIGUOUS).astype(np.int8), gi.starts)
    conf = np.where(has_amb > 0, np.minimum(conf, 0.5), conf)
    return gi.idx, state, conf


def crossed_bubbles(fills: Fills, groups: tuple[Group, ...], state: np.ndarray, th: Thresholds
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per bubble of ``groups``: (strong, weak) evidence of an X struck through it — arms reaching far beyond
    the bubble on the diagonals (strong), or on the near ring only / strokes leaving it in 3+ places (weak)."""
    gi = group_index(groups)
    ring = fills.ring_samples[gi.idx]
    dark = ring > max(ARM_FLOOR, ARM_RATIO * th.mark)
    runs = (dark & ~np.roll(dark, 1, axis=1)).sum(axis=1)
    arms = np.where(dark.mean(axis=1) <= ARM_MAX_FRACTION, runs, 0)
    strong = fills.cross[gi.idx] >= CROSS_LEVEL
    weak = (fills.cross_near[gi.idx] >= CROSS_NEAR_RATIO * th.mark) | (arms >= MIN_ARMS)
    return strong, weak


def group_doubts(fills: Fills, fill: np.ndarray, groups: tuple[Group, ...], state: np.ndarray,
                 th: Thresholds) -> dict[int, str]:
    """Groups whose clear marks are still doubtful, by group number: ``crossed_out`` (strokes leave a marked
    bubble like the arms of an X) or ``uneven_marks`` (two marks, one much lighter: perhaps an erasure that was
    not clean). ``fill`` is the (normalised) fill the decisions used; ``state`` comes from ``classify``."""
    gi = group_index(groups)
    if not len(gi.idx):
        return {}
    marked = state == _MARKED
    n_marked = np.add.reduceat(marked.astype(np.intp), gi.starts)
    strong, weak = crossed_bubbles(fills, groups, state, th)
    strong, weak = marked & strong, marked & weak
    crossed = (np.maximum.reduceat(strong.astype(np.int8), gi.starts) > 0) | (
        (np.maximum.reduceat(weak.astype(np.int8), gi.starts) > 0) & (n_marked >= 2))
    f = fill[gi.idx]
    lightest = np.minimum.reduceat(np.where(marked, f, np.inf), gi.starts)
    darkest = np.maximum.reduceat(np.where(marked, f, -np.inf), gi.starts)
    uneven = (n_marked >= 2) & (lightest < UNEVEN_RATIO * darkest)
    out = {int(g): "crossed_out" for g in np.flatnonzero(crossed)}
    out.update({int(g): "uneven_marks" for g in np.flatnonzero(uneven & ~crossed)})
    return out
