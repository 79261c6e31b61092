"""A search over the essays as people type it: every word must appear; ``"ông nội"`` in quotes must appear as
written, word after word; ``OR`` (in capitals) between two parts finds essays that hold either. With ``plain``
words are compared without diacritics (``hoc`` finds ``học``, ``hộc``).

``parse_query`` turns the text into a ``Query`` (OR of AND-groups of terms; a term of two words or more is a
phrase); ``fts5`` and ``tsquery`` write it for SQLite's FTS5 and PostgreSQL's full-text search; ``hits`` finds
every place a term occurs in a text, for the snippets that mark them.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from omr.errors import BadArguments

from .duplicates import strip_diacritics

_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+")
OR = "OR"

Term = tuple[str, ...]            # its words; two or more: a phrase


@dataclass(frozen=True, slots=True)
class Query:
    groups: tuple[tuple[Term, ...], ...]      # any group may match; in a group, every term must
    plain: bool = False

    @property
    def terms(self) -> tuple[Term, ...]:
        return tuple(t for g in self.groups for t in g)


def _word(w: str, plain: bool) -> str:
    w = unicodedata.normalize("NFC", w)
    return strip_diacritics(w) if plain else w


def parse_query(text: str, *, plain: bool = False) -> Query:
    """The query in ``text``; ``BadArguments`` (exit 2) when it holds no word."""
    groups: list[tuple[Term, ...]] = []
    current: list[Term] = []
    for m in _TOKEN.finditer(unicodedata.normalize("NFC", text)):
        if m.group(2) == OR:
            if current:
                groups.append(tuple(current))
            current = []
            continue
        words = tuple(_word(w, plain) for w in _WORD.findall(m.group(1) if m.group(1) is not None else m.group(2)))
        if words:
            current.append(words)
    if current:
        groups.append(tuple(current))
    if not groups:
        raise BadArguments(f"{text!r} has no word to search for")
    return Query(tuple(groups), plain)


def fts5(q: Query, column: str) -> str:
    """The FTS5 MATCH expression for ``q`` over ``column``: ``{text} : (("a" AND "b c") OR ("d"))``."""
    def term(t: Term) -> str:
        return '"' + " ".join(t) + '"'
    return "{%s} : (%s)" % (column, " OR ".join("(" + " AND ".join(term(t) for t in g) + ")" for g in q.groups))


def tsquery(q: Query, weight: str) -> str:
    """The ``to_tsquery`` text for ``q`` on lexemes of ``weight``: ``('a':A & ('b':A <-> 'c':A)) | ('d':A)``."""
    def term(t: Term) -> str:
        inner = " <-> ".join(f"'{w.lower()}':{weight}" for w in t)
        return f"({inner})" if len(t) > 1 else inner
    return " | ".join("(" + " & ".join(term(t) for t in g) + ")" for g in q.groups)


def hits(text: str, q: Query) -> list[tuple[int, int]]:
    """Every (start, end) in ``text`` where a term of ``q`` occurs (case ignored; diacritics too when plain),
    in order, overlapping ones merged."""
    toks = list(_WORD.finditer(text or ""))
    norm = [_word(m.group(), q.plain).casefold() for m in toks]
    spans = []
    for t in {tuple(w.casefold() for w in t) for t in q.terms}:
        n = len(t)
        spans += [(toks[i].start(), toks[i + n - 1].end()) for i in range(len(toks) - n + 1)
                  if tuple(norm[i:i + n]) == t]
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged
