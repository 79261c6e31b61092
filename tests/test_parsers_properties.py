"""The contest files' parsers never crash: whatever a layout, answer-key, rubric or roster file holds, the
result is a value or the project's own error with its exit code (5 for the JSON files, 9 for the roster).
"""
from __future__ import annotations

import codecs
import copy
import json
import unicodedata
from fractions import Fraction
from pathlib import Path

import pytest

from grading.keys import keys_from_dict, load_keys
from grading.scoring import load_rubric
from omr.errors import ExitCode, InputError, LayoutError
from omr.layout import layout_from_dict, load_layout
from omr.sheet import Participant, read_roster

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "answer_keys" / "demo"
LAYOUT = json.loads((DEMO / "layout.json").read_text(encoding="utf-8"))
KEYS = json.loads((DEMO / "keys.json").read_text(encoding="utf-8"))
RUBRIC = json.loads((DEMO / "rubric.json").read_text(encoding="utf-8"))
ROSTER = ("participant_id,name,unit\n000001,Nguyễn Thị Hồng,Trường THCS Lê Lợi\n"
          "000002,Trần Văn Đức,Quận Ba Đình\n")


def small_layout_dict() -> dict:
    raw = copy.deepcopy(LAYOUT)
    raw["id"] = "small-6"
    raw["questions"] = {"options": ["A", "B", "C", "D", "E"], "blocks": [
        {"first": 1, "count": 6, "x_mm": 24, "y_mm": 128, "option_pitch_mm": 6.5, "row_pitch_mm": 6.0}]}
    return raw


SMALL = layout_from_dict(small_layout_dict())
SMALL_KEYS = {"points": "1/2", "penalty": 0.25,
              "sections": [{"name": "S1", "questions": "1-2", "points": 3}, {"name": "S2", "questions": [3, "4-5"]}],
              "versions": {"101": {"answers": "ABCDEA", "questions": {"2": ["A", "C"], "6": {"cancelled": "drop"}}}}}
TONES = "\u0300\u0301\u0303\u0309\u0323"         # the five Vietnamese tones as combining marks


