"""A whole small contest end to end, on SQLite and PostgreSQL: three districts of scored entries with essays —
two working on the city server, one (Quận 3) on its own installation that forwards a signed bundle — unit rounds
opened, judged afresh and closed (a tie at a district's cut decided by the committee), the bundle received, city
rounds, the final, the prizes (a tie at a band boundary, decided; re-runs change nothing), the prize list as
XLSX/CSV and the results export — through the ``omr`` commands themselves (in process)."""
from __future__ import annotations

import csv
import json
from fractions import Fraction as F
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from grading.cli import main as omr_main
from grading.contest import Contest
from grading.essays import assign_essay_pages, import_roster, rubric_from_dict, submit_score, take_next
from grading.keys import keys_from_dict
from grading.rounds import RoundError, close_round, open_round
from grading.rules import rules_from_dict
from grading.reports.export import results_table
from grading.store import Store, judges
from grading.units import load_units
from omr.errors import ExitCode
from omr.layout import layout_from_dict
from omr.sheet import Participant

from grading_support import failure, reading, sha, small_layout_dict

RULES = {"total": {"mc_weight": 1, "essay_weight": 1}, "tie_breaks": ["essay_score"],
         "rounds": [{"name": "loai", "title": "Vòng loại", "level": "unit", "advance": {"min_score": 4}},
                    {"name": "huyen", "title": "Sơ khảo huyện", "level": "unit", "advance": {"top": 2, "per": "unit"}},
                    {"name": "tp", "title": "Sơ khảo thành phố", "level": "city", "advance": {"top": 4}},
                    {"name": "ck", "title": "Chung khảo", "level": "city"}],
         "prizes": {"individual": [{"band": "nhat", "title": "Giải Nhất", "count": 1},
                                   {"band": "nhi", "title": "Giải Nhì", "count": 1},
                                   {"band": "ba", "title": "Giải Ba", "count": 1}],
                    "collective": [{"band": "nhat", "title": "Giải Nhất tập thể", "count": 1},
                                   {"band": "nhi", "title": "Giải Nhì tập thể", "count": 1}]},
         "collective": {"participation": 100, "finalists": 1}}
RUBRIC = {"tolerance": "1", "final_rule": "closest_mean", "questions": [
    {"id": "essay", "title": "Bài tự luận", "criteria": [{"id": "a", "title": "Nội dung", "max": 6},
                                                       {"id": "b", "title": "Diễn đạt", "max": "4"}]}]}
UNITS = "code,name,kind,size\nQ1,Quận 1,quận,100\nQ2,Quận 2,quận,50\nQ3,Quận 3,quận,200\n"
# participant → (correct answers of 6, essay points); the final round's essays differ for two of them
PEOPLE = {"000011": (6, 10), "000012": (5, 9), "000013": (4, 4), "000014": (2, 1), "000015": (3, 5), "000016": (0, 0),
          "000021": (6, 8), "000022": (5, 7), "000023": (5, 7), "000024": (1, 2), "000025": (4, 2), "000026": (0, 4),
          "000031": (6, 9), "000032": (6, 6), "000033": (3, 3), "000034": (1, 1), "000035": (2, 1), "000036": (0, 0)}
FINAL_ESSAYS = {"000031": 8, "000021": 8}


def _essay(pid: str, round_name: str) -> int:
    return FINAL_ESSAYS.get(pid, PEOPLE[pid][1]) if round_name == "ck" else PEOPLE[pid][1]


@pytest.fixture
def contest(tmp_path):
    d = tmp_path / "contest"
    d.mkdir()
    (d / "rules.json").write_text(json.dumps(RULES, ensure_ascii=False), encoding="utf-8")
    (d / "units.csv").write_text(UNITS, encoding="utf-8")
    return d


