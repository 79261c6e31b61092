from __future__ import annotations

from fractions import Fraction

import pytest

from grading.keys import Cancelled, keys_from_dict, load_keys
from grading.score import Outcome, ScoreStatus, score_sheet

from grading_support import DEMO


@pytest.fixture(scope="module")
def keys(small_layout):
    # 1: A   2: A or C (alternatives)   3: A and C both   4: D   5: E (2 points)   6: B
    # penalty 1/3 for every wrong answer; sections cover 1-3 and 4-6
    return keys_from_dict({
        "penalty": "1/3",
        "sections": [{"name": "Phần I", "questions": "1-3"}, {"name": "Phần II", "questions": "4-6"}],
        "versions": {"101": {"answers": "AAADEB", "questions": {"2": ["A", "C"], "3": "AC",
                                                                "5": {"accept": "E", "points": 2}}},
                     "102": {"answers": "BBBBBB"}}}, small_layout)


def outcomes(sc):
    return {q.question: q.outcome for q in sc.questions}


def test_all_correct_gives_the_maximum(keys):
    sc = score_sheet({"1": "A", "2": "C", "3": "AC", "4": "D", "5": "E", "6": "B"}, "101", keys)
    assert sc.status is ScoreStatus.SCORED
    assert set(outcomes(sc).values()) == {Outcome.CORRECT}
    assert sc.total == sc.max_total == Fraction(7)
    assert [(s.name, s.points, s.max_points) for s in sc.sections] == [("Phần I", 3, 3), ("Phần II", 4, 4)]


def test_penalty_one_third_is_exact(keys):
    # three wrong answers at 1/3 each: exactly one point off, no float residue
    sc = score_sheet({"1": "B", "2": "B", "3": "A", "4": "D", "5": "E", "6": "B"}, "101", keys)
    assert [outcomes(sc)[q] for q in "123"] == [Outcome.WRONG] * 3
    assert sc.total == Fraction(4 - 1) and isinstance(sc.total, Fraction)
    assert sc.sections[0].points == -1
    sc2 = score_sheet({"1": "B"}, "101", keys)
    assert sc2.total == Fraction(-1, 3)
    assert sc2.to_json()["total"] == "-1/3"


def test_blank_costs_nothing_and_multiple_is_scored_as_wrong(keys):
    sc = score_sheet({"1": "", "2": "AC", "4": "BD", "6": "B"}, "101", keys)
    o = outcomes(sc)
    assert o["1"] is Outcome.BLANK and o["3"] is Outcome.BLANK and o["5"] is Outcome.BLANK
    assert o["2"] is Outcome.MULTIPLE          # either A or C is right, but not both at once
    assert o["4"] is Outcome.MULTIPLE
    assert {q.question: q.points for q in sc.questions}["2"] == Fraction(-1, 3)
    assert sc.total == 1 - Fraction(2, 3)


def test_all_of_question_needs_exactly_the_set(keys):
    for marks, outcome in (("AC", Outcome.CORRECT), ("CA", Outcome.CORRECT), ("A", Outcome.WRONG),
                           ("ACD", Outcome.WRONG), ("B", Outcome.WRONG)):
        sc = score_sheet({"3": marks}, "101", keys)
        assert outcomes(sc)["3"] is outcome, marks
    assert score_sheet({"3": "CA"}, "101", keys).questions[2].marked == "AC"


def test_cancelled_award_and_drop(keys):
    answers = {"1": "A", "2": "A", "3": "AC", "4": "A", "5": "", "6": "B"}
    base = score_sheet(answers, "101", keys)
    assert base.total == 4 - Fraction(1, 3) and base.max_total == 7
    award = score_sheet(answers, "101", keys.cancel("101", "4", Cancelled.AWARD))
    assert outcomes(award)["4"] is Outcome.CANCELLED
    assert award.total == base.total + 1 + Fraction(1, 3) and award.max_total == 7
    blank_award = score_sheet(answers, "101", keys.cancel("101", "5", Cancelled.AWARD))
    assert blank_award.total == base.total + 2       # a blank answer gets the points too
    drop = score_sheet(answers, "101", keys.cancel("101", "5", Cancelled.DROP))
    assert drop.total == base.total and drop.max_total == 5
    assert drop.sections[1].max_points == 2


def test_open_flag_makes_the_question_unreadable_until_resolved(keys):
    answers = {"1": "A", "2": "A"}
    sc = score_sheet(answers, "101", keys, open_flags={"2"})
    assert outcomes(sc)["2"] is Outcome.UNREADABLE
    assert sc.needs_review == ("2",)
    assert sc.total == 1 and sc.max_total == 7          # 0 for now, still counted in the maximum
    assert score_sheet(answers, "101", keys).total == 2


def test_marks_that_are_not_options_are_unreadable(keys):
    sc = score_sheet({"1": "?", "2": "Z"}, "101", keys)
    assert outcomes(sc)["1"] is Outcome.UNREADABLE and outcomes(sc)["2"] is Outcome.UNREADABLE
    assert sc.needs_review == ("1", "2") and sc.total == 0


@pytest.mark.parametrize("version", ["999", None, "", "0101"])
def test_unknown_or_missing_version_is_no_key_never_a_default(keys, version):
    sc = score_sheet({"1": "B"}, version, keys)
    assert sc.status is ScoreStatus.NO_KEY
    assert sc.questions == () and sc.total == 0 and sc.max_total == 0
    assert "a judge must enter the version" in sc.message and "101, 102" in sc.message
    assert sc.to_json()["status"] == "no_key"


def test_versions_use_their_own_key(keys):
    answers = {str(i): "B" for i in range(1, 7)}
    assert score_sheet(answers, "102", keys).total == 6
    assert score_sheet(answers, "101", keys).total == 1 - Fraction(5, 3)


def test_demo_key_scores_exactly_with_fifths(demo_layout):
    keys = load_keys(DEMO, demo_layout)
    key = keys.get("103")
    right = {it.question: next(iter(it.accept[0])) for it in key.items}
    sc = score_sheet(right, "103", keys)
    assert sc.total == sc.max_total == 20
    wrong = dict(right)
    for q in ("1", "51", "52"):
        wrong[q] = "A" if right[q] != "A" else "B"
    sc = score_sheet(wrong, "103", keys)
    assert sc.total == 20 - Fraction(3, 5) - 2 * Fraction(1, 20)
    assert sum((s.points for s in sc.sections), Fraction(0)) == sc.total
