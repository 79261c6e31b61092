"""Answers read from typed text: every format and typo the entries use, each flag reason, and never a guess."""
from __future__ import annotations

import pytest

from documents_support import DEMO, lines
from omr.documents.answers import extract_answers
from omr.documents.answertext import Outcome, match_option, parse_answer
from omr.documents.questions import Question, Questions, load_questions
from omr.layout import load_layout

Q1 = Question("1", "Cơ quan nào cấp tài khoản định danh điện tử cho công dân?",
              (("A", "Bộ Công an"), ("B", "Bộ Thông tin và Truyền thông"), ("C", "Ngân hàng Nhà nước"),
               ("D", "Cả A và B đều đúng")))
Q2 = Question("2", "Dịch vụ công trực tuyến toàn trình là gì?",
              (("A", "Nộp hồ sơ trực tuyến và nhận kết quả trên môi trường mạng"),
               ("B", "Nộp hồ sơ giấy tại bộ phận một cửa"), ("C", "Gọi điện thoại để được hướng dẫn"),
               ("D", "Gửi hồ sơ qua đường bưu điện")))
Q3 = Question("3", "Tổng đài hỗ trợ là số nào?", (("A", "113"), ("B", "114"), ("C", "115"), ("D", "18001096")))
QS = Questions((Q1, Q2, Q3))


def read(*blocks, questions=QS):
    r = extract_answers(lines(*blocks), questions)
    return {a.question: a.letters for a in r.answers}, {f.key: f.reason for f in r.flags}, r


@pytest.mark.parametrize("text, letters", [
    ("Câu 1: B", "B"), ("1 – b", "B"), ("Câu1:B", "B"), ("câu 1 b", "B"), ("1. B", "B"), ("1) b.", "B"),
    ("Câu 1. Đáp án: B. Bộ Thông tin và Truyền thông", "B"), ("Câu 1: đáp án đúng là B", "B"),
    ("Câu 1: Ｂ", "B"), ("Câu 1 : b", "B"), ("CÂU 1: B", "B"), ("Câu hỏi 1: chọn B", "B"),
    ("Câu 1 - Trả lời: B", "B"), ("1B", "B"), ("Câu 1: B -> C", "C"), ("Câu 1: B → C", "C"),
    ("Câu 1: B sửa thành C", "C"), ("Câu 1: Bộ Công an", "A"), ("Câu 1: bo cong an.", "A"),
    ("Câu 1: Cả A và B đều đúng", "D"), ("Câu 1: ý A", "A"), ("Câu 1:\u00a0B", "B"), ("Câu 1: B (Bộ TT&TT)", "B"),
])
def test_each_format_and_typo_gives_the_letter(text, letters):
    answers, flags, _ = read(text)
    assert answers["1"] == letters
    assert "1" not in flags


def test_several_answers_on_one_line_and_a_changed_answer_keeps_its_evidence():
    answers, flags, r = read("1B 2A 3d", "Câu 3: A → D")
    assert answers == {"1": "B", "2": "A", "3": "D"} and flags == {}
    ev = {a.question: a.evidence for a in r.answers}
    assert "changed from A" in ev["3"] and "1B 2A 3d" in ev["1"]
    assert {a.question: a.confidence for a in r.answers}["3"] == pytest.approx(0.9)


def test_a_question_copied_then_its_answer_on_the_next_line():
    answers, flags, _ = read("Câu 1. Cơ quan nào cấp tài khoản định danh điện tử cho công dân?", "Đáp án đúng là A",
                             "Câu 2: Dịch vụ công trực tuyến toàn trình là gì?", "=> C")
    assert answers["1"] == "A" and answers["2"] == "C" and flags == {}


def test_a_copied_option_marked_is_the_answer_and_unmarked_copies_are_a_flag():
    answers, flags, _ = read("Câu 1. Cơ quan nào cấp tài khoản định danh điện tử cho công dân?",
                             "A. Bộ Công an ✓", "B. Bộ Thông tin và Truyền thông", "C. Ngân hàng Nhà nước",
                             "Câu 2. Dịch vụ công trực tuyến toàn trình là gì?", "A. Nộp hồ sơ trực tuyến",
                             "B. Nộp hồ sơ giấy", "Câu 3: D")
    assert answers["1"] == "A" and answers["2"] == "" and answers["3"] == "D"
    assert flags == {"2": "options_listed_unmarked"}


@pytest.mark.parametrize("table", [
    [["Câu", "Đáp án"], ["1", "B"], ["2", "a"], ["3", "Ｄ"]],
    [["Câu hỏi", "Nội dung", "Trả lời"], ["Câu 1", "Cơ quan nào…", "B"], ["Câu 2", "…", "A"], ["Câu 3", "…", "D"]],
    [["Câu", "A", "B", "C", "D"], ["1", "", "x", "", ""], ["2", "X", "", "", ""], ["3", "", "", "", "✓"]],
    [["Câu", "1", "2", "3"], ["Đáp án", "B", "A", "D"]],
    [["Câu 1: B", "Câu 2: A"], ["Câu 3: D", ""]],
    [["Câu", "Đáp án", "Câu", "Đáp án"], ["1", "B", "3", "D"], ["2", "A", "", ""]],      # two pairs a row
    [["1", "B", "2", "A"], ["3", "D", "", ""]],                                          # the same, no header
    [["STT", "Câu", "Đáp án"], ["1", "3", "D"], ["2", "1", "B"], ["3", "2", "A"]],       # an order number first
])
def test_tables_of_answers(table):
    answers, flags, r = read(table)
    assert answers == {"1": "B", "2": "A", "3": "D"} and flags == {}
    assert all(a.evidence.startswith("bảng 1, hàng") for a in r.answers)


