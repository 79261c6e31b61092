"""Admin pages (progress per unit and per judge, exports as downloads), the roster search on participant flags,
paging of the flag queue, a decision race between two judges, and ``omr review --secure-cookies``.

Most tests drive the app in-process (FastAPI's TestClient over a SQLite store built from synthetic readings of the
demo sheet); the browser tests run Debian's Chromium (Playwright) against a live ``omr review``. Screenshots of the
admin page and of the roster search go to a temp folder (docs/screenshots/ when OMR_SCREENSHOTS is set).
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import warnings
import zipfile
from pathlib import Path

import httpx
import openpyxl
import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():       # this Starlette would rather have httpx2; the httpx it has works the same
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from grading.reports import progress
from grading.judges import Role, add_judge
from grading.keys import load_keys
from grading.store import Store
from grading.webapp.app import PAGE_SIZE, create_app
from grading.webapp.roster import RosterIndex
from grading_support import omr
from omr.errors import ExitCode
from omr.layout import load_layout
from omr.records import Reject, SheetFailure
from omr.sheet import Participant
from web_support import (CHROMIUM, CHROMIUM_ARGS, NEW_PASSWORD, csrf, demo_answers, demo_contest, faint_reading,
                         live_server, login_and_change_password, record_faint_sheets, rows, wait_until)

SHOTS_ENV = os.environ.get("OMR_SCREENSHOTS")
ROSTER = [("000101", "Nguyễn Văn An", "Phường Phúc Xá"), ("000102", "Trần Thị Bình", "Phường Phúc Xá"),
          ("000103", "Nguyễn Văn Bảo", "Xã Đông Anh"), ("000104", "Lê Đức Anh", "Sở Tư pháp"),
          ("000105", "Phạm Ngọc Ánh", "Quận Ba Đình")]
UNKNOWN = progress.UNKNOWN_UNIT


def _record(store: Store, keys, name: str, results, unit: str | None = None) -> None:
    store.record_submission(f"/scans/{name}", hashlib.sha256(name.encode()).hexdigest(), 1000, results, keys,
                            unit=unit)


def build_units_store(contest: Path, url: str) -> Store:
    """Sheets of four units: collected with --unit, or placed by the roster, or unknown (see the test's table)."""
    keys = load_keys(contest / "keys.json", load_layout(contest / "layout.json"))
    store = Store.open(url)
    for i, faint in ((1, ("2",)), (2, ()), (3, ())):                 # Quận Ba Đình, collected with --unit
        _record(store, keys, f"bd{i}.jpg", [faint_reading(f"bd{i}.jpg", f"00000{i}", faint)], "Quận Ba Đình")
    _record(store, keys, "bd-torn.jpg", [SheetFailure("bd-torn.jpg", 1, Reject.NOT_A_SHEET, "no fiducials")],
            "Quận Ba Đình")
    _record(store, keys, "stp1.jpg", [faint_reading("stp1.jpg", "000009", ())], "Sở Tư pháp")
    # no --unit: the roster says where the participant belongs
    _record(store, keys, "a.jpg", [faint_reading("a.jpg", "000101", ())])
    _record(store, keys, "b.jpg", [faint_reading("b.jpg", "000102", ("5",))])
    _record(store, keys, "d.jpg", [faint_reading("d.jpg", "000104", ())])
    # no --unit and no roster line, or no id at all
    _record(store, keys, "x.jpg", [faint_reading("x.jpg", "999999", ())])
    _record(store, keys, "y.jpg", [faint_reading("y.jpg", None, (), participant_flag=True)])
    return store


@pytest.fixture
def app_site(tmp_path):
    """The app in-process over the units store, with an admin and two judges ready (passwords changed)."""
    contest = demo_contest(tmp_path / "contest", ROSTER)
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    store = build_units_store(contest, url)
    pw = {name: add_judge(store, name, unit=unit, role=role) for name, unit, role in (
        ("quantri", "Sở Thông tin và Truyền thông", Role.ADMIN), ("gk1", "Quận Ba Đình", Role.JUDGE),
        ("gk2", "Sở Tư pháp", Role.JUDGE))}
    app = create_app(store, load_layout(contest / "layout.json"), contest_dir=contest)
    clients = {}
    for name in pw:
        c = TestClient(app, follow_redirects=False)
        login_and_change_password(c, name, pw[name])
        clients[name] = c
    yield {"store": store, "url": url, "contest": contest, "c": clients}
    for c in clients.values():
        c.close()
    store.close()


def open_flags(url: str) -> dict[str, int]:
    """{participant or source: flag id} of the open flags."""
    return {(p or s.rsplit("/", 1)[-1]): int(i) for i, p, s in rows(
        url, "SELECT f.id, p.participant, s.source FROM flags f JOIN pages p ON p.id = f.page_id "
             "JOIN submissions s ON s.id = p.submission_id WHERE f.state = 'open' ORDER BY f.id")}


def decide(client: httpx.Client, flag_id: int, value: str) -> httpx.Response:
    page = client.get(f"/flags/{flag_id}")
    return client.post(f"/flags/{flag_id}/resolve", data={"csrf": csrf(page.text), "value": value})


# -- progress per unit and per judge ----------------------------------------------------------------------
def test_progress_per_unit_uses_the_collecting_unit_then_the_roster(app_site):
    r = RosterIndex([Participant(*p) for p in ROSTER])
    got = [(u.unit, u.files, u.pages, u.graded, u.flagged, u.rejected, u.open_flags)
           for u in progress.unit_progress(app_site["store"], r.unit_of)]
    assert got == [("Phường Phúc Xá", 2, 2, 1, 1, 0, 1),
                   ("Quận Ba Đình", 4, 4, 2, 1, 1, 1),
                   ("Sở Tư pháp", 2, 2, 2, 0, 0, 0),          # one file collected by it, one by roster
                   (UNKNOWN, 2, 2, 1, 1, 0, 1)]                # 999999 (not on the roster) and the unread id
    # without a roster every file without --unit is of unknown unit
    got = {u.unit: (u.files, u.open_flags) for u in progress.unit_progress(app_site["store"], None)}
    assert got == {"Quận Ba Đình": (4, 1), "Sở Tư pháp": (1, 0), UNKNOWN: (5, 2)}
    t = progress.total(progress.unit_progress(app_site["store"], r.unit_of))
    counts = app_site["store"].counts()
    assert (t.files, t.pages, t.graded, t.flagged, t.rejected, t.open_flags) == (
        counts["submissions"], counts["pages"], counts["pages_graded"], counts["pages_flagged"],
        counts["pages_rejected"], counts["flags_open"])


def test_admin_page_shows_units_and_each_judges_decisions(app_site):
    c, url = app_site["c"], app_site["url"]
    fl, right = open_flags(url), demo_answers()
    assert decide(c["gk1"], fl["000001"], right["2"]).status_code == 303
    assert decide(c["gk1"], fl["000102"], right["5"]).status_code == 303
    assert decide(c["quantri"], fl["y.jpg"], "000105").status_code == 303      # on the roster: Quận Ba Đình
    page = c["quantri"].get("/admin")
    assert page.status_code == 200
    html = page.text
    cells = lambda unit: re.search(rf"<tr><th>{re.escape(unit)}</th>((?:<td>\d+</td>)+)</tr>", html).group(1)
    nums = lambda unit: [int(x) for x in re.findall(r"<td>(\d+)</td>", cells(unit))]
    assert nums("Quận Ba Đình") == [5, 5, 4, 0, 1, 0]          # + the page whose id is now 000105
    assert nums("Phường Phúc Xá") == [2, 2, 2, 0, 0, 0]
    assert nums("Sở Tư pháp") == [2, 2, 2, 0, 0, 0]
    assert nums(UNKNOWN) == [1, 1, 1, 0, 0, 0]
    assert nums("Tổng") == [10, 10, 9, 0, 1, 0]
    judges = {m[0]: (int(m[1]), m[2]) for m in re.findall(
        r"<tr><td>([\w.]+)</td>(?:<td>[^<]*</td>){5}<td class=\"num\">(\d+)</td><td>([^<]*)</td>",
        html)}
    assert judges["gk1"][0] == 2 and judges["quantri"][0] == 1 and judges["gk2"] == (0, "—")
    assert re.fullmatch(r"\d\d/\d\d/20\d\d \d\d:\d\d", judges["gk1"][1])
    assert 'href="/admin/essays"' in html and "Cờ đang mở" in html


def test_decisions_from_the_command_line_are_listed_too(app_site):
    fl = open_flags(app_site["url"])
    app_site["store"].resolve_flag(fl["000102"], "D", who="thay.cli")
    html = app_site["c"]["quantri"].get("/admin").text
    assert re.search(r"<tr><td>thay\.cli</td><td>—</td><td>—</td><td>dòng lệnh.*?<td class=\"num\">1</td>", html)
    act = progress.judge_activity(app_site["store"])
    assert set(act) == {"thay.cli"} and act["thay.cli"].decisions == 1


def test_judges_get_403_on_admin_pages_and_exports(app_site):
    gk = app_site["c"]["gk1"]
    assert gk.get("/admin").status_code == 403
    token = csrf(gk.get("/flags").text)
    r = gk.post("/admin/export/results.xlsx", data={"csrf": token})
    assert r.status_code == 403 and "quản trị viên" in r.text
    assert rows(app_site["url"], "SELECT count(*) FROM audit WHERE action = 'export'") == [(0,)]


# -- exports ----------------------------------------------------------------------------------------------
def test_admin_download_keeps_formulas_from_the_roster_and_file_names_inert(tmp_path):
    contest = demo_contest(tmp_path / "contest")
    with (contest / "roster.csv").open("w", newline="", encoding="utf-8-sig") as fh:
        csv.writer(fh).writerows([("participant_id", "name", "unit"),
                                  ("000101", '=HYPERLINK("http://x","y")', "=1+1"), ("000102", "@SUM(A1)", "-1+2")])
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    store = Store.open(url)
    keys = load_keys(contest / "keys.json", load_layout(contest / "layout.json"))
    _record(store, keys, "a.jpg", [faint_reading("a.jpg", "000101", ())])
    store.record_submission("\t=b.jpg", hashlib.sha256(b"b").hexdigest(), 1000,      # a file name as sent
                            [faint_reading("\t=b.jpg", "000102", ())], keys)
    password = add_judge(store, "quantri", unit="Sở", role=Role.ADMIN)
    with TestClient(create_app(store, load_layout(contest / "layout.json"), contest_dir=contest),
                    follow_redirects=False) as c:
        login_and_change_password(c, "quantri", password)
        token = csrf(c.get("/admin").text)
        xlsx = c.post("/admin/export/results.xlsx", data={"csrf": token})
        got = list(csv.DictReader(io.StringIO(
            c.post("/admin/export/results.csv", data={"csrf": token}).content.decode("utf-8-sig"))))
    store.close()
    assert xlsx.status_code == 200
    with zipfile.ZipFile(io.BytesIO(xlsx.content)) as z:
        assert not any(b"<f>" in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))
    ws = openpyxl.load_workbook(io.BytesIO(xlsx.content))["Kết quả"]        # for people: Vietnamese names
    head = [c.value for c in ws[1]]
    by = {row[0].value: {h: c for h, c in zip(head, row)} for row in ws.iter_rows(min_row=2)}
    for pid, col, text in (("000101", "Họ và tên", '=HYPERLINK("http://x","y")'), ("000101", "Đơn vị", "=1+1"),
                           ("000102", "Họ và tên", "@SUM(A1)"), ("000102", "Đơn vị", "-1+2"),
                           ("000102", "Tệp", "\t=b.jpg")):
        cell = by[pid][col]
        assert (cell.value, cell.data_type) == (text, "s")
    assert by["000101"]["Họ và tên"].quotePrefix and by["000102"]["Tệp"].quotePrefix
    assert not by["000101"]["Tệp"].quotePrefix                                  # /scans/a.jpg
    assert by["000101"]["Tổng điểm"].data_type == "n" and by["000101"]["Tổng điểm"].value == 20
    csv_by = {g["participant_id"]: g for g in got}
    assert (csv_by["000101"]["name"], csv_by["000101"]["unit"]) == ("'=HYPERLINK(\"http://x\",\"y\")", "'=1+1")
    assert (csv_by["000102"]["name"], csv_by["000102"]["unit"]) == ("'@SUM(A1)", "'-1+2")
    assert csv_by["000102"]["sources"] == "'\t=b.jpg" and csv_by["000101"]["total"] == "20.0"


