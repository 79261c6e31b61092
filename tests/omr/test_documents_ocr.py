"""Scans and photos of typed entries read through the OCR: a typed DOCX rendered by LibreOffice, rasterised at
300 dpi by ``pdftoppm``, degraded like a scanner or a phone (``samples/degrade.py``) → a PNG, a JPEG or an
image-only PDF → the same answers and identity as the document, evidence saying "(OCR)"; an unreliable page's
answers flagged; a photo of a blank page → no answers, no crash."""
from __future__ import annotations

import json
import shutil
import sys

import cv2
import numpy as np
import pytest

from documents_support import DEMO, ROOT, write_docx
from omr.documents import DocumentOptions, load_entry_contest, read_entry
from omr.documents.entry import _capped_by_ocr
from omr.documents.records import Answer, EntryKind, Format, OcrPage
from omr.records import Reject, SheetFailure

sys.path.insert(0, str(ROOT / "bench"))
from ocr_entries_bench import degraded, raster_pages, save_scan, score  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftoppm") is None,
                                reason="LibreOffice and poppler-utils are needed")
OCR = DocumentOptions(ocr=True)
HEADER = ("Họ và tên: Đỗ Thu Hà", "Ngày sinh: 12/03/2008", "Trường: THCS Giảng Võ", "Lớp: 9B")


def _pages(tmp_path, docx):
    from omr.documents.render import render_pdf

    return raster_pages(render_pdf(docx, tmp_path), tmp_path)


def test_an_answer_from_an_unreliable_ocr_page_is_flagged_and_capped_by_the_page():
    pages = (OcrPage(1, True, 0.9, 1.0), OcrPage(2, False, 0.5, 1.0))
    answers = (Answer("1", "A", 1.0, "trang 1 (OCR), dòng 3: “Câu 1: A”"),
               Answer("2", "B", 1.0, "trang 2 (OCR), dòng 1: “Câu 2: B”"), Answer("3", "", 0.0))
    got, flags = _capped_by_ocr(answers, pages, set())
    assert [a.confidence for a in got] == [0.9, 0.5, 0.0]
    assert [(f.key, f.reason) for f in flags] == [("2", "ocr_unreliable"), ("3", "ocr_blank")]
    assert _capped_by_ocr(answers, (), set()) == (answers, [])           # a document without OCR pages
    changed = (Answer("4", "D", 1.0, "trang 1 (OCR), dòng 8: “Câu 4: D - B”"),          # "D → B", arrow lost
               Answer("5", "B", 1.0, "trang 1 (OCR), dòng 9: “Câu 5. Đáp án: B. Nộp hồ sơ”"))
    assert [(f.key, f.reason) for f in _capped_by_ocr(changed, pages, set())[1]] == [("4", "ocr_ambiguous")]


@pytest.mark.slow
def test_a_scanned_png_reads_like_the_docx_and_omr_entry_json_takes_it(tmp_path):
    docx = write_docx(tmp_path / "bai.docx", *HEADER, "Mã đề: 103", "PHẦN I. TRẮC NGHIỆM", "Câu 1: A", "Câu 2: D",
                      "Câu 3: B", "Câu 4: C", "PHẦN II. TỰ LUẬN", "Dịch vụ công giúp người dân tiết kiệm thời gian.")
    page = degraded(_pages(tmp_path, docx)[0], "scanner", np.random.default_rng(3))
    png = save_scan([page], tmp_path / "scan.png")
    rec = read_entry(str(png), load_entry_contest(DEMO), OCR)
    assert rec.format is Format.IMAGE and rec.kind is EntryKind.TYPED and rec.version == "103"
    got = {a.question: a.letters for a in rec.answers}
    assert [got[q] for q in "1234"] == ["A", "D", "B", "C"]
    assert rec.identity["name"] == "Đỗ Thu Hà" and rec.identity["class"] == "9B"
    assert rec.to_json()["evidence"]["2"].startswith("trang 1 (OCR), dòng ")
    assert all(0 < a.confidence <= rec.ocr_pages[0].confidence for a in rec.answers if a.letters)
    blanks = {f.key for f in rec.flags if f.reason == "ocr_blank"}
    assert blanks == {str(q) for q in range(5, 101)}        # not found in the OCR text: a person checks
    from grading.cli import main

    assert read_entry(str(png), load_entry_contest(DEMO)).reason_code is Reject.UNSUPPORTED_TYPE  # OCR off
    out = _run_cli(main, png)
    assert out["format"] == "image" and out["answers"]["3"] == "B" and out["identity"]["name"] == "Đỗ Thu Hà"
    assert out["ocr"][0]["page"] == 1 and out["ocr"][0]["reliable"] is True


def _run_cli(main, path):
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["entry", str(path), "--contest", str(DEMO), "--json"])
    assert code == 3                                   # flagged: the blank questions
    return json.loads(buf.getvalue())


@pytest.mark.slow
def test_a_generated_entry_as_an_image_only_pdf_has_no_silent_error(tmp_path):
    from samples.entries import generate

    docs = generate(tmp_path, DEMO, n=1, seed=1, pdf_every=1)     # answers "Câu 1: B"
    truth = json.loads((tmp_path / "entry-00001.truth.json").read_text(encoding="utf-8"))
    rng = np.random.default_rng(1)
    scan = save_scan([degraded(p, "scanner", rng) for p in raster_pages(docs[0], tmp_path)], tmp_path / "s.pdf")
    rec = read_entry(str(scan), load_entry_contest(DEMO), OCR)
    assert not isinstance(rec, SheetFailure) and rec.format is Format.PDF
    assert len(rec.ocr_pages) == rec.pages and not any(f.reason == "no_text_layer" for f in rec.flags)
    from collections import Counter

    tally: Counter = Counter()
    score(rec.to_json(), truth, tally, scan.name)
    assert tally["silent_error"] == 0 and tally["exact"] > 0, tally
    assert rec.identity["name"] == truth["identity"]["name"]


@pytest.mark.slow
def test_a_photo_of_a_blank_page_has_no_answers_and_does_not_crash(tmp_path):
    blank = np.full((3508, 2480, 3), 255, np.uint8)
    photo = degraded(blank, "phone", np.random.default_rng(2))
    path = tmp_path / "blank.jpg"
    cv2.imwrite(str(path), photo)
    rec = read_entry(str(path), load_entry_contest(DEMO), OCR)
    assert rec.kind is EntryKind.ESSAY and rec.answers == () and rec.version is None
    assert not any(f.target == "question" for f in rec.flags)
