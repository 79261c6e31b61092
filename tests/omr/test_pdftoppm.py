"""``omr.load.pdftoppm``, the one wrapper around poppler, and how its callers (the loader, the sample generator)
turn its errors into theirs. Fake programs on PATH stand in for a poppler that misbehaves."""
from __future__ import annotations

import os
import stat

import numpy as np
import pikepdf
import pytest

from omr import external
from omr.errors import MissingDependency
from omr.load import LoadOptions, load_page, pdftoppm, plan_pages
from omr.records import Reject, SheetFailure
from samples.generator import GenerationError, rasterise


@pytest.fixture(scope="module")
def two_pages(tmp_path_factory) -> str:
    """Two 144 × 72 pt pages: the first black on its left half, cropped to its right half; the second red on its
    right half."""
    pdf = pikepdf.new()
    for content in (b"0 g 0 0 72 72 re f", b"1 0 0 rg 72 0 72 72 re f"):
        page = pdf.add_blank_page(page_size=(144, 72))
        page.Contents = pikepdf.Stream(pdf, content)
    pdf.pages[0].CropBox = pikepdf.Array([72, 0, 144, 72])
    path = str(tmp_path_factory.mktemp("pdf") / "two.pdf")
    pdf.save(path)
    return path


def test_pdftoppm_draws_the_page_asked_for_in_gray_or_colour_within_the_media_or_crop_box(two_pages):
    first = pdftoppm(two_pages, 1, 72, timeout=30)
    assert first.dtype == np.uint8 and first.shape == (72, 144)
    assert (first[:, :72] == 0).all() and (first[:, 72:] == 255).all()
    cropped = pdftoppm(two_pages, 1, 144, cropbox=True, timeout=30)
    assert cropped.shape == (144, 144) and (cropped == 255).all()
    colour = pdftoppm(two_pages, 2, 72, gray=False, timeout=30)
    assert colour.shape == (72, 144, 3)
    assert (colour[:, :72] == 255).all() and (colour[:, 72:] == (0, 0, 255)).all()      # BGR: red
    gray = pdftoppm(two_pages, 2, 72, timeout=30)
    assert (gray[:, :72] == 255).all() and len(np.unique(gray[:, 72:])) == 1 and 50 < gray[0, 100] < 110


def test_pdftoppm_failures_are_external_errors_with_poppler_exit_code(two_pages, tmp_path):
    with pytest.raises(external.ExternalError, match="exit code 99: Wrong page range") as info:
        pdftoppm(two_pages, 3, 72, timeout=30)
    assert info.value.returncode == 99
    with pytest.raises(external.ExternalError, match="exit code 1") as info:
        pdftoppm(tmp_path / "missing.pdf", 1, 72, timeout=30)
    assert "Couldn't open file" in info.value.stderr
    with pytest.raises(ValueError, match="positive timeout"):
        pdftoppm(two_pages, 1, 72, timeout=0)


def _fake_poppler(tmp_path, monkeypatch, script: str | None) -> None:
    """Put a ``pdftoppm`` that runs ``script`` first on PATH (None: no ``pdftoppm`` on PATH at all)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    if script is not None:
        exe = folder / "pdftoppm"
        exe.write_text(f"#!/bin/sh\n{script}\n")
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    else:
        monkeypatch.setenv("PATH", str(folder))


def test_pdftoppm_that_prints_no_image_or_is_missing_or_hangs(two_pages, tmp_path, monkeypatch):
    _fake_poppler(tmp_path, monkeypatch, "printf 'P5 not an image'")
    with pytest.raises(external.ExternalError, match="^no image from pdftoppm$") as info:
        pdftoppm(two_pages, 1, 72, timeout=30)
    assert info.value.returncode == 0
    os.remove(tmp_path / "bin" / "pdftoppm")
    (tmp_path / "bin" / "pdftoppm").write_text("#!/bin/sh\nexec sleep 30\n")
    (tmp_path / "bin" / "pdftoppm").chmod(0o755)
    with pytest.raises(external.ExternalTimeout):
        pdftoppm(two_pages, 1, 72, timeout=0.3)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(external.ExternalError, match="not installed") as info:
        pdftoppm(two_pages, 1, 72, timeout=30)
    assert info.value.returncode is None


@pytest.mark.parametrize("script, code, message", [
    ("printf 'garbage'", Reject.CORRUPT, "page 1 of two.pdf could not be rasterised (no image from pdftoppm); "),
    ("echo broken >&2; exit 3", Reject.CORRUPT, "could not be rasterised (pdftoppm failed with exit code 3: broken)"),
    ("exec sleep 30", Reject.TIMEOUT, "page 1 of two.pdf took longer than 0.3 s to rasterise"),
    (None, Reject.INTERNAL, "install poppler-utils"),
])
def test_the_loader_turns_poppler_failures_into_sheet_failures(two_pages, tmp_path, monkeypatch, script, code,
                                                               message):
    options = LoadOptions(min_long_side_px=100, timeout_s=0.3)
    ref = plan_pages(two_pages, options)[0]
    _fake_poppler(tmp_path, monkeypatch, script)
    failure = load_page(ref, options)
    assert isinstance(failure, SheetFailure) and failure.reason_code is code and message in failure.reason


@pytest.mark.parametrize("script, error, message", [
    ("printf 'garbage'", GenerationError, "pdftoppm gave an unreadable image for "),
    ("echo broken >&2; exit 3", GenerationError, "pdftoppm failed on "),
    (None, MissingDependency, "pdftoppm (poppler) is not installed"),
])
def test_the_sample_generator_turns_poppler_failures_into_its_errors(two_pages, tmp_path, monkeypatch, script,
                                                                     error, message):
    _fake_poppler(tmp_path, monkeypatch, script)
    with pytest.raises(error) as info:
        rasterise(two_pages, 1, 72)
    assert message in str(info.value)
    if script and "broken" in script:
        assert info.value.details == ("broken\n",)


def test_the_sample_generator_rasterises_through_the_wrapper(two_pages):
    assert np.array_equal(rasterise(two_pages, 2, 72), pdftoppm(two_pages, 2, 72, timeout=30))
