"""Typing in a handwritten entry in the web app, in Debian's Chromium through Playwright: a generated handwritten
entry (``samples.handwriting``, a two-page scanned PDF) is graded by ``omr grade`` — which queues it — then two
judges type it with the keyboard only, one of them getting question 7 wrong, and a third judge decides that one
field. The store is checked: the transcription and its three entries, the answers page and its score, the
entrant, the essay task now of that entrant, and the audit. The keys pressed for the 40 answers are counted.
Another entry's judge says, with the keyboard only, that its pages are no handwritten entry."""
from __future__ import annotations

import json

import httpx
import pytest

from grading.judges import add_judge
from grading.store import Store
from grading_support import omr
from samples.handwriting import handwritten_entry
from transcribe_support import QUESTIONS, hw_contest
from web_support import NEW_PASSWORD, live_server, login_and_change_password, rows, wait_until

UNIT = "Phường Kim Mã"
FIELDS = ("name", "date_of_birth", "address", "unit", "class", "phone", "email")
JUDGES = {"gk1": "Ban giám khảo 1", "gk2": "Ban giám khảo 2", "gk3": "Ban giám khảo 3", "gk4": UNIT}


def js(value):
    return json.loads(value) if isinstance(value, (str, bytes)) else value


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("transcribe")
    contest = hw_contest(d / "contest")
    paths, truth = handwritten_entry(d / "scan", seed=7, questions=QUESTIONS, version="102")
    r = omr("grade", str(paths[-1]), "--contest", str(contest), "--unit", UNIT, "--workers", "1")
    assert r.returncode in (0, 3), r.stderr
    assert "bài viết tay chờ nhập: 1 (giám khảo nhập ở trang /transcribe của omr review)" in r.stdout
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    assert rows(url, "SELECT state, unit FROM transcriptions") == [("open", UNIT)]
    with Store.open(url) as store:
        pw = {name: add_judge(store, name, unit=unit) for name, unit in JUDGES.items()}
    with live_server(contest, d / "server.log") as base:
        for name, one_time in pw.items():
            with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
                login_and_change_password(client, name, one_time)
        yield {"base": base, "url": url, "truth": truth, "contest": contest}


