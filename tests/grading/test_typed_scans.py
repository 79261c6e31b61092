"""Scans and phone photos of typed entries graded by ``omr grade``: a printed entry with an answer table
(rendered by LibreOffice, rasterised, degraded like a scanner) and a photographed one become typed submissions
(answers, score, identity-free essay), read through the OCR only because no page of theirs is an answer sheet; a
bubble sheet's file — with a typed page after the sheet — is never OCR'd."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import grading.typed
from grading.cli import main
from omr.documents.render import render_pdf
from samples.typed_scans import degraded, raster_pages, save_scan

from grading_support import DEMO, db_rows
from test_typed_entries import bubble_sheet, expected_total, key_of, make_contest

pytestmark = pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("tesseract") is None,
                                reason="LibreOffice and Tesseract are needed")
HEADER = ("BÀI DỰ THI", "Họ và tên: Đỗ Thu Hà", "Ngày sinh: 12/03/2008", "Trường: THCS Giảng Võ", "Lớp: 9B",
          "Mã đề: 102", "PHẦN I. TRẮC NGHIỆM")
ESSAY = ("PHẦN II. TỰ LUẬN", "Dịch vụ công trực tuyến giúp người dân tiết kiệm thời gian và công sức.")


def answers() -> dict[str, str]:
    """Questions 1–8 answered (question 4 wrong), the others left blank."""
    key = key_of("102")
    out = {q: key[q] for q in map(str, range(1, 9))}
    out["4"] = "ABCD"[("ABCD".index(out["4"]) + 1) % 4]
    return out


def typed_page(tmp: Path, name: str, table: bool) -> np.ndarray:
    import docx
    from docx.shared import Pt

    d = docx.Document()
    d.styles["Normal"].font.name = "Times New Roman"
    d.styles["Normal"].font.size = Pt(14)
    for line in HEADER:
        d.add_paragraph(line)
    if table:
        t = d.add_table(rows=1, cols=2)
        t.style = "Table Grid"
        t.cell(0, 0).text, t.cell(0, 1).text = "Câu", "Đáp án"
        for q, a in answers().items():
            row = t.add_row()
            row.cells[0].text, row.cells[1].text = f"Câu {q}", a
    else:
        for q, a in answers().items():
            d.add_paragraph(f"Câu {q}: {a}")
    for line in ESSAY:
        d.add_paragraph(line)
    path = tmp / f"{name}.docx"
    d.save(str(path))
    return raster_pages(render_pdf(path, tmp / "pdf"), tmp / "pdf")[0]


@pytest.mark.slow
def test_scans_and_photos_of_typed_entries_are_graded_and_sheet_files_never_ocred(tmp_path, sqlite_url,
                                                                                 monkeypatch):
    inputs = tmp_path / "in"
    inputs.mkdir()
    tmp = tmp_path / "work"
    tmp.mkdir()
    save_scan([degraded(typed_page(tmp, "table", True), "scanner", np.random.default_rng(3))], inputs / "scan.png")
    photo = degraded(typed_page(tmp, "lines", False), "phone", np.random.default_rng(5))
    save_scan([photo], inputs / "photo.png")
    from grading.contest import load_contest

    sheet = bubble_sheet(tmp / "sheet.jpg", load_contest(DEMO).layout, key_of("101"))
    import cv2

    sheet_img = cv2.imread(str(sheet), cv2.IMREAD_GRAYSCALE)
    essay_after = cv2.resize(degraded(typed_page(tmp, "after", False), "scanner", np.random.default_rng(4)),
                             (sheet_img.shape[1], sheet_img.shape[0]))
    save_scan([sheet_img, essay_after], inputs / "sheet-and-page.tif")

    ocred: list[str] = []
    real = grading.typed.read_entry

    def spy(path, *args, **kwargs):
        ocred.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(grading.typed, "read_entry", spy)
    # they answer 8 of the demo's 100 questions: 92 blanks in doubt would send them to the judges to type in
    # (the next test); here the OCR's reading itself is checked
    monkeypatch.setattr(grading.typed, "SCAN_MAX_FLAGGED", 100)
    main(["grade", str(inputs), "--contest", str(make_contest(tmp_path)), "--db", sqlite_url, "--workers", "1"])
    assert sorted(ocred) == ["photo.png", "scan.png"]           # the sheet's file is never OCR'd
    rows = db_rows(sqlite_url, "SELECT s.source, p.page_no, p.status, p.version, p.reading, sc.total FROM pages p "
                               "JOIN submissions s ON s.id = p.submission_id LEFT JOIN scores sc ON sc.page_id = p.id "
                               "ORDER BY s.source, p.page_no")
    got = {(Path(src).name, no): (status, version, reading, total) for src, no, status, version, reading, total in rows}
    want = answers()
    for name in ("scan.png", "photo.png"):
        status, version, reading, total = got[(name, 1)]
        reading = json.loads(reading) if isinstance(reading, str) else reading
        read = {q: a for q, a in reading["answers"].items() if a}
        assert (version, read) == ("102", want), name
        assert total == expected_total("102", want)
        assert "(OCR)" in reading["evidence"]["1"]
        assert got[(name, 2)][0] == "essay"
    assert "bảng 1" in json.loads(got[("scan.png", 1)][2])["evidence"]["3"]      # read from the table's cells
    # the entrant's details read by the OCR are checked against the image by a person (one character off reads
    # as well as the right one)
    reasons = db_rows(sqlite_url, "SELECT s.source, f.reason FROM flags f JOIN pages p ON p.id = f.page_id "
                                  "JOIN submissions s ON s.id = p.submission_id")
    assert {Path(src).name for src, r in reasons if r == "identity_from_ocr"} == {"scan.png", "photo.png"}
    assert got[("sheet-and-page.tif", 1)][1] == "101" and got[("sheet-and-page.tif", 2)][0] == "essay"
    essays = [t for (t,) in db_rows(sqlite_url, "SELECT e.text FROM essays e WHERE e.text IS NOT NULL")]
    assert essays and all("Đỗ Thu Hà" not in t and "tiết kiệm thời gian" in t for t in essays)


@pytest.mark.slow
def test_a_scanned_entry_with_many_questions_in_doubt_goes_to_the_judges_to_type_in(tmp_path, sqlite_url):
    inputs = tmp_path / "in"
    inputs.mkdir()
    tmp = tmp_path / "work"
    tmp.mkdir()
    save_scan([degraded(typed_page(tmp, "table", True), "scanner", np.random.default_rng(3))], inputs / "scan.png")
    main(["grade", str(inputs), "--contest", str(make_contest(tmp_path)), "--db", sqlite_url, "--workers", "1"])
    # 92 of its 100 questions blank, each a doubt once read by the OCR: not a typed entry, a transcription
    assert db_rows(sqlite_url, "SELECT p.status FROM pages p") == [("essay",)]
    assert db_rows(sqlite_url, "SELECT state FROM transcriptions") == [("open",)]
