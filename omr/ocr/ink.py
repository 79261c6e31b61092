"""The ink on a page image, measured on a small copy: lighting flattened, ink mask, text block, line height, and
how much of the ink a reading's words cover."""
from __future__ import annotations

import cv2
import numpy as np


def flatten(gray: np.ndarray) -> np.ndarray:
    """Divide by a large-blur estimate of the paper (text erased by a max filter first): even lighting."""
    h, w = gray.shape
    f = 8
    small = cv2.resize(gray, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    bg = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    bg = cv2.medianBlur(bg, 5)
    bg = cv2.GaussianBlur(bg, (0, 0), 3)
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(gray, np.maximum(bg, 1), scale=255)


def small_copy(img: np.ndarray, long_px: int = 1500) -> tuple[np.ndarray, float]:
    """The image shrunk to at most ``long_px`` on its long side, and the factor (full px per small px, ≥ 1)."""
    h, w = img.shape
    f = max(1.0, max(h, w) / long_px)
    return cv2.resize(img, (max(1, round(w / f)), max(1, round(h / f))), interpolation=cv2.INTER_AREA), f


def ink_mask(small: np.ndarray) -> np.ndarray:
    """Ink on a flattened page at low resolution, without blobs touching the border (scan edges, table)."""
    if (small < 200).mean() < 0.0005:              # nothing dark at all: Otsu would split paper noise
        return np.zeros_like(small)
    thr = min(200.0, float(cv2.threshold(small, 0, 255, cv2.THRESH_OTSU)[0]))
    mask = (small < thr).astype(np.uint8) * 255
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    h, w = mask.shape
    keep = np.zeros(n, bool)
    x, y, bw, bh, area = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3], stats[:, 4]
    touches = (x <= 1) | (y <= 1) | (x + bw >= w - 1) | (y + bh >= h - 1)
    keep[1:] = ~touches[1:] & (area[1:] >= 2) & (bh[1:] < 0.2 * h) & (bw[1:] < 0.9 * w)
    return np.where(keep[lab], 255, 0).astype(np.uint8)


def text_box(mask: np.ndarray, f: float, shape: tuple[int, int], pad: int) -> tuple[int, int, int, int] | None:
    """Bounding box (r0, r1, c0, c1) at full resolution of the ink in a low-resolution mask."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    r0 = max(0, int(ys.min() * f) - pad)
    r1 = min(shape[0], int((ys.max() + 1) * f) + pad)
    c0 = max(0, int(xs.min() * f) - pad)
    c1 = min(shape[1], int((xs.max() + 1) * f) + pad)
    return r0, r1, c0, c1


def line_height(mask: np.ndarray) -> float | None:
    """Median height (mask rows) of the ink bands of the text lines of a deskewed page; None below 3 lines."""
    ink = (mask > 0).any(1)
    edges = np.flatnonzero(np.diff(np.r_[0, ink.astype(np.int8), 0]))
    heights = (edges[1::2] - edges[::2]).astype(np.float64)
    heights = heights[heights >= 3]
    if len(heights) < 3:
        return None
    med = float(np.median(heights))
    typical = heights[(heights >= 0.5 * med) & (heights <= 1.8 * med)]
    return float(np.median(typical)) if len(typical) >= 3 else None


def coverage(image: np.ndarray, boxes: np.ndarray) -> float:
    """Share of the ink of ``image`` (the page as Tesseract read it) that lies in or next to a returned word.

    A page read whole gives 0.96–1.0; Tesseract dropping whole text lines (its global threshold merged blurred
    lines into blobs it takes for pictures) shows as a low share.
    """
    small, f = small_copy(image, 1000)
    mask = ink_mask(small)
    total = cv2.countNonZero(mask)
    if total == 0:
        return 1.0
    cover = np.zeros_like(mask)
    for left, top, w, h in boxes:
        pad = 0.3 * h
        cv2.rectangle(cover, (int((left - pad) / f), int((top - pad) / f)),
                      (int((left + w + pad) / f), int((top + h + pad) / f)), 255, -1)
    return cv2.countNonZero(cv2.bitwise_and(mask, cover)) / total