def judge_page(browser, site, name: str):
    page = browser.new_context(viewport={"width": 1400, "height": 900}, locale="vi-VN").new_page()
    page.goto(site["base"] + "/login")
    page.fill("#username", name)
    page.fill("#password", NEW_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/flags")
    page.goto(site["base"] + "/transcribe")
    wait_until(page, "document.activeElement && document.activeElement.id === 'next'")
    page.keyboard.press("Enter")                                    # take the next entry
    return page


def type_entry(page, identity: dict[str, str], version: str, answers: str, *, try_group: bool = False) -> int:
    """Type the form with the keyboard only; returns the keys pressed for the answers and the sending.
    ``try_group``: first type a bracketed group and an option that is none, check the boxes, and clear them."""
    wait_until(page, "document.activeElement && document.activeElement.id === 'id-name'")
    assert page.evaluate("() => [...document.querySelectorAll('.essay-image img')].map(i => i.naturalWidth > 0)"
                         ) == [True, True]                           # both scanned pages shown
    for f in FIELDS:
        page.keyboard.type(identity[f])
        page.keyboard.press("Tab")
    page.keyboard.type(version)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "answers"
    if try_group:
        page.keyboard.type("[ab]e(c")
        boxes = "() => [...document.querySelectorAll('#answer-boxes li')].slice(0, 4).map(b => [b.className, " \
                "b.querySelector('.qa').textContent])"
        assert page.evaluate(boxes) == [["filled", "AB"], ["invalid", "E"], ["current", "C"], ["", ""]]
        assert page.inner_text("#answers-count") == f"3/{len(QUESTIONS)}"
        page.fill("#answers", "")
    keys = 0
    for ch in answers:
        page.keyboard.press(ch)                                     # one key per question
        keys += 1
    assert page.inner_text("#answers-count") == f"{len(QUESTIONS)}/{len(QUESTIONS)}"
    shown = page.evaluate("() => [...document.querySelectorAll('#answer-boxes .qa')].map(b => b.textContent)")
    assert shown == [c.upper() if c != "-" else "–" for c in answers]
    page.keyboard.press("Enter")
    keys += 1
    page.wait_for_url("**/transcribe?done=*")
    return keys


@pytest.mark.slow
def test_two_judges_type_a_handwritten_entry_and_a_third_decides_their_one_difference(site, browser):
    truth = site["truth"]
    right = "".join((truth.answers[q] or "-").lower() for q in QUESTIONS)
    seventh = right[6] if right[6] != "-" else "a"
    other = "b" if seventh != "b" else "c"
    wrong = right[:6] + other + right[7:]

    page = judge_page(browser, site, "gk4")                         # a judge of the collecting unit: nothing
    page.wait_for_url("**/transcribe?none=1")
    assert "không còn bài viết tay" in page.inner_text("#none")

    first = judge_page(browser, site, "gk1")
    first.wait_for_url("**/transcribe/*")
    first_entry = first.url.rsplit("/", 1)[1]
    keys = type_entry(first, truth.identity, truth.version, right, try_group=True)
    assert keys == 41                                               # 40 answers + Enter (target: at most 45)
    assert "người nhập thứ hai" in first.inner_text("#done")

    second = judge_page(browser, site, "gk2")
    second.wait_for_url("**/transcribe/*")
    assert second.url.rsplit("/", 1)[1] != first_entry
    assert second.request.get(f"{site['base']}/transcribe/{first_entry}").status == 403   # not the other's entry
    assert type_entry(second, {**truth.identity, "name": truth.identity["name"].upper()}, truth.version,
                      wrong) == 41
    assert "giám khảo thứ ba" in second.inner_text("#done")

    third = judge_page(browser, site, "gk3")
    third.wait_for_url("**/transcribe/*")
    row = third.locator("#differences tbody tr")
    assert row.count() == 1 and row.get_attribute("data-field") == "q:7"   # the name agrees up to case
    assert (row.locator(".first").inner_text(), row.locator(".second").inner_text()) == (
        (truth.answers["7"] or "(trống)"), other.upper())
    wait_until(third, "document.activeElement && document.activeElement.id === 'f-1'")
    third.keyboard.press(truth.answers["7"].lower() or "-")
    third.keyboard.press("Enter")
    third.wait_for_url("**/transcribe?done=taken")

    url = site["url"]
    (tid, state, page_id, participant, final), = rows(url, "SELECT id, state, page_id, participant, final "
                                                           "FROM transcriptions")
    assert state == "taken" and js(final)["q:7"] == truth.answers["7"] and js(final)["name"] == truth.identity["name"]
    assert rows(url, "SELECT e.slot, j.name, e.state FROM transcription_entries e JOIN judges j ON j.id = e.judge_id "
                     "ORDER BY e.slot") == [(1, "gk1", "submitted"), (2, "gk2", "submitted"), (3, "gk3", "submitted")]
    (version, reading), = rows(url, f"SELECT version, reading FROM pages WHERE id = {page_id}")
    assert version == truth.version and js(reading)["answers"] == truth.answers
    assert rows(url, f"SELECT status FROM scores WHERE page_id = {page_id}") == [("scored",)]
    assert rows(url, f"SELECT name, phone FROM entrants WHERE id = '{participant}'") == [
        (truth.identity["name"], truth.identity["phone"])]
    assert rows(url, "SELECT state, participant FROM essay_tasks") == [("open", participant)]
    assert [(a, w) for a, w in rows(url, "SELECT action, who FROM audit WHERE target LIKE :t ORDER BY id",
                                    t=f"transcription:{tid}%")] == [
        ("transcription_queue", "system"), ("transcription_assign", "gk1"), ("transcription_entry", "gk1"),
        ("transcription_assign", "gk2"), ("transcription_entry", "gk2"), ("transcription_disputed", "gk2"),
        ("transcription_assign", "gk3"), ("transcription_entry", "gk3"), ("transcription_taken", "gk3")]


@pytest.mark.slow
def test_a_judge_sends_pages_that_are_no_handwritten_entry_to_the_organisers_with_the_keyboard(site, browser, tmp_path):
    paths, _ = handwritten_entry(tmp_path / "scan", seed=8, questions=QUESTIONS)
    r = omr("grade", str(paths[-1]), "--contest", str(site["contest"]), "--unit", UNIT, "--workers", "1")
    assert r.returncode in (0, 3), r.stderr
    with Store.open(site["url"]) as store:
        one_time = add_judge(store, "gk5", unit="Ban giám khảo 5")
    with httpx.Client(base_url=site["base"], follow_redirects=False, timeout=30) as client:
        login_and_change_password(client, "gk5", one_time)
    page = judge_page(browser, site, "gk5")
    page.wait_for_url("**/transcribe/*")
    (tid,) = rows(site["url"], "SELECT transcription_id FROM transcription_entries WHERE id = :e",
                  e=int(page.url.rsplit("/", 1)[1]))[0]
    wait_until(page, "document.activeElement && document.activeElement.id === 'id-name'")
    for _ in range(20):                                             # Tab past the form to "Không phải bài viết tay?"
        if page.evaluate("() => document.activeElement.id") == "decline-open":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "decline-open"
    page.keyboard.press("Enter")                                    # opens the details
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "decline-kind"
    page.keyboard.press("ArrowDown")                                # "Trang tự luận của một phiếu trả lời"
    page.keyboard.press("Tab")
    page.keyboard.type("phần tự luận của phiếu 000123")
    page.keyboard.press("Enter")
    page.wait_for_url("**/transcribe?done=referred")
    assert rows(site["url"], f"SELECT state FROM transcriptions WHERE id = {tid}") == [("referred",)]
    assert rows(site["url"], f"SELECT j.name, n.kind, n.text FROM transcription_notes n JOIN judges j "
                             f"ON j.id = n.judge_id WHERE n.transcription_id = {tid}") == [
        ("gk5", "sheet_essay", "phần tự luận của phiếu 000123")]
    assert rows(site["url"], "SELECT count(*) FROM flags f JOIN pages p ON p.id = f.page_id JOIN transcriptions t "
                             f"ON t.submission_id = p.submission_id WHERE t.id = {tid} AND f.reason = "
                             "'not_handwritten' AND f.state = 'open'") == [(2,)]
