"""Typed entries graded like bubble sheets: ``omr grade`` on DOCX, ODT, a text PDF, plain text and a scanned sheet
(one submission per document, its answers scored with the keys, its flags with the reader's reasons, its essay part
stored blind with its text known); ``omr ingest`` grades e-mailed DOCX entries and takes the entrant from the
document's identity block. SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from grading.cli import main
from grading.contest import load_contest
from grading.score import score_sheet
from grading.store import Store
from grading.webapp.images import essay_picture, page_canvas, question_picture, text_page
from omr.layout import GroupKind
from omr.sheet import Participant, render_sheets
from samples.mail import CONTEST_SETTINGS, UNITS_CSV, message

from grading_support import DEMO, db_rows

DPI = 150
PPM = DPI / 25.4
ESSAY = ("Dịch vụ công trực tuyến giúp người dân tiết kiệm thời gian.",
         "Gia đình em đã nộp hồ sơ qua Cổng Dịch vụ công quốc gia.")
PEOPLE = {
    "docx": ("Nguyễn Thị Hoa", "5/9/2010", "0912 345 678", "hoa.nt@example.vn"),
    "odt": ("Trần Văn Bình", "12/3/2009", "0987 111 222", "binh.tv@example.vn"),
    "pdf": ("Lê Minh Châu", "1/1/2011", "0903 000 111", "chau.lm@example.vn"),
    "txt": ("Phạm Quốc Dũng", "20/11/2008", "0977 222 333", "dung.pq@example.vn"),
}


def key_of(version: str) -> dict[str, str]:
    keys = load_contest(DEMO).keys
    return {it.question: it.accept_text()[0] for it in keys.get(version).items}


def chosen(version: str, shift: int) -> dict[str, str]:
    """The key's answers, every ``shift``-th one wrong and question 7 left blank."""
    out = {}
    for q, a in key_of(version).items():
        if int(q) % shift == 0:
            a = "ABCD"[("ABCD".index(a) + 1) % 4]
        out[q] = "" if q == "7" else a
    return out


def identity_lines(kind: str) -> list[str]:
    name, dob, phone, email = PEOPLE[kind]
    return ["BÀI DỰ THI", f"Họ và tên: {name}", f"Ngày sinh: {dob}", "Địa chỉ: 12 Hàng Bài, Hoàn Kiếm",
            "Đơn vị / Trường: Trường THCS Trưng Vương", "Lớp: 9A", f"Số điện thoại: {phone}", f"Email: {email}"]


def entry_lines(kind: str, version: str | None, answers: dict[str, str], fmt: str, extra: tuple[str, ...] = ()):
    lines = identity_lines(kind) + ([f"Mã đề: {version}"] if version else []) + ["PHẦN I. TRẮC NGHIỆM"]
    lines += [fmt.format(q=q, a=a) for q, a in answers.items() if a] + list(extra)
    return lines + ["PHẦN II. TỰ LUẬN", *ESSAY]


def write_docx(path: Path, lines: list[str]) -> Path:
    import docx

    d = docx.Document()
    d.core_properties.author = "Nguyễn Thị Hoa"
    for line in lines:
        d.add_paragraph(line)
    d.sections[0].footer.paragraphs[0].text = "Nguyễn Thị Hoa"
    d.save(str(path))
    return path


def write_odt(path: Path, lines: list[str]) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    doc = OpenDocumentText()
    for line in lines:
        doc.text.addElement(P(text=line))
    doc.save(str(path))
    return path


def write_text_pdf(path: Path, lines: list[str]) -> Path:
    from reportlab.pdfgen import canvas

    from omr.sheet import FONT, register_fonts

    register_fonts()
    c = canvas.Canvas(str(path))
    y = 800
    for line in lines:
        if y < 50:
            c.showPage()
            y = 800
        c.setFont(FONT, 11)
        c.drawString(50, y, line)
        y -= 15
    c.save()
    return path


