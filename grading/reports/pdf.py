"""Reports as PDF for people (reportlab, the project's embedded Vietnamese font; charts drawn by matplotlib where
people would rather look than read): a title, then sections — a heading, an optional bar chart, a table.

``write_pdf(title, sections, out)``: ``sections`` are ``Section`` records built by the report modules from the
same rows as their XLSX; numbers are shown as people write them (``7,5``).
"""
from __future__ import annotations

import io
from xml.sax.saxutils import escape
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omr.errors import OutputError

from ..numbers import show_points

MAX_ROWS = 400            # a table longer than this is cut, with a line saying how many rows the XLSX has
WIDE = 10                 # a table of more columns is printed on landscape pages


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    rows: tuple[dict[str, Any], ...]
    chart: Chart | None = None


def _cell(value: Any) -> str:
    """A cell for a reportlab Paragraph: numbers as people write them, markup characters escaped."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return show_points(int(value) if value == int(value) else value)
    return escape(str(value))


def sections_of(sheets: dict[str, Sequence[dict[str, Any]]],
                charts: dict[str, tuple[str, str, str]]) -> list[Section]:
    """One section per sheet; ``charts``: sheet → (label column, value column, chart title)."""
    out = []
    for name, rows in sheets.items():
        chart = None
        if name in charts:
            label, value, title = charts[name]
            pairs = [(str(r.get(label) or ""), float(r.get(value) or 0)) for r in rows]
            chart = Chart(title, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))
        out.append(Section(name, tuple(rows), chart))
    return out


def chart_png(chart: Chart) -> bytes:
    """A horizontal bar chart (DejaVu Sans: Vietnamese glyphs) as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    height = max(1.6, 0.28 * len(chart.labels) + 0.8)
    fig, ax = plt.subplots(figsize=(6.5, height), dpi=110)
    try:
        ax.barh(list(chart.labels)[::-1], list(chart.values)[::-1], color="#2f6db5")
        ax.set_title(chart.title, fontsize=10, fontfamily="DejaVu Sans")
        ax.tick_params(labelsize=8)
        if all(float(v).is_integer() for v in chart.values):       # counts: whole-number ticks
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for label in ax.get_yticklabels():
            label.set_fontfamily("DejaVu Sans")
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)


def write_pdf(title: str, sections: Sequence[Section], out: str | Path) -> Path:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from omr.sheet import FONT, FONT_BOLD, register_fonts

    register_fonts()
    h1 = ParagraphStyle("h1", fontName=FONT_BOLD, fontSize=15, leading=19, spaceAfter=6)
    h2 = ParagraphStyle("h2", fontName=FONT_BOLD, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=4)
    body = ParagraphStyle("body", fontName=FONT, fontSize=7.5, leading=9)
    wide = max((len(s.rows[0]) for s in sections if s.rows), default=0) > WIDE
    page, margin = (landscape(A4) if wide else A4), 15 * mm
    max_h = page[1] - 2 * margin - 30 * mm            # a chart fits on a page under its heading
    story: list[Any] = [Paragraph(title, h1)]
    for s in sections:
        story.append(Paragraph(s.heading, h2))
        if s.chart is not None and s.chart.values:
            png = chart_png(s.chart)
            img = Image(io.BytesIO(png))
            scale = min(170 * mm / img.imageWidth, max_h / img.imageHeight)
            img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
            story += [img, Spacer(1, 3 * mm)]
        if not s.rows:
            if s.chart is None:
                story.append(Paragraph("(không có dữ liệu)", body))
            continue
        head = list(s.rows[0])
        data = [[Paragraph(escape(h), body) for h in head]] + [[Paragraph(_cell(r.get(h)), body) for h in head]
                                                        for r in s.rows[:MAX_ROWS]]
        table = Table(data, repeatRows=1, hAlign="LEFT")
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(table)
        if len(s.rows) > MAX_ROWS:
            story.append(Paragraph(f"… và {len(s.rows) - MAX_ROWS} dòng nữa (xem bản XLSX).", body))
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        SimpleDocTemplate(str(out), pagesize=page, leftMargin=margin, rightMargin=margin,
                          topMargin=margin, bottomMargin=margin, title=title).build(story)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc}; choose a writable --out") from None
    return out
