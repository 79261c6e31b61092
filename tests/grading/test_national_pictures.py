"""Judges' pictures of sheets printed by others: the national exam sheet (found by its corner squares) and an
OMRChecker-imported layout (found by the page outline) — question crops, whole pages, the flag page over HTTP with
its PNG, and a Phần III flag resolved with the number as written.

The national sheet is rendered by ``samples.national`` with every Phần III answer written with a second mark in one
column, so the reader flags each (``multiple_marks_in_column``) and the flag carries that column's fills.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import cv2
import numpy as np
import pytest

from grading.contest import load_contest
from grading.judges import add_judge
from grading.reports.annotate import ORANGE, PX_PER_MM, numeric_columns, pages_to_annotate
from grading.store import Store
from grading.webapp.app import create_app
from grading.webapp.images import page_canvas, question_picture
from grading_support import ROOT, sha
from omr.layout import GroupKind, load_layout
from omr.numeric import flagged_column
from omr.records import Flag, SheetReading, Status
from web_support import TestClient, csrf, login_and_change_password, rows

NATIONAL = ROOT / "answer_keys" / "national2025"
STRIP = 150                  # the fills strip right of a numeric answer's crop


def _grade(scan: Path, contest: Path, url: str) -> None:
    g = subprocess.run([sys.executable, "-m", "grading.cli", "grade", str(scan), "--contest", str(contest), "--db",
                        url, "--workers", "1"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert g.returncode in (0, 3), g.stderr


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    from samples import national as nat

    d = tmp_path_factory.mktemp("national-pictures")
    contest = d / "contest"
    shutil.copytree(NATIONAL, contest)
    layout = load_layout(contest)
    with mock.patch.dict(nat.NUMERIC_FREQ, {"blank": 0.0, "double_in_column": 1.0, "erased_then_written": 0.0}):
        truth = nat.generate_set(layout, d / "set", profile="scanner", n=1, seed=11, versions=("101",), dpi=200)[0]
    scan = d / "set" / truth["file"]
    url = f"sqlite:///{d / 'results.sqlite'}"
    _grade(scan, contest, url)
    with Store.open(url) as store:
        page_id = next(pages_to_annotate(store)).page_id
    flags = {k: (fid, reason, message, json.loads(fills) if isinstance(fills, str) else fills)
             for fid, k, reason, message, fills in rows(
                 url, "SELECT id, key, reason, message, fills FROM flags WHERE key LIKE 'III.%'")}
    return {"contest": contest, "layout": layout, "url": url, "page_id": page_id, "truth": truth, "flags": flags,
            "scan": scan}


def _window(layout, groups, margin_mm=9.0):
    s = PX_PER_MM
    ys = [layout.centres_mm[i][0] for g in groups for i in g.indices]
    xs = [layout.centres_mm[i][1] for g in groups for i in g.indices]
    return max(0, int((min(xs) - 2 * margin_mm) * s)), max(0, int((min(ys) - margin_mm) * s))


def _mean_in(img, x, y, r):
    disc = np.zeros(img.shape[:2], np.uint8)
    cv2.circle(disc, (int(round(x)), int(round(y))), int(r), 255, -1)
    return float(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[disc > 0].mean())


@pytest.mark.slow
def test_a_flagged_numeric_answer_shows_its_columns_with_the_flagged_columns_fills(national):
    layout, flags, truth = national["layout"], national["flags"], national["truth"]
    assert {"III.1", "III.2"} <= set(flags) and all(f[1] == "multiple_marks_in_column" for f in flags.values())
    s = PX_PER_MM
    with Store.open(national["url"]) as store:
        canvas = page_canvas(store, layout, national["page_id"]).image
        assert canvas.shape[1] == int(round(210 * s)) and canvas.shape[0] > int(round(297 * s))
        pics = {}
        for q in ("III.1", "III.2"):
            _, reason, message, fills = flags[q]
            col = flagged_column(reason, message)
            cols = numeric_columns(layout, q)
            assert col is not None and 1 <= col <= len(cols) and len(fills) == cols[col - 1].size
            pic = question_picture(store, layout, national["page_id"], q, fills, column=col, scale=1.0)
            pics[q] = pic
            body = pic[:, :-STRIP]
            left, top = _window(layout, cols)
            cut = canvas[top:top + body.shape[0], left:left + body.shape[1]]
            assert body.shape == cut.shape and body.shape[0] > 11 * 4 * s        # eleven bubbles tall at least
            # the same straightened page: only the flagged column's box differs from the whole page's pixels
            differs = np.abs(body.astype(int) - cut.astype(int)).max(axis=2) > 2
            assert differs.mean() < 0.05, q
            assert np.all(body == np.array(ORANGE, np.uint8), axis=-1).sum() > 100 + np.all(
                cut == np.array(ORANGE, np.uint8), axis=-1).sum()
            assert (pic[:, -STRIP:] != 255).any()                             # the fills are written
            # the pixels show what was written: in a column without the second mark, its digit's bubble is dark
            text = truth["answers"][q]
            k = next(k for k in range(len(text)) if k != col - 1)
            g = cols[k]
            marked = g.first + g.labels.index(text[k])
            empty = g.first + next(j for j, lab in enumerate(g.labels) if lab != text[k])
            r = layout.bubble_r_mm * s * 0.6
            at = {i: (layout.centres_mm[i][1] * s - left, layout.centres_mm[i][0] * s - top) for i in (marked, empty)}
            assert _mean_in(body, *at[marked], r) < 130 < _mean_in(body, *at[empty], r), q
    assert pics["III.1"].shape != pics["III.2"].shape or np.abs(
        pics["III.1"].astype(int) - pics["III.2"].astype(int)).mean() > 5


@pytest.mark.slow
def test_a_true_false_statement_crop_writes_its_d_and_s_fills(national):
    layout = national["layout"]
    with Store.open(national["url"]) as store:
        pic = question_picture(store, layout, national["page_id"], "II.1a", [0.61, 0.04], scale=1.0)
        other = question_picture(store, layout, national["page_id"], "II.5c", [0.61, 0.04], scale=1.0)
    assert pic.shape[2] == 3 and pic.shape[0] > 34 + 50
    assert (pic[-34:] != 255).any() and np.abs(pic[:-34].astype(int) - other[:-34].astype(int)).mean() > 5


@pytest.mark.slow
def test_the_flag_page_of_a_numeric_answer_asks_for_the_number_and_resolves_it(national):
    url, contest, layout = national["url"], national["contest"], national["layout"]
    fid, _, _, _ = national["flags"]["III.2"]
    key = load_contest(contest).keys.get("101")
    right = next(it.numbers[0] for it in key.items if it.question == "III.2")
    # a Đúng/Sai statement flagged on another page of the same scan (a synthetic reading)
    tf = Flag("question", "II.1a", "ambiguous_mark", "Câu II.1a: ô tô mờ", 0.4, (0.35, 0.03))
    rec = SheetReading(source=str(national["scan"]), page=1, layout=layout.id, status=Status.FLAGGED,
                       participant="000777", version="101", answers={"II.1a": ""}, flags=(tf,))
    with Store.open(url) as store:
        store.record_submission(str(national["scan"]), sha("tf"), 100, [rec], load_contest(contest).keys)
        password = add_judge(store, "gk1", unit="Hội đồng thi")
        tf_id = rows(url, "SELECT id FROM flags WHERE key = 'II.1a'")[0][0]
        app = create_app(store, layout, contest_dir=contest)
        with TestClient(app, follow_redirects=False) as c:
            login_and_change_password(c, "gk1", password)
            first = national["flags"]["III.1"][0]
            assert c.get(f"/flags/{first}").status_code == 200        # draws the next flags' pictures ahead
            _, reason, message, fills = national["flags"]["III.2"]
            ahead = c.get(f"/flags/{fid}/crop.png").content
            own = question_picture(store, layout, national["page_id"], "III.2", fills,
                                   column=flagged_column(reason, message))
            got = cv2.imdecode(np.frombuffer(ahead, np.uint8), cv2.IMREAD_COLOR)
            assert got.shape == own.shape and np.array_equal(got, own)   # the flagged column's fills, not column 1's
            html = c.get(f"/flags/{fid}").text
            assert 'id="value"' in html and 'pattern="-?[0-9]+(,[0-9]+)?"' in html and 'id="numeric-blank"' in html
            assert 'class="answer">' not in html                       # no A/B/C/D buttons for a number
            crop = c.get(f"/flags/{fid}/crop.png")
            assert crop.status_code == 200 and crop.headers["content-type"] == "image/png"
            assert crop.content[:8] == b"\x89PNG\r\n\x1a\n"
            shown = cv2.imdecode(np.frombuffer(crop.content, np.uint8), cv2.IMREAD_COLOR)
            assert shown.shape[0] > 200 and shown.shape[1] > STRIP
            page = c.get(f"/pages/{national['page_id']}/image")
            assert page.status_code == 200 and page.content[:4] == b"\x89PNG"
            tf_html = c.get(f"/flags/{tf_id}").text
            assert 'value="Đ" data-key="d"' in tf_html and 'value="S" data-key="s"' in tf_html
            assert 'data-key="0"' in tf_html and 'id="other-value"' not in tf_html and 'id="value"' not in tf_html
            r = c.post(f"/flags/{fid}/resolve", data={"csrf": csrf(html), "value": "1,,2"})
            assert r.status_code == 400 and "không hợp lệ" in r.text
            r = c.post(f"/flags/{fid}/resolve", data={"csrf": csrf(html), "value": right})
            assert r.status_code == 303
    assert rows(url, f"SELECT state, resolved_by FROM flags WHERE id = {fid}") == [("resolved", "gk1")]
    questions = json.loads(rows(url, f"SELECT questions FROM scores WHERE page_id = {national['page_id']}")[0][0])
    assert (questions["III.2"]["marked"], questions["III.2"]["outcome"]) == (right, "correct")


@pytest.mark.slow
def test_an_omrchecker_layouts_flagged_question_has_its_crop_page_and_flag_page(tmp_path):
    from omr.omrchecker import import_folder
    from samples import foreign as fo

    fo.write_omrchecker_folder(tmp_path / "omr", "page", questions=20)
    import_folder(tmp_path / "omr", tmp_path / "contest")
    layout = load_layout(tmp_path / "contest")
    fo.generate_set(layout, tmp_path / "set", profile="scanner", n=1, seed=3, dpi=150)
    scan = tmp_path / "set" / "sheets" / "00001.jpg"
    url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    _grade(scan, tmp_path / "contest", url)
    with Store.open(url) as store:
        page_id = next(pages_to_annotate(store)).page_id
        canvas = page_canvas(store, layout, page_id).image
        assert canvas.shape[1] == int(round(layout.width_mm * PX_PER_MM))
        one = question_picture(store, layout, page_id, "q1", [0.1, 0.7, 0.0, 0.0])
        five = question_picture(store, layout, page_id, "q5", [0.1, 0.7, 0.0, 0.0])
        assert one.shape[0] > 100 and np.abs(one.astype(int) - five.astype(int)).mean() > 5
        # a flag on q3 (a synthetic reading of the same scan), seen and decided over HTTP
        flag = Flag("question", "q3", "ambiguous_mark", "Câu q3: ô tô mờ", 0.4, (0.3, 0.02, 0.01, 0.02))
        rec = SheetReading(source=str(scan), page=1, layout=layout.id, status=Status.FLAGGED, participant="123456789",
                           version=None, answers={"q3": ""}, flags=(flag,))
        store.record_submission(str(scan), sha("q3"), 100, [rec], load_contest(tmp_path / "contest").keys)
        fid = rows(url, "SELECT id FROM flags WHERE key = 'q3'")[0][0]
        password = add_judge(store, "gk1", unit="Hội đồng")
        app = create_app(store, layout, contest_dir=tmp_path / "contest")
        with TestClient(app, follow_redirects=False) as c:
            login_and_change_password(c, "gk1", password)
            assert 'value="A" data-key="a"' in c.get(f"/flags/{fid}").text
            crop = c.get(f"/flags/{fid}/crop.png")
            assert crop.status_code == 200 and crop.content[:4] == b"\x89PNG"


def test_the_overlay_draws_numeric_answers_in_their_outcomes_colours_and_the_digits_read():
    from grading.reports.annotate import BLUE, GREEN, NEUTRAL, RED, PageToAnnotate, overlay

    contest = load_contest(NATIONAL)
    layout, key = contest.layout, contest.keys.get("101")
    page = PageToAnnotate(1, "x.jpg", 1, "012345", "101",
                          {"III.1": {"outcome": "wrong", "marked": "-1,7"}, "III.2": {"outcome": "correct",
                                                                                     "marked": "12"}},
                          key, ())
    s = PX_PER_MM
    img = overlay(np.full((int(297 * s), int(210 * s), 3), 255, np.uint8), layout, page, legend=False)

    def count(q, colour, above=0.0):
        cols = numeric_columns(layout, q)
        ys = [layout.centres_mm[i][0] for g in cols for i in g.indices]
        xs = [layout.centres_mm[i][1] for g in cols for i in g.indices]
        y0, y1 = int((min(ys) - 6 - above) * s), int((max(ys) + 3) * s) if not above else int(min(ys) * s)
        patch = img[y0:y1, int((min(xs) - 3) * s):int((max(xs) + (8 if above else 3)) * s)]
        return int(np.all(patch == np.array(colour, np.uint8), axis=-1).sum())

    assert count("III.1", RED) > 200 and count("III.1", GREEN) == 0
    assert count("III.1", BLUE, above=6) > 10                  # the key's number written beside the one read
    assert count("III.2", GREEN) > 200 and count("III.2", RED) == 0
    g = next(g for g in layout.digit_groups(GroupKind.PARTICIPANT) if g.key == "2")   # "1" read in column 2
    y, x = layout.centres_mm[g.first + 1] * s
    assert np.all(img[int(y) - 20:int(y) + 21, int(x) - 20:int(x) + 21] == np.array(NEUTRAL, np.uint8), axis=-1).sum()


@pytest.mark.slow
def test_omr_annotate_writes_the_national_sheet(national, tmp_path):
    from grading.reports.annotate import annotate

    with Store.open(national["url"]) as store:
        written, problems = annotate(store, national["layout"], tmp_path / "out")
    assert problems == [] and written >= 1
    img = cv2.imread(str(sorted((tmp_path / "out").glob("*.jpg"))[0]))
    assert img.shape[1] == int(round(210 * PX_PER_MM))


@pytest.mark.slow
def test_the_grid_decides_true_false_statements_with_d_and_s_and_shows_a_numeric_columns_fills(tmp_path):
    """In Chromium: "d" picks Đ and "s" picks S on a grid of Đúng/Sai statements; a numeric answer's cell lists
    its flagged column's labels with their fills."""
    import httpx
    from playwright.sync_api import sync_playwright

    from web_support import CHROMIUM, CHROMIUM_ARGS, NEW_PASSWORD, live_server, wait_until

    contest = tmp_path / "contest"
    shutil.copytree(NATIONAL, contest)
    c = load_contest(contest)
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    (contest / "out").mkdir()
    col = Flag("question", "III.3", "multiple_marks_in_column", "Câu III.3: cột 2 tô nhiều hơn một ô, cần người chấm "
               "xem lại", 0.5, (0.9,) + (0.05,) * 9 + (0.8,))
    with Store.open(url) as store:
        for i, q in enumerate(("II.1a", "II.2b")):
            tf = Flag("question", q, "ambiguous_mark", f"Câu {q}: ô tô mờ", 0.4, (0.33, 0.03))
            rec = SheetReading(source=f"/scans/{i}.jpg", page=1, layout=c.layout.id, status=Status.FLAGGED,
                               participant=f"00000{i}", version="101", answers={q: ""}, flags=(tf,))
            store.record_submission(f"/scans/{i}.jpg", sha(q), 100, [rec], c.keys)
        rec = SheetReading(source="/scans/n.jpg", page=1, layout=c.layout.id, status=Status.FLAGGED,
                           participant="000009", version="101", answers={"III.3": "-?"}, flags=(col,))
        store.record_submission("/scans/n.jpg", sha("n"), 100, [rec], c.keys)
        password = add_judge(store, "gk1", unit="Hội đồng thi")
    tf_ids = [r[0] for r in rows(url, "SELECT id FROM flags WHERE key LIKE 'II.%' ORDER BY id")]
    with live_server(contest, tmp_path / "server.log") as base:
        with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as http:
            login_and_change_password(http, "gk1", password)
            numeric = http.get("/flags/grid", params={"reason": "multiple_marks_in_column"}).text
        assert '<li data-option=","><b>,</b> 0,90</li>' in numeric and "<b>9</b> 0,80" in numeric
        assert "Duyệt dạng lưới: Một cột của câu trả lời số tô nhiều ô" in numeric
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = b.new_context(viewport={"width": 1100, "height": 820}, locale="vi-VN").new_page()
                page.goto(base + "/login")
                page.fill("#username", "gk1")
                page.fill("#password", NEW_PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url("**/flags")
                page.goto(base + "/flags/grid?reason=ambiguous_mark")
                wait_until(page, "document.activeElement && document.activeElement.classList.contains('cell')")
                page.keyboard.press("d")
                page.keyboard.press("s")
                for fid in tf_ids:
                    wait_until(page, f"document.getElementById('cell-{fid}').getAttribute('data-state') === 'done'")
            finally:
                b.close()
    got = rows(url, "SELECT id, resolution FROM flags WHERE key LIKE 'II.%' ORDER BY id")
    assert [json.loads(r)["value"] for _, r in got] == ["Đ", "S"]
