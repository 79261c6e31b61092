"""The committee decides a tie in /admin (admins only): the form takes exactly as many members as there are
places, or all of them; the decision is recorded under the admin's name, audited, and the round's cut follows."""
from __future__ import annotations

import json
import warnings

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from grading.judges import Role, add_judge
from grading.keys import keys_from_dict
from grading.rounds import close_round, open_round
from grading.rules import rules_from_dict
from grading.store import Store
from grading.webapp.app import create_app
from omr.layout import layout_from_dict

from grading_support import reading, sha, small_layout_dict
from web_support import csrf, login_and_change_password, rows

RULES = {"rounds": [{"name": "a", "level": "city", "advance": {"top": 2}}, {"name": "b", "level": "city"}]}


@pytest.fixture
def site(tmp_path):
    folder = tmp_path / "contest"
    folder.mkdir()
    (folder / "layout.json").write_text(json.dumps(small_layout_dict()), encoding="utf-8")
    (folder / "rules.json").write_text(json.dumps(RULES), encoding="utf-8")
    url = f"sqlite:///{folder / 'out' / 'results.sqlite'}"
    layout = layout_from_dict(small_layout_dict())
    keys = keys_from_dict({"versions": {"101": {"answers": "AAAAAA"}}}, layout)
    store = Store.open(url)
    for pid, marks in (("000001", "AAAAAA"), ("000002", "AAAABB"), ("000003", "AAAABB"), ("000004", "ABBBBB")):
        store.record_submission(f"{pid}.pdf", sha(pid), 1, [reading(f"{pid}.pdf", 1, pid, "101", marks)], keys)
    rules = rules_from_dict(RULES, source="r")
    open_round(store, rules, None, "a", None, who="btc")
    (flag_id,) = close_round(store, rules, None, "a", None, who="btc").ties
    pw = {n: add_judge(store, n, unit="Sở", role=r) for n, r in (("quantri", Role.ADMIN), ("gk1", Role.JUDGE))}
    app = create_app(store, layout, contest_dir=folder)
    clients = {}
    for n in pw:
        clients[n] = TestClient(app, follow_redirects=False)
        login_and_change_password(clients[n], n, pw[n])
    yield {"url": url, "flag": flag_id, "c": clients}
    for c in clients.values():
        c.close()
    store.close()


def test_an_admin_decides_a_tie_at_the_cut_and_it_is_audited(site):
    c, fid, url = site["c"]["quantri"], site["flag"], site["url"]
    assert site["c"]["gk1"].get("/admin/committee").status_code == 403
    page = c.get("/admin/committee")
    assert page.status_code == 200 and "000002" in page.text and "000003" in page.text and "Chọn 1" in page.text
    bad = c.post(f"/admin/committee/{fid}/decide", data={"csrf": csrf(page.text), "pick": ["000002", "000003"]})
    assert bad.status_code == 409 and "chọn đúng 1" in bad.text
    assert c.post(f"/admin/committee/{fid}/decide", data={"pick": ["000003"]}).status_code in (400, 403)   # no CSRF
    ok = c.post(f"/admin/committee/{fid}/decide", data={"csrf": csrf(page.text), "pick": ["000003"]})
    assert ok.status_code == 303 and ok.headers["location"] == f"/admin/committee?done={fid}"
    assert rows(url, "SELECT participant, advanced FROM round_entries ORDER BY participant") == [
        ("000001", 1), ("000002", 0), ("000003", 1), ("000004", 0)]
    assert rows(url, "SELECT state, decided_by FROM committee_flags") == [("decided", "quantri")]
    assert rows(url, "SELECT who FROM audit WHERE action = 'committee_decide'") == [("quantri",)]
    again = c.post(f"/admin/committee/{fid}/decide", data={"csrf": csrf(page.text), "all": "1"})
    assert again.status_code == 409 and "đã được quantri quyết định" in again.text
    assert "quantri" in c.get("/admin/committee").text and 'id="committee-link"' in c.get("/admin").text


def test_admins_download_the_round_reports_and_each_download_is_audited(site):
    c = site["c"]["quantri"]
    token = csrf(c.get("/admin").text)
    assert 'id="report-thanh-pho-pdf"' in c.get("/admin").text
    xlsx = c.post("/admin/report/thanh-pho.xlsx", data={"csrf": token})
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    assert xlsx.headers["content-disposition"].startswith('attachment; filename="thanh-pho-')
    pdf = c.post("/admin/report/giai-thuong.pdf", data={"csrf": token})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == \
        "application/pdf"
    assert c.post("/admin/report/bi-mat.pdf", data={"csrf": token}).status_code == 404
    assert site["c"]["gk1"].post("/admin/report/don-vi.xlsx", data={"csrf": token}).status_code == 403
    assert rows(site["url"], "SELECT who, target FROM audit WHERE action = 'report' ORDER BY id") == [
        ("quantri", "thanh-pho.xlsx"), ("quantri", "giai-thuong.pdf")]
