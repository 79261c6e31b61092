"""The contest folder as data (grading.contest) and its one validator, ``omr check --contest DIR``."""
from __future__ import annotations

import json
import shutil

import pytest

from grading.contest import (Settings, Severity, check_contest, load_contest, load_roster, load_settings,
                             roster_for, settings_from_dict)
from grading_support import DEMO, omr
from omr.errors import ExitCode, InputError, LayoutError
from omr.layout import load_layout
from omr.sheet import Participant


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "contest"
    d.mkdir()
    for name in ("layout.json", "keys.json", "rubric.json"):
        shutil.copy(DEMO / name, d / name)
    return d


def _keys(folder, edit):
    raw = json.loads((folder / "keys.json").read_text(encoding="utf-8"))
    edit(raw)
    (folder / "keys.json").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")


def test_settings_default_to_vietnamese_in_hanoi_time_and_every_problem_is_listed(folder):
    assert load_settings(folder) == Settings(name="", language="vi", time_zone="Asia/Ho_Chi_Minh")
    assert load_settings(DEMO).tz.key == "Asia/Ho_Chi_Minh"
    with pytest.raises(LayoutError) as e:
        settings_from_dict({"language": "fr", "time_zone": "Hà Nội", "deadine": "x", "name": 3}, source="c.json")
    assert e.value.exit_code == ExitCode.BAD_LAYOUT
    assert sorted(e.value.details) == sorted([
        "language: 'fr' is not one of vi, en", "time_zone: 'Hà Nội' is not a time zone name (e.g. Asia/Ho_Chi_Minh)",
        "deadine: unknown setting (known: default_version, entry_deadline, forward_deadline, keep_entry, language, "
        "name, reference_date, time_zone)", "name: must be text"])
    assert load_contest(DEMO).settings.name == "Cuộc thi mẫu (demo)"


def test_deadlines_and_entry_rules_are_settings_checked_like_the_others():
    s = settings_from_dict({"entry_deadline": "2026-09-06T17:00", "forward_deadline": "2026-09-16T17:00+07:00",
                            "reference_date": "2026-09-06", "keep_entry": "first"}, source="c.json")
    assert s.local_time(s.entry_deadline).isoformat() == "2026-09-06T17:00:00+07:00"
    assert s.local_time(s.forward_deadline).utcoffset().total_seconds() == 7 * 3600
    assert (s.reference_day.isoformat(), s.keep_entry, Settings().keep_entry) == ("2026-09-06", "first", "last")
    with pytest.raises(LayoutError) as e:
        settings_from_dict({"entry_deadline": "6/9 17h", "reference_date": "06/09/2026", "keep_entry": "best"},
                           source="c.json")
    assert sorted(e.value.details) == [
        "entry_deadline: '6/9 17h' is not a date and time (e.g. 2026-09-06T17:00)",
        "keep_entry: 'best' is not one of last, first",
        "reference_date: '06/09/2026' is not a date (e.g. 2026-09-06)"]


def test_a_roster_is_checked_against_the_sheets_id_grid(folder):
    layout = load_layout(folder / "layout.json")           # a 6-digit participant id
    r = roster_for([Participant("301", "Nguyễn Văn Khoa", "Ba Đình"), Participant("000302", "Trần Thị Mai", "")],
                   layout, source="roster.csv")
    assert [p.id for p in r.people] == ["000301", "000302"] and r.padded == (("301", "000301"),)
    with pytest.raises(InputError) as e:
        roster_for([Participant("1234567", "A", ""), Participant("12a", "B", ""), Participant("7", "C", ""),
                    Participant("000007", "D", "")], layout, source="roster.csv")
    assert e.value.details == ("line 2: participant id 1234567 has 7 digits; the sheet's grid has 6",
                               "line 3: participant id '12a' is not digits (the sheet has a 6-digit id grid)",
                               "line 5: participant id 000007 is already on line 4")


def test_omr_check_says_valid_in_vietnamese_for_the_demo_contest():
    r = omr("check", "--contest", str(DEMO))
    assert r.returncode == ExitCode.OK, r.stderr
    assert r.stdout.strip() == (f"Thư mục cuộc thi {DEMO} hợp lệ: contest.json, keys.json, layout.json, "
                                "questions.json, rubric.json, rules.json.")


