"""Judges' time: the same flags decided on the one-at-a-time flag page and on the grid review, in Chromium.

    .venv/bin/python -m bench.grid_bench [--flags 100] [--grid-size 30] [--width 1280 --height 900]

The store: ``--flags`` demo sheets (version 101) each with one question flagged ``ambiguous_mark`` (a faint mark
read as blank; the question cycles over seven questions so the crops differ), recorded through
``Store.record_submission`` with one real scan as their source — a rendered demo sheet, rasterised at 150 dpi, with
every answer filled and those seven faint — so every crop is drawn from a real image. The same store (a copy) is
worked twice by a judge in a live ``omr review`` driven by Playwright (Debian's Chromium), who waits for each crop
to be on screen and types the right answer:

* one at a time: from the queue's first flag of the reason, one key per flag; the page goes on to the next flag;
* grid: ``/flags/grid?reason=…`` (the queue's grid link), one key per cell; when a batch is done, ``n`` loads the
  next one.

Counted by the script: keys pressed (every ``keyboard.press``) and page loads (main-frame navigations, the first
page included), per decision; and the seconds per decision (wall time, crops drawn on this machine). Each run is
checked in the store: every flag resolved with the right answer, one resolution and one audit row each.
"""
from __future__ import annotations

import argparse
import hashlib
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

from bench.read_bench import ROOT, commit, machine
from bench.web_bench import PASSWORD, logged_in, review

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
REASON = "ambiguous_mark"
FAINT = ("2", "13", "27", "41", "58", "77", "96")
PPM = 150 / 25.4


@dataclass
class Run:
    decisions: int = 0
    keys: int = 0
    loads: int = 0
    seconds: float = 0.0


def right_answers() -> dict[str, str]:
    from grading.keys import load_keys
    from omr.layout import load_layout

    demo = ROOT / "answer_keys" / "demo"
    key = load_keys(demo / "keys.json", load_layout(demo)).get("101")
    return {it.question: it.accept_text()[0] for it in key.items}


def scan(out: Path) -> Path:
    """A demo sheet as a 150-dpi scan: every answer of version 101 filled, the ``FAINT`` questions lightly."""
    import cv2

    from omr.layout import GroupKind, load_layout
    from omr.load.pdf import pdftoppm
    from omr.sheet import Participant, render_sheets

    L = load_layout(ROOT / "answer_keys" / "demo")
    render_sheets(L, out / "sheet.pdf", participants=[Participant("000201", "Lê Thu Hà", "10A3")])
    img = pdftoppm(out / "sheet.pdf", 1, 150, timeout=60)
    answers = right_answers()

    def fill(idx: int, grey: int = 40, frac: float = 0.85) -> None:
        y, x = L.centres_mm[idx]
        cv2.circle(img, (int(round(x * PPM)), int(round(y * PPM))), int(L.bubble_r_mm * frac * PPM), grey, -1)

    for g in L.question_groups:
        fill(g.first + g.labels.index(answers[g.key]), *((175, 0.7) if g.key in FAINT else ()))
    for kind, value in ((GroupKind.PARTICIPANT, "000201"), (GroupKind.VERSION, "101")):
        for digit, g in zip(value, L.digit_groups(kind)):
            fill(g.first + int(digit))
    path = out / "scan.jpg"
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return path


def build_store(contest: Path, url: str, image: Path, n: int) -> dict[int, str]:
    """``n`` sheets with one faint question each (source: ``image``); returns {flag id: the right answer}."""
    from grading.keys import load_keys
    from grading.store import Store
    from omr.layout import load_layout
    from omr.records import Flag, SheetReading, Status

    keys = load_keys(contest / "keys.json", load_layout(contest / "layout.json"))
    right = right_answers()
    with Store.open(url) as store:
        for k in range(n):
            q = FAINT[k % len(FAINT)]
            answers = {**right, q: ""}
            at = "ABCD".index(right[q])
            flag = Flag(target="question", key=q, reason=REASON, message=f"question {q}: a mark between blank and "
                        "filled; check it", confidence=0.35, values=tuple(0.31 if i == at else 0.04 for i in range(4)))
            pid = f"{k + 1:06d}"
            reading = SheetReading(source=str(image), page=1, layout="demo-a4-100", status=Status.FLAGGED,
                                   participant=pid, version="101", answers=answers, flags=(flag,),
                                   participant_bubbles=pid, version_bubbles="101")
            store.record_submission(str(image), hashlib.sha256(f"grid bench {k}".encode()).hexdigest(), 1000,
                                    [reading], keys)
        with store.read_tx("the flags") as conn:
            got = conn.execute(sa.text("SELECT id, key FROM flags ORDER BY id")).all()
    return {int(fid): right[key] for fid, key in got}


def one_at_a_time(page, base: str, first: int, answers: dict[int, str], run: Run) -> None:
    page.goto(f"{base}/flags/{first}?" + urlencode({"reason": REASON}))
    while "/flags/" in page.url and "/flags?" not in page.url:
        fid = int(page.url.split("/flags/")[1].split("?")[0])
        wait(page, "document.getElementById('crop').complete && document.getElementById('crop').naturalWidth > 0")
        with page.expect_navigation():
            page.keyboard.press(answers[fid].lower())
            run.keys += 1
        run.decisions += 1


