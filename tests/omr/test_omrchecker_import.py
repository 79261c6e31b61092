"""``omr import omrchecker``: each documented construct of OMRChecker v1 templates and evaluations, translated
(small templates written here), and each construct that is not supported refused by name."""
import json
from fractions import Fraction

import cv2
import numpy as np
import pytest

from grading.keys import load_keys
from grading.score import Outcome, score_sheet
from omr.cli import main
from omr.errors import ExitCode, LayoutError
from omr.layout import GroupKind, load_layout
from omr.layout_fields import AlignMethod
from omr.omrchecker import import_folder

PAGE = [1000, 1414]           # A4: 0.21 mm per template pixel
KX, KY = 210 / 1000, 297 / 1414


def tpl(**over):
    t = {"pageDimensions": PAGE, "bubbleDimensions": [20, 20],
         "preProcessors": [{"name": "CropPage", "options": {"morphKernel": [10, 10]}}],
         "fieldBlocks": {"MCQ": {"fieldType": "QTYPE_MCQ4", "fieldLabels": ["q1..3"], "origin": [100, 500],
                                 "bubblesGap": 40, "labelsGap": 50}}}
    t.update(over)
    return t


def folder(tmp_path, template, evaluation=None, config=None, files=None):
    src = tmp_path / "omr"
    src.mkdir()
    (src / "template.json").write_text(json.dumps(template))
    if evaluation is not None:
        (src / "evaluation.json").write_text(json.dumps(evaluation))
    if config is not None:
        (src / "config.json").write_text(json.dumps(config))
    for name, data in (files or {}).items():
        (src / name).write_bytes(data) if isinstance(data, bytes) else (src / name).write_text(data)
    return src


def run(tmp_path, template, **kw):
    src = folder(tmp_path, template, **kw)
    res = import_folder(src, tmp_path / "contest")
    return load_layout(tmp_path / "contest"), res


def near(a, b, tol=0.005):
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


def centre(layout, key, k=0):
    g = next(g for g in layout.groups if (g.name or g.key) == key)
    y, x = layout.centres_mm[g.first + k]
    return float(x), float(y)


def test_builtin_field_types_ranges_and_pixels_to_mm(tmp_path):
    blocks = {
        "MCQ": {"fieldType": "QTYPE_MCQ4", "fieldLabels": ["q1..3"], "origin": [100, 500], "bubblesGap": 40,
                "labelsGap": 50},
        "Five": {"fieldType": "QTYPE_MCQ5_RTL", "fieldLabels": ["q4"], "origin": [500, 500], "bubblesGap": 40,
                 "labelsGap": 50},
        "Int": {"fieldType": "QTYPE_INT_FROM_1", "fieldLabels": ["n1", "n2"], "origin": [100, 800],
                "bubblesGap": 30, "labelsGap": 40},
        "Custom": {"bubbleValues": ["Y", "N"], "direction": "vertical", "fieldLabels": ["s1...2"],
                   "origin": [600, 800], "bubblesGap": 35, "labelsGap": [45], "bubbleDimensions": [24, 24]},
    }
    layout, _ = run(tmp_path, tpl(fieldBlocks=blocks))
    assert layout.align.method is AlignMethod.PAGE
    assert [g.key for g in layout.question_groups] == ["q1", "q2", "q3", "q4", "n1", "n2", "s1", "s2"]
    labels = {g.key: g.labels for g in layout.question_groups}
    assert labels["q1"] == ("A", "B", "C", "D") and labels["q4"] == ("E", "D", "C", "B", "A")
    assert labels["n1"] == tuple("1234567890") and labels["s1"] == ("Y", "N")
    # a bubble's box starts at the origin: its centre is half a box further, then pixels → mm
    assert near(centre(layout, "q1"), (round((100 + 10) * KX, 3), round((500 + 10) * KY, 3)))
    assert near(centre(layout, "q1", 3), (round((100 + 10 + 120) * KX, 3), round((500 + 10) * KY, 3)))   # horizontal
    assert near(centre(layout, "q3"), (round((100 + 10) * KX, 3), round((500 + 10 + 100) * KY, 3)))
    assert near(centre(layout, "n2", 2), (round((100 + 10 + 40) * KX, 3), round((800 + 10 + 60) * KY, 3)))  # vertical
    assert near(centre(layout, "s2", 1), (round((600 + 12 + 45) * KX, 3), round((800 + 12 + 35) * KY, 3)))
    assert layout.bubble_r_mm == pytest.approx(10 * KX, abs=0.01)


def test_paper_option_scales_pixels(tmp_path):
    src = folder(tmp_path, tpl())
    import_folder(src, tmp_path / "a3", paper="A3")
    a3 = load_layout(tmp_path / "a3")
    assert a3.width_mm == 297 and near(centre(a3, "q1")[:1], (round(110 * 297 / 1000, 3),))