def test_omr_check_lists_every_problem_of_every_file_at_once(folder):
    def short_and_e(raw):
        answers = raw["versions"]["101"]["answers"].replace(" ", "")
        raw["versions"]["101"]["answers"] = answers[:39]
        raw["versions"]["102"]["answers"] = "E" + raw["versions"]["102"]["answers"].replace(" ", "")[1:]
    _keys(folder, short_and_e)
    (folder / "roster.csv").write_text("participant_id,name,unit\n1234567,A,x\n15,B,y\n015,C,z\n", encoding="utf-8")
    (folder / "contest.json").write_text('{"time_zone": "GMT+7"}', encoding="utf-8")
    r = omr("check", "--contest", str(folder))
    assert r.returncode == ExitCode.BAD_LAYOUT
    out = r.stdout
    assert "LỖI keys.json" in out and "versions.101.answers: 39 letters for 100 questions" in out
    assert "versions.102" in out and "'E'" in out
    assert "LỖI roster.csv" in out and "1234567 has 7 digits" in out and "000015 is already on line 3" in out
    assert "LỖI contest.json" in out and "time_zone: 'GMT+7'" in out
    assert "có 3 lỗi cần sửa" in r.stderr


def test_padded_roster_ids_are_a_warning_not_an_error(folder):
    (folder / "roster.csv").write_text("participant_id,name,unit\n15,Nguyễn Văn An,10A1\n", encoding="utf-8")
    findings = check_contest(folder)
    assert [(f.file, f.severity, f.details) for f in findings] == [("roster.csv", Severity.WARNING, ("15 → 000015",))]
    assert omr("check", "--contest", str(folder)).returncode == ExitCode.OK
    assert [p.id for p in load_roster(folder, load_layout(folder / "layout.json")).people] == ["000015"]


def test_a_missing_folder_or_layout_is_reported_not_raised(tmp_path, folder):
    assert check_contest(tmp_path / "none")[0].severity is Severity.ERROR
    (folder / "layout.json").unlink()
    found = check_contest(folder)
    assert [f.file for f in found] == ["layout.json"]
    assert omr("check", "--contest", str(folder)).returncode == ExitCode.BAD_LAYOUT


def test_omr_samples_draws_the_contests_own_versions(folder, tmp_path):
    def versions_201_202(raw):
        v = raw["versions"]
        raw["versions"] = {"201": v["101"], "202": v["102"]}
    _keys(folder, versions_201_202)
    r = omr("samples", "--contest", str(folder), "-n", "6", "--out", str(tmp_path / "set"), "--workers", "1",
            "--profile", "clean", "--seed", "3")
    assert r.returncode == ExitCode.OK, r.stderr
    truth = [json.loads(line) for line in (tmp_path / "set" / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(truth) == 6 and {t["version_intended"] for t in truth} <= {"201", "202"}
    assert omr("samples", "--contest", str(folder), "--layout", str(folder / "layout.json"), "--out",
               str(tmp_path / "x")).returncode == ExitCode.BAD_ARGS


def test_rosters_as_organisers_save_them_semicolons_excel_vietnamese_headers(folder):
    layout = load_layout(folder / "layout.json")
    (folder / "roster.csv").write_text("Số báo danh;Họ và tên;Đơn vị\n15;Nguyễn Văn An;THCS Ba Đình\n"
                                       "000016;Trần Thị Bình;THCS Tây Hồ\n", encoding="utf-8-sig")
    r = load_roster(folder, layout)
    assert [(p.id, p.name, p.unit) for p in r.people] == [("000015", "Nguyễn Văn An", "THCS Ba Đình"),
                                                          ("000016", "Trần Thị Bình", "THCS Tây Hồ")]
    (folder / "roster.csv").unlink()
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["participant_id", "name", "unit"])
    ws.append([17, "Lê Văn Cường", "Phường Phúc Xá"])             # Excel keeps the id as a number: zeros gone
    ws.append(["000018", "Phạm Thị Dung", None])
    wb.save(folder / "roster.xlsx")
    r = load_roster(folder, layout)
    assert [(p.id, p.name, p.unit) for p in r.people] == [("000017", "Lê Văn Cường", "Phường Phúc Xá"),
                                                          ("000018", "Phạm Thị Dung", "")]
    assert [f.file for f in check_contest(folder)] == ["roster.xlsx"]     # the padded id is a warning
    assert "keys.json, layout.json, roster.xlsx, rubric.json." in omr("check", "--contest", str(folder)).stdout
    (folder / "roster.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InputError, match="looks like an Excel workbook"):
        load_roster(folder, layout)
    (folder / "roster.xlsx").unlink()
    (folder / "roster.csv").write_bytes("participant_id,name\n1,Lê Văn An\n".encode("cp1258"))
    with pytest.raises(InputError, match="UTF-8"):
        load_roster(folder, layout)
    (folder / "roster.csv").write_text("ma,ho\n1,A\n", encoding="utf-8")
    with pytest.raises(InputError, match="needs a header row with participant_id and name"):
        load_roster(folder, layout)