@pytest.mark.parametrize("blocks, reason, letters", [
    (("Câu 1: B", "Câu 1: C"), "contradictory_answers", "BC"),
    (("Câu 1: A, C",), "multiple_answers", "AC"),
    (("Câu 1: E",), "unknown_option", ""),
    (("Câu 2: Đến ủy ban phường hỏi cán bộ",), "option_text_unmatched", ""),
    (("Câu 2: Nộp hồ sơ giấy tại bộ phận một cửa hoặc gửi qua đường bưu điện",), "option_text_ambiguous", ""),
    (("Câu 1: B. Bộ Công an",), "letter_text_mismatch", "B"),
])
def test_each_flag_reason_shows_the_evidence(blocks, reason, letters):
    qid = blocks[0].split(":")[0].split()[-1]
    answers, flags, r = read(*blocks)
    assert flags == {qid: reason}
    assert answers[qid] == letters
    flag = r.flags[0]
    assert flag.target == "question" and "đoạn 1" in flag.evidence and flag.message.startswith(f"Câu {qid}")


def test_the_same_answer_twice_is_no_flag_and_unanswered_is_blank_not_a_flag():
    answers, flags, _ = read("Câu 1: B", "Tóm tắt: Câu 1: b")
    assert answers == {"1": "B", "2": "", "3": ""} and flags == {}


def test_numbered_lines_outside_the_answers_are_not_answers():
    answers, flags, r = read("Địa chỉ: 3B Lê Lợi", "12 Trần Phú, Hà Đông", "Bài viết:",
                             "1. Người dân tiết kiệm thời gian", "2. A là điều quan trọng")
    assert answers == {"1": "", "2": "", "3": ""} and flags == {} and not r.found


def test_written_out_options_follow_the_stated_rule():
    assert match_option("nộp hồ sơ giấy tại bộ phận một cửa!", Q2).letters == "B"       # exact after folding
    near = match_option("Nộp hồ sơ trực tuyến và nhận kết quả trên mạng", Q2)           # 8/9 words shared
    assert near.outcome is Outcome.CHOSEN and near.letters == "A" and 0.8 <= near.confidence < 1
    assert match_option("18001096", Q3).letters == "D"
    assert match_option("114 hoặc 115", Q3).outcome is Outcome.UNMATCHED
    assert parse_answer("", Q1).outcome is Outcome.EMPTY
    assert parse_answer("A. Bộ Công an B. Bộ TT C. Ngân hàng", Q1).outcome is Outcome.QUESTION


def test_the_demo_questions_match_the_demo_sheet_and_written_answers_find_their_option():
    layout = load_layout(DEMO / "layout.json")
    qs = load_questions(DEMO, layout)
    assert [q.id for q in qs.questions] == [str(i) for i in range(1, 101)]
    q1 = qs.by_id()["1"]
    letter = next(letter for letter, text in q1.options if text == "dichvucong.gov.vn")
    answers, flags, _ = read("Câu 1: dichvucong.gov.vn", questions=qs)
    assert answers["1"] == letter and flags == {}


def _printed(*rows):
    """Lines as ``pdftotext -layout`` prints a PDF's page: (page, text with its spacing)."""
    from omr.documents.lines import document_lines
    from omr.documents.records import Document, Format, Paragraph
    blocks = tuple(Paragraph(text, f"trang {page}, dòng {i + 1}") for i, (page, text) in enumerate(rows))
    return document_lines(Document("x.pdf", Format.PDF, blocks, 2, 0))


def test_printed_tables_of_a_pdf_are_read_by_their_columns_and_never_across_pages():
    rows = [(1, "Câu            A               B         C            D"),
            (1, "1                              x"),
            (1, "2                                                     x"),
            (2, "3                x"),
            (2, "Câu   1    2      3"), (2, "Đáp   C    A      B")]
    r = extract_answers(_printed(*rows[:4]), QS)
    assert {a.question: a.letters for a in r.answers} == {"1": "B", "2": "D", "3": ""}
    assert {f.key: f.reason for f in r.flags} == {"3": "mark_unplaced"}
    r = extract_answers(_printed(*rows[4:]), QS)
    assert {a.question: a.letters for a in r.answers} == {"1": "C", "2": "A", "3": "B"} and r.flags == ()
    r = extract_answers(_printed((1, "Câu  1    2      3"), (2, "Đáp án  C    A      B")), QS)
    assert {f.key: f.reason for f in r.flags} == {"1": "mark_unplaced", "2": "mark_unplaced", "3": "mark_unplaced"}


