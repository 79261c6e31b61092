import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

ROOT = Path(__file__).resolve().parent.parent
DEMO_LAYOUT = ROOT / "answer_keys" / "demo" / "layout.json"


@pytest.fixture(scope="session")
def demo_layout():
    from omr.layout import load_layout
    return load_layout(DEMO_LAYOUT)


@pytest.fixture(scope="session")
def demo_sheet(tmp_path_factory, demo_layout):
    """The demo sheet printed for candidate 123456 and rasterised at 150 dpi, unfilled; read-only (copy it to draw)."""
    from omr.sheet import Participant, render_sheets
    pdf = tmp_path_factory.mktemp("demo_sheet") / "sheet.pdf"
    render_sheets(demo_layout, pdf, participants=[Participant("123456", "Đỗ Minh Châu")])
    img = rasterise(pdf, dpi=150)
    img.flags.writeable = False
    return img


def rasterise(pdf, dpi=150, page=1):
    """One page of a PDF rasterised by poppler, as a grayscale array (what a printed-and-scanned sheet starts as)."""
    from omr.load import pdftoppm
    return pdftoppm(pdf, page, dpi, timeout=60)
