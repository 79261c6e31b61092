"""Find the sheet: ArUco fiducials → homography from layout mm to image pixels → checked fit.

``align`` returns an ``Alignment`` or raises ``AlignmentError`` with a reason code; it never returns a
transform it has not checked. Marker ids say which corner is which, so any rotation (90°, 180°, 270°
included), skew and phone-photo perspective map the same way.

Search order (cheapest first): the four corner windows of the image; then the whole image at a small scale
to locate markers anywhere (phone photos), refined at full scale; then the whole image with the detector's
default multi-scale thresholds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import AlignmentError
from .layout import Layout

MAX_RESIDUAL_MM = 0.6        # fiducial corners must reproject within this (RMS)
MIN_MARKERS = 3


@dataclass(frozen=True, slots=True, eq=False)
class Alignment:
    H: np.ndarray               # 3×3: layout (x_mm, y_mm, 1) → image (x_px, y_px, w), pixel-centre convention
    residual_mm: float          # RMS reprojection error of the fiducial corners
    px_per_mm: float            # mean scale near the page centre
    markers: int                # how many fiducials were used (3 or 4)
    rotation_deg: float         # page rotation in the image, counter-clockwise positive, -180..180
    search: str                 # which search found them: "corners" | "coarse" | "full", "+square" when the
                                # fourth was found as a dark square where the other three put it

    def map_mm(self, pts_xy_mm: np.ndarray) -> np.ndarray:
        """(n, 2) points (x, y) in mm → (n, 2) image points (x, y) in pixels."""
        p = np.asarray(pts_xy_mm, dtype=np.float64).reshape(-1, 1, 2)
        return cv2.perspectiveTransform(p, self.H).reshape(-1, 2)

    def as_json(self) -> dict[str, float]:
        return {"residual_mm": self.residual_mm, "px_per_mm": self.px_per_mm,
                "dpi": self.px_per_mm * 25.4, "rotation_deg": self.rotation_deg, "markers": float(self.markers)}


def _detector(dictionary: str, win: int | None, min_perimeter_rate: float, max_perimeter_rate: float = 4.0,
              refine: bool = True) -> cv2.aruco.ArucoDetector:
    d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, dictionary))
    p = cv2.aruco.DetectorParameters()
    if win is not None:
        p.adaptiveThreshWinSizeMin = win
        p.adaptiveThreshWinSizeMax = win
        p.adaptiveThreshWinSizeStep = 10
    p.minMarkerPerimeterRate = min_perimeter_rate
    p.maxMarkerPerimeterRate = max_perimeter_rate
    p.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX if refine else cv2.aruco.CORNER_REFINE_NONE
    return cv2.aruco.ArucoDetector(d, p)


# Detectors are plain objects built from constants; cache them per process (no shared mutable state).
_DETECTORS: dict[tuple, cv2.aruco.ArucoDetector] = {}


def _get_detector(dictionary: str, win: int | None, rate: float, max_rate: float = 4.0,
                  refine: bool = True) -> cv2.aruco.ArucoDetector:
    key = (dictionary, win, round(rate, 3), round(max_rate, 3), refine)
    det = _DETECTORS.get(key)
    if det is None:
        if len(_DETECTORS) > 64:
            _DETECTORS.clear()
        det = _DETECTORS[key] = _detector(dictionary, win, rate, max_rate, refine)
    return det


def _detect(det: cv2.aruco.ArucoDetector, image: np.ndarray, offset: tuple[float, float] = (0.0, 0.0),
            scale: float = 1.0) -> dict[int, np.ndarray]:
    corners, ids, _ = det.detectMarkers(image)
    out: dict[int, np.ndarray] = {}
    if ids is None:
        return out
    for c, i in zip(corners, ids.ravel()):
        if 0 <= i <= 3 and int(i) not in out:
            out[int(i)] = c.reshape(4, 2).astype(np.float64) * scale + np.asarray(offset)
    return out


DETECT_MARKER_PX = 34.0      # markers larger than this are searched in a downscaled copy of the window
CORNER_WINDOWS = ((0.15, 0.2), (0.3, 0.38))   # (height, width) shares of the image searched at each corner
MARKER_SIZE_RANGE = (0.45, 1.8)  # perimeters accepted in the corner windows, × the expected one (page filling
                                 # the image): phone photos show the sheet smaller, scanners a bit larger
MIN_RATE = 0.08                  # … and never a larger lower bound than this share of the window (a photo's
                                 # sheet can be far smaller than the frame)


def _detect_window(det: cv2.aruco.ArucoDetector, window: np.ndarray, offset: tuple[int, int],
                   f: float) -> dict[int, np.ndarray]:
    """Detect in ``window`` scaled by ``f`` (≤ 1: cost grows with pixels), then refine the corners on the
    full-resolution window so that precision does not depend on the scale used for finding them."""
    if f >= 0.8:
        return _detect(det, window, offset)
    # an integer reduction: OpenCV's area averaging has a fast path for it (a fractional one costs ~5× more)
    k = max(2, int(1.0 / f))       # rounded down: the marker stays at least DETECT_MARKER_PX wide
    f = 1.0 / k
    hh, ww = (window.shape[0] // k) * k, (window.shape[1] // k) * k
    small = cv2.resize(window[:hh, :ww], (ww // k, hh // k), interpolation=cv2.INTER_AREA)
    hits = _detect(det, small, scale=1.0 / f)
    if not hits:
        return {}
    # scale back to pixel-centre coordinates of the full window: x_full = (x_small + 0.5) / f - 0.5
    pts = np.concatenate([v + (0.5 / f - 0.5) for v in hits.values()]).astype(np.float32).reshape(-1, 1, 2)
    half = max(2, int(round(0.6 / f)))
    cv2.cornerSubPix(window, pts, (half, half), (-1, -1),
                     (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 20, 0.01))
    pts = pts.reshape(-1, 4, 2).astype(np.float64) + np.asarray(offset, dtype=np.float64)
    return {k: pts[i] for i, k in enumerate(hits)}


def _window_size(marker_px: float) -> int:
    """An adaptive-threshold window about the size of one marker cell, odd, ≥ 3."""
    w = int(marker_px / 3) | 1
    return max(3, min(w, 51))


def find_fiducials(image: np.ndarray, layout: Layout) -> tuple[dict[int, np.ndarray], str]:
    """Marker id → its 4 corners (x, y) in image pixels, and which search found them."""
    h, w = image.shape
    # expected marker size if the page fills the image (scanner); phone photos are smaller
    px_per_mm = max(h, w) / max(layout.height_mm, layout.width_mm)
    marker_px = layout.fiducial_size_mm * px_per_mm
    dictionary = layout.aruco_dictionary
    searched: set[int] = set()            # image corners (TL, TR, BR, BL) whose window held a marker

    # 1. corner windows (scanners: the page fills the image, markers are near its corners); a small window
    #    first (cost grows with area), a larger one only for corners where the small one found nothing. One
    #    detector per window size, made for the printed marker: one threshold window about a cell, contours
    #    kept only near the marker's expected perimeter; corners refined once, at full resolution, when the
    #    search ran at reduced scale
    f = min(1.0, DETECT_MARKER_PX / marker_px)
    win = _window_size(marker_px * (f if f < 0.8 else 1.0))
    found: dict[int, np.ndarray] = {}
    for fh, fw in CORNER_WINDOWS:
        wh, ww = int(h * fh), int(w * fw)
        rate = 4.0 * marker_px / max(wh, ww)          # the marker's perimeter / the window's longer side
        det = _get_detector(dictionary, win, min(MIN_RATE, MARKER_SIZE_RANGE[0] * rate),
                            MARKER_SIZE_RANGE[1] * rate, refine=f >= 0.8)
        for corner, (y0, x0) in enumerate(((0, 0), (0, w - ww), (h - wh, w - ww), (h - wh, 0))):
            if corner in searched:
                continue
            hits = _detect_window(det, image[y0:y0 + wh, x0:x0 + ww], (x0, y0), f)
            if hits:
                searched.add(corner)
            for k, v in hits.items():
                found.setdefault(k, v)
        if len(found) == 4:
            return found, "corners"

    # 2. whole image at a small scale (long side ~700 px), then refine each marker in a full-scale window
    f = min(1.0, 700.0 / max(h, w))
    small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else image
    coarse: dict[int, np.ndarray] = {}
    for wsmall in (_window_size(marker_px * f * 0.7), 7, 15):
        for k, v in _detect(_get_detector(dictionary, wsmall, 0.01), small, scale=1.0 / f).items():
            coarse.setdefault(k, v)
        if len(coarse) == 4:
            break
    for k, c in coarse.items():
        if k in found:
            continue
        side = float(np.max(np.linalg.norm(c - np.roll(c, 1, axis=0), axis=1)))
        pad = int(side * 1.2) + 8
        x0, y0 = (int(max(0, v)) for v in (c[:, 0].min() - pad, c[:, 1].min() - pad))
        x1, y1 = int(min(w, c[:, 0].max() + pad)), int(min(h, c[:, 1].max() + pad))
        refined = _detect(_get_detector(dictionary, _window_size(side), 0.05), image[y0:y1, x0:x1], (x0, y0))
        found[k] = refined.get(k, c)
    if len(found) == 4:
        return found, "coarse"

    # 3. whole image, the detector's own multi-scale thresholds (slow; rare)
    for k, v in _detect(_get_detector(dictionary, None, 0.01), image).items():
        found.setdefault(k, v)
    return found, "full"


SQUARE_SEARCH_SIDES = 2.0      # the missing marker is looked for this many marker sides around where three put it
SQUARE_AREA = (0.5, 1.8)       # its dark square's area × the mean area of the three found
SQUARE_PATTERN_CORR = 0.5      # its cells must correlate this well with the marker printed there


def missing_marker(image: np.ndarray, layout: Layout, found: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """The fourth corner marker, when three were found: a blurred or smeared marker whose bits the detector
    cannot decode still shows as a dark square where the three put it. Looked for there as a dark convex
    quadrilateral of the three's size, thresholded half-way between the window's black and its paper; kept
    only when its cells, sampled through the quadrilateral, correlate with the marker printed at that corner
    (which also fixes which of its corners is which). Returns {} when no such square is found: a three-marker
    fit (a homography from three markers' twelve corners) can put the far corner millimetres off."""
    ref = layout.fiducial_corners_mm()
    ids = sorted(found)
    (k,) = set(range(4)) - set(ids)
    H, _ = cv2.findHomography(np.concatenate([ref[i] for i in ids]), np.concatenate([found[i] for i in ids]), 0)
    if H is None or not np.all(np.isfinite(H)):
        return {}
    pred = cv2.perspectiveTransform(ref[k].reshape(-1, 1, 2), H).reshape(4, 2)
    areas = [abs(cv2.contourArea(found[i].astype(np.float32))) for i in ids]
    area = float(np.mean(areas))
    side = math.sqrt(area)
    if not np.all(np.isfinite(pred)) or side < 6:
        return {}
    h, w = image.shape
    cx, cy = pred.mean(axis=0)
    r = SQUARE_SEARCH_SIDES * side
    x0, y0, x1, y1 = int(max(0, cx - r)), int(max(0, cy - r)), int(min(w, cx + r)), int(min(h, cy + r))
    if x1 - x0 < side or y1 - y0 < side:
        return {}
    win = image[y0:y1, x0:x1]
    black, paper = np.percentile(win, (1, 90))
    if paper - black < 40:
        return {}
    dark = (win < (black + paper) / 2).astype(np.uint8)
    contours, _ = cv2.findContours(dark, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    bits = _marker_cells(layout.aruco_dictionary, k)
    best: tuple[float, np.ndarray] | None = None
    for c in contours:
        a = cv2.contourArea(c)
        if not SQUARE_AREA[0] * area <= a <= SQUARE_AREA[1] * area:
            continue
        quad = cv2.approxPolyDP(c, 0.06 * cv2.arcLength(c, True), True).reshape(-1, 2)
        if len(quad) != 4 or not cv2.isContourConvex(quad.reshape(-1, 1, 2)):
            continue
        quad = quad.astype(np.float64) + (x0, y0)
        # the quadrilateral's corners in the winding and order of the predicted ones (the page is not mirrored)
        if cv2.contourArea(quad.astype(np.float32), oriented=True) * cv2.contourArea(
                pred.astype(np.float32), oriented=True) <= 0:
            quad = quad[::-1]
        quad = min((np.roll(quad, -j, axis=0) for j in range(4)), key=lambda q: float(np.sum((q - pred) ** 2)))
        corr = _cells_corr(image, quad, bits)
        if corr >= SQUARE_PATTERN_CORR and (best is None or corr > best[0]):
            best = (corr, quad)
    if best is None:
        return {}
    pts = best[1].astype(np.float32).reshape(-1, 1, 2)
    half = max(2, int(side / 8))
    cv2.cornerSubPix(image, pts, (half, half), (-1, -1), (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 20, 0.01))
    return {k: pts.reshape(4, 2).astype(np.float64)}


_CELLS: dict[tuple[str, int], np.ndarray] = {}


def _marker_cells(dictionary: str, k: int) -> np.ndarray:
    """The marker's cells (its black border included) as 0/1, row by row."""
    hit = _CELLS.get((dictionary, k))
    if hit is None:
        d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, dictionary))
        n = d.markerSize + 2
        hit = _CELLS[(dictionary, k)] = (cv2.aruco.generateImageMarker(d, k, n) > 127).astype(np.float64)
    return hit


