"""Unit scope on one city server and the mail accounting in /admin: an admin account whose unit is a unit of
``units.csv`` sees and acts on the data its unit (or a unit below it) collected, the city admin on everything;
forged requests for another unit's flag, page or entry are refused with nothing written. The mail counts of
/admin are those of ``omr status`` (one query, ``grading.db.mail.mail_overview``)."""
from __future__ import annotations

import csv
import io
import re
import warnings
from datetime import datetime, timezone

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

import json

import openpyxl

from grading.db import mail as M
from grading.db import rounds as R
from grading.judges import Role, add_judge
from grading.scope import CITY, ScopeError, admin_scope
from grading.store import Store
from grading.units import load_units
from grading.webapp.app import create_app
from grading_support import omr
from omr.layout import load_layout
from web_support import csrf, demo_answers, demo_contest, login_and_change_password, record_faint_sheets, rows

UNITS = ("code,name,kind,parent\n"
         "BD,Quận Ba Đình,district,\n"
         "BD-PX,Phường Phúc Xá,ward,BD\n"
         "BD-THCS,Trường THCS Phúc Xá,school,BD-PX\n"
         "HK,Quận Hoàn Kiếm,district,\n")
AT = datetime(2026, 9, 6, 3, 0, tzinfo=timezone.utc)


def _message(n: int, unit: str, state: str, entries: tuple[tuple[str, str, tuple], ...] = (),
             reason: str | None = None) -> M.MessageRow:
    return M.MessageRow(
        hash=f"{n:064x}", data=f"message {n}".encode(), source="maildir", source_key=f"m{n}", received_at=AT,
        state=state, unit=unit, subject=f"Bài dự thi {n}", sender=f"gui{n}@example.vn",
        reason_code="unreadable" if reason else None, reason=reason,
        entries=tuple(M.EntryRow(code=code, seq=i, state=st, unit=unit, received_at=AT, files=(), flags=fl)
                      for i, (code, st, fl) in enumerate(entries)))


def record_mail(store: Store) -> None:
    """Messages and entries of three collecting units (a ward under Ba Đình, a school under the ward, Hoàn Kiếm)."""
    for m in (_message(1, "BD-PX", "taken", (("PX-LATE1", "late", ()), ("PX-OK1", "graded", ()))),
              _message(2, "BD-PX", "rejected", reason="Tệp ZIP hỏng: không mở được"),
              _message(3, "BD-THCS", "taken", (("TH-PEND1", "pending", ({"code": "under_age"},)),)),
              _message(4, "HK", "taken", (("HK-LATE1", "late", ()), ("HK-SUP1", "superseded", ()))),
              _message(5, "HK", "rejected", reason="Thư hỏng cấu trúc MIME"),
              _message(6, "HK", "ignored")):
        assert M.record_message(store, m)


def add_committee_flags(store: Store) -> dict[str, int]:
    """A tie at the cut of Ba Đình's round, one at Hoàn Kiếm's, one at a prize band: their flag ids."""
    with store.write_tx("committee flags") as conn:
        out = {}
        for unit in ("BD", "HK"):
            rid = R.new_round(conn, "loai", unit, AT, "btc")
            out[unit] = R.put_flag(conn, "round_cut", f"round:{rid}|cut", ["000001", "000002"], 1,
                                   f"Bằng điểm ở ngưỡng vòng loại, {unit}", AT)
        out["prize"] = R.put_flag(conn, "prize_band", "individual:nhat", ["000001", "000011"], 1,
                                  "Bằng điểm ở ranh giới Giải Nhất", AT)
    return out