def test_roll_custom_label_is_the_participant_and_output_columns(tmp_path):
    blocks = {
        "Roll": {"fieldType": "QTYPE_INT", "fieldLabels": ["roll1..4"], "origin": [100, 100], "bubblesGap": 30,
                 "labelsGap": 30, "emptyValue": "-"},
        "MCQ": {"fieldType": "QTYPE_MCQ4", "fieldLabels": ["q1..2"], "origin": [100, 500], "bubblesGap": 40,
                "labelsGap": 50},
    }
    layout, res = run(tmp_path, tpl(fieldBlocks=blocks, customLabels={"Roll": ["roll1..4"]},
                                    outputColumns=["Roll", "q2", "q1"], emptyValue="X"))
    pid = layout.digit_groups(GroupKind.PARTICIPANT)
    assert [g.name for g in pid] == ["roll1", "roll2", "roll3", "roll4"]
    assert [g.key for g in pid] == ["1", "2", "3", "4"]
    assert [g.key for g in layout.question_groups] == ["q1", "q2"]
    assert layout.output.columns == ("Roll", "q2", "q1")
    assert layout.output.empty("q1") == "X" and layout.output.empty("roll3") == "-"
    assert any("participant id: Roll" in n for n in res.notes)


def test_preprocessors_choose_the_alignment(tmp_path):
    marker = cv2.imencode(".png", np.zeros((40, 40), np.uint8))[1].tobytes()
    pre = [{"name": "GaussianBlur", "options": {"kSize": [3, 3]}},
           {"name": "CropOnMarkers", "options": {"relativePath": "m.png", "sheetToMarkerWidthRatio": 21}}]
    layout, res = run(tmp_path, tpl(preProcessors=pre), files={"m.png": marker},
                      config={"threshold_params": {"MIN_JUMP": 30}})
    assert layout.align.method is AlignMethod.MARKERS
    assert layout.align.marker_size_mm == pytest.approx(10.0)
    inset = 5 + 5
    assert layout.align.frame == pytest.approx((inset, inset, 210 - 2 * inset, 297 - 2 * inset))
    # template pixels are relative to the rectangle through the marker centres
    assert near(centre(layout, "q1"), (round(inset + 110 * 190 / 1000, 3), round(inset + 510 * 277 / 1414, 3)))
    assert (tmp_path / "contest" / "marker.png").is_file()
    assert any("GaussianBlur: not applied" in n for n in res.notes)
    assert any("threshold_params: not applied" in n for n in res.notes)


def test_feature_alignment_and_no_preprocessor(tmp_path):
    ref = cv2.imencode(".png", np.full((300, 212), 255, np.uint8))[1].tobytes()
    pre = [{"name": "FeatureBasedAlignment", "options": {"reference": "ref.png", "maxFeatures": 500}}]
    layout, _ = run(tmp_path, tpl(preProcessors=pre), files={"ref.png": ref})
    assert layout.align.method is AlignMethod.FEATURES and layout.align.reference.endswith("reference.png")
    (tmp_path / "b").mkdir()
    res = import_folder(folder(tmp_path / "b", tpl(preProcessors=[])), tmp_path / "c")
    assert load_layout(tmp_path / "c").align.method is AlignMethod.IMAGE
    assert res.keys_path is None and any("alignment method \"image\"" in n for n in res.notes)


@pytest.mark.parametrize("template, evaluation, needle", [
    (tpl(preProcessors=[{"name": "CropOnLogo", "options": {"relativePath": "l.png"}}]), None, "'CropOnLogo'"),
    (tpl(templateDimensions=[1000, 1414]), None, "templateDimensions: an OMRChecker v2"),
    (tpl(extraThing=1), None, "extraThing: not a key"),
    (tpl(fieldBlocks={"B": {"fieldType": "QTYPE_MCQ9", "fieldLabels": ["q1"], "origin": [1, 1],
                            "bubblesGap": 40, "labelsGap": 40}}), None, "'QTYPE_MCQ9'"),
    (tpl(fieldBlocks={"B": {"fieldType": "QTYPE_MCQ4", "fieldLabels": ["q1"], "origin": [1, 1],
                            "bubblesGap": 40, "labelsGap": 40, "fieldDetectionType": "BUBBLES"}}), None,
     "fieldDetectionType: not a field-block key"),
    (tpl(), {"source_type": "csv", "options": {"answer_key_csv_path": "missing.csv",
                                               "answer_key_image_path": "key.jpg", "questions_in_order": ["q1..3"]},
             "marking_schemes": {"DEFAULT": {"correct": 1, "incorrect": 0, "unmarked": 0}}},
     "answer key given as an image is not supported yet"),
    (tpl(), {"source_type": "custom", "options": {"questions_in_order": ["q1..3"], "answers_in_order": list("ABC")},
             "marking_schemes": {"DEFAULT": {"correct": [1, 2], "incorrect": 0, "unmarked": 0}}},
     "streak marking"),
    (tpl(), {"source_type": "local", "options": {}, "marking_schemes": {"DEFAULT": {"correct": 1, "incorrect": 0,
                                                                                    "unmarked": 0}}},
     "source_type: 'local'"),
])
def test_unsupported_constructs_are_refused_by_name(tmp_path, capsys, template, evaluation, needle):
    src = folder(tmp_path, template, evaluation=evaluation)
    code = main(["import", "omrchecker", str(src), "--contest", str(tmp_path / "contest")])
    assert code == ExitCode.BAD_LAYOUT
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "contest" / "layout.json").exists()


