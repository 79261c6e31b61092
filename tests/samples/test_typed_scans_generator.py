"""``samples.typed_scans``: scans of printed typed entries with their truth; LibreOffice runs once per contest and
seed, the rendered PDFs reused from the cache by a second profile."""
from __future__ import annotations

import json
import shutil

import cv2
import pytest

import samples.typed_scans as ts

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftoppm") is None,
                                reason="LibreOffice and poppler-utils are needed")


@pytest.mark.slow
def test_scans_and_photos_with_truth_rendered_once(tmp_path, monkeypatch):
    calls = []
    real = ts.generate

    def counted(*args, **kwargs):
        calls.append(kwargs["n"])
        return real(*args, **kwargs)

    monkeypatch.setattr(ts, "generate", counted)
    contest = ROOT / "answer_keys" / "demo"
    cache = tmp_path / "cache"
    scans = ts.make_scans(tmp_path / "scan", contest, n=2, profile="scanner", cache=cache)
    photos = ts.make_scans(tmp_path / "phone", contest, n=2, profile="phone", suffix=".pdf", cache=cache)
    assert calls == [2]                                    # the phone profile reused the rendered PDFs
    assert [p.name for p in scans] == ["entry-00001-scanner.tif", "entry-00002-scanner.tif"]
    assert [p.name for p in photos] == ["entry-00001-phone.pdf", "entry-00002-phone.pdf"]
    truth = json.loads((tmp_path / "phone" / "entry-00001.truth.json").read_text(encoding="utf-8"))
    assert truth["file"] == "entry-00001-phone.pdf" and truth["profile"] == "phone" and truth["pages"] >= 1
    assert len(truth["answers"]) == 100 and truth["identity"]["name"]
    ok, pages = cv2.imreadmulti(str(scans[0]), flags=cv2.IMREAD_UNCHANGED)
    assert ok and len(pages) == json.loads((tmp_path / "scan" / "entry-00001.truth.json").read_text())["pages"]
    assert pages[0].ndim == 2 and 2000 < max(pages[0].shape) < 4000          # a grey scan at scanner dpi
