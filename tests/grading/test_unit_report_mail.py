"""The per-unit report (``omr report unit``) counts the entries that came by e-mail per unit — received, late
(waiting or accepted since), ineligible (under age, staff) and superseded — from the ingestion tables, in its
XLSX and its PDF, on SQLite and PostgreSQL. Units below a district count in the district's row."""
from __future__ import annotations

import subprocess
from datetime import date, datetime, timezone

import openpyxl

from grading.db import mail as M
from grading.reports.contest_reports import write_report
from grading.rules import rules_from_dict
from grading.store import Store
from grading.units import load_units

UNITS = "code,name,kind,parent\nBD,Quận Ba Đình,district,\nBD-PX,Phường Phúc Xá,ward,BD\nHK,Quận Hoàn Kiếm,district,\n"
AT = datetime(2026, 9, 6, 3, 0, tzinfo=timezone.utc)
UNDER = ({"code": "under_age", "message": "11 tuổi"},)
STAFF = ({"code": "staff", "message": "giám khảo"},)
MAIL = {"BD": [("BD-1", "graded", ()), ("BD-2", "late", ())],
        "BD-PX": [("PX-1", "graded", UNDER), ("PX-2", "superseded", ()), ("PX-3", "graded", ())],
        "HK": [("HK-1", "late", ()), ("HK-2", "graded", STAFF), ("HK-3", "pending", ({"code": "age_unknown"},))]}


def _record(store: Store) -> None:
    for n, (unit, entries) in enumerate(MAIL.items()):
        assert M.record_message(store, M.MessageRow(
            hash=f"{n:064x}", data=b"x%d" % n, source="maildir", source_key=f"m{n}", received_at=AT, state="taken",
            unit=unit, entries=tuple(M.EntryRow(code=c, seq=i, state=st, unit=unit, received_at=AT, files=(),
                                                flags=fl) for i, (c, st, fl) in enumerate(entries))))
    late = M.find_entry(store, "HK-1")
    M.accept_entry(store, late.id, "btc")       # accepted: pending now, still counted as late


def test_the_unit_report_counts_the_entries_received_by_mail(tmp_path, store_url):
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    units = load_units(tmp_path)
    rules = rules_from_dict({"rounds": [{"name": "loai", "title": "Vòng loại", "level": "unit"}]}, source="r")
    with Store.open(store_url) as store:
        _record(store)
        assert M.unit_entry_counts(store)["HK"] == {"received": 3, "late": 1, "ineligible": 1, "superseded": 0}
        write_report("unit", store, tmp_path, rules, units, tmp_path / "unit.xlsx", on=date(2026, 9, 6))
        write_report("unit", store, tmp_path, rules, units, tmp_path / "unit.pdf", on=date(2026, 9, 6))
    head, *body = [[c.value for c in r] for r in openpyxl.load_workbook(tmp_path / "unit.xlsx")["Theo đơn vị"]
                   .iter_rows()]
    got = {r[0]: dict(zip(head, r)) for r in body}
    cols = ("Bài nhận qua thư", "Nộp muộn", "Không đủ điều kiện", "Bị thay thế")
    assert {u: tuple(r[c] for c in cols) for u, r in got.items()} == {"BD": (5, 1, 1, 1), "HK": (3, 1, 1, 0)}
    assert got["HK"]["Tệp nhận được"] == 0 and got["BD"]["Đơn vị"] == "Quận Ba Đình"
    text = " ".join(subprocess.run(["pdftotext", "-layout", str(tmp_path / "unit.pdf"), "-"], capture_output=True,
                                   text=True, check=True, timeout=60).stdout.split())
    assert "Bài nhận" in text and "Nộp" in text and "Không đủ" in text and "Bị thay" in text
    assert "BD Quận Ba 5 1 1 1 0" in text and "HK Quận 3 1 1 0 0" in text      # names wrap in their cells


def test_the_unit_report_counts_entries_by_the_entrants_own_unit_too(tmp_path, store_url):
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    units = load_units(tmp_path)
    rules = rules_from_dict({"rounds": [{"name": "loai", "title": "Vòng loại", "level": "unit"}]}, source="r")
    own = [("A-1", "graded", "Trường THCS Ngô Sĩ Liên"), ("A-2", "late", "Trường THCS Ngô Sĩ Liên"),
           ("A-3", "graded", "Phường Hàng Trống"), ("A-4", "graded", None)]
    with Store.open(store_url) as store:
        assert M.record_message(store, M.MessageRow(
            hash="f" * 64, data=b"y", source="maildir", source_key="m", received_at=AT, state="taken", unit="HK",
            entries=tuple(M.EntryRow(code=c, seq=i, state=st, unit="HK", received_at=AT, files=(), entrant_unit=u)
                          for i, (c, st, u) in enumerate(own))))
        write_report("unit", store, tmp_path, rules, units, tmp_path / "unit.xlsx", on=date(2026, 9, 6))
    head, *body = [[c.value for c in r] for r in openpyxl.load_workbook(tmp_path / "unit.xlsx")
                   ["Theo đơn vị người dự thi"].iter_rows()]
    got = {(r[0], r[2]): (r[head.index("Bài nhận qua thư")], r[head.index("Nộp muộn")]) for r in body}
    assert got == {("HK", "Trường THCS Ngô Sĩ Liên"): (2, 1), ("HK", "Phường Hàng Trống"): (1, 0),
                   ("HK", "(chưa rõ)"): (1, 0)}
    assert {r[1] for r in body} == {"Quận Hoàn Kiếm"}