def test_admin_downloads_xlsx_and_csv_with_vietnamese_intact_and_each_is_audited(app_site):
    c = app_site["c"]["quantri"]
    token = csrf(c.get("/admin").text)
    assert c.post("/admin/export/results.xlsx", data={}).status_code == 403            # no CSRF token
    r = c.post("/admin/export/results.xlsx", data={"csrf": token})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert re.fullmatch(r'attachment; filename="results-\d{8}-\d{4}\.xlsx"', r.headers["content-disposition"])
    wb = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    assert wb.sheetnames == ["Kết quả", "Thống kê câu hỏi", "Cần xử lý", "Tự luận"]
    table = list(wb["Kết quả"].iter_rows(values_only=True))
    head = table[0]
    by_id = {row[head.index("Số báo danh")]: row for row in table[1:]}
    assert by_id["000101"][head.index("Họ và tên")] == "Nguyễn Văn An"
    assert by_id["000101"][head.index("Đơn vị")] == "Phường Phúc Xá"
    assert by_id["000101"][head.index("Tổng điểm (phân số)")] == "20"
    assert by_id["000101"][head.index("Tổng điểm")] == 20                # a number Excel can add
    assert by_id["000103"][head.index("Trạng thái")] == "absent"          # on the roster, no sheet
    assert len(table) - 1 == 11               # 9 pages read (one without an id) + 2 on the roster without a sheet

    r = c.post("/admin/export/results.csv", data={"csrf": token})
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="results-\d{8}-\d{4}\.csv"', r.headers["content-disposition"])
    assert r.content.startswith(b"\xef\xbb\xbf")
    got = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {g["participant_id"]: g["name"] for g in got}["000102"] == "Trần Thị Bình"
    assert len(got) == 11
    r = c.post("/admin/export/results.issues.csv", data={"csrf": token})
    issues = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {i["kind"] for i in issues} == {"flag", "rejected"} and len(issues) == 4
    r = c.post("/admin/export/results.essays.csv", data={"csrf": token})     # no essays here: the header only
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    assert list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))) == []
    assert r.content.decode("utf-8-sig").splitlines()[0].startswith("essay,participant_id,question,unit,state,")
    assert c.post("/admin/export/secrets.txt", data={"csrf": token}).status_code == 404
    assert rows(app_site["url"], "SELECT who, target FROM audit WHERE action = 'export' ORDER BY id") == [
        ("quantri", "results.xlsx"), ("quantri", "results.csv"), ("quantri", "results.issues.csv"),
        ("quantri", "results.essays.csv")]


