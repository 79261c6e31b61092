"""Answers people show by formatting or by position, in every format they send: a copied option in bold or in
colour (DOCX, the same document saved as ODT and exported to PDF by LibreOffice), and a printed grid of
"Câu | A | B | C | D" with an X under the chosen letter that runs over several PDF pages (its header printed
once). Options copied out with no mark that can be read are flags in a typed entry — never an essay page that
loses the questions."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import docx
import pytest
from docx.shared import RGBColor

from documents_support import DEMO
from omr.documents import load_entry_contest, read_entry

pytestmark = pytest.mark.slow

QUESTIONS = json.loads((DEMO / "questions.json").read_text(encoding="utf-8"))["questions"]
KEY = {q["id"]: "ABCD"[int(q["id"]) * 7 % 4] for q in QUESTIONS}
IDENTITY = ["Họ và tên: Đỗ Thị Mai Anh", "Ngày sinh: 03/04/1990", "Địa chỉ: Số 5 Láng Hạ, Đống Đa",
            "Đơn vị: UBND phường Láng Hạ", "Số điện thoại: 0913 456 789", "Email: maianh@example.vn"]


def entry(path: Path, style: str | None, n: int = 12) -> Path:
    """Questions 1..n copied with their options, the chosen one formatted with ``style`` (None: no mark)."""
    d = docx.Document()
    d.add_paragraph("BÀI DỰ THI")
    for line in IDENTITY:
        d.add_paragraph(line)
    for q in QUESTIONS[:n]:
        d.add_paragraph(f"Câu {q['id']}: {q['text']}")
        for letter, text in q["options"].items():
            run = d.add_paragraph().add_run(f"{letter}. {text}")
            if letter == KEY[q["id"]] and style == "bold":
                run.bold = True
            elif letter == KEY[q["id"]] and style == "red":
                run.font.color.rgb = RGBColor(0xC0, 0, 0)
    d.save(str(path))
    return path


def grid(path: Path) -> Path:
    """Every question in a "Câu | A | B | C | D" table with an X in the chosen column, over three pages."""
    d = docx.Document()
    d.add_paragraph("BÀI DỰ THI")
    for line in IDENTITY:
        d.add_paragraph(line)
    t = d.add_table(rows=1, cols=5)
    for i, head in enumerate(["Câu", "A", "B", "C", "D"]):
        t.rows[0].cells[i].text = head
    for q in QUESTIONS:
        cells = t.add_row().cells
        cells[0].text = q["id"]
        cells[1 + "ABCD".index(KEY[q["id"]])].text = "X"
    d.save(str(path))
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("formatting")
    for style in ("bold", "red"):
        entry(d / f"{style}.docx", style)
    entry(d / "unmarked.docx", None)
    grid(d / "grid.docx")
    docs = sorted(str(p) for p in d.glob("*.docx"))
    for fmt in ("odt", "pdf"):
        subprocess.run(["soffice", f"-env:UserInstallation=file://{d}/profile", "--headless", "--convert-to", fmt,
                        "--outdir", str(d), *docs], check=True, capture_output=True, timeout=240)
    return d


def read(path: Path):
    return read_entry(str(path), load_entry_contest(DEMO))


@pytest.mark.parametrize("style", ["bold", "red"])
@pytest.mark.parametrize("ext", ["docx", "odt", "pdf"])
def test_a_copied_option_in_bold_or_in_colour_is_the_answer_in_every_format(made, style, ext):
    r = read(made / f"{style}.{ext}")
    answers = {a.question: a.letters for a in r.answers}
    assert {q: answers[q] for q in list(KEY)[:12]} == {q: KEY[q] for q in list(KEY)[:12]}
    assert not [f for f in r.flags if f.target == "question"]


@pytest.mark.parametrize("ext", ["docx", "odt", "pdf"])
def test_options_copied_without_a_readable_mark_are_a_typed_entry_with_flags(made, ext):
    r = read(made / f"unmarked.{ext}")
    assert r.kind.value == "typed"
    flagged = {f.key for f in r.flags if f.reason == "options_listed_unmarked"}
    assert len(flagged) >= 10 and all(a.letters == "" for a in r.answers)


@pytest.mark.parametrize("ext", ["docx", "odt", "pdf"])
def test_a_grid_of_x_marks_over_several_pages_is_read_by_its_columns(made, ext):
    r = read(made / f"grid.{ext}")
    if ext == "pdf":
        assert r.pages is not None and r.pages >= 2        # the grid runs over pages printed without its header
    assert {a.question: a.letters for a in r.answers} == KEY
    assert not [f for f in r.flags if f.target == "question"]
