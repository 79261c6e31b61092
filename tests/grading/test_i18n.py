"""The command line speaks the contest's language: summaries in Vietnamese (numbers with a decimal comma) for a
``vi`` contest, English for ``en``; codes stay English in both."""
from __future__ import annotations

import json
from fractions import Fraction

from grading.batch import Accounting, RunTally
from grading.i18n import Say

COUNTS = {"submissions": 8, "pages": 8, "submissions_ok": 3, "pages_ok": 3, "submissions_flagged": 1,
          "pages_flagged": 1, "submissions_rejected": 4, "pages_rejected": 4, "pages_graded": 4, "flags_open": 1,
          "flags_resolved": 0, "pages_no_key": 0}


def test_numbers_as_people_write_them():
    vi, en = Say("vi"), Say("en")
    assert (vi.points(Fraction(15, 2)), vi.points("13/4"), vi.points(20)) == ("7,5", "3,25", "20")
    assert (en.points(Fraction(15, 2)), en.points("22/3")) == ("7.5", "7.33")
    assert (vi.decimal(2.46), en.decimal(2.46)) == ("2,5", "2.5")


def test_the_accounting_in_vietnamese_and_in_english():
    acc = Accounting(COUNTS, {"duplicate": 2}, {"ambiguous_mark": 1})
    vi = acc.text(Say("vi")).splitlines()
    assert vi[0].split() == ["tệp", "trang"]
    assert vi[1] == "đã chấm (ổn)         3       3" and vi[4] == "tổng                 8       8"
    assert "cờ chưa xử lý: 1" in vi[5] and vi[6] == "bị loại vì: duplicate 2"
    assert vi[7] == "cờ chưa xử lý theo lý do: ambiguous_mark 1"            # the reason code stays English
    en = acc.text(Say("en")).splitlines()
    assert en[1] == "graded (ok)          3       3" and en[6] == "rejected because: duplicate 2"


def test_the_run_line_uses_a_decimal_comma_in_vietnamese():
    tally = RunTally(files=3, recorded=2, already=1, pages_read=5, seconds=2.0)
    assert tally.text("2 tiến trình", Say("vi")).startswith(
        "lần chạy này: tìm thấy 3 tệp · ghi mới 2 · 1 đã có từ trước (bỏ qua) · 0 bản trùng · đọc 5 trang trong "
        "2,0 giây (2,5 trang/giây, 2 tiến trình)")
    assert tally.text("2 worker(s)").startswith("this run: 3 file(s) found · 2 recorded · 1 already recorded")
    assert json.loads(json.dumps(tally.as_json()))["recorded"] == 2          # JSON for scripts: unchanged


def test_an_error_says_what_it_means_in_the_contests_language_above_its_detail(tmp_path, capsys):
    from grading.cli import main

    vi = tmp_path / "vi"
    vi.mkdir()
    (vi / "contest.json").write_text('{"language": "vi"}', encoding="utf-8")
    code = main(["status", "--contest", str(vi), "--db", str(tmp_path / "none.sqlite")])
    err = capsys.readouterr().err.splitlines()
    assert code == 7 and err[0].startswith("omr status: lỗi: không mở hoặc không ghi được kho kết quả")
    assert err[1].startswith("omr status: error: ")                 # the detail, unchanged for scripts

    en = tmp_path / "en"
    en.mkdir()
    (en / "contest.json").write_text('{"language": "en"}', encoding="utf-8")
    code = main(["status", "--contest", str(en), "--db", str(tmp_path / "none.sqlite")])
    err = capsys.readouterr().err.splitlines()
    assert code == 7 and err[0].startswith("omr status: error: ") and "lỗi" not in "\n".join(err)


def test_the_ingest_summary_writes_seconds_with_a_decimal_comma():
    from types import SimpleNamespace
    from collections import Counter

    from grading.mail.summary import run_text

    tally = SimpleNamespace(messages=3, states=Counter(taken=2), already=1, seconds=2.46, entries=Counter(),
                            vanished=[])
    assert "· 2,5 giây" in run_text(tally, "vi") and "· 2.5 s" in run_text(tally, "en")
