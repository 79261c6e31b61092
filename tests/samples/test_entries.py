"""The typed-entry generator: deterministic, truthful, in the promised formats; and the reader over what it
writes makes no silent error."""
from __future__ import annotations

import json
from pathlib import Path

import docx
import pytest

from omr.documents import load_entry_contest, read_entry
from samples.entries import ANSWER_STYLES, generate, load_contest, make_entry

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "answer_keys" / "demo"


def test_entries_are_deterministic_and_their_truth_is_complete():
    questions, versions, default = load_contest(DEMO)
    a = make_entry(questions, versions, default, seed=3, index=7)
    b = make_entry(questions, versions, default, seed=3, index=7)
    assert a.blocks == b.blocks and a.truth == b.truth
    t = a.truth
    assert set(t["identity"]) == {"name", "date_of_birth", "address", "unit", "class", "phone", "email"}
    assert set(t["answers"]) == {q["id"] for q in questions}
    assert t["version"] in versions
    assert t["style"]["answers"] in ANSWER_STYLES
    styles = {make_entry(questions, versions, default, seed=3, index=i).truth["style"]["answers"]
              for i in range(1, 120)}
    assert styles == set(ANSWER_STYLES)


def _score(folder: Path):
    contest = load_entry_contest(DEMO)
    silent, flagged, exact, ident = [], 0, 0, 0
    truths = sorted(folder.glob("*.truth.json"))
    for tp in truths:
        truth = json.loads(tp.read_text(encoding="utf-8"))
        rec = read_entry(str(folder / truth["file"]), contest).to_json()
        flagged_q = {f["question"] for f in rec["flags"] if "question" in f}
        for q, want in truth["answers"].items():
            if q in flagged_q:
                flagged += 1
            elif rec["answers"][q] == want:
                exact += 1
            else:
                silent.append((tp.name, q, want, rec["answers"][q]))
        assert set(truth["expect_flags"]) <= flagged_q
        ident += rec["identity"] == truth["identity"]
    return silent, flagged, exact, ident, len(truths)


@pytest.mark.slow
def test_generated_docx_entries_are_times_new_roman_14_and_read_without_silent_errors(tmp_path):
    paths = generate(tmp_path, DEMO, n=30, seed=11, pdf_every=0)
    assert len(paths) == 30 and all(p.suffix == ".docx" for p in paths)
    d = docx.Document(str(paths[0]))
    assert d.styles["Normal"].font.name == "Times New Roman" and d.styles["Normal"].font.size.pt == 14
    silent, flagged, exact, ident, n = _score(tmp_path)
    assert silent == []
    assert flagged <= 0.02 * (flagged + exact)
    assert ident == n


@pytest.mark.slow
def test_some_entries_are_exported_to_pdf_by_libreoffice_and_read_too(tmp_path):
    paths = generate(tmp_path, DEMO, n=4, seed=5, pdf_every=2)
    assert [p.suffix for p in paths] == [".docx", ".pdf", ".docx", ".pdf"]
    assert not (tmp_path / "entry-00002.docx").exists()
    silent, *_ = _score(tmp_path)
    assert silent == []
