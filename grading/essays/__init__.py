"""Essays, from the page to the final score:

* ``pages``       which pages of a submission are essay pages; the contest's essay questions (``essays.json``);
* ``crop``        an essay box cut out of a sheet page, its printed label and border painted white;
* ``ocr_stage``   the OCR stage (``omr ocr``): tasks, the process pool or Dask cluster, the tally and its exit code;
* ``duplicates``  near-duplicate essays (shingles, MinHash/LSH): a pure function over (id, text) pairs;
* ``search``      near-duplicates over the stored essays (``omr duplicates``) and search-result snippets;
* ``rubric``      the rubric file (``rubric.json``): criteria, maximum points, tolerance, final rule;
* ``judging``     double-blind judging: the next essay, scores, disputes and the third judge, finals,
  reassignment, progress.

The store's side (essays, OCR results, tasks, assignments) is ``grading.db``'s: ``grading.db.essays``,
``grading.db.tasks`` and ``grading.db.judging``. The names below are what the rest of the program imports.
"""
from __future__ import annotations

from .duplicates import (MIN_BOILERPLATE_ESSAYS, MIN_SHARED_SHINGLES, DuplicateOptions, DuplicatePair, Passage,
                         find_near_duplicates, normalise, strip_diacritics)
from .judging import (ASSIGNED, POOL, SCORED, Decision, JudgeProgress, ScoreOutcome, ScoreProblems, ScoringError,
                      Taken, TaskCounts, assignment, assignment_within, check_points, decide, duplicate_pair,
                      import_roster, judge_progress, my_assignments, open_assignments, reassign, show_points,
                      submit_score, take_next, task_counts, task_score_rows)
from .ocr_stage import (OcrOutcome, OcrRunOptions, OcrTally, OcrTask, earlier_failures, essay_box_task, ocr_file,
                        ocr_load_options, ocr_pending, ocr_task, run_ocr)
from .pages import EssayQuestion, Record, assign_essay_pages, load_essay_questions
from .rubric import (MAX_POINTS, RUBRIC, Criterion, FinalRule, Rubric, RubricQuestion, load_rubric, parse_points,
                     rubric_from_dict)
from .search import FoundPair, find_duplicates, snippet

__all__ = [
    "ASSIGNED", "Criterion", "Decision", "DuplicateOptions", "DuplicatePair", "EssayQuestion",
    "FinalRule", "FoundPair", "JudgeProgress", "MAX_POINTS", "MIN_BOILERPLATE_ESSAYS",
    "MIN_SHARED_SHINGLES", "OcrOutcome", "OcrRunOptions", "OcrTally", "OcrTask", "POOL", "Passage", "RUBRIC",
    "Record", "Rubric", "RubricQuestion", "SCORED", "ScoreOutcome", "ScoreProblems", "ScoringError", "Taken",
    "TaskCounts", "assign_essay_pages", "assignment", "assignment_within", "check_points",
    "decide", "duplicate_pair", "earlier_failures", "essay_box_task", "find_duplicates", "find_near_duplicates",
    "import_roster", "judge_progress", "load_essay_questions", "load_rubric", "my_assignments", "normalise",
    "ocr_file", "ocr_load_options", "ocr_pending", "ocr_task", "open_assignments", "parse_points", "reassign",
    "rubric_from_dict", "run_ocr", "show_points", "snippet", "strip_diacritics", "submit_score", "take_next",
    "task_counts", "task_score_rows",
]
