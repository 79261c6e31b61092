"""A decision already taken is not overwritten by accident (``omr resolve`` refuses, saying who and when;
``--force`` changes it and is audited as an override), and ``omr audit`` shows who decided what, when,
before → after, in the contest's time zone."""
from __future__ import annotations

import json

import pytest

from grading.store import Store
from grading_support import db_rows, omr
from omr.errors import ExitCode
from web_support import demo_contest, record_faint_sheets


@pytest.fixture
def decided(tmp_path):
    contest = demo_contest(tmp_path / "contest")
    (contest / "contest.json").write_text('{"time_zone": "Asia/Ho_Chi_Minh"}', encoding="utf-8")
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    with Store.open(url) as store:
        (flag_id,) = record_faint_sheets(store, contest, 1, ("7",))
    c_ = ["--contest", str(contest)]
    first = omr("resolve", str(flag_id), "B", *c_, "--who", "giám khảo 1")
    assert first.returncode == ExitCode.OK, first.stderr
    return {"c": c_, "url": url, "flag": flag_id}


def test_a_decided_flag_is_refused_unless_forced_and_the_override_is_audited(decided):
    c_, url, fid = decided["c"], decided["url"], decided["flag"]
    again = omr("resolve", str(fid), "C", *c_, "--who", "giám khảo 2")
    assert again.returncode == ExitCode.BAD_ARGS
    assert f"flag {fid} was already decided by giám khảo 1 on " in again.stderr and "--force" in again.stderr
    assert db_rows(url, "SELECT value, who FROM resolutions") == [("B", "giám khảo 1")]
    forced = omr("resolve", str(fid), "C", *c_, "--who", "trưởng ban", "--force")
    assert forced.returncode == ExitCode.OK, forced.stderr
    assert db_rows(url, "SELECT state, resolved_by FROM flags") == [("resolved", "trưởng ban")]
    assert [r[:2] for r in db_rows(url, "SELECT who, action FROM audit ORDER BY id")] == [
        ("giám khảo 1", "resolve_flag"), ("trưởng ban", "resolve_flag"), ("trưởng ban", "override")]


@pytest.mark.slow
def test_omr_audit_lists_who_decided_what_and_when(decided):
    c_, fid = decided["c"], decided["flag"]
    omr("resolve", str(fid), "C", *c_, "--who", "trưởng ban", "--force")
    r = omr("audit", *c_)
    assert r.returncode == ExitCode.OK, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["when", "who", "action", "target", "before", "after"]
    assert len(lines) == 4 and "3 audit entries" in r.stderr
    assert "giám khảo 1" in lines[1] and f"flag:{fid}" in lines[1] and "resolve_flag" in lines[1]
    assert "override" in lines[3] and "omr resolve --force" in lines[3]
    js = json.loads(omr("audit", *c_, "--who", "trưởng ban", "--json").stdout)
    assert [e["action"] for e in js] == ["resolve_flag", "override"]
    assert js[0]["before"] is not None and js[0]["at"].endswith("+00:00")         # the store keeps UTC
    assert len(json.loads(omr("audit", *c_, "--action", "override", "--json").stdout)) == 1
    assert len(json.loads(omr("audit", *c_, "--target", f"flag:{fid}", "--limit", "1", "--json").stdout)) == 1


def test_an_id_off_the_roster_is_refused_when_resolved_unless_forced(tmp_path):
    from web_support import faint_reading

    contest = demo_contest(tmp_path / "contest", [("000101", "Nguyễn Văn An", "10A1")])
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    with Store.open(url) as store:
        record_faint_sheets(store, contest, 1, (), start=0, unit=None)              # 000001: a sheet, no flag yet
        store.record_submission("/scans/x.jpg", "f" * 64, 1, [faint_reading("/scans/x.jpg", None, (),
                                                                            participant_flag=True)], None)
        (fid,) = [r[0] for r in db_rows(url, "SELECT id FROM flags WHERE target = 'participant'")]
    c_ = ["--contest", str(contest)]
    r = omr("resolve", str(fid), "999", *c_, "--who", "gk")
    assert r.returncode == ExitCode.BAD_ARGS and "participant 000999 is not on the contest's roster" in r.stderr
    assert omr("resolve", str(fid), "101", *c_, "--who", "gk").returncode == ExitCode.OK      # padded: on it
    decided = omr("resolve", str(fid), "999", *c_, "--who", "trưởng ban", "--off-roster")
    assert decided.returncode == ExitCode.BAD_ARGS and "already decided" in decided.stderr   # two checks, two options
    forced = omr("resolve", str(fid), "999", *c_, "--who", "trưởng ban", "--force", "--off-roster")
    assert forced.returncode == ExitCode.OK, forced.stderr
    assert db_rows(url, "SELECT action, after FROM audit WHERE action IN ('override', 'off_roster') ORDER BY id") == [
        ("override", '{"value": "000999", "via": "omr resolve --force"}'),
        ("off_roster", '{"value": "000999", "via": "omr resolve --off-roster"}')]
    (contest / "roster.csv").write_text("participant_id,name\n000101,A\n000101,B\n", encoding="utf-8")   # broken
    broken = omr("resolve", str(fid), "101", *c_, "--who", "gk", "--force")
    assert broken.returncode == ExitCode.BAD_ARGS and "roster cannot be read" in broken.stderr
