"""Essay scoring at store level, on SQLite and PostgreSQL: the rubric, double-blind assignment (units, rounds,
disputes, the final rule), reassignment, concurrency (24 threads), the v4 → v5 migration and re-runs of
grade/ocr that leave scores alone."""
from __future__ import annotations

import json
import shutil
import threading
from datetime import datetime, timezone
from fractions import Fraction

import pytest
import sqlalchemy as sa

from grading.essays import (FinalRule, ScoreProblems, ScoringError, assign_essay_pages, assignment, decide,
                            import_roster, judge_progress, load_rubric, parse_points, reassign, rubric_from_dict,
                            show_points, submit_score, take_next, task_counts, task_score_rows)
from grading.store import SCHEMA_VERSION, Store, TaskState, judges, unit_key
from omr.errors import ExitCode, LayoutError
from omr.sheet import Participant

from grading_support import DEMO, db_rows, failure, omr, reading, sha

F = Fraction
RUBRIC = {"tolerance": "1", "final_rule": "closest_mean", "questions": [
    {"id": "essay", "title": "Bài tự luận", "criteria": [{"id": "a", "title": "Nội dung", "max": 6},
                                                       {"id": "b", "title": "Diễn đạt", "max": "4"}]}]}


def rubric(**over):
    return rubric_from_dict({**RUBRIC, **over})


def add_judges(store: Store, people: list[tuple[str, str]], role: str = "judge") -> dict[str, int]:
    """Accounts without the scrypt cost (the password is never used here)."""
    out = {}
    with store.write_tx("test judges") as conn:
        for name, unit in people:
            out[name] = conn.execute(sa.insert(judges).values(
                name=name, unit=unit, role=role, password_hash="x", must_change=False,
                created_at=sa.func.now()).returning(judges.c.id)).scalar_one()
    return out


def entry(store: Store, i: int, pid: str | None, unit: str | None, n_pages: int = 2) -> None:
    """A submission: an answer sheet of ``pid`` (none: no sheet at all) followed by ``n_pages`` essay pages."""
    src = f"s{i}.pdf"
    recs = ([reading(src, 1, pid, "101", "AAAAAA")] if pid else []) + [
        failure(src, k) for k in range(2 if pid else 1, (2 if pid else 1) + n_pages)]
    store.record_submission(src, sha(src), 1, assign_essay_pages(recs), None, unit=unit)


def task_of(store: Store, pid: str) -> int:
    with store.read_tx("t") as conn:
        return conn.execute(sa.text("SELECT id FROM essay_tasks WHERE participant = :p"), {"p": pid}).scalar_one()


def rows(store: Store, sql: str, **params) -> list[tuple]:
    with store.read_tx("t") as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


# -- pure parts ---------------------------------------------------------------------------------------------
def test_points_are_exact_and_accept_a_decimal_comma():
    assert [parse_points(x) for x in (7, 7.5, "7,5", "7.5", " 15/2 ", "0")] == [F(7), F(15, 2), F(15, 2), F(15, 2),
                                                                                F(15, 2), F(0)]
    for bad in ("", "7,5,1", "abc", "1 2", True, None, "1/0", "1e9999999", "1" * 21, "nan", "inf"):
        with pytest.raises(ValueError):
            parse_points(bad)
    assert [show_points(x) for x in (F(15, 2), F(33, 4), F(22, 3), F(10), "7/8", F(13, 4), F(-1, 3), F(-1, 1000),
                                     F(1, 3000), 0)] == ["7,5", "8,25", "7,33", "10", "0,875", "3,25", "-0,33",
                                                         "-0,001", "0", "0"]


