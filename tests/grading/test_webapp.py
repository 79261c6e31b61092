"""The judges' web app in a real headless Chromium (Playwright) against a live ``omr review`` server.

The store is graded from one rendered sheet (demo layout, version 101, every answer right) whose question 2 is a
faint mark: the reader flags it and the page scores 99/5 (shown 19,8) until a judge decides. Screenshots of the login,
flag and admin pages are saved (docs/screenshots/ when OMR_SCREENSHOTS=docs/screenshots is set).
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import httpx
import pytest
import sqlalchemy as sa

from grading.judges import (Role, add_judge, authenticate, hash_password, list_judges, verify_password)
from grading.keys import load_keys
from grading.store import SCHEMA_VERSION, Store
from grading.webapp.auth import LoginThrottle
from grading_support import DEMO, omr
from tests.conftest import rasterise
from web_support import CHROMIUM, CHROMIUM_ARGS, NEW_PASSWORD, csrf, live_server, login, rows, wait_until
from omr.errors import BadArguments, ExitCode
from omr.layout import GroupKind
from omr.sheet import Participant, render_sheets

# screenshots go to a temp folder; OMR_SCREENSHOTS=docs/screenshots refreshes the committed ones
SHOTS_ENV = os.environ.get("OMR_SCREENSHOTS")
PPM = 150 / 25.4


# -- unit tests: passwords, throttle, migration ------------------------------------------------------------
def test_password_hash_is_salted_scrypt_with_its_parameters():
    h1, h2 = hash_password("bí mật 123"), hash_password("bí mật 123")
    assert h1 != h2                                       # random salt
    algo, n, r, p, salt, digest = h1.split("$")
    assert (algo, n, r, p) == ("scrypt", str(2 ** 14), "8", "1") and salt and digest
    assert verify_password("bí mật 123", h1) and not verify_password("bí mật 124", h1)
    assert not verify_password("x", "md5$abc")


def test_login_throttle_refuses_after_five_failures_for_sixty_seconds():
    now = [1000.0]
    t = LoginThrottle(limit=5, window=60, clock=lambda: now[0])
    for _ in range(5):
        assert t.retry_after("gk1", "10.0.0.1") == 0
        t.failed(" gk1 ", "10.0.0.1")                    # the name as the account lookup sees it
    assert t.retry_after("gk1", "10.0.0.1") == 60
    assert t.retry_after("gk1", "10.0.0.2") == 0          # per username AND address
    now[0] += 59.5
    assert t.retry_after("gk1", "10.0.0.1") == 1
    now[0] += 0.6
    assert t.retry_after("gk1", "10.0.0.1") == 0


def test_v2_store_migrates_to_v3_keepingrows(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    with Store.open(url) as store:
        run_id = store.start_run({"inputs": ["a.jpg"]})
        with store.write_tx("make it v2") as conn:
            conn.execute(sa.text("DROP TABLE web_sessions"))
            conn.execute(sa.text("DROP TABLE judges"))
            conn.execute(sa.text("UPDATE schema_version SET version = 2"))
    with Store.open(url) as store:
        with store.read_tx("t") as conn:
            assert conn.execute(sa.text("SELECT version FROM schema_version")).scalar() == SCHEMA_VERSION
            assert conn.execute(sa.text("SELECT id, args FROM runs")).all() == [(run_id, '{"inputs": ["a.jpg"]}')]
            assert conn.execute(sa.text("SELECT count(*) FROM judges")).scalar() == 0
        pw = add_judge(store, "gk9", unit="THPT Chu Văn An")
        assert authenticate(store, "gk9", pw) is not None and authenticate(store, "gk9", pw + "x") is None
        with store.read_tx("t") as conn:
            stored = conn.execute(sa.text("SELECT password_hash, must_change FROM judges")).one()
        assert pw not in stored[0] and stored[0].startswith("scrypt$") and stored[1]
        with pytest.raises(BadArguments, match="already a judge named 'gk9'"):
            add_judge(store, "gk9", unit="x")


# -- the live server ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory, demo_layout):
    """A graded contest (one sheet, question 2 faint → flagged), judges, and `omr review` on a free port."""
    L = demo_layout
    d = tmp_path_factory.mktemp("webapp")
    contest = d / "contest"
    contest.mkdir()
    for name in ("layout.json", "keys.json"):
        (contest / name).write_bytes((DEMO / name).read_bytes())
    render_sheets(L, d / "sheet.pdf", participants=[Participant("000201", "Lê Thu Hà", "10A3")])
    img = rasterise(d / "sheet.pdf")
    answers = {it.question: it.accept_text()[0] for it in load_keys(DEMO, L).get("101").items}

    def fill(idx: int, grey: int = 40, frac: float = 0.85) -> None:
        y, x = L.centres_mm[idx]
        cv2.circle(img, (int(round(x * PPM)), int(round(y * PPM))), int(L.bubble_r_mm * frac * PPM), grey, -1)

    for g in L.question_groups:
        fill(g.first + g.labels.index(answers[g.key]), *((175, 0.7) if g.key == "2" else ()))
    for kind, value in ((GroupKind.PARTICIPANT, "000201"), (GroupKind.VERSION, "101")):
        for digit, g in zip(value, L.digit_groups(kind)):
            fill(g.first + int(digit))
    scan = d / "scan.jpg"
    cv2.imwrite(str(scan), img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    p = omr("grade", str(scan), "--contest", str(contest), "--workers", "1")
    assert p.returncode == ExitCode.FINISHED_WITH_FLAGS, p.stderr

    p = omr("judges", "add", "quantri", "--unit", "Sở GD&ĐT", "--role", "admin", "--contest", str(contest))
    assert p.returncode == ExitCode.OK, p.stderr
    admin_pw = p.stdout.strip()
    assert len(admin_pw) >= 16 and "\n" not in admin_pw
    with Store.open(url) as store:
        judge_pw = add_judge(store, "gk1", unit="THPT Chu Văn An")
        other_pw = add_judge(store, "gk2", unit="THPT Lê Quý Đôn")
        (flag,) = store.list_flags()
        assert {j.name: j.role for j in list_judges(store)}["quantri"] is Role.ADMIN
        with store.read_tx("t") as conn:
            assert admin_pw not in str(conn.execute(sa.text("SELECT password_hash FROM judges")).all())

    with live_server(contest, d / "server.log") as base:
        yield {"base": base, "url": url, "flag": flag, "right": answers["2"],
               "pw": {"quantri": admin_pw, "gk1": judge_pw, "gk2": other_pw}}


@pytest.fixture(scope="module")
def judge_client(site):
    """gk1 logged in over HTTP (first login: the one-time password is replaced)."""
    with httpx.Client(base_url=site["base"], follow_redirects=False, timeout=10) as c:
        r = login(c, "gk1", site["pw"]["gk1"])
        assert r.status_code == 303 and r.headers["location"] == "/password"
        assert c.get("/flags").headers["location"] == "/password"       # nothing else before the change
        form = c.get("/password")
        r = c.post("/password", data={"csrf": csrf(form.text), "current_password": site["pw"]["gk1"],
                                      "new_password": NEW_PASSWORD, "again": NEW_PASSWORD})
        assert r.status_code == 303 and r.headers["location"] == "/flags"
        yield c


def test_unauthenticated_requests_go_tologin(site):
    with httpx.Client(base_url=site["base"], follow_redirects=False, timeout=10) as c:
        for path in ("/", "/flags", f"/flags/{site['flag']['id']}", f"/flags/{site['flag']['id']}/crop.png",
                     f"/pages/{site['flag']['page_id']}/image", "/admin"):
            r = c.get(path)
            assert (r.status_code, r.headers.get("location")) == (303, "/login"), path
        r = c.post(f"/flags/{site['flag']['id']}/resolve", data={"value": "A"})
        assert (r.status_code, r.headers.get("location")) == (303, "/login")


def test_session_cookie_is_httponly_strict_and_only_its_hash_is_stored(site):
    with httpx.Client(base_url=site["base"], follow_redirects=False, timeout=10) as c:
        r = login(c, "quantri", site["pw"]["quantri"])
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert "omr_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace(
            "SameSite=Strict", "SameSite=strict")
        token = c.cookies["omr_session"]
    stored = rows(site["url"], "SELECT token_hash FROM web_sessions")
    assert stored and all(token not in h for (h,) in stored)


def test_post_without_csrf_token_is_refused(site, judge_client):
    fid = site["flag"]["id"]
    for data in ({"value": site["right"]}, {"value": site["right"], "csrf": "forged"}):
        r = judge_client.post(f"/flags/{fid}/resolve", data=data)
        assert r.status_code == 403
    assert judge_client.post("/logout", data={}).status_code == 403
    assert rows(site["url"], "SELECT state FROM flags WHERE id = :i", i=fid) == [("open",)]
    assert rows(site["url"], "SELECT count(*) FROM resolutions") == [(0,)]


def test_judge_gets_403_on_admin(judge_client):
    r = judge_client.get("/admin")
    assert r.status_code == 403 and "quản trị" in r.text


def test_five_wrong_passwords_then_429(site):
    with httpx.Client(base_url=site["base"], follow_redirects=False, timeout=10) as c:
        for _ in range(5):
            assert login(c, "gk2", "sai-mat-khau").status_code == 401
        r = login(c, "gk2", site["pw"]["gk2"])          # even the right password, for 60 s
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 50
        assert "omr_session" not in c.cookies


def test_judge_resolves_the_flag_with_the_keyboard_in_chromium(site, tmp_path):
    from playwright.sync_api import sync_playwright

    SHOTS = Path(SHOTS_ENV) if SHOTS_ENV else tmp_path
    SHOTS.mkdir(parents=True, exist_ok=True)
    fid = site["flag"]["id"]
    (before,) = rows(site["url"], "SELECT s.total FROM scores s JOIN flags f ON f.page_id = s.page_id "
                                   "WHERE f.id = :i", i=fid)
    assert before == ("99/5",)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1100, "height": 820}, locale="vi-VN").new_page()
            page.goto(site["base"] + "/flags/" + str(fid))
            assert page.url.endswith("/login")
            page.fill("#username", "quantri")
            page.fill("#password", site["pw"]["quantri"])
            page.screenshot(path=str(SHOTS / "login.png"))
            page.click("button[type=submit]")
            page.wait_for_url("**/password")
            page.fill("#current_password", site["pw"]["quantri"])
            page.fill("#new_password", NEW_PASSWORD)
            page.fill("#again", NEW_PASSWORD)
            page.click("form[action='/password'] button[type=submit]")
            page.wait_for_url("**/flags")
            assert "1 cờ đang mở" in page.inner_text("h1")
            assert "Ô tô mờ hoặc chưa kín" in page.inner_text("table.list")        # the reason, not ambiguous_mark
            assert "ambiguous_mark" not in page.inner_text("main")
            page.click(f"a[href='/flags/{fid}']")
            page.wait_for_url(f"**/flags/{fid}")
            wait_until(page, "document.getElementById('crop').complete && "
                                   "document.getElementById('crop').naturalWidth > 100")
            assert page.inner_text("#score") == "19,8"                # 99/5, as people write it
            whole = page.request.get(site["base"] + page.get_attribute("#whole-page", "href"))
            assert whole.status == 200 and whole.headers["content-type"] == "image/png"
            page.screenshot(path=str(SHOTS / "flag.png"))

            page.keyboard.press(site["right"].lower())
            page.wait_for_url(f"**/flags?done={fid}")
            assert page.inner_text("#done-score") == "20"
            assert "Không còn cờ nào" in page.inner_text("main")

            page.goto(site["base"] + "/admin")
            assert "Cờ đã xử lý" in page.inner_text("main")
            page.screenshot(path=str(SHOTS / "admin.png"))
        finally:
            browser.close()

    assert rows(site["url"], "SELECT state, resolved_by FROM flags WHERE id = :i", i=fid) == [("resolved", "quantri")]
    assert rows(site["url"], "SELECT s.total FROM scores s JOIN flags f ON f.page_id = s.page_id WHERE f.id = :i",
                 i=fid) == [("20",)]
    (who, target), = rows(site["url"], "SELECT who, target FROM audit WHERE action = 'resolve_flag'")
    assert who == "quantri" and target.endswith("question:2")
    for name in ("login", "flag", "admin"):
        assert 0 < (SHOTS / f"{name}.png").stat().st_size < 300_000
