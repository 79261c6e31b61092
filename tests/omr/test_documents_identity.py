"""The entrant's details from the header block: label variants and typos, tables, dates written the Vietnamese
way, and a flag for each missing or unparseable field."""
from __future__ import annotations

import pytest

from documents_support import lines
from omr.documents.identity import FIELDS, extract_identity, parse_date, parse_phone

FULL = {"name": "Nguyễn Thị Minh Anh", "date_of_birth": "2007-09-05", "address": "Số 12 Trường Chinh, Đống Đa, Hà Nội",
        "unit": "Trường THCS Cầu Giấy", "class": "9A", "phone": "0912345678", "email": "minhanh@gmail.com"}


def ident(*blocks):
    r = extract_identity(lines(*blocks))
    return r.identity, {f.key: f.reason for f in r.flags}


def test_the_issue_s_labels_with_colons():
    got, flags = ident("BÀI DỰ THI", "Họ và tên: Nguyễn Thị Minh Anh", "Ngày sinh: 5/9/2007",
                       "Địa chỉ: Số 12 Trường Chinh, Đống Đa, Hà Nội", "Đơn vị / Trường: Trường THCS Cầu Giấy",
                       "Lớp: 9A", "Số điện thoại: 0912 345 678", "Email: minhanh@gmail.com")
    assert got == FULL and flags == {}
    assert tuple(got) == FIELDS


def test_variants_typos_no_diacritics_no_colon_and_two_fields_on_a_line():
    got, flags = ident("HỌ VÀ TÊN NGUYỄN THỊ MINH ANH", "Ngay, thang, nam sinh - 05-09-2007",
                       "Dia chi thuong tru: Số 12 Trường Chinh, Đống Đa, Hà Nội",
                       "Trường: Trường THCS Cầu Giấy   Lớp: 9A", "SĐT: +84 912 345 678",
                       "E-mail: minhanh @gmail.com")
    assert got == {**FULL, "name": "NGUYỄN THỊ MINH ANH"} and flags == {}


def test_identity_in_a_table_label_value_and_labels_above_values():
    got, flags = ident([["Họ và tên", "Nguyễn Thị Minh Anh"], ["Ngày sinh", "ngày 5 tháng 9 năm 2007"],
                        ["Địa chỉ", "Số 12 Trường Chinh, Đống Đa, Hà Nội"], ["Đơn vị", "Trường THCS Cầu Giấy"],
                        ["Lớp", "9A"], ["Điện thoại", "0912345678"], ["Email", "minhanh@gmail.com"]])
    assert got == FULL and flags == {}
    got, flags = ident([["Họ tên", "Ngày sinh", "Lớp"], ["Nguyễn Thị Minh Anh", "05.09.2007", "9A"]],
                       "Địa chỉ: Số 12 Trường Chinh, Đống Đa, Hà Nội", "Cơ quan: Trường THCS Cầu Giấy",
                       "Sđt: 0912345678 - Email: minhanh@gmail.com")
    assert got == FULL and flags == {}


@pytest.mark.parametrize("label", ["Nơi công tác", "Nơi làm việc", "Nơi học tập", "Đơn vị công tác / Trường"])
def test_the_unit_under_the_labels_working_people_use(label):
    got, flags = ident("Họ và tên: Nguyễn Thị Minh Anh", f"{label}: Trường THCS Cầu Giấy")
    assert got["unit"] == "Trường THCS Cầu Giấy" and "unit" not in flags


@pytest.mark.parametrize("text, iso", [
    ("5/9/2007", "2007-09-05"), ("05-09-2007", "2007-09-05"), ("ngày 5 tháng 9 năm 2007", "2007-09-05"),
    ("05.09.2007", "2007-09-05"), ("5 tháng 9, 2007", "2007-09-05"), ("2007-09-05", "2007-09-05"),
    ("31/12/1960", "1960-12-31"), ("5/9/07", None), ("31/2/2007", None), ("2007", None),
    ("5/9/2007 hoặc 6/9/2007", None), ("mùng năm tháng chín", None),
])
def test_dates_day_first(text, iso):
    assert parse_date(text) == iso


