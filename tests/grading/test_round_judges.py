"""A contest round's ``judges`` rule when its essays are handed out (``grading.round_judges``): a unit round's
tasks go only to judges of the entry's unit or of a unit below it, a city round's to city judges (unit
``city``); judges of the entry's own unit never — from the pool, for the dispute's third judge and when an admin
moves an assignment. On SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from grading.essays import (ScoringError, assign_essay_pages, import_roster, reassign, rubric_from_dict,
                            submit_score, take_next)
from grading.keys import keys_from_dict
from grading.round_judges import RoundJudging
from grading.rounds import open_round
from grading.rules import rules_from_dict
from grading.store import Store, judges
from grading.units import load_units
from omr.layout import layout_from_dict
from omr.sheet import Participant

from grading_support import failure, reading, sha, small_layout_dict

RUBRIC = rubric_from_dict({"tolerance": "1", "final_rule": "closest_mean", "questions": [
    {"id": "essay", "title": "Bài tự luận", "criteria": [{"id": "a", "title": "Nội dung", "max": 10}]}]})
UNITS = ("code,name,kind,parent\nQ1,Quận 1,quận,\nQ1-A,Trường A,trường,Q1\nQ1-A2,Trường A2,trường,Q1\n"
         "Q1-A3,Trường A3,trường,Q1\nQ2,Quận 2,quận,\nQ2-B,Trường B,trường,Q2\n")
PEOPLE = {"000011": "Trường A", "000012": "Trường A", "000021": "Trường B", "000022": "Trường B"}
UNIT_ROUND = {"rounds": [{"name": "loai", "title": "Vòng loại", "level": "unit"}]}
CITY_ROUND = {"rounds": [{"name": "tp", "title": "Sơ khảo thành phố", "level": "city"}]}
# created in this order: without the rules, the judges of Quận 2 and the city would come first
JUDGES = (("gkA", "Trường A"), ("gkQ2", "Q2"), ("tp1", "city"), ("tp2", "city"), ("gkA2", "Trường A2"),
          ("gkQ1", "Quận 1"), ("gkA3", "Q1-A3"))


@pytest.fixture
def world(tmp_path, store_url):
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    units = load_units(tmp_path)
    layout = layout_from_dict(small_layout_dict())
    keys = keys_from_dict({"versions": {"101": {"answers": "AAAAAA"}}}, layout)
    store = Store.open(store_url)
    for pid, unit in PEOPLE.items():
        src = f"bai-{pid}.pdf"
        store.record_submission(src, sha(src), 1, assign_essay_pages([reading(src, 1, pid, "101", "AAAAAA"),
                                                                     failure(src, 2)]), keys, unit=unit)
    import_roster(store, [Participant(pid, f"Thí sinh {pid}", unit) for pid, unit in PEOPLE.items()])
    with store.write_tx("judges") as conn:
        ids = {name: conn.execute(sa.insert(judges).values(name=name, unit=unit, role="judge", password_hash="x",
                                                           must_change=False, created_at=sa.func.now())
                                  .returning(judges.c.id)).scalar_one() for name, unit in JUDGES}
    yield store, units, ids
    store.close()


def drain(store: Store, jid: int, rounds: RoundJudging | None) -> list[str]:
    """Every task the judge can take, one at a time (each scored 5 so the next can come): their participants."""
    got = []
    while (t := take_next(store, jid, RUBRIC, rounds=rounds)) is not None:
        with store.read_tx("t") as conn:
            got.append(conn.execute(sa.text("SELECT t.participant FROM essay_assignments a JOIN essay_tasks t "
                                            "ON t.id = a.task_id WHERE a.id = :a"), {"a": t.assignment_id}).scalar())
        submit_score(store, t.assignment_id, jid, {"a": "5"}, RUBRIC, rounds=rounds)
    return got


def test_a_unit_rounds_essays_go_to_judges_of_that_unit_and_below(world):
    store, units, ids = world
    rules = rules_from_dict(UNIT_ROUND, source="rules.json")
    for unit in ("Q1", "Q2"):
        assert open_round(store, rules, units, "loai", unit, who="btc").tasks_added == 2
    rounds = RoundJudging(rules, units)
    assert drain(store, ids["tp1"], rounds) == []                 # a city judge: not a unit round's
    assert drain(store, ids["gkA"], rounds) == []                 # Q1's entries are of his own school
    assert sorted(drain(store, ids["gkA2"], rounds)) == ["000011", "000012"]     # a school below Q1
    assert sorted(drain(store, ids["gkQ2"], rounds)) == ["000021", "000022"]
    assert sorted(drain(store, ids["gkQ1"], rounds)) == ["000011", "000012"]     # the district itself


def test_without_the_rules_anyone_takes_a_rounds_task(world):
    store, units, ids = world
    rules = rules_from_dict(UNIT_ROUND, source="rules.json")
    for unit in ("Q1", "Q2"):
        open_round(store, rules, units, "loai", unit, who="btc")
    assert take_next(store, ids["tp1"], RUBRIC) is not None       # what the rule above prevents


def test_a_city_rounds_essays_go_to_city_judges_only(world):
    store, units, ids = world
    rules = rules_from_dict(CITY_ROUND, source="rules.json")
    assert open_round(store, rules, units, "tp", None, who="btc").tasks_added == 4
    rounds = RoundJudging(rules, units)
    for name in ("gkA2", "gkQ1", "gkQ2", "gkA3"):
        assert drain(store, ids[name], rounds) == [], name
    assert sorted(drain(store, ids["tp1"], rounds)) == sorted(PEOPLE)
    assert sorted(drain(store, ids["tp2"], rounds)) == sorted(PEOPLE)


def test_the_third_judge_and_a_moved_assignment_follow_the_rule(world):
    store, units, ids = world
    rules = rules_from_dict(UNIT_ROUND, source="rules.json")
    for unit in ("Q1", "Q2"):
        open_round(store, rules, units, "loai", unit, who="btc")
    rounds = RoundJudging(rules, units)
    a = take_next(store, ids["gkA2"], RUBRIC, rounds=rounds)
    submit_score(store, a.assignment_id, ids["gkA2"], {"a": "1"}, RUBRIC, rounds=rounds)
    with store.read_tx("t") as conn:
        task, rnd = conn.execute(sa.text("SELECT t.id, t.contest_round FROM essay_assignments a JOIN essay_tasks t "
                                         "ON t.id = a.task_id WHERE a.id = :a"), {"a": a.assignment_id}).one()
    assert rnd == "loai"
    b = take_next(store, ids["gkQ1"], RUBRIC, rounds=rounds)
    with store.read_tx("t") as conn:
        assert conn.execute(sa.text("SELECT task_id FROM essay_assignments WHERE id = :a"),
                            {"a": b.assignment_id}).scalar() == task
    out = submit_score(store, b.assignment_id, ids["gkQ1"], {"a": "9"}, RUBRIC, rounds=rounds)
    assert out.third_judge == "gkA3"              # not gkQ2 nor the city judges, who hold no more work
    with store.read_tx("t") as conn:
        third = conn.execute(sa.text("SELECT id FROM essay_assignments WHERE task_id = :t AND judge_slot = 3"),
                             {"t": task}).scalar()
    for name in ("gkQ2", "tp1"):
        with pytest.raises(ScoringError, match="không chấm vòng loai"):
            reassign(store, third, ids[name], who="btc", rounds=rounds)
    with pytest.raises(ScoringError, match="cùng đơn vị"):
        reassign(store, third, ids["gkA"], who="btc", rounds=rounds)
    with store.read_tx("t") as conn:
        assert conn.execute(sa.text("SELECT j.name FROM essay_assignments a JOIN judges j ON j.id = a.judge_id "
                                    "WHERE a.id = :a"), {"a": third}).scalar() == "gkA3"
