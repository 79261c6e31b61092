"""Item analysis (grading.items): difficulty, point-biserial, distractors, KR-20 on exact small cases, and the
key-error alert for a question whose strong candidates pick another option — also through ``omr report items``."""
from __future__ import annotations

import json
import math
import shutil
import subprocess

import openpyxl
import pytest

from grading.db.exports import ScoredSheet
from grading.items import _alert, _pbis, analyse, kr20
from grading.keys import keys_from_dict
from grading.store import Store
from omr.errors import ExitCode
from omr.layout import layout_from_dict

from grading_support import DEMO, reading, sha, small_layout_dict
from test_rounds_prizes import _run

KEY = {"versions": {"101": {"answers": "AAAAAA"}}}


def test_the_statistics_on_cases_worked_by_hand():
    assert kr20([[1, 1], [1, 0], [0, 0]]) == pytest.approx(2 / 3)
    assert kr20([[1, 1], [1, 1]]) is None and kr20([[1], [0]]) is None
    assert _pbis([1, 1, 0, 0], [3, 2, 1, 0]) == pytest.approx(2 / math.sqrt(1.25) * 0.5)
    assert _pbis([1, 1, 1], [1, 2, 3]) is None
    assert _alert("A", 0.3, [("A", 0.6, 0.4, 0.5), ("B", 0.4, 0.6, 0.1)]) == (
        "nhóm 27 % điểm cao chọn B (60%) nhiều hơn đáp án A (40%) — kiểm tra đáp án")
    assert _alert("A", 0.3, [("A", 0.6, 0.7, 0.5), ("B", 0.4, 0.3, 0.1)]) is None
    assert _alert("A", -0.2, [("A", 0.6, 0.7, 0.5)]).startswith("độ phân biệt âm (-0.20)")


def _answers(i: int) -> str:
    """Candidate i of 40 (stronger with i): questions 2–6 right above a rising threshold; question 1 marked B by
    the stronger half and A (the key) by the weaker half — a key that looks wrong."""
    first = "B" if i >= 20 else "A"
    return first + "".join("A" if i > 6 * q else "C" for q in range(1, 6))


def test_a_question_the_strong_candidates_answer_otherwise_raises_an_alert(tmp_path, capsys):
    layout = layout_from_dict(small_layout_dict())
    keys = keys_from_dict(KEY, layout)
    sheets = []
    for i in range(40):
        marks = _answers(i)
        qs = {str(q + 1): {"outcome": "correct" if m == "A" else "wrong", "marked": m,
                           "points": "1" if m == "A" else "0", "max_points": "1"} for q, m in enumerate(marks)}
        sheets.append(ScoredSheet(i + 1, f"{i:06d}", "101", qs))
    (v,) = analyse(sheets, keys)
    first, second = v.items[0], v.items[1]
    assert (first.question, first.key, first.n, first.difficulty) == ("1", "A", 40, 0.5)
    assert first.discrimination < 0 and first.alert.startswith("độ phân biệt âm")
    (_, a_all, a_top, a_bottom), (_, b_all, b_top, b_bottom) = first.options[:2]
    assert (a_all, a_bottom, b_all, b_bottom) == (0.5, 1.0, 0.5, 0.0) and b_top > 0.9 > 0.1 > a_top
    assert second.discrimination > 0 and second.alert is None and second.difficulty == 33 / 40
    assert v.kr20 is not None and v.sheets == 40


def test_omr_report_items_writes_the_table_and_prints_the_alerts(tmp_path, capsys):
    folder = tmp_path / "c"
    folder.mkdir()
    for name in ("layout.json", "contest.json"):
        shutil.copy(DEMO / name, folder / name)
    (folder / "layout.json").write_text(json.dumps(small_layout_dict()), encoding="utf-8")
    (folder / "keys.json").write_text(json.dumps(KEY), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    keys = keys_from_dict(KEY, layout_from_dict(small_layout_dict()))
    with Store.open(url) as store:
        for i in range(40):
            store.record_submission(f"{i}.pdf", sha(str(i)), 1, [reading(f"{i}.pdf", 1, f"{i:06d}", "101",
                                                                         _answers(i))], keys)
    code, out = _run(capsys, "report", "items", "--contest", str(folder), "--db", url, "--out",
                     str(tmp_path / "items.xlsx"))
    assert code == ExitCode.OK and "đề 101, câu 1 (đáp án A): độ phân biệt âm" in out
    wb = openpyxl.load_workbook(tmp_path / "items.xlsx")
    rows = [[c.value for c in r] for r in wb["Câu hỏi"].iter_rows()]
    assert rows[0][:6] == ["Mã đề", "Câu", "Đáp án", "Số bài", "Độ khó (tỉ lệ đúng)", "Độ phân biệt"]
    assert rows[1][:5] == ["101", "1", "A", 40, 0.5] and rows[1][-1].startswith("độ phân biệt âm")
    assert [[c.value for c in r] for r in wb["Đề"].iter_rows()][1][:2] == ["101", 40]
    code, _ = _run(capsys, "report", "items", "--contest", str(folder), "--db", url, "--out", str(tmp_path / "i.pdf"))
    assert code == ExitCode.OK
    text = " ".join(subprocess.run(["pdftotext", str(tmp_path / "i.pdf"), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    assert "Cảnh báo đáp án" in text and "độ phân biệt âm" in text and "Đề 101: độ khó từng câu" in text
    assert "không có dữ liệu" not in text                       # a chart-only section is not "empty"
