"""Essays: a submission is a sequence of pages (answer sheet + essay pages), OCR as a resumable stage,
anonymous codes, full-text search, near-duplicates, and the schema v1 → v2 migration.

Inputs are built here: the answer sheet of a small layout with one essay box is rendered, rasterised and
its version bubbles filled; typed Vietnamese essay pages are drawn with DejaVu at 300 dpi and put into a PDF
as IMAGES (so they go through Tesseract); a born-digital PDF (reportlab, real text) has a text layer.
"""
from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import sqlalchemy as sa

from grading.essays import (EssayQuestion, OcrTask, assign_essay_pages, essay_box_task, find_duplicates,
                            load_essay_questions, ocr_load_options, ocr_task, snippet, strip_diacritics)
from grading.keys import keys_from_dict
from grading.store import SCHEMA_VERSION, EssayPage, Store
from omr.errors import ExitCode, LayoutError
from omr.layout import GroupKind, Layout, Rect, layout_from_dict
from omr.load import PageRef, plan_pages
from omr.ocr.essaybox import blank_printed_marks, crop_region
from omr.ocr import OcrOptions, OcrResult
from omr.records import Reject
from omr.sheet import Participant, essay_label_rect, render_sheets

from grading_support import ROOT, db_rows, failure, omr, reading, sha, small_layout_dict
from process_support import ProcessTree

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SHEET_DPI = 200
PID = "000101"
DATA = Path(__file__).parent / "data"

REGION_TEXT = "Quê hương em có dòng sông xanh"
ESSAY_1 = ("Vịnh Hạ Long là một kỳ quan thiên nhiên của thế giới. Mỗi năm có hàng triệu du khách đến thăm "
           "những hòn đảo đá vôi và các hang động kỳ vĩ.")
COPIED = ("Tiếng Việt là ngôn ngữ của dân tộc ta, được hình thành và phát triển qua hàng nghìn năm lịch sử. "
          "Mỗi người học sinh cần giữ gìn sự trong sáng của tiếng Việt trong lời nói và chữ viết hằng ngày, "
          "không lạm dụng từ ngữ nước ngoài khi không cần thiết.")
ESSAY_2 = "Bài viết thứ hai của em. " + COPIED + " Em sẽ cố gắng học tập thật tốt."
DIGITAL = "Bài làm đánh máy gửi qua thư điện tử. " + COPIED


# -- building inputs ------------------------------------------------------------------------------------------
def essay_layout_dict() -> dict:
    """Six questions, a version grid, and one essay box under the questions."""
    raw = small_layout_dict()
    raw["id"] = "essay-6"
    raw["essays"] = [{"id": "E1", "label": "Câu tự luận", "x_mm": 20, "y_mm": 178, "w_mm": 170, "h_mm": 60}]
    return raw


def make_contest(folder: Path, *, questions: list[dict] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "layout.json").write_text(json.dumps(essay_layout_dict(), ensure_ascii=False), encoding="utf-8")
    (folder / "keys.json").write_text(json.dumps({"contest": "demo", "layout": "essay-6",
                                                  "versions": {"101": {"answers": "ABCDEA"}}}), encoding="utf-8")
    if questions is not None:
        (folder / "essays.json").write_text(json.dumps({"essays": questions}, ensure_ascii=False), encoding="utf-8")
    return folder


def draw_text(img: np.ndarray, text: str, *, x: int, y: int, width: int, size: int) -> np.ndarray:
    """Vietnamese text (DejaVu Sans), wrapped to ``width`` pixels, drawn on a copy of a grayscale image."""
    from PIL import Image, ImageDraw, ImageFont

    pil = Image.fromarray(img)
    d = ImageDraw.Draw(pil)
    font = ImageFont.truetype(FONT, size)
    line, lines = "", []
    for word in text.split():
        cand = f"{line} {word}".strip()
        if d.textlength(cand, font=font) > width and line:
            lines.append(line)
            line = word
        else:
            line = cand
    lines.append(line)
    for i, ln in enumerate(lines):
        d.text((x, y + i * int(size * 1.6)), ln, fill=0, font=font)
    return np.asarray(pil)


def typed_page(text: str) -> np.ndarray:
    """An A4 page at 300 dpi with 12 pt text."""
    page = np.full((3508, 2480), 255, np.uint8)
    return draw_text(page, text, x=240, y=300, width=2000, size=50)


def images_pdf(path: Path, pages: list[tuple[np.ndarray, int]]) -> Path:
    """A PDF whose pages are the images (each at its dpi), like a scanner writes: no text layer."""
    from PIL import Image

    ims = [Image.fromarray(img) for img, _ in pages]
    ims[0].save(path, "PDF", save_all=True, append_images=ims[1:], resolution=float(pages[0][1]))
    return path


