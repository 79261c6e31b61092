import os
import subprocess
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
    import cv2
    import numpy as np

    png = subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-f", str(page), "-l", str(page), "-png", str(pdf)],
                         check=True, capture_output=True, timeout=60).stdout
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