@pytest.fixture
def site(tmp_path):
    contest = demo_contest(tmp_path / "contest")
    (contest / "units.csv").write_text(UNITS, encoding="utf-8")
    (contest / "rules.json").write_text(json.dumps({"rounds": [
        {"name": "loai", "title": "Vòng loại", "level": "unit"}]}), encoding="utf-8")
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    store = Store.open(url)
    committee = add_committee_flags(store)
    px_flags = record_faint_sheets(store, contest, 2, ("2",), unit="BD-PX")
    hk_flags = record_faint_sheets(store, contest, 2, ("3",), start=10, unit="HK")
    record_mail(store)
    pw = {name: add_judge(store, name, unit=unit, role=Role.ADMIN) for name, unit in (
        ("thanhpho", "city"), ("badinh", "BD"), ("hoankiem", "Quận Hoàn Kiếm"), ("lac", "Quận Không Có"))}
    app = create_app(store, load_layout(contest / "layout.json"), contest_dir=contest)
    clients = {}
    for name in pw:
        c = TestClient(app, follow_redirects=False)
        login_and_change_password(c, name, pw[name])
        clients[name] = c
    yield {"store": store, "url": url, "contest": contest, "c": clients, "px_flags": px_flags, "hk_flags": hk_flags,
           "committee": committee}
    for c in clients.values():
        c.close()
    store.close()


def entry_id(url: str, code: str) -> int:
    return rows(url, "SELECT id FROM entries WHERE code = :c", c=code)[0][0]


def table_rows(html: str, table_id: str) -> dict[str, list[str]]:
    """{first cell: the other cells} of a table's body and foot rows."""
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    body = body.split("</thead>", 1)[-1]
    out = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)]
        if len(cells) > 2:
            out[cells[0]] = cells[1:]
    return out


# -- the scope rule ------------------------------------------------------------------------------------------
def test_scope_of_an_admin_account(tmp_path):
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    units = load_units(tmp_path)
    assert {u.code for u in units.below("BD")} == {"BD", "BD-PX", "BD-THCS"}
    assert {u.code for u in units.below("BD-PX")} == {"BD-PX", "BD-THCS"}
    assert admin_scope("city", units) is CITY and admin_scope("Thành phố", units) is CITY
    assert admin_scope("BD", None) is CITY                      # no units file: one scope
    bd = admin_scope("quan ba dinh", units)                    # a name as people type it
    assert bd.unit.code == "BD" and bd.allows("BD-THCS") and bd.allows("Phường Phúc Xá")
    assert not bd.allows("HK") and not bd.allows(None) and not bd.allows("")
    with pytest.raises(ScopeError):
        admin_scope("Quận Không Có", units)


# -- /admin: messages and entries per unit and state, late entries, rejected messages ------------------------
def test_city_admin_sees_every_unit_and_the_counts_of_omr_status(site):
    html = site["c"]["thanhpho"].get("/admin").text
    t = table_rows(html, "mail-counts")
    # taken, no_entry, rejected, ignored | pending, graded, late, superseded | flagged
    assert t["BD-PX"] == ["1", "0", "1", "0", "0", "1", "1", "0", "0"]
    assert t["BD-THCS"] == ["1", "0", "0", "0", "1", "0", "0", "0", "1"]
    assert t["HK"] == ["1", "0", "1", "1", "0", "0", "1", "1", "0"]
    assert t["Tổng"] == ["3", "0", "2", "1", "1", "1", "2", "1", "1"]
    # the entrant's own unit beside the collecting unit (none stated here): received, late, superseded, ineligible
    own = table_rows(html, "entrant-unit-counts")
    assert own == {"BD-PX": ["(chưa rõ)", "2", "1", "0", "0"], "BD-THCS": ["(chưa rõ)", "1", "0", "0", "1"],
                   "HK": ["(chưa rõ)", "2", "1", "1", "0"]}
    assert "PX-LATE1" in html and "HK-LATE1" in html
    assert "Tệp ZIP hỏng: không mở được" in html and "Thư hỏng cấu trúc MIME" in html
    site["store"].close()
    out = omr("status", "--contest", str(site["contest"]), "--db", site["url"])
    assert out.returncode == 0, out.stderr
    status = {ln.split()[0]: ln.split()[1:] for ln in out.stdout.splitlines()
              if ln.split() and ln.split()[0] in ("BD-PX", "BD-THCS", "HK", "Tổng")}
    for unit in ("BD-PX", "BD-THCS", "HK", "Tổng"):
        assert [c for c in status[unit] if c != "|"] == t[unit], unit