def digital_pdf(path: Path, text: str) -> Path:
    """A born-digital PDF: real text in an embedded DejaVu font (it has a text layer)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas

    pdfmetrics.registerFont(TTFont("EssaySans", FONT))
    c = Canvas(str(path), pagesize=A4)
    c.setFont("EssaySans", 12)
    words, line, y = text.split(), "", A4[1] - 72
    for w in words:
        if pdfmetrics.stringWidth(f"{line} {w}", "EssaySans", 12) > A4[0] - 144 and line:
            c.drawString(72, y, line)
            line, y = w, y - 18
        else:
            line = f"{line} {w}".strip()
    c.drawString(72, y, line)
    c.showPage()
    c.save()
    return path


def rasterise(pdf: Path, dpi: int) -> np.ndarray:
    """Page 1 of a PDF rasterised by poppler (what a printed-and-scanned sheet starts as), grayscale."""
    png = subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", str(pdf)], check=True, capture_output=True,
                         timeout=60).stdout
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)


@pytest.fixture(scope="module")
def essay_layout() -> Layout:
    return layout_from_dict(essay_layout_dict())


@pytest.fixture(scope="module")
def sheet_image(tmp_path_factory, essay_layout) -> np.ndarray:
    """The participant's personalised sheet at 200 dpi, version 101 marked, a sentence in the essay box."""
    d = tmp_path_factory.mktemp("sheet")
    render_sheets(essay_layout, d / "sheet.pdf", participants=[Participant(PID, "Đỗ Minh Châu", "10A1")])
    img = rasterise(d / "sheet.pdf", SHEET_DPI)
    ppm = SHEET_DPI / 25.4
    for digit, g in zip("101", essay_layout.digit_groups(GroupKind.VERSION)):
        y, x = essay_layout.centres_mm[g.first + int(digit)]
        cv2.circle(img, (round(x * ppm), round(y * ppm)), round(essay_layout.bubble_r_mm * 0.85 * ppm), 40, -1)
    box = essay_layout.essays[0].rect
    return draw_text(img, REGION_TEXT, x=round((box.x_mm + 8) * ppm), y=round((box.y_mm + 15) * ppm),
                     width=round((box.w_mm - 16) * ppm), size=44)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, sheet_image) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("entries")
    return {"entry": images_pdf(d / "entry.pdf", [(sheet_image, SHEET_DPI), (typed_page(ESSAY_1), 300),
                                                  (typed_page(ESSAY_2), 300)]),
            "digital": digital_pdf(d / "digital.pdf", DIGITAL)}


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


# -- pure parts -----------------------------------------------------------------------------------------------
def test_essay_pages_belong_to_the_sheet_before_them_and_other_rejections_stay():
    recs = [failure("f", 1), reading("f", 2, "000001", "101", "AAAAAA"), failure("f", 3),
            failure("f", 4, Reject.CORRUPT), reading("f", 5, "000002", "101", "AAAAAA"), failure("f", 6)]
    out = assign_essay_pages(recs)
    assert [(type(r).__name__, r.owner_page if isinstance(r, EssayPage) else None) for r in out] == [
        ("EssayPage", 2), ("SheetReading", None), ("EssayPage", 2), ("SheetFailure", None), ("SheetReading", None),
        ("EssayPage", 5)]
    assert out[3] is recs[3]
    only = assign_essay_pages([failure("g", 1), failure("g", 2, Reject.TRUNCATED), failure("g", 3)])
    assert [getattr(r, "owner_page", "-") for r in only] == [None, "-", 1]
    dup = [failure("h", None, Reject.DUPLICATE)]
    assert assign_essay_pages(dup) == dup


def test_crop_region_warps_the_box_upright_at_the_asked_resolution():
    img = np.full((400, 600), 255, np.uint8)
    img[100:200, 300:500] = 0                        # a black box at x 300..500, y 100..200 px
    H = np.diag([2.0, 2.0, 1.0])                     # 2 px per mm
    crop = crop_region(img, H, Rect(150, 50, 100, 50), dpi=2 * 25.4 * 3)      # 6 px per mm
    assert crop.shape == (300, 600) and crop.dtype == np.uint8
    assert crop[5:-5, 5:-5].max() < 40 and img[100:200, 300:500].max() == 0   # input unchanged
    with pytest.raises(ValueError, match="grayscale uint8"):
        crop_region(img.astype(np.float32), H, Rect(0, 0, 10, 10))


@pytest.mark.parametrize("ink_mm, writing_mm", [(48.0, 54.0), (33.0, 39.0)])
def test_label_is_erased_where_its_ink_ends_not_where_this_machine_font_says(ink_mm, writing_mm):
    # the label's width comes from the font of the machine reading the scans; the sheet may have been printed with
    # another (DejaVu vs Liberation Bold: ~15 %): the erased band follows the printed ink, the writing stays
    s = 300 / 25.4
    region = Rect(10, 10, 150, 40)
    label = Rect(12, 11, 40, 4)                               # the estimate: 40 mm wide
    crop = np.full((round(40 * s), round(150 * s)), 255, np.uint8)
    y0, y1 = round(1.5 * s), round(4.5 * s)
    for x in np.arange(2.0, 2.0 + ink_mm, 1.6):              # the printed label: grey letters 1 mm wide
        crop[y0:y1, round(x * s):round((x + 1.0) * s)] = 140
    crop[y0:y1, round(writing_mm * s):round((writing_mm + 20) * s)] = 0      # written 5 mm after it
    out = blank_printed_marks(crop, region, label=label)
    band = out[y0:y1]
    assert (band[:, :round((2.0 + ink_mm - 0.5) * s)] == 255).all()        # every printed letter gone
    assert (band[:, round(writing_mm * s):round((writing_mm + 20) * s)] == 0).all()   # the writing kept


def test_blank_printed_marks_whitens_the_border_band_and_the_label_only():
    region, label = Rect(10, 20, 50, 30), Rect(12, 21, 15, 4)          # mm; the label at 2..17 × 1..5 mm in the box
    crop = np.full((300, 500), 255, np.uint8)                          # 10 px per mm (254 dpi)
    crop[[0, 1, -2, -1], :] = crop[:, [0, 1, -2, -1]] = 0               # the border lines
    crop[12:48, 22:168] = 0                                            # the label's ink
    crop[15:45, 200:400] = 30                                          # written right of the label, same line
    crop[150:200, 50:450] = 30                                         # written below
    before = crop.copy()
    out = blank_printed_marks(crop, region, label=label, dpi=254, label_margin_mm=1.0, border_mm=1.0)
    assert np.array_equal(crop, before)                                # input unchanged
    assert out[:10].min() == out[-10:].min() == out[:, :10].min() == out[:, -10:].min() == 255
    assert out[:60, :180].min() == 255                                 # label + 1 mm margin (rows ≤ 60, cols ≤ 180)
    assert np.array_equal(out[15:45, 200:400], before[15:45, 200:400])
    assert np.array_equal(out[10:-10, 180:-10], before[10:-10, 180:-10])
    assert np.array_equal(out[60:-10, 10:-10], before[60:-10, 10:-10])
    assert np.array_equal(blank_printed_marks(crop, region, dpi=254, border_mm=0), crop)
    with pytest.raises(ValueError, match="grayscale uint8"):
        blank_printed_marks(crop.astype(float), region)


