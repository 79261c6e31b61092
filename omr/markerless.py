"""Find sheets that carry none of our ArUco markers: the page outline, four corner markers given as an image,
keypoints matched against a reference image of the blank sheet, or timing marks along the edges
(``omr.timing``). The layout's ``alignment`` chooses.

Every method ends the same way: a homography from the layout's frame (mm) to the image, checked. The check
is the printed sheet itself: the bubble outlines the layout describes must be dark where the homography puts
them (``outline_score``), clearly more than in the paper just outside them. When the method cannot tell the
sheet's top from its bottom (an outline and four identical markers look the same upside down), each
orientation is tried and the one whose bubbles fit best wins — if it wins clearly. A page that cannot be
aligned raises ``AlignmentError`` with the reason, like ``omr.align``.
"""
from __future__ import annotations

import itertools
import math
from functools import lru_cache

import cv2
import numpy as np

from .align import Alignment, align
from .errors import AlignmentError
from .layout import Layout
from .layout_fields import AlignMethod, AlignSpec
from .pagefind import corners_of
from .timing import timing_candidates

WORK_LONG_PX = 900           # searches run on a copy of the image with this long side
MIN_FIT = 0.12               # bubble outlines must be this much darker than the paper around them
CLEAR_WIN = 1.25             # the best orientation must fit this much better than the next
FEATURES_MIN_INLIERS = 25
FEATURES_MAX_RESIDUAL_PX = 2.5    # median reprojection error of the inliers, at the working scale


def align_any(image: np.ndarray, layout: Layout) -> Alignment:
    """The layout's own method: ArUco (``omr.align``) or one of the markerless ones here."""
    method = layout.align.method
    if method is AlignMethod.ARUCO:
        return align(image, layout)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(f"align expects a 2-D uint8 image, got {image.dtype} with shape {image.shape}")
    if method is AlignMethod.TIMING:
        cands = timing_candidates(image, layout.align, lambda H: outline_score(image, H, layout))
        return _checked(image, layout, cands, method.value)
    if method is AlignMethod.FEATURES:
        return _features_or_page(image, layout)
    if method is AlignMethod.PAGE:
        return _by_outline(image, layout)
    if method is AlignMethod.MARKERS:
        return _by_markers(image, layout)
    h, w = image.shape
    whole = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
    return _by_quads(image, layout, [whole], method.value, turns=1)


def _by_quads(image: np.ndarray, layout: Layout, quads: list[np.ndarray], search: str, turns: int = 4
              ) -> Alignment:
    """The frame mapped onto each quad in its ``turns`` orientations; the quad that fits best is checked."""
    frame = np.asarray(layout.align.frame_corners_mm(), dtype=np.float32)
    best: tuple[float, list[np.ndarray], list[float]] | None = None
    for quad in quads:
        ordered = _clockwise(quad)
        cands = [cv2.getPerspectiveTransform(frame, np.roll(ordered, -k, axis=0).astype(np.float32))
                 .astype(np.float64) for k in range(turns)]
        scores = [outline_score(image, H, layout) for H in cands]
        if best is None or max(scores) > best[0]:
            best = (max(scores), cands, scores)
    assert best is not None
    return _checked(image, layout, best[1], search, scores=best[2])


LIGHT_BORDER = 0.85           # the image's border this bright against the paper: the paper's edge is lost


