"""Looking across the stored essays: near-duplicate pairs (``find_duplicates``, behind ``omr duplicates``) and the
snippet shown for a search hit (``snippet``, behind ``omr search``).

``find_duplicates`` runs ``grading.essays.duplicates.find_near_duplicates`` over every essay read, the contest's
question statements (``essays.json``) ignored, and stores each pair once.
"""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..store import Store
from .duplicates import DuplicateOptions, find_near_duplicates, strip_diacritics
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
    """A few words of ``text`` around the first word of ``query`` found (marked «like this»), on one line."""

    def norm(w: str) -> str:
        w = unicodedata.normalize("NFC", w).casefold()
        if plain:
            w = strip_diacritics(w).casefold()
        return w

    toks = list(_WORD.finditer(text or ""))
    if not toks:
        return ""
    wanted = {norm(w) for w in _WORD.findall(query)}
    hit = next((i for i, m in enumerate(toks) if norm(m.group()) in wanted), None)
    if hit is None:
        first = toks[min(len(toks), 2 * words_around) - 1]
        return " ".join(text[:first.end()].split()) + ("…" if first.end() < len(text) else "")
    start = toks[max(0, hit - words_around)].start()
    end = toks[min(len(toks) - 1, hit + words_around)].end()
    m = toks[hit]
    s = text[start:m.start()] + "«" + m.group() + "»" + text[m.end():end]
    return ("…" if start > 0 else "") + " ".join(s.split()) + ("…" if end < len(text) else "")
