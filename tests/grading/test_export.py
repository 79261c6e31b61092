"""Exports over a store filled with exact records (6 questions, A–E, penalty 1/3): values checked by hand."""
from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from fractions import Fraction

import openpyxl
import pandas as pd
import pytest

from grading.contest import load_contest
from grading.cli import main
from grading.reports.export import competition_ranks, export
from grading.store import Store
from omr.errors import BadArguments, ExitCode
from omr.records import Flag, Reject, SheetFailure

from grading_support import failure, qflag, reading, sha, small_layout_dict

KEYS = {"penalty": "1/3", "sections": [{"name": "Phần I", "questions": "1-3"}, {"name": "Phần II", "questions": "4-6"}],
        "versions": {"101": {"answers": "AAADEB"}, "102": {"answers": "BBBBBB"}}}
ROSTER = [("000001", "Đỗ Minh Châu", "10A1"), ("000002", "Nguyễn Thị Ánh", "10A2"), ("000003", "Trần Văn Bình", "10A1"),
          ("000004", "Lê Hoàng Yến", "10A2"), ("000005", "Phạm Quốc Việt", "10A3"), ("000006", "Vũ Thị Hường", "10A3"),
          ("000007", "Hồ Ngọc Đức", "10A1")]
# participant, version, answers ("-" blank), flagged question → expected exact total
SHEETS = [("000001", "101", "AAADEB", None, "6"),
          ("000002", "101", "AAADE-", None, "5"),
          ("000003", "102", "BBBBB-", None, "5"),
          ("000004", "102", "BBBBBA", None, "14/3"),        # one wrong in Phần II: −1/3
          ("000005", "101", "AAADEC", None, "14/3"),
          ("000006", "101", "ABADEB", "2", "5")]            # 2 still open: 0 until a judge decides
RANKS = {"000001": 1, "000002": 2, "000003": 2, "000006": 2, "000004": 5, "000005": 5, "000007": None}


