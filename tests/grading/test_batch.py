"""``omr grade`` / ``status`` / ``flags`` / ``resolve`` / ``rescore`` end to end, over marked sheet images.

Inputs are built here without the sample generator: the demo sheet is rendered (personalised from a roster, or
blank), rasterised with pdftoppm at 150 dpi, and bubbles are filled with dark discs at the layout's centres.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from grading.hashing import duplicate_digest, file_digest
from grading.keys import load_keys
from grading.store import Store
from omr.errors import ExitCode
from omr.layout import GroupKind
from omr.sheet import Participant, render_sheets

from grading_support import DEMO, ROOT, db_rows, omr
from process_support import ProcessTree

DPI = 150
PPM = DPI / 25.4
ROSTER = [Participant("000101", "Đỗ Minh Châu", "10A1"), Participant("000102", "Nguyễn Thị Ánh", "10A2"),
          Participant("000103", "Trần Văn Bình", "10A1")]


# -- building inputs ------------------------------------------------------------------------------------------
def rasterise(pdf: Path, page: int = 1) -> np.ndarray:
    png = subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-f", str(page), "-l", str(page), "-png", str(pdf)],
                         check=True, capture_output=True, timeout=60).stdout
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)


def fill(img: np.ndarray, layout, idx: int, grey: int = 40, frac: float = 0.85) -> None:
    y, x = layout.centres_mm[idx]                      # (row, col) in mm
    cv2.circle(img, (int(round(x * PPM)), int(round(y * PPM))), int(layout.bubble_r_mm * frac * PPM), grey, -1)


def marked(blank: np.ndarray, layout, answers: dict[str, str], participant: str | None, version: str | None
           ) -> np.ndarray:
    img = blank.copy()
    for g in layout.question_groups:
        for lab in answers.get(g.key, ""):
            fill(img, layout, g.first + g.labels.index(lab))
    for kind, value in ((GroupKind.PARTICIPANT, participant), (GroupKind.VERSION, version)):
        for d, g in zip(value or "", layout.digit_groups(kind)):
            fill(img, layout, g.first + int(d))
    return img


def jpeg(img: np.ndarray, quality: int = 80) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def key_answers(layout, version: str) -> dict[str, str]:
    key = load_keys(DEMO, layout).get(version)
    return {it.question: it.accept_text()[0] for it in key.items}


def wrong(layout, answers: dict[str, str]) -> dict[str, str]:
    opts = layout.question_groups[0].labels
    return {q: opts[(opts.index(a) + 1) % len(opts)] for q, a in answers.items()}


@pytest.fixture(scope="session")
def pages(tmp_path_factory, demo_layout) -> dict[str, np.ndarray]:
    """Rasterised sheets: one personalised per roster participant, and a blank one."""
    d = tmp_path_factory.mktemp("sheets")
    render_sheets(demo_layout, d / "roster.pdf", participants=ROSTER)
    render_sheets(demo_layout, d / "blank.pdf", copies=1)
    out = {p.id: rasterise(d / "roster.pdf", i + 1) for i, p in enumerate(ROSTER)}
    out["blank"] = rasterise(d / "blank.pdf")
    return out


HAND_MARKED = Participant("000104", "Lê Thị Dung", "")     # on the roster; d1 is a blank sheet with the id marked


def make_contest(folder: Path, *, roster: bool = True, extra: tuple[Participant, ...] = (HAND_MARKED,)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("layout.json", "keys.json"):
        shutil.copy(DEMO / name, folder / name)
    if roster:
        lines = ["participant_id,name,unit"] + [f"{p.id},{p.name},{p.unit}" for p in (*ROSTER, *extra)]
        (folder / "roster.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def totals(url: str) -> dict[str, str]:
    return dict(db_rows(url, "SELECT p.participant, s.total FROM scores s JOIN pages p ON p.id = s.page_id"))


# -- expected scores (demo keys: 1/5 per question; Phần II wrong answers cost 1/20) ---------------------------
@pytest.fixture(scope="session")
def scans(tmp_path_factory, pages, demo_layout) -> dict[str, Path]:
    """a: all correct (20); b: Phần I correct, Phần II wrong (10 − 50/20 = 15/2); c: all correct but a faint
    mark on 2 (flagged, 0 until resolved) and 3 left blank (98/5); d1: a blank sheet (not personalised) whose id
    is marked by hand, all correct (20)."""
    L = demo_layout
    d = tmp_path_factory.mktemp("scans")
    k101, k102, k103, k104 = (key_answers(L, v) for v in ("101", "102", "103", "104"))
    b = {q: (a if int(q) <= 50 else wrong(L, {q: a})[q]) for q, a in k102.items()}
    c = {q: a for q, a in k103.items() if q not in ("2", "3")}
    img_c = marked(pages["000103"], L, c, "000103", "103")
    g2 = L.question_groups[1]
    fill(img_c, L, g2.first + g2.labels.index(k103["2"]), grey=175, frac=0.7)
    files = {
        "a.jpg": jpeg(marked(pages["000101"], L, k101, "000101", "101")),
        "b.jpg": jpeg(marked(pages["000102"], L, b, "000102", "102")),
        "c.jpg": jpeg(img_c),
        "d1.jpg": jpeg(marked(pages["blank"], L, k104, "000104", "104")),
    }
    files["d2.jpg"] = files["d1.jpg"]
    files["copy-of-a.jpg"] = files["a.jpg"]
    files["broken.jpg"] = files["b.jpg"][:6000]
    for name, data in files.items():
        (d / name).write_bytes(data)
    (d / "notes.txt").write_text("bài làm của thí sinh 000105 bị thất lạc\n", encoding="utf-8")
    return {name: d / name for name in [*files, "notes.txt"]}


# -- the tests ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_grade_end_to_end_resolve_rerun_rescore_status(tmp_path, scans, demo_layout):
    contest = make_contest(tmp_path / "contest")
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    c_ = ["--contest", str(contest)]

    p = omr("grade", str(scans["a.jpg"]), str(scans["b.jpg"]), *c_, "--workers", "2", "--unit", "Quận Ba Đình")
    assert p.returncode == ExitCode.OK, p.stderr
    assert (contest / "out" / "results.sqlite").is_file()
    assert totals(url) == {"000101": "20", "000102": "15/2"}

    p = omr("grade", str(scans["a.jpg"]), str(scans["b.jpg"]), str(scans["c.jpg"]), *c_, "--workers", "1")
    assert p.returncode == ExitCode.FINISHED_WITH_FLAGS, p.stderr
    assert "ghi mới 1 · 2 đã có từ trước" in p.stdout
    assert totals(url)["000103"] == "98/5"

    folder = scans["a.jpg"].parent
    runs = []
    for _ in range(2):       # the whole folder, twice: the second run adds nothing and says the same
        runs.append(omr("grade", str(folder), *c_, "--workers", "2"))
        assert runs[-1].returncode == ExitCode.FINISHED_WITH_REJECTS, runs[-1].stderr
    assert "ghi mới 0 · 8 đã có từ trước" in runs[1].stdout
    subs = db_rows(url, "SELECT source, status FROM submissions ORDER BY id")
    assert len(subs) == 8
    # the unit given with --unit stays with the files recorded then; the later runs (no --unit) did not erase it
    units = {Path(s).name: u for s, u in db_rows(url, "SELECT source, unit FROM submissions")}
    assert units["a.jpg"] == units["b.jpg"] == "Quận Ba Đình" and units["c.jpg"] is None
    status = {Path(s).name: st for s, st in subs}
    assert status == {"a.jpg": "ok", "b.jpg": "ok", "c.jpg": "flagged", "d1.jpg": "ok", "d2.jpg": "rejected",
                      "copy-of-a.jpg": "rejected", "broken.jpg": "rejected", "notes.txt": "rejected"}
    reasons = {Path(s).name: (code, reason) for s, code, reason in db_rows(
        url, "SELECT s.source, p.reason_code, p.reason FROM pages p JOIN submissions s ON s.id = p.submission_id "
             "WHERE p.status = 'rejected'")}
    assert reasons["d2.jpg"][0] == "duplicate" and f"duplicate of {scans['d1.jpg']}" in reasons["d2.jpg"][1]
    assert reasons["copy-of-a.jpg"][0] == "duplicate"
    assert f"duplicate of {scans['a.jpg']}" in reasons["copy-of-a.jpg"][1]
    assert reasons["broken.jpg"][0] == "truncated"
    assert reasons["notes.txt"][0] == "unsupported_type"
    # the duplicate's stored hash is derived from its content and its own path (so re-runs skip it)
    digest, _ = file_digest(str(scans["d2.jpg"]))
    assert db_rows(url, f"SELECT count(*) FROM submissions WHERE content_hash = "
                        f"'{duplicate_digest(digest, str(scans['d2.jpg']))}'") == [(1,)]
    assert totals(url) == {"000101": "20", "000102": "15/2", "000103": "98/5", "000104": "20"}
    counts_before = [db_rows(url, f"SELECT count(*) FROM {t}")[0][0] for t in ("submissions", "pages", "scores",
                                                                            "flags")]
    assert counts_before == [8, 8, 4, 1]

    # the summary table: files and pages by status, with reasons
    out = runs[1].stdout
    assert "đã chấm (ổn)         3       3" in out and "cần xem              1       1" in out
    assert "bị loại              4       4" in out and "tổng                 8       8" in out
    assert "bị loại vì: duplicate 2, truncated 1, unsupported_type 1" in out
    assert "cờ chưa xử lý theo lý do: ambiguous_mark 1" in out

    st = omr("status", *c_)
    assert st.returncode == ExitCode.OK, st.stderr
    assert out.rstrip().endswith("\n".join(st.stdout.rstrip().splitlines()[1:]))

    fl = omr("flags", *c_, "--json")
    assert fl.returncode == 0, fl.stderr
    (flag,) = json.loads(fl.stdout)
    assert (Path(flag["source"]).name, flag["page"], flag["target"], flag["key"], flag["reason"]) == \
        ("c.jpg", 1, "question", "2", "ambiguous_mark")
    table = omr("flags", *c_).stdout.splitlines()
    assert table[0].split() == ["id", "source", "page", "participant", "target", "key", "reason", "message"]
    assert table[1].split()[:7] == [str(flag["id"]), str(scans["c.jpg"]), "1", "000103", "question", "2",
                                    "ambiguous_mark"]

    bad = omr("resolve", str(flag["id"]), "X", *c_, "--who", "giám khảo 1")
    assert bad.returncode == ExitCode.BAD_ARGS and "not an answer to question 2" in bad.stderr
    k103 = key_answers(demo_layout, "103")
    res = omr("resolve", str(flag["id"]), k103["2"].lower(), *c_, "--who", "giám khảo 1")
    assert res.returncode == 0, res.stderr
    assert "tổng điểm 19,8 / 20 (chính xác 99/5)" in res.stdout
    assert totals(url)["000103"] == "99/5"

    again = omr("grade", str(folder), *c_, "--workers", "2")         # the decision survives a re-run
    assert again.returncode == ExitCode.FINISHED_WITH_REJECTS
    assert [db_rows(url, f"SELECT count(*) FROM {t}")[0][0] for t in ("submissions", "pages", "scores", "flags")] \
        == counts_before
    assert totals(url)["000103"] == "99/5"
    assert db_rows(url, "SELECT state, resolved_by FROM flags") == [("resolved", "giám khảo 1")]
    assert "cờ chưa xử lý: 0 · cờ đã xử lý: 1" in again.stdout and "theo lý do: ambiguous" not in again.stdout
    assert "đã chấm (ổn)         4       4" in again.stdout

    # new keys: question 3 of version 103 cancelled ("award"): c's blank 3 now counts; a, b, d unchanged
    keys = json.loads((contest / "keys.json").read_text(encoding="utf-8"))
    keys["versions"]["103"]["questions"] = {"3": {"cancelled": "award"}}
    (contest / "keys.json").write_text(json.dumps(keys, ensure_ascii=False), encoding="utf-8")
    rs = omr("rescore", *c_, "--who", "trưởng ban")
    assert rs.returncode == 0, rs.stderr
    assert "đã chấm lại 4 trang" in rs.stdout
    assert totals(url) == {"000101": "20", "000102": "15/2", "000103": "20", "000104": "20"}
    assert db_rows(url, "SELECT who, action FROM audit ORDER BY id") == [("giám khảo 1", "resolve_flag"),
                                                                       ("trưởng ban", "rescore")]
    assert db_rows(url, "SELECT count(*) FROM resolutions") == [(1,)]

    ex = omr("export", *c_, "--out", str(tmp_path / "results.xlsx"), "--headers", "codes")
    assert ex.returncode == 0, ex.stderr
    res = pd.read_excel(tmp_path / "results.xlsx", sheet_name="results", dtype={"participant_id": str,
                                                                                "total_exact": str})
    assert list(zip(res["participant_id"], res["name"].fillna(""), res["total_exact"], res["rank"])) == [
        ("000101", "Đỗ Minh Châu", "20", 1), ("000102", "Nguyễn Thị Ánh", "15/2", 4),
        ("000103", "Trần Văn Bình", "20", 1), ("000104", "Lê Thị Dung", "20", 1)]
    assert res.loc[2, "answer 2"] == k103["2"] and res.loc[2, "points 3"] == pytest.approx(0.2)


@pytest.mark.slow
def test_exit_codes_ok_and_bad_layout_or_keys(tmp_path, scans):
    contest = make_contest(tmp_path / "c")
    p = omr("grade", str(scans["a.jpg"]), str(scans["d1.jpg"]), "--contest", str(contest), "--workers", "1")
    assert p.returncode == ExitCode.OK, p.stderr
    assert "đã chấm (ổn)         2       2" in p.stdout

    keys = json.loads((contest / "keys.json").read_text(encoding="utf-8"))
    keys["versions"]["101"]["answers"] = keys["versions"]["101"]["answers"][:-1]     # 99 answers for 100
    (contest / "keys.json").write_text(json.dumps(keys), encoding="utf-8")
    db = tmp_path / "fresh.sqlite"
    p = omr("grade", str(scans["a.jpg"]), "--contest", str(contest), "--db", str(db))
    assert p.returncode == ExitCode.BAD_LAYOUT, p.stderr
    assert "versions.101" in p.stderr
    assert not db.exists()                       # checked before the store is opened
    p = omr("grade", str(scans["a.jpg"]), "--contest", str(tmp_path / "nowhere"))
    assert p.returncode == ExitCode.BAD_LAYOUT and "contest folder" in p.stderr

    good = make_contest(tmp_path / "c2")
    p = omr("grade", str(scans["a.jpg"]), str(tmp_path / "missing.jpg"), "--contest", str(good))
    assert p.returncode == ExitCode.FINISHED_WITH_REJECTS, p.stderr
    assert "không ghi được (not_found)" in p.stdout

    p = omr("status", "--contest", str(make_contest(tmp_path / "c3")))
    assert p.returncode == ExitCode.DATABASE and "omr grade" in p.stderr
    p = omr("grade", str(scans["a.jpg"]), "--contest", str(good), "--db", "postgresql://nobody@127.0.0.1:9/x")
    assert p.returncode == ExitCode.DATABASE and "cannot" in p.stderr


def test_grade_on_a_dask_cluster_gives_the_same_scores(tmp_path, scans):
    import distributed  # a real dependency (setup.cfg): never skipped
    contest = make_contest(tmp_path / "c")
    inputs = [str(scans[n]) for n in ("a.jpg", "b.jpg", "c.jpg", "d1.jpg", "d2.jpg", "broken.jpg")]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                                  dashboard_address=None, scheduler_port=0) as cluster:
        p = omr("grade", *inputs, "--contest", str(contest), "--scheduler", cluster.scheduler_address)
    assert p.returncode == ExitCode.FINISHED_WITH_REJECTS, p.stderr
    assert "Dask scheduler tcp://" in p.stdout
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    assert totals(url) == {"000101": "20", "000102": "15/2", "000103": "98/5", "000104": "20"}
    assert db_rows(url, "SELECT status, count(*) FROM submissions GROUP BY status ORDER BY status") == \
        [("flagged", 1), ("ok", 3), ("rejected", 2)]
    before = db_rows(url, "SELECT count(*) FROM runs")
    p = omr("grade", *inputs, "--contest", str(contest), "--scheduler", "tcp://127.0.0.1:9")
    assert p.returncode == ExitCode.MISSING_DEPENDENCY and "cannot reach the Dask scheduler" in p.stderr
    assert db_rows(url, "SELECT count(*) FROM runs") == before           # checked before the store is used


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_same_scores_on_sqlite_and_postgresql_with_one_and_two_workers(request, tmp_path, scans, backend):
    contest = make_contest(tmp_path / "c")
    inputs = [str(scans[n]) for n in ("a.jpg", "b.jpg", "c.jpg", "d1.jpg", "broken.jpg")]
    expected = {"000101": "20", "000102": "15/2", "000103": "98/5", "000104": "20"}
    for workers in ("1", "2"):
        url = (request.getfixturevalue("pg_url") if backend == "postgresql"
               else f"sqlite:///{tmp_path / f'w{workers}.sqlite'}")
        p = omr("grade", *inputs, "--contest", str(contest), "--db", url, "--workers", workers)
        assert p.returncode == ExitCode.FINISHED_WITH_REJECTS, p.stderr
        assert totals(url) == expected
        assert db_rows(url, "SELECT status, count(*) FROM submissions GROUP BY status ORDER BY status") == \
            [("flagged", 1), ("ok", 3), ("rejected", 1)]


@pytest.mark.slow
def test_resume_after_kill_9_loses_nothing_and_duplicates_nothing(tmp_path, pages, demo_layout):
    """300 distinct sheets (one participant each); the run is killed with SIGKILL at random moments 5 times,
    then finished: exactly 300 graded submissions, no duplicates, none lost."""
    L = demo_layout
    n = 300
    inp = tmp_path / "in"
    inp.mkdir()
    base = marked(pages["blank"], L, key_answers(L, "101"), None, "101")
    for i in range(n):
        pid = f"{200000 + i}"
        img = marked(base, L, {}, pid, None)
        (inp / f"scan{i:03d}.jpg").write_bytes(jpeg(img, 60))
    contest = make_contest(tmp_path / "c", roster=False)
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    cmd = [sys.executable, "-m", "grading.cli", "grade", str(inp), "--contest", str(contest), "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(20240611)
    recorded = []
    for _ in range(5):
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(rng.uniform(0.5, 3.0))
        os.killpg(proc.pid, signal.SIGKILL)       # the process and its workers, like a power cut
        proc.wait(timeout=30)
        if (contest / "out" / "results.sqlite").exists():
            recorded.append(db_rows(url, "SELECT count(*) FROM submissions")[0][0])
    print("submissions after each kill:", recorded)
    assert recorded == sorted(recorded)           # never fewer after a kill
    final = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == ExitCode.OK, final.stderr
    assert db_rows(url, "SELECT count(*), count(DISTINCT content_hash), count(DISTINCT source) FROM submissions") \
        == [(n, n, n)]
    assert db_rows(url, "SELECT status, count(*) FROM submissions GROUP BY status") == [("ok", n)]
    assert db_rows(url, "SELECT count(*), count(DISTINCT participant) FROM pages") == [(n, n)]
    assert db_rows(url, "SELECT count(*), min(total), max(total) FROM scores") == [(n, "20", "20")]
    assert sorted(r[0] for r in db_rows(url, "SELECT participant FROM pages")) == \
        [f"{200000 + i}" for i in range(n)]
    assert db_rows(url, "SELECT count(*) FROM flags") == [(0,)]
    assert f"ghi mới {n - (recorded[-1] if recorded else 0)}" in final.stdout


@pytest.mark.slow
def test_grade_a_name_that_is_not_utf8_recorded_with_its_bytes_shown_escaped_rerun_adds_nothing(
        tmp_path, scans, demo_layout):
    """A folder of four scans: c (flagged) named by bytes that are not UTF-8, b with a decomposed (NFD) Vietnamese
    name. All four are graded; the store keeps the escaped name and, for c only, its exact bytes; a re-run adds
    nothing; status, flags, export, annotate and the judges' pictures work and show the name escaped. A copy of c
    under another such name is a recorded duplicate, once."""
    folder = tmp_path / "scans"
    folder.mkdir()
    odd = os.path.join(str(folder), os.fsdecode(b"\xff\xfe.jpg"))
    nfd = os.path.join(str(folder), unicodedata.normalize("NFD", "bài thi.jpg"))
    for name, path in (("a.jpg", str(folder / "a.jpg")), ("b.jpg", nfd), ("c.jpg", odd),
                       ("d1.jpg", str(folder / "d1.jpg"))):
        shutil.copyfile(scans[name], path)
    contest = make_contest(tmp_path / "contest")
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    c_ = ["--contest", str(contest)]
    shown = str(folder) + "/\\xff\\xfe.jpg"

    first = omr("grade", str(folder), *c_, "--workers", "2")
    assert first.returncode == ExitCode.FINISHED_WITH_FLAGS, first.stderr
    assert "ghi mới 4 · 0 đã có từ trước" in first.stdout
    subs = {s: raw for s, raw in db_rows(url, "SELECT source, source_raw FROM submissions")}
    assert subs == {str(folder / "a.jpg"): None, nfd: None, shown: os.fsencode(odd), str(folder / "d1.jpg"): None}
    assert totals(url) == {"000101": "20", "000102": "15/2", "000103": "98/5", "000104": "20"}
    again = omr("grade", str(folder), *c_, "--workers", "1")
    assert again.returncode == ExitCode.FINISHED_WITH_FLAGS, again.stderr
    assert "ghi mới 0 · 4 đã có từ trước" in again.stdout
    assert db_rows(url, "SELECT count(*) FROM submissions") == [(4,)]

    st = omr("status", *c_)
    assert st.returncode == ExitCode.OK and "tổng                 4       4" in st.stdout, st.stderr
    fl = omr("flags", *c_, "--json")
    assert fl.returncode == ExitCode.OK, fl.stderr
    assert [(f["source"], f["participant"]) for f in json.loads(fl.stdout)] == [(shown, "000103")]
    ex = omr("export", *c_, "--out", str(tmp_path / "results.csv"))
    assert ex.returncode == ExitCode.OK, ex.stderr
    res = pd.read_csv(tmp_path / "results.csv", dtype=str, encoding="utf-8-sig")
    assert dict(zip(res["participant_id"], res["sources"])) == {
        "000101": str(folder / "a.jpg"), "000102": nfd, "000103": shown, "000104": str(folder / "d1.jpg")}
    assert omr("export", *c_, "--out", str(tmp_path / "results.xlsx")).returncode == ExitCode.OK
    an = omr("annotate", *c_, "--out", str(tmp_path / "annotated"))
    assert an.returncode == ExitCode.OK, an.stderr                      # every scan opened again, c by its bytes
    assert "000103_\\xff\\xfe_p1.jpg" in os.listdir(tmp_path / "annotated")

    from grading.webapp.images import page_canvas
    with Store.open(url) as store:
        (flag,) = store.list_flags()
        canvas = page_canvas(store, demo_layout, flag["page_id"])
        assert canvas.image.ndim == 3 and canvas.page.source == odd

    shutil.copyfile(odd, os.path.join(str(folder), os.fsdecode(b"copy \xfe.jpg")))
    for n_recorded in (1, 0):
        dup = omr("grade", str(folder), *c_, "--workers", "1")
        assert dup.returncode == ExitCode.FINISHED_WITH_REJECTS, dup.stderr
        assert f"ghi mới {n_recorded}" in dup.stdout
        assert f"bản trùng: {folder}/copy \\xfe.jpg (cùng nội dung với {shown})" in dup.stdout
    (reason,) = db_rows(url, "SELECT p.reason FROM pages p WHERE p.reason_code = 'duplicate'")
    assert reason[0].startswith(f"duplicate of {shown}:")
    assert db_rows(url, "SELECT count(*) FROM submissions") == [(5,)]


# -- the processes of a run die with it ----------------------------------------------------------------------
N_MANY = 150


@pytest.fixture(scope="module")
def many_scans(tmp_path_factory, pages, demo_layout) -> Path:
    """N_MANY distinct all-correct sheets (one participant each): a run with two workers reads for a while."""
    d = tmp_path_factory.mktemp("many")
    base = marked(pages["blank"], demo_layout, key_answers(demo_layout, "101"), None, "101")
    for i in range(N_MANY):
        (d / f"scan{i:03d}.jpg").write_bytes(jpeg(marked(base, demo_layout, {}, f"{300000 + i}", None), 60))
    return d


def _start_grade(inp: Path, contest: Path, tmp_path: Path) -> tuple[subprocess.Popen, ProcessTree, list[str]]:
    cmd = [sys.executable, "-m", "grading.cli", "grade", str(inp), "--contest", str(contest), "--workers", "2"]
    with open(tmp_path / "stderr.txt", "w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    return proc, ProcessTree(proc), cmd


def test_kill_9_of_grade_leaves_no_worker_process(tmp_path, many_scans):
    """SIGKILL of `omr grade` while its two workers read: every process it started ends with it."""
    contest = make_contest(tmp_path / "c", roster=False)
    proc, tree, _ = _start_grade(many_scans, contest, tmp_path)
    try:
        tree.wait_for_workers(2)
        tree.snapshot()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.poll() is not None and len(tree.seen) >= 2
        assert tree.survivors(within=20) == []
    finally:
        tree.kill_all()


def _submissions(contest: Path) -> int:
    path = contest / "out" / "results.sqlite"
    if not path.exists():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:          # a plain read-only poll: it never takes the write lock the run needs
        return db.execute("SELECT count(*) FROM submissions").fetchone()[0]
    except sqlite3.OperationalError:          # the tables are not there yet
        return 0
    finally:
        db.close()


@pytest.mark.slow
def test_sigterm_of_grade_stops_cleanly_and_a_rerun_finishes(tmp_path, many_scans):
    """SIGTERM of `omr grade` once some sheets are stored: exit 143 with "run again" on stderr, no process left;
    the store keeps what was graded, and the next run grades exactly the rest."""
    contest = make_contest(tmp_path / "c", roster=False)
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    proc, tree, cmd = _start_grade(many_scans, contest, tmp_path)
    try:
        tree.wait_for_workers(2)
        deadline = time.monotonic() + 120
        while _submissions(contest) < 3 and proc.poll() is None and time.monotonic() < deadline:
            tree.snapshot()
            time.sleep(0.05)
        tree.snapshot()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 143          # 128 + SIGTERM, as a shell reports it
        err = (tmp_path / "stderr.txt").read_text(encoding="utf-8")
        assert "omr grade: stopped by SIGTERM" in err and "run the same command again" in err, err
        assert tree.survivors(within=20) == []
    finally:
        tree.kill_all()
    done = db_rows(url, "SELECT count(*) FROM submissions")[0][0]
    assert 3 <= done < N_MANY
    final = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                           text=True, timeout=300)
    assert final.returncode == ExitCode.OK, final.stderr
    assert f"ghi mới {N_MANY - done} · {done} đã có từ trước" in final.stdout
    assert db_rows(url, "SELECT count(*), count(DISTINCT content_hash), count(DISTINCT source) FROM submissions") \
        == [(N_MANY, N_MANY, N_MANY)]
    assert db_rows(url, "SELECT count(*), count(DISTINCT participant) FROM pages") == [(N_MANY, N_MANY)]


def test_grade_of_an_empty_folder_says_so_and_records_nothing(tmp_path):
    contest = make_contest(tmp_path / "contest")
    (tmp_path / "scans").mkdir()
    r = omr("grade", str(tmp_path / "scans"), "--contest", str(contest))
    assert r.returncode == ExitCode.NO_INPUT, r.stderr
    assert "no file to read in" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_a_graded_id_not_on_the_roster_is_flagged_until_someone_decides(tmp_path, scans):
    contest = make_contest(tmp_path / "c", extra=())          # 000104 (d1) is not on this roster
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    c_ = ["--contest", str(contest)]
    p = omr("grade", str(scans["a.jpg"]), str(scans["d1.jpg"]), *c_, "--workers", "1")
    assert p.returncode == ExitCode.FINISHED_WITH_FLAGS, p.stderr
    assert "cờ chưa xử lý theo lý do: not_on_roster 1" in p.stdout
    status = {Path(s).name: st for s, st in db_rows(url, "SELECT source, status FROM submissions")}
    assert status == {"a.jpg": "ok", "d1.jpg": "flagged"}
    (flag,) = json.loads(omr("flags", *c_, "--json").stdout)
    assert (Path(flag["source"]).name, flag["target"], flag["reason"]) == ("d1.jpg", "participant", "not_on_roster")
    assert "000104" in flag["message"] and "danh sách thí sinh" in flag["message"]

    # the judge keeps the id as read: refused without --off-roster, then confirmed (audited)
    bad = omr("resolve", str(flag["id"]), "104", *c_, "--who", "thư ký")
    assert bad.returncode == ExitCode.BAD_ARGS and "not on the contest's roster" in bad.stderr
    ok = omr("resolve", str(flag["id"]), "104", "--off-roster", *c_, "--who", "thư ký")
    assert ok.returncode == ExitCode.OK, ok.stderr
    assert db_rows(url, "SELECT state FROM flags") == [("resolved",)]
    assert ("thư ký", "off_roster") in db_rows(url, "SELECT who, action FROM audit")
    assert totals(url) == {"000101": "20", "000104": "20"}

    # on a contest without a roster nobody is "off" it
    bare = make_contest(tmp_path / "bare", roster=False)
    p = omr("grade", str(scans["d1.jpg"]), "--contest", str(bare), "--workers", "1")
    assert p.returncode == ExitCode.OK, p.stderr