# -- roster search ----------------------------------------------------------------------------------------
def test_roster_search_ignores_case_and_diacritics_and_matches_id_prefix_name_or_unit():
    r = RosterIndex([Participant(*p) for p in ROSTER] + [Participant("200101", "Đặng Thu Hà", "Huyện Mê Linh")])
    ids = lambda q: [h.id for h in r.search(q)[0]]
    assert ids("nguyen van") == ["000101", "000103"]
    assert ids("NGUYỄN VĂN B") == ["000103"]
    assert ids("nguyen van a") == ["000101", "000103"]     # "a" starts "An", and "Anh" of 000103's unit
    assert ids("  Nguyen   van bao ") == ["000103"]
    assert ids("0001") == ["000101", "000102", "000103", "000104", "000105"]
    assert ids("2001") == ["200101"]                       # a prefix of the id only, not anywhere in it
    assert ids("0101") == []
    assert ids("dang thu") == ["200101"] and ids("đặng") == ["200101"]
    assert ids("phuc xa") == ["000101", "000102"]           # the unit
    assert ids("me linh") == ["200101"]
    assert ids("anh") == ["000104", "000103", "000105"]     # a word of the name or unit; by name (folded)
    assert ids("") == [] and ids("xyz") == []
    hits, n = r.search("0", limit=2)
    assert n == 5 and len(hits) == 2


