"""OMRChecker's ``evaluation.json`` (v1) → our answer-key document (``keys.json``, see grading/keys.py).

``source_type`` ``custom`` (``questions_in_order`` + ``answers_in_order`` inline) or ``csv`` (a two-column
CSV of question and answer, no header; an answer ``A,B`` or ``['A', 'B']`` is a list). Answers: a string
(``"A"``; ``"AB"`` = exactly A and B marked), a list of strings (any one of them is correct), a list of
[answer, score] pairs (weighted answers). ``marking_schemes``: ``DEFAULT`` and named sections, each with
``correct`` / ``incorrect`` / ``unmarked`` scores (numbers or fractions like ``"3/2"``, negative for negative
marking). An answer key given as an image (``answer_key_image_path`` without the CSV) is refused: reading a
key from a marked sheet is not built yet. Questions of the layout that the evaluation does not score are
kept out of the maximum (``cancelled: drop``) and reported.
"""
from __future__ import annotations

import ast
import csv
import io
from fractions import Fraction
from pathlib import Path
from typing import Any

from .template import Report, parse_labels

VERDICTS = ("correct", "incorrect", "unmarked")
VERSION = "1"                  # the single answer key's name (the imported layout has no version field)


def _score(v: Any, where: str, rep: Report) -> str | None:
    if isinstance(v, bool):
        rep.refusals.append(f"{where}: {v!r} is not a score")
        return None
    if isinstance(v, (int, float)):
        return str(Fraction(str(v)))
    if isinstance(v, str):
        try:
            return str(Fraction(v.strip()))
        except (ValueError, ZeroDivisionError):
            pass
    if isinstance(v, list):
        rep.refusals.append(f"{where}: streak marking (a list of scores) is OMRChecker v2; not supported")
        return None
    rep.refusals.append(f"{where}: {v!r} is not a score like 3, -1 or \"3/2\"")
    return None


def _marking(m: Any, where: str, rep: Report) -> dict[str, str] | None:
    if not isinstance(m, dict) or any(k not in m for k in VERDICTS):
        rep.refusals.append(f"{where}: needs correct, incorrect and unmarked")
        return None
    extra = [k for k in m if k not in VERDICTS]
    if extra:
        rep.refusals.append(f"{where}: {', '.join(extra)}: not a verdict of OMRChecker v1")
    out = {k: _score(m[k], f"{where}.{k}", rep) for k in VERDICTS}
    return None if None in out.values() else out  # type: ignore[return-value]


