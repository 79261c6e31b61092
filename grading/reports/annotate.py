"""``omr annotate``: per graded page, the sheet straightened to the layout with every question marked
correct / wrong / to review, the right answer shown where the participant missed it, and a legend.

For people to check the machine's work and to return to participants. ``overlay`` only draws; fetching pages
and re-finding the sheet in its scan happen in ``annotate`` (``omr.markerless.align_any``: the layout's own
alignment, our ArUco markers or a sheet printed by others, as ``omr read`` found it).

What is drawn, per kind of answer: a ring on each bubble read as marked (questions, Đúng/Sai statements), the
right answer's bubble ringed in blue where it was missed, a box around an answer under review; a numeric answer
(columns of "-", ",", digits) boxed in its outcome's colour with the number read written above it (and the key's
number in blue when it is wrong); the digits read in the participant-id and test-code grids ringed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np

from omr.errors import AlignmentError, OutputError
from omr.layout import Group, GroupKind, Layout
from omr.markerless import align_any
from omr.load import LoadOptions, load_page, plan_pages
from omr.paths import display_source
from omr.records import SheetFailure

from ..db.pictures import graded_pages
from ..keys import AnswerKey
from ..store import Store

PX_PER_MM = 6.0        # ≈ 152 dpi: enough to see every mark, small enough to mail back
# BGR colours
GREEN, RED, ORANGE, BLUE, GREY = (40, 160, 40), (40, 40, 220), (0, 140, 255), (200, 110, 20), (150, 150, 150)
NEUTRAL = (70, 70, 70)       # "the machine read this mark" without saying whether it is right (judges' view)
READ_ONLY = "read"           # an outcome that hides correctness
LEGEND = (("Đúng", GREEN), ("Sai", RED), ("Đáp án đúng", BLUE), ("Cần người chấm xem lại", ORANGE),
          ("Bỏ trống", GREY))


@dataclass(frozen=True, slots=True)
class PageToAnnotate:
    page_id: int
    source: str                              # the path to open (``omr.paths.path_from``); shown via display_source
    page_no: int
    participant: str | None
    version: str | None
    questions: dict[str, dict[str, Any]]     # SheetScore.to_json()["questions"]
    key: AnswerKey | None
    open_flags: tuple[tuple[str, str | None], ...]   # (target, key)


def straighten(image: np.ndarray, H: np.ndarray, layout: Layout, px_per_mm: float = PX_PER_MM, *,
               window: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """The page warped onto the layout's canvas (colour, so that the overlay can be drawn in colour);
    ``window`` = (left, top, right, bottom) in canvas pixels warps only that part (a judge's crop)."""
    # canvas pixel (x, y) ↔ layout mm (x / s, y / s) ↔ image H @ (mm, 1)
    left, top, right, bottom = window or (0, 0, int(round(layout.width_mm * px_per_mm)),
                                          int(round(layout.height_mm * px_per_mm)))
    to_mm = np.array([[1.0 / px_per_mm, 0, left / px_per_mm], [0, 1.0 / px_per_mm, top / px_per_mm], [0, 0, 1.0]])
    M = H @ to_mm
    flat = cv2.warpPerspective(image, M, (right - left, bottom - top), flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP,
                               borderValue=255)
    return cv2.cvtColor(flat, cv2.COLOR_GRAY2BGR)


def overlay(canvas: np.ndarray, layout: Layout, page: PageToAnnotate, px_per_mm: float = PX_PER_MM, *,
            origin: tuple[int, int] = (0, 0), legend: bool = True) -> np.ndarray:
    """Draw the outcome of every question on ``canvas`` (a straightened page, or the part of it whose top-left
    corner is ``origin`` in page pixels); returns a new image, with the legend strip under it if ``legend``."""
    out = canvas.copy()
    r = int(round((layout.bubble_r_mm + 0.6) * px_per_mm))
    open_q = {k for t, k in page.open_flags if t == "question"}

    def centre(i: int) -> tuple[int, int]:
        y, x = layout.centres_mm[i]
        return int(round(x * px_per_mm)) - origin[0], int(round(y * px_per_mm)) - origin[1]

    for g in layout.question_groups:
        q = page.questions.get(g.key, {})
        marked = q.get("marked", "")
        outcome = q.get("outcome")
        item = page.key.item(g.key) if page.key else None
        accepted = set().union(*item.accept) if item and item.accept else set()
        for lab, i in zip(g.labels, g.indices):
            if lab in marked:
                colour = (GREEN if outcome == "correct" else RED if outcome in ("wrong", "multiple")
                          else NEUTRAL if outcome == READ_ONLY else ORANGE)
                cv2.circle(out, centre(i), r, colour, 2, cv2.LINE_AA)
            elif lab in accepted and outcome not in ("correct", "cancelled"):
                cv2.circle(out, centre(i), r, BLUE, 2, cv2.LINE_AA)
        first, last = centre(g.first), centre(g.first + g.size - 1)
        if g.key in open_q or outcome == "unreadable":
            cv2.rectangle(out, (first[0] - r - 3, first[1] - r - 3), (last[0] + r + 3, last[1] + r + 3), ORANGE, 2)
        elif outcome == "blank":
            cv2.line(out, (first[0] - r, first[1] + r + 1), (last[0] + r, last[1] + r + 1), GREY, 1)

    for q in layout.numeric_ids:
        _numeric(out, layout, page, q, centre, r, open_q)
    for kind, target, read in ((GroupKind.PARTICIPANT, "participant", page.participant),
                               (GroupKind.VERSION, "version", page.version)):
        gs = layout.digit_groups(kind)
        if gs and read and len(read) == len(gs):
            for g, ch in zip(gs, read):
                if ch in g.labels:
                    cv2.circle(out, centre(g.first + g.labels.index(ch)), r, NEUTRAL, 2, cv2.LINE_AA)
        if gs and any(t == target for t, _ in page.open_flags):
            a, b = centre(gs[0].first), centre(gs[-1].first + gs[-1].size - 1)
            cv2.rectangle(out, (a[0] - r - 4, a[1] - r - 4), (b[0] + r + 4, b[1] + r + 4), ORANGE, 3)
    return _legend(out, page) if legend else out


def numeric_columns(layout: Layout, question: str) -> tuple[Group, ...]:
    """The columns of the numeric answer ``question``, left to right (none when it is not one)."""
    return tuple(g for g in layout.digit_groups(GroupKind.NUMERIC) if g.name == question)


def _numeric(out: np.ndarray, layout: Layout, page: PageToAnnotate, q: str, centre: Any, r: int,
             open_q: set[str]) -> None:
    """A numeric answer: its columns boxed in the outcome's colour, the number read above them, the key's number
    in blue where it is wrong, and a ring on each column's bubble when the reading fills every column."""
    cols = numeric_columns(layout, q)
    read = page.questions.get(q, {})
    marked, outcome = str(read.get("marked", "") or ""), read.get("outcome")
    colour = (ORANGE if q in open_q or outcome == "unreadable" else GREEN if outcome == "correct"
              else RED if outcome in ("wrong", "multiple") else GREY if outcome == "blank" else NEUTRAL)
    a, b = centre(cols[0].first), centre(cols[-1].first + cols[-1].size - 1)
    cv2.rectangle(out, (a[0] - r - 3, a[1] - r - 3), (b[0] + r + 3, b[1] + r + 3), colour, 2)
    if len(marked) == len(cols):           # a number filling every column: which bubble is which is known
        for g, ch in zip(cols, marked):
            if ch in g.labels:
                cv2.circle(out, centre(g.first + g.labels.index(ch)), r, colour, 2, cv2.LINE_AA)
    x, y = a[0] - r, a[1] - r - 8            # the texts go above the columns (ASCII only: "-", ",", digits)
    if marked:
        cv2.putText(out, marked, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
        x += cv2.getTextSize(marked, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)[0][0] + 8
    item = page.key.item(q) if page.key else None
    if item is not None and item.numbers and outcome in ("wrong", "blank"):
        cv2.putText(out, item.numbers[0], (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, BLUE, 1, cv2.LINE_AA)


def _legend(img: np.ndarray, page: PageToAnnotate) -> np.ndarray:
    """A strip under the page: who, the version, and what each colour means (Vietnamese text via PIL)."""
    from PIL import Image, ImageDraw, ImageFont
    from omr.sheet import _FONT_CANDIDATES

    strip = np.full((70, img.shape[1], 3), 255, np.uint8)
    pil = Image.fromarray(cv2.cvtColor(strip, cv2.COLOR_BGR2RGB))
    d = ImageDraw.Draw(pil)
    font_path = next((b for _, b in _FONT_CANDIDATES if Path(b).exists()), None)
    font = ImageFont.truetype(font_path, 16) if font_path else ImageFont.load_default()
    name = display_source(Path(page.source).name)
    who = f"Số báo danh: {page.participant or '?'}   Mã đề: {page.version or '?'}   ({name}, trang {page.page_no})"
    d.text((12, 6), who, fill=(0, 0, 0), font=font)
    x = 12
    for text, (b, g, r) in LEGEND:
        d.ellipse((x, 40, x + 16, 56), outline=(r, g, b), width=3)
        d.text((x + 22, 38), text, fill=(0, 0, 0), font=font)
        x += 34 + int(d.textlength(text, font=font))
    strip = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
    return np.vstack([img, strip])


def pages_to_annotate(store: Store, *, participant: str | None = None,
                      page_id: int | None = None) -> Iterator[PageToAnnotate]:
    """Every read (not rejected) page with its current score, key and open flags."""
    for p in graded_pages(store, participant=participant, page_id=page_id):
        yield PageToAnnotate(p.page_id, p.source, p.page_no, p.participant, p.version, p.questions,
                             p.keys.get(p.version) if p.keys else None, p.open_flags)


def annotate(store: Store, layout: Layout, out_dir: Path, *, participant: str | None = None,
             options: LoadOptions = LoadOptions()) -> tuple[int, list[str]]:
    """Write one JPEG per page; returns (pages written, problems — e.g. a scan moved since grading)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write to {out_dir}: {exc}") from None
    written, problems = 0, []
    for p in pages_to_annotate(store, participant=participant):
        shown = display_source(p.source)
        refs = plan_pages(p.source, options)
        if isinstance(refs, SheetFailure) or p.page_no > len(refs):
            problems.append(f"{shown} page {p.page_no}: the scan cannot be opened any more "
                            f"({refs.reason if isinstance(refs, SheetFailure) else 'page missing'})")
            continue
        page = load_page(refs[p.page_no - 1], options)
        if isinstance(page, SheetFailure):
            problems.append(f"{shown} page {p.page_no}: {page.reason}")
            continue
        try:
            al = align_any(page.image, layout)
        except AlignmentError as exc:
            problems.append(f"{shown} page {p.page_no}: {exc.message}")
            continue
        img = overlay(straighten(page.image, al.H, layout), layout, p)
        name = f"{p.participant or 'unknown'}_{Path(shown).stem}_p{p.page_no}.jpg"
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
        try:
            (out_dir / name).write_bytes(buf.tobytes())
        except OSError as exc:
            raise OutputError(f"cannot write {out_dir / name}: {exc}") from None
        written += 1
    return written, problems
