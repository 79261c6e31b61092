"""Render a layout as a print-ready PDF answer sheet (reportlab).

Four ArUco fiducials at the corners, a QR code (contest, layout, page, participant), Vietnamese labels in an
embedded TrueType font, bubbles with their option letters, question numbers and short instructions.
With a roster, one personalised sheet per participant (name and ID printed, ID in the QR) in one PDF.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from .errors import InputError, MissingDependency
from .pdfcanvas import save_sheet, sheet_canvas
from .layout import EssayBox, GroupKind, Layout, MarkingRules, Rect
from .qrpayload import QrPayload
from .table import header_columns, read_table, table_rows

# Fonts with every Vietnamese letter (Debian's fonts-liberation 1.x lacks 92 of them: not listed).
_FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
     "/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf"),
)
FONT, FONT_BOLD = "OmrSans", "OmrSans-Bold"

# An essay box: its border, and its printed label (``label``, else ``id``) at the top left inside it.
ESSAY_BORDER_PT = 0.5            # border line width (centred on the box's edges)
ESSAY_LABEL_FONT = FONT_BOLD
ESSAY_LABEL_SIZE_PT = 9.0
ESSAY_LABEL_DX_MM = 2.0          # label start, right of the box's left edge
ESSAY_LABEL_BASELINE_MM = 4.5    # label baseline, below the box's top edge

INSTRUCTIONS = (
    "Dùng bút chì đen hoặc bút mực đen/xanh.",
    "Tô kín một ô tròn cho mỗi câu hỏi.",
    "Muốn sửa: tẩy thật sạch ô cũ rồi tô ô mới.",
    "Ghi số báo danh và mã đề vào ô vuông,",
    "rồi tô các ô số tương ứng bên dưới.",
    "Không viết, không gạch vào bốn ô vuông",
    "đen ở bốn góc và vào mã QR.",
)

# What the contest's marking rules (layout "marking") say, printed from the same data the reader applies.
MARKING_TEXT: dict[tuple[str, str], str] = {
    ("tick_or_x_on_empty", "mark"): "Dấu ✓ hoặc ✗ trong một ô trống cũng được tính.",
    ("tick_or_x_on_empty", "flag"): "Không đánh ✓ hay ✗: dấu đó phải chờ người chấm.",
    ("crossed_out_fill", "cancel"): "Gạch chéo ✗ lên ô đã tô là huỷ ô đó.",
    ("crossed_out_fill", "flag"): "Ô đã tô bị gạch chéo phải chờ người chấm.",
    ("circle_around", "flag"): "Khoanh tròn quanh ô: phải chờ người chấm.",
    ("circle_around", "mark"): "Khoanh tròn quanh một ô cũng được tính.",
    ("indistinct_marks", "flag"): "Hai ô tô khó phân biệt: phải chờ người chấm.",
    ("indistinct_marks", "both"): "Hai ô tô khó phân biệt: tính là chọn cả hai.",
}


def marking_lines(rules: MarkingRules) -> tuple[str, ...]:
    """The instruction lines for ``rules``, one per rule, in the layout's rule order."""
    return tuple(MARKING_TEXT[(k, v)] for k, v in rules.as_json().items())


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    name: str
    unit: str = ""


def font_files() -> tuple[str, str]:
    """The regular and bold TrueType files of a font with every Vietnamese letter (``MissingDependency``)."""
    for regular, bold in _FONT_CANDIDATES:
        if Path(regular).exists() and Path(bold).exists():
            return regular, bold
    raise MissingDependency(
        "no font with Vietnamese glyphs found; install one: apt-get install fonts-dejavu-core "
        "(or fonts-liberation2)", details=[r for r, _ in _FONT_CANDIDATES])


