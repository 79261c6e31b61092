"""The layout format's ``fields`` form (bubble grids with string ids, a per-layout alignment method, OMRChecker
CSV settings): what it accepts, every problem reported with its path, and printing it."""
import json
import subprocess

import pytest

from omr.cli import main
from omr.errors import ExitCode, LayoutError
from omr.layout import GroupKind, layout_from_dict


def doc(**over):
    d = {"id": "x", "contest": "c", "paper": {"width_mm": 210, "height_mm": 297},
         "alignment": {"method": "page"}, "bubble": {"r_mm": 2},
         "fields": [{"block": "Roll", "kind": "participant", "labels": ["r1", "r2"], "values": list("0123456789"),
                     "direction": "vertical", "x_mm": 30, "y_mm": 40, "bubbles_gap_mm": 5, "labels_gap_mm": 6},
                    {"block": "MCQ", "labels": ["q1", "q2", "q3"], "values": ["A", "B", "C", "D"],
                     "direction": "horizontal", "x_mm": 30, "y_mm": 120, "bubbles_gap_mm": 6,
                     "labels_gap_mm": [6, 7]}],
         "output": {"custom_labels": {"Roll": ["r1", "r2"]}, "empty_value": "-"}}
    d.update(over)
    return d


def test_fields_compile_into_groups_with_string_ids():
    lay = layout_from_dict(doc())
    assert [g.key for g in lay.question_groups] == ["q1", "q2", "q3"]
    assert [(g.key, g.name) for g in lay.digit_groups(GroupKind.PARTICIPANT)] == [("1", "r1"), ("2", "r2")]
    assert lay.centres_mm[lay.question_groups[2].first].tolist() == [133.0, 30.0]
    assert lay.qr is None and not lay.has_fiducials
    assert lay.output.columns == ("q1", "q2", "q3", "Roll")
    geo = lay.geometry_json()
    assert geo["fiducials"] == [] and geo["qr"] is None and geo["alignment"] == "page"


@pytest.mark.parametrize("over, needle", [
    ({"alignment": None}, "alignment: a layout with \"fields\" names its alignment method"),
    ({"alignment": {"method": "sideways"}}, "alignment.method: 'sideways'"),
    ({"alignment": {"method": "markers", "marker": "nope.png", "marker_size_mm": 10}}, "nope.png does not exist"),
    ({"qr": {"x_mm": 1, "y_mm": 1}}, "qr: not allowed together with \"fields\""),
    ({"output": {"custom_labels": {"Roll": ["r9"]}}}, "field(s) r9 are not on the layout"),
])
def test_layout_problems_are_reported_with_their_path(over, needle):
    with pytest.raises(LayoutError) as exc:
        layout_from_dict(doc(**over))
    assert any(needle in d for d in exc.value.details), exc.value.details


def test_repeated_labels_bad_gaps_and_overlapping_bubbles():
    d = doc()
    d["fields"][1]["labels"] = ["q1", "q1", "q3"]
    d["fields"][0]["labels_gap_mm"] = [6, 6]
    with pytest.raises(LayoutError) as exc:
        layout_from_dict(d)
    text = "\n".join(exc.value.details)
    assert "entries repeat" in text and "2 gaps for 2 labels" in text
    d = doc()
    d["fields"][1]["bubbles_gap_mm"] = 3
    with pytest.raises(LayoutError, match="they overlap"):
        layout_from_dict(d)


def test_an_imported_layout_prints_one_page_per_roster_line(tmp_path, capsys):
    (tmp_path / "layout.json").write_text(json.dumps(doc()))
    (tmp_path / "roster.csv").write_text("participant_id,name\n05,Nguyễn An\n07,Trần Bình\n", encoding="utf-8")
    code = main(["sheet", str(tmp_path), "--out", str(tmp_path / "s.pdf"), "--roster", str(tmp_path / "roster.csv")])
    assert code == ExitCode.OK
    assert "wrote 2 page(s)" in capsys.readouterr().err
    text = subprocess.run(["pdftotext", "-f", "2", "-l", "2", str(tmp_path / "s.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "Trần Bình" in text and "07" in text and "Nguyễn An" not in text


def test_the_roster_is_checked_against_an_imported_id_grid():
    from grading.contest import padded_id, roster_for
    from omr.sheet import Participant

    lay = layout_from_dict(doc())
    assert lay.participant_digits == 2
    assert padded_id(lay, "7") == "07"
    roster = roster_for([Participant("5", "An", "")], lay, source="roster.csv")
    assert roster.padded == (("5", "05"),) and roster.people[0].id == "05"
