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
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["PageNotFound", "PageCorners", "find_page", "warp_to_a4", "A4_MM"]

A4_MM = (210.0, 297.0)


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
    out = np.empty((4, 2))
    for i in range(4):
        (p1, d1), (p2, d2) = lines[i - 1], lines[i]
        A = np.array([d1, -d2]).T
        if abs(np.linalg.det(A)) < 1e-6:
            return quad
        s = np.linalg.solve(A, p2 - p1)
        out[i] = p1 + s[0] * d1
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
        if not cv2.isContourConvex(quad.astype(np.float32).reshape(-1, 1, 2)):
            reasons.append("outline is not convex")
            continue
        sides = _side_lengths(quad)
        a, b = (sides[0] + sides[2]) / 2, (sides[1] + sides[3]) / 2
        aspect = max(a, b) / max(1e-6, min(a, b))
        if not aspect_range[0] <= aspect <= aspect_range[1]:
            reasons.append(f"outline aspect {aspect:.2f} is not a sheet's")
            continue
        angles = _corner_angles(quad)
        if angles.min() < 55 or angles.max() > 125:
            reasons.append("outline corners are too far from square")
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
    for level in (hi, hi / 2, hi / 4):
        edges = cv2.Canny(blur, 0.4 * level, level, L2gradient=True)
        found = _candidate(edges, frame, min_area_frac, max_area_frac, aspect_range, min_support, reasons, seen)
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
