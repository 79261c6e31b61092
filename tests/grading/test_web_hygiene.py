"""The web app against an outsider and a careless link: security headers on every answer, no attacker-chosen text
rendered from the address, a password change that asks for the current password and ends the other sessions,
and nothing of a blind essay (its participant, its file) shown to a judge through a notice or an error."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from grading.essays import assign_essay_pages
from grading.judges import Role, add_judge
from grading.store import Store
from grading.webapp.app import SECURITY_HEADERS, create_app
from grading_support import DEMO, db_rows, failure, reading, sha
from omr.layout import load_layout
from test_essays import images_pdf, typed_page
from web_support import NEW_PASSWORD, TestClient, csrf, login, login_and_change_password

PID = "000301"
SECRET_FILE = "ba-dinh_nguyen-van-khoa.pdf"


@pytest.fixture
def site(tmp_path):
    contest = tmp_path / "contest"
    contest.mkdir()
    for name in ("layout.json", "keys.json", "rubric.json"):
        shutil.copy(DEMO / name, contest / name)
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    blank = np.full((3508, 2480), 255, np.uint8)
    with Store.open(url) as store:
        pdf = images_pdf(tmp_path / SECRET_FILE, [(blank, 300), (typed_page("Bài làm của em."), 300)])
        store.record_submission(str(pdf), sha(PID), pdf.stat().st_size,
                                assign_essay_pages([reading(str(pdf), 1, PID, "101", "AAAAAA"),
                                                    failure(str(pdf), 2)]), None)
        mail = images_pdf(tmp_path / "thu-000777.pdf", [(typed_page("Bài gửi qua thư."), 300)])
        store.record_submission(str(mail), sha("mail"), mail.stat().st_size,
                                assign_essay_pages([failure(str(mail), 1)]), None)
        pw = {"gk1": add_judge(store, "gk1", unit="Quận Tây Hồ"),
              "quantri": add_judge(store, "quantri", unit="Sở Tư pháp", role=Role.ADMIN)}
    store = Store.open(url)
    app = create_app(store, load_layout(contest / "layout.json"), contest_dir=contest)
    clients: list[TestClient] = []

    def client() -> TestClient:
        c = TestClient(app, follow_redirects=False)
        clients.append(c)
        return c

    yield {"url": url, "pw": pw, "client": client, "pdf": pdf, "dir": tmp_path}
    for c in clients:
        c.close()
    store.close()


def _ready(site, name: str) -> TestClient:
    c = site["client"]()
    login_and_change_password(c, name, site["pw"][name])
    return c


def test_every_answer_carries_the_security_headers(site):
    c = site["client"]()
    judge = _ready(site, "gk1")
    for resp in (c.get("/login"), c.get("/flags"), judge.get("/flags"), judge.get("/flags/999999"),
                 judge.get("/admin"), judge.get("/static/app.css")):
        for k, v in SECURITY_HEADERS.items():
            assert resp.headers.get(k) == v, (resp.request.url, k)
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp


def test_the_address_cannot_put_text_on_a_page(site):
    admin = _ready(site, "quantri")
    evil = "<b>Trúng thưởng! Gọi 0900</b>"
    page = admin.get("/admin/essays", params={"notice": evil, "done": evil, "error": evil})
    assert page.status_code == 200 and "Trúng thưởng" not in page.text
    page = admin.get("/admin/essays", params={"done": "release", "aid": "7"})
    assert "Đã thu hồi phân công 7 về hàng chờ." in page.text
    flag_id = db_rows(site["url"], "SELECT min(id) FROM flags")[0][0]
    page = admin.get(f"/flags/{flag_id}", params={"error": evil})
    assert page.status_code == 200 and "Trúng thưởng" not in page.text


def test_changing_the_password_asks_for_the_current_one_and_ends_the_other_sessions(site):
    one_time = site["pw"]["gk1"]
    elsewhere = site["client"]()
    assert login(elsewhere, "gk1", one_time).headers["location"] == "/password"
    c = site["client"]()
    assert login(c, "gk1", one_time).headers["location"] == "/password"

    def change(current: str, new: str, again: str | None = None):
        form = c.get("/password")
        return c.post("/password", data={"csrf": csrf(form.text), "current_password": current, "new_password": new,
                                         "again": new if again is None else again})

    hash_before = db_rows(site["url"], "SELECT password_hash FROM judges WHERE name = 'gk1'")
    for current, new, again, why in [
            ("sai mật khẩu rồi", NEW_PASSWORD, None, "Mật khẩu hiện tại không đúng."),
            (one_time, " " * 10, None, "ký tự không phải dấu cách"),
            (one_time, "   abc    " + " " * 10, None, "ký tự không phải dấu cách"),
            (one_time, one_time, None, "phải khác mật khẩu hiện tại"),
            (one_time, NEW_PASSWORD, NEW_PASSWORD + "x", "không giống nhau")]:
        r = change(current, new, again)
        assert r.status_code == 400 and why in r.text, (new, r.text[:300])
    assert db_rows(site["url"], "SELECT password_hash FROM judges WHERE name = 'gk1'") == hash_before
    r = change(one_time, NEW_PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/flags"
    assert c.get("/flags").status_code == 200                       # this session goes on
    assert elsewhere.get("/flags").headers["location"] == "/login"  # the other one has ended
    assert login(site["client"](), "gk1", one_time).status_code == 401
    assert 'href="/password"' in c.get("/flags").text                # the link to change it again is on every page


def test_a_judge_never_sees_whom_an_organisers_essay_flag_was_decided_for(site):
    flag_id = db_rows(site["url"], "SELECT f.id FROM flags f JOIN pages p ON p.id = f.page_id "
                                   "WHERE f.reason = 'unmatched_essay'")[0][0]
    admin = _ready(site, "quantri")
    page = admin.get(f"/flags/{flag_id}")
    r = admin.post(f"/flags/{flag_id}/resolve", data={"csrf": csrf(page.text), "value": PID})
    assert r.status_code == 303
    assert f"Đã ghi cờ số {flag_id}" in admin.get("/flags", params={"done": flag_id}).text
    judge = _ready(site, "gk1")
    for path in ("/flags", f"/flags/{db_rows(site['url'], 'SELECT min(id) FROM flags')[0][0]}"):
        html = judge.get(path, params={"done": flag_id}).text
        assert f"Đã ghi cờ số {flag_id}" not in html and PID not in html, path


def test_a_moved_essay_scan_tells_a_blind_judge_nothing_of_the_file(site):
    judge = _ready(site, "gk1")
    page = judge.get("/essays")
    r = judge.post("/essays/next", data={"csrf": csrf(page.text)})
    aid = int(r.headers["location"].rsplit("/", 1)[1])
    moved = site["dir"] / "moved"
    moved.mkdir()
    site["pdf"].rename(moved / SECRET_FILE)
    r = judge.get(f"/essays/{aid}/pages/1.png")
    assert r.status_code == 404 and "Hãy báo ban tổ chức" in r.text
    for secret in (SECRET_FILE, "ba-dinh", str(site["dir"]), PID):
        assert secret not in r.text
    admin = _ready(site, "quantri")
    r = admin.get(f"/essays/{aid}/pages/1.png")
    assert r.status_code == 404 and SECRET_FILE in r.text                # the organisers see where to look


def test_numbers_out_of_range_in_addresses_and_forms_are_a_400_page_not_a_crash(site):
    judge, admin = _ready(site, "gk1"), _ready(site, "quantri")
    huge = str(2 ** 63)
    for c, path in [(judge, f"/flags/{huge}"), (judge, f"/flags/{huge}/crop.png"), (judge, f"/pages/{huge}/image"),
                    (judge, f"/essays/{huge}"), (judge, f"/essays/1/pages/{huge}.png"), (judge, "/flags?page=" + huge),
                    (judge, "/flags?done=" + huge), (judge, "/flags/abc"), (admin, "/admin/essays?aid=" + huge),
                    (admin, "/admin/essays?page=-1")]:
        r = c.get(path)
        assert r.status_code == 400 and "không hợp lệ" in r.text, (path, r.status_code)
    assert judge.get(f"/flags/{2 ** 63 - 1}").status_code == 404            # the largest id is just not there
    page = admin.get("/admin/essays")
    aid = 1
    for typed in ("²", "١٢", huge, "-1", ""):
        r = admin.post(f"/admin/essays/assignments/{aid}", data={"csrf": csrf(page.text), "action": "move",
                                                                 "judge_id": typed})
        assert r.status_code == 400 and "Hãy chọn giám khảo" in r.text, typed


def test_times_are_shown_in_the_contests_time_zone_and_marks_with_a_decimal_comma():
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from grading.contest import Settings
    from grading.webapp.app import templates
    from grading.numbers import local_time

    deadline = datetime(2026, 9, 6, 10, 0, tzinfo=timezone.utc)
    assert local_time(deadline, ZoneInfo("Asia/Ho_Chi_Minh")) == "06/09/2026 17:00"
    assert local_time(deadline.replace(tzinfo=None), ZoneInfo("Asia/Ho_Chi_Minh")) == "06/09/2026 17:00"
    env = templates(Settings(language="vi", time_zone="Asia/Tokyo")).env
    assert env.from_string("{{ t|when }} · {{ p|points }} · {{ r|reason }}").render(
        t=deadline, p="15/2", r="ambiguous_mark") == "06/09/2026 19:00 · 7,5 · Ô tô mờ hoặc chưa kín"
    en = templates(Settings(language="en")).env
    assert en.from_string("{{ r|reason }} {{ r2|reason }}").render(r="blank_digit", r2="new_code") == \
        "Blank digit new_code"


def test_a_forged_token_with_any_characters_is_a_403_not_a_500(site):
    c = site["client"]()
    c.get("/login")
    r = c.post("/login", data={"username": "gk1", "password": "x", "csrf": "é"})
    assert r.status_code == 403
    judge = _ready(site, "gk1")
    r = judge.post("/password", data={"csrf": "đ" * 40, "current_password": "x", "new_password": "y" * 12,
                                       "again": "y" * 12})
    assert r.status_code == 403 and "CSRF" in r.text


def test_a_time_zone_that_names_a_folder_is_a_clear_error(tmp_path):
    from grading.contest import settings_from_dict
    from omr.errors import LayoutError

    for tz in ("America", "__pycache__", "x" * 300):
        with pytest.raises(LayoutError) as e:
            settings_from_dict({"time_zone": tz}, source="contest.json")
        assert e.value.details[0].startswith("time_zone: ")


def test_guessing_the_current_password_is_throttled_like_a_login(site):
    judge = _ready(site, "gk1")
    for _ in range(5):
        form = judge.get("/password")
        r = judge.post("/password", data={"csrf": csrf(form.text), "current_password": "đoán sai", "new_password":
                                          "mật khẩu mới 123", "again": "mật khẩu mới 123"})
        assert r.status_code == 400
    form = judge.get("/password")
    r = judge.post("/password", data={"csrf": csrf(form.text), "current_password": NEW_PASSWORD,
                                      "new_password": "mật khẩu mới 123", "again": "mật khẩu mới 123"})
    assert r.status_code == 429 and "Hãy thử lại sau" in r.text             # even the right one, for a while
