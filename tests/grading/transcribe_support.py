"""A documents contest of 40 multiple-choice questions (the demo's first 40, two test codes, its rubric) and
handwritten submissions recorded in a store, for the transcription tests."""
from __future__ import annotations

import json
from pathlib import Path

from grading.essays.pages import assign_essay_pages
from grading.store import EssayPage, Store
from grading_support import DEMO, failure, sha

N = 40
QUESTIONS = [str(i) for i in range(1, N + 1)]


def hw_contest(folder: Path, *, roster: list[tuple[str, str, str]] | None = None) -> Path:
    """The demo contest cut to 40 questions (versions 101 and 102), with questions.json and rubric.json."""
    folder.mkdir(parents=True, exist_ok=True)
    layout = json.loads((DEMO / "layout.json").read_text(encoding="utf-8"))
    layout["id"] = "hw-40"
    blocks = layout["questions"]["blocks"]
    layout["questions"]["blocks"] = [dict(blocks[0], count=20), dict(blocks[1], first=21, count=20)]
    keys = json.loads((DEMO / "keys.json").read_text(encoding="utf-8"))
    keys["layout"] = "hw-40"
    keys["sections"] = [{"name": "Phần I", "questions": f"1-{N}", "points": "1/4"}]
    keys["versions"] = {v: {"answers": keys["versions"][v]["answers"].replace(" ", "")[:N]} for v in ("101", "102")}
    questions = json.loads((DEMO / "questions.json").read_text(encoding="utf-8"))
    questions["questions"] = questions["questions"][:N]
    for name, data in (("layout.json", layout), ("keys.json", keys), ("questions.json", questions)):
        (folder / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    for name in ("contest.json", "rubric.json"):
        (folder / name).write_bytes((DEMO / name).read_bytes())
    if roster is not None:
        lines = ["participant_id,name,unit", *(",".join(r) for r in roster)]
        (folder / "roster.csv").write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return folder


def key_answers(folder: Path, version: str = "101") -> str:
    return json.loads((folder / "keys.json").read_text(encoding="utf-8"))["versions"][version]["answers"]


def record_handwritten(store: Store, source: str, *, pages: int = 2, unit: str | None = None) -> int:
    """A scan whose pages are not answer sheets: essay pages with no participant. Returns its submission id."""
    records = assign_essay_pages([failure(source, p) for p in range(1, pages + 1)])
    return store.record_submission(source, sha(source), 1000, records, None, unit=unit).submission_id


def record_typed_essay(store: Store, source: str) -> int:
    """A typed document with an essay part and no answers: its text is known (not handwritten)."""
    page = EssayPage(failure(source, 1), None, text="Bài viết đánh máy.", participant="TS-TYPED01")
    return store.record_submission(source, sha(source), 1000, [page], None).submission_id
