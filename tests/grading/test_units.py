"""The contest's units file: read in English or Vietnamese headers, every problem at once, found by code or name."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from grading.contest import Severity, check_contest
from grading_support import DEMO
from grading.units import UnitKind, load_units
from omr.errors import InputError

VI = """Mã;Tên đơn vị;Loại;Đơn vị cấp trên;Hộp thư;Quy mô
Q.HK;Quận Hoàn Kiếm;quận;;hoankiem@hanoi.gov.vn;135.000
THCS-NT;Trường THCS Ngô Sĩ Liên;trường;Q.HK;;1.200
STTTT;Sở Thông tin và Truyền thông;sở;;stttt@hanoi.gov.vn;
"""


def _write(folder: Path, text: str, name: str = "units.csv") -> Path:
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_vietnamese_headers_semicolons_and_kinds(tmp_path):
    units = load_units(_write(tmp_path, VI))
    hk, school, dept = units.units
    assert (hk.code, hk.name, hk.kind, hk.mailbox, hk.size) == ("Q.HK", "Quận Hoàn Kiếm", UnitKind.DISTRICT,
                                                               "hoankiem@hanoi.gov.vn", 135000)
    assert (school.kind, school.parent, school.size) == (UnitKind.SCHOOL, "Q.HK", 1200)
    assert (dept.kind, dept.size) == (UnitKind.DEPARTMENT, None)
    assert units.top("THCS-NT") == hk
    assert units.by_mailbox("HoanKiem@Hanoi.gov.vn") == hk


@pytest.mark.parametrize("typed", ["Q.HK", "q.hk", "Quận Hoàn Kiếm", "quan hoan kiem", "  QUẬN HOÀN KIẾM "])
def test_find_by_code_or_name(tmp_path, typed):
    assert load_units(_write(tmp_path, VI)).find(typed).code == "Q.HK"


def test_find_refuses_a_typo_with_the_closest_name(tmp_path):
    with pytest.raises(InputError, match="Quận Hoàn Kiếm"):
        load_units(_write(tmp_path, VI)).find("Quận Hoàn Kiêm X")


def test_every_problem_at_once(tmp_path):
    text = ("code,name,kind,parent,size\nA,Quận A,district,,10\nA,Quận B,district,,x\nC,Quận A,planet,Z,\n"
            "D,Trường D,school,E,\nE,Trường E,school,D,\n,Không mã,school,,\n")
    with pytest.raises(InputError) as err:
        load_units(_write(tmp_path, text))
    details = "\n".join(err.value.details)
    assert "line 3: code 'A' is already on line 2" in details
    assert "line 3: size 'x' is not a whole number" in details
    assert "line 4: name 'Quận A' is already on line 2" in details
    assert "line 4: kind 'planet'" in details
    assert "unit C: parent 'Z' is not a unit code" in details
    assert "unit D: its parents go round in a circle" in details
    assert "line 7: needs a code and a name" in details


def test_xlsx_and_no_file(tmp_path):
    assert load_units(tmp_path) is None
    wb = openpyxl.Workbook()
    wb.active.append(["code", "name", "size"])
    wb.active.append(["P1", "Phường Hàng Trống", 8000])
    wb.save(tmp_path / "units.xlsx")
    (unit,) = load_units(tmp_path).units
    assert (unit.code, unit.size, unit.kind) == ("P1", 8000, UnitKind.OTHER)


def test_not_utf8_is_refused_with_how_to_save(tmp_path):
    (tmp_path / "units.csv").write_bytes("code,name\nA,Quận A\n".encode("utf-16"))
    with pytest.raises(InputError, match="CSV UTF-8"):
        load_units(tmp_path)


def test_omr_check_reports_the_units_file(tmp_path):
    folder = tmp_path / "contest"
    shutil.copytree(DEMO, folder)
    _write(folder, "code,name\nA,Quận A\nA,Quận B\n")
    (finding,) = [f for f in check_contest(folder) if f.file == "units.csv"]
    assert finding.severity is Severity.ERROR and "already on line 2" in finding.details[0]


def test_a_unit_typed_on_the_command_line_is_recorded_as_its_code_and_a_typo_refused(tmp_path, capsys):
    from grading.cli import main
    from grading.units import recorded_unit

    folder = tmp_path / "contest"
    shutil.copytree(DEMO, folder)
    _write(folder, VI)
    assert recorded_unit(folder, "  quận  hoàn kiếm ") == "Q.HK" and recorded_unit(folder, "stttt") == "STTTT"
    assert recorded_unit(folder, "thành phố", city=True) == "thành phố"
    assert recorded_unit(tmp_path, "Quận  Mới") == "Quận Mới"                   # no units file: as typed
    db = tmp_path / "judges.sqlite"
    assert main(["judges", "add", "gk1", "--unit", "Quan Hoan Kiem", "--contest", str(folder), "--db", str(db)]) == 0
    assert main(["judges", "add", "tp", "--unit", "city", "--role", "admin", "--contest", str(folder),
                 "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["judges", "list", "--json", "--contest", str(folder), "--db", str(db)]) == 0
    units = {j["login"]: j["unit"] for j in json.loads(capsys.readouterr().out)}
    assert units == {"gk1": "Q.HK", "tp": "city"}
    typo = tmp_path / "typo.sqlite"
    assert main(["judges", "add", "gk2", "--unit", "Quận Hoàn Kiêm X", "--contest", str(folder),
                 "--db", str(typo)]) == 9
    assert "Quận Hoàn Kiếm" in capsys.readouterr().err and not typo.exists()      # refused before a store is made
    assert main(["grade", str(tmp_path / "none"), "--unit", "Quận Một", "--contest", str(folder),
                 "--db", str(typo)]) == 9 and not typo.exists()