def test_participant_flag_page_searches_the_roster_and_the_chosen_id_resolves_it(app_site):
    c, url = app_site["c"]["gk2"], app_site["url"]
    fid = open_flags(url)["y.jpg"]
    page = c.get(f"/flags/{fid}")
    assert page.status_code == 200 and 'id="roster-q"' in page.text and 'id="no-roster"' not in page.text
    got = c.get("/roster/search", params={"q": "nguyen van"}).json()
    assert got == {"roster": True, "total": 2, "hits": [
        {"id": "000101", "name": "Nguyễn Văn An", "unit": "Phường Phúc Xá"},
        {"id": "000103", "name": "Nguyễn Văn Bảo", "unit": "Xã Đông Anh"}]}
    off = c.post(f"/flags/{fid}/resolve", data={"csrf": csrf(page.text), "value": "999999", "force": "1"})
    assert off.status_code == 400 and "Số báo danh 999999 không có trong danh sách thí sinh" in off.text
    assert "báo ban tổ chức" in off.text and 'id="force"' not in off.text      # a judge cannot force it
    assert rows(url, "SELECT state FROM flags WHERE id = :i", i=fid) == [("open",)]
    roster = app_site["contest"] / "roster.csv"
    good = roster.read_bytes()
    roster.write_bytes(good + good.splitlines(keepends=True)[1])          # a repeated id: the roster is broken
    broken = c.post(f"/flags/{fid}/resolve", data={"csrf": csrf(page.text), "value": "000103"})
    assert broken.status_code == 400 and rows(url, "SELECT state FROM flags WHERE id = :i", i=fid) == [("open",)]
    roster.write_bytes(good)
    r = c.post(f"/flags/{fid}/resolve", data={"csrf": csrf(page.text), "value": "103"})   # zeros dropped: padded
    assert r.status_code == 303
    assert rows(url, "SELECT state, resolved_by FROM flags WHERE id = :i", i=fid) == [("resolved", "gk2")]
    assert rows(url, "SELECT p.participant, s.participant, s.total FROM flags f JOIN pages p ON p.id = f.page_id "
                     "JOIN scores s ON s.page_id = p.id WHERE f.id = :i", i=fid) == [("000103", "000103", "20")]
    shown = c.get(f"/flags/{fid}").text
    assert "000103</strong> (Nguyễn Văn Bảo, Xã Đông Anh)" in shown
    with TestClient(c.app, follow_redirects=False) as anon:
        assert anon.get("/roster/search", params={"q": "nguyen"}).headers["location"] == "/login"