def windows_1258(text: str) -> bytes:
    """``text`` as Windows-1258 writes Vietnamese: letters with their vowel shape (â, ơ, ư …) as one byte, the
    tone as a combining mark after them ("ệ" → "ê" + dot below)."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        marks = unicodedata.normalize("NFD", ch)
        tones = "".join(m for m in marks if m in TONES)
        out.append(unicodedata.normalize("NFC", "".join(m for m in marks if m not in TONES)) + tones)
    return "".join(out).encode("cp1258", errors="replace")


# -- files not in UTF-8, and JSON that Python cannot hold ------------------------------------------------------------
def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    (tmp_path / name).write_bytes(data)
    return tmp_path / name


@pytest.mark.parametrize(("encoding", "looks_like"), [
    ("utf-16", "it is UTF-16 (it starts with a UTF-16 byte-order mark)"),
    ("utf-32", "it is UTF-32"),
    ("utf-16-le", "it looks like UTF-16"),
    ("cp1258", "it looks like Windows-1258, the Vietnamese code page"),
])
def test_json_files_not_in_utf8_are_refused_with_how_to_save_them(tmp_path, encoding, looks_like):
    def save(doc):
        text = json.dumps(doc, ensure_ascii=False)
        return windows_1258(text) if encoding == "cp1258" else text.encode(encoding)
    loaders = ((load_layout, "layout.json", LAYOUT), (lambda p: load_keys(p, SMALL), "keys.json", SMALL_KEYS),
               (lambda p: load_rubric(p, required=True), "rubric.json", RUBRIC))
    for load, name, doc in loaders:
        path = _write(tmp_path, name, save({**doc, "title": "Phiếu trả lời"}))
        with pytest.raises(LayoutError) as ei:
            load(path)
        assert ei.value.exit_code is ExitCode.BAD_LAYOUT
        assert str(ei.value).startswith(f"{name.split('.')[0].replace('keys', 'answer-key')} file {path} is not saved "
                                        f"as UTF-8 ({looks_like}")
        assert "save it again with the encoding UTF-8" in str(ei.value) and "codec" not in str(ei.value)


def test_json_files_in_utf8_with_a_bom_are_read(tmp_path):
    layout = load_layout(_write(tmp_path, "layout.json", codecs.BOM_UTF8 + json.dumps(LAYOUT).encode("utf-8")))
    assert layout.title == LAYOUT["title"]
    rubric = load_rubric(_write(tmp_path, "rubric.json", codecs.BOM_UTF8 + json.dumps(RUBRIC).encode("utf-8")))
    assert rubric is not None and rubric.question_ids == ("essay",)


def test_omr_layout_on_a_utf16_file_exits_5_with_the_advice(tmp_path, capsys):
    from omr.cli import main

    path = _write(tmp_path, "layout.json", json.dumps(LAYOUT, ensure_ascii=False).encode("utf-16"))
    assert main(["layout", str(path)]) == ExitCode.BAD_LAYOUT == 5
    err = capsys.readouterr().err
    assert "is not saved as UTF-8 (it is UTF-16" in err and "Traceback" not in err


@pytest.mark.parametrize(("text", "detail"), [
    ("[" * 100_000 + "]" * 100_000, "lists or objects nested too deeply"),
    ('{"id": ' + "9" * 5000 + "}", "a number has more than 4300 digits"),
])
def test_json_python_cannot_hold_is_a_layout_error(tmp_path, text, detail):
    with pytest.raises(LayoutError, match="is not valid JSON") as ei:
        load_layout(_write(tmp_path, "layout.json", text.encode("ascii")))
    assert ei.value.details == (detail,) and ei.value.exit_code is ExitCode.BAD_LAYOUT


def test_half_a_character_in_a_json_file_is_refused_before_it_reaches_the_store(tmp_path):
    doc = json.dumps({**SMALL_KEYS, "sections": [{"name": "S\ud800", "questions": "1-2"}]})  # "\ud800" escaped
    with pytest.raises(LayoutError, match="is not valid JSON") as ei:
        load_keys(_write(tmp_path, "keys.json", doc.encode("ascii")), SMALL)
    assert ei.value.details == ("a \\u escape stands for half a character (a lone surrogate)",)


@pytest.mark.parametrize(("encoding", "looks_like"), [
    ("cp1258", "it looks like Windows-1258, the Vietnamese code page"),
    ("utf-16", "it is UTF-16"),
])
def test_roster_not_in_utf8_is_refused_with_how_to_save_it_as_csv_utf8(tmp_path, encoding, looks_like):
    data = windows_1258(ROSTER) if encoding == "cp1258" else ROSTER.encode(encoding)
    path = _write(tmp_path, "roster.csv", data)
    with pytest.raises(InputError) as ei:
        read_roster(path)
    assert ei.value.exit_code is ExitCode.INPUT
    text = str(ei.value)
    assert text.startswith(f"roster {path} is not saved as UTF-8 ({looks_like}")
    assert '"CSV UTF-8 (Comma delimited) (*.csv)"' in text and "codec" not in text


def test_omr_sheet_with_a_windows_1258_roster_exits_9_with_the_advice(tmp_path, capsys):
    from omr.cli import main

    roster = _write(tmp_path, "roster.csv", windows_1258(ROSTER))
    assert main(["sheet", str(DEMO), "--out", str(tmp_path / "s.pdf"), "--roster", str(roster)]) == ExitCode.INPUT
    err = capsys.readouterr().err
    assert "Windows-1258" in err and "CSV UTF-8" in err and "Traceback" not in err
    assert not (tmp_path / "s.pdf").exists()


def test_roster_in_utf8_with_or_without_bom_is_read(tmp_path):
    for data in (ROSTER.encode("utf-8"), codecs.BOM_UTF8 + ROSTER.encode("utf-8")):
        assert read_roster(_write(tmp_path, "roster.csv", data))[0] == Participant(
            "000001", "Nguyễn Thị Hồng", "Trường THCS Lê Lợi")


# -- crashes the properties found, one example each ------------------------------------------------------------------
def test_layout_essays_that_are_not_a_list_are_a_problem_not_a_type_error():
    with pytest.raises(LayoutError, match=r"essays: must be a list of essay boxes, got int") as ei:
        layout_from_dict({**LAYOUT, "essays": 3})
    assert ei.value.exit_code is ExitCode.BAD_LAYOUT
    with pytest.raises(LayoutError, match=r"essays: must be a list of essay boxes, got str"):
        layout_from_dict({**LAYOUT, "essays": "E1"})


@pytest.mark.parametrize("spec", ["²", "1-²", "²-3"])
def test_section_questions_with_digits_int_cannot_read_are_a_problem(spec):
    with pytest.raises(LayoutError, match=r"sections\[0\].questions: '.*' is not a question number") as ei:
        keys_from_dict({**SMALL_KEYS, "sections": [{"name": "S", "questions": spec}]}, SMALL)
    assert ei.value.exit_code is ExitCode.BAD_LAYOUT


def test_a_huge_section_range_is_reported_without_counting_through_it():
    with pytest.raises(LayoutError) as ei:
        keys_from_dict({**SMALL_KEYS, "sections": [{"name": "S", "questions": ["3-999999999", "0-2", "1234567890"]}]},
                       SMALL)
    assert ei.value.details == (
        "sections[0].questions[0]: question(s) 7-999999999 are not on the layout (it has 1-6)",
        "sections[0].questions[1]: question(s) 0 are not on the layout (it has 1-6)",
        "sections[0].questions[2]: '1234567890' is not a question number or a range like \"1-40\"")


def test_points_with_a_huge_exponent_are_refused_at_once():
    with pytest.raises(LayoutError, match=r"points: '1e999999999' is not a number or a fraction"):
        keys_from_dict({**SMALL_KEYS, "points": "1e999999999"}, SMALL)
    assert keys_from_dict({**SMALL_KEYS, "points": "5e-1"}, SMALL).get("101").item("6").points == Fraction(1, 2)