def bubble_sheet(path: Path, layout, answers: dict[str, str]) -> Path:
    pdf = path.with_suffix(".pdf.tmp")
    render_sheets(layout, pdf, participants=[Participant("000101", "Vũ Văn Em", "")])
    png = subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", str(pdf)], check=True, capture_output=True,
                         timeout=60).stdout
    pdf.unlink()
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    marks = [g.first + g.labels.index(lab) for g in layout.question_groups for lab in answers.get(g.key, "")]
    marks += [g.first + int(d) for d, g in zip("101", layout.digit_groups(GroupKind.VERSION))]
    for i in marks:
        y, x = layout.centres_mm[i]
        cv2.circle(img, (int(round(x * PPM)), int(round(y * PPM))), int(layout.bubble_r_mm * 0.85 * PPM), 40, -1)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    path.write_bytes(buf.tobytes())
    return path


@pytest.fixture(scope="module")
def entries(tmp_path_factory) -> tuple[Path, dict[str, tuple[str, dict[str, str]]]]:
    """A folder of typed entries and one bubble sheet, with what each should score from: (version, answers)."""
    d = tmp_path_factory.mktemp("typed")
    contest = load_contest(DEMO)
    a_docx, a_odt, a_pdf, a_txt = chosen("102", 5), chosen("101", 4), chosen("103", 6), chosen("104", 3)
    truth = {"entry-docx.docx": ("102", {**a_docx, "9": ""}), "entry-odt.odt": ("101", a_odt),
             "entry-pdf.pdf": ("103", a_pdf), "entry-txt.txt": ("104", a_txt)}
    # the DOCX answers question 9 twice, differently: flagged (never a guess), blank until resolved
    write_docx(d / "entry-docx.docx", entry_lines("docx", "102", a_docx, "Câu {q}: {a}",
                                                  extra=("Câu 9: A", "Câu 9: C")))
    write_odt(d / "entry-odt.odt", entry_lines("odt", None, a_odt, "{q} – {a}"))       # no code: the default 101
    write_text_pdf(d / "entry-pdf.pdf", entry_lines("pdf", "103", a_pdf, "Câu {q}. Đáp án: {a}"))
    (d / "entry-txt.txt").write_text("\n".join(entry_lines("txt", "104", a_txt, "Câu{q}:{a}")), encoding="utf-8")
    sheet = key_of("101")
    bubble_sheet(d / "sheet.jpg", contest.layout, sheet)
    truth["sheet.jpg"] = ("101", sheet)
    return d, truth


def make_contest(tmp: Path, settings: dict | None = None) -> Path:
    folder = tmp / "contest"
    shutil.copytree(DEMO, folder)
    if settings is not None:
        (folder / "contest.json").write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")
    return folder


def expected_total(version: str, answers: dict[str, str]) -> str:
    return score_sheet(answers, version, load_contest(DEMO).keys).to_json()["total"]


