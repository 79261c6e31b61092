"""The flag queue as an organiser works it: filtered by unit, reason and file name, files shown inside the folder
given to ``omr grade``, the filter kept from decision to decision — and usable on a phone (360 px, in Chromium)."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from grading.judges import Role, add_judge
from grading.keys import load_keys
from grading.store import Store
from grading.webapp.app import create_app
from grading.webapp.flags_web import relative_source
from omr.layout import load_layout
from web_support import (CHROMIUM, CHROMIUM_ARGS, NEW_PASSWORD, TestClient, csrf, demo_contest, faint_reading,
                         live_server, login_and_change_password)

SHOTS_ENV = os.environ.get("OMR_SCREENSHOTS")       # a folder to keep the screenshots in
UNITS = {"quan-ba-dinh": "Quận Ba Đình", "quan-tay-ho": "Quận Tây Hồ"}


def _record(store: Store, contest, district: str, school: str, pid: str, *, unreadable_id: bool = False) -> None:
    keys = load_keys(contest / "keys.json", load_layout(contest / "layout.json"))
    run = store.start_run({"command": "grade", "inputs": [f"thi/{district}"]})
    src = f"/srv/nop-bai/thi/{district}/{school}/{pid}.jpg"
    reading = faint_reading(src, pid, ("7",), participant_flag=unreadable_id)
    store.record_submission(src, hashlib.sha256(src.encode()).hexdigest(), 1000, [reading], keys, run_id=run,
                            unit=UNITS[district])


@pytest.fixture
def site(tmp_path):
    contest = demo_contest(tmp_path / "contest")
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    with Store.open(url) as store:
        _record(store, contest, "quan-ba-dinh", "truong-a", "000001")
        _record(store, contest, "quan-ba-dinh", "truong-b", "000002", unreadable_id=True)
        _record(store, contest, "quan-tay-ho", "truong-a", "000003")
        _record(store, contest, "quan-tay-ho", "truong-c", "000004")
        pw = add_judge(store, "quantri", unit="Sở", role=Role.ADMIN)
    return {"contest": contest, "url": url, "pw": pw}


def _flag_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'href="/flags/(\d+)[?"]', html)]


def test_relative_source_is_the_path_inside_the_folder_given():
    src = "/srv/nop-bai/thi/quan-ba-dinh/truong-a/000001.jpg"
    assert relative_source(src, ["thi/quan-ba-dinh"]) == "quan-ba-dinh/truong-a/000001.jpg"
    assert relative_source(src, ["/srv/nop-bai/thi/"]) == "thi/quan-ba-dinh/truong-a/000001.jpg"
    assert relative_source(src, ["./other", "../thi"]) == "thi/quan-ba-dinh/truong-a/000001.jpg"
    assert relative_source(src, [src]) == "000001.jpg" == relative_source(src, [])


def test_the_queue_filters_by_unit_reason_and_file_and_keeps_the_filter_after_a_decision(site):
    with Store.open(site["url"]) as store:
        app = create_app(store, load_layout(site["contest"] / "layout.json"), contest_dir=site["contest"])
        with TestClient(app, follow_redirects=False) as c:
            login_and_change_password(c, "quantri", site["pw"])
            page = c.get("/flags").text
            assert "Hàng chờ: 5 cờ đang mở" in page                              # 4 faint marks + 1 id
            assert "quan-ba-dinh/truong-a/000001.jpg (trang 1)" in page and "/srv/nop-bai" not in page.split(
                "<tbody>")[1].split('title="')[0]
            assert '<option value="Quận Ba Đình"' in page and '<option value="unreadable_id"' in page
            tay_ho = c.get("/flags", params={"unit": "Quận Tây Hồ"}).text
            assert "Hàng chờ: 2 cờ đang mở" in tay_ho and "truong-c/000004.jpg" in tay_ho and "000001" not in tay_ho
            assert "Hàng chờ: 1 cờ đang mở" in c.get("/flags", params={"reason": "unreadable_id"}).text
            school_a = c.get("/flags", params={"file": "TRUONG-A"})
            assert "Hàng chờ: 2 cờ đang mở" in school_a.text
            assert "Hàng chờ: 0 cờ đang mở" in c.get("/flags", params={"file": "%_"}).text    # no wildcards
            first, second = _flag_ids(tay_ho)
            flag_page = c.get(f"/flags/{first}", params={"unit": "Quận Tây Hồ"}).text
            assert 'name="unit" value="Quận Tây Hồ"' in flag_page
            r = c.post(f"/flags/{first}/resolve", data={"csrf": csrf(flag_page), "value": "B",
                                                         "unit": "Quận Tây Hồ"})
            assert r.status_code == 303
            assert r.headers["location"].startswith(f"/flags/{second}?done={first}&unit=")   # the next one of Tây Hồ
            last = c.get(r.headers["location"]).text
            r = c.post(f"/flags/{second}/resolve", data={"csrf": csrf(last), "value": "B", "unit": "Quận Tây Hồ"})
            assert r.headers["location"].startswith(f"/flags?done={second}&unit=")
            assert "Không có cờ nào khớp bộ lọc." in c.get(r.headers["location"]).text


@pytest.mark.slow
def test_in_chromium_at_360_px_the_queue_fits_and_keys_decide(site, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(SHOTS_ENV) if SHOTS_ENV else tmp_path
    with live_server(site["contest"], tmp_path / "server.log") as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN",
                                       is_mobile=True, has_touch=True).new_page()
            page.goto(base + "/login")
            page.fill("#username", "quantri")
            page.fill("#password", site["pw"])
            page.click("#login-form button[type=submit]")
            page.wait_for_url("**/password")
            page.fill("#current_password", site["pw"])
            page.fill("#new_password", NEW_PASSWORD)
            page.fill("#again", NEW_PASSWORD)
            page.click("form[action='/password'] button[type=submit]")
            page.wait_for_url("**/flags")

            def fits() -> bool:
                return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")

            assert fits(), page.evaluate("() => document.documentElement.scrollWidth")
            page.screenshot(path=str(shots / "queue-360.png"), full_page=True)
            page.select_option("#filter-unit", "Quận Ba Đình")
            page.click("#filters button[type=submit]")
            page.wait_for_url("**unit=*")
            assert "Hàng chờ: 3 cờ đang mở" in page.inner_text("h1") and fits()
            page.click("table.flags a.button >> nth=0")
            page.wait_for_url("**/flags/*")
            assert fits()
            page.screenshot(path=str(shots / "flag-360.png"), full_page=True)
            first = page.url
            page.keyboard.press("b")                                            # a key decides, as on a desk
            page.wait_for_url(lambda u: u != first)
            assert "Đã ghi cờ số" in page.inner_text("#done") and fits()
        finally:
            browser.close()


def test_the_file_filter_folds_vietnamese_capitals_on_both_backends(store_url, tmp_path):
    from grading.db import flag_queue as Q

    contest = demo_contest(tmp_path / "contest")
    keys = load_keys(contest / "keys.json", load_layout(contest / "layout.json"))
    with Store.open(store_url) as store:
        for i, folder in enumerate(("TRƯỜNG THCS ĐỐNG ĐA", "truong-khac")):
            src = f"/srv/{folder}/{i:06d}.jpg"
            store.record_submission(src, hashlib.sha256(src.encode()).hexdigest(), 1,
                                    [faint_reading(src, f"{i:06d}", ("7",))], keys)
        rows, n = Q.open_flags(store, 0, 10, admin=True, only=Q.QueueFilter(file="trường thcs đống"))
        assert n == 1 and rows[0]["source"].startswith("/srv/TRƯỜNG")
        assert Q.open_flags(store, 0, 10, admin=True, only=Q.QueueFilter(file="%"))[1] == 0
