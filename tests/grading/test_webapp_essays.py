"""Essay judging in a real headless Chromium (Playwright) against a live ``omr review`` server.

Three participants each sent a PDF (an answer-sheet page, then typed essay pages); the records are written
straight into the store with OCR text (one page unreliable) and a near-duplicate pair. The roster gives their
units (Ba Đình, Hoàn Kiếm, Ba Đình). Judges: gk1 (Cầu Giấy), gk2 (Tây Hồ), gk3 (Đống Đa), gkb (Ba Đình), and an
admin. Screenshots of the scoring page and the admin essays page are saved (OMR_SCREENSHOTS=DIR to keep them).

The tests are one story on one live site, in file order: the scoring test makes the assignments, disputes and
finals that the access and admin tests then look at (run the whole module, not one test with -k).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from grading.essays import assign_essay_pages, find_duplicates
from grading.judges import add_judge
from grading.store import Store
from grading_support import DEMO, db_rows, failure, omr, reading, sha
from omr.errors import ExitCode
from omr.ocr import OcrResult
from test_essays import COPIED, ESSAY_1, images_pdf, typed_page
from web_support import CHROMIUM, CHROMIUM_ARGS, NEW_PASSWORD, csrf, live_server, login_and_change_password, wait_until

SHOTS_ENV = os.environ.get("OMR_SCREENSHOTS")
PEOPLE = [("000301", "Nguyễn Văn Khoa", "Quận Ba Đình", "ba-dinh_nguyen-van-khoa.pdf"),
          ("000302", "Trần Thị Mai", "Quận Hoàn Kiếm", "hoan-kiem_tran-thi-mai.pdf"),
          ("000303", "Lê Quang Vinh", "Quận Ba Đình", "ba-dinh_le-quang-vinh.pdf")]
SUBMISSION_UNIT = "Phòng GD&ĐT Ba Đình (thu bài)"
TEXTS = {"000301": ["Bài làm của em. " + COPIED + " Em sẽ dùng dịch vụ công trực tuyến.", ESSAY_1],
         "000302": ["Em chép lại: " + COPIED],
         "000303": ["Dịch vụ công trực tuyến giúp người dân tiết kiệm thời gian và công sức."]}
MAIL = "Bài gửi qua thư điện tử, chưa có phiếu trả lời: nộp hồ sơ cấp giấy phép lái xe trên cổng quốc gia."
JUDGES = [("gk1", "Quận Cầu Giấy"), ("gk2", "Quận Tây Hồ"), ("gk3", "Quận Đống Đa"), ("gkb", "quận  BA ĐÌNH")]


def ocr(text: str, reliable: bool) -> OcrResult:
    return OcrResult(text=text, mean_conf=90.0 if reliable else 41.0, words=len(text.split()), reliable=reliable,
                     engine="tesseract (test input)", source="ocr", seconds=0.1)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("essays-web")
    contest = d / "contest"
    contest.mkdir()
    for name in ("layout.json", "keys.json", "rubric.json"):
        shutil.copy(DEMO / name, contest / name)
    (contest / "roster.csv").write_text("participant_id,name,unit\n" + "".join(
        f"{pid},{name},{unit}\n" for pid, name, unit, _ in PEOPLE), encoding="utf-8")
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    blank = np.full((3508, 2480), 255, np.uint8)
    with Store.open(url) as store:
        for pid, _, _, fname in PEOPLE:
            pdf = images_pdf(d / fname, [(blank, 300)] + [(typed_page(t), 300) for t in TEXTS[pid]])
            n = len(TEXTS[pid])
            recs = [reading(str(pdf), 1, pid, "101", "AAAAAA")] + [failure(str(pdf), k) for k in range(2, 2 + n)]
            store.record_submission(str(pdf), sha(pid), pdf.stat().st_size, assign_essay_pages(recs), None,
                                    unit=SUBMISSION_UNIT)
        mail = images_pdf(d / "thu-dien-tu.pdf", [(typed_page(MAIL), 300)])          # no sheet: waits
        store.record_submission(str(mail), sha("mail"), mail.stat().st_size,
                                assign_essay_pages([failure(str(mail), 1)]), None)
        pid_of = {str(d / fname): pid for pid, _, _, fname in PEOPLE}
        for e in store.essays_to_ocr():
            pid = pid_of.get(e.source)
            store.save_ocr(e.id, ocr(TEXTS[pid][e.page_no - 2] if pid else MAIL, reliable=pid != "000302"))
        pairs, _ = find_duplicates(store)
        assert len(pairs) == 1
        pw = {name: add_judge(store, name, unit=unit) for name, unit in JUDGES}
        from grading.judges import Role

        pw["quantri"] = add_judge(store, "quantri", unit="Sở Tư pháp", role=Role.ADMIN)
    with live_server(contest, d / "server.log") as base:
        clients = {}
        for name in pw:
            c = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
            login_and_change_password(c, name, pw[name])
            clients[name] = c
        try:
            yield {"base": base, "url": url, "contest": contest, "c": clients, "dir": d}
        finally:
            for c in clients.values():
                c.close()


def task_id(url: str, pid: str) -> int:
    return db_rows(url, f"SELECT id FROM essay_tasks WHERE participant = '{pid}'")[0][0]


def take(client: httpx.Client) -> int:
    page = client.get("/essays")
    r = client.post("/essays/next", data={"csrf": csrf(page.text)})
    assert r.status_code == 303 and r.headers["location"].startswith("/essays/"), r.headers.get("location")
    return int(r.headers["location"].rsplit("/", 1)[1])


def score(client: httpx.Client, aid: int, points: dict[str, str]) -> httpx.Response:
    page = client.get(f"/essays/{aid}")
    return client.post(f"/essays/{aid}/score", data={"csrf": csrf(page.text), **points})


def pts(a: str, b: str = "2", c: str = "1", d: str = "1") -> dict[str, str]:
    return {"noi_dung": a, "bo_cuc": b, "dien_dat": c, "sang_tao": d}


def assert_blind(html: str) -> None:
    for pid, name, unit, fname in PEOPLE:
        for secret in (pid, name, unit, fname, Path(fname).stem, SUBMISSION_UNIT, "ba-dinh", "Hoàn Kiếm"):
            assert secret not in html, secret


def test_two_judges_score_a_dispute_goes_to_a_third_and_the_export_has_it(site, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(SHOTS_ENV) if SHOTS_ENV else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    url, c = site["url"], site["c"]
    t1, t2, t3 = (task_id(url, p) for p, *_ in PEOPLE)
    assert db_rows(url, "SELECT id, unit, state FROM essay_tasks ORDER BY id") == [
        (t1, "Quận Ba Đình", "open"), (t2, "Quận Hoàn Kiếm", "open"), (t3, "Quận Ba Đình", "open"),  # roster units
        (t3 + 1, None, "waiting")]                                           # the e-mailed essay: no participant
    assert db_rows(url, f"SELECT count(*) FROM essays WHERE task_id = {t1}") == [(2,)]      # 2 pages, ONE task

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="vi-VN")
            page = ctx.new_page()
            page.goto(site["base"] + "/login")
            page.fill("#username", "gk1")
            page.fill("#password", NEW_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/flags")
            page.click("nav a[href='/essays']")
            page.wait_for_url("**/essays")
            page.keyboard.press("n")                                    # take the next essay
            page.wait_for_url("**/essays/*")
            aid1 = int(page.url.rsplit("/", 1)[1])
            assert db_rows(url, f"SELECT task_id, judge_id IS NOT NULL, judge_slot FROM essay_assignments "
                                f"WHERE id = {aid1}") == [(t1, 1, 1)]
            for n in (1, 2):
                wait_until(page, f"document.querySelector('#page-{n} img').complete && "
                                       f"document.querySelector('#page-{n} img').naturalWidth > 500")
            html = page.content()
            assert_blind(html)
            code = db_rows(url, f"SELECT anon_code FROM essay_tasks WHERE id = {t1}")[0][0]
            assert page.inner_text("#anon-code") == code
            assert "OCR không đáng tin cậy" not in html and "Vịnh Hạ Long" in page.inner_text("#page-2 .ocr-text")
            assert page.locator(".dup-link").count() == 1
            assert page.evaluate("document.activeElement.id") == "c-noi_dung"
            page.screenshot(path=str(shots / "essay.png"), full_page=False)

            # a value above the maximum: refused in Vietnamese, nothing written; then the keyboard only
            page.keyboard.type("9")
            for v in ("2", "1,5", "1"):
                page.keyboard.press("Tab")
                page.keyboard.type(v)
            assert page.inner_text("#sum") == "điểm không hợp lệ"
            page.keyboard.press("Enter")
            page.wait_for_selector("#errors")
            assert ("Điểm «Nội dung, hiểu biết về dịch vụ công trực tuyến» phải từ 0 đến 5."
                    in page.inner_text("#errors"))
            assert db_rows(url, f"SELECT state FROM essay_assignments WHERE id = {aid1}") == [("assigned",)]
            assert page.input_value("#c-dien_dat") == "1,5"
            page.fill("#c-noi_dung", "")
            page.focus("#c-noi_dung")
            page.keyboard.type("4")
            assert page.inner_text("#sum") == "8,5"
            page.keyboard.press("Enter")
            page.wait_for_url("**/essays?done=*")
            assert page.inner_text("#done-total") == "8,5"

            # the duplicate view: both texts, anonymous codes only, shared passage marked
            page.goto(f"{site['base']}/essays/{aid1}")
            page.click(".dup-link")
            page.wait_for_url("**/duplicates/*")
            assert_blind(page.content())
            marks = " ".join(page.locator("mark").all_inner_texts())
            assert "giữ gìn sự trong sáng" in marks and page.locator("mark").count() >= 2
        finally:
            browser.close()

    aid2 = take(c["gk2"])
    assert score(c["gk2"], aid2, pts("4")).status_code == 303               # 8 against 8.5: within 1.5
    assert db_rows(url, f"SELECT state, judges_needed, final_score, final_rule FROM essay_tasks WHERE id = {t1}") == [
        ("final", 2, "33/4", "mean")]

    # the second task: 10 against 3.5 → disputed, round 3 goes to gk3 (gkb is not of Hoàn Kiếm either, but
    # gk3 has fewer... both hold nothing: the first by id), then closest_mean of 3.5 and 4
    b1, b2 = take(c["gk1"]), take(c["gk2"])
    page = c["gk1"].get(f"/essays/{b1}")
    assert "OCR không đáng tin cậy" in page.text
    assert_blind(page.text)
    assert score(c["gk1"], b1, pts("5", "2", "1,5", "1,5")).status_code == 303
    assert score(c["gk2"], b2, pts("0,5", "1", "1", "1")).status_code == 303
    (third,) = db_rows(url, f"SELECT a.id, j.name, a.judge_slot, a.assigned_by FROM essay_assignments a JOIN judges j "
                            f"ON j.id = a.judge_id WHERE a.task_id = {t2} AND a.judge_slot = 3")
    assert third[1:] == ("gk3", 3, "system")
    assert db_rows(url, f"SELECT state, judges_needed FROM essay_tasks WHERE id = {t2}") == [("disputed", 3)]
    listing = c["gk3"].get("/essays").text
    assert f'href="/essays/{third[0]}"' in listing
    third_page = c["gk3"].get(f"/essays/{third[0]}").text
    assert_blind(third_page)
    assert "3,5" not in third_page and "7/2" not in third_page and 'id="my-total"' not in third_page
    assert score(c["gk3"], third[0], pts("1", "1", "1", "1")).status_code == 303
    assert db_rows(url, f"SELECT state, judges_needed, final_score, final_rule FROM essay_tasks WHERE id = {t2}") == [
        ("final", 3, "15/4", "closest_mean")]
    assert db_rows(url, "SELECT who, action FROM audit WHERE action IN ('essay_dispute', 'essay_final') "
                        "ORDER BY id") == [("system", "essay_final"), ("system", "essay_dispute"),
                                           ("system", "essay_final")]

    # the unit rule: only the third task is left, and it is Ba Đình's: gkb never gets it, gk3 does
    r = c["gkb"].post("/essays/next", data={"csrf": csrf(c["gkb"].get("/essays").text)})
    assert r.headers["location"] == "/essays?none=1"
    assert "Hiện không còn bài nào bạn được chấm" in c["gkb"].get(r.headers["location"]).text
    assert "Hiện không còn bài nào bạn được chấm" not in c["gkb"].get("/essays").text
    assert db_rows(url, "SELECT count(*) FROM essay_assignments a JOIN judges j ON j.id = a.judge_id "
                        "WHERE j.name = 'gkb'") == [(0,)]
    assert db_rows(url, f"SELECT task_id FROM essay_assignments WHERE id = {take(c['gk3'])}") == [(t3,)]

    out = tmp_path / "results.xlsx"
    p = omr("export", "--contest", str(site["contest"]), "--out", str(out), "--headers", "codes")
    assert p.returncode == ExitCode.OK, p.stderr
    sheets = pd.read_excel(out, sheet_name=None, dtype=str)
    res = sheets["results"].set_index("participant_id")
    assert (res.loc["000301", "essay_total_exact"], res.loc["000302", "essay_total_exact"]) == ("33/4", "15/4")
    assert float(res.loc["000301", "essay: essay"]) == 8.25 and res.loc["000303", "essay_status"] == "in progress"
    ess = sheets["essays"].set_index("participant_id")
    assert list(ess.loc["000302", ["judge 1", "total 1", "judge 2", "total 2", "judge 3", "total 3", "final_exact",
                                    "rule"]]) == ["gk1", "10", "gk2", "7/2", "gk3", "4", "15/4", "closest_mean"]
    assert ess.loc["000301", "total 1"] == "17/2" and pd.isna(ess.loc["000301", "judge 3"])


def test_judges_cannot_see_others_work_nor_the_admin_page(site):
    url, c = site["url"], site["c"]
    if not db_rows(url, "SELECT a.id FROM essay_assignments a JOIN judges j ON j.id = a.judge_id WHERE j.name = 'gk1'"):
        take(c["gk1"])                     # run on its own (-k): gk1 needs work of its own first
    (aid, n), = db_rows(url, "SELECT a.id, (SELECT count(*) FROM essays e WHERE e.task_id = a.task_id) FROM "
                             "essay_assignments a JOIN judges j ON j.id = a.judge_id WHERE j.name = 'gk1' "
                             "ORDER BY a.id LIMIT 1")
    (pair,) = db_rows(url, "SELECT id FROM duplicate_pairs")
    for path in (f"/essays/{aid}", f"/essays/{aid}/pages/1.png", f"/essays/{aid}/duplicates/{pair[0]}"):
        r = c["gk2"].get(path)
        assert r.status_code == 403 and "không được giao cho bạn" in r.text, path
        assert c["gk1"].get(path).status_code == 200, path
        assert c["quantri"].get(path).status_code == 200, path            # admins may look at every one
    img = c["gk1"].get(f"/essays/{aid}/pages/{n}.png")
    assert img.status_code == 200 and img.headers["content-type"] == "image/png" and len(img.content) > 10_000
    assert c["gk1"].get(f"/essays/{aid}/pages/{n + 1}.png").status_code == 404
    assert c["gk1"].get("/essays/99999").status_code == 403
    # the flag of the e-mailed essay (no participant yet) is the organisers' work: an admin sees its page (essay
    # pages are rendered as stored); a judge who scores essays blind gets neither the flag, its picture, the page,
    # nor a place in the queue — and no whole page by id except a sheet with an open flag
    (flag,) = db_rows(url, "SELECT id FROM flags WHERE reason = 'unmatched_essay'")
    (flagged_page,) = db_rows(url, f"SELECT page_id FROM flags WHERE id = {flag[0]}")
    crop = c["quantri"].get(f"/flags/{flag[0]}/crop.png")
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/png" and len(crop.content) > 10_000
    assert c["quantri"].get(f"/flags/{flag[0]}").status_code == 200
    for path in (f"/flags/{flag[0]}", f"/flags/{flag[0]}/crop.png", f"/pages/{flagged_page[0]}/image"):
        r = c["gk1"].get(path)
        assert r.status_code == 403 and "png" not in r.headers["content-type"], path
    assert f'href="/flags/{flag[0]}"' not in c["gk1"].get("/flags").text
    assert f'href="/flags/{flag[0]}"' in c["quantri"].get("/flags").text
    r = c["gk1"].post(f"/flags/{flag[0]}/resolve", data={"csrf": csrf(c["gk1"].get("/flags").text), "value": "000301"})
    assert r.status_code == 403 and db_rows(url, f"SELECT state FROM flags WHERE id = {flag[0]}") == [("open",)]
    (essay_page,) = db_rows(url, f"SELECT e.page_id FROM essay_assignments a JOIN essays e ON e.task_id = a.task_id "
                                 f"WHERE a.id = {aid} LIMIT 1")
    r = c["gk2"].get(f"/pages/{essay_page[0]}/image")
    assert r.status_code == 403 and "png" not in r.headers["content-type"]
    assert c["quantri"].get(f"/pages/{essay_page[0]}/image").status_code == 200
    for who in ("gk1", "gkb"):
        r = c[who].get("/admin/essays")
        assert r.status_code == 403 and "quản trị" in r.text
        r = c[who].post(f"/admin/essays/assignments/{aid}", data={"csrf": csrf(c[who].get("/essays").text),
                                                                 "action": "release"})
        assert r.status_code == 403


def test_forged_posts_without_csrf_are_refused_and_write_nothing(site):
    url, c = site["url"], site["c"]
    (aid,) = db_rows(url, "SELECT a.id FROM essay_assignments a JOIN judges j ON j.id = a.judge_id "
                          "WHERE j.name = 'gk3' AND a.state = 'assigned'")[0]
    before = {t: db_rows(url, f"SELECT * FROM {t} ORDER BY id") for t in ("essay_assignments", "audit", "essay_tasks")}
    for data in ({}, {"csrf": "forged"}):
        assert c["gk3"].post(f"/essays/{aid}/score", data={**data, **pts("5")}).status_code == 403
        assert c["gk1"].post("/essays/next", data=data).status_code == 403
        assert c["quantri"].post(f"/admin/essays/assignments/{aid}", data={**data, "action": "release"}).status_code \
            == 403
    with httpx.Client(base_url=site["base"], follow_redirects=False, timeout=10) as anon:
        r = anon.post(f"/essays/{aid}/score", data=pts("5"))
        assert (r.status_code, r.headers.get("location")) == (303, "/login")
    # another judge, with his own valid token, cannot score gk3's essay either
    token = csrf(c["gk1"].get("/essays").text)
    assert c["gk1"].post(f"/essays/{aid}/score", data={"csrf": token, **pts("5")}).status_code == 403
    assert {t: db_rows(url, f"SELECT * FROM {t} ORDER BY id") for t in before} == before


def test_admin_essays_page_counts_progress_and_reassignment(site, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(SHOTS_ENV) if SHOTS_ENV else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    url = site["url"]
    (aid,) = db_rows(url, "SELECT a.id FROM essay_assignments a JOIN judges j ON j.id = a.judge_id "
                          "WHERE j.name = 'gk3' AND a.state = 'assigned'")[0]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1300, "height": 900}, locale="vi-VN").new_page()
            page.goto(site["base"] + "/login")
            page.fill("#username", "quantri")
            page.fill("#password", NEW_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/flags")
            page.goto(site["base"] + "/admin/essays")
            counts = {r.get_attribute("data-key"): int(r.locator("td").inner_text())
                      for r in page.locator("#essay-counts tr").all()}
            assert counts == {"tasks": 4, "waiting_participant": 1, "pending": 1, "one_score": 0, "disputed": 0,
                              "final_two": 1, "final_three": 1, "final": 2, "no_rubric": 0}
            prog = {r.locator("td").nth(0).inner_text(): [r.locator("td").nth(k).inner_text() for k in (2, 3, 4)]
                    for r in page.locator("#judge-progress tbody tr").all()}
            assert prog["gk1"] == ["2", "2", "0"] and prog["gk3"] == ["2", "1", "1"] and prog["gkb"] == ["0", "0", "0"]
            page.screenshot(path=str(shots / "admin_essays.png"), full_page=True)
            page.goto(site["base"] + "/admin")               # the same counts on the main admin page
            overview = {r.locator("th").inner_text(): int(r.locator("td").inner_text())
                        for r in page.locator("#essay-counts tr").all()}
            assert overview["Đã có điểm cuối"] == 2 and overview["Chưa rõ thí sinh (chưa giao được)"] == 1
            assert overview["Bài tự luận (theo thí sinh và câu)"] == 4 and len(overview) == 9
            page.goto(site["base"] + "/admin/essays")

            row = page.locator("#open-assignments tbody tr", has_text="gk3")
            ids = dict(db_rows(url, "SELECT name, id FROM judges"))
            row.locator("select").select_option(value=str(ids["gkb"]))
            row.locator("button[value=move]").click()
            page.wait_for_selector("#error")
            assert "cùng đơn vị" in page.inner_text("#error")
            row = page.locator("#open-assignments tbody tr", has_text="gk3")
            row.locator("select").select_option(value=str(ids["gk2"]))
            row.locator("button[value=move]").click()
            page.wait_for_selector("#notice")
            assert db_rows(url, f"SELECT j.name, a.assigned_by FROM essay_assignments a JOIN judges j "
                                f"ON j.id = a.judge_id WHERE a.id = {aid}") == [("gk2", "quantri")]
            page.locator("#open-assignments tbody tr", has_text="gk2").locator("button[value=release]").click()
            page.wait_for_selector("#notice")
            assert "Không có bài nào đang giao" in page.inner_text("main")
        finally:
            browser.close()
    assert db_rows(url, f"SELECT count(*) FROM essay_assignments WHERE id = {aid}") == [(0,)]
    assert db_rows(url, "SELECT who, action FROM audit WHERE action IN ('essay_reassign', 'essay_release') "
                        "ORDER BY id") == [("quantri", "essay_reassign"), ("quantri", "essay_release")]
    assert (shots / "admin_essays.png").stat().st_size > 10_000