def test_rubric_lists_every_problem_and_reads_json_errors_with_line_and_column(tmp_path):
    r = rubric(tolerance="1,5")
    assert r.tolerance == F(3, 2) and r.final_rule is FinalRule.CLOSEST_MEAN
    assert r.question("essay").max_total == 10 and r.question("E9") is None
    demo = load_rubric(DEMO)
    assert demo is not None and demo.question("essay").max_total == 10 and demo.tolerance == F(3, 2)
    with pytest.raises(LayoutError) as exc:
        rubric_from_dict({"final_rule": "median", "questions": [
            {"id": "essay", "criteria": [{"id": "a", "title": "Nội dung", "max": "-1"}, {"title": "", "max": "x"},
                                         {"id": "a", "title": "Lặp", "max": 2}]}, {"id": "essay", "criteria": []}]})
    details = exc.value.details
    assert "tolerance: required (points on the total by which two judges may differ)" in details
    assert any(d.startswith("final_rule: 'median'") for d in details)
    assert any(d.startswith("questions[0].criteria[0].max: '-1' must be above 0") for d in details)
    assert "questions[0].criteria[1].id: required" in details
    assert any(d.startswith("questions[0].criteria[1].title: required") for d in details)
    assert any(d.startswith("questions[0].criteria[1].max: 'x' is not a number") for d in details)
    assert "questions[0].criteria: ids repeat" in details and "questions: ids repeat" in details
    assert any(d.startswith("questions[1].criteria: required") for d in details)
    assert load_rubric(tmp_path) is None
    (tmp_path / "rubric.json").write_text('{"tolerance": 1,\n "final_rule": "third"\n "questions": []}',
                                          encoding="utf-8")
    with pytest.raises(LayoutError, match="rubric.json is not valid JSON") as exc:
        load_rubric(tmp_path)
    assert exc.value.details[0].startswith("line 3, column 2")


def test_decision_rules():
    tol = F(1)
    assert decide(F(8), F(17, 2), None, tolerance=tol, rule=FinalRule.CLOSEST_MEAN) == \
        decide(F(8), F(17, 2), None, tolerance=tol, rule=FinalRule.THIRD)
    d = decide(F(8), F(9), None, tolerance=tol, rule=FinalRule.THIRD)
    assert (d.state, d.final, d.rule) == (TaskState.FINAL, F(17, 2), "mean")             # exactly the tolerance
    assert decide(F(8), F(9, 1) + F(1, 100), None, tolerance=tol, rule=FinalRule.THIRD).state is TaskState.DISPUTED
    assert decide(F(10), F(7, 2), F(4), tolerance=tol, rule=FinalRule.CLOSEST_MEAN).final == F(15, 4)
    assert decide(F(10), F(7, 2), F(4), tolerance=tol, rule=FinalRule.THIRD).final == F(4)
    # ties: the pair holding the third score wins; the third halfway between the two: the third is final
    assert decide(F(5), F(7), F(9), tolerance=tol, rule=FinalRule.CLOSEST_MEAN).final == F(8)
    assert decide(F(5), F(9), F(7), tolerance=tol, rule=FinalRule.CLOSEST_MEAN).final == F(7)
    assert unit_key("  Quận  BA ĐÌNH ") == unit_key("quận ba đình") and unit_key(" ") is None
    assert unit_key("Ｑuận Ba Đình") == unit_key("quận ba đình")                            # NFKC (full-width Q)


