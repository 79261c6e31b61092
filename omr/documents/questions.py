"""``questions.json``: the text of every multiple-choice question and of its options, so that an answer written
out in words can be matched to its option and reports can show what was asked::

    {"questions": [{"id": "1", "text": "Cổng Dịch vụ công quốc gia có địa chỉ nào?",
                    "options": {"A": "dichvucong.gov.vn", "B": "…", "C": "…", "D": "…"}}, …]}

Checked against the layout: every question of the sheet listed once, with exactly the sheet's options, every
text non-empty, and no two options of a question alike once case, diacritics and punctuation are folded (an
answer written out could not tell them apart). Every problem at once, as ``LayoutError`` (exit 5).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import LayoutError
from ..layout import Layout, read_json_document
from .fold import key

QUESTIONS = "questions.json"


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    text: str
    options: tuple[tuple[str, str], ...]      # (letter, text) in the sheet's order

    @property
    def letters(self) -> tuple[str, ...]:
        return tuple(letter for letter, _ in self.options)


@dataclass(frozen=True, slots=True)
class Questions:
    questions: tuple[Question, ...]

    def by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}


def _question(raw: Any, path: str, problems: list[str]) -> Question | None:
    if not isinstance(raw, dict):
        problems.append(f"{path}: must be an object with id, text and options")
        return None
    qid, text, options = raw.get("id"), raw.get("text"), raw.get("options")
    ok = True
    if isinstance(qid, int) and not isinstance(qid, bool):
        qid = str(qid)
    if not isinstance(qid, str) or not qid.strip():
        problems.append(f"{path}.id: must be the question's number as text, e.g. \"1\"")
        ok = False
    if not isinstance(text, str) or not text.strip():
        problems.append(f"{path}.text: the question's text is missing")
        ok = False
    if not isinstance(options, dict) or not options:
        problems.append(f"{path}.options: must be an object {{\"A\": \"…\", \"B\": \"…\"}}")
        return None
    folded: dict[str, str] = {}
    for letter, value in options.items():
        if not isinstance(value, str) or not key(value):
            problems.append(f"{path}.options.{letter}: the option's text is missing")
            ok = False
        elif key(value) in folded:
            problems.append(f"{path}.options.{letter}: the same text as option {folded[key(value)]} "
                            "(after folding case, diacritics and punctuation)")
            ok = False
        else:
            folded[key(value)] = letter
    if not ok:
        return None
    return Question(qid.strip(), text.strip(), tuple((str(k), v.strip()) for k, v in options.items()))


def questions_from_dict(raw: Any, layout: Layout | None, *, source: str) -> Questions:
    problems: list[str] = []
    items = raw.get("questions") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise LayoutError(f"{source}: must be an object with a list \"questions\"",
                          details=["questions: missing or not a list"])
    unknown = sorted(k for k in raw if k != "questions" and not k.startswith("_"))
    problems += [f"{k}: unknown key (known: questions)" for k in unknown]
    found: dict[str, Question] = {}
    listed = {str(x["id"]).strip() for x in items
              if isinstance(x, dict) and isinstance(x.get("id"), (str, int)) and not isinstance(x["id"], bool)}
    for i, item in enumerate(items):
        q = _question(item, f"questions[{i}]", problems)
        if q is None:
            continue
        if q.id in found:
            problems.append(f"questions[{i}].id: question {q.id} is listed twice")
            continue
        found[q.id] = q
    if layout is not None:
        groups = {g.key: g for g in layout.question_groups}
        for qid, g in groups.items():
            if qid not in listed:
                problems.append(f"question {qid}: on the sheet but not in {QUESTIONS}")
            elif qid in found and found[qid].letters != g.labels:
                problems.append(f"question {qid}: options {', '.join(found[qid].letters)} but the sheet has "
                                f"{', '.join(g.labels)}")
        problems += [f"question {qid}: not on the sheet {layout.id}" for qid in sorted(listed - groups.keys())]
    if problems:
        raise LayoutError(f"{source}: the questions file has {len(problems)} problem(s)", details=problems)
    order = {g.key: i for i, g in enumerate(layout.question_groups)} if layout is not None else {}
    return Questions(tuple(sorted(found.values(), key=lambda q: order.get(q.id, len(order)))))


def load_questions(path: str | Path, layout: Layout | None) -> Questions:
    """``questions.json`` (or a contest folder holding it), checked against ``layout`` (``LayoutError``)."""
    raw, path = read_json_document(path, file_name=QUESTIONS, what="questions file",
                                   hint="write one (see answer_keys/demo/questions.json)")
    return questions_from_dict(raw, layout, source=str(path))
