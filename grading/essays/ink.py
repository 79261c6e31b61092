"""Whether a page that is no answer sheet holds writing on paper — what a handwritten entry is made of — measured
from its pixels, so that pages nobody wrote on (a blank page, a photo of something else) are not handed to judges
to type in (``grading.transcribe.queue``).

``measure_ink`` only measures, on the page shrunk by area averaging (which evens out scanner noise) with a margin
trimmed (scanner edges and shadows): the share of *paper* (light pixels) and of *ink* (dark pixels).
``holds_writing`` decides: paper on most of the page and some ink on it. A blank scan has paper and no ink; a
photo or drawing has hardly any paper.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAPER_LEVEL = 200        # gray at or above: paper
INK_LEVEL = 140          # gray at or below: ink
MIN_PAPER = 0.6          # share of the page: writing is on paper
MIN_INK = 0.003          # share of the page: a line of handwriting is already more than this
CELL = 4                 # px averaged per side
TRIM = 0.04              # share of each side left out


@dataclass(frozen=True, slots=True)
class PageInk:
    paper: float         # share of the trimmed page that is paper
    ink: float           # share that is ink


def measure_ink(image: np.ndarray) -> PageInk:
    """The page's shares of paper and ink (``image``: grayscale uint8, any size of at least a few cells)."""
    if image.ndim != 2 or image.size == 0:
        raise ValueError(f"a grayscale page is needed, got shape {image.shape}")
    h, w = image.shape
    top, left = int(h * TRIM), int(w * TRIM)
    core = image[top:h - top, left:w - left]
    ch, cw = core.shape[0] // CELL, core.shape[1] // CELL
    if ch == 0 or cw == 0:
        raise ValueError(f"the page is too small to measure ({h} × {w} px)")
    cells = core[:ch * CELL, :cw * CELL].reshape(ch, CELL, cw, CELL).mean(axis=(1, 3))
    return PageInk(float((cells >= PAPER_LEVEL).mean()), float((cells <= INK_LEVEL).mean()))


def holds_writing(ink: PageInk) -> bool:
    """Paper on most of the page, and ink on it."""
    return ink.paper >= MIN_PAPER and ink.ink >= MIN_INK
