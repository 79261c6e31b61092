from __future__ import annotations

import json
from fractions import Fraction

import pytest

from grading.keys import Cancelled, KeySet, keys_from_dict, load_keys, parse_fraction
from omr.errors import ExitCode, LayoutError
from omr.layout import layout_from_dict

from grading_support import DEMO, small_layout_dict


def test_demo_keys_load_and_match_the_demo_layout(demo_layout):
    keys = load_keys(DEMO, demo_layout)
    assert keys.versions == ("101", "102", "103", "104")
    assert keys.version_digits == 3
    for k in keys.keys:
        assert [it.question for it in k.items] == list(demo_layout.question_ids)
    assert [s.name for s in keys.sections] == ["Phần I", "Phần II"]
    assert keys.sections[0].questions == tuple(str(i) for i in range(1, 51))
    item = keys.get("101").item("61")
    assert item.points == Fraction(1, 5) and item.penalty == Fraction(1, 20) and item.section == "Phần II"
    assert keys.get("101").item("1").penalty == 0


def test_accepted_answers_alternatives_and_all_of(small_layout):
    # lower-case "e" is not a label: labels are case-sensitive (layouts print them as given)
    with pytest.raises(LayoutError, match="1 problem"):
        keys_from_dict({"versions": {"101": {"answers": "ABCDEA", "questions": {"5": {"accept": "e"}}}}},
                       small_layout)
    keys = keys_from_dict({"versions": {"101": {"answers": "ABCDEA", "questions": {
        "2": ["A", "C"], "3": "AC", "4": ["A", "BC"], "5": {"accept": "E", "points": 2}}}}}, small_layout)
    k = keys.get("101")
    assert k.item("1").accept == (frozenset("A"),)
    assert k.item("2").accept == (frozenset("A"), frozenset("C")) and k.item("2").single_answer
    assert k.item("3").accept == (frozenset("AC"),) and not k.item("3").single_answer
    assert k.item("4").accept_text() == ["A", "BC"]
    assert k.item("5").points == 2 and k.item("6").points == 1


def test_points_precedence_question_over_section_over_default(small_layout):
    keys = keys_from_dict({
        "points": "1/2", "penalty": 0.25,
        "sections": [{"name": "S1", "questions": "1-2", "points": 3, "penalty": "1/3"},
                     {"name": "S2", "questions": [3, "4-5"]}],
        "versions": {"101": {"answers": "AAAAAA", "questions": {"1": {"points": "0.1", "penalty": 0}}}}},
        small_layout)
    k = keys.get("101")
    assert (k.item("1").points, k.item("1").penalty) == (Fraction(1, 10), 0)
    assert (k.item("2").points, k.item("2").penalty) == (3, Fraction(1, 3))
    assert (k.item("3").points, k.item("3").penalty) == (Fraction(1, 2), Fraction(1, 4))
    assert (k.item("6").section, k.item("6").points) == (None, Fraction(1, 2))
    assert keys.sections[1].questions == ("3", "4", "5")


def test_every_problem_is_reported_at_once_with_its_path(demo_layout):
    bad = {
        "contest": "other",
        "pointz": 1,
        "points": "abc",
        "penalty": -1,
        "sections": [{"name": "A", "questions": "1-40"}, {"name": "B", "questions": ["35-45", "300"]},
                     {"name": "A", "questions": "50-41"}],
        "versions": {
            "12": {"answers": "A" * 100},
            "101": {"answers": "A" * 98 + "E", "questions": {
                "7": "Z", "200": "A", "8": {"accept": "B", "cancelled": "maybe", "points": True}}},
            "102": {"questions": {"1": "A"}},
        },
    }
    with pytest.raises(LayoutError, match=r"keys.json: the answer key has \d+ problem") as exc:
        keys_from_dict(bad, demo_layout, source="keys.json")
    assert exc.value.exit_code is ExitCode.BAD_LAYOUT
    text = "\n".join(exc.value.details)
    expected = [
        "contest: 'other' does not match the layout's contest 'demo'",
        "pointz: unknown field",
        "points: 'abc' is not a number",
        "penalty: -1 is negative",
        "sections[1].questions: question(s) 35-40 are already in section(s) 'A'",
        "sections[1].questions[1]: question(s) 300 are not on the layout",
        "sections[2].name: section 'A' is defined twice",
        "sections[2].questions: the range '50-41' runs backwards",
        "versions.12: version '12' must be 3 digits",
        "versions.101.answers: 99 letters for 100 questions",
        "versions.101.answers: question 99: 'E' is not one of A, B, C, D",
        "versions.101.questions.7: 'Z' is not one of the options A, B, C, D",
        "versions.101.questions.200: question '200' is not on the layout",
        "versions.101.questions.8.cancelled: 'maybe' is not \"award\" or \"drop\"",
        "versions.101.questions.8.points: must be a number",
        "versions.101: no accepted answer for question(s) 100",
        "versions.102: no accepted answer for question(s) 2-100",
    ]
    for line in expected:
        assert line in text, f"missing: {line}\n--- got:\n{text}"
    assert len(exc.value.details) == len(expected)
    assert "  - versions.102: no accepted answer" in str(exc.value)


