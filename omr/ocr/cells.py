"""A page's words back into text lines and tables, from where the OCR found them (``OcrWord`` boxes).

Tesseract reads a table as separate blocks (each column, or each cell, a "paragraph" of its own), so its lines
lose which answer sits beside which question. Here the words are regrouped by position alone:

* rows: words whose vertical extents overlap (by half the smaller height) stand on the same printed row;
* segments: within a row, a horizontal gap wider than ``_GAP`` word heights, or a drawn vertical line between
  two words, separates two cells; an ordinary space between words is a fraction of a word height (a ruled
  table's lines are found, ``vertical_rules``, then erased before the reading, ``erase_rules``);
* tables: two or more rows split into segments form a table when a column boundary — a vertical stripe free of
  words across all of them, or a drawn line down them — separates their cells; each row's words are then
  put into the columns those boundaries make (2–12 columns: several question/answer pairs a row included);
* a row with words only in later columns, right under a table row, continues its cells (a wrapped cell);
* every other row is a text line (the words joined in order).

Tokens that are only a drawn rule read as characters ("|", "[", "]") are dropped. Nothing here knows what the
cells say: the answer extractor reads them as it reads a DOCX table's cells.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .records import OcrWord

_GAP = 1.2                  # a gap between cells, in median word heights (a space is ~0.3)
_DOUBT_CONF = 80.0          # a short token (an answer letter, a question number) read less surely than this is
#                             doubtful: a clean letter reads at ~90+, a misread one ("8" for "B", "G" for "C")
#                             mostly far lower
_RULE_CHARS = frozenset("|¦‖[](){}_—–-=:;.,'\"`~")
_MAX_COLUMNS = 12


@dataclass(frozen=True, slots=True)
class TextRow:
    text: str
    top: int
    doubtful: tuple[str, ...] = ()          # its short tokens read without confidence


@dataclass(frozen=True, slots=True)
class CellTable:
    rows: tuple[tuple[str, ...], ...]
    top: int
    doubtful: tuple[tuple[int, int, str], ...] = ()   # (row, column, token): short tokens read without confidence


def _doubtful(w: OcrWord) -> bool:
    """A short token (1–3 letters or digits: an answer, a question number) the OCR was unsure of."""
    alnum = sum(ch.isalnum() for ch in w.text)
    return 0 < alnum <= 3 and 0 <= w.conf < _DOUBT_CONF


def doubtful(words: list[OcrWord]) -> tuple[str, ...]:
    return tuple(w.text for w in words if _doubtful(w))


def erase_rules(page: np.ndarray) -> np.ndarray:
    """A straightened page with its long drawn lines (a table's ruling, underlines) painted over with the paper:
    Tesseract reads a letter boxed by cell lines as "|O|" and loses a ruled table's rows, and cell lines are not
    needed to find the columns (the white stripes they leave between the cells' words are)."""
    if page.size == 0:
        return page
    thr, ink = cv2.threshold(page, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    h, w = page.shape
    across = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(20, w // 12), 1)))
    down = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(20, h // 30))))
    lines = cv2.dilate(cv2.bitwise_or(across, down), cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    if not lines.any():
        return page
    paper = int(np.median(page[ink == 0])) if (ink == 0).any() else 255
    out = page.copy()
    out[lines > 0] = paper
    return out


def vertical_rules(page: np.ndarray) -> tuple[tuple[int, int, int], ...]:
    """The long vertical lines drawn on a straightened page, as (x, top, bottom): a ruled table's column lines,
    which split its rows into cells even where the words come close to them."""
    if page.size == 0:
        return ()
    _, ink = cv2.threshold(page, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    down = cv2.morphologyEx(ink, cv2.MORPH_OPEN,
                            cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(20, page.shape[0] // 30))))
    n, _, stats, _ = cv2.connectedComponentsWithStats(down, connectivity=8)
    return tuple((int(x + w // 2), int(y), int(y + h)) for x, y, w, h, _ in stats[1:] if w <= max(8, h // 20))


def without_rules(mask: np.ndarray) -> np.ndarray:
    """An ink mask without its drawn-line pieces (components over 12 times longer than thick, at any small skew):
    a ruled table's column lines, broken by a scanner, would otherwise pass for text lines running down the
    page."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return mask
    bw, bh, area = stats[:, 2].astype(float), stats[:, 3].astype(float), stats[:, 4].astype(float)
    long_side = np.maximum(bw, bh)
    thick = area / np.maximum(long_side, 1.0)             # mean thickness along the long side
    line = (long_side >= 12 * np.maximum(thick, 1.0)) & (long_side >= 15)
    line[0] = False
    return np.where(line[lab], 0, mask).astype(np.uint8)


def _is_rule(w: OcrWord, height: float) -> bool:
    return all(ch in _RULE_CHARS for ch in w.text) and ("|" in w.text or "[" in w.text or "]" in w.text
                                                        or w.height > 1.6 * height)


def _rows(words: list[OcrWord]) -> list[list[OcrWord]]:
    """Words grouped into printed rows by vertical overlap, top to bottom, each row left to right."""
    rows: list[list[OcrWord]] = []
    bands: list[tuple[int, int]] = []
    for w in sorted(words, key=lambda w: (w.top + w.bottom) / 2):
        for i in range(len(rows) - 1, max(-1, len(rows) - 4), -1):
            top, bottom = bands[i]
            if min(bottom, w.bottom) - max(top, w.top) >= 0.5 * min(w.height, bottom - top):
                rows[i].append(w)
                bands[i] = (min(top, w.top), max(bottom, w.bottom)) if w.height < 2 * (bottom - top) else bands[i]
                break
        else:
            rows.append([w])
            bands.append((w.top, w.bottom))
    order = sorted(range(len(rows)), key=lambda i: bands[i][0])
    return [sorted(rows[i], key=lambda w: w.left) for i in order]


Rule = tuple[int, int, int]        # a drawn vertical line: x, top, bottom (px of the page as read)


def _ruled(a: OcrWord, b: OcrWord, rules: tuple[Rule, ...]) -> bool:
    """A drawn line between two words of a row."""
    mid = (min(a.top, b.top) + max(a.bottom, b.bottom)) / 2
    return any(a.right - 2 <= x <= b.left + 2 and top <= mid <= bottom for x, top, bottom in rules)


def _segments(row: list[OcrWord], gap: float, rules: tuple[Rule, ...] = ()) -> list[list[OcrWord]]:
    segs = [[row[0]]]
    for a, b in zip(row, row[1:]):
        if b.left - a.right > gap or _ruled(a, b, rules):
            segs.append([b])
        else:
            segs[-1].append(b)
    return segs


def _boundaries(rows: list[list[OcrWord]], gap: float, rules: tuple[Rule, ...] = ()) -> list[float]:
    """Column boundaries across ``rows``: each word-free stripe wider than ``gap`` between the leftmost and
    rightmost word, or holding a drawn line that runs down these rows (at the line, else the stripe's middle)."""
    spans = sorted((w.left, w.right) for row in rows for w in row)
    top, bottom = min(w.top for w in rows[0]), max(w.bottom for w in rows[-1])
    drawn = [x for x, t, b in rules if t <= top + gap and b >= bottom - gap]
    out: list[float] = []
    reach = spans[0][1]
    for left, right in spans[1:]:
        inside = [x for x in drawn if reach - 2 <= x <= left + 2]
        if left > reach and (left - reach > gap or inside):
            out.append(float(inside[0]) if inside else (reach + left) / 2)
        reach = max(reach, right)
    return out


def _column(w: OcrWord, bounds: list[float]) -> int:
    return sum((w.left + w.right) / 2 > b for b in bounds)


def _cells(row: list[OcrWord], bounds: list[float]) -> tuple[str, ...]:
    cells: list[list[str]] = [[] for _ in range(len(bounds) + 1)]
    for w in row:
        cells[_column(w, bounds)].append(w.text)
    return tuple(" ".join(c) for c in cells)


def _table(rows: list[list[OcrWord]], gap: float, rules: tuple[Rule, ...]) -> tuple[list[float], int] | None:
    """The column boundaries of the table starting at ``rows[0]`` and how many rows it takes, or None: rows split
    into cells, and between them rows starting right of the first row's first cell (a wrapped cell's next lines:
    "2 | Cơ quan nào chủ trì | D" then "xây dựng và vận hành")."""
    first = _segments(rows[0], gap, rules)
    if len(first) < 2:
        return None
    indent = first[0][-1].right
    split, n = 0, 0
    for k, row in enumerate(rows):
        if len(_segments(row, gap, rules)) >= 2:
            split, n = split + 1, k + 1
        elif row[0].left <= indent:
            break
    if split >= 2:
        bounds = _boundaries(rows[:n], gap, rules)
        if 1 <= len(bounds) < _MAX_COLUMNS:
            return bounds, n
    n = 0
    while n < len(rows) and len(_segments(rows[n], gap, rules)) >= 2:
        n += 1
    while n >= 2:
        bounds = _boundaries(rows[:n], gap, rules)
        if 1 <= len(bounds) < _MAX_COLUMNS:
            return bounds, n
        n -= 1
    return None


def page_rows(words: tuple[OcrWord, ...], rules: tuple[Rule, ...] = ()) -> list[TextRow | CellTable]:
    """The page as text lines and tables, top to bottom; ``rules``: the drawn vertical lines
    (``vertical_rules``), in the words' coordinates."""
    heights = [w.height for w in words if any(ch.isalnum() for ch in w.text)]
    if not heights:
        return []
    height = float(np.median(heights))
    gap = _GAP * height
    kept = [w for w in words if w.text.strip() and not _is_rule(w, height)]
    rows = _rows(kept)
    out: list[TextRow | CellTable] = []
    i = 0
    while i < len(rows):
        found = _table(rows[i:], gap, rules)
        if found is None:
            out.append(TextRow(" ".join(w.text for w in rows[i]), rows[i][0].top, doubtful(rows[i])))
            i += 1
            continue
        bounds, n = found
        top = min(w.top for r in rows[i:i + n] for w in r)
        table: list[list[str]] = []
        doubts: list[tuple[int, int, str]] = []
        end = i + n
        while i < len(rows) and (i < end or _continues(rows[i], bounds)):
            cells = _cells(rows[i], bounds)
            if table and _continues(rows[i], bounds) and len(_segments(rows[i], gap, rules)) < 2:
                table[-1] = [f"{old}\n{text}" if old and text else old or text for old, text in zip(table[-1], cells)]
            else:
                table.append(list(cells))
            doubts += [(len(table) - 1, _column(w, bounds), w.text) for w in rows[i] if _doubtful(w)]
            i += 1
        out.append(CellTable(tuple(tuple(r) for r in table), top, tuple(doubts)))
    return out


def _continues(row: list[OcrWord], bounds: list[float]) -> bool:
    """A row under a table whose words all lie right of its first column and inside the columns: a wrapped
    cell's next line."""
    if row[0].left <= bounds[0]:
        return False
    return all(not (w.left < b < w.right) for w in row for b in bounds)
