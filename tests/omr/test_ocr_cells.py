"""A scanned page's words put back into text lines and tables by their positions (``omr.ocr.cells``); a table
with several question | answer pairs a row; a short token the OCR was unsure of flagged on the answer it gave."""
from __future__ import annotations

import numpy as np

from documents_support import DEMO, lines
from omr.documents import load_entry_contest
from omr.documents.answers import extract_answers
from omr.documents.entry import _capped_by_ocr
from omr.documents.records import Answer, OcrPage
from omr.ocr.cells import CellTable, TextRow, erase_rules, page_rows, without_rules
from omr.ocr.records import OcrWord

H = 30          # word height, px


def _row(y: int, *cells: tuple[int, str], conf: float = 95.0) -> list[OcrWord]:
    """Words at ``y``: each (x, text) cell's words one space (10 px) apart, 15 px a character."""
    out = []
    for x, text in cells:
        for word in text.split():
            out.append(OcrWord(word, conf, x, y, 15 * len(word), H))
            x += 15 * len(word) + 10
    return out


def test_a_two_column_table_read_column_by_column_by_tesseract_is_put_back_row_by_row():
    words = (_row(0, (100, "Họ và tên: Đỗ Thu Hà")) + _row(50, (100, "Câu"), (900, "Đáp án"))
             # Tesseract lists the number column first, then the letters: positions alone put them back
             + [w for y, n in ((100, "1"), (150, "Câu 2"), (200, "3")) for w in _row(y, (100, n))]
             + [w for y, a in ((100, "B"), (150, "d"), (200, "A")) for w in _row(y + 3, (900, a))]
             + _row(300, (100, "Phần II. Tự luận: dịch vụ công giúp người dân tiết kiệm thời gian")))
    got = page_rows(tuple(words))
    assert [type(x) for x in got] == [TextRow, CellTable, TextRow]
    assert got[0].text == "Họ và tên: Đỗ Thu Hà"
    assert got[1].rows == (("Câu", "Đáp án"), ("1", "B"), ("Câu 2", "d"), ("3", "A"))
    assert got[2].text.startswith("Phần II.")


def test_four_columns_of_pairs_a_wrapped_cell_and_rule_characters():
    words = (_row(0, (50, "Câu"), (300, "Đáp án"), (600, "Câu"), (850, "Đáp án"))
             + _row(50, (50, "1"), (300, "B"), (600, "11"), (850, "C"))
             + _row(100, (50, "2"), (300, "A"), (600, "12"), (850, "D"))
             + [OcrWord("|", 40.0, 280, 100, 4, 2 * H)])           # a cell line read as a character
    assert page_rows(tuple(words)) == [CellTable((("Câu", "Đáp án", "Câu", "Đáp án"), ("1", "B", "11", "C"),
                                                  ("2", "A", "12", "D")), 0)]
    wrapped = (_row(0, (50, "1"), (300, "Nộp hồ sơ"), (900, "B")) + _row(50, (50, "2"), (300, "Tra cứu"), (900, "A"))
               + _row(100, (300, "trực tuyến")))
    assert page_rows(tuple(wrapped))[0].rows == (("1", "Nộp hồ sơ", "B"), ("2", "Tra cứu\ntrực tuyến", "A"))


def test_a_row_of_pairs_gives_each_number_the_cell_right_of_it():
    qs = load_entry_contest(DEMO).questions
    got = extract_answers(lines([["Câu", "Đáp án", "Câu", "Đáp án"], ["1", "B", "11", "C"], ["2", "A", "12", ""]]),
                          qs)
    assert {a.question: a.letters for a in got.answers if a.letters} == {"1": "B", "11": "C", "2": "A"}
    assert "bảng 1, hàng 2, ô 4" in next(a.evidence for a in got.answers if a.question == "11")


