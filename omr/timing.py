"""Find a sheet by its timing marks: lines of identical black rectangles printed along its edges (the layout's
``alignment.timing_marks``, see ``omr.layout_fields.TimingTrack``).

The marks are found without knowing the sheet's scale or turn: dark, solid, rectangular blobs; among them,
chains — blobs of one size on a straight line at a regular step (a missing or smudged mark leaves a gap of
two steps, kept), whose step over the blob's size is the one the layout's marks have. Each chain is matched
to each line of the layout, forwards and backwards and shifted by the marks that may be missing at its ends;
a pair of chains on two lines in different directions gives a homography. Every hypothesis is scored by the
caller (the printed bubbles must fit, ``omr.markerless.outline_score``); the best is then refined on every
mark of every line found near where it puts them, outliers (a smudge beside a mark) rejected by RANSAC.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import AlignmentError
from .layout_fields import AlignSpec, TimingTrack

WORK_LONG_PX = 1600          # marks are a few mm: the search needs more detail than the page outline's
MIN_SOLID = 0.72             # blob area / its rotated bounding box (a rectangle ~0.9, a filled bubble ~0.78)
MAX_CHAINS = 4               # chains kept per line of the layout (the longest)
MAX_SHIFT = 3                # marks that may be missing at a chain's ends


@dataclass(frozen=True, slots=True)
class Chain:
    xy: np.ndarray           # (n, 2) centres in working px, in order along the chain
    index: np.ndarray        # (n,) int: each centre's step number along the chain (gaps where marks are missing)
    size: float              # median sqrt(area) of its blobs, working px


def timing_candidates(image: np.ndarray, spec: AlignSpec,
                      score: Callable[[np.ndarray], float]) -> list[np.ndarray]:
    """Layout (mm) → image (px) homographies: the best hypothesis refined, and the best of a different turn
    (so that the caller can tell whether the orientation is clear). ``AlignmentError`` when no line is found."""
    f = min(1.0, WORK_LONG_PX / max(image.shape))
    small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else image
    blobs = dark_rectangles(small)
    chains = [find_chains(blobs, t) for t in spec.tracks]
    if sum(bool(c) for c in chains) < 2:
        raise AlignmentError("not_a_sheet" if not any(chains) else "partial_sheet",
                             f"timing marks found along {sum(bool(c) for c in chains)} of the sheet's "
                             f"{len(spec.tracks)} lines of marks: the sheet is cut off, folded or covered (or not "
                             "a sheet of this layout); photograph the whole sheet")
    to_full = np.array([[1 / f, 0, 0.5 / f - 0.5], [0, 1 / f, 0.5 / f - 0.5], [0, 0, 1]])
    scored = []
    for H in _hypotheses(spec.tracks, chains):
        Hf = to_full @ H
        scored.append((score(Hf), Hf))
    if not scored:
        raise AlignmentError("bad_alignment", "the timing marks found do not fit the layout's lines of marks: "
                                              "marks of another layout, or the sheet is folded")
    scored.sort(key=lambda s: -s[0])
    best = scored[0][1]
    refined = max(_refine(best, spec.tracks, blobs, to_full), key=score)
    corners = _frame_px(spec, best)
    other = [H for _, H in scored[1:] if np.max(np.linalg.norm(_frame_px(spec, H) - corners, axis=1))
             > 0.05 * np.ptp(corners[:, 0]) + 0.05 * np.ptp(corners[:, 1])]
    return [refined] + other[:1]


def _frame_px(spec: AlignSpec, H: np.ndarray) -> np.ndarray:
    pts = np.asarray(spec.frame_corners_mm(), dtype=np.float64).reshape(-1, 1, 2)
    return cv2.perspectiveTransform(pts, H).reshape(-1, 2)


def dark_rectangles(img: np.ndarray) -> np.ndarray:
    """Solid dark blobs: (n, 3) centre x, y and sqrt(area) in px, plus (n,) aspect (long / short side)."""
    block = max(31, int(max(img.shape) / 20) | 1)
    binar = cv2.adaptiveThreshold(cv2.GaussianBlur(img, (3, 3), 0), 255, cv2.ADAPTIVE_THRESH_MEAN_C,
                                  cv2.THRESH_BINARY_INV, block, 25)
    contours, hier = cv2.findContours(binar, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for cnt, h in zip(contours, hier[0] if hier is not None else []):
        if h[3] != -1:                                   # a hole's boundary (the paper inside a dark frame)
            continue
        area = cv2.contourArea(cnt)
        if area < 8 or area > 0.002 * img.size:
            continue
        (cx, cy), (w, h), _ = cv2.minAreaRect(cnt)
        if w * h <= 0 or area / (w * h) < MIN_SOLID:
            continue
        m = cv2.moments(cnt)
        if m["m00"] > 0:
            cx, cy = m["m10"] / m["m00"], m["m01"] / m["m00"]
        out.append((cx, cy, math.sqrt((w + 1) * (h + 1)), max(w + 1, h + 1) / min(w + 1, h + 1)))
    return np.array(out, dtype=np.float64).reshape(-1, 4)


def find_chains(blobs: np.ndarray, t: TimingTrack) -> list[Chain]:
    """Chains of ``blobs`` that look like line ``t``: the blobs' aspect and step-to-size ratio its marks', at
    least half its marks; the longest ``MAX_CHAINS``."""
    aspect = max(t.w_mm, t.h_mm) / min(t.w_mm, t.h_mm)
    ratio = t.pitch_mm / math.sqrt(t.w_mm * t.h_mm)
    ok = (blobs[:, 3] > aspect / 1.5) & (blobs[:, 3] < aspect * 1.5)
    b = blobs[ok]
    if len(b) < 3:
        return []
    xy, size = b[:, :2], b[:, 2]
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    similar = np.abs(np.log(size[:, None] / size[None])) < 0.35
    near = similar & (d > 0.7 * ratio * size[:, None]) & (d < 1.3 * ratio * size[:, None])
    taken: set[int] = set()                  # blobs already in a chain: a chain is walked once
    chains = []
    for i, j in zip(*np.nonzero(np.triu(near))):
        if int(i) in taken and int(j) in taken:
            continue
        members = _walk(xy, size, int(i), int(j), similar[i])
        if len(members[0]) < max(3, t.count // 2) or members[1].max() >= t.count:
            continue
        taken.update(int(m) for m in members[0])
        chains.append(Chain(xy[members[0]], members[1], float(np.median(size[members[0]]))))
    chains.sort(key=lambda c: -len(c.xy))
    return chains[:MAX_CHAINS]


def _walk(xy: np.ndarray, size: np.ndarray, i: int, j: int, similar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The chain through ``i`` and ``j``, followed both ways one step at a time (the step may change slowly:
    perspective), across gaps of one missing mark: its blobs' indices and step numbers (from 0)."""
    members = [(i, 0), (j, 1)] + _follow(xy, similar, i, j) + [(m, 1 - k) for m, k in _follow(xy, similar, j, i)]
    idx = np.array([m for m, _ in members])
    ks = np.array([k for _, k in members])
    order = np.argsort(ks)
    return idx[order], ks[order] - ks.min()