def test_unit_admin_sees_only_its_units_mail(site):
    html = site["c"]["badinh"].get("/admin").text
    t = table_rows(html, "mail-counts")
    assert set(t) == {"BD-PX", "BD-THCS", "Tổng"} and set(table_rows(html, "entrant-unit-counts")) == {"BD-PX",
                                                                                                      "BD-THCS"}
    assert "PX-LATE1" in html and "HK-LATE1" not in html
    assert "Tệp ZIP hỏng" in html and "Thư hỏng cấu trúc MIME" not in html
    assert 'id="scope"' in html and 'id="counts"' not in html and 'id="unit-exports"' in html
    html = site["c"]["hoankiem"].get("/admin").text
    assert set(table_rows(html, "mail-counts")) == {"HK"} and "HK-LATE1" in html and "PX-LATE1" not in html


def test_accepting_a_late_entry_from_admin_is_audited_like_the_command(site):
    c, url = site["c"]["badinh"], site["url"]
    token = csrf(c.get("/admin").text)
    px = entry_id(url, "PX-LATE1")
    r = c.post(f"/admin/entries/{px}/accept", data={"csrf": token})
    assert r.status_code == 303 and "PX-LATE1" in r.headers["location"]
    assert rows(url, "SELECT state, accepted_by FROM entries WHERE id = :i", i=px) == [("pending", "badinh")]
    assert rows(url, "SELECT who, action, target FROM audit WHERE action = 'accept_entry'") == [
        ("badinh", "accept_entry", f"entry:{px} PX-LATE1")]
    assert "PX-LATE1" in c.get(r.headers["location"]).text          # the notice
    again = c.post(f"/admin/entries/{px}/accept", data={"csrf": token})
    assert again.status_code == 409
    assert c.post(f"/admin/entries/{px}/accept", data={"csrf": "forged"}).status_code == 403


def test_a_unit_admin_cannot_accept_another_units_entry(site):
    c, url = site["c"]["badinh"], site["url"]
    hk = entry_id(url, "HK-LATE1")
    r = c.post(f"/admin/entries/{hk}/accept", data={"csrf": csrf(c.get("/admin").text)})
    assert r.status_code == 404
    assert rows(url, "SELECT state, accepted_by FROM entries WHERE id = :i", i=hk) == [("late", None)]
    assert rows(url, "SELECT count(*) FROM audit WHERE action = 'accept_entry'") == [(0,)]
    city = site["c"]["thanhpho"]
    assert city.post(f"/admin/entries/{hk}/accept", data={"csrf": csrf(city.get("/admin").text)}).status_code == 303
    assert rows(url, "SELECT state FROM entries WHERE id = :i", i=hk) == [("pending",)]


# -- the flag queue and the pages --------------------------------------------------------------------------
def test_unit_admin_flag_queue_holds_only_its_units_flags(site):
    c = site["c"]["badinh"]
    listed = {int(i) for i in re.findall(r'href="/flags/(\d+)', c.get("/flags").text)}
    assert listed == set(site["px_flags"])
    city = {int(i) for i in re.findall(r'href="/flags/(\d+)', site["c"]["thanhpho"].get("/flags").text)}
    assert city == set(site["px_flags"]) | set(site["hk_flags"])
    assert c.get(f"/flags/{site['px_flags'][0]}").status_code == 200
    hk = site["hk_flags"][0]
    assert c.get(f"/flags/{hk}").status_code == 403
    assert c.get(f"/flags/{hk}/crop.png").status_code == 403
    page = rows(site["url"], "SELECT page_id FROM flags WHERE id = :i", i=hk)[0][0]
    assert c.get(f"/pages/{page}/image").status_code == 403