def test_grade_takes_docx_odt_text_pdf_and_txt_like_bubble_sheets(tmp_path, store_url, entries):
    folder, truth = entries
    contest = make_contest(tmp_path)
    inputs = tmp_path / "in"
    shutil.copytree(folder, inputs)
    assert main(["grade", str(inputs), "--contest", str(contest), "--db", store_url, "--workers", "1"]) == 3
    subs = dict(db_rows(store_url, "SELECT source, n_pages FROM submissions"))
    assert {Path(s).name: n for s, n in subs.items()} == {"entry-docx.docx": 2, "entry-odt.odt": 2,
                                                         "entry-pdf.pdf": 2, "entry-txt.txt": 2, "sheet.jpg": 1}
    rows = db_rows(store_url, "SELECT s.source, p.page_no, p.status, p.version, sc.total FROM pages p "
                              "JOIN submissions s ON s.id = p.submission_id "
                              "LEFT JOIN scores sc ON sc.page_id = p.id ORDER BY s.source, p.page_no")
    got = {(Path(src).name, no): (status, version, total) for src, no, status, version, total in rows}
    for name, (version, answers) in truth.items():
        status, v, total = got[(name, 1)]
        assert (v, total) == (version, expected_total(version, answers)), name
        if name != "sheet.jpg":
            assert got[(name, 2)][:2] == ("essay", None)
    assert got[("entry-docx.docx", 1)][0] == "flagged"
    assert got[("entry-odt.odt", 1)][0] == "ok"
    flags = db_rows(store_url, "SELECT s.source, f.target, f.key, f.reason, f.message FROM flags f "
                               "JOIN pages p ON p.id = f.page_id JOIN submissions s ON s.id = p.submission_id "
                               "WHERE f.state = 'open' AND f.reason <> 'unmatched_essay'")
    assert [(Path(s).name, t, k, r) for s, t, k, r, _ in flags] == [
        ("entry-docx.docx", "question", "9", "contradictory_answers")]
    assert "Câu 9: A" in flags[0][4] and "Câu 9: C" in flags[0][4]            # the evidence, for the judge
    reading = db_rows(store_url, "SELECT p.reading FROM pages p JOIN submissions s ON s.id = p.submission_id "
                                 "WHERE p.page_no = 1 AND s.source LIKE '%entry-odt.odt'")[0][0]
    reading = json.loads(reading) if isinstance(reading, str) else reading
    assert "“1 – " in reading["evidence"]["1"]
    # the flag pages show a typed entry's answer lines, drawn (there is no scan to open)
    flagged = db_rows(store_url, "SELECT f.page_id FROM flags f WHERE f.reason = 'contradictory_answers'")[0][0]
    layout = load_contest(DEMO).layout
    with Store.open(store_url) as store:
        canvas = page_canvas(store, layout, flagged)
        crop = question_picture(store, layout, flagged, "9", None)
        assert (canvas.image < 128).sum() > 1000 and canvas.page.page_id == flagged
    docx_reading = db_rows(store_url, f"SELECT reading FROM pages WHERE id = {flagged}")[0][0]
    evidence = (json.loads(docx_reading) if isinstance(docx_reading, str) else docx_reading)["evidence"]
    assert "Câu 9: C" in evidence["9"]
    assert np.array_equal(crop[:, :, 0], text_page(f"Câu 9: {evidence['9']}"))
    # the essay part: known text, stored blind (no name, phone, e-mail, date of birth)
    essays = db_rows(store_url, "SELECT e.text, e.ocr_state, e.source, e.id FROM essays e")
    assert len(essays) == 4
    with Store.open(store_url) as store:            # judges see the essay part drawn alone, never the document
        for text, _, _, essay_id in essays:
            picture = essay_picture(store, load_contest(DEMO).layout, essay_id)
            assert np.array_equal(picture, text_page(text)) and (picture < 128).sum() > 1000
    for text, state, source, _ in essays:
        assert (state, source) == ("done", "text_layer")
        assert all(sentence in text for sentence in ESSAY)
        for name, dob, phone, email in PEOPLE.values():
            assert name not in text and phone not in text and email not in text and dob not in text
            assert "Họ và tên" not in text and "Trưng Vương" not in text
    # a second run adds nothing
    before = db_rows(store_url, "SELECT count(*) FROM pages")[0][0]
    assert main(["grade", str(inputs), "--contest", str(contest), "--db", store_url, "--workers", "1"]) == 3
    assert db_rows(store_url, "SELECT count(*) FROM pages")[0][0] == before
    assert db_rows(store_url, "SELECT count(*) FROM submissions")[0][0] == 5


