"""Entrants without a roster (grading.entrants): identity from the entry, the person's key, dates of birth as
people write them, age on the reference date, the staff list."""
from __future__ import annotations

from datetime import date

import pytest

from grading.entrants import (Staff, eligibility, entrant_from, entrant_id, identity_from_file_name,
                              identity_from_text, load_staff, parse_date_of_birth, person_key)


@pytest.mark.parametrize("text, want", [
    ("5/9/2007", date(2007, 9, 5)), ("05-09-2007", date(2007, 9, 5)), ("5.9.2007", date(2007, 9, 5)),
    ("ngày 5 tháng 9 năm 2007", date(2007, 9, 5)), ("Ngày 05 tháng 09 năm 2007", date(2007, 9, 5)),
    ("2007-09-05", date(2007, 9, 5)), ("31/2/2007", None), ("tháng 9", None), ("", None),
])
def test_dates_of_birth_as_people_write_them(text, want):
    assert parse_date_of_birth(text) == want


def test_identity_from_the_body_and_the_person_key_ignores_case_and_diacritics():
    body = ("Kính gửi BTC,\nHọ và tên: Nguyễn Thị Hương\nNgày sinh: ngày 5 tháng 9 năm 2010\n"
            "Trường: THCS Trưng Vương\nLớp: 9A\nSĐT: +84 912 345 678\n")
    ident = identity_from_text(body)
    assert ident == {"name": "Nguyễn Thị Hương", "date_of_birth": "2010-09-05", "school": "THCS Trưng Vương",
                     "class": "9A", "phone": "+84 912 345 678"}
    e = entrant_from(ident)
    assert e is not None and (e.category, e.school, e.class_name, e.phone) == ("student", "THCS Trưng Vương", "9A",
                                                                               "0912345678")
    assert person_key(ident) == person_key({"name": "NGUYEN THI HUONG", "date_of_birth": "05/09/2010"})
    assert e.id == entrant_id(e.person_key) and e.id.startswith("TS-") and len(e.id) == 11
    assert person_key({"phone": "0912 345 678"}) == person_key({"phone": "+84912345678"}) == "p:0912345678"
    assert person_key({"email": "An@Example.vn"}) == "e:an@example.vn"
    assert person_key({"name": "An"}) == ""                     # a name alone says too little


def test_eligibility_flags_never_drop_anyone():
    ref = date(2026, 9, 6)
    young = {"name": "Lê An", "date_of_birth": "2014-09-07"}
    assert [f.code for f in eligibility(young, entrant_from(young), ref, Staff())] == ["under_age"]
    just = {"name": "Lê An", "date_of_birth": "2014-09-06"}                  # twelve that very day
    assert eligibility(just, entrant_from(just), ref, Staff()) == []
    odd = {"phone": "0912345678", "date_of_birth": "mùa thu 2007"}
    assert [f.code for f in eligibility(odd, entrant_from(odd), ref, Staff())] == ["age_unknown"]
    assert [f.code for f in eligibility({}, None, ref, Staff())] == ["identity_pending"]


def test_the_staff_list_by_name_and_birth_date_or_contact(tmp_path):
    (tmp_path / "staff.csv").write_text("Họ và tên,Ngày sinh,Điện thoại,Email\n"
                                        "Trần Văn Bình,1/2/1980,,\n,,0988 111 222,\n,,,gk@so.vn\n", encoding="utf-8")
    staff = load_staff(tmp_path)
    ref = date(2026, 9, 6)
    for ident, why in (({"name": "tran van binh", "date_of_birth": "01-02-1980"}, "name and date of birth"),
                       ({"name": "X", "date_of_birth": "1/1/1990", "phone": "0988111222"}, "phone"),
                       ({"name": "Y", "date_of_birth": "1/1/1990", "email": "GK@so.vn"}, "e-mail")):
        flags = eligibility(ident, entrant_from(ident), ref, staff)
        assert [(f.code, why in f.detail) for f in flags] == [("staff", True)], ident
    assert load_staff(tmp_path / "none") == Staff()


@pytest.mark.parametrize("name, want", [
    ("Nguyễn Văn An - 5.9.2007.pdf", {"name": "Nguyễn Văn An", "date_of_birth": "2007-09-05"}),
    ("bai.zip/Lớp 9A/Le_Thi_Chi_05-09-2010.docx", {"name": "Le Thi Chi", "date_of_birth": "2010-09-05"}),
    ("Bài thi trang 1.jpg", {}), ("scan 2026-09-01.pdf", {}), ("An 5.9.2007.pdf", {}),
])
def test_identity_from_a_file_named_like_its_entrant(name, want):
    assert identity_from_file_name(name) == want


def test_identity_from_the_nearest_folder_named_like_its_entrant():
    from grading.entrants import identity_from_path

    assert identity_from_path("lop.zip/Lớp 9A/Nguyễn Văn An - 5.9.2010/trang1.jpg") == {
        "name": "Nguyễn Văn An", "date_of_birth": "2010-09-05"}
    assert identity_from_path("Lê Thị Chi 01.02.2011") == {"name": "Lê Thị Chi", "date_of_birth": "2011-02-01"}
    assert identity_from_path("lop.zip/Lớp 9A/trang1.jpg") == {}


def test_omr_check_reads_the_staff_list(tmp_path):
    import shutil

    from answer_keys import demo_contest
    from grading.contest import check_contest

    contest = tmp_path / "c"
    shutil.copytree(demo_contest(), contest)
    assert check_contest(contest) == []
    (contest / "staff.csv").write_text("Chức vụ,Ghi chú\nTrưởng ban,\n", encoding="utf-8")
    (finding,) = check_contest(contest)
    assert finding.file == "staff.csv" and "needs a header with a name, phone or email column" in finding.message