def test_a_forged_decision_on_another_units_flag_writes_nothing(site):
    c, url, hk = site["c"]["badinh"], site["url"], site["hk_flags"][0]
    token = csrf(c.get("/admin").text)
    right = demo_answers()["3"]
    assert c.post(f"/flags/{hk}/resolve", data={"csrf": token, "value": right}).status_code == 403
    grid = c.post("/flags/grid/decide", data={"csrf": token, "flag": str(hk), "value": right})
    assert grid.status_code == 404
    every = c.post("/flags/grid/accept", data={"csrf": token, "flag": [str(hk)]})
    assert every.json()["results"][0]["status"] == 404
    assert rows(url, "SELECT state FROM flags WHERE id = :i", i=hk) == [("open",)]
    assert rows(url, "SELECT count(*) FROM audit WHERE action = 'resolve_flag'") == [(0,)]
    px = site["px_flags"][0]
    assert c.post(f"/flags/{px}/resolve", data={"csrf": token, "value": demo_answers()["2"]}).status_code == 303
    assert rows(url, "SELECT state, resolved_by FROM flags WHERE id = :i", i=px) == [("resolved", "badinh")]


# -- pages not yet built for unit admins, and an account nobody can place -----------------------------------
@pytest.mark.parametrize("path", ["/admin/discarded"])
def test_city_pages_are_refused_to_unit_admins(site, path):
    assert site["c"]["badinh"].get(path).status_code == 403
    assert site["c"]["thanhpho"].get(path).status_code == 200


def test_city_reports_are_refused_to_unit_admins(site):
    c = site["c"]["badinh"]
    token = csrf(c.get("/admin").text)
    assert c.post("/admin/report/thanh-pho.xlsx", data={"csrf": token}).status_code == 403
    assert c.post("/admin/report/giai-thuong.pdf", data={"csrf": token}).status_code == 403
    assert rows(site["url"], "SELECT count(*) FROM audit WHERE action = 'report'") == [(0,)]


def _csv(client, name: str) -> list[dict[str, str]]:
    r = client.post(f"/admin/export/{name}", data={"csrf": csrf(client.get("/admin").text)})
    assert r.status_code == 200, r.text[:300]
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_a_unit_admins_exports_hold_only_what_its_units_collected(site):
    unit, city = site["c"]["badinh"], site["c"]["thanhpho"]
    mine, every = _csv(unit, "results.csv"), _csv(city, "results.csv")
    assert {r["participant_id"] for r in mine} == {"000001", "000002"}
    assert {r["participant_id"] for r in every} == {"000001", "000002", "000011", "000012"}
    rank = {r["participant_id"]: r["rank"] for r in every}
    assert all(r["rank"] == rank[r["participant_id"]] for r in mine)          # the contest's ranks
    assert {int(r["flag_id"]) for r in _csv(unit, "results.issues.csv")} == set(site["px_flags"])
    items = {r["question"]: int(r["sheets"]) for r in _csv(unit, "results.items.csv")}
    all_items = {r["question"]: int(r["sheets"]) for r in _csv(city, "results.items.csv")}
    assert items["1"] == 2 and all_items["1"] == 4
    assert rows(site["url"], "SELECT who FROM audit WHERE action = 'export' ORDER BY id")[0] == ("badinh",)


def test_omr_export_unit_writes_one_units_file(site, tmp_path):
    out = tmp_path / "bd.csv"
    site["store"].close()
    p = omr("export", "--contest", str(site["contest"]), "--db", site["url"], "--out", str(out), "--unit",
            "Quận Ba Đình")
    assert p.returncode == 0, p.stderr
    got = {r["participant_id"] for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))}
    assert got == {"000001", "000002"}
    bad = omr("export", "--contest", str(site["contest"]), "--db", site["url"], "--out", str(out), "--unit", "Q9")
    assert bad.returncode == 9 and "units file" in bad.stderr


