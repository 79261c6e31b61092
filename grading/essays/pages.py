"""Which pages of a submission are essay pages, and the contest's essay questions (``essays.json``).

A submission is a sequence of pages. A page the reader finds no sheet on (``not_a_sheet``) is an essay page of
the participant of the answer sheet before it (or the first one); in a submission with no answer sheet at all
the pages are essays without a participant (the store flags the submission ``unmatched_essay``). Other
rejections (corrupt, truncated, partial_sheet …) stay rejections.

``essays.json`` (optional, in the contest folder) names the contest's essay questions::

    {"essays": [{"id": "E1", "title": "Nghị luận xã hội", "question": "Suy nghĩ của em về ..."}]}

``id`` matches an essay box of the layout when the essay is written on the sheet; ``question`` is the statement
participants may copy (it is ignored when looking for near-duplicates).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from omr.errors import LayoutError
from omr.layout import read_json_document
from omr.records import Reject, SheetFailure, SheetReading

from ..store import EssayPage

Record = SheetReading | SheetFailure


def assign_essay_pages(records: Sequence[Record]) -> list[Record | EssayPage]:
    """The submission's records with every ``not_a_sheet`` page turned into an ``EssayPage``.

    With answer sheets in the submission, an essay page belongs to the sheet page before it (pages before the
    first sheet: to the first sheet), so a scanner PDF of many "sheet + essay" entries assigns each essay to its
    own sheet. Without any sheet, the first essay page carries no owner (the store flags it
    ``unmatched_essay``) and the other essay pages follow it. Nothing else changes.
    """
    essay_at = [i for i, r in enumerate(records)
                if isinstance(r, SheetFailure) and r.reason_code is Reject.NOT_A_SHEET and r.page is not None]
    if not essay_at:
        return list(records)
    out: list[Record | EssayPage] = list(records)
    sheets = [r.page for r in records if isinstance(r, SheetReading)]
    if sheets:
        owner = sheets[0]
        for i, r in enumerate(records):
            if isinstance(r, SheetReading):
                owner = r.page
            elif i in essay_at:
                out[i] = EssayPage(r, owner)  # type: ignore[arg-type]
        return out
    first = records[essay_at[0]].page
    for i in essay_at:
        r = records[i]
        out[i] = EssayPage(r, None if r.page == first else first)  # type: ignore[arg-type]
    return out


@dataclass(frozen=True, slots=True)
class EssayQuestion:
    id: str
    title: str
    question: str


def load_essay_questions(folder: str | Path) -> tuple[EssayQuestion, ...]:
    """``DIR/essays.json`` if there is one (none: no questions). ``LayoutError`` (exit 5) lists every problem."""
    path = Path(folder) / "essays.json"
    if not path.is_file():
        return ()
    raw, path = read_json_document(path, file_name="essays.json", what="essay questions file",
                                   hint="fix it or remove it")
    items = raw.get("essays") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise LayoutError(f'{path} must be an object {{"essays": [{{"id": …, "title": …, "question": …}}]}}')
    problems: list[str] = []
    out: list[EssayQuestion] = []
    for i, e in enumerate(items):
        if not isinstance(e, dict):
            problems.append(f"essays[{i}]: must be an object with id, title and question")
            continue
        for k in ("id", "title", "question"):
            if k in e and not isinstance(e[k], str):
                problems.append(f"essays[{i}].{k}: must be text")
        if not isinstance(e.get("id"), str) or not e["id"].strip():
            problems.append(f"essays[{i}].id: required (the essay box id in the layout, or any short name)")
            continue
        out.append(EssayQuestion(e["id"].strip(), str(e.get("title") or ""), str(e.get("question") or "")))
    if len({q.id for q in out}) != len(out):
        problems.append("essays: ids repeat")
    if problems:
        raise LayoutError(f"{path} is not valid", details=problems)
    return tuple(out)
