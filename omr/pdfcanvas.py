"""The PDF every printed sheet is drawn on (ours, the national exam's, an imported layout's): one page the size of
the layout's paper, the given font, a title and ``omr sheet`` as its creator; an unwritable path is an
``OutputError`` (exit 8) that says which."""
from __future__ import annotations

from pathlib import Path

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from .errors import OutputError
from .layout import Layout


def sheet_canvas(layout: Layout, out: str | Path, *, font: str, title: str) -> Canvas:
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        c = Canvas(str(out), pagesize=(layout.width_mm * mm, layout.height_mm * mm), pageCompression=1,
                   initialFontName=font, initialFontSize=10)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc}") from None
    c.setTitle(title)
    c.setCreator("omr sheet")
    return c


def save_sheet(c: Canvas, out: str | Path) -> None:
    try:
        c.save()
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc}") from None