def test_a_typed_entry_takes_its_roster_id_and_the_export_shows_its_total(tmp_path, sqlite_url, entries):
    folder, truth = entries
    contest = make_contest(tmp_path)
    (contest / "roster.csv").write_text("participant_id,name,unit\n000101,Vũ Văn Em,\n000102,Trần Văn Bình,\n",
                                        encoding="utf-8")
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(folder / "entry-odt.odt", inputs)
    shutil.copy(folder / "entry-txt.txt", inputs)
    assert main(["grade", str(inputs), "--contest", str(contest), "--db", sqlite_url, "--workers", "1"]) == 3
    out = tmp_path / "results.csv"
    code = main(["export", "--contest", str(contest), "--db", sqlite_url, "--out", str(out), "--headers", "codes"])
    assert code in (0, 3)
    with open(out, encoding="utf-8-sig") as f:
        rows = {r["participant_id"]: r for r in csv.DictReader(f)}
    version, answers = truth["entry-odt.odt"]
    assert rows["000102"]["total_exact"] == expected_total(version, answers)
    # the TXT entry's writer is not on the roster: no participant, and a flag saying so
    assert db_rows(sqlite_url, "SELECT f.reason FROM flags f JOIN pages p ON p.id = f.page_id JOIN submissions s "
                               "ON s.id = p.submission_id WHERE s.source LIKE '%entry-txt.txt' "
                               "AND f.target = 'participant' AND f.reason <> 'unmatched_essay'") == [
        ("participant_unmatched",)]


def test_ingest_grades_emailed_docx_entries_and_takes_the_entrant_from_the_document(tmp_path, store_url, entries):
    folder, truth = entries
    contest = make_contest(tmp_path, {**CONTEST_SETTINGS, "default_version": "101"})
    (contest / "units.csv").write_text(UNITS_CSV, encoding="utf-8")
    box = tmp_path / "box"
    box.mkdir()
    docx = (folder / "entry-docx.docx").read_bytes()
    (box / "1.eml").write_bytes(message(
        sender="hoa@example.vn", subject="Bài dự thi", body="Em gửi bài dự thi ạ.",
        received=datetime(2026, 9, 1, 3, 0, tzinfo=timezone.utc),
        attachments=[("bai du thi.docx", docx,
                      "application/vnd.openxmlformats-officedocument.wordprocessingml.document")]))
    essay_only = write_docx(tmp_path / "essay.docx", identity_lines("odt") + ["Bài viết", *ESSAY])
    (box / "2.eml").write_bytes(message(
        sender="binh@example.vn", subject="Bài viết", body="Bài của em.",
        received=datetime(2026, 9, 1, 4, 0, tzinfo=timezone.utc),
        attachments=[("bai.docx", essay_only.read_bytes(),
                      "application/vnd.openxmlformats-officedocument.wordprocessingml.document")]))
    args = ["ingest", str(box), "--contest", str(contest), "--db", store_url, "--unit", "Q.HK",
            "--files", str(tmp_path / "files")]
    assert main(args) in (0, 3)
    assert db_rows(store_url, "SELECT state FROM entries") == [("graded",), ("graded",)]
    ent = db_rows(store_url, "SELECT id, name, date_of_birth, phone, email, unit, class_name, category "
                             "FROM entrants ORDER BY date_of_birth DESC")
    assert [e[1:] for e in ent] == [("Nguyễn Thị Hoa", "2010-09-05", "0912345678", "hoa.nt@example.vn",
                                     "Trường THCS Trưng Vương", "9A", "student"),
                                    ("Trần Văn Bình", "2009-03-12", "0987111222", "binh.tv@example.vn",
                                     "Trường THCS Trưng Vương", "9A", "student")]
    # an essay-only document: its essay is its entrant's, not an essay "without a participant"
    assert db_rows(store_url, "SELECT e.participant, e.ocr_state FROM essays e JOIN pages p ON p.id = e.page_id "
                              "JOIN submissions s ON s.id = p.submission_id WHERE s.n_pages = 1") == [
        (ent[1][0], "done")]
    assert db_rows(store_url, "SELECT count(*) FROM flags WHERE reason = 'unmatched_essay'") == [(0,)]
    version, answers = truth["entry-docx.docx"]
    scored = db_rows(store_url, "SELECT p.participant, sc.total FROM scores sc JOIN pages p ON p.id = sc.page_id")
    assert scored == [(ent[0][0], expected_total(version, answers))]
    texts = db_rows(store_url, "SELECT e.text, e.participant FROM essays e JOIN pages p ON p.id = e.page_id "
                               "JOIN submissions s ON s.id = p.submission_id WHERE s.n_pages = 2")
    assert len(texts) == 1 and ESSAY[1] in texts[0][0] and texts[0][1] == ent[0][0]
    assert "Nguyễn Thị Hoa" not in texts[0][0] and "0912 345 678" not in texts[0][0]
    assert main(args) in (0, 3)                               # a second run adds nothing
    assert db_rows(store_url, "SELECT count(*) FROM submissions") == [(2,)]


