"""``omr discard PAGE_ID`` end to end over graded scans: the page leaves ``omr status``'s counts, the exit code, the
export's results (its participant is absent) and the open flags, is listed as "discarded: reason (who, when)",
is audited, survives a re-run of ``omr grade`` on the same folder, and ``--undo`` brings it back."""
from __future__ import annotations

import csv
import io
import json
import shutil

from grading_support import db_rows, omr
from omr.errors import ExitCode
from test_batch import make_contest, pages, scans  # noqa: F401  (fixtures: the rendered sheets and their scans)


def _csv(path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_discard_takes_a_page_out_of_everything_and_undo_brings_it_back(tmp_path, scans):
    contest = make_contest(tmp_path / "contest")
    (contest / "contest.json").write_text('{"time_zone": "Asia/Ho_Chi_Minh"}', encoding="utf-8")
    folder = tmp_path / "scans"
    folder.mkdir()
    for name in ("a.jpg", "c.jpg", "broken.jpg"):
        shutil.copy(scans[name], folder / name)
    c_ = ["--contest", str(contest)]
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    assert omr("grade", str(folder), *c_, "--workers", "1").returncode == ExitCode.FINISHED_WITH_REJECTS
    flags = json.loads(omr("flags", *c_, "--json").stdout)
    assert [f["source"].rsplit("/", 1)[-1] for f in flags] == ["c.jpg"]
    c_page = flags[0]["page_id"]
    (broken_page,) = [r[0] for r in db_rows(url, "SELECT p.id FROM pages p JOIN submissions s ON s.id = "
                                                 "p.submission_id WHERE s.source LIKE '%broken.jpg'")]

    r = omr("discard", str(c_page), "--reason", "ảnh chụp nhầm", "--who", "trưởng ban", *c_)
    assert r.returncode == ExitCode.OK, r.stderr
    assert "đóng 1 cờ đang mở" in r.stdout and f"omr discard {c_page} --undo" in r.stdout
    assert db_rows(url, f"SELECT status FROM pages WHERE id = {c_page}") == [("discarded",)]
    assert db_rows(url, "SELECT state, resolved_by FROM flags") == [("resolved", "trưởng ban")]
    assert db_rows(url, "SELECT who, action, target FROM audit WHERE action = 'discard_page'") == [
        ("trưởng ban", "discard_page", f"page:{c_page}")]
    status = omr("status", *c_).stdout
    assert "cờ chưa xử lý: 0" in status and f"trang đã loại bỏ {c_page} (" in status
    assert "discarded: ảnh chụp nhầm (trưởng ban, " in status
    out = tmp_path / "export" / "results.csv"
    assert omr("export", *c_, "--out", str(out)).returncode == ExitCode.OK
    results = {row["participant_id"]: row for row in _csv(out)}
    assert results["000103"]["status"] == "absent" and results["000101"]["status"] == "ok"
    issues = _csv(out.with_name("results.issues.csv"))
    (gone,) = [i for i in issues if i["kind"] == "discarded"]
    assert gone["page_id"] == str(c_page) and gone["message"].startswith("discarded: ảnh chụp nhầm (trưởng ban, ")
    assert not [i for i in issues if i["kind"] == "flag"]

    # the rejected file, discarded too: nothing is left to stop the run's exit code
    r = omr("discard", str(broken_page), "--reason", "tệp hỏng, đã nộp lại", "--who", "trưởng ban", *c_)
    assert r.returncode == ExitCode.OK, r.stderr
    again = omr("grade", str(folder), *c_, "--workers", "1")
    assert again.returncode == ExitCode.OK, again.stdout + again.stderr
    assert "discarded" in again.stdout
    assert sorted(db_rows(url, "SELECT status FROM pages")) == [("discarded",), ("discarded",), ("ok",)]

    r = omr("discard", str(c_page), "--undo", "--who", "phó ban", *c_)
    assert r.returncode == ExitCode.OK, r.stderr
    assert "mở lại 1 cờ" in r.stdout
    assert db_rows(url, f"SELECT status FROM pages WHERE id = {c_page}") == [("flagged",)]
    assert db_rows(url, "SELECT state FROM flags") == [("open",)]
    assert "cờ chưa xử lý: 1" in omr("status", *c_).stdout
    assert [a[0] for a in db_rows(url, "SELECT action FROM audit WHERE action LIKE '%_page' ORDER BY id")] == [
        "discard_page", "discard_page", "restore_page"]


def test_discard_refuses_what_it_cannot_do_with_exit_2(tmp_path, scans):
    contest = make_contest(tmp_path / "contest")
    c_ = ["--contest", str(contest)]
    assert omr("grade", str(scans["a.jpg"]), *c_, "--workers", "1").returncode == ExitCode.OK
    r = omr("discard", "9999", "--reason", "trang trắng", "--who", "trưởng ban", *c_)
    assert r.returncode == ExitCode.BAD_ARGS and "there is no page 9999" in r.stderr
    r = omr("discard", "1", "--who", "trưởng ban", *c_)
    assert r.returncode == ExitCode.BAD_ARGS and "--reason" in r.stderr
    r = omr("discard", "1", "--undo", "--who", "trưởng ban", *c_)
    assert r.returncode == ExitCode.BAD_ARGS and "page 1 is not discarded" in r.stderr
    assert omr("discard", "1", "--reason", "trang trắng", "--who", "trưởng ban", *c_).returncode == ExitCode.OK
    r = omr("discard", "1", "--reason", "trang trắng", "--who", "trưởng ban", *c_)
    assert r.returncode == ExitCode.BAD_ARGS and "already discarded" in r.stderr and "--undo" in r.stderr
