"""Looking across the stored essays: near-duplicate pairs (``find_duplicates``, behind ``omr duplicates``) and the
snippet shown for a search hit (``snippet``, behind ``omr search``).

``find_duplicates`` runs ``grading.essays.duplicates.find_near_duplicates`` over every essay read, the contest's
question statements (``essays.json``) ignored, and stores each pair once.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..store import Store
from .duplicates import DuplicateOptions, find_near_duplicates
from .query import hits, parse_query
from .pages import EssayQuestion


# ---------------------------------------------------------------------------------------------------
# Near-duplicates
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FoundPair:
    a: int
    b: int
    code_a: str
    code_b: str
    similarity: float
    containment: float
    passages: tuple[dict[str, Any], ...]


_PASSAGE_FIELDS = ("a_start", "a_end", "b_start", "b_end", "text")


def find_duplicates(store: Store, questions: Iterable[EssayQuestion] = (), *,
                    threshold: float | None = None) -> tuple[list[FoundPair], int]:
    """Near-duplicate pairs among the essays read (question statements ignored), stored once each.
    Returns the pairs (highest containment first) and how many were new."""
    texts = store.essay_texts()
    codes = {eid: code for eid, code, _ in texts}
    opts = DuplicateOptions()
    opts = dataclasses.replace(opts, ignore=tuple(opts.ignore) + tuple(q.question for q in questions if q.question))
    if threshold is not None:
        opts = dataclasses.replace(opts, threshold=threshold)
    found: list[FoundPair] = []
    for p in find_near_duplicates([(str(eid), text) for eid, _, text in texts if text.strip()], opts):
        a, b = int(p.a), int(p.b)
        passages = [{f: getattr(x, f) for f in _PASSAGE_FIELDS} for x in p.passages]
        if a > b:
            a, b = b, a
            passages = [{"a_start": x["b_start"], "a_end": x["b_end"], "b_start": x["a_start"],
                         "b_end": x["a_end"], "text": x["text"]} for x in passages]
        found.append(FoundPair(a, b, codes[a], codes[b], float(p.similarity), float(p.containment),
                               tuple(passages)))
    found.sort(key=lambda f: (-f.containment, -f.similarity, f.a, f.b))
    new = store.record_duplicate_pairs([(f.a, f.b, f.similarity, f.containment, list(f.passages)) for f in found])
    return found, new


# ---------------------------------------------------------------------------------------------------
# Search results
# ---------------------------------------------------------------------------------------------------
_WORD = re.compile(r"\w+")


def snippet(text: str, query: str, *, plain: bool = False, words_around: int = 8) -> str:
    """A few words of ``text`` around the first place ``query`` matches (``grading.essays.query``), on one line,
    every word or phrase of the query in it marked «like this»."""
    toks = list(_WORD.finditer(text or ""))
    if not toks:
        return ""
    spans = hits(text, parse_query(query, plain=plain))
    if not spans:
        first = toks[min(len(toks), 2 * words_around) - 1].end()
        first = len(text) if not _WORD.search(text, first) else first
        return " ".join(text[:first].split()) + ("…" if first < len(text) else "")
    at = next(i for i, m in enumerate(toks) if m.start() >= spans[0][0])
    start = toks[max(0, at - words_around)].start()
    end = max(toks[min(len(toks) - 1, at + words_around)].end(), spans[0][1])
    if not _WORD.search(text, end):                      # only punctuation left: keep it, no "…"
        end = len(text)
    out, pos = [], start
    for a, b in spans:
        if a >= end:
            break
        if a >= pos:
            out += [text[pos:a], "«", text[a:b], "»"]
            pos = b
    out.append(text[pos:end])
    return ("…" if start > 0 else "") + " ".join("".join(out).split()) + ("…" if end < len(text) else "")