def test_ocr_task_pickles_with_its_label_and_old_tasks_still_build():
    import pickle

    ref = PageRef("x.png", 0, "png")
    box = layout_from_dict(essay_layout_dict()).essays[0]
    t = essay_box_task(7, ref, box)
    assert t.region == box.rect and t.label == essay_label_rect(box)
    assert pickle.loads(pickle.dumps(t)) == t
    assert OcrTask(1, ref, box.rect).label is None and OcrTask(1, ref).region is None


def test_essay_questions_file(tmp_path):
    assert load_essay_questions(tmp_path) == ()
    (tmp_path / "essays.json").write_text(json.dumps({"essays": [
        {"id": "E1", "title": "Nghị luận", "question": "Viết về quê hương."}]}, ensure_ascii=False), encoding="utf-8")
    assert load_essay_questions(tmp_path) == (EssayQuestion("E1", "Nghị luận", "Viết về quê hương."),)
    (tmp_path / "essays.json").write_text(json.dumps({"essays": [{"title": 3}, {"id": "E1"}, {"id": "E1"}]}))
    with pytest.raises(LayoutError) as exc:
        load_essay_questions(tmp_path)
    assert "essays[0].title: must be text" in str(exc.value) and "ids repeat" in str(exc.value)
    (tmp_path / "essays.json").write_text('{"essays": [', encoding="utf-8")
    with pytest.raises(LayoutError, match="essays.json is not valid JSON") as exc:
        load_essay_questions(tmp_path)
    assert exc.value.details[0].startswith("line 1")
    assert snippet("Một hai ba bốn năm sáu bảy tám chín mười mười một", "NĂM", words_around=2) == \
        "…ba bốn «năm» sáu bảy…"
    assert snippet("Đây là học sinh giỏi", "hoc", plain=True, words_around=1) == "…là «học» sinh…"