def test_without_a_roster_the_page_says_so_and_a_typed_id_resolves(tmp_path):
    contest = demo_contest(tmp_path / "c")
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    with Store.open(url) as store:
        keys = load_keys(contest / "keys.json", load_layout(contest / "layout.json"))
        _record(store, keys, "y.jpg", [faint_reading("y.jpg", None, (), participant_flag=True)])
        pw = add_judge(store, "gk1", unit="Quận Hoàn Kiếm")
        app = create_app(store, load_layout(contest / "layout.json"), contest_dir=contest)
        with TestClient(app, follow_redirects=False) as c:
            login_and_change_password(c, "gk1", pw)
            (fid,) = open_flags(url).values()
            page = c.get(f"/flags/{fid}")
            assert 'id="no-roster"' in page.text and "chưa có danh sách thí sinh" in page.text
            assert 'id="roster-q"' not in page.text
            assert c.get("/roster/search", params={"q": "0001"}).json() == {"roster": False, "total": 0, "hits": []}
            r = c.post(f"/flags/{fid}/resolve", data={"csrf": csrf(page.text), "value": " 012345 "})
            assert r.status_code == 303
    assert rows(url, "SELECT participant FROM pages") == [("012345",)]


def test_a_broken_roster_is_reported_not_a_crash(app_site):
    (app_site["contest"] / "roster.csv").write_text("participant_id,name\n000101,\n", encoding="utf-8")
    c = app_site["c"]["quantri"]
    fid = open_flags(app_site["url"])["y.jpg"]
    page = c.get(f"/flags/{fid}")
    assert page.status_code == 200 and 'id="no-roster"' in page.text and "line 2" in page.text
    admin = c.get("/admin")
    assert admin.status_code == 200 and "Không dùng được danh sách thí sinh" in admin.text