def _record_entries(store: Store, units: str = "123") -> None:
    layout = layout_from_dict(small_layout_dict())
    keys = keys_from_dict({"versions": {"101": {"answers": "AAAAAA"}}}, layout)
    people = {p: v for p, v in PEOPLE.items() if p[4] in units}
    for pid, (right, _) in people.items():
        src = f"bai-{pid}.pdf"
        answers = "A" * right + "B" * (6 - right)
        recs = [reading(src, 1, pid, "101", answers), failure(src, 2)]
        store.record_submission(src, sha(src), 1, assign_essay_pages(recs), keys, unit=f"Quận {pid[4]}")
    import_roster(store, [Participant(pid, f"Thí sinh {pid}", f"Quận {pid[4]}") for pid in people])


def _add_judges(store: Store) -> list[int]:
    with store.write_tx("judges") as conn:
        return [conn.execute(sa.insert(judges).values(name=f"gk{u}", unit=f"Quận {u}", role="judge",
                                                      password_hash="x", must_change=False, created_at=sa.func.now())
                             .returning(judges.c.id)).scalar_one() for u in (1, 2, 3)]


def _quan3_forwards(tmp_path, capsys, rules, units, rubric) -> Path:
    """Quận 3 on its own installation: its entries, both district rounds, its key, its signed bundle."""
    folder = tmp_path / "quan3"
    folder.mkdir()
    for name in ("rules.json", "units.csv"):
        (folder / name).write_bytes((tmp_path / "contest" / name).read_bytes())
    url = f"sqlite:///{tmp_path / 'quan3.sqlite'}"
    with Store.open(url) as store:
        _record_entries(store, "3")
        jids = _add_judges(store)
        for name in ("loai", "huyen"):
            open_round(store, rules, units, name, "Q3", who="btc Q3")
            _judge_round(store, rubric, jids, name)
            assert close_round(store, rules, units, name, "Q3", who="btc Q3").ties == ()
    assert _run(capsys, "keys", "new", "--unit", "Q3", "--contest", str(folder))[0] == ExitCode.OK
    bundle = tmp_path / "Q3-huyen.zip"
    assert _run(capsys, "forward", "--unit", "Q3", "--round", "huyen", "--out", str(bundle), "--contest",
                str(folder), "--db", url)[0] == ExitCode.OK
    (tmp_path / "contest" / "keys").mkdir()
    (tmp_path / "contest" / "keys" / "Q3.pub").write_bytes((folder / "keys" / "Q3.pub").read_bytes())
    return bundle


def _judge_round(store: Store, rubric, judge_ids: list[int], round_name: str) -> int:
    """Every judge takes and scores essays until none is left; both judges give the participant's points."""
    scored, busy = 0, True
    while busy:
        busy = False
        for jid in judge_ids:
            taken = take_next(store, jid, rubric)
            if taken is None:
                continue
            with store.read_tx("t") as conn:
                pid, rnd = conn.execute(sa.text(
                    "SELECT t.participant, t.contest_round FROM essay_assignments a JOIN essay_tasks t "
                    "ON t.id = a.task_id WHERE a.id = :a"), {"a": taken.assignment_id}).one()
            assert rnd == round_name                    # only the open round's tasks are handed out
            e = _essay(pid, round_name)
            submit_score(store, taken.assignment_id, jid, {"a": str(min(e, 6)), "b": str(e - min(e, 6))}, rubric)
            scored, busy = scored + 1, True
    return scored


def _entries(store: Store, name: str) -> dict[str, tuple]:
    with store.read_tx("t") as conn:
        return {r[0]: tuple(r[1:]) for r in conn.execute(sa.text(
            "SELECT e.participant, e.score, e.rank, e.advanced FROM round_entries e JOIN contest_rounds r "
            "ON r.id = e.round_id WHERE r.name = :n ORDER BY e.participant"), {"n": name})}


def _run(capsys, *args: str) -> tuple[int, str]:
    code = omr_main(list(args))
    return code, capsys.readouterr().out