def _cells_corr(image: np.ndarray, quad: np.ndarray, cells: np.ndarray) -> float:
    """Correlation between the printed marker's inner cells and the image's cells through ``quad``."""
    n = cells.shape[0]
    px = 8 * n
    M = cv2.getPerspectiveTransform(quad.astype(np.float32),
                                    np.float32([[0, 0], [px, 0], [px, px], [0, px]]))
    flat = cv2.warpPerspective(image, M, (px, px), flags=cv2.INTER_LINEAR)
    got = cv2.resize(flat, (n, n), interpolation=cv2.INTER_AREA).astype(np.float64)[1:-1, 1:-1].ravel()
    want = cells[1:-1, 1:-1].ravel()
    if got.std() < 1e-6 or want.std() < 1e-6:
        return 0.0
    return float(np.corrcoef(got, want)[0, 1])


def align(image: np.ndarray, layout: Layout, *, max_residual_mm: float = MAX_RESIDUAL_MM) -> Alignment:
    """Estimate and check the mapping from the layout (mm) to ``image`` (grayscale uint8)."""
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(f"align expects a 2-D uint8 image, got {image.dtype} with shape {image.shape}")
    found, search = find_fiducials(image, layout)
    if len(found) == 0:
        raise AlignmentError("not_a_sheet", "no corner markers found: this page is not an answer sheet of "
                                            "this layout (blank page, essay page or another document?)")
    if len(found) < MIN_MARKERS:
        raise AlignmentError("partial_sheet", f"only {len(found)} of 4 corner markers found "
                                              f"({_names(found)}): the sheet is cut off, folded, covered or too "
                                              "blurred; scan or photograph the whole sheet again, flat and sharp")
    if len(found) == 3:
        fourth = missing_marker(image, layout, found)
        if fourth:
            try:
                return _fitted(image, layout, {**found, **fourth}, search + "+square", max_residual_mm)
            except AlignmentError:      # the square does not fit with the three: the three alone
                pass
    return _fitted(image, layout, found, search, max_residual_mm)