def _follow(xy: np.ndarray, similar: np.ndarray, a: int, b: int) -> list[tuple[int, int]]:
    """Blobs beyond ``b`` on the way from ``a`` to ``b``, each with its step number (``b`` is step 1)."""
    out: list[tuple[int, int]] = []
    cand = np.flatnonzero(similar)
    pts = xy[cand]
    step = xy[b] - xy[a]
    cur, k, used = b, 1, {a, b}
    while len(out) < 400:
        for gap in (1, 2):
            e = pts - (xy[cur] + gap * step)
            d = e[:, 0] ** 2 + e[:, 1] ** 2
            m = int(cand[np.argmin(d)])
            if d.min() < 0.0625 * float(step @ step) and m not in used:
                break
        else:
            return out
        step = (xy[m] - xy[cur]) / gap
        cur, k = m, k + gap
        used.add(m)
        out.append((m, k))
    return out


def _matches(t: TimingTrack, c: Chain) -> list[tuple[np.ndarray, np.ndarray]]:
    """(layout mm points, image px points) for every way ``c`` may lie on line ``t``."""
    marks = np.asarray(t.centres_mm(), dtype=np.float64)
    span = int(c.index.max()) + 1
    out = []
    for shift in range(min(MAX_SHIFT, t.count - span) + 1):
        for forward in (True, False):
            k = c.index + shift if forward else t.count - 1 - (c.index + shift)
            out.append((marks[k], c.xy))
    return out