def test_a_whole_contest_from_the_districts_to_the_prizes(store_url, contest, capsys, tmp_path):
    rules, units, rubric = rules_from_dict(RULES, source="r"), load_units(contest), rubric_from_dict(RUBRIC)
    bundle = _quan3_forwards(tmp_path, capsys, rules, units, rubric)
    db = ["--contest", str(contest), "--db", store_url]
    with Store.open(store_url) as store:
        _record_entries(store, "12")
        jids = _add_judges(store)
        with pytest.raises(RoundError, match="cấp đơn vị"):
            open_round(store, rules, units, "loai", None, who="btc")
        with pytest.raises(RoundError, match="chưa đóng"):
            open_round(store, rules, units, "huyen", "Q1", who="btc")

        # the qualifying round in each district: 6 entries each, a task each, judged by the other districts
        for u in ("Q1", "Quận 2"):
            code, out = _run(capsys, "round", "open", "loai", *db, "--unit", u, "--who", "btc")
            assert code == ExitCode.OK and "thêm 6 bài dự thi, 6 nhiệm vụ" in out
        assert _run(capsys, "round", "open", "loai", *db, "--unit", "Q1")[1].startswith("vòng loai (Q1) mở: thêm 0")
        with pytest.raises(RoundError, match="còn 6 bài tự luận chưa có điểm"):
            close_round(store, rules, units, "loai", "Q1", who="btc")
        assert _judge_round(store, rubric, jids, "loai") == 24
        for u in ("Q1", "Q2"):
            assert close_round(store, rules, units, "loai", u, who="btc").entries == 6
        loai = _entries(store, "loai")
        assert {p for p, (_, _, adv) in loai.items() if adv} == {
            "000011", "000012", "000013", "000015", "000021", "000022", "000023", "000025", "000026"}
        assert loai["000015"][:2] == ("8", 3) and loai["000013"][:2] == ("8", 4)       # essay 5 before essay 4

        # the district round: top 2 per district; in Q2, 000022 and 000023 are equal on everything
        for u in ("Q1", "Q2"):
            open_round(store, rules, units, "huyen", u, who="btc")
        assert _judge_round(store, rubric, jids, "huyen") == 18
        code, out = _run(capsys, "round", "close", "huyen", *db, "--unit", "Q2", "--who", "btc")
        assert code == ExitCode.FINISHED_WITH_FLAGS and "cờ hội đồng" in out
        (flag_id,) = [int(w) for w in out.split("cờ hội đồng ")[1].split(":")[:1]]
        assert {p: a for p, (_, _, a) in _entries(store, "huyen").items() if p.startswith("00002")} == {
            "000021": True, "000022": None, "000023": None, "000025": False, "000026": False}
        assert close_round(store, rules, units, "huyen", "Q1", who="btc").ties == ()
        with pytest.raises(RoundError, match="chưa mở"):                   # Q3 closes at home, not here
            close_round(store, rules, units, "huyen", "Q3", who="btc")
        assert _run(capsys, "receive", str(bundle), *db) == (
            ExitCode.OK, "đã nhận gói của Q3, vòng huyen: 2 bài dự thi, 2 tệp, 4 trang\n")
        assert _run(capsys, "receive", str(bundle), *db)[1].endswith("không thêm gì\n")
        assert _run(capsys, "round", "close", "huyen", *db, "--unit", "Q2")[1].endswith(
            "không có gì thay đổi\n")                                                   # closing again: nothing
        code, out = _run(capsys, "decide", "--list", *db)
        assert out.startswith(f"{flag_id}\tround_cut\t1 chỗ\t000022, 000023\t")
        assert _run(capsys, "decide", str(flag_id), *db, "--who", "Hội đồng", "--pick", "000099")[0] == \
            ExitCode.BAD_ARGS
        assert _run(capsys, "decide", str(flag_id), *db, "--who", "Hội đồng", "--pick", "000023") == (
            ExitCode.OK, f"cờ {flag_id}: chọn 000023; không chọn 000022\n")
        assert _run(capsys, "decide", str(flag_id), *db, "--who", "X", "--all")[0] == ExitCode.BAD_ARGS
        assert {p for p, (_, _, a) in _entries(store, "huyen").items() if a} == {
            "000011", "000012", "000021", "000023", "000031", "000032"}

        # the city rounds: the six from the districts, then the final four
        assert open_round(store, rules, units, "tp", None, who="btc").entries_added == 6
        _judge_round(store, rubric, jids, "tp")
        assert close_round(store, rules, units, "tp", None, who="btc").advanced == 4
        assert {p: (s, r) for p, (s, r, a) in _entries(store, "tp").items()} == {
            "000011": ("16", 1), "000031": ("15", 2), "000012": ("14", 3), "000021": ("14", 4), "000023": ("12", 5),
            "000032": ("12", 6)}
        open_round(store, rules, units, "ck", None, who="btc")
        _judge_round(store, rubric, jids, "ck")
        assert close_round(store, rules, units, "ck", None, who="btc").ties == ()
        assert {p: (s, r, a) for p, (s, r, a) in _entries(store, "ck").items()} == {
            "000011": ("16", 1, None), "000012": ("14", 2, None), "000021": ("14", 3, None),
            "000031": ("14", 3, None)}

        # prizes: Nhất and Nhì; 000021 and 000031 tie for the one Giải Ba → a flag; collective: Q2 then Q1
        code, out = _run(capsys, "prizes", *db, "--who", "btc")
        assert code == ExitCode.FINISHED_WITH_FLAGS and out.startswith("giải: 4 giải mới, 0 đã trao trước đó")
        prize_flag = int(out.split("cờ hội đồng ")[1].split(":")[0])
        assert _awards(store) == [("individual", "nhat", 1, 1, "000011", "Q1", "16"),
                                  ("individual", "nhi", 2, 2, "000012", "Q1", "14"),
                                  ("collective", "nhat", 1, 1, "Q2", "Q2", "13"),
                                  ("collective", "nhi", 2, 2, "Q1", "Q1", "8")]
        assert _run(capsys, "prizes", *db)[1].startswith("giải: 0 giải mới, 4 đã trao")     # nothing new yet
        assert _run(capsys, "decide", str(prize_flag), *db, "--who", "Hội đồng", "--all")[0] == ExitCode.OK
        code, out = _run(capsys, "prizes", *db, "--out", str(contest / "giai.xlsx"))
        assert code == ExitCode.OK and out.startswith("giải: 2 giải mới, 4 đã trao")
        snapshot = _awards(store)
        assert [a for a in snapshot if a[1] == "ba"] == [("individual", "ba", 3, 3, "000021", "Q2", "14"),
                                                         ("individual", "ba", 4, 3, "000031", "Q3", "14")]
        assert _run(capsys, "prizes", *db, "--out", str(contest / "giai.csv"))[0] == ExitCode.OK
        assert _awards(store) == snapshot                                                   # a re-run: nothing
        with store.read_tx("t") as conn:
            actions = [r[0] for r in conn.execute(sa.text(
                "SELECT action FROM audit WHERE action IN ('round_open', 'round_close', 'committee_decide', "
                "'prizes') ORDER BY id"))]
        assert actions.count("committee_decide") == 2 and actions.count("prizes") == 2
        assert actions.count("round_close") == 7        # 2 + 2 district closings here, Q3's (forwarded), 2 city ones
        with store.read_tx("t") as conn:
            assert conn.execute(sa.text("SELECT who, target FROM audit WHERE action = 'round_close' AND who LIKE "
                                        "'%(Q3)'")).one() == ("btc Q3 (Q3)", "Q3: round:2")
        layout = layout_from_dict(small_layout_dict())
        table = results_table(store, Contest(contest, layout, keys_from_dict({"versions": {"101": {
            "answers": "AAAAAA"}}}, layout))).set_index("participant_id")
        assert table.loc["000031", ["round_reached", "round_score_exact", "round_rank", "award"]].tolist() == [
            "ck", "14", 3, "Giải Ba"]
        assert table.loc["000023", ["round_reached", "round_score_exact", "round_rank"]].tolist() == ["tp", "12", 5]
        assert table["award"].notna().sum() == 4
        assert table.loc["000016", ["round_reached", "rank", "essay_status"]].tolist() == ["loai", 13, "in progress"]
        assert table["combined_total_exact"].isna().all()      # the essays are judged in rounds, not outside them

    code, out = _run(capsys, "report", "city", *db, "--out", str(contest / "thanh-pho.xlsx"))
    assert code == ExitCode.OK
    wb = openpyxl.load_workbook(contest / "thanh-pho.xlsx")
    head, *units_rows = [[c.value for c in r] for r in wb["Theo đơn vị"].iter_rows()]
    by_unit = {r[0]: dict(zip(head, r)) for r in units_rows}
    assert {u: (r["Gửi lên thành phố"], r["Vào vòng tp"]) for u, r in by_unit.items()} == {
        "Q1": (2, 2), "Q2": (2, 2), "Q3": (2, 2)}
    assert by_unit["Q1"]["Vào vòng loai"] == 6 and by_unit["Q1"]["Giải cá nhân"] == 2
    assert by_unit["Q3"]["Vào vòng loai"] is None            # Q3's qualifying round stayed at home
    assert wb["Giải thưởng"].max_row == 7 and wb.sheetnames == ["Tổng hợp", "Theo đơn vị", "Phân bố điểm",
                                                                "Theo đơn vị người dự thi", "Giải thưởng"]
    for kind in ("city", "prizes"):
        assert _run(capsys, "report", kind, *db, "--out", str(contest / f"{kind}.pdf"))[0] == ExitCode.OK
    city_text = _pdf_text(contest / "city.pdf")
    assert "Báo cáo tổng hợp cấp thành phố" in city_text and "Phân bố điểm" in city_text
    assert "Giải Nhất tập thể" in city_text and "Thí sinh 000011" in city_text
    prizes_text = _pdf_text(contest / "prizes.pdf")
    assert "Danh sách giải thưởng" in prizes_text and "Giải Ba" in prizes_text and "Thí sinh 000031" in prizes_text
    ws = openpyxl.load_workbook(contest / "giai.xlsx").active
    table = [[c.value for c in row] for row in ws.iter_rows()]
    assert table[0] == ["Loại giải", "Giải", "Thứ tự", "Hạng", "Số báo danh / Mã đơn vị", "Họ và tên / Tên đơn vị",
                        "Đơn vị", "Tổng điểm", "Tổng điểm (chính xác)"]
    assert table[1] == ["Cá nhân", "Giải Nhất", 1, 1, "000011", "Thí sinh 000011", "Quận 1", 16, "16"]
    assert table[-1] == ["Tập thể", "Giải Nhì tập thể", 2, 2, "Q1", "Quận 1", "Quận 1", 8, "8"]
    assert len(table) == 7
    with open(contest / "giai.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[4][:5] == ["Cá nhân", "Giải Ba", "4", "3", "000031"] and len(rows) == 7


def _pdf_text(path: Path) -> str:
    """The PDF's text (poppler's pdftotext)."""
    import subprocess

    assert path.read_bytes().startswith(b"%PDF")
    return " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True,
                                   timeout=60).stdout.split())       # cells wrap: words joined by single spaces


