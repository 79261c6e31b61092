"""Motion blur (a phone moved during the shot): a straight smear found by the cepstrum, undone by Wiener
deconvolution with its line kernel. Used by the OCR (``omr.ocr.pipeline``) and by the sheet reader, whose corner
markers a smear can hide (``omr.read``).

A straight smear over N pixels shows in the cepstrum of the page as read (text lines ~30 px) as a negative dip N
pixel steps away along the smear. Sharp pages put their deepest dip 3 steps away (the strokes), 2–3 px smears at
most 4 (harmless to the reading); smears that cost accuracy lie ``BLUR_MIN_STEPS`` steps or more away.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

BLUR_MIN_STEPS = 5
WIENER_K = 0.01             # noise-to-signal ratio: smaller rings, larger leaves blur (bench/RESULTS.md)


def motion_blur(page: np.ndarray, n: int = 512, *, strict: bool = True) -> tuple[float, float] | None:
    """(length px, angle rad) of a straight motion smear on the page as read, or None when it looks sharp.

    The cepstrum (inverse FFT of the log spectrum) of a central square: a box kernel of length L has spectral
    zeros every 1/L along its direction, which give the cepstrum's deepest negative value at distance L in that
    direction, and further dips at 2L and 3L. ~30 ms (two 512² FFTs).

    ``strict=False`` (a second look at a page read with low confidence): the deepest dip at least
    ``BLUR_MIN_STEPS`` away, even when a stroke's dip nearby is deeper — a smear on a low-resolution sheet
    that is also out of focus leaves a shallower dip than the strokes; sharp pages show such far dips too,
    hence only on a page that already read badly.
    """
    return smear_in(cepstrum(page, n), strict=strict)


def cepstrum(page: np.ndarray, n: int = 512) -> np.ndarray | None:
    """The centred cepstrum of the page's central n² square (n even, ≥ 128), or None for a smaller page."""
    h, w = page.shape
    n = min(n, h, w) // 2 * 2
    if n < 128:
        return None
    y0, x0 = (h - n) // 2, (w - n) // 2
    crop = page[y0:y0 + n, x0:x0 + n].astype(np.float32)
    crop -= crop.mean()
    win = np.hanning(n).astype(np.float32)
    spec = np.abs(np.fft.rfft2(crop * win[:, None] * win[None, :]))
    return np.fft.fftshift(np.fft.irfft2(np.log(spec + 1e-3), s=crop.shape))


def smear_in(cep: np.ndarray | None, *, strict: bool = True) -> tuple[float, float] | None:
    """``motion_blur`` on a cepstrum from ``cepstrum`` (both looks of a page share one)."""
    if cep is None:
        return None
    n = cep.shape[0]
    yy, xx = np.mgrid[0:n, 0:n] - n // 2
    rad = np.hypot(xx, yy)
    reach = min(25, (n // 2 - 1) // 3)            # the dip's 3rd rahmonic must lie inside the square
    vals = np.where((rad >= 3) & (rad <= reach), cep, np.inf)
    if not strict:
        vals = np.where(np.maximum(np.abs(xx), np.abs(yy)) >= BLUR_MIN_STEPS, vals, np.inf)
    k = np.unravel_index(int(np.argmin(vals)), vals.shape)
    dy, dx = k[0] - n // 2, k[1] - n // 2
    length, angle = math.hypot(dx, dy), math.atan2(dy, dx)
    if max(abs(dx), abs(dy)) < BLUR_MIN_STEPS:
        return None
    # a box kernel's log spectrum repeats its singularities: its cepstrum dips again at 2L and 3L (rahmonics),
    # a stroke width does not (a low-resolution scan's strokes can make a lone dip 5 px away)
    if cep[n // 2 + 2 * dy, n // 2 + 2 * dx] + cep[n // 2 + 3 * dy, n // 2 + 3 * dx] >= 0.0:
        return None
    return _sub_pixel(cep.astype(np.float32), length, angle)


def _sub_pixel(cep: np.ndarray, length: float, angle: float) -> tuple[float, float]:
    """The dip's angle, then its length, refined by a parabola through it and its neighbours (across the smear,
    then along it)."""
    n = cep.shape[0]

    def at(r: float, a: float) -> float:
        x = np.float32([[n // 2 + r * math.cos(a)]])
        y = np.float32([[n // 2 + r * math.sin(a)]])
        return float(cv2.remap(cep, x, y, cv2.INTER_LINEAR)[0, 0])

    def vertex(lo: float, mid: float, hi: float) -> float:
        curv = lo - 2 * mid + hi
        return float(np.clip(0.5 * (lo - hi) / curv, -0.5, 0.5)) if curv > 0 else 0.0

    step = 1.0 / length
    angle += step * vertex(at(length, angle - step), at(length, angle), at(length, angle + step))
    length += vertex(at(length - 1, angle), at(length, angle), at(length + 1, angle))
    return length, angle


def deconvolve(page: np.ndarray, length: float, angle: float, k: float = WIENER_K) -> np.ndarray:
    """Wiener deconvolution of a straight smear: an antialiased line ``length`` px long (end to end) at ``angle``.

    Our own filter, not ``skimage.restoration.wiener`` (the same filter with a flat regulariser; its Laplacian one
    and ``unsupervised_wiener`` read blurred pages worse on the OCR bench, the latter ~20× slower: bench/RESULTS.md).
    """
    length = max(1.0, length)
    f = page.astype(np.float32) / 255.0
    pad = 32
    f = cv2.copyMakeBorder(f, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    H, W = f.shape
    f = cv2.copyMakeBorder(f, 0, cv2.getOptimalDFTSize(H) - H, 0, cv2.getOptimalDFTSize(W) - W, cv2.BORDER_REFLECT)
    size = int(length) + 5 | 1
    m, c, s, sh = size // 2, math.cos(angle), math.sin(angle), 16
    psf = np.zeros((size, size), np.float32)
    cv2.line(psf, (round((m - length / 2 * c) * sh), round((m - length / 2 * s) * sh)),
             (round((m + length / 2 * c) * sh), round((m + length / 2 * s) * sh)), 1.0, 1, cv2.LINE_AA, 4)
    big = np.zeros_like(f)
    big[:size, :size] = psf / psf.sum()
    big = np.roll(big, (-m, -m), (0, 1))
    otf = np.fft.rfft2(big)
    out = np.fft.irfft2(np.fft.rfft2(f) * np.conj(otf) / (np.abs(otf) ** 2 + k), s=f.shape)
    out = out[pad:pad + page.shape[0], pad:pad + page.shape[1]]
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
