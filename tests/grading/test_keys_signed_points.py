"""Answer keys with signed points: ``incorrect`` and ``unmarked`` per question, weighted alternatives
(``weights``) — what OMRChecker evaluations need — and the canonical form of keys without them unchanged."""
from fractions import Fraction

import pytest

from grading.keys import KeySet, keys_from_dict
from grading.score import Outcome, score_sheet
from omr.errors import LayoutError


def test_signed_incorrect_unmarked_and_weights_score(small_layout):
    keys = keys_from_dict({"versions": {"101": {"answers": "ABCDEA", "questions": {
        "1": {"accept": "A", "incorrect": "1/2"},                       # a bonus: wrong still gives 1/2
        "2": {"accept": ["A", "C"], "weights": [3, "-2"], "unmarked": "-1/4"},
        "3": {"accept": "C", "incorrect": -1}}}}}, small_layout)
    s = score_sheet({"1": "B", "2": "C", "3": "D"}, "101", keys)
    got = {q.question: (q.outcome, q.points, q.max_points) for q in s.questions}
    assert got["1"] == (Outcome.WRONG, Fraction(1, 2), 1)
    assert got["2"] == (Outcome.CORRECT, -2, 3)
    assert got["3"] == (Outcome.WRONG, -1, 1)
    assert score_sheet({"2": ""}, "101", keys).questions[1].points == Fraction(-1, 4)
    assert score_sheet({"2": "A"}, "101", keys).questions[1].points == 3
    # the canonical document round-trips
    again = KeySet.from_json(keys.to_json())
    assert again.get("101").item("2").weights == (3, -2) and again.get("101").item("2").unmarked == Fraction(-1, 4)


def test_keys_without_signed_points_keep_their_canonical_form(small_layout):
    keys = keys_from_dict({"versions": {"101": {"answers": "ABCDEA"}}}, small_layout)
    item = keys.to_json()["versions"]["101"][0]
    assert sorted(item) == ["accept", "cancelled", "options", "penalty", "points", "question", "section"]


@pytest.mark.parametrize("entry, needle", [
    ({"accept": "A", "incorrect": -1, "penalty": 1}, "either penalty or incorrect"),
    ({"accept": ["A", "B"], "weights": [1]}, "a list of 2 points"),
    ({"accept": "A", "unmarked": "x"}, "is not a number"),
])
def test_bad_signed_points_are_reported(small_layout, entry, needle):
    with pytest.raises(LayoutError) as exc:
        keys_from_dict({"versions": {"101": {"answers": "ABCDEA", "questions": {"1": entry}}}}, small_layout)
    assert any(needle in d for d in exc.value.details)
