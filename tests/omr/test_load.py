"""omr.load and omr.external: every input built here, tiny and exact."""
from __future__ import annotations

import io
import math
import os
import struct
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import psutil
import pytest
from PIL import Image

from omr import external
from omr.errors import MissingDependency
from omr.load import LoadOptions, PageRef, check_dependencies, discover, load_page, plan_pages
from omr.records import Page, Reject, SheetFailure

from process_support import ProcessTree

OPTS = LoadOptions()
A4_300 = (3508, 2480)          # rows, cols


def _scan_like(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full(shape, 235, np.uint8)
    for i in range(0, shape[0] - 200, 90):
        cv2.putText(img, f"Cau {i // 90 + 1}  (A) (B) (C) (D)", (100, 150 + i), cv2.FONT_HERSHEY_SIMPLEX,
                    shape[0] / 1500, 30, 2)
    noise = rng.normal(0, 4, shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def _jpeg(img: np.ndarray, dpi: int | None = None, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    data = buf.tobytes()
    if dpi is not None:          # patch the JFIF APP0 density that OpenCV writes (units=1: dots per inch)
        assert data[6:11] == b"JFIF\x00"
        data = data[:13] + bytes([1]) + struct.pack(">HH", dpi, dpi) + data[18:]
    return data


@pytest.fixture(scope="module")
def a4_jpeg() -> bytes:
    return _jpeg(_scan_like(A4_300), dpi=300)


def _write(tmp_path, name: str, data: bytes) -> str:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return str(p)


def _plan_one(path: str, options: LoadOptions = OPTS) -> list[PageRef]:
    refs = plan_pages(path, options)
    assert isinstance(refs, list), refs
    return refs


def _rejected(result, code: Reject) -> SheetFailure:
    assert isinstance(result, SheetFailure), f"expected a rejection {code}, got {result!r}"
    assert result.reason_code is code, (result.reason_code, result.reason)
    assert result.reason and "Traceback" not in result.reason
    return result


def _image_pdf(jpegs: list[bytes], sizes: list[tuple[int, int]], page_pt=(595.0, 842.0)) -> bytes:
    pdf = pikepdf.new()
    for data, (h, w) in zip(jpegs, sizes):
        page = pdf.add_blank_page(page_size=page_pt)
        im = pikepdf.Stream(pdf, data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=w, Height=h,
                            ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8, Filter=pikepdf.Name.DCTDecode)
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=im))
        page.Contents = pikepdf.Stream(pdf, f"q {page_pt[0]} 0 0 {page_pt[1]} 0 0 cm /Im0 Do Q".encode())
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------ good inputs

def test_jpeg_a4_300dpi_decodes_at_half_scale(tmp_path, a4_jpeg):
    path = _write(tmp_path, "scan.jpg", a4_jpeg)
    refs = _plan_one(path)
    assert refs == [PageRef(path, 0, "jpeg")]
    page = load_page(refs[0], OPTS)
    assert isinstance(page, Page)
    assert page.image.dtype == np.uint8 and page.image.shape == (1754, 1240)
    assert page.scale == 2.0 and page.dpi == pytest.approx(150.0)
    assert (page.source, page.page) == (path, 1)
    full = cv2.imdecode(np.frombuffer(a4_jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert abs(float(page.image.mean()) - float(full.mean())) < 1.0


def test_jpeg_reduction_follows_target(tmp_path, a4_jpeg):
    path = _write(tmp_path, "scan.jpg", a4_jpeg)
    page = load_page(PageRef(path, 0, "jpeg"), LoadOptions(target_long_side_px=800))
    assert page.scale == 4.0 and page.image.shape == (877, 620)
    page = load_page(PageRef(path, 0, "jpeg"), LoadOptions(target_long_side_px=3000))
    assert page.scale == 1.0 and page.image.shape == A4_300


def test_colour_jpeg_without_density_and_misleading_extension(tmp_path):
    img = cv2.cvtColor(_scan_like((1600, 1200)), cv2.COLOR_GRAY2BGR)
    img[:, :, 2] = 200
    ok, buf = cv2.imencode(".jpg", img)
    path = _write(tmp_path, "photo.png", buf.tobytes())        # a JPEG named .png: sniffed by content
    refs = _plan_one(path)
    assert refs[0].kind == "jpeg"
    page = load_page(refs[0], OPTS)
    assert page.image.ndim == 2 and page.image.shape == (1600, 1200)
    assert page.scale == 1.0 and page.dpi is None


def test_png_16bit_with_phys_is_8bit_gray(tmp_path):
    img16 = (_scan_like((2000, 1400)).astype(np.uint16) * 257)
    ok, buf = cv2.imencode(".png", img16)
    path = _write(tmp_path, "scan.png", buf.tobytes())
    page = load_page(_plan_one(path)[0], OPTS)
    assert page.image.dtype == np.uint8 and page.image.shape == (2000, 1400)
    assert np.array_equal(page.image, (img16 >> 8).astype(np.uint8))
    assert page.scale == 1.0


def test_large_png_reduced_by_integer_factor_with_dpi(tmp_path):
    img = _scan_like(A4_300)
    bio = io.BytesIO()
    Image.fromarray(img).save(bio, format="PNG", dpi=(300, 300))
    path = _write(tmp_path, "scan.png", bio.getvalue())
    page = load_page(_plan_one(path)[0], OPTS)
    assert page.scale == 2.0 and page.image.shape == (1754, 1240)
    assert page.dpi == pytest.approx(150.0, abs=0.2)
    expected = cv2.resize(img, (1240, 1754), interpolation=cv2.INTER_AREA)
    assert np.array_equal(page.image, expected)


def test_png_alpha_composited_on_white(tmp_path):
    rgba = np.zeros((1200, 1000, 4), np.uint8)          # fully transparent black → white paper
    rgba[:100, :, 3] = 255                               # opaque black band
    ok, buf = cv2.imencode(".png", rgba)
    page = load_page(_plan_one(_write(tmp_path, "a.png", buf.tobytes()))[0], OPTS)
    assert page.image[500, 500] == 255 and page.image[50, 500] == 0


def test_three_page_tiff(tmp_path):
    frames = [np.full((1500, 1100), 40 * (i + 1), np.uint8) for i in range(3)]
    frames[2] = _scan_like((1500, 1100), seed=3)
    bio = io.BytesIO()
    pil = [Image.fromarray(f) for f in frames]
    pil[0].save(bio, format="TIFF", save_all=True, append_images=pil[1:], compression="tiff_lzw", dpi=(200, 200))
    path = _write(tmp_path, "batch.tif", bio.getvalue())
    refs = _plan_one(path)
    assert refs == [PageRef(path, i, "tiff") for i in range(3)]
    for i, ref in enumerate(refs):
        page = load_page(ref, OPTS)
        assert page.page == i + 1 and page.scale == 1.0 and page.dpi == pytest.approx(200.0)
        assert np.array_equal(page.image, frames[i])


def test_group4_tiff(tmp_path):
    img = _scan_like((1800, 1300)) > 128
    bio = io.BytesIO()
    Image.fromarray(img).save(bio, format="TIFF", compression="group4", dpi=(300, 300))
    page = load_page(_plan_one(_write(tmp_path, "g4.tiff", bio.getvalue()))[0], OPTS)
    assert page.image.dtype == np.uint8 and page.image.shape == (1800, 1300)
    assert np.array_equal(page.image, np.where(img, 255, 0).astype(np.uint8))


def test_pdf_of_embedded_jpegs_extracts_the_jpeg(tmp_path, a4_jpeg):
    small = _jpeg(_scan_like((1400, 1000), seed=1))
    data = _image_pdf([a4_jpeg, small], [A4_300, (1400, 1000)])
    path = _write(tmp_path, "scans.pdf", data)
    refs = _plan_one(path)
    assert [(r.index, r.kind) for r in refs] == [(0, "pdf"), (1, "pdf")]
    p1, p2 = load_page(refs[0], OPTS), load_page(refs[1], OPTS)
    assert np.array_equal(p1.image, cv2.imdecode(np.frombuffer(a4_jpeg, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_2))
    assert p1.scale == 2.0 and p1.dpi == pytest.approx(2480 / (595 / 72) / 2, rel=1e-3)
    assert np.array_equal(p2.image, cv2.imdecode(np.frombuffer(small, np.uint8), cv2.IMREAD_GRAYSCALE))
    assert p2.scale == 1.0 and p2.page == 2
    # without the page-object hint, the worker finds the same page through the page tree
    p2b = load_page(PageRef(path, 1, "pdf"), OPTS)
    assert np.array_equal(p2b.image, p2.image)


def test_pdf_flate_image_page(tmp_path):
    img = _scan_like((1400, 1000))
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(360, 504))
    im = pikepdf.Stream(pdf, img.tobytes(), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=1000,
                        Height=1400, ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8)
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=im))
    page.Contents = pikepdf.Stream(pdf, b"q 360 0 0 504 0 0 cm /Im0 Do Q")
    path = str(tmp_path / "flate.pdf")
    pdf.save(path)                                       # pikepdf compresses the stream with Flate
    out = load_page(_plan_one(path)[0], OPTS)
    assert np.array_equal(out.image, img) and out.dpi == pytest.approx(200.0)


def test_vector_pdf_page_is_rasterised(tmp_path):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = str(tmp_path / "vector.pdf")
    c = canvas.Canvas(path, pagesize=A4)
    c.setFont("Helvetica", 24)
    c.drawString(72, 700, "Phieu tra loi trac nghiem")
    c.rect(72, 72, 200, 100, fill=1)
    c.showPage()
    c.save()
    refs = _plan_one(path)
    page = load_page(refs[0], OPTS)
    assert page.scale == 1.0 and page.dpi == OPTS.rasterise_dpi == 200
    # poppler rounds the page size up: A4 (595.28 × 841.89 pt) at 200 dpi is 1654 × 2339 px
    assert page.image.shape == (math.ceil(A4[1] / 72 * 200), math.ceil(A4[0] / 72 * 200)) == (2339, 1654)
    assert page.image.min() < 50 and np.median(page.image) == 255


# ------------------------------------------------------------------------------------------------- bad inputs

def test_empty_file(tmp_path):
    r = _rejected(plan_pages(_write(tmp_path, "empty.jpg", b""), OPTS), Reject.EMPTY_FILE)
    assert r.page is None and "empty" in r.reason


def test_truncated_jpeg(tmp_path, a4_jpeg):
    path = _write(tmp_path, "cut.jpg", a4_jpeg[: len(a4_jpeg) // 2])
    r = _rejected(plan_pages(path, OPTS), Reject.TRUNCATED)
    assert "cut off" in r.reason
    _rejected(load_page(PageRef(path, 0, "jpeg"), OPTS), Reject.TRUNCATED)


def test_jpeg_with_trailing_bytes_after_eoi_is_accepted(tmp_path):
    data = _jpeg(_scan_like((1400, 1000))) + b"\x00" * 100_000
    page = load_page(_plan_one(_write(tmp_path, "pad.jpg", data))[0], OPTS)
    assert page.image.shape == (1400, 1000)


def test_truncated_png_and_tiff(tmp_path):
    ok, buf = cv2.imencode(".png", _scan_like((1400, 1000)))
    png = buf.tobytes()
    _rejected(plan_pages(_write(tmp_path, "cut.png", png[: len(png) // 2]), OPTS), Reject.TRUNCATED)
    _rejected(load_page(PageRef(str(tmp_path / "cut.png"), 0, "png"), OPTS), Reject.TRUNCATED)
    bio = io.BytesIO()
    frames = [Image.fromarray(_scan_like((1400, 1000), seed=i)) for i in range(2)]
    frames[0].save(bio, format="TIFF", save_all=True, append_images=frames[1:])
    tif = bio.getvalue()
    for cut in (len(tif) // 2, len(tif) - 50):
        _rejected(plan_pages(_write(tmp_path, f"cut{cut}.tif", tif[:cut]), OPTS), Reject.TRUNCATED)


def test_random_bytes_named_jpg(tmp_path):
    data = np.random.default_rng(5).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    r = _rejected(plan_pages(_write(tmp_path, "scan.jpg", b"\x01" + data), OPTS), Reject.UNSUPPORTED_TYPE)
    assert "named .jpg" in r.reason


def test_jpeg_header_then_garbage_is_corrupt(tmp_path):
    data = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 10
    _rejected(plan_pages(_write(tmp_path, "bad.jpg", data), OPTS), Reject.CORRUPT)


def test_text_file(tmp_path):
    r = _rejected(plan_pages(_write(tmp_path, "notes.txt", "Điểm thi lớp 12A\n".encode() * 50), OPTS),
                  Reject.UNSUPPORTED_TYPE)
    assert "text file" in r.reason
    r = _rejected(plan_pages(_write(tmp_path, "fake.jpg", b"this is not a picture\n"), OPTS), Reject.UNSUPPORTED_TYPE)
    assert "text file" in r.reason and ".jpg" in r.reason


def test_zip_and_docx(tmp_path):
    zpath, dpath = tmp_path / "scans.zip", tmp_path / "essay.docx"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("a.jpg", b"x")
    with zipfile.ZipFile(dpath, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    assert "unzip" in _rejected(plan_pages(str(zpath), OPTS), Reject.UNSUPPORTED_TYPE).reason
    assert "Word document" in _rejected(plan_pages(str(dpath), OPTS), Reject.UNSUPPORTED_TYPE).reason


def test_encrypted_pdf(tmp_path, a4_jpeg):
    src = pikepdf.open(io.BytesIO(_image_pdf([a4_jpeg], [A4_300])))
    path = str(tmp_path / "locked.pdf")
    src.save(path, encryption=pikepdf.Encryption(owner="o", user="u"))
    r = _rejected(plan_pages(path, OPTS), Reject.ENCRYPTED)
    assert "password-protected" in r.reason and "remove the password" in r.reason
    _rejected(load_page(PageRef(path, 0, "pdf"), OPTS), Reject.ENCRYPTED)


def test_corrupt_and_truncated_pdf(tmp_path, a4_jpeg):
    _rejected(plan_pages(_write(tmp_path, "bad.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 100 + b"\n%%EOF\n"), OPTS),
              Reject.CORRUPT)
    data = _image_pdf([a4_jpeg], [A4_300])
    _rejected(plan_pages(_write(tmp_path, "cut.pdf", data[: len(data) // 2]), OPTS), Reject.TRUNCATED)


def test_pdf_with_zero_pages(tmp_path):
    path = str(tmp_path / "nopages.pdf")
    pikepdf.new().save(path)
    r = _rejected(plan_pages(path, OPTS), Reject.NO_PAGES)
    assert "no pages" in r.reason


def test_too_many_pages(tmp_path):
    small = _jpeg(_scan_like((1400, 1000)))
    path = _write(tmp_path, "many.pdf", _image_pdf([small] * 3, [(1400, 1000)] * 3))
    _rejected(plan_pages(path, LoadOptions(max_pages=2)), Reject.TOO_MANY_PAGES)


def test_image_too_small(tmp_path):
    path = _write(tmp_path, "thumb.jpg", _jpeg(_scan_like((600, 450))))
    r = _rejected(plan_pages(path, OPTS), Reject.TOO_SMALL)         # from the header, nothing decoded
    assert "450×600 px" in r.reason and "1000 px" in r.reason
    r = _rejected(load_page(PageRef(path, 0, "jpeg"), OPTS), Reject.TOO_SMALL)
    assert r.page == 1


def test_decompression_bomb_rejected_from_header(tmp_path):
    data = bytearray(_jpeg(np.full((100, 100), 200, np.uint8)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 30000, 30000)
    path = _write(tmp_path, "bomb.jpg", bytes(data))
    r = _rejected(plan_pages(path, OPTS), Reject.TOO_LARGE)
    assert "30000×30000" in r.reason
    _rejected(load_page(PageRef(path, 0, "jpeg"), OPTS), Reject.TOO_LARGE)
    ok, buf = cv2.imencode(".png", np.zeros((10, 10), np.uint8))
    png = bytearray(buf.tobytes())
    png[16:24] = struct.pack(">II", 30000, 30000)
    _rejected(plan_pages(_write(tmp_path, "bomb.png", bytes(png)), OPTS), Reject.TOO_LARGE)


def test_file_over_size_limit(tmp_path, a4_jpeg):
    path = _write(tmp_path, "big.jpg", a4_jpeg)
    r = _rejected(plan_pages(path, LoadOptions(max_file_bytes=1000)), Reject.TOO_LARGE)
    assert "limit" in r.reason


def test_missing_file_at_load_time(tmp_path):
    r = _rejected(load_page(PageRef(str(tmp_path / "gone.jpg"), 0, "jpeg"), OPTS), Reject.NOT_FOUND)
    assert r.page == 1


# -------------------------------------------------------------------------------------------------- discover

def test_discover_nested_hidden_sorted_dedup(tmp_path):
    for rel in ("b/scan10.jpg", "b/scan2.jpg", "a.jpg", "b/.hidden.jpg", ".cache/x.jpg", "b/c/d.pdf",
                "b/Thumbs.db"):
        _write(tmp_path, rel, b"x")
    os.symlink(tmp_path / "a.jpg", tmp_path / "link.jpg")
    files, failures = discover([str(tmp_path), str(tmp_path / "a.jpg"), str(tmp_path / "missing")])
    rel = [os.path.relpath(f, tmp_path) for f in files]
    assert rel == ["a.jpg", "b/c/d.pdf", "b/scan2.jpg", "b/scan10.jpg"]
    assert [(f.source, f.reason_code) for f in failures] == [(str(tmp_path / "missing"), Reject.NOT_FOUND)]


def test_discover_follows_linked_folders_once_and_reports_a_loop(tmp_path):
    scans = tmp_path / "scans"
    _write(tmp_path, "scans/a.jpg", b"x")
    _write(tmp_path, "elsewhere/district-1/b.jpg", b"x")
    _write(tmp_path, "elsewhere/district-1/c.jpg", b"x")
    os.symlink(tmp_path / "elsewhere" / "district-1", scans / "district-1")       # a linked sub-folder
    os.symlink(tmp_path / "elsewhere" / "district-1", scans / "again")            # the same folder twice
    os.symlink(scans, tmp_path / "elsewhere" / "district-1" / "up")               # a loop back to the top
    files, failures = discover([str(scans)])
    assert [os.path.relpath(f, scans) for f in files] == ["a.jpg", "again/b.jpg", "again/c.jpg"]
    assert [(os.path.relpath(f.source, scans), f.reason_code) for f in failures] == [
        ("again/up", Reject.UNREADABLE)]
    assert "(a loop)" in failures[0].reason


def test_discover_explicit_file_kept_in_input_order(tmp_path):
    a, b = _write(tmp_path, "z.jpg", b"x"), _write(tmp_path, "sub/a.jpg", b"x")
    files, failures = discover([a, str(tmp_path / "sub"), a])
    assert files == [a, b] and failures == []


# -------------------------------------------------------------------------------------------------- external

def test_external_run_returns_stdout():
    assert external.run(["printf", "abc"], timeout=5) == b"abc"
    assert external.run(["cat"], timeout=5, input=b"xyz") == b"xyz"


def test_external_timeout_kills():
    with pytest.raises(external.ExternalTimeout, match="did not finish within 0.2 s") as info:
        external.run(["sleep", "5"], timeout=0.2)
    assert info.value.program == "sleep"


def test_external_failure_carries_exit_code_and_stderr():
    with pytest.raises(external.ExternalError, match="exit code 3") as info:
        external.run(["sh", "-c", "echo boom >&2; exit 3"], timeout=5)
    assert info.value.returncode == 3 and "boom" in info.value.stderr
    assert not isinstance(info.value, external.ExternalTimeout)


def test_require_program():
    assert external.require_program("sh", advice="x").endswith("/sh")
    with pytest.raises(MissingDependency, match="apt-get install nothing"):
        external.require_program("no-such-program-omr", advice="run apt-get install nothing")
    check_dependencies()       # pdftoppm is installed on the machines this runs on


def test_an_external_program_dies_with_the_process_that_ran_it():
    """The program runs in a session of its own (a signal to the caller's group misses it); SIGKILL of the
    process that ran it through ``external.run`` ends it all the same."""
    root = Path(__file__).resolve().parents[2]
    code = "from omr import external; external.run(['sleep', '120'], timeout=300)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                            start_new_session=True)
    tree = ProcessTree(proc)
    try:
        deadline = time.monotonic() + 30
        while not tree.seen:
            assert proc.poll() is None and time.monotonic() < deadline, "sleep was never started"
            tree.snapshot()
            time.sleep(0.02)
        assert [psutil.Process(pid).name() for pid in tree.seen] == ["sleep"]
        proc.kill()
        proc.wait(timeout=30)
        assert tree.survivors(within=20) == []
    finally:
        tree.kill_all()


def _one_image_page_pdf(path: str, jpeg: bytes, shape: tuple[int, int], content: bytes) -> None:
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    im = pikepdf.Stream(pdf, jpeg, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=shape[1],
                        Height=shape[0], ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8,
                        Filter=pikepdf.Name.DCTDecode)
    font = pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=im), Font=pikepdf.Dictionary(F1=font))
    page.Contents = pikepdf.Stream(pdf, content)
    pdf.save(path)


def test_searchable_scan_with_invisible_text_is_extracted_visible_text_is_rasterised(tmp_path):
    shape = (1684, 1190)            # A4 at 144 dpi
    img = _scan_like(shape)
    jpeg = _jpeg(img)
    direct = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    ocr_layer = str(tmp_path / "ocr.pdf")
    _one_image_page_pdf(ocr_layer, jpeg, shape,
                        b"q 595 0 0 842 0 0 cm /Im0 Do Q BT 3 Tr /F1 12 Tf 72 700 Td (Cau 1) Tj ET")
    page = load_page(_plan_one(ocr_layer)[0], OPTS)
    assert np.array_equal(page.image, direct) and page.dpi == pytest.approx(144.0, rel=1e-3)
    visible = str(tmp_path / "stamped.pdf")
    _one_image_page_pdf(visible, jpeg, shape,
                        b"q 595 0 0 842 0 0 cm /Im0 Do Q BT /F1 12 Tf 72 700 Td (Cau 1) Tj ET")
    page = load_page(_plan_one(visible)[0], OPTS)
    assert page.dpi == 200.0 and page.image.shape == (2339, 1653)       # rasterised: 842 × 595 pt at 200 dpi


def test_mirrored_placement_is_unmirrored(tmp_path):
    shape = (1400, 1000)
    img = _scan_like(shape)
    jpeg = _jpeg(img)
    path = str(tmp_path / "mirror.pdf")
    _one_image_page_pdf(path, jpeg, shape, b"q -595 0 0 842 595 0 cm /Im0 Do Q")
    page = load_page(_plan_one(path)[0], OPTS)
    direct = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(page.image, direct[:, ::-1])


# --------------------------------------------------------------------------------- damaged data inside images

def _after_sos(data: bytes) -> int:
    return data.index(b"\xff\xda")


def _cut_out(data: bytes, n: int, *, repeat: bool = False) -> bytes:
    """``data`` with ``n`` bytes of its image data lost (or repeated) near the middle, at a place where the marker
    structure stays valid: only the decoder can tell."""
    m = _after_sos(data) + (len(data) - _after_sos(data)) // 2
    while data[m - 1] == 0xFF or data[m] == 0xFF or data[m - n - 1] == 0xFF:
        m += 1
    return data[:m] + data[m - n:] if repeat else data[:m] + data[m + n:]


def _assert_damaged(result, name: str, capfd) -> None:
    r = _rejected(result, Reject.CORRUPT)
    assert f"the image inside {name}" in r.reason and "scan or export the page again" in r.reason
    err = capfd.readouterr().err
    assert "JPEG" not in err and "libpng" not in err and "Decode" not in err, err


def test_jpeg_damaged_in_the_middle_is_corrupt_and_libjpeg_says_nothing(tmp_path, a4_jpeg, capfd):
    """Noise over the middle of the data: libjpeg would decode a half-grey page (then read as "folded")."""
    sos = _after_sos(a4_jpeg)
    mid = sos + (len(a4_jpeg) - sos) // 2
    noise = np.random.default_rng(3).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    data = a4_jpeg[:mid] + noise + a4_jpeg[mid + 2000:]
    path = _write(tmp_path, "scan.jpg", data)
    _assert_damaged(load_page(_plan_one(path)[0], OPTS), "scan.jpg", capfd)
    pdf = _write(tmp_path, "scans.pdf", _image_pdf([a4_jpeg, data], [A4_300, A4_300]))
    refs = _plan_one(pdf)
    assert isinstance(load_page(refs[0], OPTS), Page)
    _assert_damaged(load_page(refs[1], OPTS), "scans.pdf (page 2)", capfd)


@pytest.mark.parametrize("repeat", [False, True], ids=["stretch-lost", "stretch-repeated"])
def test_jpeg_damage_only_the_decoder_sees_is_corrupt(tmp_path, repeat, capfd):
    from omr.decodecheck import jpeg_structure_problem

    data = _cut_out(_jpeg(_scan_like((1400, 1000))), 3000, repeat=repeat)
    assert jpeg_structure_problem(data, _after_sos(data)) is None
    _assert_damaged(load_page(_plan_one(_write(tmp_path, "scan.jpg", data))[0], OPTS), "scan.jpg", capfd)


def test_jpeg_with_a_few_unused_bytes_before_its_end_is_read_and_more_is_damage(tmp_path, capfd):
    """libjpeg warns "N extraneous bytes before marker 0xd9" for both; a few are an encoder's padding (the picture
    is whole), more mean the decoder lost step with the data."""
    from omr.decodecheck import HARMLESS_EXTRA_BYTES

    img = _scan_like((1400, 1000))
    clean = _jpeg(img)
    padded = clean[:-2] + b"\x00" * 10 + b"\xff\xd9"
    page = load_page(_plan_one(_write(tmp_path, "padded.jpg", padded))[0], OPTS)
    assert isinstance(page, Page)
    assert np.array_equal(page.image, cv2.imdecode(np.frombuffer(clean, np.uint8), cv2.IMREAD_GRAYSCALE))
    assert capfd.readouterr().err == ""
    stuffed = clean[:-2] + b"\x00" * (HARMLESS_EXTRA_BYTES + 100) + b"\xff\xd9"
    _assert_damaged(load_page(_plan_one(_write(tmp_path, "stuffed.jpg", stuffed))[0], OPTS), "stuffed.jpg", capfd)


def test_progressive_and_restart_marker_jpegs_are_read_and_a_lost_restart_interval_is_damage(tmp_path, capfd):
    img = _scan_like((1400, 1000))
    progressive = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
    restarts = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_RST_INTERVAL, 2])[1].tobytes()
    for name, data in (("progressive.jpg", progressive), ("restarts.jpg", restarts)):
        page = load_page(_plan_one(_write(tmp_path, name, data))[0], OPTS)
        assert isinstance(page, Page), page
        assert np.array_equal(page.image, cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE))
    first = restarts.index(b"\xff\xd3")                 # RST3 … RST4: one restart interval lost
    lost = restarts[:first] + restarts[restarts.index(b"\xff\xd4", first):]
    path = _write(tmp_path, "lost.jpg", lost)
    _assert_damaged(load_page(_plan_one(path)[0], OPTS), "lost.jpg", capfd)
    assert "restart markers out of order" in load_page(PageRef(path, 0, "jpeg"), OPTS).reason


def test_damaged_images_of_other_kinds_inside_a_pdf_or_tiff_are_corrupt(tmp_path, capfd):
    img = _scan_like((1400, 1000))
    rng = np.random.default_rng(4)

    def damage(data: bytes, start: int) -> bytes:
        mid = start + (len(data) - start) // 2
        return data[:mid] + rng.integers(0, 256, 1500, dtype=np.uint8).tobytes() + data[mid + 1500:]

    cmyk = io.BytesIO()
    Image.fromarray(img).convert("CMYK").save(cmyk, format="JPEG")
    flate = zlib.compress(img.tobytes())
    for name, data, kw in (("cmyk.pdf", damage(cmyk.getvalue(), 1000), dict(ColorSpace=pikepdf.Name.DeviceCMYK,
                                                                             Filter=pikepdf.Name.DCTDecode)),
                           ("flate.pdf", damage(flate, 0), dict(ColorSpace=pikepdf.Name.DeviceGray,
                                                                Filter=pikepdf.Name.FlateDecode))):
        pdf = pikepdf.new()
        page = pdf.add_blank_page(page_size=(360, 504))
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=pikepdf.Stream(
            pdf, data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=1000, Height=1400,
            BitsPerComponent=8, **kw)))
        page.Contents = pikepdf.Stream(pdf, b"q 360 0 0 504 0 0 cm /Im0 Do Q")
        pdf.save(tmp_path / name)
        _assert_damaged(load_page(_plan_one(str(tmp_path / name))[0], OPTS), f"{name} (page 1)", capfd)
    bio = io.BytesIO()
    Image.fromarray(img > 128).save(bio, format="TIFF", compression="group4")
    path = _write(tmp_path, "fax.tif", damage(bio.getvalue(), 500))
    _assert_damaged(load_page(_plan_one(path)[0], OPTS), "fax.tif (page 1)", capfd)


def test_a_garbled_content_stream_is_rasterised_not_an_internal_error(tmp_path):
    shape = (1400, 1000)
    path = str(tmp_path / "garbled.pdf")
    _one_image_page_pdf(path, _jpeg(_scan_like(shape)), shape,
                        np.random.default_rng(3).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    page = load_page(_plan_one(path)[0], OPTS)
    assert isinstance(page, Page) and page.dpi == OPTS.rasterise_dpi


@pytest.mark.parametrize("how", ["soft-mask", "drawn-twice", "inside-a-form"])
def test_a_bomb_image_on_a_page_that_would_be_rasterised_is_refused_first(tmp_path, how):
    """poppler would inflate a 100000×100000 image for ~20 s (its soft mask, or a second drawing, sends the page to
    the rasteriser): the page's images are measured before anything is decoded."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    bomb = pikepdf.Stream(pdf, zlib.compress(bytes(1 << 20), 9), Type=pikepdf.Name.XObject,
                          Subtype=pikepdf.Name.Image, Width=100000, Height=100000, BitsPerComponent=8,
                          ColorSpace=pikepdf.Name.DeviceGray, Filter=pikepdf.Name.FlateDecode)
    content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    if how == "soft-mask":
        small = pikepdf.Stream(pdf, zlib.compress(bytes(1400 * 1000)), Type=pikepdf.Name.XObject,
                               Subtype=pikepdf.Name.Image, Width=1000, Height=1400, BitsPerComponent=8,
                               ColorSpace=pikepdf.Name.DeviceGray, Filter=pikepdf.Name.FlateDecode, SMask=bomb)
        xobjects = pikepdf.Dictionary(Im0=small)
    elif how == "drawn-twice":
        xobjects = pikepdf.Dictionary(Im0=bomb)
        content += b" q 100 0 0 100 0 0 cm /Im0 Do Q"
    else:
        form = pikepdf.Stream(pdf, b"q 1 0 0 1 0 0 cm /Im0 Do Q", Type=pikepdf.Name.XObject,
                              Subtype=pikepdf.Name.Form, BBox=[0, 0, 1, 1],
                              Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=bomb)))
        xobjects = pikepdf.Dictionary(Im0=form)
    page.Resources = pikepdf.Dictionary(XObject=xobjects)
    page.Contents = pikepdf.Stream(pdf, content)
    pdf.save(tmp_path / "bomb.pdf")
    r = _rejected(load_page(_plan_one(str(tmp_path / "bomb.pdf"))[0], LoadOptions(timeout_s=5)), Reject.TOO_LARGE)
    assert "100000×100000 px" in r.reason and r.page == 1


def test_decoding_in_threads_hides_libjpeg_and_passes_other_threads_text_on(tmp_path, capfd):
    """fd 2 is the whole process's: while one thread's decode points it at a file, the text other threads write
    there is written on afterwards, and libjpeg's never."""
    img = _scan_like((1400, 1000))
    clean = _jpeg(img)
    path = _write(tmp_path, "padded.jpg", clean[:-2] + b"\x00" * 10 + b"\xff\xd9")   # libjpeg warns each time
    ref = _plan_one(path)[0]
    expected = cv2.imdecode(np.frombuffer(clean, np.uint8), cv2.IMREAD_GRAYSCALE)
    stop, said = threading.Event(), []

    def chatter() -> None:
        while not stop.is_set():
            said.append(f"progress {len(said)}\n")
            os.write(2, said[-1].encode())
            time.sleep(0.0005)

    talker = threading.Thread(target=chatter)
    talker.start()
    try:
        with ThreadPoolExecutor(3) as ex:
            pages = list(ex.map(lambda _: load_page(ref, OPTS), range(24)))
    finally:
        stop.set()
        talker.join()
    assert all(isinstance(p, Page) and np.array_equal(p.image, expected) for p in pages)
    err = capfd.readouterr().err
    assert "JPEG" not in err
    assert sorted(err.splitlines(keepends=True)) == sorted(said)


def test_discover_reports_broken_links_pipes_and_self_links_in_a_folder_without_opening_them(tmp_path):
    _write(tmp_path, "scans/a.jpg", b"x")
    os.symlink(tmp_path / "gone.jpg", tmp_path / "scans" / "dangling.jpg")
    os.symlink("self.jpg", tmp_path / "scans" / "self.jpg")
    os.mkfifo(tmp_path / "scans" / "pipe.jpg")           # opening it would wait for a writer forever
    files, failures = discover([str(tmp_path / "scans")])
    assert files == [str(tmp_path / "scans" / "a.jpg")]
    by = {os.path.basename(f.source): f for f in failures}
    assert (by["dangling.jpg"].reason_code, by["self.jpg"].reason_code, by["pipe.jpg"].reason_code) == \
        (Reject.NOT_FOUND, Reject.UNREADABLE, Reject.UNSUPPORTED_TYPE)
    assert "broken link" in by["dangling.jpg"].reason and "leads back to itself" in by["self.jpg"].reason
    assert "not a regular file" in by["pipe.jpg"].reason
    r = _rejected(plan_pages(str(tmp_path / "scans" / "dangling.jpg"), OPTS), Reject.NOT_FOUND)
    assert "broken link" in r.reason