def test_answer_like_lines_that_give_nothing_flag_the_document_instead_of_passing_as_blanks():
    _, flags, r = read("Câu 1: B", "Phần còn lại: A, C, D, B ... (em ghi theo thứ tự)")
    assert flags == {None: "unread_answers"}
    assert r.flags[0].target == "document" and "A, C, D, B" in r.flags[0].evidence


def test_answers_after_an_essay_with_no_heading_of_their_own_are_read_but_essay_numbering_is_not():
    from omr.documents.essay import essay_sections
    ls = lines("PHẦN I. TỰ LUẬN", "Câu 1: Anh chị hãy nêu lợi ích của dịch vụ công?", "1. Tiết kiệm thời gian.",
               "Câu 1: B", "Câu 2: A", "3 - D")
    r = extract_answers(ls, QS, essay=essay_sections(ls))
    assert {a.question: a.letters for a in r.answers} == {"1": "B", "2": "A", "3": "D"} and r.flags == ()


def test_a_range_of_answers_on_one_line_and_an_unreadable_run_of_letters_is_a_flag():
    answers, flags, r = read("Câu 1-3: BAD")
    assert answers == {"1": "B", "2": "A", "3": "D"} and flags == {}
    answers, flags, _ = read("Từ câu 1 đến câu 3: B, A, D")
    assert answers == {"1": "B", "2": "A", "3": "D"} and flags == {}
    answers, flags, _ = read("Câu 1: B", "Câu 2-3: BADC")          # four letters for two questions
    assert answers == {"1": "B", "2": "", "3": ""} and flags == {None: "unread_answers"}


@pytest.mark.parametrize("text", ["Câu 1: (B)", "Câu 1: [b]", "Câu 1: “B”", "Câu 1 chọn đáp án B", "Đáp án câu 1: B",
                                  "Câu 1 => Đáp án: (b)", "Câu 1: Đáp án: [B]"])
def test_letters_in_brackets_or_quotes_and_other_wordings(text):
    answers, flags, _ = read(text)
    assert answers["1"] == "B" and flags == {}


@pytest.mark.parametrize("text", ["Mã đề: 102", "MÃ ĐỀ THI 102", "Mã số đề: 102", "Ma de so 102", "Mã đề thi số: 102"])
def test_the_test_code_as_people_write_it(text):
    from omr.documents.essay import find_version
    v = find_version(lines("Họ và tên: A", text), versions=("101", "102"), default="101")
    assert v.version == "102" and v.flags == ()


def test_a_copied_question_beginning_with_an_answer_word_waits_for_its_answer():
    q = Question("1", "Kết quả giải quyết thủ tục hành chính bản điện tử có giá trị như thế nào?",
                 (("A", "Như bản giấy"), ("B", "Không có giá trị"), ("C", "Chỉ để xem"), ("D", "Hết hạn sau một giờ")))
    answers, flags, _ = read("Câu 1. Kết quả giải quyết thủ tục hành chính bản điện tử có giá trị như thế nào?",
                             "Đáp án: A", questions=Questions((q,)))
    assert answers == {"1": "A"} and flags == {}


def test_options_as_columns_after_a_question_text_column():
    table = [["STT", "Câu hỏi", "A", "B", "C", "D"], ["1", "Cơ quan nào…", "", "X", "", ""],
             ["2", "Dịch vụ công…", "x", "", "", ""], ["3", "Tổng đài…", "", "", "", "✓"]]
    answers, flags, _ = read(table)
    assert answers == {"1": "B", "2": "A", "3": "D"} and flags == {}


def test_a_printed_line_that_broke_after_the_question_number_carries_its_letter_to_the_next():
    answers, flags, _ = read("Câu 1: B Câu 2:", "D Câu 3: A")
    assert answers == {"1": "B", "2": "D", "3": "A"} and flags == {}
    answers, flags, _ = read("Câu 1: B Câu 2:", "C")
    assert answers == {"1": "B", "2": "C", "3": ""} and flags == {}
    answers, _, _ = read("Câu 1: B Câu 2:", "Bài viết của em")               # no letter: Câu 2 stays blank
    assert answers["2"] == ""


def test_a_table_row_that_cannot_be_split_into_question_answer_pairs_is_a_flag_not_a_guess():
    # under "Câu | Đáp án" pairs, a pair left blank is a blank question; without a header "3 | | 1 | B" could
    # be an order number 3 before question 1, or question 3 left blank: a flag
    answers, flags, _ = read([["Câu", "Đáp án", "Câu", "Đáp án"], ["3", "", "1", "B"], ["2", "A", "", ""]])
    assert answers == {"1": "B", "2": "A", "3": ""} and flags == {}
    answers, flags, _ = read([["3", "", "1", "B"], ["2", "A", "", ""]])
    assert answers == {"1": "", "2": "A", "3": ""} and flags == {"3": "mark_unplaced"}
    answers, flags, _ = read([["Số", "Câu", "Đáp án"], ["1", "3", "D"]])        # not an order header: a flag
    assert answers["3"] == "" and answers["1"] == "" and flags == {"1": "mark_unplaced"}