def _hypotheses(tracks: tuple[TimingTrack, ...], chains: list[list[Chain]]):
    """Homographies (mm → working px) from a chain on each of two lines of different directions."""
    for a, b in itertools.combinations(range(len(tracks)), 2):
        ta, tb = tracks[a], tracks[b]
        cross = abs(ta.dx_mm * tb.dy_mm - ta.dy_mm * tb.dx_mm) / (ta.pitch_mm * tb.pitch_mm)
        if cross < 0.5:
            continue
        for ca, cb in itertools.product(chains[a], chains[b]):
            if ca is cb or _shared(ca, cb):
                continue
            for (ma, pa), (mb, pb) in itertools.product(_matches(ta, ca), _matches(tb, cb)):
                src, dst = np.vstack([ma, mb]), np.vstack([pa, pb])
                H, _ = cv2.findHomography(src, dst, 0)
                if H is None:
                    continue
                err = np.linalg.norm(cv2.perspectiveTransform(src.reshape(-1, 1, 2), H).reshape(-1, 2) - dst, axis=1)
                if np.median(err) < 0.25 * min(ca.size, cb.size):
                    yield H


def _shared(a: Chain, b: Chain) -> bool:
    d = np.sqrt(((a.xy[:, None] - b.xy[None]) ** 2).sum(-1))
    return bool((d < 0.5).any())


def _refine(H_full: np.ndarray, tracks: tuple[TimingTrack, ...], blobs: np.ndarray,
            to_full: np.ndarray) -> list[np.ndarray]:
    """Refit on every mark of every line that has a blob near where ``H_full`` puts it; RANSAC drops a blob
    that is a smudge beside its mark. Two fits: a homography, and an affine map (marks along two edges pin a
    page's perspective only weakly: on a flat scan the affine map is the better guess far from them).
    Returns ``[H_full]`` when too few marks are found."""
    H = np.linalg.inv(to_full) @ H_full
    src, dst = [], []
    for t in tracks:
        marks = np.asarray(t.centres_mm(), dtype=np.float64)
        px = cv2.perspectiveTransform(marks.reshape(-1, 1, 2), H).reshape(-1, 2)
        step = float(np.median(np.linalg.norm(np.diff(px, axis=0), axis=1)))
        if not len(blobs):
            continue
        d = np.sqrt(((px[:, None] - blobs[None, :, :2]) ** 2).sum(-1))
        j = d.argmin(axis=1)
        hit = d[np.arange(len(px)), j] < 0.3 * step
        src += list(marks[hit])
        dst += list(blobs[j[hit], :2])
    if len(src) < 8:
        return [H_full]
    src_a, dst_a = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    out = [H_full]
    Hr, mask = cv2.findHomography(src_a, dst_a, cv2.RANSAC, 1.5)
    if Hr is not None and int(mask.sum()) >= 8:
        out.append(to_full @ Hr)
    A, mask = cv2.estimateAffine2D(src_a, dst_a, method=cv2.RANSAC, ransacReprojThreshold=1.5)
    if A is not None and int(mask.sum()) >= 8:
        out.append(to_full @ np.vstack([A, [0, 0, 1]]))
    return out
