"""Handwriting-like entries (``samples.handwriting``): pages with ink, one scanned PDF of them, the truth beside
them, the same bytes for the same seed."""
from __future__ import annotations

import json

import cv2
import pikepdf

from samples.handwriting import PAGE_H, PAGE_W, handwritten_entry

QUESTIONS = [str(i) for i in range(1, 41)]


def test_the_generator_writes_handwriting_like_pages_a_scanned_pdf_and_the_truth(tmp_path):
    paths, truth = handwritten_entry(tmp_path, seed=5, questions=QUESTIONS)
    assert [p.name for p in paths] == ["page-1.png", "page-2.png", "entry.pdf"]
    saved = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert saved == truth.to_json() and list(saved["answers"]) == QUESTIONS
    assert set(saved["answers"].values()) <= {"A", "B", "C", "D", ""} and saved["identity"]["name"]
    for p in paths[:2]:
        page = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        assert page.shape == (PAGE_H, PAGE_W) and (page < 128).mean() > 0.002     # ink on paper
    with pikepdf.open(paths[2]) as pdf:
        assert len(pdf.pages) == 2
    again, _ = handwritten_entry(tmp_path / "again", seed=5, questions=QUESTIONS)
    assert again[0].read_bytes() == paths[0].read_bytes()                      # the seed decides everything
