import copy
import json

import numpy as np
import pytest

from omr.errors import ExitCode, LayoutError
from omr.layout import GroupKind, layout_from_dict, load_layout
from tests.conftest import DEMO_LAYOUT


def raw():
    return json.loads(DEMO_LAYOUT.read_text(encoding="utf-8"))


def test_demo_layout_compiles_to_expected_bubbles(demo_layout):
    assert demo_layout.id == "demo-a4-100"
    assert demo_layout.question_ids == tuple(str(i) for i in range(1, 101))
    assert len(demo_layout.digit_groups(GroupKind.PARTICIPANT)) == 6
    assert len(demo_layout.digit_groups(GroupKind.VERSION)) == 3
    assert demo_layout.centres_mm.shape == (100 * 4 + 6 * 10 + 3 * 10, 2)
    # question 26 is the first of the second block: option A at x=70.5, y=128 → (row, col) = (128, 70.5)
    g26 = demo_layout.question_groups[25]
    assert g26.key == "26" and g26.labels == ("A", "B", "C", "D")
    np.testing.assert_allclose(demo_layout.centres_mm[g26.first], [128.0, 70.5])
    np.testing.assert_allclose(demo_layout.centres_mm[g26.first + 3], [128.0, 70.5 + 3 * 6.5])
    assert not demo_layout.centres_mm.flags.writeable


def test_every_problem_is_reported_at_once_with_its_path():
    d = raw()
    d["paper"]["width_mm"] = "wide"
    d["questions"]["blocks"][1]["options"] = ["A"]
    d["questions"]["blocks"][2]["count"] = 0
    d["fiducials"]["dictionary"] = "DICT_99"
    del d["qr"]["x_mm"]
    with pytest.raises(LayoutError, match="6 problem") as ei:
        layout_from_dict(d, source="bad.json")
    text = str(ei.value)
    for path in ("paper.width_mm", "questions.blocks[1].options", "questions.blocks[2].count",
                 "fiducials.dictionary", "qr.x_mm", "missing [51, 52"):
        assert path in text, path
    assert ei.value.exit_code == ExitCode.BAD_LAYOUT


def test_geometry_problems_name_the_block():
    d = raw()
    d["questions"]["blocks"][3]["x_mm"] = 190          # 4 options at 6.5 mm pitch run off the page
    d["participant_id"]["row_pitch_mm"] = 4.0           # digit bubbles overlap (r = 2.3 mm)
    with pytest.raises(LayoutError) as ei:
        layout_from_dict(d)
    text = str(ei.value)
    assert "questions.blocks[3]: a bubble at x=" in text and "outside the printable area" in text
    assert "participant_id: bubbles at" in text and "apart" in text


def test_duplicate_and_missing_question_numbers():
    d = raw()
    d["questions"]["blocks"][1]["first"] = 20           # overlaps block 0 (1..25) and leaves 45..50 empty
    with pytest.raises(LayoutError) as ei:
        layout_from_dict(d)
    text = str(ei.value)
    assert "question 20 is already in questions.blocks[0]" in text
    assert "without gaps" in text


def test_up_to_200_questions_and_8_options():
    d = raw()
    d["questions"]["blocks"] = [{"first": 1, "count": 201, "x_mm": 30, "y_mm": 128}]
    with pytest.raises(LayoutError, match=r"questions.blocks\[0\].count: 201 is outside 1..200"):
        layout_from_dict(d)
    d["questions"]["blocks"] = [{"first": 1, "count": 2, "x_mm": 30, "y_mm": 128,
                                 "options": list("ABCDEFGHI")}]
    with pytest.raises(LayoutError, match="9 options"):
        layout_from_dict(d)


def test_load_layout_errors(tmp_path):
    with pytest.raises(LayoutError, match="does not exist"):
        load_layout(tmp_path / "nope.json")
    bad = tmp_path / "layout.json"
    bad.write_text("{ not json", encoding="utf-8")
    with pytest.raises(LayoutError, match="not valid JSON") as ei:
        load_layout(tmp_path)                           # a folder holding layout.json
    assert "line 1" in str(ei.value)


def test_geometry_json_contract(demo_layout):
    g = demo_layout.geometry_json()
    assert g["paper"] == {"width_mm": 210.0, "height_mm": 297.0}
    q1 = g["questions"][0]
    assert q1["id"] == "1"
    assert [o["label"] for o in q1["options"]] == ["A", "B", "C", "D"]
    assert q1["options"][1] == {"label": "B", "x_mm": 30.5, "y_mm": 128.0, "r_mm": 2.3}
    assert len(g["participant_id"]["digits"]) == 6
    assert g["participant_id"]["digits"][2]["options"][7]["label"] == "7"
    assert [f["corner"] for f in g["fiducials"]] == ["top-left", "top-right", "bottom-right", "bottom-left"]
    assert g["fiducials"][2]["x_mm"] == 192.0 and g["fiducials"][2]["y_mm"] == 279.0
    assert g["qr"] == {"x_mm": 162.0, "y_mm": 24.0, "w_mm": 24.0, "h_mm": 24.0}


def test_layout_is_not_mutated_by_loading(demo_layout):
    d = raw()
    before = copy.deepcopy(d)
    layout_from_dict(d)
    assert d == before
