"""Judges' accounts managed by the organisers: full names (the web app's header, /admin, ``omr judges list``),
``omr judges list``, ``reset`` (a new one-time password, every session ends), ``disable`` (no login — said only
after the right password —, every session ends at once, unscored essays back to the pool) and ``enable``; each
audited (``judge_add``, ``judge_reset``, ``judge_disable``, ``judge_enable``).

The CLI runs in-process (``grading.cli.main``) except one end-to-end run; the web app runs in-process
(TestClient) and once in Chromium against a live ``omr review``."""
from __future__ import annotations

import json
import re
import warnings
import pytest
import sqlalchemy as sa
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():       # this Starlette would rather have httpx2; the httpx it has works the same
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from grading.cli import main as omr_main
from grading.db import accounts as A
from grading.essays import assign_essay_pages
from grading.judges import (AccountState, Role, add_judge, authenticate, disable_judge, enable_judge, hash_password,
                            list_judges, open_session, reset_password, session_for)
from grading.essays import rubric_from_dict, take_next
from grading.store import Store
from grading.webapp.app import create_app
from grading_support import db_rows, failure, omr, reading, sha
from omr.errors import ExitCode
from omr.layout import load_layout
from web_support import (CHROMIUM, CHROMIUM_ARGS, NEW_PASSWORD, csrf, demo_contest, live_server, login,
                         login_and_change_password)

FULL = "Nguyễn Văn An"
BAD_LOGIN = "Tên đăng nhập hoặc mật khẩu không đúng."
RUBRIC = {"tolerance": "1", "final_rule": "closest_mean", "questions": [
    {"id": "essay", "title": "Bài tự luận", "criteria": [{"id": "a", "title": "Nội dung", "max": 10}]}]}


