"""Print a sheet of another reader's layout (a layout with ``fields``, e.g. imported from OMRChecker) as the
layout describes it: bubbles with their values printed inside (as OMRChecker sheets have them), each question's
label left of its row, and what the layout's alignment method looks for — the corner marker image centred on
the frame's corners (``markers``), the timing marks (``timing_marks``), the frame's rectangle for ``page`` when
the frame is not the paper itself (when it is, the paper's own edge is the outline: nothing is drawn).

The page is first described as drawing items in mm (``sheet_items``), then drawn by one of two backends: a PDF
(reportlab, ``render_pdf``: what ``omr sheet`` prints) or a grayscale raster (PIL, ``render_raster``: what
the sample generator fills and degrades). One description serves both, so the benchmark's sheets are the
printed ones. This module never imports ``omr.sheet`` (which dispatches here): the caller passes the fonts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from .errors import OutputError
from .pdfcanvas import save_sheet, sheet_canvas
from .layout import GroupKind, Layout
from .layout_fields import AlignMethod

HEADING = "ANSWER SHEET"
HINT = "Fill the bubbles completely with a dark pencil. Do not mark outside them."
PDF_FONT, PDF_FONT_BOLD = "OmrSans", "OmrSans-Bold"      # the names omr.sheet registers too
LETTER_EM = 1.25            # a bubble's printed value: font size in bubble radii
LETTER_GREY = 70            # 0 black .. 255 white
RING_MM = 0.22              # bubble outline width
LABEL_MM = 2.6              # question label font size
FRAME_LINE_MM = 0.6


@dataclass(frozen=True, slots=True)
class Circle:
    x: float
    y: float
    r: float                # outer radius; the ring is drawn inside it
    line: float


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    y: float
    text: str
    size: float             # em in mm
    grey: int
    bold: bool = False
    anchor: str = "mm"      # "mm" centred, "rm" right end at x, "lm" left end at x (vertically centred)


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    w: float
    h: float
    line: float = 0.0       # 0: filled black; else an outline this wide (inside the box)


@dataclass(frozen=True, slots=True)
class Picture:
    path: str
    x: float
    y: float
    side: float             # square, top-left at (x, y)


Item = Circle | Text | Box | Picture


def sheet_items(layout: Layout, *, name: str = "", pid: str = "") -> list[Item]:
    """The page in mm (x right, y down from the paper's top-left)."""
    w = layout.width_mm
    items: list[Item] = [Text(w / 2, 14, HEADING, 6, 0, bold=True), Text(w / 2, 22, HINT, 2.8, 40)]
    if name or pid:
        items.append(Text(w / 2, 27, f"{name}  {pid}".strip(), 3.2, 0, bold=True))
    r = layout.bubble_r_mm
    for g in layout.groups:
        for lab, i in zip(g.labels, g.indices):
            y, x = layout.centres_mm[i]
            items += [Circle(x, y, r, RING_MM), Text(x, y, lab, LETTER_EM * r, LETTER_GREY)]
        y0, x0 = layout.centres_mm[g.first]
        if g.kind is GroupKind.QUESTION and g.size > 1 and layout.centres_mm[g.first + 1][0] == y0:
            items.append(Text(x0 - r - 1.2, y0, g.name or g.key, LABEL_MM, 0, bold=True, anchor="rm"))
    spec = layout.align
    if spec.method is AlignMethod.MARKERS and spec.marker:
        s = spec.marker_size_mm
        items += [Picture(spec.marker, cx - s / 2, cy - s / 2, s) for cx, cy in spec.frame_corners_mm()]
    if spec.method is AlignMethod.PAGE and _frame_is_inside(layout):
        items.append(Box(*spec.frame, line=FRAME_LINE_MM))
    for t in spec.tracks:
        items += [Box(cx - t.w_mm / 2, cy - t.h_mm / 2, t.w_mm, t.h_mm) for cx, cy in t.centres_mm()]
    return items


def _frame_is_inside(layout: Layout) -> bool:
    x, y, fw, fh = layout.align.frame
    return x > 0.5 or y > 0.5 or x + fw < layout.width_mm - 0.5 or y + fh < layout.height_mm - 0.5


# -- raster -----------------------------------------------------------------------------------------------
def render_raster(layout: Layout, dpi: float, fonts: tuple[str, str]) -> np.ndarray:
    """The blank sheet at ``dpi`` as a grayscale uint8 array; ``fonts``: regular and bold TrueType files."""
    k = dpi / 25.4
    wid, hgt = int(math.ceil(layout.width_mm * k)), int(math.ceil(layout.height_mm * k))
    img = Image.new("L", (wid, hgt), 255)
    d = ImageDraw.Draw(img)
    pictures = []
    for it in sheet_items(layout):
        if isinstance(it, Circle):
            lw = max(1, int(round(it.line * k)))
            d.ellipse(((it.x - it.r) * k, (it.y - it.r) * k, (it.x + it.r) * k, (it.y + it.r) * k),
                      outline=0, width=lw)
        elif isinstance(it, Text):
            font = ImageFont.truetype(fonts[1] if it.bold else fonts[0], max(6, int(round(it.size * k))))
            d.text((it.x * k, it.y * k), it.text, font=font, fill=it.grey, anchor=it.anchor)
        elif isinstance(it, Box):
            box = (it.x * k, it.y * k, (it.x + it.w) * k - 1, (it.y + it.h) * k - 1)
            if it.line:
                d.rectangle(box, outline=0, width=max(1, int(round(it.line * k))))
            else:
                d.rectangle(box, fill=0)
        else:
            pictures.append(it)
    page = np.asarray(img).copy()
    for p in pictures:
        _paste(page, p, k)
    return page


def _paste(page: np.ndarray, p: Picture, k: float) -> None:
    pic = cv2.imread(p.path, cv2.IMREAD_GRAYSCALE)
    if pic is None:
        raise OutputError(f"the layout's image {p.path} cannot be read")
    side = int(round(p.side * k))
    pic = cv2.resize(pic, (side, side), interpolation=cv2.INTER_AREA)
    x0, y0 = int(round(p.x * k)), int(round(p.y * k))
    win = page[max(0, y0):y0 + side, max(0, x0):x0 + side]
    sub = pic[max(0, -y0):max(0, -y0) + win.shape[0], max(0, -x0):max(0, -x0) + win.shape[1]]
    np.minimum(win, sub, out=win)


# -- PDF --------------------------------------------------------------------------------------------------
def render_pdf(layout: Layout, out: str | Path, fonts: tuple[str, str], *,
               people: list[tuple[str, str]] | None = None, copies: int = 1) -> int:
    """One page per (name, id) in ``people`` (or ``copies`` blank pages); returns the page count."""
    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(PDF_FONT, fonts[0]))
        pdfmetrics.registerFont(TTFont(PDF_FONT_BOLD, fonts[1]))
    c = sheet_canvas(layout, out, font=PDF_FONT, title=layout.title or layout.id)
    pages = people or [("", "")] * copies
    for name, pid in pages:
        for it in sheet_items(layout, name=name, pid=pid):
            _draw_pdf(c, layout.height_mm, it)
        c.showPage()
    save_sheet(c, out)
    return len(pages)


