"""Builders shared by the grading tests (records are built directly: no image reader involved)."""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

from omr.records import Flag, Reject, SheetFailure, SheetReading, Status

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "answer_keys" / "demo"


def small_layout_dict(*, version: bool = True) -> dict:
    """The demo sheet cut down to 6 questions with options A–E (exact sums are easy to check by hand)."""
    raw = copy.deepcopy(json.loads((DEMO / "layout.json").read_text(encoding="utf-8")))
    raw["id"] = "small-6"
    raw["questions"] = {"options": ["A", "B", "C", "D", "E"], "blocks": [
        {"first": 1, "count": 6, "x_mm": 24, "y_mm": 128, "option_pitch_mm": 6.5, "row_pitch_mm": 6.0}]}
    if not version:
        del raw["version"]
    return raw


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def qflag(question: str, reason: str = "ambiguous_mark", fills: tuple[float, ...] = (0.1, 0.45, 0.1, 0.1, 0.1)) -> Flag:
    return Flag(target="question", key=question, reason=reason, message=f"question {question}: unclear mark",
                confidence=0.4, values=fills)


def reading(source: str, page: int, participant: str | None, version: str | None, answers: str | dict,
            flags: tuple[Flag, ...] = ()) -> SheetReading:
    """``answers`` as "AB-CE" (one char per question, "-" blank) or a dict."""
    if isinstance(answers, str):
        answers = {str(i + 1): ("" if c == "-" else c) for i, c in enumerate(answers)}
    return SheetReading(source=source, page=page, layout="small-6",
                        status=Status.FLAGGED if flags else Status.OK, participant=participant, version=version,
                        answers=answers, flags=flags)


def failure(source: str, page: int | None, code: Reject = Reject.NOT_A_SHEET) -> SheetFailure:
    return SheetFailure(source=source, page=page, reason_code=code, reason="no fiducials on this page")


def omr(*args: str, timeout: float = 180):
    """Run the ``omr`` command (``python -m grading.cli``) from the checkout; returns the CompletedProcess."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "grading.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def db_rows(url: str, sql: str) -> list[tuple]:
    """Rows of a read-only SQL query against a store."""
    import sqlalchemy as sa

    from grading.store import Store

    with Store.open(url) as store, store.read_tx("test query") as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]
