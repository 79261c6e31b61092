"""The grid review (``/flags/grid``): many flagged questions of one reason on one page, decided with the keyboard.

The store holds demo sheets read with question 2 faint (synthetic readings: flagged ``ambiguous_mark``, read as
blank, the right answer's bubble measured 0.31), each test's in its own unit so that its grid holds only its flags.
The browser tests drive Debian's Chromium through Playwright against a live ``omr review``; every decision is
checked in the store: the flag's resolution, who decided, and one audit row per decision saying how (``via``).
"""
from __future__ import annotations

import json
import re
import threading
from urllib.parse import parse_qs, urlencode

import httpx
import pytest

from grading.judges import Role, add_judge
from grading.keys import load_keys
from grading.store import Store
from omr.layout import load_layout
from web_support import (NEW_PASSWORD, csrf, demo_answers, demo_contest, faint_reading,
                         live_server, login_and_change_password, record_faint_sheets, rows, wait_until)

REASON = "ambiguous_mark"
UNITS = {"keys": ("Phường Kim Mã", 24), "race": ("Phường Ngọc Hà", 20), "all": ("Phường Cống Vị", 20),
         "blind": ("Phường Liễu Giai", 3), "csrf": ("Phường Giảng Võ", 2), "threads": ("Phường Đội Cấn", 4),
         "id": ("Phường Vĩnh Phúc", 0)}
RIGHT = demo_answers()["2"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("grid")
    contest = demo_contest(d / "contest")
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    flags: dict[str, list[int]] = {}
    with Store.open(url) as store:
        start = 0
        for name, (unit, n) in UNITS.items():
            flags[name] = record_faint_sheets(store, contest, n, ("2",), start=start, unit=unit)
            start += 1000
        # and a sheet whose participant id is unreadable too: a flag that is not a question's
        keys = load_keys(contest / "keys.json", load_layout(contest / "layout.json"))
        store.record_submission("/scans/id.jpg", "f" * 64, 1000, [faint_reading("/scans/id.jpg", "009999", ("2",),
                                participant_flag=True)], keys, unit=UNITS["id"][0])
        pw = {"gk1": add_judge(store, "gk1", unit="Ban giám khảo 1"), "gk2": add_judge(store, "gk2", unit="Ban 2"),
              "quantri": add_judge(store, "quantri", unit="Sở", role=Role.ADMIN)}
    # one sheet of the blindness unit becomes an essay page: its question flag is the organisers' work
    essay_flag = flags["blind"][0]
    with Store.open(url) as store, store.write_tx("make an essay page") as conn:
        conn.exec_driver_sql("UPDATE pages SET status = 'essay' WHERE id = (SELECT page_id FROM flags WHERE id = ?)",
                             (essay_flag,))
    with live_server(contest, d / "server.log") as base:
        clients = {}
        try:
            for name, one_time in pw.items():
                clients[name] = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
                login_and_change_password(clients[name], name, one_time)
            yield {"base": base, "url": url, "flags": flags, "essay_flag": essay_flag, "http": clients}
        finally:
            for c in clients.values():
                c.close()


def grid_url(test: str, **more) -> str:
    return "/flags/grid?" + urlencode({"reason": REASON, "unit": UNITS[test][0], **more})


def flag_rows(site, ids: list[int]) -> dict[int, tuple]:
    got = rows(site["url"], "SELECT id, state, resolved_by, resolution FROM flags WHERE id IN (%s)"
               % ",".join(str(i) for i in ids))
    return {r[0]: (r[1], r[2], (json.loads(r[3]) or {}).get("value") if r[3] else None) for r in got}


def audits(site, fid: int) -> list[tuple[str, dict]]:
    return [(who, json.loads(after)) for who, after in rows(
        site["url"], "SELECT who, after FROM audit WHERE action = 'resolve_flag' AND target LIKE :t ORDER BY id",
        t=f"flag:{fid} %")]


def cell_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<article class="cell"[^>]*data-id="(\d+)"', html)]


# -- over HTTP: CSRF, blindness ----------------------------------------------------------------------------------
def test_a_grid_decision_without_the_csrf_token_is_refused_and_writes_nothing(site):
    c = site["http"]["gk1"]
    fid = site["flags"]["csrf"][0]
    one = c.get(f"/flags/{fid}", params={"unit": UNITS["csrf"][0]}).text      # the flag page links its grid
    href = re.search(r'href="/flags/grid\?([^"]+)" id="grid-link"', one).group(1).replace("&amp;", "&")
    assert parse_qs(href) == {"reason": [REASON], "unit": [UNITS["csrf"][0]]}
    page = c.get(grid_url("csrf"))
    assert cell_ids(page.text) == site["flags"]["csrf"]
    for extra in ({}, {"csrf": "gia-mao"}):
        assert c.post("/flags/grid/decide", data={"flag": fid, "value": RIGHT, **extra}).status_code == 403
        assert c.post("/flags/grid/accept", data={"flag": site["flags"]["csrf"], **extra}).status_code == 403
    assert flag_rows(site, site["flags"]["csrf"]) == {f: ("open", None, None) for f in site["flags"]["csrf"]}
    assert audits(site, fid) == []
    r = c.post("/flags/grid/decide", data={"flag": fid, "value": RIGHT.lower(), "csrf": csrf(page.text)})
    assert r.status_code == 200 and r.json()["value"] == RIGHT and r.json()["total"] == "20"
    assert flag_rows(site, [fid]) == {fid: ("resolved", "gk1", RIGHT)}


def test_a_judges_grid_never_shows_a_flag_on_an_essay_page(site):
    blind, essay_flag = site["flags"]["blind"], site["essay_flag"]
    judge = site["http"]["gk1"]
    page = judge.get(grid_url("blind"))
    assert page.status_code == 200 and cell_ids(page.text) == blind[1:]
    assert f"/flags/{essay_flag}/crop.png" not in page.text
    # the count on the queue's grid link leaves it out too; an admin sees it
    assert f"({len(blind) - 1})" in judge.get("/flags", params={"unit": UNITS["blind"][0]}).text.split(
        'id="grid-links"')[1].split("</p>")[0]
    assert cell_ids(site["http"]["quantri"].get(grid_url("blind")).text) == blind
    # nor can a judge decide it by its number, alone or among others
    token = csrf(page.text)
    r = judge.post("/flags/grid/decide", data={"flag": essay_flag, "value": RIGHT, "csrf": token})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = judge.post("/flags/grid/accept", data={"flag": [essay_flag], "csrf": token})
    assert [x["status"] for x in r.json()["results"]] == [404]
    assert flag_rows(site, [essay_flag]) == {essay_flag: ("open", None, None)}
    # once an organiser decided it, a judge's grid is not told by whom either
    admin = site["http"]["quantri"]
    with Store.open(site["url"]) as store, store.write_tx("an organiser decides") as conn:
        conn.exec_driver_sql("UPDATE flags SET state = 'resolved', resolved_by = 'quantri', resolution = ? "
                             "WHERE id = ?", (json.dumps({"value": RIGHT}), essay_flag))
    asked = {"flag": [essay_flag, blind[1]]}
    assert judge.get("/flags/grid/decided", params=asked).json() == {"decided": []}
    assert admin.get("/flags/grid/decided", params=asked).json() == {
        "decided": [{"id": essay_flag, "who": "quantri", "value": RIGHT}]}


def test_the_queue_offers_a_grid_only_for_reasons_of_question_flags(site):
    c = site["http"]["gk1"]
    links = c.get("/flags", params={"unit": UNITS["id"][0]}).text.split('id="grid-links"')[1].split("</p>")[0]
    assert f'data-reason="{REASON}"' in links and "unreadable_id" not in links
    page = c.get(grid_url("id"))
    assert len(cell_ids(page.text)) == 1                # the sheet's question, not its id
    empty = c.get("/flags/grid", params={"reason": "unreadable_id", "unit": UNITS["id"][0]})
    assert empty.status_code == 200 and 'id="grid-empty"' in empty.text and cell_ids(empty.text) == []
    (fid,) = [f for (f,) in rows(site["url"], "SELECT f.id FROM flags f JOIN pages p ON p.id = f.page_id "
                                              "WHERE p.participant IS NULL AND f.target = 'participant'")]
    r = c.post("/flags/grid/decide", data={"flag": fid, "value": "009999", "csrf": csrf(page.text)})
    assert r.status_code == 400 and r.json()["error"] == "not_a_question"
    assert flag_rows(site, [fid]) == {fid: ("open", None, None)}


def test_two_judges_sending_one_crop_at_the_same_moment_one_is_written_the_other_refused(site):
    ids = site["flags"]["threads"]
    judges = {name: site["http"][name] for name in ("gk1", "gk2")}
    tokens = {name: csrf(c.get(grid_url("threads")).text) for name, c in judges.items()}
    for fid in ids:
        start, got = threading.Barrier(2), {}

        def send(name: str, value: str, fid: int = fid, start: threading.Barrier = start,
                 got: dict = got) -> None:
            start.wait()
            got[name] = judges[name].post("/flags/grid/decide", data={"flag": fid, "value": value,
                                                                       "csrf": tokens[name]})
        threads = [threading.Thread(target=send, args=a) for a in (("gk1", "A"), ("gk2", "C"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(r.status_code for r in got.values()) == [200, 409]
        winner = next(n for n, r in got.items() if r.status_code == 200)
        loser = got["gk2" if winner == "gk1" else "gk1"].json()
        value = {"gk1": "A", "gk2": "C"}[winner]
        assert (loser["who"], loser["value"]) == (winner, value)
        assert flag_rows(site, [fid]) == {fid: ("resolved", winner, value)}
        assert [(w, a["value"]) for w, a in audits(site, fid)] == [(winner, value)]
        assert rows(site["url"], "SELECT count(*) FROM resolutions WHERE flag_id = :f", f=fid) == [(1,)]


# -- in Chromium -------------------------------------------------------------------------------------------------
def browser_page(browser, site, name: str, width: int = 1100, height: int = 820):
    page = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN").new_page()
    page.goto(site["base"] + "/login")
    page.fill("#username", name)
    page.fill("#password", NEW_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/flags")
    return page


def open_grid(page, site, test: str, **more) -> None:
    page.goto(site["base"] + grid_url(test, **more))
    wait_until(page, "document.activeElement && document.activeElement.classList.contains('cell')")


def focused(page) -> int:
    return int(page.evaluate("() => document.activeElement.getAttribute('data-id') || -1"))


def wait_state(page, fid: int, state: str) -> None:
    wait_until(page, f"document.getElementById('cell-{fid}').getAttribute('data-state') === '{state}'")


@pytest.mark.slow
def test_keyboard_decisions_on_a_grid_are_written_and_audited_one_by_one_without_a_page_load(site, browser,
                                                                                              tmp_path):
    ids = site["flags"]["keys"]                # 24: a grid of 20, then a batch of 4
    page = browser_page(browser, site, "gk1")
    link = page.locator(f"#grid-links a[data-reason='{REASON}']")
    assert "Ô tô mờ hoặc chưa kín" in link.inner_text()
    page.goto(site["base"] + "/flags?" + urlencode({"unit": UNITS["keys"][0]}))
    page.click(f"#grid-links a[data-reason='{REASON}']")
    page.wait_for_url("**/flags/grid?*")
    assert page.locator(".cell").count() == 24 and "Ô tô mờ hoặc chưa kín" in page.inner_text("h1")
    open_grid(page, site, "keys", n=20)                # the smallest grid: 20, then the next batch of 4
    assert page.locator(".cell").count() == 20
    wait_until(page, "document.activeElement.id === 'cell-%d'" % ids[0])
    first = page.locator(f"#cell-{ids[0]}")
    assert first.locator(".fills").inner_text().split() == [
        x for o in "ABCD" for x in (o, "0,31" if o == RIGHT else "0,04")]
    assert first.locator(".machine-value").inner_text() == "bỏ trống"
    page.evaluate("() => { window.sameDocument = 1; }")     # gone if a decision loaded a page

    page.keyboard.press(RIGHT.lower())                 # cell 0: the right answer, one key
    assert focused(page) == ids[1]                     # moved on at once
    page.keyboard.press("0")                           # cell 1: blank
    page.keyboard.press("Enter")                       # cell 2: the machine's reading (blank)
    page.keyboard.press("Shift+A")                     # cell 3: two answers
    page.keyboard.press("Shift+C")
    assert "AC" in page.locator(f"#cell-{ids[3]} .status").inner_text()
    page.keyboard.press("Enter")
    assert focused(page) == ids[4]
    page.keyboard.press("l")                           # move right without deciding cell 4 …
    assert focused(page) == ids[5]
    page.keyboard.press("D")                           # … decide cell 5 (upper case) and come back
    page.keyboard.press("h")
    page.keyboard.press("h")
    assert focused(page) == ids[4]
    cols = page.evaluate("() => { const c = document.querySelectorAll('.cell'); let n = 0; "
                         "while (n < c.length && c[n].offsetTop === c[0].offsetTop) n++; return n; }")
    assert cols >= 2
    page.keyboard.press("ArrowDown")
    assert focused(page) == ids[4 + cols]
    page.keyboard.press("k")
    assert focused(page) == ids[4]
    page.keyboard.press("b")
    for fid in ids[:6]:
        wait_state(page, fid, "done")
    assert "Điểm mới của bài: 20 / 20" in page.inner_text(f"#cell-{ids[0]} .status")
    assert page.evaluate("() => window.sameDocument") == 1
    page.screenshot(path=str(tmp_path / "grid.png"), full_page=False)

    want = {ids[0]: RIGHT, ids[1]: "", ids[2]: "", ids[3]: "AC", ids[4]: "B", ids[5]: "D"}
    assert flag_rows(site, list(want)) == {f: ("resolved", "gk1", v) for f, v in want.items()}
    vias = {ids[2]: "grid-machine"}
    for fid, value in want.items():
        (who, after), = audits(site, fid)
        assert (who, after["value"], after["via"]) == ("gk1", value, vias.get(fid, "grid"))
    assert rows(site["url"], "SELECT count(*) FROM resolutions WHERE flag_id IN (%s)"
                % ",".join(map(str, ids))) == [(6,)]

    # the rest of the batch: every key is a decision, then one key loads the next batch
    for _ in range(14):
        page.keyboard.press(RIGHT.lower())
    wait_until(page, "!document.getElementById('grid-done').hidden")
    assert page.evaluate("() => document.activeElement.id") == "next-batch"
    assert page.evaluate("() => window.sameDocument") == 1
    with page.expect_navigation():
        page.keyboard.press("n")
    wait_until(page, "document.querySelectorAll('.cell').length === 4")
    assert page.evaluate("() => window.sameDocument === undefined")
    assert [int(x) for x in page.eval_on_selector_all(".cell", "cs => cs.map(c => c.dataset.id)")] == ids[20:]
    for _ in range(4):
        page.keyboard.press(RIGHT.lower())
    wait_until(page, "!document.getElementById('grid-done').hidden")
    assert "Không còn câu nào khác" in page.inner_text("#grid-done")
    assert all(v[0] == "resolved" for v in flag_rows(site, ids).values())
    assert all(len(audits(site, fid)) == 1 for fid in ids)
    page.context.close()


@pytest.mark.slow
def test_two_judges_on_one_crop_the_second_is_refused_and_the_first_kept(site, browser):
    ids = site["flags"]["race"]
    first, second = browser_page(browser, site, "gk1"), browser_page(browser, site, "gk2")
    open_grid(first, site, "race")
    open_grid(second, site, "race")            # both grids show the same crops
    first.keyboard.press("b")
    wait_state(first, ids[0], "done")
    second.keyboard.press("c")                 # the same crop, a different answer, after the first
    wait_state(second, ids[0], "taken")
    text = second.inner_text(f"#cell-{ids[0]} .status")
    assert "đã được gk1 quyết định" in text.lower() and "không được ghi" in text
    assert focused(second) == ids[1]           # skipped: the second judge goes on with the next crop
    second.keyboard.press("d")
    wait_state(second, ids[1], "done")
    first.keyboard.press("a")                  # and the first judge, on that one, is refused in turn
    wait_state(first, ids[1], "taken")
    assert "đã được gk2 quyết định" in first.inner_text(f"#cell-{ids[1]} .status").lower()
    # a crop the other judge decided while this one looked elsewhere: greyed out and skipped without a key
    assert focused(first) == ids[2] and focused(second) == ids[2]
    first.keyboard.press("c")
    wait_state(first, ids[2], "done")
    wait_state(second, ids[2], "taken")             # the grid asks every few seconds
    assert "đã được gk1 quyết định" in second.inner_text(f"#cell-{ids[2]} .status").lower()
    assert focused(second) == ids[3]

    assert flag_rows(site, ids[:3]) == {ids[0]: ("resolved", "gk1", "B"), ids[1]: ("resolved", "gk2", "D"),
                                        ids[2]: ("resolved", "gk1", "C")}
    assert [(w, a["value"]) for w, a in audits(site, ids[0])] == [("gk1", "B")]
    assert [(w, a["value"]) for w, a in audits(site, ids[1])] == [("gk2", "D")]
    assert rows(site["url"], "SELECT who, value FROM resolutions WHERE flag_id IN (:a, :b, :c) ORDER BY flag_id",
                a=ids[0], b=ids[1], c=ids[2]) == [("gk1", "B"), ("gk2", "D"), ("gk1", "C")]
    first.context.close()
    second.context.close()


@pytest.mark.slow
def test_accept_all_is_offered_only_after_every_crop_was_on_screen_and_audited_per_decision(site, browser):
    ids = site["flags"]["all"]
    page = browser_page(browser, site, "gk1", width=360, height=740)    # a phone
    open_grid(page, site, "all")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")    # no sideways scroll
    assert page.locator("#accept-all").is_disabled()
    assert "chưa hiện trên màn hình" in page.inner_text("#unseen")
    page.keyboard.press(RIGHT.lower())                     # one decided by hand first
    wait_state(page, ids[0], "done")
    for _ in range(len(ids) - 3):                          # down the column, short of the last crop, looking
        page.keyboard.press("j")                           # at each one (a frame at least)
        wait_until(page, "document.activeElement.hasAttribute('data-seen')")
    page.wait_for_timeout(300)
    assert page.locator("#accept-all").is_disabled()
    assert flag_rows(site, ids[1:]) == {f: ("open", None, None) for f in ids[1:]}
    page.keyboard.press("End")
    page.locator(f"#cell-{ids[-1]}").scroll_into_view_if_needed()
    wait_until(page, "!document.getElementById('accept-all').disabled")
    assert page.evaluate("() => document.querySelectorAll('.cell[data-seen]').length") == len(ids)
    page.click("#accept-all")
    for fid in ids[1:]:
        wait_state(page, fid, "done")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert flag_rows(site, ids) == {ids[0]: ("resolved", "gk1", RIGHT),
                                    **{f: ("resolved", "gk1", "") for f in ids[1:]}}
    for fid in ids[1:]:                        # one audit row per decision, saying how it was taken
        (who, after), = audits(site, fid)
        assert (who, after["value"], after["via"]) == ("gk1", "", "grid-accept-all")
    assert audits(site, ids[0])[0][1]["via"] == "grid"
    page.context.close()


def test_the_grid_without_a_reason_offers_the_reasons(site):
    page = site["http"]["gk2"].get("/flags/grid")
    assert page.status_code == 200 and 'id="grid-reasons"' in page.text and "Ô tô mờ hoặc chưa kín" in page.text
    assert "/flags/grid?reason=ambiguous_mark" in page.text
