"""Scoring rules of the national exam's sheet: Phần II groups scored by the number of statements right, Phần III
numeric answers compared as numbers, both given as data in keys.json."""
from __future__ import annotations

import copy
import json
from fractions import Fraction
from pathlib import Path

import pytest

from grading.keys import KeySet, keys_from_dict, load_keys
from grading.score import Outcome, score_sheet
from omr.errors import LayoutError
from omr.layout import load_layout

NATIONAL = Path(__file__).resolve().parents[2] / "answer_keys" / "national2025"


@pytest.fixture(scope="module")
def layout():
    return load_layout(NATIONAL)


@pytest.fixture(scope="module")
def keys(layout):
    return load_keys(NATIONAL, layout)


def _right_answers(keys: KeySet, version: str) -> dict[str, str]:
    return {it.question: it.accept_text()[0] if it.accept else it.numbers[0] for it in keys.get(version).items}


def _flip(v: str) -> str:
    return "S" if v == "Đ" else "Đ"


@pytest.mark.parametrize("right, points", [(0, "0"), (1, "1/10"), (2, "1/4"), (3, "1/2"), (4, "1")])
def test_part_two_scores_by_the_number_of_statements_right(keys, right, points):
    ans = _right_answers(keys, "101")
    for s in "abcd"[right:]:
        ans[f"II.1{s}"] = _flip(ans[f"II.1{s}"])
    sc = score_sheet(ans, "101", keys)
    g = next(q for q in sc.questions if q.question == "II.1")
    assert g.points == Fraction(points) and g.max_points == 1
    assert g.outcome is {0: Outcome.WRONG, 4: Outcome.CORRECT}.get(right, Outcome.PARTIAL)
    assert all(q.points == 0 and q.max_points == 0 for q in sc.questions if q.question.startswith("II.1")
               and len(q.question) == 5)
    part2 = next(s for s in sc.sections if s.name == "Phần II")
    assert part2.points == 7 + Fraction(points) and part2.max_points == 8


def test_part_two_blank_and_flagged_groups(keys):
    ans = _right_answers(keys, "101")
    for s in "abcd":
        ans[f"II.2{s}"] = ""
    sc = score_sheet(ans, "101", keys, open_flags={"II.3b"})
    by = {q.question: q for q in sc.questions}
    assert by["II.2"].outcome is Outcome.BLANK and by["II.2"].points == 0
    assert by["II.3"].outcome is Outcome.UNREADABLE and by["II.3"].points == 0
    assert sc.needs_review == ("II.3b",)          # the statement a judge resolves, not its group


@pytest.mark.parametrize("written, outcome, points", [
    ("-1,5", Outcome.CORRECT, "1/4"), ("-1,50", Outcome.CORRECT, "1/4"), ("-01,5", Outcome.CORRECT, "1/4"),
    ("1,5", Outcome.WRONG, "0"), ("-15", Outcome.WRONG, "0"), ("", Outcome.BLANK, "0"),
    ("1,,5", Outcome.UNREADABLE, "0"), ("-?,5", Outcome.UNREADABLE, "0")])
def test_part_three_numbers_compare_as_numbers(keys, written, outcome, points):
    ans = _right_answers(keys, "101")
    assert ans["III.1"] == "-1,5"
    ans["III.1"] = written
    q = next(q for q in score_sheet(ans, "101", keys).questions if q.question == "III.1")
    assert (q.outcome, q.points, q.marked) == (outcome, Fraction(points), written)


def test_part_three_flagged_answer_waits_for_a_judge(keys):
    ans = _right_answers(keys, "101")
    q = next(q for q in score_sheet(ans, "101", keys, open_flags={"III.1"}).questions if q.question == "III.1")
    assert q.outcome is Outcome.UNREADABLE and q.points == 0


def test_full_marks_and_round_trip(keys):
    sc = score_sheet(_right_answers(keys, "102"), "102", keys)
    assert sc.total == sc.max_total == 10 + 8 + Fraction(3, 2)
    again = KeySet.from_json(keys.to_json())
    assert again.groups == keys.groups and again.digest == keys.digest
    assert score_sheet(_right_answers(keys, "102"), "102", again).total == sc.total


def _raw() -> dict:
    return json.loads((NATIONAL / "keys.json").read_text(encoding="utf-8"))


def test_bad_numbers_and_groups_are_reported_with_their_path(layout):
    raw = copy.deepcopy(_raw())
    raw["versions"]["101"]["questions"]["III.2"] = "1,2,3"
    raw["versions"]["101"]["questions"]["III.3"] = {"accept": ["5", "x"]}
    raw["groups"][0]["questions"].append("II.9a")
    raw["groups"][1]["points_by_count"] = {"5": 1}
    raw["groups"].append({"name": "II.2", "questions": ["II.1a"]})
    with pytest.raises(LayoutError) as exc:
        keys_from_dict(raw, layout)
    text = "\n".join(exc.value.details)
    assert "versions.101.questions.III.2.accept: must be a number" in text
    assert "versions.101.questions.III.3.accept[1]: must be a number" in text
    assert "groups[0].questions: question 'II.9a' is not on the layout" in text
    assert "groups[1].points_by_count.5: must be a count of questions right, 0..4" in text
    assert "groups[8].questions: question 'II.1a' is already in group 'II.1'" in text
    assert "group name(s) II.2 repeat" in text


def test_numeric_answer_missing_from_a_key_is_reported(layout):
    raw = copy.deepcopy(_raw())
    del raw["versions"]["103"]["questions"]["III.6"]
    with pytest.raises(LayoutError) as exc:
        keys_from_dict(raw, layout)
    assert any("versions.103" in d and "III.6" in d for d in exc.value.details)