def _by_outline(image: np.ndarray, layout: Layout) -> Alignment:
    """The paper's outline; when it cannot be found and the image's border is nearly as light as the paper (a
    white scanner lid), the refusal says so and what to do, instead of blaming the sheet."""
    try:
        return _by_quads(image, layout, find_pages(image), AlignMethod.PAGE.value)
    except AlignmentError as exc:
        h, w = image.shape
        b = max(2, int(0.02 * min(h, w)))
        border = np.concatenate([image[:b].ravel(), image[-b:].ravel(), image[:, :b].ravel(), image[:, -b:].ravel()])
        paper = float(np.percentile(image[h // 4:3 * h // 4, w // 4:3 * w // 4], 90))
        if float(np.median(border)) < LIGHT_BORDER * paper:
            raise
        raise AlignmentError(exc.code, "the sheet's edge cannot be told from the background (a light scanner lid "
                                       "or table): this layout finds the sheet by its outline, so scan it on a "
                                       "dark background (the lid open, or a dark sheet behind it) or photograph it "
                                       "on a dark table") from None


def _features_or_page(image: np.ndarray, layout: Layout) -> Alignment:
    """Keypoints against the reference; where they fail (a blurred photo, a sheet small in the frame, little
    print outside the bubbles) and the reference is the whole paper, the paper's outline — the search says
    which one found the page. The first method's reason is kept when both fail."""
    try:
        return _checked(image, layout, _features(image, layout), "features", orientations=False)
    except AlignmentError as exc:
        x, y, fw, fh = layout.align.frame
        if max(abs(x), abs(y), abs(fw - layout.width_mm), abs(fh - layout.height_mm)) > 0.5:
            raise
        try:
            return _by_quads(image, layout, find_pages(image), AlignMethod.PAGE.value)
        except AlignmentError:
            raise exc from None


# -- checking -----------------------------------------------------------------------------------------
_ANGLES = np.linspace(0, 2 * np.pi, 16, endpoint=False)
_UNIT = np.stack([np.cos(_ANGLES), np.sin(_ANGLES)], -1)


def outline_score(image: np.ndarray, H: np.ndarray, layout: Layout) -> float:
    """How much darker the printed bubble outlines are than the paper just outside them (0 = not at all), with
    the layout mapped by ``H``: the median over bubbles of the darkest of three rings near the outline."""
    return _ring_fit(image, H, _ring_points(layout))


def _ring_fit(image: np.ndarray, H: np.ndarray, pts: np.ndarray) -> float:
    """``outline_score`` on the ring points ``pts`` (mm, four rings of 16 points per bubble)."""
    px = cv2.perspectiveTransform(pts, H).reshape(-1, 4, len(_ANGLES), 2)
    hgt, wid = image.shape
    xi, yi = np.rint(px[..., 0]).astype(np.intp), np.rint(px[..., 1]).astype(np.intp)
    inside = (xi >= 0) & (xi < wid) & (yi >= 0) & (yi < hgt)
    if inside.mean() < 0.9:
        return -1.0
    vals = np.full(xi.shape, 255.0, dtype=np.float32)
    vals[inside] = image[yi[inside], xi[inside]]
    ring = np.sort(vals[:, 3], axis=1)                     # np.percentile(…, 75) per bubble, without its overhead
    at = 0.75 * (ring.shape[1] - 1)
    lo = int(at)
    paper = ring[:, lo] + (at - lo) * (ring[:, min(lo + 1, ring.shape[1] - 1)] - ring[:, lo])
    dark = 1.0 - vals.mean(axis=2) / np.maximum(paper, 1.0)[:, None]
    return _median(dark[:, :3].max(axis=1) - dark[:, 3])


def _median(v: np.ndarray) -> float:
    """``np.median`` of a 1-D array (the same value), without its overhead: this runs hundreds of times a page."""
    n = len(v)
    part = np.partition(v, [(n - 1) // 2, n // 2])
    return float((part[(n - 1) // 2] + part[n // 2]) / 2)


_RINGS: dict[int, tuple[Layout, np.ndarray]] = {}


def _ring_points(layout: Layout) -> np.ndarray:
    """The sample points of ``outline_score`` in mm (at most 300 bubbles), computed once per layout."""
    hit = _RINGS.get(id(layout))
    if hit is not None and hit[0] is layout:
        return hit[1]
    r = layout.bubble_r_mm
    c = layout.centres_mm[:, ::-1]
    if len(c) > 300:
        c = c[:: int(math.ceil(len(c) / 300))]
    rings = [c[:, None, :] + rad * _UNIT[None] for rad in (r - 0.3, r, r + 0.3, r + 1.4)]
    pts = np.concatenate(rings, axis=1).reshape(-1, 1, 2)
    if len(_RINGS) > 16:
        _RINGS.clear()
    _RINGS[id(layout)] = (layout, pts)
    return pts


def _checked(image: np.ndarray, layout: Layout, candidates: list[np.ndarray], search: str, *,
             orientations: bool = True, scores: list[float] | None = None) -> Alignment:
    """The candidate that fits the printed bubbles best, checked. ``orientations``: the candidates are the
    sheet's four orientations, and the best must win clearly. ``scores``: their ``outline_score``s, when known."""
    if scores is None:
        scores = [outline_score(image, H, layout) for H in candidates]
    order = np.argsort(scores)[::-1]
    best = float(scores[order[0]])
    if best < MIN_FIT:
        raise AlignmentError("bad_alignment", f"the {search} alignment does not put the printed bubbles where the "
                                              f"layout has them (fit {best:.2f} < {MIN_FIT}): another sheet, or "
                                              "the sheet is folded, cut off or too blurred")
    if orientations and len(order) > 1 and best < CLEAR_WIN * max(float(scores[order[1]]), 0.0):
        raise AlignmentError("bad_alignment", "the sheet's orientation cannot be told (it fits upside down as "
                                              "well); scan it upright")
    H = _snap_regions(image, layout, _snap(image, layout, candidates[order[0]], best))
    centre = np.array([[layout.width_mm / 2, layout.height_mm / 2]])
    c_px = cv2.perspectiveTransform(centre.reshape(-1, 1, 2), H).reshape(2)
    dx = cv2.perspectiveTransform((centre + [1.0, 0.0]).reshape(-1, 1, 2), H).reshape(2) - c_px
    dy = cv2.perspectiveTransform((centre + [0.0, 1.0]).reshape(-1, 1, 2), H).reshape(2) - c_px
    det = dx[0] * dy[1] - dx[1] * dy[0]
    px_per_mm = math.sqrt(abs(det))
    if not np.isfinite(px_per_mm) or px_per_mm < 2.0:
        raise AlignmentError("bad_alignment", f"the sheet is too small in the image ({px_per_mm * 25.4:.0f} dpi); "
                                              "scan at 150 dpi or more")
    if det < 0:
        raise AlignmentError("bad_alignment", "the sheet appears mirrored; scan the printed side normally")
    return Alignment(H=H, residual_mm=0.0, px_per_mm=px_per_mm, markers=4,
                     rotation_deg=math.degrees(math.atan2(-dx[1], dx[0])), search=search)


SNAP_STEPS_MM = (0.6, 0.3, 0.15)


def _snap(image: np.ndarray, layout: Layout, H: np.ndarray, score: float) -> np.ndarray:
    """Move the layout by up to about 1 mm so that the printed bubble outlines fit best (coarse to fine):
    an outline or marker found a few pixels off, or a blurred keypoint, leaves that much."""
    dx = dy = 0.0
    for step in SNAP_STEPS_MM:
        best = (score, dx, dy)
        for ox in (-step, 0.0, step):
            for oy in (-step, 0.0, step):
                if ox or oy:
                    t = np.array([[1, 0, dx + ox], [0, 1, dy + oy], [0, 0, 1]])
                    sc = outline_score(image, H @ t, layout)
                    if sc > best[0]:
                        best = (sc, dx + ox, dy + oy)
        score, dx, dy = best
    return H @ np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]])


REGION_STEPS_MM = (0.3, 0.15, 0.075)


def _snap_regions(image: np.ndarray, layout: Layout, H: np.ndarray) -> np.ndarray:
    """Snap each ninth of the bubble area (3 × 3) by itself, then fit one homography through the nine moves:
    a phone photo's perspective or a page outline found a little askew leaves the far side of the sheet a
    tenth or two of a mm off where the near side fits, enough to read a printed ring as ink around a bubble.
    Kept only if the whole sheet fits at least as well."""
    c = layout.centres_mm[:, ::-1]
    rings = _ring_points(layout).reshape(-1, 4 * len(_ANGLES), 2)
    sampled = c if len(rings) == len(c) else c[:: int(math.ceil(len(c) / 300))]
    lo, span = sampled.min(axis=0), np.maximum(np.ptp(sampled, axis=0), 1e-6)
    cell = np.minimum((3 * (sampled - lo) / span).astype(int), 2)
    src, dst = [], []
    for gx, gy in itertools.product(range(3), range(3)):
        idx = np.flatnonzero((cell[:, 0] == gx) & (cell[:, 1] == gy))
        if len(idx) < 6:
            continue
        pts = rings[idx].reshape(-1, 1, 2)
        score, dx, dy = _ring_fit(image, H, pts), 0.0, 0.0
        for step in REGION_STEPS_MM:
            best = (score, dx, dy)
            for ox, oy in itertools.product((-step, 0.0, step), repeat=2):
                if ox or oy:
                    sc = _ring_fit(image, H @ np.array([[1, 0, dx + ox], [0, 1, dy + oy], [0, 0, 1]]), pts)
                    if sc > best[0]:
                        best = (sc, dx + ox, dy + oy)
            score, dx, dy = best
        mid = sampled[idx].mean(axis=0)
        src.append(mid)
        dst.append(cv2.perspectiveTransform((mid + [dx, dy]).reshape(1, 1, 2), H).reshape(2))
    if len(src) < 5:
        return H
    H2, _ = cv2.findHomography(np.asarray(src), np.asarray(dst), 0)
    if H2 is None or outline_score(image, H2, layout) < outline_score(image, H, layout):
        return H
    return H2


def _clockwise(quad: np.ndarray) -> np.ndarray:
    """Four points in clockwise order on the image (y down), starting from the one nearest the top-left."""
    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    c = q.mean(axis=0)
    ang = np.arctan2(q[:, 1] - c[1], q[:, 0] - c[0])
    q = q[np.argsort(ang)]
    start = int(np.argmin(q.sum(axis=1)))
    return np.roll(q, -start, axis=0)


def _small(image: np.ndarray) -> tuple[np.ndarray, float]:
    f = min(1.0, WORK_LONG_PX / max(image.shape))
    if f >= 1.0:
        return image, 1.0
    return cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA), f


# -- the page outline ---------------------------------------------------------------------------------
def find_pages(image: np.ndarray) -> list[np.ndarray]:
    """Candidate outlines of the sheet, four corners (x, y) in image pixels each: the largest four-sided
    outline of the light regions (Otsu) and of the edges (Canny), each side refined as a straight line
    fitted to the edge at full resolution. The printed bubbles choose among them."""
    small, f = _small(image)
    blur = cv2.GaussianBlur(small, (5, 5), 0)
    _, light = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    light = cv2.morphologyEx(light, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    edges = cv2.dilate(cv2.Canny(blur, 20, 60), np.ones((3, 3), np.uint8))
    quads = []
    for binar in (light, edges):
        quad = _largest_quad(binar)
        if quad is not None:
            quads.append(_refine_sides(image, (_clockwise(quad) + 0.5) / f - 0.5))
    if not quads:
        raise AlignmentError("not_a_sheet", "no sheet outline found: the page must lie on a darker background, "
                                            "whole and flat (or the layout's alignment method does not suit "
                                            "these images)")
    return quads


def _largest_quad(binar: np.ndarray) -> np.ndarray | None:
    contours, _ = cv2.findContours(binar, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    area_min = 0.2 * binar.shape[0] * binar.shape[1]
    for cnt in sorted(contours, key=cv2.contourArea, reverse=True)[:3]:
        if cv2.contourArea(cnt) < area_min:
            return None
        hull = cv2.convexHull(cnt)
        for eps in (0.01, 0.02, 0.04):
            poly = cv2.approxPolyDP(hull, eps * cv2.arcLength(hull, True), True)
            if len(poly) == 4:
                return poly.reshape(4, 2).astype(np.float64)
    return None


def _refine_sides(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Fit each side to the strongest edge near it (full resolution), then intersect neighbouring sides."""
    h, w = image.shape
    lines = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        length = float(np.linalg.norm(b - a))
        n = np.array([-(b - a)[1], (b - a)[0]]) / max(length, 1e-6)
        reach = max(6.0, 0.006 * max(h, w))
        t = np.linspace(0.1, 0.9, 40)
        offs = np.linspace(-reach, reach, int(2 * reach) + 1)
        base = a[None, :] + t[:, None] * (b - a)[None, :]
        pts = base[:, None, :] + offs[None, :, None] * n[None, None, :]
        xi = np.clip(np.rint(pts[..., 0]).astype(np.intp), 0, w - 1)
        yi = np.clip(np.rint(pts[..., 1]).astype(np.intp), 0, h - 1)
        prof = cv2.GaussianBlur(image[yi, xi].astype(np.float32), (1, 5), 0)
        grad = np.abs(np.diff(prof, axis=1))
        k = grad.argmax(axis=1)
        edge = base + (offs[k] + (offs[1] - offs[0]) / 2)[:, None] * n[None, :]
        vx, vy, x0, y0 = cv2.fitLine(edge.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        lines.append((np.array([x0, y0], np.float64), np.array([vx, vy], np.float64)))
    out = corners_of(lines, min_det=1e-9)
    if out is None:
        return quad
    if np.max(np.linalg.norm(out - quad, axis=1)) > 0.05 * max(h, w):
        return quad
    return out


# -- four corner markers --------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _marker_image(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise AlignmentError("bad_alignment", f"the layout's marker image {path} cannot be read")
    return img


CORNER_WINDOW = 0.2                # share of each side of the image searched at each of its corners
CORNER_SCALES = (0.88, 0.94, 1.0, 1.06)   # the sheet's size against the image's: a scan shows the whole sheet
CORNER_MARKER_PX = 20              # the marker's side in the reduced corner windows
CORNER_MIN_MATCH = 0.5             # the weakest of the four corners' best matches must reach this


def _by_markers(image: np.ndarray, layout: Layout) -> Alignment:
    """The four corner markers where a scan puts them (``corner_markers``, cheap); when they are not there or
    the printed bubbles reject them, the search over the whole image (``find_markers``)."""
    quad = corner_markers(image, layout)
    if quad is not None:
        try:
            return _by_quads(image, layout, [quad], AlignMethod.MARKERS.value)
        except AlignmentError:
            pass
    return _by_quads(image, layout, find_markers(image, layout), AlignMethod.MARKERS.value)


def corner_markers(image: np.ndarray, layout: Layout) -> np.ndarray | None:
    """The four marker centres (x, y) in image pixels when the sheet fills the image (a scan, in any of its four
    orientations): the best match of the marker in each corner window of the image, reduced by a whole factor
    so that the marker is ~``CORNER_MARKER_PX`` wide, at a few scales around the one the image's size implies;
    each centre refined at full resolution. ``None`` when a corner has no clear match (a photo): the whole
    image is searched then."""
    spec = layout.align
    marker = _marker_image(spec.marker or "")
    h, w = image.shape
    side = spec.marker_size_mm * max(h, w) / max(layout.width_mm, layout.height_mm)
    k = max(1, int(side / CORNER_MARKER_PX))
    wh, ww = (int(h * CORNER_WINDOW) // k) * k, (int(w * CORNER_WINDOW) // k) * k
    if min(wh, ww) < 2 * side:
        return None
    origins = ((0, 0), (w - ww, 0), (w - ww, h - wh), (0, h - wh))
    # a whole reduction factor: OpenCV's area averaging has a fast path for it
    wins = [cv2.resize(image[y:y + wh, x:x + ww], (ww // k, wh // k), interpolation=cv2.INTER_AREA) if k > 1
            else image[y:y + wh, x:x + ww] for x, y in origins]
    best: tuple[float, float, tuple[int, int], list[tuple[int, int]]] | None = None
    for frac in CORNER_SCALES:
        tpl = _sized(marker, side * frac / k)
        if tpl.shape[0] >= wins[0].shape[0] or tpl.shape[1] >= wins[0].shape[1]:
            continue
        peaks = [cv2.minMaxLoc(cv2.matchTemplate(win, tpl, cv2.TM_CCOEFF_NORMED))[1:4:2] for win in wins]
        weakest = min(v for v, _ in peaks)
        if best is None or weakest > best[0]:
            best = (weakest, frac, tpl.shape, [loc for _, loc in peaks])
    if best is None or best[0] < CORNER_MIN_MATCH:
        return None
    _, frac, (th, tw), locs = best
    centres = [np.array([x0 + (px + tw / 2) * k - 0.5, y0 + (py + th / 2) * k - 0.5])
               for (x0, y0), (px, py) in zip(origins, locs)]
    quad = np.array([_refine_marker(image, marker, c, side * frac) for c in centres])
    # the marker's size from the quad found (the frame's sides in pixels), then refined at that size
    q = _clockwise(quad)
    sides = np.linalg.norm(q - np.roll(q, -1, axis=0), axis=1)
    fw, fh = spec.frame[2], spec.frame[3]
    long_px, short_px = sorted(((sides[0] + sides[2]) / 2, (sides[1] + sides[3]) / 2))[::-1]
    px_per_mm = (long_px / max(fw, fh) + short_px / min(fw, fh)) / 2
    return np.array([_refine_marker(image, marker, c, spec.marker_size_mm * px_per_mm) for c in quad])


def find_markers(image: np.ndarray, layout: Layout) -> list[np.ndarray]:
    """The four marker centres (x, y) in image pixels. The marker's scale is unknown on a phone photo: the
    scales that match best on a half-size copy are tried on ``small``; at each, the strongest four matches
    whose quadrilateral has the area the layout's frame covers at that marker size (a marker shrunk to a
    bubble's size matches every filled bubble) are refined at full resolution. Returns every such quadrilateral:
    the printed bubbles choose."""
    spec = layout.align
    marker = _marker_image(spec.marker or "")
    small, f = _small(image)
    full_px_per_mm = max(image.shape) / max(layout.width_mm, layout.height_mm)
    tiny = cv2.resize(small, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    tried = []
    for frac in np.linspace(0.3, 1.05, 14):        # the sheet spans 30 % to 105 % of the image's long side
        side = spec.marker_size_mm * full_px_per_mm * frac * f * 0.5
        if side >= 5:
            tried.append((float(cv2.matchTemplate(tiny, _sized(marker, side), cv2.TM_CCOEFF_NORMED).max()), frac))
    found, quads = 0, []
    for score, frac in sorted(tried, reverse=True)[:5]:
        if score < 0.35:
            break
        tpl = _sized(marker, spec.marker_size_mm * full_px_per_mm * frac * f)
        n, pick = _four(small, tpl, spec)
        found = max(found, n)
        if pick is not None:
            th, tw = tpl.shape
            centres = [((px + tw / 2) / f - 0.5 / f, (py + th / 2) / f - 0.5 / f) for px, py, _ in pick[1]]
            quads.append(np.array([_refine_marker(image, marker, np.array(c), tw / f) for c in centres]))
    if quads:
        return quads
    if found < 4:
        raise AlignmentError("partial_sheet" if found else "not_a_sheet",
                             f"only {found} of 4 corner markers found: the sheet is cut off, folded or covered "
                             "(or not a sheet of this layout); photograph the whole sheet")
    raise AlignmentError("bad_alignment", "the corner markers found do not span the sheet's frame: markers of "
                                          "another layout, or the sheet is folded")


def _four(img: np.ndarray, tpl: np.ndarray, spec: AlignSpec) -> tuple[int, tuple[float, tuple] | None]:
    """The strongest matches of ``tpl`` (how many, up to 4), and the strongest four whose quadrilateral has the
    area the frame covers at this marker size (within perspective), with their summed strength."""
    res = cv2.matchTemplate(img, tpl, cv2.TM_CCOEFF_NORMED)
    if float(res.max()) < 0.35:
        return 0, None
    peaks = _peaks(res, max(tpl.shape), 10, max(0.3, 0.4 * float(res.max())))
    if len(peaks) < 4:
        return len(peaks), None
    expected = spec.frame[2] * spec.frame[3] * (tpl.shape[1] / spec.marker_size_mm) ** 2
    fits = [c for c in itertools.combinations(peaks, 4) if 0.6 <= _area([p[:2] for p in c]) / expected <= 1.6]
    if not fits:
        return 4, None
    pick = max(fits, key=lambda c: sum(p[2] for p in c))
    return 4, (sum(p[2] for p in pick), pick)


def _sized(marker: np.ndarray, side: float) -> np.ndarray:
    w = max(3, int(round(side)))
    return cv2.resize(marker, (w, max(3, int(round(side * marker.shape[0] / marker.shape[1])))),
                      interpolation=cv2.INTER_AREA)


def _peaks(res: np.ndarray, size: int, n: int, floor: float) -> list[tuple[int, int, float]]:
    out = []
    r = res.copy()
    for _ in range(n):
        _, v, _, (x, y) = cv2.minMaxLoc(r)
        if v < floor:
            break
        out.append((x, y, float(v)))
        r[max(0, y - 2 * size):y + 2 * size, max(0, x - 2 * size):x + 2 * size] = -1
    return out


def _area(pts: list) -> float:
    q = _clockwise(np.asarray(pts, dtype=np.float64))
    return abs(cv2.contourArea(q.astype(np.float32)))


def _refine_marker(image: np.ndarray, marker: np.ndarray, centre: np.ndarray, side: float) -> np.ndarray:
    """The marker centre at full resolution: template matching in a window around the coarse centre, the peak
    interpolated to a fraction of a pixel."""
    s = max(8, int(round(side)))
    tpl = cv2.resize(marker, (s, max(4, int(round(s * marker.shape[0] / marker.shape[1])))),
                     interpolation=cv2.INTER_AREA)
    th, tw = tpl.shape
    pad = int(side * 0.8) + 4
    x0 = int(max(0, centre[0] - tw / 2 - pad))
    y0 = int(max(0, centre[1] - th / 2 - pad))
    x1 = int(min(image.shape[1], centre[0] + tw / 2 + pad))
    y1 = int(min(image.shape[0], centre[1] + th / 2 + pad))
    win = image[y0:y1, x0:x1]
    if win.shape[0] <= th or win.shape[1] <= tw:
        return centre
    res = cv2.matchTemplate(win, tpl, cv2.TM_CCOEFF_NORMED)
    _, _, _, (x, y) = cv2.minMaxLoc(res)
    dx = _subpixel(res[y, max(0, x - 1):x + 2]) if 0 < x < res.shape[1] - 1 else 0.0
    dy = _subpixel(res[max(0, y - 1):y + 2, x]) if 0 < y < res.shape[0] - 1 else 0.0
    return np.array([x0 + x + dx + (tw - 1) / 2, y0 + y + dy + (th - 1) / 2])


def _subpixel(v: np.ndarray) -> float:
    if len(v) != 3:
        return 0.0
    den = v[0] - 2 * v[1] + v[2]
    return float(np.clip(0.5 * (v[0] - v[2]) / den, -0.5, 0.5)) if abs(den) > 1e-9 else 0.0


# -- keypoints against a reference image --------------------------------------------------------------------
FEATURES_LONG_PX = 1400      # keypoints need more detail than the outline and marker searches
ECC_LONG_PX = 500            # the refinement compares the page with the reference at this size


_REFERENCES: dict[tuple, tuple[Layout | None, tuple[np.ndarray, tuple[int, int], np.ndarray | None, float]]] = {}


def _reference(path: str, kind: str, layout: Layout | None = None
               ) -> tuple[np.ndarray, tuple[int, int], np.ndarray | None, float]:
    """Keypoints of the reference image, none of them on or near a bubble: the bubble grid repeats, and a
    match between two different bubbles would shift the whole sheet by a row without anyone noticing."""
    key = (path, kind, id(layout))
    hit = _REFERENCES.get(key)
    if hit is not None and hit[0] is layout:
        return hit[1]
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise AlignmentError("bad_alignment", f"the layout's reference image {path} cannot be read")
    f = min(1.0, FEATURES_LONG_PX / max(img.shape))
    small = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else img
    mask = None
    if layout is not None:
        mask = np.full(small.shape, 255, np.uint8)
        x, y, fw, fh = layout.align.frame
        kx, ky = small.shape[1] / fw, small.shape[0] / fh
        r = int(math.ceil(1.3 * layout.bubble_r_mm * max(kx, ky)))
        for cy, cx in layout.centres_mm:
            cv2.circle(mask, (int(round((cx - x) * kx)), int(round((cy - y) * ky))), r, 0, -1)
    kp, des = _detector(kind).detectAndCompute(small, mask)
    if len(_REFERENCES) > 8:
        _REFERENCES.clear()
    out = (np.array([k.pt for k in kp], dtype=np.float32), img.shape, des, f)
    _REFERENCES[key] = (layout, out)
    return out


@lru_cache(maxsize=4)
def _reference_small(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    f = min(1.0, ECC_LONG_PX / max(img.shape))
    return cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA).astype(np.float32)


def _detector(kind: str) -> cv2.Feature2D:
    if kind == "sift":
        return cv2.SIFT_create(nfeatures=3000)
    return cv2.ORB_create(nfeatures=3000, scaleFactor=1.2, nlevels=8, fastThreshold=12)


def _match(image: np.ndarray, layout: Layout, kind: str) -> tuple[np.ndarray | None, int, str]:
    """Reference full px → image full px by keypoints of ``kind``: (homography or None, inliers, why not)."""
    ref_pts, _, ref_des, rf = _reference(layout.align.reference or "", kind, layout)
    f = min(1.0, FEATURES_LONG_PX / max(image.shape))
    small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else image
    kp, des = _detector(kind).detectAndCompute(small, None)
    if des is None or ref_des is None or len(kp) < FEATURES_MIN_INLIERS:
        return None, 0, "too few features in the image to match the reference sheet"
    norm = cv2.NORM_L2 if kind == "sift" else cv2.NORM_HAMMING
    pairs = cv2.BFMatcher(norm).knnMatch(des, ref_des, k=2)
    good = [m for m, *rest in pairs if rest and m.distance < 0.8 * rest[0].distance]
    if len(good) < FEATURES_MIN_INLIERS:
        return None, len(good), f"only {len(good)} features match the reference sheet"
    src = ref_pts[[m.trainIdx for m in good]].reshape(-1, 1, 2)
    dst = np.float32([kp[m.queryIdx].pt for m in good]).reshape(-1, 1, 2)
    Hs, mask = cv2.findHomography(src, dst, cv2.RANSAC, 3.0, maxIters=4000, confidence=0.999)
    inl = int(mask.sum()) if mask is not None else 0
    if Hs is None or inl < FEATURES_MIN_INLIERS:
        return None, inl, f"the features do not agree on one sheet position ({inl} inliers)"
    keep = mask.ravel() == 1
    resid = float(np.median(np.linalg.norm(cv2.perspectiveTransform(src[keep], Hs) - dst[keep], axis=2)))
    if resid > FEATURES_MAX_RESIDUAL_PX:
        return None, inl, f"the features fit the reference loosely (residual {resid:.1f} px): the sheet is curled"
    return _scale(1 / f) @ Hs @ _scale(rf), inl, ""


def _scale(k: float) -> np.ndarray:
    """Pixel-centre coordinates of an image → those of the same image resized by ``k``."""
    return np.array([[k, 0, 0.5 * k - 0.5], [0, k, 0.5 * k - 0.5], [0, 0, 1]], dtype=np.float64)


def _features(image: np.ndarray, layout: Layout) -> list[np.ndarray]:
    """Layout (mm) → image homography through the reference image: ORB keypoints (SIFT when ORB finds too
    few), ratio test, RANSAC homography with its inliers counted and residual checked, then refined by
    maximising the correlation of the page with the reference (ECC). Returns both, unrefined and refined:
    the printed bubbles choose."""
    path = layout.align.reference or ""
    x, y, fw, fh = layout.align.frame
    rh, rw = _reference(path, "orb", layout)[1]
    mm_to_ref = np.array([[rw / fw, 0, -x * rw / fw - 0.5], [0, rh / fh, -y * rh / fh - 0.5], [0, 0, 1]])
    out: list[np.ndarray] = []
    why = ""
    for kind in ("orb", "sift"):
        H, _, why = _match(image, layout, kind)
        if H is not None:
            out += [H @ mm_to_ref, _ecc(image, layout, H) @ mm_to_ref]
            if max(outline_score(image, c, layout) for c in out) >= 2 * MIN_FIT:
                break
    if not out:
        raise AlignmentError("not_a_sheet" if "features" in why else "bad_alignment",
                             f"{why}: not a sheet of this layout, or too blurred")
    return out


def _ecc(image: np.ndarray, layout: Layout, H: np.ndarray) -> np.ndarray:
    """Refine reference → image ``H``: warp the image onto a small copy of the reference and let ECC find the
    remaining homography; kept only if it converges to a small correction."""
    path = layout.align.reference or ""
    ref = _reference_small(path)
    full = _reference(path, "orb", layout)[1]
    k = ref.shape[1] / full[1]
    to_image = H @ np.linalg.inv(_scale(k))                       # small reference px → image px
    warped = cv2.warpPerspective(image, to_image, (ref.shape[1], ref.shape[0]),
                                 flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP, borderValue=255)
    warp = np.eye(3, dtype=np.float32)
    try:
        _, warp = cv2.findTransformECC(ref, warped.astype(np.float32), warp, cv2.MOTION_HOMOGRAPHY,
                                       (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 25, 1e-4), None, 3)
    except cv2.error:
        return H
    corners = np.float32([[0, 0], [ref.shape[1], 0], [ref.shape[1], ref.shape[0]], [0, ref.shape[0]]])
    moved = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), warp.astype(np.float64)).reshape(-1, 2)
    if np.max(np.linalg.norm(moved - corners, axis=1)) > 0.03 * max(ref.shape):
        return H
    return to_image @ warp.astype(np.float64) @ _scale(k)