def _fitted(image: np.ndarray, layout: Layout, found: dict[int, np.ndarray], search: str,
            max_residual_mm: float) -> Alignment:
    """The homography from the markers ``found``, checked."""
    ref = layout.fiducial_corners_mm()
    ids = sorted(found)
    src = np.concatenate([ref[i] for i in ids])
    dst = np.concatenate([found[i] for i in ids])
    H, _ = cv2.findHomography(src, dst, 0)
    if H is None or not np.all(np.isfinite(H)):
        raise AlignmentError("bad_alignment", "the corner markers do not form a sheet (degenerate geometry)")

    centre = np.array([[layout.width_mm / 2, layout.height_mm / 2]])
    c_px = cv2.perspectiveTransform(centre.reshape(-1, 1, 2), H).reshape(2)
    dx = cv2.perspectiveTransform((centre + [1.0, 0.0]).reshape(-1, 1, 2), H).reshape(2) - c_px
    dy = cv2.perspectiveTransform((centre + [0.0, 1.0]).reshape(-1, 1, 2), H).reshape(2) - c_px
    px_per_mm = math.sqrt(abs(dx[0] * dy[1] - dx[1] * dy[0]))
    if not np.isfinite(px_per_mm) or px_per_mm < 2.0:
        raise AlignmentError("bad_alignment", f"the sheet is too small in the image ({px_per_mm * 25.4:.0f} "
                                              "dpi); scan at 150 dpi or more")
    if dx[0] * dy[1] - dx[1] * dy[0] < 0:
        raise AlignmentError("bad_alignment", "the sheet appears mirrored; scan the printed side normally")

    proj = cv2.perspectiveTransform(src.reshape(-1, 1, 2), H).reshape(-1, 2)
    residual_mm = float(np.sqrt(np.mean(np.sum((proj - dst) ** 2, axis=1)))) / px_per_mm
    if residual_mm > max_residual_mm:
        raise AlignmentError("bad_alignment", f"the corner markers do not fit the layout (residual "
                                              f"{residual_mm:.2f} mm > {max_residual_mm} mm): the sheet is "
                                              "curled or folded, or it is another layout")
    # the page must also lie (mostly) inside the image, or bubbles would be read off-image
    page = np.array([[0, 0], [layout.width_mm, 0], [layout.width_mm, layout.height_mm], [0, layout.height_mm]],
                    dtype=np.float64)
    corners = cv2.perspectiveTransform(page.reshape(-1, 1, 2), H).reshape(-1, 2)
    h, w = image.shape
    slack = 10 * px_per_mm     # the 8-mm margin outside the markers may be cut off by a scanner
    if (corners[:, 0].min() < -slack or corners[:, 1].min() < -slack
            or corners[:, 0].max() > w - 1 + slack or corners[:, 1].max() > h - 1 + slack):
        raise AlignmentError("partial_sheet", "part of the sheet lies outside the image; scan the whole sheet")
    rotation = math.degrees(math.atan2(-dx[1], dx[0]))
    return Alignment(H=H, residual_mm=residual_mm, px_per_mm=px_per_mm, markers=len(ids),
                     rotation_deg=rotation, search=search)


def _names(found: dict[int, np.ndarray]) -> str:
    from .layout import CORNERS
    return ", ".join(CORNERS[i] for i in sorted(found)) or "none"
