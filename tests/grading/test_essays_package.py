"""``grading.essays`` is where essay code is imported from: every name the program, its tests and its benchmarks
import for essays (pages, OCR, near-duplicates, the rubric, judging) is there, the same object as in the module
that defines it. The pixel work on an essay box (crop, blanking the printed label) lives in ``omr.ocr.essaybox``,
beside the OCR it feeds, and is not re-exported here."""
from __future__ import annotations

import grading.essays as E
from grading.essays import duplicates, judging, ocr_stage, pages, rubric, search

IMPORTED = {
    pages: ("assign_essay_pages", "EssayQuestion", "load_essay_questions"),
    ocr_stage: ("OcrTask", "OcrRunOptions", "OcrTally", "essay_box_task", "ocr_load_options", "ocr_task",
                "ocr_pending", "earlier_failures", "ocr_file"),
    search: ("find_duplicates", "snippet"),
    duplicates: ("DuplicateOptions", "DuplicatePair", "Passage", "find_near_duplicates", "normalise",
                 "strip_diacritics"),
    rubric: ("Rubric", "FinalRule", "load_rubric", "rubric_from_dict", "parse_points"),
    judging: ("ScoreProblems", "ScoringError", "SCORED", "assignment", "decide", "import_roster", "judge_progress",
              "reassign", "show_points", "submit_score", "take_next", "task_counts", "task_score_rows",
              "my_assignments", "open_assignments", "duplicate_pair"),
}


def test_every_essay_name_is_imported_from_the_package():
    missing = [f"{m.__name__}.{n}" for m, names in IMPORTED.items() for n in names
               if getattr(E, n, None) is not getattr(m, n)]
    assert missing == []
    assert sorted(E.__all__) == sorted(set(E.__all__))
    assert [n for n in E.__all__ if not hasattr(E, n)] == []


def test_pixels_stay_in_omr():
    from omr.ocr import essaybox

    assert not hasattr(E, "crop_region") and not hasattr(E, "blank_printed_marks")
    assert callable(essaybox.crop_region) and callable(essaybox.read_essay_box)
