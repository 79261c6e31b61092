"""Text as people type it, folded for matching: compatibility forms (full-width ``Ｂ``, ``：``) to plain ones,
dashes and arrows to one of each, and a fold that drops case and Vietnamese diacritics (``đ`` → ``d``) while
keeping every character's position, so that a match in the folded text points into the original."""
from __future__ import annotations

import re
import unicodedata

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"), "-")
_SPACES = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u2009\u200a\u3000\t"), " ")
_ZERO = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_ARROWS = re.compile(r"\s*(?:->|=>|-->|==>|→|⟶|⇒|⟹|➔|➜|➝)\s*")
_PUNCT = re.compile(r"[^\w\s]|_", re.UNICODE)


def plain(text: str) -> str:
    """NFKC (full-width letters and colons to ASCII), one kind of dash, space and arrow (``→``), no zero-width
    characters; NFC after, so Vietnamese letters are single code points."""
    text = unicodedata.normalize("NFKC", text).translate(_ZERO).translate(_DASHES).translate(_SPACES)
    text = _ARROWS.sub(" → ", text)
    return unicodedata.normalize("NFC", text)


def _fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", ch)[0]
    return base.lower() if len(base.lower()) == 1 else ch.lower()[:1] or ch


def fold(text: str) -> str:
    """Lower case without diacritics, one character for one character (``plain`` text in, same length out)."""
    return "".join(_fold_char(ch) for ch in text)


def tokens(text: str) -> list[str]:
    """Words of ``text`` folded, punctuation dropped."""
    return _PUNCT.sub(" ", fold(plain(text))).split()


def key(text: str) -> str:
    """The matching key of an option's text: folded words joined by single spaces."""
    return " ".join(tokens(text))
