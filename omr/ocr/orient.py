"""Which way the text runs: direction (0° or 90°) and skew from projection profiles of the ink, and whether the
page is upside down (a vote of the text lines' marks, then Tesseract's OSD, then two readings of a strip)."""
from __future__ import annotations

import math

import cv2
import numpy as np

from .engine import Deadline, Engine, parse_tsv


def _profile_score(ys: np.ndarray) -> float:
    """How peaky the projection of points is (1 ≈ uniform; text lines give 2–5)."""
    lo = int(math.floor(ys.min()))
    hist = np.bincount((ys - lo).astype(np.int64))
    extent = max(1, len(hist))
    return float((hist.astype(np.float64) ** 2).sum() * extent / (len(ys) ** 2))


def _best_angle(xs: np.ndarray, ys: np.ndarray, angles: np.ndarray) -> tuple[float, float]:
    best = (-1.0, 0.0)
    for a in angles:
        r = math.radians(a)
        proj = ys * math.cos(r) - xs * math.sin(r)
        sc = _profile_score(proj)
        if sc > best[0]:
            best = (sc, float(a))
    return best[1], best[0]


def direction_and_skew(mask: np.ndarray, *, may_turn: bool = True) -> tuple[int, float, float]:
    """(quarter turns to make text lines horizontal (0 or 1; always 0 unless ``may_turn``), skew in degrees,
    line score)."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 50:
        return 0, 0.0, 0.0
    if len(xs) > 40000:
        idx = np.random.default_rng(0).choice(len(xs), 40000, replace=False)
        xs, ys = xs[idx], ys[idx]
    xs = xs.astype(np.float64)
    ys = ys.astype(np.float64)
    coarse = np.arange(-12.0, 12.01, 1.0)
    a0, s0 = _best_angle(xs, ys, coarse)
    turn = 0
    if may_turn:
        a1, s1 = _best_angle(ys, -xs, coarse)       # the same on the page turned a quarter
        if s1 > s0 * 1.15:
            turn, a0, xs, ys = 1, a1, ys, -xs
    fine = np.arange(a0 - 1.0, a0 + 1.001, 0.1)
    a, s = _best_angle(xs, ys, fine)
    return turn, a, s


def rotate(img: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate about the centre, growing the canvas so nothing is cut; background white."""
    h, w = img.shape
    M = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle_deg, 1.0)
    c, s = abs(M[0, 0]), abs(M[0, 1])
    W, H = int(math.ceil(w * c + h * s)), int(math.ceil(w * s + h * c))
    M[0, 2] += (W - w) / 2
    M[1, 2] += (H - h) / 2
    return cv2.warpAffine(img, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=255)


def marks_vote(mask: np.ndarray) -> bool | None:
    """Upside down by the shape of the text lines: True/False when clear, None when unsure.

    Vietnamese print carries far more ink above the x-height band (ascenders, capitals and the tone and vowel
    marks) than below it (descenders, the dot below): typed pages measure 2.1–2.5 upright and 0.39–0.47
    upside down; handwriting, whose lines merge, lands in between and is left to Tesseract's OSD. Motion blur
    smears the marks into the x-height band (ratio 1.6–1.8 upright, 0.66 upside down) while nearly every line
    still leans the same way: with 15 lines or more, 90 % of them agreeing and a ratio beyond 1.3 also decide
    (handwriting-like pages give 6–11 merged lines); OSD turns such blurred pages over with some confidence.
    """
    prof = (mask > 0).sum(1).astype(np.float64)
    ink = prof > 0
    edges = np.flatnonzero(np.diff(np.r_[0, ink.astype(np.int8), 0]))
    runs = [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= 3]
    if len(runs) < 5:
        return None
    heights = np.array([b - a for a, b in runs], np.float64)
    med = float(np.median(heights))
    above = below = 0.0
    up = down = 0
    for (a, b), hgt in zip(runs, heights):
        if not 0.5 * med <= hgt <= 1.8 * med:
            continue                              # merged lines or specks
        seg = prof[a:b]
        core = np.flatnonzero(seg >= 0.5 * seg.max())
        ab, be = float(seg[:core[0]].sum()), float(seg[core[-1] + 1:].sum())
        above += ab
        below += be
        up += ab > be
        down += be > ab
    n = up + down
    if n < 5:
        return None
    ratio = above / max(below, 1.0)
    if ratio >= 1.8 and up >= 0.85 * n or n >= 15 and ratio >= 1.3 and up >= 0.9 * n:
        return False
    if ratio <= 0.55 and down >= 0.85 * n or n >= 15 and ratio <= 1 / 1.3 and down >= 0.9 * n:
        return True
    return None


def upside_down(engine: Engine, page: np.ndarray, mask: np.ndarray, dpi: int, deadline: Deadline) -> bool:
    """Is the (deskewed, cropped) page upside down? The marks vote, then OSD, then a two-way confidence test."""
    vote = marks_vote(mask)
    if vote is not None:
        return vote
    budget = min(10.0, deadline.left())
    if budget <= 0:
        return False
    small = page
    osd_dpi = dpi
    if dpi > 200:                                    # OSD needs ~150 dpi at most: 4× fewer pixels
        small = cv2.resize(page, (page.shape[1] // 2, page.shape[0] // 2), interpolation=cv2.INTER_AREA)
        osd_dpi = dpi // 2
    res = engine.osd(small, dpi=osd_dpi, timeout_s=budget)
    if res is not None and res[1] >= 1.5 and res[0] in (0, 180):
        return res[0] == 180
    # unsure: read a strip of the page both ways and keep the more confident reading
    h = page.shape[0]
    strip = page[int(h * 0.35):int(h * 0.55)]
    confs = []
    for img in (strip, np.ascontiguousarray(strip[::-1, ::-1])):
        left = min(10.0, deadline.left())
        if left <= 0:
            return False
        tsv, _ = engine.tsv(img, dpi=dpi, psm=6, timeout_s=left)
        confs.append(parse_tsv(tsv).mean_conf)
    return confs[1] > confs[0] + 5