# -- two judges, one flag ---------------------------------------------------------------------------------
def test_the_second_judge_on_a_flag_is_told_and_writes_nothing(app_site):
    c, url = app_site["c"], app_site["url"]
    fid, right = open_flags(url)["000001"], demo_answers()["2"]
    p1, p2 = c["gk1"].get(f"/flags/{fid}"), c["gk2"].get(f"/flags/{fid}")      # both have the page open
    assert c["gk1"].post(f"/flags/{fid}/resolve", data={"csrf": csrf(p1.text), "value": right}).status_code == 303
    late = c["gk2"].post(f"/flags/{fid}/resolve", data={"csrf": csrf(p2.text), "value": "A"})
    assert late.status_code == 409 and "đã được gk1 xử lý trước bạn" in late.text
    assert rows(url, "SELECT who, value FROM resolutions") == [("gk1", right)]
    assert rows(url, "SELECT who FROM audit WHERE action = 'resolve_flag'") == [("gk1",)]


# -- the queue pages ------------------------------------------------------------------------------------------
def test_flag_queue_pages_through_more_than_fifty_open_flags(tmp_path):
    contest = demo_contest(tmp_path / "c")
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    with Store.open(url) as store:
        ids = record_faint_sheets(store, contest, 62, ("2", "57"))           # 124 flags
        for fid in ids[:3]:
            store.resolve_flag(fid, "B", who="thay.cli")
        pw = add_judge(store, "gk1", unit="Quận Tây Hồ")
        app = create_app(store, load_layout(contest / "layout.json"), contest_dir=contest)
        open_ids = ids[3:]
        assert len(open_ids) == 121 > 2 * PAGE_SIZE
        seen: list[int] = []
        with TestClient(app, follow_redirects=False) as c:
            login_and_change_password(c, "gk1", pw)
            for n in (1, 2, 3):
                html = c.get("/flags", params={"page": n}).text
                assert "Hàng chờ: 121 cờ đang mở" in html and f"Trang {n} / 3" in html
                assert ('href="/flags?page=%d"' % (n - 1) in html) == (n > 1)
                assert ('href="/flags?page=%d"' % (n + 1) in html) == (n < 3)
                got = [int(x) for x in re.findall(r'href="/flags/(\d+)" class="button"', html)]
                assert len(got) == (PAGE_SIZE if n < 3 else 21)
                seen += got
            assert seen == open_ids                                  # in order, none twice, none skipped
            last = c.get("/flags", params={"page": 99}).text         # past the end: the last page
            assert "Trang 3 / 3" in last and re.findall(r'href="/flags/(\d+)" class="button"', last)[-1] == \
                str(open_ids[-1])