def _evaluation(**over):
    ev = {"source_type": "custom",
          "options": {"questions_in_order": ["q1..5"],
                      "answers_in_order": ["A", ["B", "C"], "AB", [["A", 3], ["C", "-2"]], "D"]},
          "marking_schemes": {"DEFAULT": {"correct": "3", "incorrect": "-1", "unmarked": "0"},
                              "NEG": {"questions": ["q5"],
                                      "marking": {"correct": 2, "incorrect": "-1/2", "unmarked": "-1/4"}}}}
    ev.update(over)
    return ev


def test_evaluation_marking_schemes_into_keys(tmp_path, capsys):
    t = tpl(fieldBlocks={"MCQ": {"fieldType": "QTYPE_MCQ4", "fieldLabels": ["q1..6"], "origin": [100, 500],
                                 "bubblesGap": 40, "labelsGap": 50}})
    src = folder(tmp_path, t, evaluation=_evaluation())
    assert main(["import", "omrchecker", str(src), "--contest", str(tmp_path / "contest")]) == ExitCode.OK
    assert "not scored (no answer in evaluation.json): q6" in capsys.readouterr().err
    layout = load_layout(tmp_path / "contest")
    keys = load_keys(tmp_path / "contest", layout)

    def pts(answers):
        s = score_sheet(answers, None, keys)
        return {q.question: (q.outcome, q.points) for q in s.questions}, s

    got, s = pts({"q1": "A", "q2": "C", "q3": "AB", "q4": "C", "q5": "", "q6": "B"})
    assert got["q1"] == (Outcome.CORRECT, 3)
    assert got["q2"] == (Outcome.CORRECT, 3)                   # multiple correct: either
    assert got["q3"] == (Outcome.CORRECT, 3)                   # "AB": both marked
    assert got["q4"] == (Outcome.CORRECT, -2)                  # weighted answer
    assert got["q5"] == (Outcome.BLANK, Fraction(-1, 4))       # section NEG: unmarked
    assert got["q6"][0] is Outcome.CANCELLED and s.max_total == 3 + 3 + 3 + 3 + 2
    got, _ = pts({"q1": "B", "q3": "A", "q4": "B", "q5": "A"})
    assert got["q1"] == (Outcome.WRONG, -1) and got["q3"] == (Outcome.WRONG, -1)
    assert got["q4"] == (Outcome.WRONG, -1) and got["q5"] == (Outcome.WRONG, Fraction(-1, 2))
    assert [sec.name for sec in keys.sections] == ["DEFAULT", "NEG"]


def test_evaluation_answers_from_csv(tmp_path):
    ev = {"source_type": "csv", "options": {"answer_key_csv_path": "key.csv"},
          "marking_schemes": {"DEFAULT": {"correct": 1, "incorrect": 0, "unmarked": 0}}}
    src = folder(tmp_path, tpl(), evaluation=ev, files={"key.csv": "q1,A\nq2,\"B,C\"\nq3,\"['C', 'D']\"\n"})
    import_folder(src, tmp_path / "contest")
    keys = load_keys(tmp_path / "contest", load_layout(tmp_path / "contest"))
    assert [it.accept_text() for it in keys.keys[0].items] == [["A"], ["B", "C"], ["C", "D"]]


def test_an_unknown_question_in_the_evaluation_is_refused(tmp_path):
    ev = _evaluation(options={"questions_in_order": ["q1", "q9"], "answers_in_order": ["A", "B"]})
    src = folder(tmp_path, tpl(), evaluation=ev)
    with pytest.raises(LayoutError) as exc:
        import_folder(src, tmp_path / "contest")
    assert any("question q9 is not a field of the template" in d for d in exc.value.details)


def test_a_template_whose_bubbles_leave_the_page_is_refused_and_nothing_is_written(tmp_path):
    marker = cv2.imencode(".png", np.zeros((40, 40), np.uint8))[1].tobytes()
    pre = [{"name": "CropOnMarkers", "options": {"relativePath": "m.png"}}]
    t = tpl(preProcessors=pre, fieldBlocks={"MCQ": {"fieldType": "QTYPE_MCQ4", "fieldLabels": ["q1..3"],
                                                    "origin": [990, 500], "bubblesGap": 40, "labelsGap": 50}})
    src = folder(tmp_path, t, files={"m.png": marker})
    with pytest.raises(LayoutError) as exc:
        import_folder(src, tmp_path / "contest")
    assert any("lies outside the paper" in d for d in exc.value.details)
    assert not any((tmp_path / "contest").rglob("*"))