def test_cancelled_question_needs_no_answer_and_cancel_helper(small_layout):
    keys = keys_from_dict({"versions": {"101": {"questions": {
        "1": "A", "2": "B", "3": "C", "4": "D", "5": "E", "6": {"cancelled": "drop"}}}}}, small_layout)
    assert keys.get("101").item("6").cancelled is Cancelled.DROP
    k2 = keys.cancel("101", "1", Cancelled.AWARD)
    assert k2.get("101").item("1").cancelled is Cancelled.AWARD
    assert keys.get("101").item("1").cancelled is None          # the original is unchanged (frozen)
    assert k2.digest != keys.digest
    with pytest.raises(LayoutError, match="must stay cancelled"):
        keys.cancel("101", "6", None)
    with pytest.raises(LayoutError, match="no such key entry"):
        keys.cancel("999", "1", Cancelled.DROP)


def test_json_round_trip_keeps_everything(small_layout):
    keys = keys_from_dict({"penalty": "1/3", "sections": [{"name": "Phần I", "questions": "1-3"}],
                           "versions": {"101": {"answers": "ABCDEA", "questions": {"2": ["A", "CD"]}},
                                        "102": {"answers": "EDCBAE", "questions": {"3": {"cancelled": "award"}}}}},
                          small_layout)
    again = KeySet.from_json(json.loads(json.dumps(keys.to_json())))
    assert again == keys
    assert again.digest == keys.digest


def test_layout_without_version_field_has_exactly_one_key():
    layout = layout_from_dict(small_layout_dict(version=False))
    keys = keys_from_dict({"versions": {"only": {"answers": "ABCDEA"}}}, layout)
    assert keys.get(None) is keys.keys[0]
    with pytest.raises(LayoutError, match="only one key"):
        keys_from_dict({"versions": {"a": {"answers": "ABCDEA"}, "b": {"answers": "ABCDEA"}}}, layout)


def test_version_field_means_no_default_key(small_layout):
    keys = keys_from_dict({"versions": {"101": {"answers": "ABCDEA"}}}, small_layout)
    assert keys.get(None) is None and keys.get("102") is None


@pytest.mark.parametrize(("raw", "value"), [(1, Fraction(1)), (0.1, Fraction(1, 10)), ("1/3", Fraction(1, 3)),
                                            (" 0.25 ", Fraction(1, 4)), ("2", Fraction(2))])
def test_parse_fraction(raw, value):
    assert parse_fraction(raw) == value


@pytest.mark.parametrize("raw", [True, None, "1/0", "x", float("nan"), float("inf"), [1]])
def test_parse_fraction_rejects(raw):
    with pytest.raises(ValueError, match="must be|not a number"):
        parse_fraction(raw)


def test_load_keys_file_errors(tmp_path, small_layout):
    with pytest.raises(LayoutError, match=r"does not exist; put the answer keys in keys.json in the contest "
                                          r"folder \(--contest DIR\)"):
        load_keys(tmp_path / "nope.json", small_layout)
    (tmp_path / "keys.json").write_text("{\"versions\": ", encoding="utf-8")
    with pytest.raises(LayoutError, match="not valid JSON") as exc:
        load_keys(tmp_path, small_layout)
    assert exc.value.details and exc.value.details[0].startswith("line 1")
    with pytest.raises(LayoutError, match="JSON object"):
        keys_from_dict([], small_layout)