# -- omr review --secure-cookies ------------------------------------------------------------------------------
@pytest.mark.parametrize("secure", [False, True])
def test_review_marks_cookies_secure_when_asked(tmp_path, secure):
    contest = demo_contest(tmp_path / "c")
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    with Store.open(url) as store:
        record_faint_sheets(store, contest, 1, ("2",))
        pw = add_judge(store, "gk1", unit="Quận Cầu Giấy")
    extra = ("--secure-cookies",) if secure else ()
    with live_server(contest, tmp_path / "server.log", *extra) as base, \
            httpx.Client(base_url=base, follow_redirects=False, timeout=10) as c:
        page = c.get("/login")
        login_cookie = page.headers["set-cookie"]
        token = csrf(page.text)
        # a Secure cookie is not sent back over plain HTTP by a client: send it by hand, as the proxy would
        r = c.post("/login", data={"username": "gk1", "password": pw, "csrf": token},
                   headers={"Cookie": f"omr_login_csrf={token}"})
        assert r.status_code == 303 and r.headers["location"] == "/password"
        session_cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith("omr_session=")][0]
    for cookie in (login_cookie, session_cookie):
        attrs = [a.strip().lower() for a in cookie.split(";")]
        assert ("secure" in attrs) == secure and "httponly" in attrs, cookie


def test_review_help_lists_secure_cookies_and_keeps_the_other_options():
    p = omr("review", "--help")
    assert p.returncode == ExitCode.OK
    for opt in ("--contest", "--db", "--host", "--port", "--secure-cookies"):
        assert opt in p.stdout


# -- in a browser -------------------------------------------------------------------------------------------
@pytest.fixture
def live_site(tmp_path):
    contest = demo_contest(tmp_path / "contest", ROSTER)
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    store = build_units_store(contest, url)
    pw = {"quantri": add_judge(store, "quantri", unit="Sở TT&TT", role=Role.ADMIN),
          "gk1": add_judge(store, "gk1", unit="Quận Ba Đình")}
    store.close()
    with live_server(contest, tmp_path / "server.log") as base:
        for name in pw:                      # the forced password change, over HTTP
            with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as c:
                login_and_change_password(c, name, pw[name])
        yield {"base": base, "url": url}