def _draw_pdf(c: Canvas, page_h: float, it: Item) -> None:
    def y(v: float) -> float:
        return (page_h - v) * mm

    if isinstance(it, Circle):
        c.setStrokeGray(0)
        c.setLineWidth(it.line * mm)
        c.circle(it.x * mm, y(it.y), (it.r - it.line / 2) * mm, stroke=1, fill=0)
    elif isinstance(it, Text):
        size = it.size * mm
        c.setFont(PDF_FONT_BOLD if it.bold else PDF_FONT, size)
        c.setFillGray(it.grey / 255)
        base = y(it.y) - 0.35 * size
        {"mm": c.drawCentredString, "rm": c.drawRightString, "lm": c.drawString}[it.anchor](it.x * mm, base,
                                                                                             it.text)
    elif isinstance(it, Box):
        if it.line:
            c.setStrokeGray(0)
            c.setLineWidth(it.line * mm)
            h = it.line / 2
            c.rect((it.x + h) * mm, y(it.y + it.h - h), (it.w - it.line) * mm, (it.h - it.line) * mm,
                   stroke=1, fill=0)
        else:
            c.setFillGray(0)
            c.rect(it.x * mm, y(it.y + it.h), it.w * mm, it.h * mm, stroke=0, fill=1)
    else:
        c.drawImage(ImageReader(it.path), it.x * mm, y(it.y + it.side), it.side * mm, it.side * mm)