def _awards(store: Store) -> list[tuple]:
    with store.read_tx("t") as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT kind, band, position, rank, winner, unit, total FROM awards ORDER BY kind DESC, position"))]


def test_a_one_round_school_exam_gives_its_prizes_without_essays(store_url, tmp_path, capsys):
    rules = {"tie_breaks": ["mc_points"], "rounds": [{"name": "thi", "level": "city"}],
             "prizes": {"individual": [{"band": "gioi", "title": "Giỏi", "count": 2}]}}
    folder = tmp_path / "truong"
    folder.mkdir()
    (folder / "rules.json").write_text(json.dumps(rules), encoding="utf-8")
    layout = layout_from_dict(small_layout_dict())
    keys = keys_from_dict({"versions": {"101": {"answers": "AAAAAA"}}}, layout)
    with Store.open(store_url) as store:
        for pid, right in (("000001", 6), ("000002", 4), ("000003", 5), ("000004", 1)):
            store.record_submission(f"{pid}.pdf", sha(pid), 1, [reading(f"{pid}.pdf", 1, pid, "101",
                                                                        "A" * right + "C" * (6 - right))], keys)
    db = ["--contest", str(folder), "--db", store_url]
    assert _run(capsys, "prizes", *db)[0] == ExitCode.BAD_ARGS                     # the round is not closed
    assert _run(capsys, "round", "open", "thi", *db)[1] == "vòng thi mở: thêm 4 bài dự thi, 0 nhiệm vụ chấm tự luận\n"
    assert _run(capsys, "round", "close", "thi", *db)[0] == ExitCode.OK
    assert _run(capsys, "prizes", *db)[0] == ExitCode.OK
    with Store.open(store_url) as store:
        assert [(w, t) for _, _, _, _, w, _, t in _awards(store)] == [("000001", "6"), ("000003", "5")]
        assert F(_entries(store, "thi")["000002"][0]) == 4


