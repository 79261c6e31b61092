"""``omr entry FILE --contest DIR [--json]``: one object per document with ``omr read``'s fields where they overlap,
exit codes 0 / 3 (flagged) / 4 (rejected) / 5 (a broken contest folder); and ``questions.json`` checked."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from documents_support import DEMO, ROOT, write_docx
from grading.contest import check_contest
from omr.documents.questions import load_questions
from omr.errors import ExitCode, LayoutError
from omr.layout import load_layout

HEADER = ("Họ và tên: Đỗ Thu Hà", "Ngày sinh: 12/03/2008", "Địa chỉ: 5 Kim Mã, Ba Đình, Hà Nội",
          "Trường: THCS Giảng Võ", "Lớp: 9B", "Số điện thoại: 0987654321", "Email: thuha@gmail.com")


def omr(*args):
    """The ``omr`` command as its console script runs it (``grading.cli`` registers omr's own commands too)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "grading.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env=env)


def test_entry_json_fields_and_exit_code_ok(tmp_path):
    path = write_docx(tmp_path / "bai.docx", *HEADER, "Mã đề: 103", "Câu 1: A", "2 - d", "PHẦN II. TỰ LUẬN",
                      "Dịch vụ công giúp Đỗ Thu Hà và gia đình tiết kiệm thời gian.")
    r = omr("entry", str(path), "--contest", str(DEMO), "--json")
    assert r.returncode == ExitCode.OK, r.stderr
    rec = json.loads(r.stdout)
    assert {"source", "status", "participant", "version", "answers", "flags", "identity", "evidence",
            "essay"} <= rec.keys()
    assert rec["status"] == "ok" and rec["version"] == "103" and rec["participant"] is None
    assert rec["answers"]["1"] == "A" and rec["answers"]["2"] == "D" and rec["answers"]["3"] == ""
    assert len(rec["answers"]) == 100 and rec["flags"] == []
    assert rec["identity"] == {"name": "Đỗ Thu Hà", "date_of_birth": "2008-03-12",
                               "address": "5 Kim Mã, Ba Đình, Hà Nội", "unit": "THCS Giảng Võ", "class": "9B",
                               "phone": "0987654321", "email": "thuha@gmail.com"}
    assert rec["evidence"]["2"] == "đoạn 10: \u201c2 - d\u201d"
    assert rec["essay"].startswith("PHẦN II. TỰ LUẬN") and "Đỗ Thu Hà" not in rec["essay"]
    assert "[…] và gia đình" in rec["essay"]


def test_entry_flags_exit_3_the_default_version_and_a_summary_in_vietnamese(tmp_path):
    path = write_docx(tmp_path / "bai.docx", *HEADER[:-1], "Câu 1: A", "Câu 1: C")
    r = omr("entry", str(path), "--contest", str(DEMO), "--json")
    assert r.returncode == ExitCode.FINISHED_WITH_FLAGS
    rec = json.loads(r.stdout)
    assert rec["version"] == "101"                                    # contest.json's default_version
    assert {(f.get("question"), f.get("identity"), f["reason"]) for f in rec["flags"]} == {
        ("1", None, "contradictory_answers"), (None, "email", "identity_missing")}
    text = omr("entry", str(path), "--contest", str(DEMO))
    assert text.returncode == ExitCode.FINISHED_WITH_FLAGS
    assert "Họ và tên: Đỗ Thu Hà" in text.stdout and "contradictory_answers" in text.stdout
    assert "Cần người kiểm tra (2)" in text.stdout


def test_several_versions_and_none_stated_without_a_default_is_a_flag(tmp_path):
    contest = tmp_path / "c"
    shutil.copytree(DEMO, contest)
    (contest / "contest.json").write_text('{"language": "vi"}', encoding="utf-8")
    path = write_docx(tmp_path / "bai.docx", *HEADER, "Câu 1: A")
    rec = json.loads(omr("entry", str(path), "--contest", str(contest), "--json").stdout)
    assert rec["version"] is None and [f["reason"] for f in rec["flags"]] == ["version_missing"]
    path = write_docx(tmp_path / "two.docx", *HEADER, "Mã đề: 101", "Câu 1: A", "Mã đề 102")
    rec = json.loads(omr("entry", str(path), "--contest", str(contest), "--json").stdout)
    assert rec["version"] is None and [f["reason"] for f in rec["flags"]] == ["version_contradictory"]
    path = write_docx(tmp_path / "bad.docx", *HEADER, "Mã đề: 999", "Câu 1: A")
    rec = json.loads(omr("entry", str(path), "--contest", str(contest), "--json").stdout)
    assert rec["version"] == "999" and [f["reason"] for f in rec["flags"]] == ["version_unknown"]


def test_an_essay_only_document_has_no_answers_and_no_version_flag(tmp_path):
    path = write_docx(tmp_path / "essay.docx", *HEADER, "Bài viết", "Em đã dùng VNeID để đăng ký tạm trú.")
    rec = json.loads(omr("entry", str(path), "--contest", str(DEMO), "--json").stdout)
    assert rec["kind"] == "essay" and rec["answers"] == {} and rec["flags"] == []
    assert rec["essay"] == "Bài viết\nEm đã dùng VNeID để đăng ký tạm trú."


def test_a_rejected_document_exits_4_with_the_same_fields_and_a_broken_contest_exits_5(tmp_path):
    (tmp_path / "bad.docx").write_bytes(b"PK\x03\x04 not really")
    r = omr("entry", str(tmp_path / "bad.docx"), "--contest", str(DEMO), "--json")
    assert r.returncode == ExitCode.FINISHED_WITH_REJECTS
    rec = json.loads(r.stdout)
    assert rec["status"] == "rejected" and rec["reason_code"] == "corrupt"
    assert rec["identity"] == {} and rec["evidence"] == {} and rec["essay"] == "" and rec["answers"] == {}
    contest = tmp_path / "c"
    shutil.copytree(DEMO, contest)
    (contest / "questions.json").unlink()
    r = omr("entry", str(tmp_path / "bad.docx"), "--contest", str(contest), "--json")
    assert r.returncode == ExitCode.BAD_LAYOUT and "questions file" in r.stderr and r.stdout == ""


def _questions(tmp_path, edit):
    raw = json.loads((DEMO / "questions.json").read_text(encoding="utf-8"))
    edit(raw)
    contest = tmp_path / "c"
    shutil.copytree(DEMO, contest)
    (contest / "questions.json").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return contest


def test_questions_json_lists_every_problem_at_once_and_omr_check_reports_them(tmp_path):
    def edit(raw):
        qs = raw["questions"]
        del qs[4]                                           # question 5 missing
        qs[0]["options"]["B"] = qs[0]["options"]["A"].upper() + "!"   # the same text once folded
        qs[1]["options"] = {"A": "x", "B": "y"}             # not the sheet's options
        qs[2]["text"] = ""
        qs.append({"id": "101", "text": "?", "options": {"A": "a", "B": "b", "C": "c", "D": "d"}})
        qs.append(dict(qs[3]))
    contest = _questions(tmp_path, edit)
    with pytest.raises(LayoutError) as e:
        load_questions(contest, load_layout(contest / "layout.json"))
    assert e.value.exit_code == ExitCode.BAD_LAYOUT
    assert sorted(e.value.details) == sorted([
        "questions[0].options.B: the same text as option A (after folding case, diacritics and punctuation)",
        "questions[2].text: the question's text is missing", "questions[100].id: question 4 is listed twice",
        "question 2: options A, B but the sheet has A, B, C, D", "question 5: on the sheet but not in questions.json",
        "question 101: not on the sheet demo-a4-100"])
    found = {f.file: f for f in check_contest(contest)}
    assert "questions.json" in found and len(found["questions.json"].details) == 6


def test_a_default_version_that_is_not_a_key_is_a_finding(tmp_path):
    contest = tmp_path / "c"
    shutil.copytree(DEMO, contest)
    (contest / "contest.json").write_text('{"default_version": "999"}', encoding="utf-8")
    found = {f.file: f for f in check_contest(contest)}
    assert "default_version '999' is not a version" in found["keys.json"].message
