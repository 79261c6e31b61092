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


def rasterise(pdf, dpi=150, page=1):
    """One page of a PDF rasterised by poppler, as a grayscale array (what a printed-and-scanned sheet starts as)."""
    from omr.load import pdftoppm
    return pdftoppm(pdf, page, dpi, timeout=60)