# -- end to end: grade → essays pending → ocr → search → duplicates ------------------------------------------
@pytest.mark.slow
def test_sheet_with_essay_pages_ocr_search_and_duplicates(tmp_path, inputs):
    contest = make_contest(tmp_path / "c", questions=[
        {"id": "E1", "title": "Quê hương", "question": "Hãy viết về quê hương của em."}])
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    c_ = ["--contest", str(contest)]

    p = omr("grade", str(inputs["entry"]), str(inputs["digital"]), *c_, "--workers", "2")
    assert p.returncode == ExitCode.FINISHED_WITH_FLAGS, p.stderr       # the e-mailed essay has no participant
    assert "trang tự luận" in p.stdout and "OCR chờ 4" in p.stdout
    pages = db_rows(url, "SELECT s.source, p.page_no, p.status, p.participant, p.reason_code FROM pages p "
                         "JOIN submissions s ON s.id = p.submission_id ORDER BY s.id, p.page_no")
    assert [(Path(s).name, n, st, who, code) for s, n, st, who, code in pages] == [
        ("entry.pdf", 1, "ok", PID, None), ("entry.pdf", 2, "essay", PID, None), ("entry.pdf", 3, "essay", PID, None),
        ("digital.pdf", 1, "essay", None, None)]
    assert db_rows(url, "SELECT source LIKE '%entry.pdf', status FROM submissions ORDER BY id") == [
        (1, "ok"), (0, "flagged")]
    assert db_rows(url, "SELECT total FROM scores") == [("0",)]                 # the sheet is still scored
    essays = db_rows(url, "SELECT e.id, p.page_no, e.kind, e.region_id, e.participant, e.ocr_state, e.anon_code "
                          "FROM essays e JOIN pages p ON p.id = e.page_id ORDER BY e.id")
    assert [e[1:6] for e in essays] == [(1, "region", "E1", PID, "pending"), (2, "page", None, PID, "pending"),
                                        (3, "page", None, PID, "pending"), (1, "page", None, None, "pending")]
    codes = [e[6] for e in essays]
    assert len(set(codes)) == 4 and all(re.fullmatch(r"BT-[2-9A-HJ-NP-Z]{5}", c) for c in codes)
    assert not any(PID in c or PID.lstrip("0") in c for c in codes)
    # one judging task per participant and question: the two essay pages are ONE task; the e-mailed essay waits
    tasks = db_rows(url, "SELECT t.id, t.task_key, t.question, t.participant, t.state, t.anon_code FROM essay_tasks t "
                         "ORDER BY t.id")
    assert [t[1:5] for t in tasks] == [(f"p:{PID}|E1", "E1", PID, "open"), (f"p:{PID}|essay", "essay", PID, "open"),
                                       ("s:2|essay", "essay", None, "waiting")]
    assert [t[5] for t in tasks] == [codes[0], codes[1], codes[3]]        # a task shows its first essay's code
    assert db_rows(url, "SELECT task_id FROM essays ORDER BY id") == [(tasks[0][0],), (tasks[1][0],), (tasks[1][0],),
                                                                     (tasks[2][0],)]
    (flag,) = db_rows(url, "SELECT f.id, f.target, f.reason, p.page_no FROM flags f JOIN pages p ON p.id = f.page_id")
    assert flag[1:] == ("participant", "unmatched_essay", 1)

    p = omr("ocr", *c_, "--workers", "2")
    assert p.returncode in (ExitCode.OK, ExitCode.FINISHED_WITH_FLAGS), p.stderr
    assert "4 essay(s) to read · 4 read" in p.stdout and "0 failed" in p.stdout
    assert re.search(r"ocr: 4/4 \(.*ETA", p.stderr)
    got = {r[0]: r[1:] for r in db_rows(url, "SELECT id, ocr_state, text, text_plain, source, reliable, mean_conf, "
                                             "ocr_at FROM essays ORDER BY id")}
    assert {k: (v[0], v[3]) for k, v in got.items()} == {1: ("done", "ocr"), 2: ("done", "ocr"), 3: ("done", "ocr"),
                                                         4: ("done", "text_layer")}
    assert {"dòng", "sông", "xanh"} <= words(got[1][1])                     # the essay box, cropped and read
    assert not {"câu", "tự", "luận"} & words(got[1][1])                       # … without its printed label
    assert {"vịnh", "hạ", "long", "kỳ", "quan"} <= words(got[2][1])
    assert {"giữ", "gìn", "tiếng", "việt"} <= words(got[3][1])
    assert got[4][1].split() == DIGITAL.split() and got[4][4] and got[4][5] == 100.0
    assert all(v[2] == strip_diacritics(v[1]) for v in got.values())
    assert all(bool(v[4]) for k, v in got.items() if k != 1)                  # typed pages: confident

    again = omr("ocr", *c_, "--workers", "2")                               # nothing pending: nothing new
    assert again.returncode == ExitCode.OK, again.stderr                    # the code tells what this run did
    assert "0 essay(s) to read · 0 read" in again.stdout
    assert {r[0]: r[1:] for r in db_rows(url, "SELECT id, ocr_state, text, text_plain, source, reliable, mean_conf, "
                                              "ocr_at FROM essays ORDER BY id")} == got

    s = omr("search", "vịnh Hạ", *c_)
    assert s.returncode == 0, s.stderr
    (hit,) = s.stdout.splitlines()[1:]
    assert hit.split()[:2] == [codes[1], PID] and "«Vịnh»" in hit
    assert omr("search", "vinh", *c_).stdout == ""                             # exact: no diacritics, no match
    plain = omr("search", "vinh ha long", "--plain", "--blind", *c_)
    assert plain.returncode == 0 and plain.stdout.splitlines()[1].split()[0] == codes[1]
    assert PID not in plain.stdout and "1 essay(s) match" in plain.stderr
    both = omr("search", "tiếng việt", *c_, "--blind").stdout.splitlines()[1:]
    assert sorted(r.split()[0] for r in both) == sorted([codes[2], codes[3]])

    d1 = omr("duplicates", *c_)
    assert d1.returncode == ExitCode.FINISHED_WITH_FLAGS, d1.stderr
    assert "1 near-duplicate pair(s) among 4 essay(s) read (1 new), 1 question statement(s) ignored" in d1.stderr
    (row,) = d1.stdout.splitlines()[1:]
    assert set(row.split()[:2]) == {codes[2], codes[3]} and "Tiếng Việt là ngôn ngữ" in row
    d2 = omr("duplicates", *c_)
    assert "(0 new)" in d2.stderr and d2.stdout == d1.stdout and d2.returncode == ExitCode.OK
    assert db_rows(url, "SELECT essay_a, essay_b, containment > 0.8 FROM duplicate_pairs") == [(3, 4, 1)]

    # a judge assigns the e-mailed essay: the page and its essay follow, the submission is no longer flagged
    r = omr("resolve", str(flag[0]), "000102", *c_, "--who", "giám khảo 1")
    assert r.returncode == 0, r.stderr
    assert db_rows(url, "SELECT participant FROM essays WHERE id = 4") == [("000102",)]
    assert db_rows(url, "SELECT id, task_key, participant, state FROM essay_tasks WHERE id = 3") == [
        (3, "p:000102|essay", "000102", "open")]                           # the waiting task follows
    assert db_rows(url, "SELECT status FROM submissions ORDER BY id") == [("ok",), ("ok",)]
    st = omr("status", *c_)
    assert "tự luận: 3 trang (0 chưa biết của ai), 1 ô tự luận · OCR chờ 0, xong 4" in st.stdout


def test_ocr_one_file_prints_its_text(inputs, tmp_path):
    p = omr("ocr", str(inputs["digital"]))
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == DIGITAL.split()
    assert f"== {inputs['digital']} page 1 (text_layer" in p.stderr
    bad = omr("ocr")
    assert bad.returncode == ExitCode.BAD_ARGS and "either FILE" in bad.stderr
    missing = omr("ocr", str(tmp_path / "nothing.pdf"))
    assert missing.returncode == ExitCode.INPUT and "does not exist" in missing.stderr


# -- the essay box's printed label is not the participant's text ----------------------------------------------
LABEL = "Câu 6: Nghị luận xã hội (Ấn tượng)"          # stacked diacritics above, a dot and a parenthesis below
FIRST_LINE = "Mẹ em trồng rau muống"                  # written on the label's line, right of it
WRITTEN = ("Quê hương em có dòng sông xanh chảy qua những cánh đồng lúa chín vàng. Mỗi buổi chiều, đàn trâu "
           "thong thả trở về làng trong tiếng sáo diều vi vu.")


@pytest.fixture(scope="module")
def labelled_sheet(tmp_path_factory) -> tuple[Layout, Path]:
    """A sheet whose essay box carries ``LABEL``, rendered to PDF (blank: the box holds only its label)."""
    raw = essay_layout_dict()
    raw["essays"][0]["label"] = LABEL
    layout = layout_from_dict(raw)
    pdf = tmp_path_factory.mktemp("labelled") / "sheet.pdf"
    render_sheets(layout, pdf)
    return layout, pdf