def test_a_born_digital_pdf_of_an_answer_sheet_is_read_as_a_sheet_not_as_typed_text(tmp_path, sqlite_url):
    """A sheet rendered to PDF has the sheet's own text ("1 A B C D"), which the document reader would take for
    answers: its first page holds a sheet, so the page reader takes it."""
    contest = make_contest(tmp_path)
    inputs = tmp_path / "in"
    inputs.mkdir()
    render_sheets(load_contest(DEMO).layout, inputs / "printed.pdf", participants=[Participant("000101", "Vũ Em", "")])
    main(["grade", str(inputs), "--contest", str(contest), "--db", sqlite_url, "--workers", "1"])
    rows = db_rows(sqlite_url, "SELECT p.page_no, p.status, p.participant, p.reading FROM pages p")
    assert len(rows) == 1
    page_no, status, participant, reading = rows[0]
    reading = json.loads(reading) if isinstance(reading, str) else reading
    assert (page_no, participant) == (1, "000101") and status != "essay" and "evidence" not in reading


@pytest.mark.slow
def test_the_demo_grades_a_few_generated_docx_entries(tmp_path, sqlite_url):
    from grading.demo import typed_demo

    docs, line = typed_demo(tmp_path / "typed", DEMO, 3)
    assert [d.suffix for d in docs] == [".docx"] * 3
    assert line.startswith("typed entries: 3 DOCX, 300 answers") and line.endswith(" 0 silent error(s)")
    assert main(["grade", *map(str, docs), "--contest", str(DEMO), "--db", sqlite_url, "--workers", "1"]) in (0, 3)
    assert db_rows(sqlite_url, "SELECT count(*), sum(n_pages) FROM submissions") == [(3, 6)]
    assert db_rows(sqlite_url, "SELECT count(*) FROM scores") == [(3,)]


def test_a_roster_wins_over_the_entrant_made_from_an_emailed_entry(tmp_path, sqlite_url, entries):
    folder, _ = entries
    contest = make_contest(tmp_path, {**CONTEST_SETTINGS, "default_version": "101"})
    (contest / "units.csv").write_text(UNITS_CSV, encoding="utf-8")
    (contest / "roster.csv").write_text("participant_id,name,unit\n000777,NGUYỄN THỊ HOA,Q.HK\n", encoding="utf-8")
    box = tmp_path / "box"
    box.mkdir()
    (box / "1.eml").write_bytes(message(
        sender="hoa@example.vn", subject="Bài dự thi", body="Em gửi bài dự thi ạ.",
        received=datetime(2026, 9, 1, 3, 0, tzinfo=timezone.utc),
        attachments=[("bai du thi.docx", (folder / "entry-docx.docx").read_bytes(),
                      "application/vnd.openxmlformats-officedocument.wordprocessingml.document")]))
    assert main(["ingest", str(box), "--contest", str(contest), "--db", sqlite_url, "--unit", "Q.HK"]) in (0, 3)
    assert db_rows(sqlite_url, "SELECT p.participant FROM scores sc JOIN pages p ON p.id = sc.page_id") == [
        ("000777",)]
    assert db_rows(sqlite_url, "SELECT count(*) FROM flags WHERE reason = 'participant_unmatched'") == [(0,)]