def test_phones():
    assert parse_phone("0912.345.678") == "0912345678"
    assert parse_phone("(+84) 912 345 678") == "0912345678"
    assert parse_phone("024 3825 1234") == "02438251234"
    assert parse_phone("912345") is None


def test_each_missing_or_unparseable_field_is_a_flag_and_never_a_guess():
    got, flags = ident("Họ và tên: Nguyễn Văn Bình", "Ngày sinh: 5/9/07", "Số điện thoại: 12345",
                       "Email: binh.gmail.com", "Họ và tên: ..........")
    assert got["name"] == "Nguyễn Văn Bình"
    assert got["date_of_birth"] == got["phone"] == got["email"] == ""
    assert flags == {"date_of_birth": "date_unparseable", "phone": "phone_unparseable",
                     "email": "email_unparseable", "address": "identity_missing", "unit": "identity_missing"}


def test_an_essay_line_starting_with_a_label_word_is_not_read_after_the_answers():
    got, _ = ident("Họ và tên: Nguyễn Văn Bình", "Câu 1: B", "Trường em đã hướng dẫn phụ huynh dùng VNeID")
    assert got["unit"] == ""


def test_a_pdf_value_that_went_on_to_the_next_printed_line_is_joined():
    from omr.documents.lines import document_lines
    from omr.documents.records import Document, Format, Paragraph
    rows = ["Họ và tên: Nguyễn Thị Minh Anh",
            "Địa chỉ thường trú: Số 12 Trường Chinh, phường Kim Liên, quận Đống Đa,", "Hà Nội",
            "Điện thoại: 0912345678"]
    doc = Document("x.pdf", Format.PDF, tuple(Paragraph(t, f"trang 1, dòng {i}") for i, t in enumerate(rows)), 1, 0)
    r = extract_identity(document_lines(doc))
    assert r.identity["address"] == "Số 12 Trường Chinh, phường Kim Liên, quận Đống Đa, Hà Nội"
    assert r.identity["phone"] == "0912345678"


def test_a_long_pdf_value_is_not_joined_to_a_heading_printed_as_a_new_paragraph():
    from omr.documents.lines import document_lines
    from omr.documents.records import Document, Format, Paragraph
    rows = ["Họ và tên: Nguyễn Thị Phúc", "",
            "Địa chỉ: Số 51 Lạc Long Quân, phường Kim Liên, quận Đống Đa, Hà Nội", "", "Bài viết", "",
            "Dịch vụ công trực tuyến giúp người dân tiết kiệm thời gian."]
    doc = Document("x.pdf", Format.PDF, tuple(Paragraph(t, f"trang 1, dòng {i}") for i, t in enumerate(rows)), 1, 0)
    r = extract_identity(document_lines(doc))
    assert r.identity["address"] == "Số 51 Lạc Long Quân, phường Kim Liên, quận Đống Đa, Hà Nội"


def test_a_longer_label_runs_to_its_colon_but_a_value_is_never_taken_for_a_label():
    got, _ = ident("Đơn vị công tác/học tập: Trường THCS Cầu Giấy", "Họ và tên (viết in hoa): NGUYỄN AN",
                   "Số điện thoại liên hệ (Zalo): 0912345678", "Lớp 9A, trường: THCS Cầu Giấy")
    assert got["unit"] == "Trường THCS Cầu Giấy" and got["name"] == "NGUYỄN AN" and got["phone"] == "0912345678"
    assert got["class"] == "9A"


def test_other_details_end_a_value_and_two_phones_give_the_first():
    got, flags = ident("Họ và tên: Nguyễn Thị Minh Anh     Giới tính: Nữ", "Ngày sinh: 5/9/2007 - Dân tộc: Kinh",
                       "Số CCCD: 001307012345", "Địa chỉ: Số 12 Trường Chinh, Đống Đa, Hà Nội",
                       "Trường: Trường THCS Cầu Giấy", "Lớp: 9A", "SĐT: 0912 345 678 / 024 3825 1234",
                       "Email: minhanh@gmail.com")
    assert got == FULL and flags == {}
    assert parse_phone("0912345678 hoặc 0987654321") == "0912345678"
    got, _ = ident("Tên: Lê Văn Tám")
    assert got["name"] == "Lê Văn Tám"