def test_the_education_report_counts_students_aged_12_and_over(store_url, tmp_path, capsys):
    from datetime import date

    from grading.reports.contest_reports import age_on, grade_of

    assert [age_on(date(2014, 9, 6), date(2026, 9, d)) for d in (5, 6)] == [11, 12]
    assert [grade_of(c) for c in ("7A", "Lớp 9", " khối 10 ", "A7", None)] == [7, 9, 10, None, None]
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "rules.json").write_text(json.dumps(RULES), encoding="utf-8")
    (folder / "units.csv").write_text(UNITS + "T1,THCS Thành Công,trường,\n", encoding="utf-8")
    people = [("000001", "2013-01-02", "THCS Thành Công", "8A", "Quận 1"),     # 13
              ("000002", "2014-09-07", "THCS Thành Công", "7B", "Quận 1"),     # 11 on the day: left out
              ("000003", "2012-05-05", "THCS Láng", "Lớp 9", "Quận 2"),        # 14
              ("000004", "1990-01-01", None, None, "Quận 2"),                  # no school nor class: not a student
              ("000005", "2011-12-31", "THCS Láng", "9A", "Quận 2")]           # 14
    with Store.open(store_url) as store:
        import_roster(store, [Participant(p, f"Học sinh {p}", u) for p, *_, u in people])
        with store.write_tx("t") as conn:
            for pid, born, school, cls, _ in people:
                conn.execute(sa.text("UPDATE participants SET date_of_birth = :d, school = :s, class_name = :c "
                                     "WHERE participant = :p"), {"d": date.fromisoformat(born), "s": school,
                                                                  "c": cls, "p": pid})
    code, _ = _run(capsys, "report", "education", "--contest", str(folder), "--db", store_url, "--on",
                   "2026-09-06", "--out", str(tmp_path / "so-gd.xlsx"))
    assert code == ExitCode.OK
    wb = openpyxl.load_workbook(tmp_path / "so-gd.xlsx")

    def sheet(name):
        return [[c.value for c in r] for r in wb[name].iter_rows()][1:]
    assert sheet("Theo quận huyện") == [["Quận 1", 1], ["Quận 2", 2]]
    assert sheet("Theo trường") == [["THCS Láng", 2], ["THCS Thành Công", 1]]
    assert sheet("Theo tuổi") == [[13, 1], [14, 2]] and sheet("Theo khối lớp") == [[8, 1], [9, 2]]
    assert [r[:4] for r in sheet("Danh sách")] == [["000001", "Học sinh 000001", "02/01/2013", 13],
                                                  ["000003", "Học sinh 000003", "05/05/2012", 14],
                                                  ["000005", "Học sinh 000005", "31/12/2011", 14]]
    assert _run(capsys, "report", "education", "--contest", str(folder), "--db", store_url, "--on", "2026-09-06",
                "--out", str(tmp_path / "so-gd.pdf"))[0] == ExitCode.OK
    text = _pdf_text(tmp_path / "so-gd.pdf")
    assert "Báo cáo học sinh từ 12 tuổi dự thi" in text and "THCS Thành Công" in text and "Theo khối lớp" in text
    assert "000002" not in text