# -- the store on both backends -----------------------------------------------------------------------------
def test_two_judges_then_a_dispute_goes_to_a_third_judge(store_url):
    rb = rubric()
    with Store.open(store_url) as store:
        entry(store, 1, "000001", "Quận Ba Đình")                     # 2 essay pages: ONE task
        entry(store, 2, "000002", "Quận Hoàn Kiếm", n_pages=1)
        j = add_judges(store, [("j1", "Quận Cầu Giấy"), ("j2", "Quận Tây Hồ"), ("jb", "  quận BA  ĐÌNH "),
                               ("j3", "Quận Đống Đa"), ("jh", "quận hoàn kiếm")])
        t1, t2 = task_of(store, "000001"), task_of(store, "000002")
        assert rows(store, "SELECT count(*) FROM essays WHERE task_id = :t", t=t1) == [(2,)]

        a1 = take_next(store, j["j1"], rb)
        a2 = take_next(store, j["j2"], rb)
        assert a1.new and a2.new
        assert take_next(store, j["j1"], rb) == a1.__class__(a1.assignment_id, False)     # he holds it already
        assert rows(store, "SELECT task_id, judge_slot, judge_id, state FROM essay_assignments ORDER BY id") == [
            (t1, 1, j["j1"], "assigned"), (t1, 2, j["j2"], "assigned")]
        view = assignment(store, a1.assignment_id)
        assert view["anon_code"].startswith("BT-") and len(view["essays"]) == 2 and "total" in view

        # validation: every problem at once, in Vietnamese; nothing written
        with pytest.raises(ScoreProblems) as exc:
            submit_score(store, a1.assignment_id, j["j1"], {"a": "7", "b": "hai"}, rb)
        assert exc.value.problems == {"a": "Điểm «Nội dung» phải từ 0 đến 6.",
                                      "b": "«hai» không phải là số điểm (ví dụ: 7 hoặc 7,5)."}
        with pytest.raises(ScoreProblems, match="Chưa nhập điểm «Diễn đạt»"):
            submit_score(store, a1.assignment_id, j["j1"], {"a": "5"}, rb)
        with pytest.raises(ScoringError, match="không còn được giao cho bạn"):
            submit_score(store, a1.assignment_id, j["j2"], {"a": "5", "b": "3"}, rb)
        assert rows(store, "SELECT count(*) FROM essay_assignments WHERE state = 'scored'") == [(0,)]

        out = submit_score(store, a1.assignment_id, j["j1"], {"a": "5", "b": "3,5"}, rb)
        assert (out.total, out.task_state, out.final) == (F(17, 2), TaskState.OPEN, None)
        with pytest.raises(ScoringError, match="đã chấm bài này"):
            submit_score(store, a1.assignment_id, j["j1"], {"a": "1", "b": "1"}, rb)
        out = submit_score(store, a2.assignment_id, j["j2"], {"a": "6", "b": "2"}, rb)
        assert (out.task_state, out.final) == (TaskState.FINAL, F(33, 4))                # |8.5 − 8| ≤ 1: the mean
        assert rows(store, "SELECT state, judges_needed, final_score, final_rule FROM essay_tasks "
                        "WHERE id = :t", t=t1) == [
            ("final", 2, "33/4", "mean")]
        assert rows(store, "SELECT points, total FROM essay_assignments WHERE id = :a", a=a1.assignment_id)[0][1] == \
            "17/2"

        # the second task: 10 against 3.5 → disputed; round 3 goes at once to jb (jh is of the essay's unit)
        b1, b2 = take_next(store, j["j1"], rb), take_next(store, j["j2"], rb)
        submit_score(store, b1.assignment_id, j["j1"], {"a": "6", "b": "4"}, rb)
        out = submit_score(store, b2.assignment_id, j["j2"], {"a": "2", "b": "1.5"}, rb)
        assert (out.task_state, out.final, out.third_judge) == (TaskState.DISPUTED, None, "jb")
        (third,) = rows(store, "SELECT id, judge_slot, judge_id, state, assigned_by FROM essay_assignments "
                               "WHERE task_id = :t AND judge_slot = 3", t=t2)
        assert third[1:] == (3, j["jb"], "assigned", "system")
        assert take_next(store, j["jh"], rb) is None            # t1 is final, t2 is of his unit
        assert task_counts(store, rb).disputed == 1
        out = submit_score(store, third[0], j["jb"], {"a": "3", "b": "1"}, rb)
        assert (out.task_state, out.final) == (TaskState.FINAL, F(15, 4))               # closest: 3.5 and 4
        assert rows(store, "SELECT state, judges_needed, final_score, final_rule FROM essay_tasks "
                        "WHERE id = :t", t=t2) == [
            ("final", 3, "15/4", "closest_mean")]
        assert take_next(store, j["jb"], rb) is None and take_next(store, j["j3"], rb) is None

        c = task_counts(store, rb)
        assert (c.tasks, c.pending, c.one_score, c.disputed, c.final_two, c.final_three, c.final) == \
            (2, 0, 0, 0, 1, 1, 2)
        prog = {p.name: (p.assigned, p.scored, p.open) for p in judge_progress(store)}
        assert prog == {"j1": (2, 2, 0), "j2": (2, 2, 0), "jb": (1, 1, 0), "j3": (0, 0, 0), "jh": (0, 0, 0)}
        by = {r["participant_id"]: r for r in task_score_rows(store)}
        assert (by["000002"]["total 1"], by["000002"]["total 2"], by["000002"]["total 3"], by["000002"]["judge 3"],
                by["000002"]["final_exact"]) == ("10", "7/2", "4", "jb", "15/4")

        audit = rows(store, "SELECT who, action, target FROM audit WHERE action LIKE 'essay_%' ORDER BY id")
        assert [a[1] for a in audit] == ["essay_assign", "essay_assign", "essay_score", "essay_score", "essay_final",
                                         "essay_assign", "essay_assign", "essay_score", "essay_score", "essay_assign",
                                         "essay_dispute", "essay_score", "essay_final"]
        assert audit[2][:2] == ("j1", "essay_score") and audit[9][0] == "system"
        (before, after), = rows(store, "SELECT before, after FROM audit WHERE action = 'essay_dispute'")
        before, after = (json.loads(x) if isinstance(x, str) else x for x in (before, after))
        assert before["totals"] == {"1": "10", "2": "7/2"} and after["third"]["judge"] == "jb"