def _answers_from_csv(path: Path, rep: Report) -> tuple[list[str], list[Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        rep.refusals.append(f"evaluation.json answer_key_csv_path: cannot read {path}: {exc}")
        return [], []
    qs, answers = [], []
    for i, row in enumerate(csv.reader(io.StringIO(text))):
        if not row or not "".join(row).strip():
            continue
        q, ans = row[0].strip(), ",".join(row[1:]).strip()
        if ans.startswith("["):
            try:
                parsed: Any = ast.literal_eval(ans)
            except (ValueError, SyntaxError):
                rep.refusals.append(f"{path.name} line {i + 1}: {ans!r} is not a list")
                continue
        elif "," in ans:
            parsed = [a.strip() for a in ans.split(",")]
        else:
            parsed = ans
        qs.append(q)
        answers.append(parsed)
    return qs, answers


def _source(ev: dict, folder: Path, rep: Report) -> tuple[list[str], list[Any]]:
    st, opts = ev.get("source_type"), ev.get("options")
    if not isinstance(opts, dict):
        rep.refusals.append("evaluation.json options: missing")
        return [], []
    if st == "custom":
        qs = parse_labels(opts.get("questions_in_order"), "evaluation.json questions_in_order", rep)
        answers = opts.get("answers_in_order")
        if not isinstance(answers, list):
            rep.refusals.append("evaluation.json answers_in_order: must be a list")
            return [], []
        return qs, answers
    if st == "csv":
        csv_path = folder / str(opts.get("answer_key_csv_path", ""))
        if opts.get("answer_key_csv_path") and csv_path.is_file():
            if "answer_key_image_path" in opts:
                rep.notes.append("evaluation.json answer_key_image_path: not used (the CSV exists; OMRChecker "
                                 "uses the CSV too)")
            return _answers_from_csv(csv_path, rep)
        if "answer_key_image_path" in opts:
            rep.refusals.append("evaluation.json answer_key_image_path: an answer key given as an image is not "
                                "supported yet; write it as a CSV (answer_key_csv_path) or inline (source_type "
                                "custom)")
        else:
            rep.refusals.append(f"evaluation.json answer_key_csv_path: {csv_path} does not exist")
        return [], []
    rep.refusals.append(f"evaluation.json source_type: {st!r} is not \"csv\" or \"custom\" (OMRChecker v1)")
    return [], []


def _entry(ans: Any, mark: dict[str, str], where: str, rep: Report) -> dict[str, Any] | None:
    """One answer in our keys format, with its section's scores."""
    base = {"points": mark["correct"], "incorrect": mark["incorrect"], "unmarked": mark["unmarked"]}
    if isinstance(ans, str):
        return {"accept": ans, **base}
    if isinstance(ans, list) and len(ans) >= 2 and all(isinstance(a, str) for a in ans):
        return {"accept": ans, **base}
    if (isinstance(ans, list) and ans and all(isinstance(a, list) and len(a) == 2 and isinstance(a[0], str)
                                              for a in ans)):
        weights = [_score(a[1], where, rep) for a in ans]
        if None in weights:
            return None
        return {"accept": [a[0] for a in ans], "weights": weights, **base}
    rep.refusals.append(f"{where}: {ans!r} is not an answer (a string, a list of strings, or [answer, score] "
                        "pairs)")
    return None


def build_keys(ev: Any, folder: Path, *, contest: str, lid: str, questions: list[str],
               joined: dict[str, list[str]], rep: Report) -> dict[str, Any] | None:
    """The keys document for the layout's ``questions`` (field labels); ``joined``: custom labels."""
    if not isinstance(ev, dict):
        rep.refusals.append("evaluation.json: must be a JSON object")
        return None
    for k in ev:
        if k not in ("source_type", "options", "marking_schemes"):
            rep.refusals.append(f"evaluation.json {k}: not a key of OMRChecker v1 evaluations")
    qs, answers = _source(ev, folder, rep)
    if len(qs) != len(answers):
        rep.refusals.append(f"evaluation.json: {len(qs)} questions but {len(answers)} answers")
    schemes = ev.get("marking_schemes")
    if not isinstance(schemes, dict) or "DEFAULT" not in schemes:
        rep.refusals.append("evaluation.json marking_schemes: needs DEFAULT")
        return None
    default = _marking(schemes["DEFAULT"], "marking_schemes.DEFAULT", rep)
    section_of: dict[str, str] = {}
    marks: dict[str, dict[str, str] | None] = {"DEFAULT": default}
    for name, sec in schemes.items():
        if name == "DEFAULT":
            continue
        where = f"marking_schemes.{name}"
        if not isinstance(sec, dict):
            rep.refusals.append(f"{where}: must be an object with questions and marking")
            continue
        marks[name] = _marking(sec.get("marking"), f"{where}.marking", rep)
        sq = sec.get("questions")
        for q in parse_labels(sq if isinstance(sq, list) else [sq], f"{where}.questions", rep):
            if q in section_of:
                rep.refusals.append(f"{where}: {q} is already in section {section_of[q]}")
            section_of[q] = name
    entries: dict[str, Any] = {}
    for q, ans in zip(qs, answers):
        if q in joined:
            rep.notes.append(f"{q}: an answer for the custom label {q} ({'+'.join(joined[q])}) cannot be scored as "
                             "one answer yet; its fields are not scored")
            continue
        if q not in questions:
            rep.refusals.append(f"evaluation.json: question {q} is not a field of the template")
            continue
        mark = marks.get(section_of.get(q, "DEFAULT"))
        entry = _entry(ans, mark, f"evaluation.json answer of {q}", rep) if mark is not None else None
        if entry is not None:
            entries[q] = entry
    for q in questions:
        if q not in entries:
            entries[q] = {"cancelled": "drop"}
    unscored = [q for q in questions if entries[q] == {"cancelled": "drop"}]
    if unscored:
        rep.notes.append(f"not scored (no answer in evaluation.json): {', '.join(unscored[:15])}"
                         + (f" … ({len(unscored)} in all)" if len(unscored) > 15 else ""))
    sections = [{"name": n, "questions": [q for q in questions if section_of.get(q, "DEFAULT") == n]}
                for n in marks]
    return {"_comment": "Imported from OMRChecker's evaluation.json by `omr import omrchecker`. Format: see "
                        "grading/keys.py.",
            "contest": contest, "layout": lid,
            "sections": [s for s in sections if s["questions"]],
            "versions": {VERSION: {"questions": entries}}}