def test_a_unit_admins_unit_report_holds_only_its_units(site, tmp_path):
    def units_in(client) -> set[str]:
        r = client.post("/admin/report/don-vi.xlsx", data={"csrf": csrf(client.get("/admin").text)})
        assert r.status_code == 200
        (tmp_path / "r.xlsx").write_bytes(r.content)
        sheet = openpyxl.load_workbook(tmp_path / "r.xlsx")["Theo đơn vị"]
        return {row[0].value for row in sheet.iter_rows(min_row=2)}
    assert units_in(site["c"]["badinh"]) == {"BD"}
    assert units_in(site["c"]["hoankiem"]) == {"HK"}
    assert units_in(site["c"]["thanhpho"]) == {"BD", "HK"}


def test_a_unit_admin_decides_only_its_own_rounds_ties(site):
    c, url, flags = site["c"]["badinh"], site["url"], site["committee"]
    html = c.get("/admin/committee").text
    assert f'id="committee-{flags["BD"]}"' in html
    assert f'id="committee-{flags["HK"]}"' not in html and f'id="committee-{flags["prize"]}"' not in html
    token = csrf(html)
    for other in (flags["HK"], flags["prize"]):
        assert c.post(f"/admin/committee/{other}/decide", data={"csrf": token, "all": "1"}).status_code == 403
    assert rows(url, "SELECT count(*) FROM committee_flags WHERE state = 'open'") == [(3,)]
    assert c.post(f"/admin/committee/{flags['BD']}/decide", data={"csrf": token, "all": "1"}).status_code == 303
    assert rows(url, "SELECT decided_by FROM committee_flags WHERE id = :i", i=flags["BD"]) == [("badinh",)]
    city = site["c"]["thanhpho"].get("/admin/committee").text
    assert all(f'id="committee-{f}"' in city for f in flags.values())


def test_an_admin_whose_unit_is_not_in_the_units_file_sees_nothing(site):
    c = site["c"]["lac"]
    r = c.get("/admin")
    assert r.status_code == 403 and "Quận Không Có" in r.text
    assert c.get("/flags").status_code == 403


# -- the query on both databases ---------------------------------------------------------------------------
def test_mail_overview_within_units(store_url):
    with Store.open(store_url) as store:
        record_mail(store)
        everything = M.mail_overview(store)
        assert everything.messages[("HK", "ignored")] == 1 and everything.flagged == {"BD-THCS": 1}
        bd = M.mail_overview(store, frozenset({"BD", "BD-PX", "BD-THCS"}))
        assert set(bd.messages) == {("BD-PX", "taken"), ("BD-PX", "rejected"), ("BD-THCS", "taken")}
        assert bd.entries == {("BD-PX", "late"): 1, ("BD-PX", "graded"): 1, ("BD-THCS", "pending"): 1}
        assert M.mail_overview(store, frozenset()).messages == {}
        assert [e.code for e in M.late_entries(store, frozenset({"HK"}))] == ["HK-LATE1"]
        assert [e.code for e in M.late_entries(store)] == ["PX-LATE1", "HK-LATE1"]
        assert [(m.unit, m.reason) for m in M.rejected_messages(store, frozenset({"BD-PX"}))] == [
            ("BD-PX", "Tệp ZIP hỏng: không mở được")]
        assert M.mail_counts(store) == (everything.messages, everything.entries)