def _browser_login(page, base: str, name: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", name)
    page.fill("#password", NEW_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/flags")


def test_in_chromium_a_judge_finds_the_participant_by_name_and_picking_resolves(live_site, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(SHOTS_ENV) if SHOTS_ENV else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    base, url = live_site["base"], live_site["url"]
    fid = open_flags(url)["y.jpg"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1100, "height": 900}, locale="vi-VN").new_page()
            _browser_login(page, base, "gk1")
            page.goto(f"{base}/flags/{fid}")
            page.wait_for_selector("#roster-q:focus")
            page.keyboard.type("nguyen van")
            wait_until(page, "document.querySelectorAll('#roster-results button').length === 2")
            assert page.inner_text("#roster-count") == "Tìm thấy 2 thí sinh."
            assert page.inner_text("#roster-results").splitlines()[1] == "000103 Nguyễn Văn Bảo — Xã Đông Anh"
            page.keyboard.press("ArrowDown")
            assert page.get_attribute("#roster-results li:nth-child(2) button", "class") == "active"
            page.screenshot(path=str(shots / "roster-search.png"), full_page=True)
            page.click("#roster-results button[data-id='000103']")
            page.wait_for_url(re.compile(rf".*done={fid}$"))
            assert f"Đã ghi cờ số {fid}" in page.inner_text("#done") and "000103" in page.inner_text("#done")
        finally:
            browser.close()
    assert rows(url, "SELECT state, resolved_by, resolution FROM flags WHERE id = :i", i=fid) == [
        ("resolved", "gk1", '{"value": "000103"}')]
    ((page_id,),) = rows(url, "SELECT page_id FROM flags WHERE id = :i", i=fid)
    assert rows(url, "SELECT who, target FROM audit WHERE action = 'resolve_flag'") == [
        ("gk1", f"flag:{fid} page:{page_id} participant")]
    assert rows(url, "SELECT participant FROM pages p JOIN flags f ON f.page_id = p.id WHERE f.id = :i",
                i=fid) == [("000103",)]
    assert 0 < (shots / "roster-search.png").stat().st_size < 400_000


def test_in_chromium_an_admin_sees_progress_and_downloads_the_xlsx(live_site, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(SHOTS_ENV) if SHOTS_ENV else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    base, url = live_site["base"], live_site["url"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1100, "height": 900}, locale="vi-VN", accept_downloads=True)
            page = ctx.new_page()
            _browser_login(page, base, "quantri")
            page.click("nav a[href='/admin']")
            page.wait_for_url("**/admin")
            assert page.inner_text("#units tbody tr:first-child").split("\t") == [
                "Phường Phúc Xá", "2", "2", "1", "1", "0", "1"]
            page.screenshot(path=str(shots / "admin-progress.png"), full_page=True)
            with page.expect_download() as info:
                page.click("#export-results-xlsx")
            download = info.value
            assert re.fullmatch(r"results-\d{8}-\d{4}\.xlsx", download.suggested_filename)
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
        finally:
            browser.close()
    wb = openpyxl.load_workbook(saved, read_only=True)
    table = list(wb["Kết quả"].iter_rows(values_only=True))
    head = table[0]
    names = {r[head.index("Số báo danh")]: (r[head.index("Họ và tên")], r[head.index("Đơn vị")]) for r in table[1:]}
    assert names["000102"] == ("Trần Thị Bình", "Phường Phúc Xá") and len(table) == 12
    assert rows(url, "SELECT who, action, target FROM audit WHERE action = 'export'") == [
        ("quantri", "export", "results.xlsx")]
    assert 0 < (shots / "admin-progress.png").stat().st_size < 400_000


# -- pictures drawn ahead -------------------------------------------------------------------------------------
def test_crop_cache_draws_ahead_once_forgets_a_decided_page_and_keeps_within_its_bytes():
    import threading

    from grading.webapp.crop_cache import CropCache

    drawn: list[int] = []
    gate = threading.Event()

    def draw(f: dict) -> bytes:
        if f["id"] == 3:
            gate.wait(10)
        drawn.append(f["id"])
        return bytes([f["id"]]) * 100

    cache = CropCache(draw, max_bytes=250)
    f1, f2, f3 = ({"id": i, "page_id": 10 + (i == 3)} for i in (1, 2, 3))
    cache.prefetch([f1, f2])
    assert cache.get(f1) == b"\x01" * 100 and cache.get(f2) == b"\x02" * 100
    assert sorted(drawn) == [1, 2]                       # each drawn once, ahead
    cache.forget_page(10)
    assert cache.get(f1) == b"\x01" * 100 and drawn.count(1) == 2     # drawn again after a decision on page 10
    cache.prefetch([f3])
    cache.forget_page(11)                                # decided while being drawn: not kept
    gate.set()
    cache._pool.submit(lambda: None).result()            # the one drawing thread is done with f3
    assert drawn.count(3) == 1 and cache._pending == {}
    assert cache.get(f3) == b"\x03" * 100               # the stale drawing was not kept: drawn for the page now
    assert cache.get(f3) == b"\x03" * 100 and drawn.count(3) == 2
    cache.get(f2)
    assert cache._bytes <= 250 and len(cache._items) == 2             # least recently used dropped
