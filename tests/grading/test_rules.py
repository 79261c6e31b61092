"""The contest's rules as data (grading.rules): the demo's Hanoi rules, a one-round school exam, and every
problem of a broken rules.json listed at once (exit 5), also by ``omr check``."""
from __future__ import annotations

import json
import shutil
from fractions import Fraction

import pytest

from grading.contest import check_contest
from grading.rules import Advance, Band, Level, Measure, Rules, TieBreak, load_rules, need_rules, rules_from_dict
from grading_support import DEMO, omr
from omr.errors import ExitCode, LayoutError

SCHOOL_EXAM = {"total": {"mc_weight": "0,6", "essay_weight": "2/5"}, "tie_breaks": ["mc_points"],
               "rounds": [{"name": "thi", "title": "Kiểm tra học kỳ", "level": "city"}],
               "prizes": {"individual": [{"band": "gioi", "title": "Giỏi", "count": 5}]}}


def test_the_demo_rules_are_the_hanoi_contests():
    rules = load_rules(DEMO)
    assert rules is not None
    assert (rules.mc_weight, rules.essay_weight) == (1, 1)
    assert rules.tie_breaks == (TieBreak.ESSAY_SCORE, TieBreak.MC_POINTS, TieBreak.EARLIER_RECEIPT)
    assert [(r.name, r.level, r.judges, r.advance) for r in rules.rounds] == [
        ("vong-loai", Level.UNIT, Level.UNIT, Advance(min_score=Fraction(5))),
        ("so-khao-huyen", Level.UNIT, Level.UNIT, Advance(top=100, per_unit=True)),
        ("so-khao-tp", Level.CITY, Level.CITY, Advance(top=200)),
        ("chung-khao", Level.CITY, Level.CITY, None)]
    assert [b.count for b in rules.individual] == [3, 7, 20, 35]
    assert [b.count for b in rules.collective] == [3, 7, 10]
    assert rules.individual[0] == Band("nhat", "Giải Nhất", 3)
    assert rules.measures == ((Measure.PARTICIPATION, 100), (Measure.FINALISTS, 1), (Measure.MEAN_FINAL_SCORE, 1))
    assert rules.final is not None and rules.final.name == "chung-khao"


def test_a_one_round_school_exam_uses_the_same_rules():
    rules = rules_from_dict(SCHOOL_EXAM, source="rules.json")
    assert rules == Rules(Fraction(3, 5), Fraction(2, 5), (TieBreak.MC_POINTS,),
                          (rules.rounds[0],), (Band("gioi", "Giỏi", 5),), (), ())
    assert rules.rounds[0].advance is None and rules.final == rules.rounds[0]


def test_every_problem_of_the_rules_is_listed_with_its_path():
    bad = {"total": {"mc_weight": -1, "essay_weight": "x", "bonus": 1}, "tie_breaks": ["luck", "mc_points",
                                                                                        "mc_points"],
           "rounds": [{"name": "Chung Khảo", "level": "city", "advance": {"top": 0}},
                      {"name": "b", "level": "unit", "advance": {"top": 5, "min_score": 3}},
                      {"name": "c", "level": "district", "advance": {"top": 3}},
                      {"name": "b", "level": "city"}, "x"],
           "prizes": {"individual": [{"band": "nhat", "count": 0}, {"band": "nhat", "count": 2}],
                      "collective": [{"band": "a", "count": 1}]},
           "collective": {"luck": 1}, "extra": 1}
    with pytest.raises(LayoutError) as e:
        rules_from_dict(bad, source="rules.json")
    assert e.value.exit_code == ExitCode.BAD_LAYOUT
    assert sorted(e.value.details) == sorted([
        "extra: unknown key (known: collective, prizes, rounds, tie_breaks, total)",
        "total.bonus: unknown key (known: essay_weight, mc_weight)",
        "total.mc_weight: must be at least 0",
        "total.essay_weight: 'x' is not a number",
        "tie_breaks[0]: 'luck' is not one of essay_score, mc_points, earlier_receipt",
        "tie_breaks[2]: 'mc_points' is listed twice",
        "rounds[0].name: must be a short code of lower-case letters, digits, - or _ (e.g. so-khao)",
        "rounds[0].advance.top: must be a whole number above 0",
        "rounds[1].advance: needs exactly one of top or min_score",
        "rounds[1].level: a unit round cannot follow a city round",
        "rounds[2].level: 'district' is not one of unit, city",
        "rounds[3].name: 'b' is already the name of another round",
        "rounds[3].advance: needed (who goes on to the next round)",
        "rounds[4]: must be an object",
        "prizes.individual[0].count: must be a whole number above 0",
        "prizes.individual[1].band: 'nhat' is already a band",
        "collective.luck: 'luck' is not one of participation, entries, finalists, mean_final_score, "
        "individual_prizes",
        "collective: the collective prizes need a formula (e.g. {\"participation\": 1})"])


def test_the_last_round_has_no_advance_and_a_contest_without_rules_says_what_to_add(tmp_path):
    with pytest.raises(LayoutError) as e:
        rules_from_dict({"rounds": [{"name": "a", "level": "city", "advance": {"top": 3}}]}, source="r")
    assert e.value.details == ("rounds[0].advance: the last round is the final: nobody goes on from it",)
    assert load_rules(tmp_path) is None
    with pytest.raises(LayoutError, match="rules.json does not exist"):
        need_rules(tmp_path)


def test_omr_check_lists_the_rules_problems(tmp_path):
    folder = tmp_path / "c"
    shutil.copytree(DEMO, folder)
    (folder / "rules.json").write_text(json.dumps({"rounds": []}), encoding="utf-8")
    (finding,) = check_contest(folder)
    assert (finding.file, finding.details) == ("rules.json", ("rounds: must be a list of at least one round",))
    r = omr("check", "--contest", str(folder))
    assert r.returncode == ExitCode.BAD_LAYOUT and "rounds: must be a list of at least one round" in r.stdout + r.stderr