def test_units_roster_unknown_units_waiting_tasks_and_rules(store_url):
    rb = rubric(final_rule="third")
    with Store.open(store_url) as store:
        entry(store, 1, "000001", "Quận Ba Đình")
        entry(store, 2, "000002", None)                              # unit unknown: any judge
        entry(store, 3, None, "Quận Ba Đình")                        # no sheet: waits for its participant
        j = add_judges(store, [("jb", "QUẬN BA ĐÌNH"), ("jt", "Quận Tây Hồ")])
        t1, t2 = task_of(store, "000001"), task_of(store, "000002")
        assert rows(store, "SELECT unit, unit_key, state FROM essay_tasks ORDER BY id") == [
            ("Quận Ba Đình", "quận ba đình", "open"), (None, None, "open"), ("Quận Ba Đình", "quận ba đình", "waiting")]
        assert take_next(store, j["jb"], rb, max_open=5) is not None
        assert take_next(store, j["jb"], rb, max_open=5) is None     # t1 is his unit's, t3 waits
        assert rows(store, "SELECT task_id FROM essay_assignments WHERE judge_id = :j", j=j["jb"]) == [(t2,)]
        assert take_next(store, j["jt"], rubric_from_dict({**RUBRIC, "questions": [
            {**RUBRIC["questions"][0], "id": "E1"}]})) is None       # no rubric for "essay": nobody gets it
        # the roster's unit wins over the submission's: t1 becomes Tây Hồ's (jt may not, jb may now)
        assert import_roster(store, [Participant("000001", "Đỗ Minh Châu", " Quận Tây Hồ"),
                                     Participant("000002", "Lê Thu Hà", "")]) == 2
        assert import_roster(store, [Participant("000001", "Đỗ Minh Châu", "Quận Tây Hồ"),
                                     Participant("000002", "Lê Thu Hà", "")]) == 0
        assert rows(store, "SELECT unit FROM essay_tasks WHERE id = :t", t=t1) == [("Quận Tây Hồ",)]
        assert take_next(store, j["jt"], rb, max_open=5).new
        assert rows(store, "SELECT task_id FROM essay_assignments WHERE judge_id = :j", j=j["jt"]) == [(t2,)]
        assert take_next(store, j["jt"], rb, max_open=5) is None
        assert rows(store, "SELECT task_id FROM essay_assignments WHERE judge_id = :j ORDER BY id", j=j["jb"]) == [
            (t2,)]
        got = take_next(store, j["jb"], rb, max_open=5)
        assert rows(store, "SELECT task_id FROM essay_assignments WHERE id = :a", a=got.assignment_id) == [(t1,)]

        # the waiting task follows its participant once a judge names him; the code stays
        (code,) = rows(store, "SELECT anon_code FROM essay_tasks WHERE state = 'waiting'")
        (flag,) = store.list_flags()
        store.resolve_flag(flag["id"], "000003", "quantri")
        assert rows(store, "SELECT task_key, participant, state, anon_code FROM essay_tasks WHERE anon_code = :c",
                    c=code[0]) == [("p:000003|essay", "000003", "open", code[0])]
        # a second submission of 000001 after a judge took his essay: its page is held apart with a flag for the
        # organisers, not slipped into the task a judge is reading (scores and assignments are not touched)
        before = rows(store, "SELECT * FROM essay_assignments ORDER BY id")
        n_t1 = rows(store, "SELECT count(*) FROM essays WHERE task_id = :t", t=t1)
        entry(store, 4, "000001", "Quận Cầu Giấy", n_pages=1)
        assert rows(store, "SELECT count(*) FROM essays WHERE task_id = :t", t=t1) == n_t1
        assert [f["reason"] for f in store.list_flags()] == ["late_essay_pages"]
        assert rows(store, "SELECT * FROM essay_assignments ORDER BY id") == before

        # admin: move an unscored assignment (eligibility checked), release one; all audited
        (a_t1,) = rows(store, "SELECT id FROM essay_assignments WHERE task_id = :t", t=t1)
        with pytest.raises(ScoringError, match="cùng đơn vị"):
            reassign(store, a_t1[0], j["jt"], who="quantri")
        jc = add_judges(store, [("jc", "Quận Cầu Giấy")])["jc"]
        reassign(store, a_t1[0], jc, who="quantri")
        assert rows(store, "SELECT judge_id, assigned_by FROM essay_assignments WHERE id = :a", a=a_t1[0]) == [
            (jc, "quantri")]
        with pytest.raises(ScoringError, match="đã có một lượt"):
            reassign(store, rows(store, "SELECT id FROM essay_assignments WHERE judge_id = :j", j=j["jb"])[0][0],
                     j["jt"], who="quantri")
        reassign(store, a_t1[0], None, who="quantri")
        assert rows(store, "SELECT count(*) FROM essay_assignments WHERE task_id = :t", t=t1) == [(0,)]
        a = rows(store, "SELECT who, action FROM audit WHERE action IN ('essay_reassign', 'essay_release') ORDER BY id")
        assert a == [("quantri", "essay_reassign"), ("quantri", "essay_release")]
        (sc,) = rows(store, "SELECT id FROM essay_assignments WHERE judge_id = :j AND task_id = :t", j=j["jt"], t=t2)
        submit_score(store, sc[0], j["jt"], {"a": "1", "b": "1"}, rb)
        with pytest.raises(ScoringError, match="đã chấm xong"):
            reassign(store, sc[0], None, who="quantri")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_24_threads_take_and_score_concurrently(request, backend):
    """24 judges ask at once for 5 tasks (10 slots); then 24 threads (12 judges × 2) take and score everything,
    with disputes: no task ever has more assignments than its rounds, no judge twice, none of his unit."""
    url = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    rb = rubric()
    units = ["Quận Ba Đình", "Quận Hoàn Kiếm", "Quận Tây Hồ"]
    with Store.open(url) as store:
        for i in range(5):
            entry(store, i, f"{i:06d}", units[i % 3], n_pages=1)
        j = add_judges(store, [(f"burst{i}", f"Sở {i}") for i in range(24)])
        barrier = threading.Barrier(24)
        got: list = [None] * 24
        errors: list = []

        def burst(k: int) -> None:
            try:
                barrier.wait(timeout=60)
                got[k] = take_next(store, j[f"burst{k}"], rb)
            except Exception as exc:  # noqa: BLE001 — reported by the assertion below
                errors.append(repr(exc))

        threads = [threading.Thread(target=burst, args=(k,)) for k in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert errors == []
        assert sum(1 for g in got if g is not None) == 10
        per_task = rows(store, "SELECT task_id, count(*), count(DISTINCT judge_id), min(judge_slot), max(judge_slot) "
                               "FROM essay_assignments GROUP BY task_id ORDER BY task_id")
        assert [r[1:] for r in per_task] == [(2, 2, 1, 2)] * 5

    # a fresh store: 12 tasks, 12 judges of 3 units, 2 threads per judge, scoring until nothing is left
    url2 = _another_pg_db(request.getfixturevalue("pg_server")) if backend == "postgresql" else \
        url.replace("results", "results2")
    with Store.open(url2) as store:
        for i in range(12):
            entry(store, i, f"{i:06d}", units[i % 3], n_pages=1)
        j = add_judges(store, [(f"g{i}", units[i % 3]) for i in range(12)])
        ids = list(j.values())
        errors = []

        def points(aid: int) -> dict[str, str]:
            v = assignment(store, aid)
            if v["task_id"] % 2 == 0:                       # even tasks: 10 vs 2 → disputed, third gives 5
                return {1: {"a": "6", "b": "4"}, 2: {"a": "1", "b": "1"}, 3: {"a": "4", "b": "1"}}[v["judge_slot"]]
            return {"a": "3", "b": "3"}

        def work(jid: int) -> None:
            try:
                for _ in range(100):
                    t = take_next(store, jid, rb)
                    if t is None:
                        return
                    try:
                        submit_score(store, t.assignment_id, jid, points(t.assignment_id), rb)
                    except ScoringError:
                        pass                                # the judge's other thread scored it first
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))

        threads = [threading.Thread(target=work, args=(ids[k % 12],)) for k in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        assert errors == []
        for _ in range(5):                                  # round-3 work given to judges whose threads had ended
            for jid in ids:
                work(jid)
        assert errors == []
        tasks = rows(store, "SELECT id, unit_key, state, judges_needed, final_score FROM essay_tasks ORDER BY id")
        assert len(tasks) == 12 and {t[2] for t in tasks} == {"final"}
        unit_of = {jid: unit_key(units[k % 3]) for k, jid in enumerate(ids)}
        for tid, ukey, _, rounds, final in tasks:
            asg = rows(store, "SELECT judge_slot, judge_id, state, total FROM essay_assignments WHERE task_id = :t "
                              "ORDER BY judge_slot", t=tid)
            assert [a[0] for a in asg] == list(range(1, rounds + 1))
            assert len({a[1] for a in asg}) == rounds and all(unit_of[a[1]] != ukey for a in asg)
            assert all(a[2] == "scored" for a in asg)
            if tid % 2 == 0:
                assert (rounds, [a[3] for a in asg], final) == (3, ["10", "2", "5"], "7/2")
            else:
                assert (rounds, final) == (2, "6")
        n_scores = rows(store, "SELECT count(*) FROM audit WHERE action = 'essay_score'")[0][0]
        assert n_scores == rows(store, "SELECT count(*) FROM essay_assignments")[0][0] == 6 * 2 + 6 * 3


def _another_pg_db(server: str) -> str:
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + f"/{name}"


def test_a_v4_store_is_migrated_to_tasks_per_participant_and_question(store_url):
    """A v4 store (one essay_tasks row per essay, no essays.task_id) is rebuilt from the v5 one, then opened."""
    with Store.open(store_url) as store:
        entry(store, 1, "000001", "Quận Ba Đình", n_pages=3)
        entry(store, 2, None, None)
        ids = rows(store, "SELECT id, anon_code, region_id FROM essays ORDER BY id")
        with store.write_tx("make it v4") as conn:
            for t in ("essay_assignments", "essay_tasks", "participants"):
                conn.execute(sa.text(f"DROP TABLE {t}"))
            conn.execute(sa.text("DROP INDEX ix_essays_task"))
            conn.execute(sa.text("ALTER TABLE essays DROP COLUMN task_id"))
            conn.execute(sa.text("ALTER TABLE submissions DROP COLUMN source_raw"))
            conn.execute(sa.text(
                "CREATE TABLE essay_tasks (id INTEGER PRIMARY KEY, essay_id INTEGER NOT NULL UNIQUE REFERENCES "
                "essays (id) ON DELETE CASCADE, anon_code VARCHAR(16) NOT NULL, question TEXT, "
                "state VARCHAR(16) NOT NULL, created_at TIMESTAMP NOT NULL)"))
            for eid, code, region in ids:
                conn.execute(sa.text("INSERT INTO essay_tasks (id, essay_id, anon_code, question, state, created_at) "
                                     "VALUES (:i, :i, :c, :q, 'open', CURRENT_TIMESTAMP)"),
                             {"i": eid, "c": code, "q": region})
            conn.execute(sa.text("UPDATE schema_version SET version = 4"))
    with Store.open(store_url) as store:
        assert rows(store, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
        assert rows(store, "SELECT source_raw FROM submissions") == [(None,), (None,)]
        assert rows(store, "SELECT task_key, state, anon_code FROM essay_tasks ORDER BY id") == [
            ("p:000001|essay", "open", ids[0][1]), ("s:2|essay", "waiting", ids[3][1])]
        assert [r[0] for r in rows(store, "SELECT task_id FROM essays ORDER BY id")] == [1, 1, 1, 2, 2]
        (before, after), = rows(store, "SELECT before, after FROM audit WHERE action = 'migrate_v5'")
        before, after = (json.loads(x) if isinstance(x, str) else x for x in (before, after))
        assert before == {"schema": 4, "essay_tasks_v2": {"open": 5}}
        assert after == {"schema": SCHEMA_VERSION, "essays_grouped": 5}
        j = add_judges(store, [("j1", "Sở")])
        assert take_next(store, j["j1"], rubric()).new
    with Store.open(store_url) as store:                              # opening again changes nothing
        assert rows(store, "SELECT count(*) FROM audit WHERE action = 'migrate_v5'") == [(1,)]
        assert len(rows(store, "SELECT id FROM essay_tasks")) == 2


# -- the command line: essays status, and re-runs of grade / ocr that leave scores alone ---------------------
@pytest.mark.slow
def test_rerun_of_grade_and_ocr_never_touches_scores_and_essays_status(tmp_path):
    from test_essays import DIGITAL, digital_pdf

    contest = tmp_path / "c"
    contest.mkdir()
    for name in ("layout.json", "keys.json", "rubric.json"):
        shutil.copy(DEMO / name, contest / name)
    url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
    pdf = digital_pdf(tmp_path / "mail.pdf", DIGITAL)
    c_ = ["--contest", str(contest)]
    p = omr("grade", str(pdf), *c_, "--unit", "Quận Ba Đình", "--ocr", "inline", "--workers", "1")
    assert p.returncode == ExitCode.FINISHED_WITH_FLAGS, p.stderr
    rb = load_rubric(contest)
    with Store.open(url) as store:
        (flag,) = store.list_flags()
        store.resolve_flag(flag["id"], "000123", "quantri")
        j = add_judges(store, [("j1", "Quận Cầu Giấy"), ("j2", "Quận Tây Hồ")])
        for name, pts in (("j1", {"noi_dung": "4", "bo_cuc": "2", "dien_dat": "1", "sang_tao": "1"}),
                          ("j2", {"noi_dung": "4,5", "bo_cuc": "2", "dien_dat": "1", "sang_tao": "1"})):
            submit_score(store, take_next(store, j[name], rb).assignment_id, j[name], pts, rb)
    snap = {t: db_rows(url, f"SELECT * FROM {t} ORDER BY 1") for t in ("essay_tasks", "essay_assignments", "essays")}
    assert [r[6:11] for r in snap["essay_tasks"]] == [("Quận Ba Đình", "quận ba đình", "final", 2, "33/4")]
    again = omr("grade", str(pdf), *c_, "--unit", "Quận Tây Hồ", "--workers", "1")
    assert again.returncode == ExitCode.OK, again.stderr                # nothing left open: the flag was resolved
    o = omr("ocr", *c_, "--retry-failed", "--workers", "1")
    assert o.returncode == ExitCode.OK and "0 essay(s) to read" in o.stdout, o.stderr
    assert {t: db_rows(url, f"SELECT * FROM {t} ORDER BY 1") for t in snap} == snap
    st = omr("essays", "status", *c_)
    assert st.returncode == ExitCode.OK, st.stderr
    lines = dict(line.rsplit(None, 1) for line in st.stdout.splitlines()[1:10])
    assert lines["final after two scores"] == "1" and lines["pending (no score)"] == "0" and lines["tasks"] == "1"
    assert "j1" in st.stdout and "Quận Cầu Giấy" in st.stdout
    (contest / "rubric.json").write_text('{"tolerance": 1, "final_rule": "third", "questions": [{"id": "essay"}]}',
                                         encoding="utf-8")
    bad = omr("essays", "status", *c_)
    assert bad.returncode == ExitCode.BAD_LAYOUT and "questions[0].criteria: required" in bad.stderr


def test_pages_arriving_after_judging_started_are_held_and_flagged_not_slipped_in(store_url):
    """Participant 000001's essay is judged (final 7); an e-mailed file with two more essay pages is then matched
    to him. The judged task keeps exactly the pages its judges saw and its final; the late pages wait apart, never
    handed out, with one flag per page for the organisers — and a second sync changes nothing."""
    rb = rubric()
    with Store.open(store_url) as store:
        entry(store, 1, "000001", "Quận Ba Đình", n_pages=1)
        entry(store, 2, None, None, n_pages=2)                      # no sheet: waits for its participant
        j = add_judges(store, [("j1", "Quận Cầu Giấy"), ("j2", "Quận Tây Hồ"), ("j3", "Quận Đống Đa")])
        t1 = task_of(store, "000001")
        for name in ("j1", "j2"):
            a = take_next(store, j[name], rb)
            submit_score(store, a.assignment_id, j[name], {"a": "4", "b": "3"}, rb)
        before = rows(store, "SELECT id, state, judges_needed, final_score FROM essay_tasks WHERE id = :t", t=t1)
        assert before == [(t1, "final", 2, "7")]
        (flag,) = [f for f in store.list_flags() if f["reason"] == "unmatched_essay"]
        store.resolve_flag(flag["id"], "000001", "quantri")

        assert rows(store, "SELECT id, state, judges_needed, final_score FROM essay_tasks WHERE id = :t",
                    t=t1) == before
        assert rows(store, "SELECT count(*) FROM essays WHERE task_id = :t", t=t1) == [(1,)]
        late = rows(store, "SELECT e.task_id, t.state, t.participant FROM essays e JOIN essay_tasks t "
                           "ON t.id = e.task_id JOIN pages p ON p.id = e.page_id JOIN submissions s "
                           "ON s.id = p.submission_id WHERE s.source = 's2.pdf'")
        assert len(late) == 2 and {(s, p) for _, s, p in late} == {("waiting", None)} and late[0][0] != t1
        held = [f for f in store.list_flags() if f["reason"] == "late_essay_pages"]
        assert len(held) == 2 and all("000001" in f["message"] for f in held)
        assert take_next(store, j["j3"], rb) is None                 # nothing to hand out: the late pages wait
        n_audit = rows(store, "SELECT count(*) FROM audit")
        with store.write_tx("sync again") as conn:                  # idempotent: no second flag, no move
            from grading.store import sync_tasks
            sync_tasks(conn, datetime.now(timezone.utc))
        assert len([f for f in store.list_flags() if f["reason"] == "late_essay_pages"]) == 2
        assert rows(store, "SELECT count(*) FROM audit") == n_audit