def test_a_short_token_read_without_confidence_flags_the_answer_it_gave():
    words = _row(0, (100, "Câu"), (900, "Đáp án")) + _row(50, (100, "1"), (900, "B")) + _row(100, (100, "2")) \
        + _row(100, (900, "8"), conf=41.0)
    table = page_rows(tuple(words))[0]
    assert table.doubtful == ((2, 1, "8"),)
    pages = (OcrPage(1, True, 0.92, 1.0),)
    answers = (Answer("1", "B", 1.0, "trang 1 (OCR), bảng 1, hàng 2, ô 2: “1 | B”"),
               Answer("2", "B", 1.0, "trang 1 (OCR), bảng 1, hàng 3, ô 2: “2 | B”"))
    doubts = (("trang 1 (OCR), bảng 1, hàng 3, ô 2", "8"), ("trang 1 (OCR), bảng 1, hàng 2, ô 3", "gì"))
    got, flags = _capped_by_ocr(answers, pages, set(), doubts)
    assert [a.confidence for a in got] == [0.92, 0.92]
    assert [(f.key, f.reason) for f in flags] == [("2", "ocr_doubtful_character")]
    assert "'8'" in flags[0].message and flags[0].evidence.endswith("“2 | B”")


def test_drawn_lines_are_erased_and_left_out_of_the_text_direction():
    page = np.full((400, 600), 255, np.uint8)
    page[50:350, 300:303] = 0                                      # a column line
    page[200:202, 20:580] = 0                                      # a row line
    page[100:115, 100:110] = 0                                     # a letter-sized blot stays
    out = erase_rules(page)
    assert out[50:350, 300:303].min() > 200 and out[200:202, 20:580].min() > 200 and out[100:115, 100:110].max() == 0
    mask = np.where(page < 128, 255, 0).astype(np.uint8)
    kept = without_rules(mask)
    assert kept[100:115, 100:110].all() and not kept[50:350, 300:303].any()


def test_a_question_column_wrapping_between_the_rows_keeps_the_table_together():
    words = (_row(0, (50, "Câu"), (200, "Nội dung câu hỏi"), (900, "Đáp án"))
             + _row(50, (50, "1"), (200, "Cổng Dịch vụ công"), (900, "B")) + _row(100, (200, "quốc gia là gì?"))
             + _row(150, (50, "2"), (200, "Cơ quan nào chủ trì"), (900, "D")) + _row(200, (200, "xây dựng?"))
             + _row(300, (50, "Phần II. Tự luận")))
    got = page_rows(tuple(words))
    assert got[0] == CellTable((("Câu", "Nội dung câu hỏi", "Đáp án"), ("1", "Cổng Dịch vụ công\nquốc gia là gì?", "B"),
                                ("2", "Cơ quan nào chủ trì\nxây dựng?", "D")), 0)
    assert got[1] == TextRow("Phần II. Tự luận", 300)


def test_a_question_number_breaking_its_tables_run_is_flagged_not_given_the_answer():
    qs = load_entry_contest(DEMO).questions
    across = extract_answers(lines([["Câu", "21", "2", "23"], ["Đáp án", "D", "D", "B"]]), qs)    # "22" read "2"
    assert {a.question: a.letters for a in across.answers if a.letters} == {"21": "D", "23": "B"}
    assert [(f.key, f.reason) for f in across.flags] == [("2", "question_number_out_of_sequence")]
    rows = extract_answers(lines([["Câu", "Đáp án"], ["24", "B"], ["45", "D"], ["26", "B"]]), qs)
    assert {a.question: a.letters for a in rows.answers if a.letters} == {"24": "B", "26": "B"}
    assert [(f.key, f.reason) for f in rows.flags] == [("45", "question_number_out_of_sequence")]


def test_a_doubtful_mark_in_a_row_read_whole_flags_its_answer():
    pages = (OcrPage(1, True, 0.9, 1.0),)
    answers = (Answer("22", "A", 1.0, "trang 1 (OCR), bảng 1, hàng 23: “22 | v | | |”"),
               Answer("5", "C", 1.0, "trang 1 (OCR), dòng 4: “Câu 5: C”"))
    doubts = (("trang 1 (OCR), bảng 1, hàng 23, ô 2", "v"), ("trang 1 (OCR), dòng 4", "C"))
    assert [(f.key, f.reason) for f in _capped_by_ocr(answers, pages, set(), doubts)[1]] == [
        ("22", "ocr_doubtful_character"), ("5", "ocr_doubtful_character")]
