"""Whoever reviews a typed entry's flags sees the document as the entrant sent it (rendered by LibreOffice
headless), under the lines its answers were read from; rendered once per document content; a document that
cannot be rendered says why instead."""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import docx
import numpy as np
import pytest

from grading.cli import main
from grading.contest import load_contest
from grading.store import Store
from grading.webapp import rendered
from grading.webapp.images import page_canvas, text_page

from grading_support import DEMO, db_rows

pytestmark = pytest.mark.slow

LINES = ["BÀI DỰ THI", "Họ và tên: Nguyễn Thị Hoa", "Ngày sinh: 5/9/2010", "Đơn vị / Trường: THCS Trưng Vương",
         "Mã đề: 101", *(f"Câu {q}: A" for q in range(1, 9)), "Câu 9: A", "Câu 9: C",
         "Phần tự luận", "Dịch vụ công trực tuyến giúp người dân tiết kiệm thời gian."]


def write_docx(path: Path, lines: list[str]) -> Path:
    d = docx.Document()
    for line in lines:
        d.add_paragraph(line)
    d.save(str(path))
    return path


def graded_pages(tmp_path: Path, url: str) -> dict[str, int]:
    """The answers page id of each typed entry graded from ``in/``."""
    contest = tmp_path / "contest"
    shutil.copytree(DEMO, contest)
    main(["grade", str(tmp_path / "in"), "--contest", str(contest), "--db", url, "--workers", "1"])
    rows = db_rows(url, "SELECT s.source, p.id FROM pages p JOIN submissions s ON s.id = p.submission_id "
                        "WHERE p.page_no = 1")
    return {Path(src).name: pid for src, pid in rows}


def test_the_whole_page_of_a_typed_entry_is_the_document_as_sent_under_the_lines_read(tmp_path, sqlite_url,
                                                                                       monkeypatch):
    monkeypatch.setenv("OMR_RENDER_CACHE", str(tmp_path / "cache"))
    (tmp_path / "in").mkdir()
    write_docx(tmp_path / "in" / "entry.docx", LINES)
    (tmp_path / "in" / "entry.txt").write_text("\n".join(LINES), encoding="utf-8")
    ids = graded_pages(tmp_path, sqlite_url)
    layout = load_contest(DEMO).layout
    with Store.open(sqlite_url) as store:
        canvas = page_canvas(store, layout, ids["entry.docx"]).image
        plain = page_canvas(store, layout, ids["entry.txt"]).image
    # one rendered page kept, keyed by the document's bytes
    kept = list((tmp_path / "cache").glob("*/page-*.png"))
    assert len(kept) == 1
    page = rendered.document_pages(str(tmp_path / "in" / "entry.docx"))[0]
    assert page.shape[0] > 800 and page.shape[0] > page.shape[1]          # an A4 page at 130 dpi: 1520 × 1075
    # the canvas ends with that page (the document as it looks), under the lines read
    h, w = page.shape
    pad = (canvas.shape[1] - w) // 2
    assert np.array_equal(canvas[-h:, pad:pad + w, 0], page)
    assert (page < 128).sum() > 2000                                     # the document's text is drawn
    assert canvas.shape[0] > h + text_page("Câu 9: C").shape[0]
    # plain text has no look of its own: the lines read, and why there is no picture
    assert plain.shape[0] < 2 * text_page("x").shape[0] + 400


def test_a_document_is_rendered_once_whatever_its_path(tmp_path, monkeypatch):
    monkeypatch.setenv("OMR_RENDER_CACHE", str(tmp_path / "cache"))
    a = write_docx(tmp_path / "a.docx", LINES)
    b = tmp_path / "b.docx"
    b.write_bytes(a.read_bytes())
    first = rendered.document_pages(str(a))

    def no_libreoffice(*_a, **_k):
        raise AssertionError("rendered again")
    monkeypatch.setattr(rendered, "render_png", no_libreoffice)
    again = rendered.document_pages(str(b))
    assert len(first) == len(again) == 1 and np.array_equal(first[0], again[0])


def test_a_document_that_cannot_be_rendered_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("OMR_RENDER_CACHE", str(tmp_path / "cache"))
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    with pytest.raises(rendered.NotShown, match="không dựng được|LibreOffice không tạo"):
        rendered.document_pages(str(broken))
    with pytest.raises(rendered.NotShown, match="không mở được"):
        rendered.document_pages(str(tmp_path / "gone.docx"))


def test_the_flag_page_of_a_typed_entry_links_to_the_document_as_sent(tmp_path, monkeypatch):
    from grading.judges import Role, add_judge
    from grading.webapp.app import create_app
    from web_support import TestClient, login_and_change_password

    monkeypatch.setenv("OMR_RENDER_CACHE", str(tmp_path / "cache"))
    (tmp_path / "in").mkdir()
    write_docx(tmp_path / "in" / "entry.docx", LINES)
    url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    page_id = graded_pages(tmp_path, url)["entry.docx"]
    flag_id = db_rows(url, f"SELECT id FROM flags WHERE page_id = {page_id} AND reason = 'contradictory_answers'")[0][0]
    with Store.open(url) as store:
        password = add_judge(store, "quantri", unit="Sở Tư pháp", role=Role.ADMIN)
        app = create_app(store, load_contest(DEMO).layout, contest_dir=tmp_path / "contest")
        with TestClient(app, follow_redirects=False) as c:
            login_and_change_password(c, "quantri", password)
            html = c.get(f"/flags/{flag_id}").text
            assert "Xem bài như người dự thi gửi" in html and "độ tô đo được" not in html
            r = c.get(f"/pages/{page_id}/image")
            assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    shown = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_GRAYSCALE)
    page = rendered.document_pages(str(tmp_path / "in" / "entry.docx"))[0]
    assert shown.shape[0] > page.shape[0]                   # the lines read, then the page as sent


def test_a_scan_of_a_typed_entry_is_shown_as_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("OMR_RENDER_CACHE", str(tmp_path / "cache"))
    scan = np.full((2000, 1414), 255, np.uint8)
    cv2.putText(scan, "Cau 1: B", (200, 400), cv2.FONT_HERSHEY_SIMPLEX, 4, 0, 8)
    path = tmp_path / "scan.png"
    cv2.imwrite(str(path), scan)
    pages = rendered.document_pages(str(path))
    assert len(pages) == 1 and abs(max(pages[0].shape) - rendered.LONG_SIDE) <= 1
    assert (pages[0] < 128).sum() > 1000                    # the writing is there, not a blank or a message