def scan_ref(img: np.ndarray, path: Path, ocr: OcrOptions) -> PageRef:
    assert cv2.imwrite(str(path), img)
    (ref,) = plan_pages(str(path), ocr_load_options(ocr))
    return ref


def test_essay_label_rect_holds_the_printed_label_ink(labelled_sheet):
    layout, pdf = labelled_sheet
    dpi = 600
    img = rasterise(pdf, dpi)
    ppm = dpi / 25.4
    box, label = layout.essays[0].rect, essay_label_rect(layout.essays[0])
    inside = 0.5                                                          # mm: off the border lines
    r0, r1 = round((box.y_mm + inside) * ppm), round((box.y_mm + box.h_mm - inside) * ppm)
    c0, c1 = round((box.x_mm + inside) * ppm), round((box.x_mm + box.w_mm - inside) * ppm)
    rows, cols = np.nonzero(img[r0:r1, c0:c1] < 160)
    assert rows.size > 500                                                # the label is drawn
    # ink pixel (row, col) covers layout mm [(r0 + row) / ppm, … + 1 / ppm]
    top, bottom = (r0 + rows.min()) / ppm, (r0 + rows.max() + 1) / ppm
    left, right = (c0 + cols.min()) / ppm, (c0 + cols.max() + 1) / ppm
    tol = 0.1                                                             # mm: antialiasing, a side bearing
    assert label.x_mm - tol <= left and right <= label.x_mm + label.w_mm + tol, (left, right, label)
    assert label.y_mm - tol <= top and bottom <= label.y_mm + label.h_mm + tol, (top, bottom, label)
    # and it is the label's rectangle, not the box: tight around the ink (the font's tallest glyphs reach a
    # little higher than "Ấ", its deepest a little lower than "(")
    assert left - label.x_mm < 0.5 and label.x_mm + label.w_mm - right < 0.5
    assert top - label.y_mm < 0.75 and label.y_mm + label.h_mm - bottom < 0.75
    assert label.y_mm > box.y_mm and label.w_mm < box.w_mm / 2


def test_an_essay_box_is_read_without_its_label_and_border(labelled_sheet, tmp_path):
    """The real path of ``omr ocr``: a scan of the sheet with text written in the box (on the label's line and
    under it) → the essay box's task → align, crop, blank, Tesseract ``vie``."""
    layout, pdf = labelled_sheet
    img = rasterise(pdf, SHEET_DPI)
    ppm = SHEET_DPI / 25.4
    box, label = layout.essays[0].rect, essay_label_rect(layout.essays[0])
    img = draw_text(img, FIRST_LINE, x=round((label.x_mm + label.w_mm + 5) * ppm), y=round((box.y_mm + 0.8) * ppm),
                    width=round((box.x_mm + box.w_mm - label.x_mm - label.w_mm - 8) * ppm), size=36)
    img = draw_text(img, WRITTEN, x=round((box.x_mm + 6) * ppm), y=round((box.y_mm + 14) * ppm),
                    width=round((box.w_mm - 12) * ppm), size=40)
    ocr = OcrOptions()
    ref = scan_ref(img, tmp_path / "scan.png", ocr)
    before = ocr_task(OcrTask(1, ref, box), layout, ocr)                 # the label erased only when it is given
    out = ocr_task(essay_box_task(1, ref, layout.essays[0]), layout, ocr)
    assert out.failure is None and before.failure is None, (out.failure, before.failure)
    got = words(out.result.text)
    label_words = words(LABEL) - {"6"}
    assert label_words <= words(before.result.text)                       # the test sees a label when one is read
    assert not label_words & got, out.result.text
    written = words(FIRST_LINE + " " + WRITTEN)
    assert len(written & got) >= 0.8 * len(written), out.result.text
    assert len(words(FIRST_LINE) & got) >= 4, out.result.text             # the line right of the label is kept
    assert "6" not in got and not re.search(r"[|\[\]]", out.result.text), out.result.text


def test_an_essay_box_holding_one_written_line_is_read_upright(labelled_sheet, tmp_path):
    """Without its label the box holds a single line: too little to tell the text's direction, so the crop
    (upright through the fiducials) is never turned."""
    layout, pdf = labelled_sheet
    ppm = SHEET_DPI / 25.4
    box = layout.essays[0].rect
    line = "Quê hương em có dòng sông xanh"
    img = draw_text(rasterise(pdf, SHEET_DPI), line, x=round((box.x_mm + 8) * ppm), y=round((box.y_mm + 15) * ppm),
                    width=round((box.w_mm - 16) * ppm), size=44)
    ocr = OcrOptions()
    out = ocr_task(essay_box_task(1, scan_ref(img, tmp_path / "one.png", ocr), layout.essays[0]), layout, ocr)
    assert out.failure is None, out.failure
    assert out.result.text.split() == line.split()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_grade_with_ocr_inline_on_both_backends(request, tmp_path, inputs, backend):
    contest = make_contest(tmp_path / "c")
    url = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    p = omr("grade", str(inputs["digital"]), "--contest", str(contest), "--db", url, "--ocr", "inline")
    assert p.returncode == ExitCode.FINISHED_WITH_FLAGS, p.stderr
    assert "1 essay(s) to read · 1 read (0 low confidence, 1 from a text layer)" in p.stdout
    assert db_rows(url, "SELECT kind, participant, ocr_state, source FROM essays") == [
        ("page", None, "done", "text_layer")]
    s = omr("search", "dan toc", "--plain", "--contest", str(contest), "--db", url)
    assert s.returncode == 0 and "(unassigned)" in s.stdout and "«dân»" in s.stdout
    bad = tmp_path / "bad"
    make_contest(bad)
    (bad / "essays.json").write_text("[1, 2]", encoding="utf-8")
    d = omr("duplicates", "--contest", str(bad), "--db", url)
    assert d.returncode == ExitCode.BAD_LAYOUT and "essays.json" in d.stderr


