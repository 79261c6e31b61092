"""Find a sheet of paper in a phone photo by its edges, and warp it flat onto an A4 raster.

``find_page`` returns the four corners of the sheet (full-resolution (x, y) pixel coordinates, ordered
top-left, top-right, bottom-right, bottom-left as they lie in the photo) or raises ``PageNotFound`` with the
reason; ``warp_to_a4`` maps those corners onto a portrait A4 page (the 0°/180° choice is left to the caller).

Why edges and not a global threshold: a threshold cuts off the dark corners of a vignetted or shadowed
sheet. Here the text is first erased with a grey-level closing (the paper is the brightest thing in its
neighbourhood), the page outline is taken from Canny edges, and the candidate is only accepted when its
four corners are plausible: convex, roughly A4 in aspect (with room for perspective), corner angles not
absurd, covering at least ``min_area_frac`` of the frame, and every side lying on detected edges (a convex
hull bridging a gap in a broken outline makes a side that does not). Each side is then re-fitted as a
straight line through its edge points, so the corners are sub-pixel at the working scale. A white sheet on a
light desk has weak edges: when the Canny thresholds taken from the image's contrast give no plausible
outline, they are halved, then halved again (the first, strict, level keeps textured backgrounds out).

When even the lowest level leaves the outline open (a white sheet on a white desk: a side may differ from the
desk by one or two grey levels, which no pixel alone shows), the outline is completed from its long straight
visible pieces (Hough segments refitted on the edge pixels, the paper on their brighter side): the sheet's
sides are four of them whose normals turn by ~90° each; a side that is missing is searched between its
neighbours' extensions as the segment along which the high-passed image steps up towards the paper, summed
over its whole length (two parallels, a U, or an L whose fourth corner starts where a parallelogram puts it).
The result is only taken when every side has that support, the shape is a sheet's, the text lies inside, no
visible side runs on past a corner and no searched side runs along the frame's border or through the text (a sheet
the photo cuts off must not be closed along some other edge: it is found with its corners outside the frame, or
not at all).
``python -m bench.pagefind_bench`` measures the finder against the generator's true corners.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["PageNotFound", "PageCorners", "find_page", "warp_to_a4", "A4_MM"]

A4_MM = (210.0, 297.0)
_COMPLETE_BUDGET_S = 0.5      # outline completion: no new set of sides is tried after this (typical: 30–150 ms)


class PageNotFound(Exception):
    """No plausible sheet outline in the image; ``reason`` says why (the caller falls back to the whole image).

    ``outline_seen`` is True when a large outline (≥ ``min_area_frac`` of the frame, not the whole frame) was there
    but rejected: likely a photo of a sheet that was not found, not a scan — the caller should say so.
    """

    def __init__(self, reason: str, *, outline_seen: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.outline_seen = outline_seen


@dataclass(frozen=True, slots=True)
class PageCorners:
    corners: np.ndarray        # (4, 2) float64, (x, y) full-resolution pixels: tl, tr, br, bl in the photo
    area_frac: float           # the quadrilateral's share of the frame
    aspect: float              # long side / short side (mean of opposite sides)


def _order(pts: np.ndarray) -> np.ndarray:
    """tl, tr, br, bl by the angle around the centroid (image coordinates: y down)."""
    c = pts.mean(0)
    ang = np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0])
    pts = pts[np.argsort(ang)]                 # counter-clockwise in maths = clockwise on screen, from ~-180°
    start = int(np.argmin(pts.sum(1)))          # top-left has the smallest x + y
    return np.roll(pts, -start, axis=0)


def _side_lengths(q: np.ndarray) -> np.ndarray:
    return np.linalg.norm(q - np.roll(q, -1, axis=0), axis=1)


def _corner_angles(q: np.ndarray) -> np.ndarray:
    out = []
    for i in range(4):
        a, b, c = q[i - 1], q[i], q[(i + 1) % 4]
        u, v = a - b, c - b
        cosang = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-9))
        out.append(math.degrees(math.acos(max(-1.0, min(1.0, cosang)))))
    return np.array(out)


def _refine(quad: np.ndarray, edge_pts: np.ndarray) -> np.ndarray:
    """Fit a straight line through the edge points of each side and intersect neighbours."""
    pts = edge_pts.reshape(-1, 2).astype(np.float64)
    lines = []
    for i in range(4):
        p, q = quad[i], quad[(i + 1) % 4]
        d = q - p
        L = float(np.linalg.norm(d))
        if L < 10:
            return quad
        d /= L
        n = np.array([-d[1], d[0]])
        rel = pts - p
        t = rel @ d
        dist = np.abs(rel @ n)
        sel = pts[(dist < 4.0) & (t > 0.1 * L) & (t < 0.9 * L)]
        if len(sel) < 10:
            return quad
        vx, vy, x0, y0 = cv2.fitLine(sel.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        lines.append((np.array([x0, y0], np.float64), np.array([vx, vy], np.float64)))
    out = corners_of(lines, min_det=1e-6)
    if out is None:
        return quad
    if np.abs(out - quad).max() > 8.0:          # the fit went astray: keep the polygon's corners
        return quad
    return out


def _side_support(quad: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Per side, the share of points along its middle 80 % that lie on an edge pixel (``edges``: dilated)."""
    h, w = edges.shape
    out = np.empty(4)
    t = np.linspace(0.1, 0.9, 60)[:, None]
    for i in range(4):
        p, q = quad[i], quad[(i + 1) % 4]
        pts = np.rint(p + t * (q - p)).astype(np.int64)
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
        hit = np.zeros(len(pts), bool)
        hit[inside] = edges[pts[inside, 1], pts[inside, 0]] > 0
        out[i] = hit.mean()
    return out