@pytest.fixture
def contest(tmp_path):
    folder = tmp_path / "contest"
    folder.mkdir()
    (folder / "layout.json").write_text(json.dumps(small_layout_dict(), ensure_ascii=False), encoding="utf-8")
    (folder / "keys.json").write_text(json.dumps(KEYS, ensure_ascii=False), encoding="utf-8")
    rows = ["participant_id,name,unit"] + [",".join(r) for r in ROSTER]
    (folder / "roster.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return load_contest(folder)


@pytest.fixture
def filled(contest, sqlite_url):
    store = Store.open(sqlite_url)
    for i, (pid, ver, ans, fq, _) in enumerate(SHEETS):
        flags = (qflag(fq),) if fq else ()
        store.record_submission(f"scan{i}.jpg", sha(f"s{i}"), 100, [reading(f"scan{i}.jpg", 1, pid, ver, ans, flags)],
                                contest.keys)
    store.record_submission("scan9.jpg", sha("s9"), 10, [failure("scan9.jpg", None, Reject.CORRUPT)], contest.keys)
    yield store
    store.close()


def test_competition_ranks_share_ties_and_skip():
    F = Fraction
    assert competition_ranks([F(5), F(6), None, F(5), F(14, 3), F(5)]) == [2, 1, None, 2, 5, 2]
    assert competition_ranks([]) == []


def test_xlsx_has_results_items_and_issues(tmp_path, contest, filled):
    out = tmp_path / "x" / "results.xlsx"
    assert export(filled, contest, out, headers="codes") == [out]
    sheets = pd.read_excel(out, sheet_name=None,
                           dtype={"participant_id": str, "version": str, "total_exact": str, "key": str})
    assert list(sheets) == ["results", "items", "issues", "essays"]
    assert sheets["essays"].empty and "essay_total" in sheets["results"].columns
    res = sheets["results"]
    assert list(res["participant_id"]) == [r[0] for r in ROSTER]                 # roster order
    assert list(res["name"]) == [r[1] for r in ROSTER] and list(res["unit"]) == [r[2] for r in ROSTER]
    by = res.set_index("participant_id")
    for pid, ver, ans, fq, total in SHEETS:
        row = by.loc[pid]
        assert row["total_exact"] == total
        assert row["total"] == pytest.approx(float(Fraction(total)))
        assert str(row["version"]) == ver
        assert row["rank"] == RANKS[pid]
        assert row["open_flags"] == (1 if fq else 0)
        assert row["status"] == ("flagged" if fq else "ok")
        for q, a in enumerate(ans, start=1):
            assert (row[f"answer {q}"] if isinstance(row[f"answer {q}"], str) else "") == ("" if a == "-" else a)
    absent = by.loc["000007"]
    assert absent["status"] == "absent" and math.isnan(absent["total"]) and math.isnan(absent["rank"])
    assert by.loc["000004", "points 6"] == pytest.approx(-1 / 3) and by.loc["000004", "points 1"] == 1
    assert by.loc["000006", "points 2"] == 0 and by.loc["000002", "points 6"] == 0
    assert by.loc["000004", "section: Phần I"] == 3 and by.loc["000004", "section: Phần II"] == pytest.approx(5 / 3)
    assert by.loc["000001", "max_total"] == 6

    items = sheets["items"].set_index("question")
    assert list(items.index) == [1, 2, 3, 4, 5, 6] and set(items["sheets"]) == {6}
    assert items.loc[1, "share correct"] == 1 and items.loc[1, "share A"] == pytest.approx(4 / 6)
    assert items.loc[1, "share B"] == pytest.approx(2 / 6) and items.loc[1, "share C"] == 0
    q6 = items.loc[6]
    assert (q6["share correct"], q6["share blank"], q6["share wrong"]) == pytest.approx((2 / 6, 2 / 6, 2 / 6))
    assert (q6["share A"], q6["share B"], q6["share C"], q6["share E"]) == pytest.approx((1 / 6, 2 / 6, 1 / 6, 0))
    assert items.loc[2, "share unreadable"] == pytest.approx(1 / 6)

    issues = sheets["issues"]
    assert list(issues["kind"]) == ["flag", "rejected"]
    flag, rej = issues.iloc[0], issues.iloc[1]
    assert (flag["source"], flag["page"], flag["target"], str(flag["key"]), flag["reason"]) == \
        ("scan5.jpg", 1, "question", "2", "ambiguous_mark")
    assert (rej["source"], rej["target"], rej["reason"]) == ("scan9.jpg", "file", "corrupt")
    assert "no fiducials" in rej["message"]

    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames == ["results", "items", "issues", "essays"]
    wb.close()


def test_csv_has_a_bom_vietnamese_names_and_siblings(tmp_path, contest, filled):
    out = tmp_path / "results.csv"
    written = export(filled, contest, out)
    assert written == [out, tmp_path / "results.items.csv", tmp_path / "results.issues.csv",
                       tmp_path / "results.essays.csv"]
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == [r[1] for r in ROSTER]
    assert rows[0]["participant_id"] == "000001" and rows[0]["total_exact"] == "6" and rows[0]["rank"] == "1"
    assert rows[3]["total_exact"] == "14/3" and rows[3]["rank"] == "5"
    for sibling in written[1:]:
        assert sibling.read_bytes().startswith(b"\xef\xbb\xbf")
    items = list(csv.DictReader(io.StringIO(written[1].read_text(encoding="utf-8-sig"))))
    assert len(items) == 6 and items[0]["share correct"] == "1.0"
    issues = list(csv.DictReader(io.StringIO(written[2].read_text(encoding="utf-8-sig"))))
    assert [i["kind"] for i in issues] == ["flag", "rejected"]


def test_export_command_and_bad_output_name(tmp_path, contest, filled, sqlite_url, capsys):
    out = tmp_path / "r.xlsx"
    code = main(["export", "--contest", str(contest.folder), "--db", sqlite_url, "--out", str(out)])
    assert code == ExitCode.OK and capsys.readouterr().out.strip() == str(out)
    res = pd.read_excel(out, sheet_name="Kết quả", dtype={"Số báo danh": str})        # people's names by default
    assert len(res) == 7 and list(res.columns[:4]) == ["Số báo danh", "Họ và tên", "Đơn vị", "Mã đề"]
    assert {"Câu 1: trả lời", "Câu 1: điểm", "Tổng điểm (phân số)", "Xếp hạng"} <= set(res.columns)
    code = main(["export", "--contest", str(contest.folder), "--db", sqlite_url, "--out", str(out),
                 "--headers", "codes"])
    assert code == ExitCode.OK and capsys.readouterr().out.strip() == str(out)
    assert list(pd.read_excel(out, sheet_name="results").columns[:2]) == ["participant_id", "name"]
    code = main(["export", "--contest", str(contest.folder), "--db", sqlite_url, "--out", str(tmp_path / "l.csv"),
                 "--headers", "labels"])
    assert code == ExitCode.OK and (tmp_path / "l.csv").read_text(encoding="utf-8-sig").startswith("Số báo danh,")
    with pytest.raises(BadArguments, match="results.xlsx or results.csv"):
        export(filled, contest, tmp_path / "r.ods")
    code = main(["export", "--contest", str(contest.folder), "--db", sqlite_url, "--out", str(tmp_path / "r.ods")])
    assert code == ExitCode.BAD_ARGS


# -- text from outside is inert in the spreadsheets -------------------------------------------------------
HOSTILE_ROSTER = [("000001", '=HYPERLINK("http://x","y")', "=1+1"), ("000002", "@SUM(A1)", "+1"),
                  ("000003", "-1+2", "\uff1d1+1"), ("000004", "Lê Hoàng Yến", "10A2")]
HOSTILE_SOURCE, HOSTILE_ID = "\t=evil.jpg", "+84 912"           # a file name; a participant id as read
HOSTILE_MESSAGE, HOSTILE_REJECT = "=cmd|' /C calc'!A0", "-rejected.pdf"
HOSTILE = {'=HYPERLINK("http://x","y")', "=1+1", "@SUM(A1)", "+1", "-1+2", "\uff1d1+1", HOSTILE_SOURCE, HOSTILE_ID,
           HOSTILE_MESSAGE, HOSTILE_REJECT, "@no fiducials"}


@pytest.fixture
def hostile(tmp_path, sqlite_url):
    """A graded contest whose roster, file names, ids as read and messages hold formulas; 000002 scores −2."""
    folder = tmp_path / "contest"
    folder.mkdir()
    (folder / "layout.json").write_text(json.dumps(small_layout_dict(), ensure_ascii=False), encoding="utf-8")
    (folder / "keys.json").write_text(json.dumps(KEYS, ensure_ascii=False), encoding="utf-8")
    with (folder / "roster.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("participant_id", "name", "unit"), *HOSTILE_ROSTER])
    contest = load_contest(folder)
    store = Store.open(sqlite_url)
    for i, (pid, ans) in enumerate((("000001", "AAADEB"), ("000002", "BBBBBA"), ("000003", "AAADE-"))):
        store.record_submission(f"scan{i}.jpg", sha(f"s{i}"), 100, [reading(f"scan{i}.jpg", 1, pid, "101", ans)],
                                contest.keys)
    flag = Flag(target="question", key="2", reason="ambiguous_mark", message=HOSTILE_MESSAGE, confidence=0.4)
    store.record_submission(HOSTILE_SOURCE, sha("evil"), 100,
                            [reading(HOSTILE_SOURCE, 1, HOSTILE_ID, "101", "AAADEB", (flag,))], contest.keys)
    store.record_submission(HOSTILE_REJECT, sha("rej"), 10,
                            [SheetFailure(HOSTILE_REJECT, None, Reject.CORRUPT, "@no fiducials")], contest.keys)
    yield contest, store
    store.close()


def assert_inert_workbook(data: bytes) -> None:
    """No formula anywhere; every text a string cell, the hostile ones quote-prefixed with their exact text;
    names, units, sources and messages from outside all present; scores are numbers (−2 stays a number)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert not re.search(rb"<(\w+:)?f[ >/]", z.read(name)), name
    wb = openpyxl.load_workbook(io.BytesIO(data))
    texts = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                    # "-2": the exact total we computed, also text in a string cell
                    assert cell.quotePrefix == (cell.value in HOSTILE | {"-2"}), cell.value
                    texts.add(cell.value)
    assert HOSTILE <= texts
    table = list(wb["results"].iter_rows(values_only=True))
    head = table[0]
    by = {row[head.index("participant_id")]: dict(zip(head, row)) for row in table[1:]}
    assert (by["000001"]["name"], by["000001"]["unit"]) == ('=HYPERLINK("http://x","y")', "=1+1")
    assert (by["000002"]["total"], by["000002"]["total_exact"]) == (-2, "-2")
    assert by["000002"]["points 1"] == pytest.approx(-1 / 3) and by["000001"]["total"] == 6
    assert by[HOSTILE_ID]["sources"] == HOSTILE_SOURCE
    totals = [row[head.index("total")] for row in wb["results"].iter_rows(min_row=2)]
    assert {c.data_type for c in totals if c.value is not None} == {"n"}
    wb.close()


def test_xlsx_export_keeps_text_from_outside_as_text(tmp_path, hostile, sqlite_url):
    contest, _ = hostile
    out = tmp_path / "results.xlsx"
    code = main(["export", "--contest", str(contest.folder), "--db", sqlite_url, "--out", str(out),
                 "--headers", "codes"])
    assert code == ExitCode.OK
    assert_inert_workbook(out.read_bytes())


def test_csv_export_quotes_formula_like_text_and_keeps_numbers(tmp_path, hostile, sqlite_url):
    contest, _ = hostile
    out = tmp_path / "results.csv"
    code = main(["export", "--contest", str(contest.folder), "--db", sqlite_url, "--out", str(out)])
    assert code == ExitCode.OK
    read = lambda p: list(csv.DictReader(io.StringIO(p.read_text(encoding="utf-8-sig"))))
    res = {r["participant_id"]: r for r in read(out)}
    assert [(res[pid]["name"], res[pid]["unit"]) for pid, _, _ in HOSTILE_ROSTER] == [
        ("'=HYPERLINK(\"http://x\",\"y\")", "'=1+1"), ("'@SUM(A1)", "'+1"), ("'-1+2", "'\uff1d1+1"),
        ("Lê Hoàng Yến", "10A2")]
    assert "+84 912" not in res and res["'+84 912"]["sources"] == "'\t=evil.jpg"
    assert (res["000002"]["total"], res["000002"]["total_exact"]) == ("-2.0", "-2")     # computed: left as is
    assert float(res["000002"]["points 1"]) == pytest.approx(-1 / 3)
    issues = read(tmp_path / "results.issues.csv")
    assert [(i["source"], i["participant"], i["message"]) for i in issues] == [
        ("'\t=evil.jpg", "'+84 912", "'=cmd|' /C calc'!A0"), ("'-rejected.pdf", "", "'@no fiducials")]
    for path in tmp_path.glob("results*.csv"):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))):
            for value in row:
                assert value.lstrip()[:1] not in set("=+@\t\r\uff1d\uff0b\uff0d\uff20"), value   # "-2" is ours


def test_roster_ids_that_lost_their_leading_zeros_match_the_sheets(tmp_path, contest, filled):
    rows = ["participant_id,name,unit"] + [f"{int(pid)},{name},{unit}" for pid, name, unit in ROSTER]
    (contest.folder / "roster.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")  # as Excel saves it
    out = tmp_path / "results.csv"
    export(filled, contest, out)
    res = pd.read_csv(out, dtype={"participant_id": str})
    names = dict(zip(res["participant_id"], res["name"]))
    assert names == {pid: name for pid, name, _ in ROSTER}