def test_ocr_on_a_dask_cluster(tmp_path, inputs):
    import distributed  # a real dependency (setup.cfg): never skipped

    contest = make_contest(tmp_path / "c")
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    assert omr("grade", str(inputs["digital"]), "--contest", str(contest)).returncode == ExitCode.FINISHED_WITH_FLAGS
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  dashboard_address=None, scheduler_port=0) as cluster:
        p = omr("ocr", "--contest", str(contest), "--scheduler", cluster.scheduler_address)
    assert p.returncode == ExitCode.OK, p.stderr
    assert "1 read" in p.stdout and "Dask scheduler tcp://" in p.stdout
    assert db_rows(url, "SELECT ocr_state, source FROM essays") == [("done", "text_layer")]
    p = omr("ocr", "--contest", str(contest), "--scheduler", "tcp://127.0.0.1:9")
    assert p.returncode == ExitCode.MISSING_DEPENDENCY and "cannot reach the Dask scheduler" in p.stderr


def test_a_missing_file_fails_its_essays_until_retried(tmp_path, inputs):
    contest = make_contest(tmp_path / "c")
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    scan = tmp_path / "mail.pdf"
    scan.write_bytes(inputs["digital"].read_bytes())
    assert omr("grade", str(scan), "--contest", str(contest)).returncode == ExitCode.FINISHED_WITH_FLAGS
    scan.rename(tmp_path / "elsewhere.pdf")
    p = omr("ocr", "--contest", str(contest), "--workers", "1")
    assert p.returncode == ExitCode.FINISHED_WITH_REJECTS, p.stderr
    assert "1 failed" in p.stdout and "cannot be opened any more" in p.stdout
    (state, warnings), = db_rows(url, "SELECT ocr_state, warnings FROM essays")
    assert state == "failed" and "--retry-failed" in warnings
    (tmp_path / "elsewhere.pdf").rename(scan)
    again = omr("ocr", "--contest", str(contest), "--workers", "1")
    assert again.returncode == ExitCode.OK and "0 essay(s) to read" in again.stdout      # this run: nothing failed
    assert "1 essay(s) failed in an earlier run" in again.stderr and "--retry-failed" in again.stderr
    retry = omr("ocr", "--contest", str(contest), "--workers", "1", "--retry-failed")
    assert retry.returncode == ExitCode.OK, retry.stderr
    assert db_rows(url, "SELECT ocr_state, source FROM essays") == [("done", "text_layer")]


def test_an_essay_whose_file_name_is_not_utf8_is_read_and_shown_from_its_exact_bytes(tmp_path, inputs, essay_layout):
    """An e-mailed essay saved under a Latin-1 name ("bài văn.pdf" from an old Windows archive): graded, then OCR
    and the judges' pictures open it again by the bytes kept in the store; people see the name escaped."""
    from grading.webapp.images import essay_picture, page_canvas

    contest = make_contest(tmp_path / "c")
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    (tmp_path / "mail").mkdir()
    scan = os.path.join(str(tmp_path / "mail"), os.fsdecode(b"b\xe0i v\xe3n.pdf"))
    shown = f"{tmp_path}/mail/b\\xe0i v\\xe3n.pdf"
    with open(scan, "wb") as f:
        f.write(inputs["digital"].read_bytes())
    p = omr("grade", str(tmp_path / "mail"), "--contest", str(contest), "--workers", "1")
    assert p.returncode == ExitCode.FINISHED_WITH_FLAGS, p.stderr
    assert db_rows(url, "SELECT source, source_raw, status FROM submissions") == [
        (shown, os.fsencode(scan), "flagged")]
    o = omr("ocr", "--contest", str(contest), "--workers", "1")
    assert o.returncode == ExitCode.OK and "1 read" in o.stdout, o.stdout + o.stderr
    (state, text), = db_rows(url, "SELECT ocr_state, text FROM essays")
    assert state == "done" and "Bài làm đánh máy" in text
    with Store.open(url) as store:
        (essay,), (flag,) = db_rows(url, "SELECT id FROM essays"), store.list_flags()
        assert flag["source"] == shown
        assert essay_picture(store, essay_layout, essay[0]).ndim == 2
        assert page_canvas(store, essay_layout, flag["page_id"]).image.ndim == 3