# -- the essays admin --------------------------------------------------------------------------------------
@pytest.fixture
def essay_site(tmp_path):
    """Essays collected by Phúc Xá (under Ba Đình) and by Hoàn Kiếm, each taken by a judge of the other district."""
    from grading.essays import assign_essay_pages, rubric_from_dict, take_next
    from grading.keys import keys_from_dict
    from grading_support import failure, reading, sha, small_layout_dict
    from omr.layout import layout_from_dict

    contest = demo_contest(tmp_path / "contest")
    (contest / "units.csv").write_text(UNITS, encoding="utf-8")
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    store = Store.open(url)
    keys = keys_from_dict({"versions": {"101": {"answers": "AAAAAA"}}}, layout_from_dict(small_layout_dict()))
    for pid, unit in (("000011", "BD-PX"), ("000021", "HK")):
        src = f"bai-{pid}.pdf"
        store.record_submission(src, sha(src), 1, assign_essay_pages([reading(src, 1, pid, "101", "AAAAAA"),
                                                                     failure(src, 2)]), keys, unit=unit)
    pw = {name: add_judge(store, name, unit=unit, role=role) for name, unit, role in (
        ("thanhpho", "city", Role.ADMIN), ("badinh", "BD", Role.ADMIN), ("gkbd", "BD-PX", Role.JUDGE),
        ("gkhk", "HK", Role.JUDGE))}
    ids = {j: rows(url, "SELECT id FROM judges WHERE name = :n", n=j)[0][0] for j in pw}
    rubric = rubric_from_dict({"tolerance": "1", "final_rule": "closest_mean", "questions": [
        {"id": "essay", "title": "Bài", "criteria": [{"id": "a", "title": "Nội dung", "max": 10}]}]})
    taken = {}
    for judge in ("gkhk", "gkbd"):
        aid = take_next(store, ids[judge], rubric).assignment_id
        unit = rows(url, "SELECT s.unit FROM essay_assignments a JOIN essays e ON e.task_id = a.task_id JOIN pages p "
                         "ON p.id = e.page_id JOIN submissions s ON s.id = p.submission_id WHERE a.id = :a", a=aid)
        taken[unit[0][0]] = aid
    assert set(taken) == {"BD-PX", "HK"}
    app = create_app(store, load_layout(contest / "layout.json"), contest_dir=contest)
    clients = {}
    for name in ("thanhpho", "badinh"):
        clients[name] = TestClient(app, follow_redirects=False)
        login_and_change_password(clients[name], name, pw[name])
    yield {"url": url, "c": clients, "taken": taken, "ids": ids}
    for c in clients.values():
        c.close()
    store.close()


def test_a_unit_admin_moves_only_its_units_essays_to_its_units_judges(essay_site):
    c, url, taken, ids = essay_site["c"]["badinh"], essay_site["url"], essay_site["taken"], essay_site["ids"]
    html = c.get("/admin/essays").text
    listed = {int(i) for i in re.findall(r'action="/admin/essays/assignments/(\d+)"', html)}
    assert listed == {taken["BD-PX"]} and "gkhk" not in html.split('id="open-assignments"')[1].split("<select")[1]
    city = essay_site["c"]["thanhpho"].get("/admin/essays").text
    assert {int(i) for i in re.findall(r'action="/admin/essays/assignments/(\d+)"', city)} == set(taken.values())
    assert c.get(f"/essays/{taken['HK']}").status_code == 403          # another unit's essay, even to look at
    assert c.get(f"/essays/{taken['HK']}/pages/1.png").status_code == 403
    assert c.get(f"/essays/{taken['BD-PX']}").status_code == 200
    assert essay_site["c"]["thanhpho"].get(f"/essays/{taken['HK']}").status_code == 200
    token = csrf(html)

    def judge_of(aid: int) -> tuple:
        return rows(url, "SELECT judge_id, state FROM essay_assignments WHERE id = :a", a=aid)[0]
    before = judge_of(taken["HK"])
    r = c.post(f"/admin/essays/assignments/{taken['HK']}", data={"csrf": token, "action": "release"})
    assert r.status_code == 404 and judge_of(taken["HK"]) == before
    r = c.post(f"/admin/essays/assignments/{taken['BD-PX']}", data={"csrf": token, "action": "move",
                                                                     "judge_id": str(ids["gkhk"])})
    assert r.status_code == 403 and judge_of(taken["BD-PX"]) == (ids["gkhk"], "assigned")
    assert rows(url, "SELECT count(*) FROM audit WHERE action IN ('essay_release', 'essay_reassign')") == [(0,)]
    r = c.post(f"/admin/essays/assignments/{taken['BD-PX']}", data={"csrf": token, "action": "release"})
    assert r.status_code == 303
    assert rows(url, "SELECT count(*) FROM essay_assignments WHERE id = :a", a=taken["BD-PX"]) == [(0,)]
