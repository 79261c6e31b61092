"""End to end over the committed sample set (samples/set-small, made by the generator, which never calls the
reader): every page accounted for, nothing read wrong without a flag, non-sheets rejected with a reason."""
from pathlib import Path

import pytest

from omr.read import ReadOptions, read_inputs
from samples.evaluate import evaluate, load_jsonl
from tests.conftest import ROOT

SMALL = ROOT / "samples" / "set-small"


def read_set(folder: Path, layout, tmp_path, workers=2):
    out = tmp_path / f"{folder.name}.jsonl"
    summary = read_inputs([str(folder / "sheets")], layout, json_out=str(out),
                          options=ReadOptions(workers=workers, detail=True), progress=False)
    return summary, load_jsonl(out)


@pytest.mark.parametrize("profile,max_flagged", [("clean", 0.01), ("scanner", 0.02), ("phone", 0.02)])
def test_committed_set_is_read_without_silent_errors(profile, max_flagged, demo_layout, tmp_path):
    folder = SMALL / profile
    truth = load_jsonl(folder / "truth.jsonl")
    summary, rows = read_set(folder, demo_layout, tmp_path)
    assert summary.pages == len(truth) == len(rows)
    ev = evaluate(rows, truth, root=folder)
    assert ev.missing == 0
    assert ev.pages_status["rejected"] == 0, ev.as_json()
    assert ev.questions["silent_error"] == 0, ev.silent_examples
    assert ev.participant["silent_error"] == 0 and ev.version["silent_error"] == 0, ev.as_json()
    assert ev.share(ev.questions, "flagged") <= max_flagged
    # every truth-ambiguous question is flagged (a judge sees it) or read as the participant meant
    flagged = {(r["source"].rsplit("/", 1)[-1], f["question"]) for r in rows for f in r["flags"] if "question" in f}
    by_file = {r["source"].rsplit("/", 1)[-1]: r for r in rows}
    for t in truth:
        name = t["file"].rsplit("/", 1)[-1]
        for q in t["ambiguous"]:
            assert (name, q) in flagged or by_file[name]["answers"][q] == t["answers"][q], (name, q)


def test_pages_that_are_not_sheets_are_rejected_with_reasons(demo_layout, tmp_path):
    folder = SMALL / "extras"
    truth = load_jsonl(folder / "truth.jsonl")
    summary, rows = read_set(folder, demo_layout, tmp_path)
    assert summary.status["rejected"] == len(truth) == len(rows) >= 4
    by_file = {r["source"].rsplit("/", 1)[-1]: r for r in rows}
    expected = {"blank": "not_a_sheet", "essay": "not_a_sheet", "not_a_sheet": "not_a_sheet",
                "half_sheet": "partial_sheet"}
    for t in truth:
        r = by_file[t["file"].rsplit("/", 1)[-1]]
        assert r["reason_code"] == expected[t["kind"]], (t["kind"], r)
        assert r["reason"]


def test_a_generated_scanner_pdf_is_read_page_by_page(demo_layout, tmp_path):
    """The generator's scanner-style PDF (one JPEG per page) goes through the PDF path of the loader."""
    from samples.generator import generate_set

    generate_set(demo_layout, tmp_path / "pdfset", profile="scanner", n=3, seed=404, workers=1, fmt="pdf")
    summary, rows = read_set(tmp_path / "pdfset", demo_layout, tmp_path, workers=1)
    assert [r["page"] for r in rows] == [1, 2, 3] and summary.status["rejected"] == 0
    ev = evaluate(rows, load_jsonl(tmp_path / "pdfset" / "truth.jsonl"), root=tmp_path / "pdfset")
    assert ev.missing == 0 and ev.questions["silent_error"] == 0 and ev.participant["silent_error"] == 0
