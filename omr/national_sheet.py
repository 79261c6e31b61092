"""Print the Vietnamese national exam's answer sheet (2025 format) as the Ministry prints it (reportlab).

What is printed comes from the layout (``answer_keys/national2025/layout.json``, ``"printing":
"vn-thpt-2025"``): every bubble where the layout has it, the boxes of Phần I / II / III drawn around their
bubbles, the candidate-number and test-code grids with their write-in boxes, the black corner squares the
reader aligns on (the layout's marker frame) and timing marks — small black bars along the left edge, one per
row of bubbles. No ArUco marker and no QR code of ours: reading it is the markerless path.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from .pdfcanvas import save_sheet, sheet_canvas
from .layout import Group, GroupKind, Layout
from .sheet import FONT, FONT_BOLD, register_fonts

CORNER_MM = 5.0                  # the black corner squares (the layout's marker image is one, with its margin)
TIMING_W_MM, TIMING_H_MM = 4.0, 1.4
TIMING_X_MM = 8.0
BUBBLE_LINE_PT = 0.6             # outlines: thicker ones align blurred photos better but read as ink near fills
HEADER = ("BỘ GIÁO DỤC VÀ ĐÀO TẠO", "KỲ THI TỐT NGHIỆP TRUNG HỌC PHỔ THÔNG NĂM 2025")
INFO = ("1. Hội đồng thi:", "2. Điểm thi:", "3. Phòng thi số:", "4. Họ và tên thí sinh:", "5. Ngày sinh:",
        "6. Chữ ký của thí sinh:", "7. Môn thi:", "8. Ngày thi:")
PART_TEXT = {
    "I": ("PHẦN I", "Thí sinh trả lời từ câu 1 đến câu 40. Mỗi câu hỏi thí sinh chỉ chọn một phương án."),
    "II": ("PHẦN II", "Thí sinh trả lời từ câu 1 đến câu 8. Mỗi ý a), b), c), d) thí sinh chọn Đúng hoặc Sai."),
    "III": ("PHẦN III", "Thí sinh trả lời từ câu 1 đến câu 6. Ghi kết quả vào ô trống, rồi tô dấu trừ, dấu phẩy "
                        "và chữ số tương ứng."),
}
FOOTER = ("Thí sinh dùng bút chì đen tô kín các ô tròn. Muốn sửa: tẩy thật sạch ô cũ rồi tô ô mới.",
          "Không viết, vẽ, tô vào các ô vuông đen ở bốn góc phiếu và các vạch đen ở lề trái.")


def render_national(layout: Layout, out: str | Path, *, copies: int = 1) -> int:
    """Write ``copies`` blank sheets of ``layout`` to the PDF ``out``. Returns the page count."""
    register_fonts()
    c = sheet_canvas(layout, out, font=FONT, title=f"{layout.title} — {layout.subtitle}")
    for _ in range(copies):
        _page(c, layout)
        c.showPage()
    save_sheet(c, out)
    return copies


class _Pen:
    """Layout mm (origin top-left, y down) on a reportlab canvas (origin bottom-left, points)."""

    def __init__(self, c: Canvas, layout: Layout) -> None:
        self.c, self.h = c, layout.height_mm

    def rect(self, x: float, y: float, w: float, h: float, *, fill: bool = False, width: float = 0.6) -> None:
        self.c.setLineWidth(width)
        self.c.rect(x * mm, (self.h - y - h) * mm, w * mm, h * mm, stroke=0 if fill else 1, fill=1 if fill else 0)

    def text(self, x: float, y: float, s: str, size: float, *, bold: bool = False, align: str = "left",
             gray: float = 0.0) -> None:
        self.c.setFillGray(gray)
        self.c.setFont(FONT_BOLD if bold else FONT, size)
        draw = {"left": self.c.drawString, "centre": self.c.drawCentredString, "right": self.c.drawRightString}
        draw[align](x * mm, (self.h - y) * mm - size * 0.35, s)
        self.c.setFillGray(0)

    def bubble(self, x: float, y: float, r: float, label: str) -> None:
        self.c.setStrokeGray(0.1)
        self.c.setLineWidth(BUBBLE_LINE_PT)
        self.c.circle(x * mm, (self.h - y) * mm, r * mm, stroke=1, fill=0)
        if label:
            self.text(x, y, label, 5.6 if len(label) == 1 else 4.4, align="centre", gray=0.4)
        self.c.setStrokeGray(0)


def _page(c: Canvas, layout: Layout) -> None:
    pen = _Pen(c, layout)
    r = layout.bubble_r_mm
    for x, y in layout.align.frame_corners_mm():
        pen.rect(x - CORNER_MM / 2, y - CORNER_MM / 2, CORNER_MM, CORNER_MM, fill=True)
    for y in _rows(layout):
        pen.rect(TIMING_X_MM, y - TIMING_H_MM / 2, TIMING_W_MM, TIMING_H_MM, fill=True)
    for i, line in enumerate(HEADER):
        pen.text(68, 16 + 5 * i, line, 8.5, bold=True, align="centre")
    pen.text(68, 28, layout.title, 12, bold=True, align="centre")
    for i, line in enumerate(INFO):
        pen.text(16, 40 + 5.6 * i, line, 8.5)
        pen.c.setDash(0.6, 1.6)
        y = (pen.h - 41.2 - 5.6 * i) * mm
        pen.c.line(17 * mm + stringWidth(line, FONT, 8.5), y, 124 * mm, y)
        pen.c.setDash()
    _digit_grid(pen, layout, GroupKind.PARTICIPANT, "Số báo danh")
    _digit_grid(pen, layout, GroupKind.VERSION, "Mã đề")
    _part_one(pen, layout)
    _part_two(pen, layout)
    _part_three(pen, layout)
    for i, line in enumerate(FOOTER):
        pen.text(105, 272 + 4.5 * i, line, 7.5, align="centre")
    for i in range(len(layout.groups)):
        g = layout.groups[i]
        for lab, k in zip(g.labels, g.indices):
            y, x = layout.centres_mm[k]
            pen.bubble(float(x), float(y), r, "" if g.kind is GroupKind.QUESTION and lab in ("Đ", "S") else lab)


def _rows(layout: Layout) -> list[float]:
    """The y of every row of bubbles below the header (one timing mark each)."""
    ys = sorted({round(float(y), 2) for y in layout.centres_mm[:, 0]})
    return [y for y in ys if y > 90]


def _box(pen: _Pen, layout: Layout, groups: list[Group], top: float, bottom_pad: float = 3.0,
         left_pad: float = 3.0) -> tuple[float, float, float, float]:
    idx = [k for g in groups for k in g.indices]
    pts = layout.centres_mm[idx]
    r = layout.bubble_r_mm
    x0, x1 = float(pts[:, 1].min()) - r - left_pad, float(pts[:, 1].max()) + r + 3.0
    y1 = float(pts[:, 0].max()) + r + bottom_pad
    pen.rect(x0, top, x1 - x0, y1 - top, width=0.8)
    return x0, top, x1, y1


def _digit_grid(pen: _Pen, layout: Layout, kind: GroupKind, title: str) -> None:
    gs = layout.digit_groups(kind)
    if not gs:
        return
    top = float(layout.centres_mm[gs[0].first, 0]) - 13.0
    x0, _, x1, _ = _box(pen, layout, list(gs), top, left_pad=2.0)
    pen.text((x0 + x1) / 2, top + 3, title, 8, bold=True, align="centre")
    for g in gs:
        x = float(layout.centres_mm[g.first, 1])
        pen.rect(x - 2.3, top + 5.5, 4.6, 5.0, width=0.5)


def _part_header(pen: _Pen, part: str, y: float) -> None:
    name, text = PART_TEXT[part]
    pen.text(14, y, name, 9, bold=True)
    pen.text(31, y, text, 7.2)


def _part_one(pen: _Pen, layout: Layout) -> None:
    gs = [g for g in layout.question_groups if g.key.startswith("I.")]
    if not gs:
        return
    cols: dict[float, list[Group]] = defaultdict(list)
    for g in gs:
        cols[round(float(layout.centres_mm[g.first, 1]), 1)].append(g)
    top = float(layout.centres_mm[gs[0].first, 0]) - 8.0
    _part_header(pen, "I", top - 4.5)
    for col in cols.values():
        _box(pen, layout, col, top, left_pad=10.0)
        for lab, k in zip(col[0].labels, col[0].indices):
            pen.text(float(layout.centres_mm[k, 1]), top + 3.2, lab, 8, bold=True, align="centre")
        for g in col:
            y, x = layout.centres_mm[g.first]
            pen.text(float(x) - layout.bubble_r_mm - 2.5, float(y), g.key.split(".", 1)[1], 8, bold=True,
                     align="right")


def _part_two(pen: _Pen, layout: Layout) -> None:
    gs = [g for g in layout.question_groups if g.key.startswith("II.")]
    if not gs:
        return
    by_q: dict[str, list[Group]] = defaultdict(list)
    for g in gs:
        by_q[g.key[:-1]].append(g)
    top = float(layout.centres_mm[gs[0].first, 0]) - 11.0
    _part_header(pen, "II", top - 4.5)
    qs = list(by_q.items())
    for pair in (qs[i:i + 2] for i in range(0, len(qs), 2)):
        x0, _, _, _ = _box(pen, layout, [g for _, q in pair for g in q], top, left_pad=8.5)
        for g in pair[0][1]:
            pen.text(x0 + 1.8, float(layout.centres_mm[g.first, 0]), g.key[-1] + ")", 8, bold=True)
        for q, statements in pair:
            xs = layout.centres_mm[list(statements[0].indices), 1]
            pen.text(float(np.mean(xs)), top + 3, "Câu " + q.split(".", 1)[1], 8, bold=True, align="centre")
            for x, word in zip(xs, ("Đúng", "Sai")):
                pen.text(float(x), top + 7, word, 6.5, align="centre")


def _part_three(pen: _Pen, layout: Layout) -> None:
    if not layout.numeric_ids:
        return
    cols = layout.digit_groups(GroupKind.NUMERIC)
    top = float(layout.centres_mm[cols[0].first, 0]) - 15.0
    _part_header(pen, "III", top - 4.5)
    for q in layout.numeric_ids:
        mine = [g for g in cols if g.name == q]
        x0, _, x1, _ = _box(pen, layout, mine, top)
        pen.text((x0 + x1) / 2, top + 3, "Câu " + q.split(".", 1)[1], 8, bold=True, align="centre")
        for g in mine:
            pen.rect(float(layout.centres_mm[g.first, 1]) - 2.3, top + 5.5, 4.6, 5.0, width=0.5)
