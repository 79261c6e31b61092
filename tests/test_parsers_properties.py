"""The contest files' parsers never crash: whatever a layout, answer-key, rubric or roster file holds, the
result is a value or the project's own error with its exit code (5 for the JSON files, 9 for the roster).

Property-based (hypothesis, derandomised so every run tries the same examples), plus one concrete regression
example for every crash the properties found.
"""
from __future__ import annotations

import codecs
import copy
import json
import unicodedata
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grading.keys import KeySet, keys_from_dict, load_keys
from grading.essays import Rubric, load_rubric, rubric_from_dict
from omr.errors import ExitCode, InputError, LayoutError
from omr.layout import Layout, layout_from_dict, load_layout
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


PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- strategies ------------------------------------------------------------------------------------------------------
FIELD_NAMES = sorted({"id", "contest", "title", "subtitle", "paper", "width_mm", "height_mm", "fiducials",
                      "dictionary", "size_mm", "inset_mm", "qr", "x_mm", "y_mm", "w_mm", "h_mm", "bubble", "r_mm",
                      "participant_id", "version", "digits", "col_pitch_mm", "row_pitch_mm", "questions",
                      "options", "blocks", "first", "count", "option_pitch_mm", "essays", "label", "layout",
                      "points", "penalty", "sections", "name", "versions", "answers", "accept", "cancelled",
                      "101", "1", "tolerance", "final_rule", "criteria", "max", "note"})
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
           | st.sampled_from(["1-40", "50-41", "1/3", "1,5", "7.5", "1e-3", "A", "AB", "award", "drop", "101",
                              "DICT_4X4_50", "closest_mean", "third", "²", "1-²", "9" * 30]))
JSON_LIKE = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=6), children, max_size=5),
    max_leaves=25)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated(draw, base: dict):
    """``base`` with one to three fields replaced by any JSON-like value, or removed (fields near the top
    chosen as often as all the others together)."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        near_top = [p for p in paths if len(p) <= 2]
        path = draw(st.sampled_from(near_top) | st.sampled_from(paths))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        if draw(st.booleans()) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(SCALARS | JSON_LIKE)
    return doc


def documents(base: dict):
    return JSON_LIKE | mutated(base)


def encoded(doc_strategy):
    """Raw bytes of a file: random bytes, or a document saved in UTF-8 (BOM or not), UTF-16, UTF-32 or
    Windows-1258 (Vietnamese as Excel and Notepad save it), possibly cut short."""
    def save(doc, encoding, cut):
        text = json.dumps(doc, ensure_ascii=False)
        data = windows_1258(text) if encoding == "cp1258" else text.encode(encoding, errors="replace")
        return data[:cut] if cut is not None else data
    encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32", "cp1258"])
    return st.binary(max_size=200) | st.builds(save, doc_strategy, encodings, st.none() | st.integers(0, 300))


# -- the checks ------------------------------------------------------------------------------------------------------
def _usable_layout(layout: Layout) -> None:
    json.dumps(layout.geometry_json(), ensure_ascii=False).encode("utf-8")


def _usable_keys(keys: KeySet) -> None:
    assert len(keys.digest) == 64
    assert KeySet.from_json(json.loads(json.dumps(keys.to_json()))) == keys


def layout_or_error(raw) -> None:
    try:
        _usable_layout(layout_from_dict(raw, source="layout.json"))
    except LayoutError as exc:
        assert exc.exit_code is ExitCode.BAD_LAYOUT and str(exc)


def keys_or_error(raw, layout: Layout) -> None:
    try:
        _usable_keys(keys_from_dict(raw, layout, source="keys.json"))
    except LayoutError as exc:
        assert exc.exit_code is ExitCode.BAD_LAYOUT and str(exc)


def rubric_or_error(raw) -> None:
    try:
        assert isinstance(rubric_from_dict(raw, source="rubric.json"), Rubric)
    except LayoutError as exc:
        assert exc.exit_code is ExitCode.BAD_LAYOUT and str(exc)


def _file(tmp_path_factory, name: str, data: bytes) -> Path:
    path = tmp_path_factory.mktemp("f") / name
    path.write_bytes(data)
    return path


def _says_save_as_utf8(exc: Exception, data: bytes) -> None:
    """Bytes that are no UTF-8 get the 'save it as UTF-8' advice, never a codec's message alone."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assert "UTF-8" in str(exc) and "save" in str(exc), str(exc)


# -- properties: parsed documents ------------------------------------------------------------------------------------
@PROPERTY
@given(documents(LAYOUT))
def test_layout_from_dict_gives_a_layout_or_a_layout_error(raw):
    layout_or_error(raw)


@PROPERTY
@given(documents(KEYS))
def test_keys_from_dict_gives_keys_or_a_layout_error_on_the_demo_layout(demo_layout, raw):
    keys_or_error(raw, demo_layout)


@PROPERTY
@given(documents(SMALL_KEYS))
def test_keys_from_dict_gives_keys_or_a_layout_error_on_a_small_layout(raw):
    keys_or_error(raw, SMALL)


@PROPERTY
@given(documents(RUBRIC))
def test_rubric_from_dict_gives_a_rubric_or_a_layout_error(raw):
    rubric_or_error(raw)


# -- properties: the files' bytes ------------------------------------------------------------------------------------
@PROPERTY
@given(encoded(documents(LAYOUT)))
def test_layout_file_of_any_bytes(tmp_path_factory, data):
    path = _file(tmp_path_factory, "layout.json", data)
    try:
        _usable_layout(load_layout(path))
    except LayoutError as exc:
        assert exc.exit_code is ExitCode.BAD_LAYOUT
        _says_save_as_utf8(exc, data)


@PROPERTY
@given(encoded(documents(SMALL_KEYS)))
def test_keys_file_of_any_bytes(tmp_path_factory, data):
    path = _file(tmp_path_factory, "keys.json", data)
    try:
        _usable_keys(load_keys(path, SMALL))
    except LayoutError as exc:
        assert exc.exit_code is ExitCode.BAD_LAYOUT
        _says_save_as_utf8(exc, data)


@PROPERTY
@given(encoded(documents(RUBRIC)))
def test_rubric_file_of_any_bytes(tmp_path_factory, data):
    path = _file(tmp_path_factory, "rubric.json", data)
    try:
        assert isinstance(load_rubric(path, required=True), Rubric)
    except LayoutError as exc:
        assert exc.exit_code is ExitCode.BAD_LAYOUT
        _says_save_as_utf8(exc, data)


CSV_CELLS = st.text(max_size=8) | st.sampled_from(["participant_id", "id", "name", "unit", "", " ", "\"", "a,b",
                                                   "x\ny", "000001", "Nguyễn Văn Á"])
CSV_TEXT = st.lists(st.lists(CSV_CELLS, max_size=4).map(lambda row: ",".join(row)), max_size=5).map("\n".join)


def _roster_bytes():
    def save(text, encoding):
        return windows_1258(text) if encoding == "cp1258" else text.encode(encoding, errors="replace")
    texts = CSV_TEXT | st.just(ROSTER) | st.builds(lambda t: ROSTER + t, CSV_TEXT)
    encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1258"])
    return st.binary(max_size=200) | st.builds(save, texts, encodings)


@PROPERTY
@given(_roster_bytes())
def test_roster_file_of_any_bytes(tmp_path_factory, data):
    path = _file(tmp_path_factory, "roster.csv", data)
    try:
        people = read_roster(path)
    except InputError as exc:
        assert exc.exit_code is ExitCode.INPUT
        _says_save_as_utf8(exc, data)
    else:
        assert people and all(isinstance(p, Participant) and p.id and p.name for p in people)