def register_fonts() -> None:
    """Embed a TrueType font with Vietnamese glyphs (idempotent)."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    regular, bold = font_files()
    pdfmetrics.registerFont(TTFont(FONT, regular))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, bold))


# header names a roster may use (English, or Vietnamese as organisers write them), compared folded
_ROSTER_COLUMNS = {
    "participant_id": ("participant_id", "id", "so bao danh", "sbd", "ma du thi", "ma thi sinh"),
    "name": ("name", "ho va ten", "ho ten", "ten"),
    "unit": ("unit", "don vi", "truong", "don vi / truong"),
}


def read_roster(path: str | Path) -> list[Participant]:
    """A table with columns ``participant_id`` (or ``id``, ``Số báo danh``), ``name`` (``Họ và tên``), optional
    ``unit`` (``Đơn vị``): a CSV in UTF-8 (BOM allowed; commas, semicolons or tabs) or an Excel ``.xlsx``.
    Any other encoding is refused with how to save the file as UTF-8 (never decoded by a guess)."""
    path = Path(path)
    table = read_table(path, what="roster")
    col = header_columns(table[0] if table else [], _ROSTER_COLUMNS)
    if col["participant_id"] is None or col["name"] is None:
        raise InputError(f"roster {path} needs a header row with participant_id and name columns (or Số báo danh "
                         f"and Họ và tên); it has: {', '.join(table[0]) if table else 'nothing'}")

    out, problems, seen = [], [], set()
    for n, row in table_rows(table, col):
        pid, name = row["participant_id"], row["name"]
        if not pid or not name:
            problems.append(f"line {n}: needs participant_id and name")
            continue
        if pid in seen:
            problems.append(f"line {n}: participant_id {pid} appears twice")
        seen.add(pid)
        out.append(Participant(pid, name, row["unit"]))
    if problems or not out:
        raise InputError(f"roster {path} has problems" if problems else f"roster {path} is empty",
                         details=problems)
    return out


def _y(layout: Layout, y_mm: float) -> float:
    """Layout y (mm from the top) → PDF y (points from the bottom)."""
    return (layout.height_mm - y_mm) * mm


def _draw_fiducials(c: Canvas, layout: Layout) -> None:
    dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, layout.aruco_dictionary))
    for marker_id, rect in enumerate(layout.fiducial_rects()):
        cells = cv2.aruco.generateImageMarker(dictionary, marker_id, dictionary.markerSize + 2, borderBits=1)
        n = cells.shape[0]
        cell = rect.w_mm / n
        c.setFillGray(0)
        for r in range(n):
            for col in range(n):
                if cells[r, col] == 0:
                    x = rect.x_mm + col * cell
                    y = rect.y_mm + (r + 1) * cell
                    # overlap a hair so that no white seam appears between black cells when rasterised
                    c.rect(x * mm, _y(layout, y), cell * mm + 0.05, cell * mm + 0.05, stroke=0, fill=1)


def _draw_qr(c: Canvas, layout: Layout, payload: QrPayload, border: int = 3) -> None:
    """Draw the QR modules as filled squares (no renderer defaults: only our embedded font is referenced)."""
    qr = QrCodeWidget(payload.encode(), barLevel="M").qr
    qr.make()
    n = qr.getModuleCount()
    cell = layout.qr.w_mm / (n + 2 * border)
    c.setFillGray(0)
    for r, row in enumerate(qr.modules):
        for col, dark in enumerate(row):
            if dark:
                x = layout.qr.x_mm + (col + border) * cell
                y = layout.qr.y_mm + (r + border + 1) * cell
                c.rect(x * mm, _y(layout, y), cell * mm + 0.05, cell * mm + 0.05, stroke=0, fill=1)


def _bubble(c: Canvas, layout: Layout, x_mm: float, y_mm: float, label: str) -> None:
    r = layout.bubble_r_mm
    c.setStrokeGray(0.15)
    c.setLineWidth(0.6)
    c.circle(x_mm * mm, _y(layout, y_mm), r * mm, stroke=1, fill=0)
    c.setFillGray(0.45)
    size = 6.0 if len(label) == 1 else 4.5
    c.setFont(FONT, size)
    c.drawCentredString(x_mm * mm, _y(layout, y_mm) - size * 0.35, label)


def _draw_digit_grid(c: Canvas, layout: Layout, kind: GroupKind, title: str, value: str | None) -> None:
    groups = layout.digit_groups(kind)
    if not groups:
        return
    r = layout.bubble_r_mm
    first = layout.centres_mm[groups[0].first]
    last = layout.centres_mm[groups[-1].first + groups[-1].size - 1]
    left, right = first[1] - r - 1.5, last[1] + r + 1.5
    top_box = first[0] - r - 7.0
    c.setFillGray(0)
    c.setFont(FONT_BOLD, 8)
    c.drawCentredString((left + right) / 2 * mm, _y(layout, top_box - 1.8), title)
    c.setStrokeGray(0)
    c.setLineWidth(0.5)
    c.rect(left * mm, _y(layout, last[0] + r + 1.5), (right - left) * mm, (last[0] + r + 1.5 - top_box) * mm)
    for i, g in enumerate(groups):
        x = layout.centres_mm[g.first][1]
        # a box to write the digit by hand above each column
        c.setLineWidth(0.4)
        c.rect((x - 2.6) * mm, _y(layout, top_box + 5.6), 5.2 * mm, 5.2 * mm)
        if value is not None and i < len(value):
            c.setFont(FONT_BOLD, 10)
            c.setFillGray(0)
            c.drawCentredString(x * mm, _y(layout, top_box + 4.3), value[i])
        for lab, idx in zip(g.labels, g.indices):
            yy, xx = layout.centres_mm[idx]
            _bubble(c, layout, xx, yy, lab)


def _draw_page(c: Canvas, layout: Layout, participant: Participant | None, page: int = 1) -> None:
    w = layout.width_mm
    _draw_fiducials(c, layout)
    _draw_qr(c, layout, QrPayload(layout.contest, layout.id, page, participant.id if participant else None))

    c.setFillGray(0)
    c.setFont(FONT_BOLD, 14)
    c.drawCentredString(w / 2 * mm, _y(layout, 14), layout.title)
    if layout.subtitle:
        c.setFont(FONT, 8.5)
        c.drawCentredString(w / 2 * mm, _y(layout, 19.5), layout.subtitle)

    fields = (("Họ và tên", participant.name if participant else ""),
              ("Đơn vị / Trường", participant.unit if participant else ""),
              ("Số báo danh", participant.id if participant else ""))
    x0, x1 = 22.0, layout.qr.x_mm - 6
    for i, (label, value) in enumerate(fields):
        y = 30 + i * 7
        c.setFont(FONT, 9.5)
        c.setFillGray(0)
        c.drawString(x0 * mm, _y(layout, y), f"{label}:")
        lx = x0 + c.stringWidth(f"{label}: ", FONT, 9.5) / mm
        if value:
            c.setFont(FONT_BOLD, 10)
            c.drawString(lx * mm, _y(layout, y), value)
        else:
            c.setDash(0.6, 1.6)
            c.setLineWidth(0.4)
            c.line(lx * mm, _y(layout, y + 0.6), x1 * mm, _y(layout, y + 0.6))
            c.setDash()

    _draw_digit_grid(c, layout, GroupKind.PARTICIPANT, "SỐ BÁO DANH", participant.id if participant else None)
    _draw_digit_grid(c, layout, GroupKind.VERSION, "MÃ ĐỀ", None)
    _draw_instructions(c, layout)

    r = layout.bubble_r_mm
    for g in layout.question_groups:
        yy, xx = layout.centres_mm[g.first]
        c.setFillGray(0)
        c.setFont(FONT_BOLD, 8)
        c.drawRightString((xx - r - 1.6) * mm, _y(layout, yy) - 2.8, f"{g.key}.")
        for lab, idx in zip(g.labels, g.indices):
            by, bx = layout.centres_mm[idx]
            _bubble(c, layout, bx, by, lab)

    for e in layout.essays:
        c.setStrokeGray(0)
        c.setLineWidth(ESSAY_BORDER_PT)
        c.rect(e.rect.x_mm * mm, _y(layout, e.rect.y_mm + e.rect.h_mm), e.rect.w_mm * mm, e.rect.h_mm * mm)
        c.setFont(ESSAY_LABEL_FONT, ESSAY_LABEL_SIZE_PT)
        c.drawString((e.rect.x_mm + ESSAY_LABEL_DX_MM) * mm, _y(layout, e.rect.y_mm + ESSAY_LABEL_BASELINE_MM),
                     _essay_label_text(e))

    c.setFont(FONT, 6.5)
    c.setFillGray(0.3)
    footer = f"{layout.contest} · {layout.id} · trang {page}"
    c.drawCentredString(w / 2 * mm, _y(layout, layout.height_mm - layout.fiducial_inset_mm - 2), footer)


def _essay_label_text(box: EssayBox) -> str:
    return box.label or box.id


def essay_label_rect(box: EssayBox) -> Rect:
    """Where the printed label of an essay box lies, in layout mm (the same constants as the drawing code).

    Horizontally from the label's start to its advance width (``stringWidth``); vertically the font's bounding
    box (every glyph, Vietnamese letters with stacked diacritics included) around the baseline: the rectangle
    holds the label's ink (a glyph with a negative side bearing may reach a fraction of a mm past its left edge;
    callers that erase it add a margin). Text written to the right of the label is not in it.
    """
    size_mm = ESSAY_LABEL_SIZE_PT / mm               # 1 pt in mm is 1 / mm
    try:
        register_fonts()
        _, y_min, _, y_max = pdfmetrics.getFont(ESSAY_LABEL_FONT).face.bbox   # 1/1000 em
        width_mm = pdfmetrics.stringWidth(_essay_label_text(box), ESSAY_LABEL_FONT, ESSAY_LABEL_SIZE_PT) / mm
    except MissingDependency:
        # no font here (the machine reading the scans need not be the one that printed them): a bold sans
        # letter averages ~0.65 em; the reader follows the label's own ink from this estimate
        y_min, y_max = -240, 1100
        width_mm = 0.65 * len(_essay_label_text(box)) * size_mm
    baseline = box.rect.y_mm + ESSAY_LABEL_BASELINE_MM
    top = baseline - y_max / 1000 * size_mm
    return Rect(box.rect.x_mm + ESSAY_LABEL_DX_MM, top, width_mm, (y_max - y_min) / 1000 * size_mm)


def _draw_instructions(c: Canvas, layout: Layout) -> None:
    """The instruction box sits to the right of the digit grids, above the questions."""
    grids = [g for g in layout.groups if g.kind is not GroupKind.QUESTION]
    if grids:
        right = max(layout.centres_mm[g.first][1] for g in grids) + layout.bubble_r_mm + 8
        top = min(layout.centres_mm[g.first][0] for g in grids) - layout.bubble_r_mm - 7
    else:
        right, top = 22.0, 52.0
    x, w = max(right, 100.0), layout.width_mm - layout.fiducial_inset_mm - 4 - max(right, 100.0)
    if w < 50:
        return
    c.setFillGray(0)
    c.setFont(FONT_BOLD, 9)
    c.drawString((x + 2) * mm, _y(layout, top + 4), "HƯỚNG DẪN TÔ PHIẾU")
    c.setFont(FONT, 8.2)
    lines = INSTRUCTIONS + marking_lines(layout.marking)
    for i, line in enumerate(lines):
        c.drawString((x + 2) * mm, _y(layout, top + 9 + i * 4.1), line)
    # right and wrong examples (a tick or an X is not wrong where the contest counts it)
    y = top + 9 + len(lines) * 4.1 + 3
    c.drawString((x + 2) * mm, _y(layout, y + 1), "Đúng:")
    c.setFillGray(0)
    c.circle((x + 14) * mm, _y(layout, y), layout.bubble_r_mm * mm, stroke=1, fill=1)
    c.drawString((x + 20) * mm, _y(layout, y + 1), "Sai:")
    wrong = ("•",) if layout.marking.tick_or_x_on_empty == "mark" else ("✓", "✗", "•")
    for k, mark in enumerate(wrong):
        cx = x + 30 + k * 7
        c.setFillGray(0)
        c.circle(cx * mm, _y(layout, y), layout.bubble_r_mm * mm, stroke=1, fill=0)
        c.setFont(FONT, 8)
        c.drawCentredString(cx * mm, _y(layout, y) - 2.6, mark)
        c.setFont(FONT, 8.2)


def render_sheets(layout: Layout, out: str | Path, *, participants: list[Participant] | None = None,
                  copies: int = 1) -> int:
    """Write a PDF with one page per participant (or ``copies`` blank sheets). Returns the page count."""
    if not layout.has_fiducials:             # a sheet printed by another reader, as its layout describes it
        from .sheet_foreign import render_pdf
        people = [(p.name, p.id) for p in participants] if participants else None
        return render_pdf(layout, out, font_files(), people=people, copies=copies)
    register_fonts()
    c = sheet_canvas(layout, out, font=FONT, title=f"{layout.title} — {layout.contest}")
    pages = participants if participants else [None] * copies
    for p in pages:
        _draw_page(c, layout, p)
        c.showPage()
    save_sheet(c, out)
    return len(pages)