@pytest.mark.slow
def test_ocr_killed_then_resumed_reads_every_essay_exactly_once(tmp_path):
    """An e-mailed essay of 10 scanned pages; the OCR run is killed (SIGKILL, with its workers) once some
    essays are stored; the next run reads exactly the others."""
    n = 10
    pdf = images_pdf(tmp_path / "essay.pdf", [(typed_page(f"Trang {i + 1}. " + ESSAY_1), 300) for i in range(n)])
    contest = make_contest(tmp_path / "c")
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    assert omr("grade", str(pdf), "--contest", str(contest)).returncode == ExitCode.FINISHED_WITH_FLAGS
    cmd = [sys.executable, "-m", "grading.cli", "ocr", "--contest", str(contest), "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    db = sqlite3.connect(f"file:{contest / 'out' / 'results.sqlite'}?mode=ro", uri=True, timeout=10)
    try:      # a plain read-only poll: it never takes the write lock the OCR run needs
        while time.monotonic() < deadline and proc.poll() is None:
            if db.execute("SELECT count(*) FROM essays WHERE ocr_state = 'done'").fetchone()[0]:
                break
            time.sleep(0.05)
    finally:
        db.close()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    done = db_rows(url, "SELECT count(*) FROM essays WHERE ocr_state = 'done'")[0][0]
    assert 0 < done < n, done
    final = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == ExitCode.OK, final.stderr
    assert f"{n - done} essay(s) to read · {n - done} read" in final.stdout
    rows = db_rows(url, "SELECT e.ocr_state, e.text, p.page_no FROM essays e JOIN pages p ON p.id = e.page_id "
                        "ORDER BY p.page_no")
    assert len(rows) == n and all(r[0] == "done" for r in rows)
    assert all(r[1].startswith(f"Trang {r[2]}.") for r in rows)


@pytest.mark.slow
def test_kill_9_of_ocr_leaves_no_worker_process(tmp_path):
    """SIGKILL of `omr ocr` as soon as its two workers exist: every process it started ends with it."""
    n = 4
    pdf = images_pdf(tmp_path / "essay.pdf", [(typed_page(f"Trang {i + 1}. " + ESSAY_1), 300) for i in range(n)])
    contest = make_contest(tmp_path / "c")
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    assert omr("grade", str(pdf), "--contest", str(contest)).returncode == ExitCode.FINISHED_WITH_FLAGS
    cmd = [sys.executable, "-m", "grading.cli", "ocr", "--contest", str(contest), "--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    tree = ProcessTree(proc)
    try:
        tree.wait_for_workers(2)
        tree.snapshot()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert tree.survivors(within=20) == []
    finally:
        tree.kill_all()
    assert db_rows(url, "SELECT count(*) FROM essays WHERE ocr_state = 'done'")[0][0] < n     # killed mid-way


# -- the store on SQLite and PostgreSQL ------------------------------------------------------------------------
def ocr(text: str, *, conf: float = 93.0, reliable: bool = True) -> OcrResult:
    return OcrResult(text=text, mean_conf=conf, words=len(text.split()), reliable=reliable,
                     engine="tesseract (test input)", source="ocr", seconds=0.1)


QUESTION = ("Em hãy viết một bài văn ngắn trình bày suy nghĩ của mình về vai trò của tình yêu quê hương đất "
            "nước trong cuộc sống của mỗi người trẻ tuổi hôm nay và nêu những việc làm cụ thể của bản thân")
BODY_A = ("Quê em nằm bên bờ sông Hồng hiền hoà, mùa nào cũng có phù sa bồi đắp cho những cánh đồng lúa "
          "xanh mướt chạy dài tít tắp đến tận chân trời xa")
BODY_B = ("Thành phố nơi em sinh ra có những con phố cổ rêu phong, tiếng rao đêm vang lên trong những ngõ nhỏ "
          "quanh co mỗi khi trời trở gió mùa đông")


def test_store_essays_search_duplicates_and_participants(store_url, small_layout):
    keys = keys_from_dict({"versions": {"101": {"answers": "AAADEB"}}}, small_layout)
    with Store.open(store_url) as store:
        store.record_submission("a.pdf", sha("a"), 1, assign_essay_pages([
            reading("a.pdf", 1, "000001", "101", "AAADEB"), failure("a.pdf", 2)]), keys, essay_regions=("E1",))
        store.record_submission("b.pdf", sha("b"), 1, assign_essay_pages([failure("b.pdf", 1), failure("b.pdf", 2)]),
                                keys)
        store.record_submission("c.pdf", sha("c"), 1, assign_essay_pages([
            reading("c.pdf", 1, None, "101", "AAADEB"), failure("c.pdf", 2)]), keys)
        todo = store.essays_to_ocr()
        assert [(e.source, e.page_no, e.kind, e.region_id) for e in todo] == [
            ("a.pdf", 1, "region", "E1"), ("a.pdf", 2, "page", None), ("b.pdf", 1, "page", None),
            ("b.pdf", 2, "page", None), ("c.pdf", 2, "page", None)]
        ids = [e.id for e in todo]
        texts = [REGION_TEXT, QUESTION + " " + BODY_A, QUESTION + " " + BODY_B, "Trang hai: " + BODY_A + " hết bài",
                 "Học sinh trường làng"]
        for eid, text in zip(ids, texts):
            assert store.save_ocr(eid, ocr(text, reliable=eid != ids[-1], conf=40.0 if eid == ids[-1] else 93.0))
        assert not store.save_ocr(ids[0], ocr("something else"))                 # done stays done
        assert not store.fail_ocr(ids[0], "late failure")
        assert store.essays_to_ocr() == []
        c = store.essay_counts()
        assert (c.pages, c.no_participant, c.regions, c.pending, c.done, c.failed, c.unreliable) == \
            (4, 3, 1, 0, 5, 0, 1)
        # pages are never scored nor counted as results; the two sheets are
        assert store.rescore(keys, "test") == 2
        assert list(store.results_frame()["participant"].fillna("-")) == ["000001", "-"]

        def found(q: str, plain: bool = False) -> list[int]:
            return sorted(r["id"] for r in store.search_essays(q, plain=plain))

        assert found("sông Hồng") == [ids[1], ids[3]]
        assert found("song hong") == [] and found("song hong", plain=True) == [ids[1], ids[3]]
        assert found("HỌC") == [ids[4]] and found("hoc", plain=True) == [ids[4]]
        assert found("học sinh trường", plain=True) == [ids[4]] and found("xyz") == []
        row = store.search_essays("phố cổ")[0]
        assert (row["anon_code"], row["participant"], row["reliable"]) == (
            db_code(store, ids[2]), None, True)

        # near-duplicates: the shared question statement is ignored; the copied body is found, stored once
        q = (EssayQuestion("E1", "Quê hương", QUESTION),)
        pairs, new = find_duplicates(store, q)
        assert [(f.a, f.b) for f in pairs] == [(ids[1], ids[3])] and new == 1
        assert "phù sa" in pairs[0].passages[0]["text"] and pairs[0].containment > 0.9
        pairs2, new2 = find_duplicates(store, q)
        assert pairs2 == pairs and new2 == 0
        pairs3, _ = find_duplicates(store)                                  # without it: the statement pairs too
        assert (ids[1], ids[2]) in [(f.a, f.b) for f in pairs3]
        with store.read_tx("t") as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM duplicate_pairs")).scalar() == len(pairs3)

        # b.pdf has no sheet: one unmatched_essay flag, on its first page; a judge's answer reaches both pages
        (flag,) = store.list_flags()
        assert (flag["source"], flag["page_no"], flag["target"], flag["reason"]) == (
            "b.pdf", 1, "participant", "unmatched_essay")
        with store.read_tx("t") as conn:
            assert dict(conn.execute(sa.text("SELECT source, status FROM submissions")).all()) == {
                "a.pdf": "ok", "b.pdf": "flagged", "c.pdf": "ok"}
        store.resolve_flag(flag["id"], "000002", "judge")
        with store.read_tx("t") as conn:
            by = dict(conn.execute(sa.text("SELECT id, participant FROM essays")).all())
            assert dict(conn.execute(sa.text("SELECT source, status FROM submissions")).all())["b.pdf"] == "ok"
            assert conn.execute(sa.text("SELECT count(*) FROM pages WHERE participant = '000002' "
                                        "AND status = 'essay'")).scalar() == 2
        assert by == {ids[0]: "000001", ids[1]: "000001", ids[2]: "000002", ids[3]: "000002", ids[4]: None}


def db_code(store: Store, essay_id: int) -> str:
    with store.read_tx("t") as conn:
        return conn.execute(sa.text(f"SELECT anon_code FROM essays WHERE id = {essay_id}")).scalar_one()


# -- migration -------------------------------------------------------------------------------------------------
def test_a_version_1_database_is_migrated_and_keeps_its_rows(store_url):
    backend = "postgresql" if store_url.startswith("postgres") else "sqlite"
    if backend == "sqlite":                                  # a v1 database FILE, written before this version
        Path(store_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    engine = sa.create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    ddl = (DATA / f"schema_v1_{backend}.sql").read_text(encoding="utf-8")
    with engine.begin() as conn:
        for stmt in ddl.split(";\n"):
            body = "\n".join(ln for ln in stmt.splitlines() if not ln.startswith("--")).strip()
            if body:
                conn.exec_driver_sql(body)
        conn.execute(sa.text("INSERT INTO schema_version (id, version, updated_at) VALUES (1, 1, :t)"),
                     {"t": "2026-01-01T00:00:00+00:00"})
        t = {"t": "2026-01-01T00:00:00+00:00"}
        sid = conn.execute(sa.text("INSERT INTO submissions (source, content_hash, size, n_pages, status, first_seen) "
                                   "VALUES ('old.pdf', :h, 10, 2, 'flagged', :t) RETURNING id"),
                           {"h": sha("old"), **t}).scalar_one()
        page_ids = [conn.execute(sa.text(
            "INSERT INTO pages (submission_id, page_no, status, reason_code, participant, reading, read_at) "
            "VALUES (:sid, :no, :st, :code, '000009', '{}', :t) RETURNING id"),
            {"sid": sid, "no": no, "st": status, "code": code, **t}).scalar_one()
            for no, status, code in ((1, "flagged", None), (2, "rejected", "not_a_sheet"))]
        conn.execute(sa.text("INSERT INTO flags (page_id, target, key, reason, message, confidence, origin, state) "
                             "VALUES (:p, 'question', '3', 'ambiguous_mark', 'câu 3', 0.4, 'reader', 'open')"),
                     {"p": page_ids[0]})
    before = {t: _dump(engine, t) for t in ("submissions", "pages", "flags")}
    v1_columns = {t: _columns(engine, t) for t in before}
    engine.dispose()

    with Store.open(store_url) as store:
        with store.read_tx("t") as conn:
            assert conn.execute(sa.text("SELECT version FROM schema_version")).scalar() == SCHEMA_VERSION
            for t in ("essays", "essay_tasks", "essay_assignments", "participants", "duplicate_pairs"):
                assert conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() == 0
        # every v1 row and column is kept; v4 adds submissions.unit, v6 submissions.source_raw (empty for old rows)
        assert {t: _dump(store.engine, t, v1_columns[t]) for t in before} == before
        assert _columns(store.engine, "submissions") == v1_columns["submissions"] + ["unit", "source_raw"]
        assert _dump(store.engine, "submissions", ["unit", "source_raw"]) == [(None, None)]
        assert store.counts()["flags_open"] == 1
        # the new tables work, search included
        store.record_submission("new.pdf", sha("new"), 1, assign_essay_pages([failure("new.pdf", 1)]), None)
        (e,) = store.essays_to_ocr()
        store.save_ocr(e.id, ocr("Bài văn về mùa thu Hà Nội"))
        assert [r["id"] for r in store.search_essays("mua thu", plain=True)] == [e.id]
    with Store.open(store_url) as store:                     # opening again: nothing to migrate, nothing lost
        assert [r["id"] for r in store.search_essays("Hà Nội")] == [e.id]
        for t in ("submissions", "pages", "flags"):
            assert _dump(store.engine, t, v1_columns[t])[:len(before[t])] == before[t]
        assert [len(_dump(store.engine, t)) for t in ("submissions", "pages", "flags")] == [2, 3, 2]


def _dump(engine: sa.Engine, table: str, columns: list[str] | None = None) -> list[tuple]:
    what = ", ".join(columns) if columns else "*"
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(f"SELECT {what} FROM {table} ORDER BY id"))]


def _columns(engine: sa.Engine, table: str) -> list[str]:
    return [c["name"] for c in sa.inspect(engine).get_columns(table)]
