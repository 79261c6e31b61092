"""The national sheet's results export: Phần III numbers and Phần II groups have their own columns."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from grading.contest import load_contest
from grading.reports.export import export
from grading.store import Store
from omr.records import SheetReading, Status

from grading_support import sha

NATIONAL = Path(__file__).resolve().parents[2] / "answer_keys" / "national2025"


def test_export_has_numeric_answers_and_group_points(tmp_path, sqlite_url):
    contest = load_contest(NATIONAL)
    key = contest.keys.get("101")
    answers = {it.question: it.accept_text()[0] if it.accept else it.numbers[0] for it in key.items}
    answers["III.1"] = "-1,50"                                  # the key says "-1,5": the same number
    answers["II.1a"] = "S" if answers["II.1a"] == "Đ" else "Đ"   # 3 of 4 statements right: 0.5
    rec = SheetReading(source="a.jpg", page=1, layout=contest.layout.id, status=Status.OK, participant="012345",
                       version="101", answers=answers, flags=())
    store = Store.open(sqlite_url)
    try:
        store.record_submission("a.jpg", sha("a"), 100, [rec], contest.keys)
        out = tmp_path / "results.csv"
        export(store, contest, out)
    finally:
        store.close()
    row = next(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    # a text starting with "-" is quote-prefixed in a CSV (a spreadsheet would take it for a formula)
    assert (row["answer III.1"], row["points III.1"]) == ("'-1,50", "0.25")
    assert (row["answer II.1"], row["points II.1"]) == ("3/4", "0.5")
    assert row["total_exact"] == "19"


def test_a_judge_resolves_a_numeric_answer_with_a_number(tmp_path, sqlite_url):
    import pytest
    import sqlalchemy as sa

    from omr.errors import BadArguments
    from omr.records import Flag

    contest = load_contest(NATIONAL)
    key = contest.keys.get("101")
    answers = {it.question: it.accept_text()[0] if it.accept else it.numbers[0] for it in key.items}
    answers["III.1"] = "-1?5"
    flag = Flag("question", "III.1", "multiple_marks_in_column", "Câu III.1: cột 2 tô nhiều hơn một ô", 0.5)
    rec = SheetReading(source="a.jpg", page=1, layout=contest.layout.id, status=Status.FLAGGED,
                       participant="012345", version="101", answers=answers, flags=(flag,))
    store = Store.open(sqlite_url)
    try:
        store.record_submission("a.jpg", sha("a"), 100, [rec], contest.keys)
        with sa.create_engine(sqlite_url).connect() as conn:
            fid = conn.execute(sa.text("SELECT id FROM flags WHERE key = 'III.1'")).scalar_one()
        with pytest.raises(BadArguments, match="not a number"):
            store.resolve_flag(fid, "1,,5", "giám khảo 1")
        sc = store.resolve_flag(fid, "-1,5", "giám khảo 1")
    finally:
        store.close()
    q = next(q for q in sc.questions if q.question == "III.1")
    assert (q.outcome.value, q.marked) == ("correct", "-1,5") and sc.total == 10 + 8 + 1.5