@pytest.fixture
def contest(tmp_path) -> dict:
    folder = demo_contest(tmp_path / "contest")
    return {"dir": folder, "c": ["--contest", str(folder)], "url": f"sqlite:///{folder / 'out' / 'results.sqlite'}"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = omr_main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def audit_rows(url: str) -> list[tuple]:
    return db_rows(url, "SELECT who, action, target FROM audit WHERE action LIKE 'judge_%' ORDER BY id")


# -- the command line ---------------------------------------------------------------------------------------
def test_add_stores_the_full_name_and_list_shows_every_account(contest, capsys):
    c_, url = contest["c"], contest["url"]
    code, pw, err = run(capsys, "judges", "add", "gk1", "--unit", "THPT Chu Văn An", "--full-name",
                        "  Nguyễn   Văn An ", "--who", "trưởng ban", *c_)
    assert code == ExitCode.OK and len(pw.strip()) >= 16 and f"judge gk1 ({FULL}; judge" in err
    code, _, _ = run(capsys, "judges", "add", "quantri", "--unit", "Sở", "--role", "admin", *c_)
    assert code == ExitCode.OK
    assert audit_rows(url) == [("trưởng ban", "judge_add", "judge:gk1"), ("system", "judge_add", "judge:quantri")]
    with Store.open(url) as store:
        gk1 = {j.name: j for j in list_judges(store)}["gk1"]
        assert (gk1.full_name, gk1.display_name, gk1.state) == (FULL, FULL, AccountState.MUST_CHANGE)
        open_session(store, authenticate(store, "gk1", pw.strip()))           # a login: its time is kept

    code, out, err = run(capsys, "judges", "list", *c_)
    assert code == ExitCode.OK and "2 account(s)" in err
    lines = out.splitlines()
    assert lines[0].split() == ["login", "full", "name", "unit", "role", "state", "last", "login", "decisions",
                                "last", "decision"]
    assert re.match(rf"gk1 +{FULL} +THPT Chu Văn An +judge +must_change_password +\d\d/\d\d/\d{{4}} \d\d:\d\d +0",
                    lines[1]), lines[1]
    assert re.match(r"quantri +Sở +admin +must_change_password +0$", lines[2]), lines[2]

    code, out, _ = run(capsys, "judges", "list", "--json", *c_)
    got = {r["login"]: r for r in json.loads(out)}
    assert code == ExitCode.OK and set(got) == {"gk1", "quantri"}
    assert {k: got["gk1"][k] for k in ("full_name", "unit", "role", "state", "disabled_at", "decisions")} == {
        "full_name": FULL, "unit": "THPT Chu Văn An", "role": "judge", "state": "must_change_password",
        "disabled_at": None, "decisions": 0}
    assert got["gk1"]["last_login"].endswith("+00:00") and got["quantri"]["last_login"] is None
    assert got["quantri"]["full_name"] is None


def test_an_unknown_login_or_a_missing_who_is_exit_2(contest, capsys):
    c_ = contest["c"]
    assert run(capsys, "judges", "add", "gk1", "--unit", "U", *c_)[0] == ExitCode.OK
    for action in ("reset", "disable", "enable"):
        code, out, err = run(capsys, "judges", action, "gk9", "--who", "trưởng ban", *c_)
        assert code == ExitCode.BAD_ARGS and out == ""
        assert "no judge named 'gk9'" in err and "`omr judges list --contest DIR`" in err
        with pytest.raises(SystemExit) as exc:                  # --who is required
            omr_main(["judges", action, "gk1", *c_])
        assert exc.value.code == ExitCode.BAD_ARGS
        assert "--who" in capsys.readouterr().err
    assert audit_rows(contest["url"]) == [("system", "judge_add", "judge:gk1")]
    # end to end: the process' exit code; and a store that does not exist yet is not made by these commands
    p = omr("judges", "disable", "gk9", "--who", "x", *c_)
    assert p.returncode == ExitCode.BAD_ARGS and "omr judges list" in p.stderr
    other = demo_contest(contest["dir"].parent / "empty")
    p = omr("judges", "list", "--contest", str(other))
    assert p.returncode == ExitCode.DATABASE and "does not exist" in p.stderr
    assert not (other / "out" / "results.sqlite").exists()


def test_reset_prints_a_new_one_time_password_and_ends_every_session(contest, capsys):
    c_, url = contest["c"], contest["url"]
    with Store.open(url) as store:
        first = add_judge(store, "gk1", unit="U")
        judge = authenticate(store, "gk1", first)
        A.set_password_hash(store, judge.id, "x")                         # as if changed at the first login
        tokens = [open_session(store, judge)[0] for _ in range(2)]
    code, out, err = run(capsys, "judges", "reset", "gk1", "--who", "trưởng ban", *c_)
    new = out.strip()
    assert code == ExitCode.OK and len(new) >= 16 and new != first and "every session has ended" in err
    with Store.open(url) as store:
        assert [session_for(store, t) for t in tokens] == [None, None]
        again = authenticate(store, "gk1", new)
        assert again is not None and again.must_change and again.state is AccountState.MUST_CHANGE
        assert authenticate(store, "gk1", first) is None
    assert db_rows(url, "SELECT count(*) FROM web_sessions") == [(0,)]
    (who, action, target, after), = db_rows(url, "SELECT who, action, target, after FROM audit WHERE action = "
                                                 "'judge_reset'")
    assert (who, target, json.loads(after)) == ("trưởng ban", "judge:gk1", {"must_change": True, "sessions_ended": 2})
    assert new not in str(db_rows(url, "SELECT * FROM audit"))


def test_disable_then_enable_from_the_command_line(contest, capsys):
    c_, url = contest["c"], contest["url"]
    with Store.open(url) as store:
        pw = add_judge(store, "gk1", unit="U")
        token, _ = open_session(store, authenticate(store, "gk1", pw))
    code, out, _ = run(capsys, "judges", "disable", "gk1", "--who", "trưởng ban", *c_)
    assert code == ExitCode.OK and "gk1 is now disabled: 1 session(s) ended" in out and "omr judges enable" in out
    with Store.open(url) as store:
        assert session_for(store, token) is None
        j = authenticate(store, "gk1", pw)
        assert j is not None and j.disabled and j.state is AccountState.DISABLED
    code, out, _ = run(capsys, "judges", "list", "--json", *c_)
    (row,) = json.loads(out)
    assert row["state"] == "disabled" and row["disabled_at"].endswith("+00:00")
    code, out, _ = run(capsys, "judges", "enable", "gk1", "--who", "trưởng ban", *c_)
    assert code == ExitCode.OK and "can log in again" in out
    with Store.open(url) as store:
        assert not authenticate(store, "gk1", pw).disabled
    assert audit_rows(url) == [("trưởng ban", "judge_disable", "judge:gk1"),
                               ("trưởng ban", "judge_enable", "judge:gk1")]
    assert run(capsys, "judges", "enable", "gk1", "--who", "x", *c_)[1].startswith("judge gk1 was not disabled")


# -- the store, on SQLite and PostgreSQL --------------------------------------------------------------------
def _essay(store: Store, i: int, pid: str) -> None:
    src = f"s{i}.pdf"
    store.record_submission(src, sha(src), 1, assign_essay_pages([reading(src, 1, pid, "101", "AAAAAA"),
                                                                  failure(src, 2)]), None, unit="Quận Tây Hồ")


def test_disabling_releases_unscored_essays_and_ends_sessions(store_url):
    rb = rubric_from_dict(RUBRIC)
    with Store.open(store_url) as store:
        add_judge(store, "gk1", unit="Quận Ba Đình", full_name=FULL)
        add_judge(store, "gk2", unit="Quận Cầu Giấy")
        gk1, gk2 = list_judges(store)
        _essay(store, 1, "000001")
        _essay(store, 2, "000002")
        mine = take_next(store, gk1.id, rb, max_open=2)
        take_next(store, gk1.id, rb, max_open=2)
        theirs = take_next(store, gk2.id, rb)
        t1, t2 = open_session(store, gk1)[0], open_session(store, gk2)[0]

        done = disable_judge(store, "gk1", who="trưởng ban")
        assert (done.was_disabled, done.sessions_ended, done.essays_released) == (False, 1, 2)
        assert session_for(store, t1) is None and session_for(store, t2) is not None     # only gk1's sessions
        with store.read_tx("t") as conn:
            held = conn.execute(sa.text("SELECT judge_id, state FROM essay_assignments ORDER BY id")).all()
            released = conn.execute(sa.text("SELECT who, target FROM audit WHERE action = 'essay_release' "
                                            "ORDER BY id")).all()
        assert [tuple(r) for r in held] == [(gk2.id, "assigned")]
        assert [r[0] for r in released] == ["trưởng ban", "trưởng ban"]
        assert f"assignment:{mine.assignment_id}" in released[0][1] and theirs.new
        # the released essays go to the next judge who asks; the disabled judge's row is left as it was
        assert take_next(store, gk2.id, rb, max_open=3).new
        again = disable_judge(store, "gk1", who="trưởng ban")
        assert (again.was_disabled, again.sessions_ended, again.essays_released) == (True, 0, 0)
        (judge,) = [j for j in list_judges(store) if j.name == "gk1"]
        assert judge.disabled and judge.full_name == FULL

        # a session opened at the moment the account is disabled is not honoured either
        late, _ = open_session(store, judge)
        assert session_for(store, late) is None
        assert enable_judge(store, "gk1", who="trưởng ban") is True and session_for(store, late) is not None
        assert enable_judge(store, "gk1", who="trưởng ban") is False
        with store.read_tx("t") as conn:
            actions = [r[0] for r in conn.execute(sa.text(
                "SELECT action FROM audit WHERE action LIKE 'judge_%' ORDER BY id")).all()]
        assert actions == ["judge_disable", "judge_disable", "judge_enable", "judge_enable"]


def test_reset_keeps_a_disabled_account_disabled(store_url):
    with Store.open(store_url) as store:
        add_judge(store, "gk1", unit="U")
        disable_judge(store, "gk1", who="x")
        pw = reset_password(store, "gk1", who="x")
        j = authenticate(store, "gk1", pw)
        assert j is not None and j.disabled and j.must_change and j.state is AccountState.DISABLED


# -- the web app ------------------------------------------------------------------------------------------------
@pytest.fixture
def web(contest):
    store = Store.open(contest["url"])
    pw = {"quantri": add_judge(store, "quantri", unit="Sở", role=Role.ADMIN),
          "gk1": add_judge(store, "gk1", unit="THPT Chu Văn An", full_name=FULL),
          "gk2": add_judge(store, "gk2", unit="THPT Lê Quý Đôn")}
    app = create_app(store, load_layout(contest["dir"] / "layout.json"), contest_dir=contest["dir"])
    clients = {name: TestClient(app, follow_redirects=False) for name in pw}
    for name, c in clients.items():
        login_and_change_password(c, name, pw[name])
    yield {"store": store, "app": app, "c": clients, "url": contest["url"]}
    for c in clients.values():
        c.close()
    store.close()


def _who(html: str) -> str:
    m = re.search(r'<span class="who" id="who" title="([^"]*)">([^<]*)</span>', html)
    assert m, html[:800]
    return f"{m.group(1)}|{m.group(2)}"


def test_the_header_shows_the_full_name_else_the_login(web):
    assert _who(web["c"]["gk1"].get("/flags").text) == f"gk1|{FULL} (THPT Chu Văn An)"
    assert _who(web["c"]["gk2"].get("/flags").text) == "gk2|gk2 (THPT Lê Quý Đôn)"


def test_admin_lists_full_names_states_and_last_logins(web):
    disable_judge(web["store"], "gk2", who="quantri")
    html = web["c"]["quantri"].get("/admin").text
    found = {m[0]: m[1:] for m in re.findall(
        r"<tr[^>]*><td>(\w+)</td><td>([^<]*)</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td>", html)}
    assert found["gk1"][:2] == (FULL, "Đang dùng") and found["gk2"][:2] == ("—", "Đã khoá")
    assert re.fullmatch(r"\d\d/\d\d/20\d\d \d\d:\d\d", found["gk1"][2])
    assert 'class="disabled"><td>gk2</td>' in html


def test_a_disabled_judge_is_cut_off_and_told_only_after_the_right_password(web):
    gk1, store = web["c"]["gk1"], web["store"]
    assert gk1.get("/flags").status_code == 200
    disable_judge(store, "gk1", who="quantri")
    r = gk1.get("/flags")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert gk1.get("/essays").headers["location"] == "/login"
    with TestClient(web["app"], follow_redirects=False) as fresh:
        wrong = login(fresh, "gk1", NEW_PASSWORD + "x")
        assert wrong.status_code == 401 and BAD_LOGIN in wrong.text and "khoá" not in wrong.text
        right = login(fresh, "gk1", NEW_PASSWORD)
        assert right.status_code == 403 and "Tài khoản này đã bị khoá" in right.text
        assert BAD_LOGIN not in right.text and "omr_session" not in right.headers.get("set-cookie", "")
        assert fresh.get("/flags").headers["location"] == "/login"
        assert db_rows(web["url"], "SELECT count(*) FROM web_sessions s JOIN judges j ON j.id = s.judge_id "
                                   "WHERE j.name = 'gk1'") == [(0,)]
        enable_judge(store, "gk1", who="quantri")
        back = login(fresh, "gk1", NEW_PASSWORD)
        assert back.status_code == 303 and back.headers["location"] == "/flags"
        assert fresh.get("/flags").status_code == 200
    assert web["c"]["gk2"].get("/flags").status_code == 200           # other judges are left alone


def test_a_reset_ends_the_session_and_forces_a_password_change(web):
    gk2 = web["c"]["gk2"]
    one_time = reset_password(web["store"], "gk2", who="quantri")
    assert gk2.get("/flags").headers["location"] == "/login"
    assert login(gk2, "gk2", NEW_PASSWORD).status_code == 401                # the old password is gone
    r = login(gk2, "gk2", one_time)
    assert r.status_code == 303 and r.headers["location"] == "/password"
    assert gk2.get("/flags").headers["location"] == "/password"
    form = gk2.get("/password")
    r = gk2.post("/password", data={"csrf": csrf(form.text), "current_password": one_time,
                                    "new_password": "mat-khau-thu-ba-2026", "again": "mat-khau-thu-ba-2026"})
    assert r.status_code == 303 and gk2.get("/flags").status_code == 200


# -- a real browser -------------------------------------------------------------------------------------------
def test_in_chromium_the_header_names_the_judge_and_a_disabled_one_is_sent_to_login(contest, tmp_path):
    from playwright.sync_api import sync_playwright

    with Store.open(contest["url"]) as store:
        pw = add_judge(store, "gk1", unit="THPT Chu Văn An", full_name=FULL)
        A.set_password_hash(store, authenticate(store, "gk1", pw).id, hash_password(NEW_PASSWORD))
    with live_server(contest["dir"], tmp_path / "server.log") as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="vi-VN").new_page()
            page.goto(base + "/login")
            page.fill("#username", "gk1")
            page.fill("#password", NEW_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/flags")
            assert page.inner_text("#who") == f"{FULL} (THPT Chu Văn An)"
            with Store.open(contest["url"]) as store:
                disable_judge(store, "gk1", who="trưởng ban")
            page.goto(base + "/flags")
            assert page.url.endswith("/login")
            page.fill("#username", "gk1")
            page.fill("#password", NEW_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector(".error")
            assert "Tài khoản này đã bị khoá" in page.inner_text(".error") and page.url.endswith("/login")
        finally:
            browser.close()


def test_a_blank_full_name_is_none_and_a_bad_one_is_refused(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    with Store.open(url) as store:
        add_judge(store, "gk1", unit="U", full_name=" ")
        (j,) = list_judges(store)
        assert (j.full_name, j.disabled_at, j.last_login_at, j.display_name) == (None, None, None, "gk1")
    code, _, err = run(capsys, "judges", "add", "gk2", "--unit", "U", "--full-name", "An\x07", "--db", url,
                       "--contest", str(tmp_path))
    assert code == ExitCode.BAD_ARGS and "control characters" in err
    code, _, err = run(capsys, "judges", "add", "gk2", "--unit", "U", "--full-name", "A" * 121, "--db", url,
                       "--contest", str(tmp_path))
    assert code == ExitCode.BAD_ARGS and "at most 120 characters" in err


def test_a_disabled_judge_is_given_no_essay_neither_as_third_judge_nor_by_an_admin(store_url):
    from grading.db import judging as db_judging
    from grading.essays import ScoringError, reassign

    rb = rubric_from_dict(RUBRIC)
    with Store.open(store_url) as store:
        add_judge(store, "gk1", unit="Quận Ba Đình")
        add_judge(store, "gk2", unit="Quận Cầu Giấy")
        gk1, gk2 = list_judges(store)
        _essay(store, 1, "000001")
        taken = take_next(store, gk2.id, rb)
        disable_judge(store, "gk1", who="trưởng ban")
        with store.read_tx("t") as conn:
            assert [j.name for j in db_judging.judges_with_role(conn, "judge")] == ["gk2"]   # who round 3 may go to
        with pytest.raises(ScoringError, match="đang bị khoá"):
            reassign(store, taken.assignment_id, gk1.id, who="trưởng ban")
        enable_judge(store, "gk1", who="trưởng ban")
        reassign(store, taken.assignment_id, gk1.id, who="trưởng ban")