def grid(page, base: str, answers: dict[int, str], run: Run, size: int, shots: Path | None = None) -> None:
    page.goto(f"{base}/flags/grid?" + urlencode({"reason": REASON, **({"n": size} if size != 30 else {})}))
    if shots is not None:
        screenshot(page, shots)
    while True:
        ids = [int(x) for x in page.eval_on_selector_all(".cell", "cs => cs.map(c => c.dataset.id)")]
        if not ids:
            return
        for fid in ids:
            wait(page, f"document.activeElement.id === 'cell-{fid}'")
            wait(page, f"(i => i.complete && i.naturalWidth > 0)(document.querySelector('#cell-{fid} img'))")
            page.keyboard.press(answers[fid].lower())
            run.keys += 1
            run.decisions += 1
        wait(page, "!document.getElementById('grid-done').hidden")
        if page.get_attribute("#next-batch", "href").startswith("/flags?") or \
                page.get_attribute("#next-batch", "href") == "/flags":
            return
        with page.expect_navigation():
            page.keyboard.press("n")
            run.keys += 1


def screenshot(page, shots: Path) -> None:
    """The grid as the judge first sees it, at the bench's size and on a phone (not counted: another tab)."""
    shots.mkdir(parents=True, exist_ok=True)
    wait(page, "[...document.querySelectorAll('.cell img')].slice(0, 6).every(i => i.complete && i.naturalWidth)")
    page.screenshot(path=str(shots / "grid.png"))
    phone = page.context.new_page()
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.goto(page.url)
    wait(phone, "[...document.querySelectorAll('.cell img')].slice(0, 2).every(i => i.complete && i.naturalWidth)")
    phone.screenshot(path=str(shots / "grid-phone.png"))
    phone.close()


def wait(page, js: str, timeout: float = 60.0) -> None:
    """Wait until ``js`` is true in the page (``evaluate``: the app's CSP forbids the eval of wait_for_function)."""
    end = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({js})"):
        if time.monotonic() > end:
            raise SystemExit(f"not true after {timeout} s in {page.url}: {js}")
        page.wait_for_timeout(20)


def work(mode: str, contest: Path, url: str, answers: dict[int, str], tmp: Path, args: argparse.Namespace) -> Run:
    from playwright.sync_api import sync_playwright

    from grading.judges import add_judge
    from grading.store import Store

    with Store.open(url) as store:
        one_time = add_judge(store, "gk1", unit="Ban giám khảo")
    run = Run()
    with review(contest, url, tmp / f"review-{mode}.log") as base, sync_playwright() as pw:
        logged_in(base, "gk1", one_time).close()           # the one-time password changed to PASSWORD
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": args.width, "height": args.height},
                                       locale="vi-VN").new_page()
            page.goto(base + "/login")
            page.fill("#username", "gk1")
            page.fill("#password", PASSWORD)
            with page.expect_navigation():
                page.click("button[type=submit]")
            page.on("framenavigated", lambda f: setattr(run, "loads", run.loads + (f == page.main_frame)))
            t = time.perf_counter()
            if mode == "one at a time":
                one_at_a_time(page, base, min(answers), answers, run)
            else:
                grid(page, base, answers, run, args.grid_size, Path(args.shots) if args.shots else None)
            run.seconds = time.perf_counter() - t
        finally:
            browser.close()
    check(url, answers, run)
    return run


def check(url: str, answers: dict[int, str], run: Run) -> None:
    from grading.store import Store

    with Store.open(url) as store, store.read_tx("check") as conn:
        got = {int(i): (s, r) for i, s, r in conn.execute(sa.text("SELECT id, state, resolution FROM flags"))}
        n_res = conn.execute(sa.text("SELECT count(*) FROM resolutions")).scalar()
        n_audit = conn.execute(sa.text("SELECT count(*) FROM audit WHERE action = 'resolve_flag'")).scalar()
    wrong = [f for f, v in answers.items() if got[f][0] != "resolved" or f'"{v}"' not in str(got[f][1])]
    if wrong or n_res != len(answers) or n_audit != len(answers) or run.decisions != len(answers):
        raise SystemExit(f"the store does not hold the decisions: wrong {wrong[:5]}, {n_res} resolutions, "
                         f"{n_audit} audit rows, {run.decisions} decisions for {len(answers)} flags")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--flags", type=int, default=100)
    ap.add_argument("--grid-size", type=int, default=30, help="cells per grid page (20–50)")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--shots", help="a folder to save screenshots of the first grid in (desktop and 360 px)")
    args = ap.parse_args(argv)
    print(f"$ python -m bench.grid_bench {shlex.join(argv if argv is not None else sys.argv[1:])}")
    print(f"machine: {machine()}; commit {commit()}; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    with tempfile.TemporaryDirectory(prefix="omr-grid-bench-") as tmp_s:
        tmp = Path(tmp_s)
        contest = tmp / "contest"
        contest.mkdir()
        for name in ("layout.json", "keys.json"):
            shutil.copy(ROOT / "answer_keys" / "demo" / name, contest / name)
        template = tmp / "template.sqlite"
        answers = build_store(contest, f"sqlite:///{template}", scan(tmp), args.flags)
        print(f"{len(answers)} open flags ({REASON}), one per sheet, crops drawn from a real 150-dpi scan; "
              f"Chromium {args.width}×{args.height}, grid of {args.grid_size}")
        print(f"  {'':14} {'decisions':>9} {'keys':>5} {'loads':>5} {'keys/decision':>14} {'loads/decision':>15} "
              f"{'s/decision':>11}")
        for mode in ("one at a time", "grid"):
            db = tmp / f"{mode.replace(' ', '-')}.sqlite"
            shutil.copy(template, db)
            r = work(mode, contest, f"sqlite:///{db}", answers, tmp, args)
            print(f"  {mode:14} {r.decisions:9d} {r.keys:5d} {r.loads:5d} {r.keys / r.decisions:14.3f} "
                  f"{r.loads / r.decisions:15.3f} {r.seconds / r.decisions:11.3f}")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
