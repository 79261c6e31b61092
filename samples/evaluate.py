"""Compare readings (``omr read`` JSON Lines) with a sample set's ground truth (``truth.jsonl``).

The truth comes from the generator, which never calls the reader. Every question falls in exactly one bucket:
- ``exact``: read as the truth says, not flagged;
- ``flagged``: a judge will look at it (not an error, but it costs judge time);
- ``silent_error``: read differently from the truth and NOT flagged — the one number that must stay ~0.
Questions the truth calls ambiguous count as ``exact`` only when flagged or read as the truth's reading.
Participant ids and versions are scored the same way; non-sheet pages must be rejected.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable


@dataclass
class Evaluation:
    pages: int = 0
    questions: Counter = field(default_factory=Counter)          # exact / flagged / silent_error
    participant: Counter = field(default_factory=Counter)
    version: Counter = field(default_factory=Counter)
    pages_status: Counter = field(default_factory=Counter)       # what the reader said about each sheet page
    non_sheets: Counter = field(default_factory=Counter)         # rejected / accepted (should be rejected)
    missing: int = 0                                             # truth pages with no reading at all
    silent_examples: list[dict[str, Any]] = field(default_factory=list)
    flag_reasons: Counter = field(default_factory=Counter)
    flags_vs_truth: Counter = field(default_factory=Counter)     # question flags: truth ambiguous or not

    def share(self, counter: Counter, key: str) -> float:
        n = sum(counter.values())
        return counter[key] / n if n else 0.0

    def as_json(self) -> dict[str, Any]:
        q = self.questions
        return {
            "sheet_pages": self.pages, "missing_pages": self.missing,
            "sheet_page_status": dict(self.pages_status),
            "questions": sum(q.values()),
            "questions_exact_share": round(self.share(q, "exact"), 6),
            "questions_flagged_share": round(self.share(q, "flagged"), 6),
            "questions_silent_errors": q["silent_error"],
            "participant": dict(self.participant), "version": dict(self.version),
            "non_sheet_pages": dict(self.non_sheets),
            "flag_reasons": dict(self.flag_reasons),
            "question_flags_vs_truth": dict(self.flags_vs_truth),
            "silent_error_examples": self.silent_examples[:20],
        }

    def text(self) -> str:
        q = self.questions
        n = sum(q.values())
        lines = [
            f"sheet pages {self.pages} (reader status: {dict(self.pages_status)}), missing {self.missing}",
            f"questions {n}: exact {self.share(q, 'exact'):.4%}, flagged {self.share(q, 'flagged'):.3%}, "
            f"silent errors {q['silent_error']}; question flags vs truth: {dict(self.flags_vs_truth)}",
            f"participant ids: {dict(self.participant)}",
            f"versions: {dict(self.version)}",
        ]
        if self.non_sheets:
            lines.append(f"non-sheet pages: {dict(self.non_sheets)}")
        return "\n".join(lines)


def load_jsonl(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _key(source: str, page: int | None, root: Path | None) -> tuple[str, int]:
    p = Path(source)
    if root is not None:
        try:
            p = p.resolve().relative_to(root.resolve())
        except ValueError:
            pass
    return (p.as_posix(), int(page or 1))


def _field(counter: Counter, truth_value: str | None, ambiguous: bool, read: str | None, flagged: bool) -> str:
    if flagged:
        outcome = "flagged"
    elif read == truth_value and not ambiguous:
        outcome = "exact"
    elif ambiguous and read == truth_value:
        outcome = "exact"
    else:
        outcome = "silent_error"
    counter[outcome] += 1
    return outcome


def evaluate(readings: Iterable[dict[str, Any]], truth: Iterable[dict[str, Any]], *, root: str | Path) -> Evaluation:
    """``root`` is the sample-set folder: truth ``file`` paths are relative to it."""
    root = Path(root)
    by_key = {_key(r["source"], r.get("page"), root): r for r in readings}
    ev = Evaluation()
    for t in truth:
        r = by_key.get((Path(t["file"]).as_posix(), int(t.get("page", 1))))
        if t.get("expect") == "rejected":
            ev.non_sheets["rejected" if r is not None and r["status"] == "rejected" else "accepted"] += 1
            continue
        ev.pages += 1
        if r is None:
            ev.missing += 1
            continue
        ev.pages_status[r["status"]] += 1
        flags = r.get("flags", [])
        for f in flags:
            ev.flag_reasons[f.get("reason", "?")] += 1
        flagged_q = {f["question"] for f in flags if "question" in f}
        flagged_p = any("participant" in f for f in flags)
        flagged_v = any("version" in f for f in flags)
        ambiguous = set(t.get("ambiguous", []))
        rejected = r["status"] == "rejected"
        for qid, want in t["answers"].items():
            got = None if rejected else r["answers"].get(qid)
            outcome = _field(ev.questions, want, qid in ambiguous, got, rejected or qid in flagged_q)
            if qid in flagged_q:
                ev.flags_vs_truth["truth_ambiguous" if qid in ambiguous else
                                  "needless" if got == want else "caught_misread"] += 1
            if outcome == "silent_error" and len(ev.silent_examples) < 50:
                ev.silent_examples.append({"file": t["file"], "page": t.get("page", 1), "question": qid,
                                           "truth": want, "read": got, "ambiguous": qid in ambiguous,
                                           "marks": t.get("marks", {}).get(qid),
                                           "fills": (r.get("fills") or {}).get(qid)})
        # on a personalised sheet the printed name and ID (and the QR) say who it is, whatever the bubbles say
        want_pid = t.get("qr_participant") or t.get("participant")
        _field(ev.participant, want_pid, bool(t.get("participant_ambiguous")) and not t.get("qr_participant"),
               None if rejected else r.get("participant"), rejected or flagged_p)
        if "version" in t:
            _field(ev.version, t.get("version"), bool(t.get("version_ambiguous")),
                   None if rejected else r.get("version"), rejected or flagged_v)
    return ev