def _candidate(edges: np.ndarray, frame: float, min_area_frac: float, max_area_frac: float,
               aspect_range: tuple[float, float], min_support: float,
               reasons: list[str], seen: list[bool]) -> tuple[np.ndarray, float] | None:
    """The first plausible sheet outline among the largest contours of one edge map: (quad, aspect)."""
    dil = cv2.dilate(edges, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    contours, _ = cv2.findContours(dil, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    for cnt in sorted(contours, key=lambda c: cv2.contourArea(cv2.convexHull(c)), reverse=True)[:5]:
        hull = cv2.convexHull(cnt)
        area = cv2.contourArea(hull)
        if area < min_area_frac * frame:
            reasons.append(f"largest outline covers only {area / frame:.0%} of the frame")
            break
        if area > max_area_frac * frame:
            reasons.append("the outline is the whole frame (a scan, or the sheet fills the photo)")
            continue
        seen[0] = True
        approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True).reshape(-1, 2)
        if len(approx) != 4:
            reasons.append(f"outline has {len(approx)} corners, not 4")
            continue
        quad = _order(approx.astype(np.float64))
        aspect = _sheet_shape(quad, aspect_range, reasons)
        if aspect is None:
            continue
        # the line fit uses the edge pixels themselves (the dilated band is symmetric about the Canny edge;
        # the contour would run along its outside)
        ys, xs = np.nonzero(edges)
        quad = _refine(quad, np.stack([xs, ys], 1))
        support = _side_support(quad, dil)
        if support.min() < min_support:          # a side bridged across a gap by the hull: not the sheet's edge
            reasons.append(f"an outline side is only {support.min():.0%} on an edge")
            continue
        return quad, float(aspect)
    return None


@dataclass(frozen=True, eq=False)
class _Line:
    """A straight visible piece of the outline: points p with p·n = rho, n the unit normal towards the brighter
    side (the paper), visible from t0 to t1 along d = (n_y, -n_x) (the clockwise direction round the sheet)."""
    n: np.ndarray
    rho: float
    t0: float
    t1: float

    @property
    def d(self) -> np.ndarray:
        return np.array([self.n[1], -self.n[0]])

    def at(self, t) -> np.ndarray:
        return self.rho * self.n + np.multiply.outer(np.asarray(t, np.float64), self.d)

    @property
    def angle(self) -> float:
        return math.degrees(math.atan2(self.n[1], self.n[0])) % 360.0


def _visible_lines(edges: np.ndarray, blur: np.ndarray, short: int) -> list[_Line]:
    """The long straight edge pieces (Hough segments merged per line, refitted on the edge pixels), longest first."""
    segs = cv2.HoughLinesP(edges, 1, np.pi / 360, threshold=max(20, int(0.05 * short)),
                           minLineLength=0.08 * short, maxLineGap=int(0.01 * short) + 2)
    if segs is None:
        return []
    segs = segs.reshape(-1, 4).astype(np.float64)
    vec = segs[:, 2:] - segs[:, :2]
    seg_len = np.linalg.norm(vec, axis=1)
    mids = (segs[:, :2] + segs[:, 2:]) / 2
    ys, xs = np.nonzero(edges)
    pts = np.stack([xs, ys], 1).astype(np.float64)
    h, w = blur.shape
    used = np.zeros(len(segs), bool)
    out: list[tuple[float, _Line]] = []
    for i in np.argsort(-seg_len):
        if used[i]:
            continue
        d = vec[i] / seg_len[i]
        n = np.array([-d[1], d[0]])
        rho = float(n @ segs[i, :2])
        same = ~used & (np.abs(vec @ d) / seg_len > math.cos(math.radians(3))) & (np.abs(mids @ n - rho) < 3)
        used |= same
        ends = np.concatenate([segs[same, :2] @ d, segs[same, 2:] @ d])
        t = pts @ d
        sel = pts[(np.abs(pts @ n - rho) < 2.5) & (t >= ends.min()) & (t <= ends.max())]
        if len(sel) < 10:
            continue
        vx, vy, x0, y0 = cv2.fitLine(sel.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        n = np.array([-vy, vx], np.float64)
        n /= np.linalg.norm(n)
        rho = float(n @ (x0, y0))
        # the paper is the brighter side
        line = _Line(n, rho, 0.0, 0.0)
        t = sel @ line.d
        on = line.at(np.linspace(t.min(), t.max(), 40))
        side = []
        for sign in (1, -1):
            q = np.rint(on + sign * 4 * n).astype(np.int64)
            ok = (q[:, 0] >= 0) & (q[:, 0] < w) & (q[:, 1] >= 0) & (q[:, 1] < h)
            side.append(float(blur[q[ok, 1], q[ok, 0]].mean()) if ok.any() else 0.0)
        if side[1] > side[0]:
            n, rho = -n, -rho
        line = _Line(n, rho, 0.0, 0.0)
        t = sel @ line.d
        out.append((float(t.max() - t.min()), _Line(n, rho, float(t.min()), float(t.max()))))
    out.sort(key=lambda x: -x[0])
    return [line for _, line in out]


class _Support:
    """How well straight segments run along a brighter-inside edge: the mean of the gradient across each segment
    (towards its inner side, capped), and the share of its points where that gradient stands out of the noise.
    The gradient is of the text-free image high-passed (slow light changes removed), so a step of one or two grey
    levels along a whole side is seen when every pixel alone is lost in the noise."""

    def __init__(self, blur: np.ndarray):
        b = blur.astype(np.float32)
        hp = b - cv2.GaussianBlur(b, (0, 0), 8)
        self.gx = cv2.Sobel(hp, cv2.CV_32F, 1, 0, ksize=3) / 8
        self.gy = cv2.Sobel(hp, cv2.CV_32F, 0, 1, ksize=3) / 8
        self.noise = max(0.02, float(np.median(np.hypot(self.gx, self.gy))))
        self.cap = 8 * self.noise
        self.t = np.linspace(0.1, 0.9, 40)
        self.fields: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _field(self, spread: float) -> tuple[np.ndarray, np.ndarray]:
        """The gradient, blurred across ``spread`` pixels for a coarse search (a segment a few pixels off an edge
        still sees it; the maximum over offsets would see the noise's maxima instead)."""
        key = int(round(spread))
        if key <= 1:
            return self.gx, self.gy
        if key not in self.fields:
            sig = key / 2
            self.fields[key] = (cv2.GaussianBlur(self.gx, (0, 0), sig), cv2.GaussianBlur(self.gy, (0, 0), sig))
        return self.fields[key]

    def __call__(self, p: np.ndarray, q: np.ndarray, spread: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """(mean capped gradient, share above noise) of the segments p[i] → q[i] (clockwise: inside on the right);
        at each point the best of the three pixels across the segment, on the gradient blurred over ``spread``."""
        gx, gy = self._field(spread)
        p = np.atleast_2d(p)
        q = np.atleast_2d(q)
        d = q - p
        n = np.stack([-d[:, 1], d[:, 0]], 1) / np.maximum(np.linalg.norm(d, axis=1), 1e-9)[:, None]
        pts = p[:, None, :] + self.t[None, :, None] * d[:, None, :]
        h, w = gx.shape
        best = np.full(pts.shape[:2], -np.inf, np.float32)
        for off in (-1.0, 0.0, 1.0):
            qq = np.rint(pts + off * n[:, None, :]).astype(np.int64)
            x = np.clip(qq[..., 0], 0, w - 1)
            y = np.clip(qq[..., 1], 0, h - 1)
            g = gx[y, x] * n[:, None, 0] + gy[y, x] * n[:, None, 1]
            inside = (qq[..., 0] >= 0) & (qq[..., 0] < w) & (qq[..., 1] >= 0) & (qq[..., 1] < h)
            best = np.maximum(best, np.where(inside, g, 0.0))
        return np.clip(best, -self.cap, self.cap).mean(1), (best > 2.5 * self.noise).mean(1)


def _intersect(a: _Line, b: _Line) -> np.ndarray | None:
    A = np.array([a.n, b.n])
    if abs(np.linalg.det(A)) < 1e-6:
        return None
    return np.linalg.solve(A, [a.rho, b.rho])


def _best_side(sup: _Support, prev: _Line, nxt: _Line, span: float, step: float
               ) -> tuple[np.ndarray, np.ndarray, float]:
    """The missing side between two visible neighbours: its corners slide along ``prev`` beyond its visible end
    and along ``nxt`` before its visible start; the pair whose segment follows an edge best wins."""
    def grid(t_lo, t_hi, u_lo, u_hi, st):
        t = np.arange(t_lo, t_hi + st / 2, st)
        u = np.arange(u_lo, u_hi + st / 2, st)
        T, U = np.meshgrid(t, u, indexing="ij")
        P, Q = prev.at(T.ravel()), nxt.at(U.ravel())
        mean, _ = sup(P, Q, spread=max(1.0, st / 2))
        k = int(np.argmax(mean))
        return T.ravel()[k], U.ravel()[k], float(mean[k])
    st = max(step, span / 80)
    t, u, score = grid(prev.t1 - 0.02 * span, prev.t1 + span, nxt.t0 - span, nxt.t0 + 0.02 * span, st)
    while st > 0.5:                             # then finer, around the best
        st, prev_st = max(0.5, st / 4), st
        t, u, score = grid(t - prev_st, t + prev_st, u - prev_st, u + prev_st, st)
    return prev.at(t), nxt.at(u), score


def _best_corner(sup: _Support, a: _Line, b: _Line, x: np.ndarray, span: float,
                 aspect_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Only an L seen (``b`` then ``a`` round the sheet, meeting at ``x``): the far ends slide along ``a`` beyond
    its visible end and along ``b`` before its visible start, the fourth corner starts where a parallelogram
    would put it (sides of a sheet's aspect) and moves to where the two unseen sides follow an edge best."""
    lo, hi = aspect_range[0] / 1.1, aspect_range[1] * 1.1

    def grid_tu(t_lo, t_hi, u_lo, u_hi, st, fourth=None):
        t = np.arange(t_lo, t_hi + st / 2, st)
        u = np.arange(u_lo, u_hi + st / 2, st)
        T, U = (g.ravel() for g in np.meshgrid(t, u, indexing="ij"))
        P, Q = a.at(T), b.at(U)
        la, lb = np.linalg.norm(P - x, axis=1), np.linalg.norm(Q - x, axis=1)
        ratio = np.maximum(la, lb) / np.maximum(np.minimum(la, lb), 1e-6)
        R = P + Q - x if fourth is None else np.broadcast_to(fourth, P.shape)
        m1, _ = sup(P, R, spread=max(1.0, st / 2))
        m2, _ = sup(R, Q, spread=max(1.0, st / 2))
        score = np.where((ratio >= lo) & (ratio <= hi), m1 + m2, -np.inf)
        j = int(np.argmax(score))
        return T[j], U[j], float(score[j])

    st = max(2.0, span / 60)
    t, u, score = grid_tu(a.t1 - 0.02 * span, a.t1 + span, b.t0 - span, b.t0 + 0.02 * span, st)
    if not np.isfinite(score):
        return None
    while st > 0.5:
        st, prev = max(0.5, st / 4), st
        t, u, score = grid_tu(t - prev, t + prev, u - prev, u + prev, st)
    p, q = a.at(t), b.at(u)
    r = p + q - x
    # the fourth corner: perspective moves it off the parallelogram
    st, reach = max(1.0, span / 100), 0.12 * span
    while True:
        off = np.arange(-reach, reach + st / 2, st)
        R = (r + np.stack(np.meshgrid(off, off, indexing="ij"), -1).reshape(-1, 2))
        m1, _ = sup(np.broadcast_to(p, R.shape), R, spread=max(1.0, st / 2))
        m2, _ = sup(R, np.broadcast_to(q, R.shape), spread=max(1.0, st / 2))
        r = R[int(np.argmax(m1 + m2))]
        if st <= 0.5:
            break
        st, reach = max(0.5, st / 4), st
    t, u, _ = grid_tu(t - 2, t + 2, u - 2, u + 2, 0.5, fourth=r)
    return a.at(t), r, b.at(u)


def _along_border(p: np.ndarray, q: np.ndarray, w: int, h: int, tol: float) -> bool:
    """Does most of the segment p → q lie within ``tol`` of one of the frame's borders (or outside the frame)?"""
    pts = p + np.linspace(0.0, 1.0, 21)[:, None] * (q - p)
    near = ((pts[:, 0] < tol) | (pts[:, 0] > w - 1 - tol) | (pts[:, 1] < tol) | (pts[:, 1] > h - 1 - tol))
    return bool(near.mean() > 0.5)


def _clearance(p: np.ndarray, q: np.ndarray, pts: np.ndarray) -> float:
    """The smallest distance from the segment p → q to the points (inf without points)."""
    if len(pts) == 0:
        return math.inf
    d = q - p
    t = np.clip((pts - p) @ d / max(float(d @ d), 1e-9), 0.0, 1.0)
    return float(np.linalg.norm(pts - (p + t[:, None] * d), axis=1).min())


def _complete(small: np.ndarray, blur: np.ndarray, edges: np.ndarray, frame: float, min_area_frac: float,
              max_area_frac: float, aspect_range: tuple[float, float], reasons: list[str]
              ) -> tuple[np.ndarray, float] | None:
    """A sheet whose outline shows as two or three straight sides (an L, a U or two parallels): the missing
    sides are the segments between the visible ones' extensions along which the image steps up towards the
    paper (summed over the whole side, a step of a grey level or two shows). Accepted only when every side
    has support, the quadrilateral is a plausible sheet, the text lies inside it, the visible sides end at its
    corners and no searched side follows the frame's border or crosses the text."""
    h, w = blur.shape
    short = min(h, w)
    lines = [ln for ln in _visible_lines(edges, blur, short) if ln.t1 - ln.t0 >= 0.15 * short][:8]
    ink_pts = _ink_points(small)
    if len(lines) < 2 or ink_pts is None:
        reasons.append("no straight sides to complete an outline from")
        return None
    centre = ink_pts.mean(0)
    sup = _Support(blur)
    span = 1.1 * short
    best: tuple[float, np.ndarray, float] | None = None
    tried = set()
    deadline = time.perf_counter() + _COMPLETE_BUDGET_S
    for anchor in lines[:3]:
        if time.perf_counter() > deadline:      # a striped or chequered table gives many sides to try
            reasons.append(f"outline completion stopped after {_COMPLETE_BUDGET_S:g} s")
            break
        slots = _sides_round(anchor, lines, centre, short)
        # the same sides seen from another anchor: once is enough
        key = frozenset(id(x) for x in slots if x is not None)
        missing = [k for k in range(4) if slots[k] is None]
        if key in tried or len(missing) > 2:
            continue
        tried.add(key)
        quad = _closed_outline(sup, slots, missing, span, aspect_range)
        if quad is None:
            continue
        fault = _outline_fault(quad, slots, missing, ink_pts, (h, w), short)
        if fault is not None:
            reasons.append(fault)
            continue
        judged = _outline_score(quad, sup, ink_pts, frame, (min_area_frac, max_area_frac), aspect_range, reasons)
        if judged is None:
            continue
        score, ok = judged
        if best is None or score > best[0]:
            best = (score, quad, ok)
    if best is None:
        return None
    return _order(best[1]), best[2]


def _ink_points(small: np.ndarray) -> np.ndarray | None:
    """(x, y) of the text's pixels: thin dark strokes (a small black-hat; the sheet's soft drop shadow is too wide
    to show); None when there are fewer than 50."""
    ink = cv2.morphologyEx(small, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))) > 25
    ys, xs = np.nonzero(ink)
    if len(xs) < 50:
        return None
    return np.stack([xs, ys], 1).astype(np.float64)


def _sides_round(anchor: _Line, lines: list[_Line], centre: np.ndarray, short: int) -> list[_Line | None]:
    """The sheet's four sides clockwise from ``anchor``: for each, the longest other line turned a further 90°
    (within 20°) with the text on its paper side; None where there is none."""
    slots: list[_Line | None] = [anchor, None, None, None]
    for k in (1, 2, 3):
        want = (anchor.angle + 90 * k) % 360
        cands = [ln for ln in lines if all(ln is not x for x in slots)
                 and abs((ln.angle - want + 180) % 360 - 180) <= 20 and centre @ ln.n - ln.rho > 0.1 * short]
        slots[k] = cands[0] if cands else None
    return slots


def _closed_outline(sup: _Support, slots: list[_Line | None], missing: list[int], span: float,
                    aspect_range: tuple[float, float]) -> np.ndarray | None:
    """The four corners (4, 2): where visible neighbours meet, the others searched along the image's edges
    (an L: the far corner; else each missing side between its neighbours); None when it does not close."""
    corners: list[np.ndarray | None] = [None] * 4
    for k in range(4):
        if slots[k] is not None and slots[k - 1] is not None:
            corners[k] = _intersect(slots[k - 1], slots[k])
    if len(missing) == 2 and (missing[1] - missing[0]) % 2 == 1:      # an L: two sides and a corner unseen
        k = missing[0] if (missing[0] + 1) % 4 == missing[1] else missing[1]
        if corners[k - 1] is None:
            return None
        found = _best_corner(sup, slots[k - 1], slots[(k + 2) % 4], corners[k - 1], span, aspect_range)
        if found is None:
            return None
        corners[k], corners[(k + 1) % 4], corners[(k + 2) % 4] = found
    else:
        for k in missing:
            p, q, _ = _best_side(sup, slots[k - 1], slots[(k + 1) % 4], span, 2.0)
            corners[k], corners[(k + 1) % 4] = p, q
    if any(c is None for c in corners):
        return None
    return np.array(corners, np.float64)


def _outline_fault(quad: np.ndarray, slots: list[_Line | None], missing: list[int], ink_pts: np.ndarray,
                   shape: tuple[int, int], short: int) -> str | None:
    """Why a completed outline cannot be the sheet's (its sides placed wrong), or None."""
    h, w = shape
    # a visible side must end at its corners: one running on past a corner says the outline closed too early
    # (a sheet cut off by the frame: its missing side would be put inside the photo)
    overrun = [k for k in range(4) if slots[k] is not None
               and (slots[k].t0 < slots[k].d @ quad[k] - 0.015 * short
                    or slots[k].t1 > slots[k].d @ quad[(k + 1) % 4] + 0.015 * short)]
    if overrun:
        return "a visible side runs on past the completed outline's corner"
    # a searched side along the frame's border is the end of the photo, not of the sheet
    if [k for k in missing if _along_border(quad[k], quad[(k + 1) % 4], w, h, 0.03 * short)]:
        return "the sheet runs out of the photo"
    # and a searched side keeps clear of the text (a page's margin): one through the text is the edge of
    # something else (a shadow, the light), the sheet's own edge being out of the photo
    sample = ink_pts[:: max(1, len(ink_pts) // 2000)]
    if any(_clearance(quad[k], quad[(k + 1) % 4], sample) < 0.02 * short for k in missing):
        return "a completed side runs through the text"
    return None


def _outline_score(quad: np.ndarray, sup: _Support, ink_pts: np.ndarray, frame: float,
                   area_range: tuple[float, float], aspect_range: tuple[float, float], reasons: list[str]
                   ) -> tuple[float, float] | None:
    """(score: its weakest side's support, aspect) of a completed outline that has a sheet's size and shape, every
    side on an edge and the text inside; else None with the reason added."""
    means, shares = sup(quad, np.roll(quad, -1, axis=0))
    area = abs(cv2.contourArea(quad.astype(np.float32)))
    if not area_range[0] * frame <= area <= area_range[1] * frame:
        reasons.append(f"completed outline covers {area / frame:.0%} of the frame")
        return None
    ok = _sheet_shape(quad, aspect_range, reasons)
    if ok is None:
        return None
    if shares.min() < 0.4 or means.min() < 2 * sup.noise:
        reasons.append(f"a completed side is only {shares.min():.0%} on an edge")
        return None
    inside = np.array([cv2.pointPolygonTest(quad.astype(np.float32).reshape(-1, 1, 2), (float(x), float(y)), False)
                       for x, y in ink_pts[:: max(1, len(ink_pts) // 400)]])
    if (inside >= 0).mean() < 0.97:
        reasons.append("the completed outline leaves text outside")
        return None
    return float(means.min()), ok


def _sheet_shape(quad: np.ndarray, aspect_range: tuple[float, float], reasons: list[str]) -> float | None:
    """The aspect (long / short side) of a quadrilateral shaped like a sheet (convex, a sheet's aspect with room
    for perspective, corners not absurd), else None with the reason added."""
    if not cv2.isContourConvex(quad.astype(np.float32).reshape(-1, 1, 2)):
        reasons.append("outline is not convex")
        return None
    sides = _side_lengths(quad)
    a, b = (sides[0] + sides[2]) / 2, (sides[1] + sides[3]) / 2
    aspect = max(a, b) / max(1e-6, min(a, b))
    if not aspect_range[0] <= aspect <= aspect_range[1]:
        reasons.append(f"outline aspect {aspect:.2f} is not a sheet's")
        return None
    angles = _corner_angles(quad)
    if angles.min() < 55 or angles.max() > 125:
        reasons.append("outline corners are too far from square")
        return None
    return float(aspect)


def find_page(image: np.ndarray, *, work_px: int = 1000, min_area_frac: float = 0.20,
              max_area_frac: float = 0.97, aspect_range: tuple[float, float] = (1.15, 1.75),
              min_support: float = 0.6) -> PageCorners:
    """The sheet's four corners in a grayscale (or BGR) photo; ``PageNotFound`` when none is plausible.

    Edges are looked for with Canny thresholds from the image's own contrast first; when no plausible outline
    comes out (a white sheet on a light desk: the weak sides break up), the thresholds are halved, twice.
    A candidate is only taken when every side lies on detected edges for ``min_support`` of its length.
    """
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError("find_page needs a 2-D uint8 image")
    h, w = image.shape
    s = min(1.0, work_px / max(h, w))
    small = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape
    k = max(5, int(round(0.015 * max(sh, sw))) | 1)
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    blur = cv2.GaussianBlur(closed, (0, 0), 1.5)
    otsu, _ = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    hi = max(30.0, 0.5 * otsu)
    frame = float(sh * sw)
    reasons: list[str] = []
    seen = [False]
    found = None
    for level in (hi, hi / 2, hi / 4):
        edges = cv2.Canny(blur, 0.4 * level, level, L2gradient=True)
        found = _candidate(edges, frame, min_area_frac, max_area_frac, aspect_range, min_support, reasons, seen)
        if found is not None:
            break
    if found is None:
        # the sheet's outline is broken beyond repair at every level (a white sheet on a white desk: a side or
        # two differ from the desk by a grey level or two): complete it from its straight visible sides
        found = _complete(small, blur, edges, frame, min_area_frac, max_area_frac, aspect_range, reasons)
    if found is not None:
        quad, aspect = found
        full = (quad + 0.5) / s - 0.5
        return PageCorners(full, float(cv2.contourArea(quad.astype(np.float32)) / frame), aspect)
    raise PageNotFound("; ".join(dict.fromkeys(reasons)) if reasons else "no outline found", outline_seen=seen[0])


def warp_to_a4(image: np.ndarray, corners: np.ndarray, *, dpi: float = 300.0) -> tuple[np.ndarray, np.ndarray]:
    """Warp the sheet onto a portrait A4 raster at ``dpi``. Returns (page, 3×3 matrix photo → page).

    A landscape-looking outline (the sheet lies sideways in the photo) is turned a quarter so the result is
    portrait; whether it is upside down is for the orientation step to decide.
    """
    q = np.asarray(corners, np.float64)
    sides = _side_lengths(q)
    if (sides[0] + sides[2]) > (sides[1] + sides[3]):       # top/bottom longer: the sheet lies sideways
        q = np.roll(q, -1, axis=0)                           # tr becomes the page's top-left
    W = int(round(A4_MM[0] / 25.4 * dpi))
    H = int(round(A4_MM[1] / 25.4 * dpi))
    dst = np.array([[0, 0], [W, 0], [W, H], [0, H]], np.float64) - 0.5
    M = cv2.getPerspectiveTransform(q.astype(np.float32), dst.astype(np.float32))
    out = cv2.warpPerspective(image, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, M


def corners_of(lines: list[tuple[np.ndarray, np.ndarray]], *, min_det: float) -> np.ndarray | None:
    """The four corners where consecutive lines (point, direction) of a quadrilateral's sides meet, corner ``i``
    between sides ``i - 1`` and ``i``; ``None`` when two neighbouring sides are parallel (``|det| < min_det``)."""
    out = np.empty((4, 2))
    for i in range(4):
        (p1, d1), (p2, d2) = lines[i - 1], lines[i]
        a = np.array([d1, -d2]).T
        if abs(np.linalg.det(a)) < min_det:
            return None
        out[i] = p1 + np.linalg.solve(a, p2 - p1)[0] * d1
    return out
