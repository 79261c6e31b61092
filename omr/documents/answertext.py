"""What one answer fragment says ("B", "b.", "Ｂ", "Đáp án đúng là B", "B → C", "A, C", "Nộp hồ sơ trực tuyến"),
for one question: letters with a confidence, or why it cannot be taken. Never a guess.

An option written out in words counts when, after folding case, diacritics, spacing and punctuation, it is
exactly one option's text; or when its word-set similarity (shared words / all words, Jaccard) to one option is
at least ``TEXT_MATCH_MIN`` and beats every other option by at least ``TEXT_MATCH_MARGIN``. Anything else is a
flag for a person."""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from .fold import fold, key, tokens
from .questions import Question

TEXT_MATCH_MIN = 0.8
TEXT_MATCH_MARGIN = 0.2
_QUESTION_COPY_MIN = 0.6          # a fragment this close to the question's own text is the question, copied

_INTRO = re.compile(r"^(?:(?:dap\s*an|tra\s*loi|em\s*chon|toi\s*chon|chon|phuong\s*an|lua\s*chon|ket\s*qua|"
                    r"answer|y|dung|la|cua\s*em|cua\s*toi|chinh\s*xac|nhat)(?![a-z0-9])\s*[:.\-=]*\s*)+")
_CHANGE = re.compile(r"^([a-z])(?![a-z0-9])\s*[.)]?\s*(?:→|sua\s*thanh|doi\s*thanh|sua\s*lai\s*(?:la|thanh)?|"
                     r"chuyen\s*thanh|chon\s*lai)\s*[:]?\s*([a-z])(?![a-z0-9])")
_LETTERS = re.compile(r"^([a-z])(?![a-z0-9])((?:\s*(?:,|;|\+|&|/|va|hoac)\s*[a-z](?![a-z0-9]))*)")
_CHAIN_LETTER = re.compile(r"(?<![a-z0-9])([a-z])(?![a-z0-9])")
_LISTING = re.compile(r"(?:^|[\s(])([a-h])\s*[.)]\s+\S")
_LEAD = re.compile(r"^[\s:.\-=>|)→(\[\"“'‘]+")
_OPEN = re.compile(r"^[\s(\[\"“'‘]+")          # "(c)", "[B]", "“B”" after "Đáp án:"


class Outcome(enum.Enum):
    CHOSEN = "chosen"                 # letters taken
    EMPTY = "empty"                   # nothing after the question's number
    QUESTION = "question"             # the question's text (or its options) copied: the answer may follow
    UNMATCHED = "option_text_unmatched"
    AMBIGUOUS = "option_text_ambiguous"
    UNKNOWN_OPTION = "unknown_option"
    MISMATCH = "letter_text_mismatch"   # "B. <the text of option C>"
    UNPLACED = "mark_unplaced"          # a printed table's mark or letter whose column cannot be told
    OUT_OF_SEQUENCE = "question_number_out_of_sequence"   # "21 | 2 | 23": a number misread (a scan's OCR)


@dataclass(frozen=True, slots=True)
class Parsed:
    outcome: Outcome
    letters: str = ""
    confidence: float = 0.0
    note: str = ""                    # "changed from B", "multiple", what a mismatch or near match was


def jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else 0.0


def match_option(text: str, q: Question) -> Parsed:
    """The option an answer written out in words names (see the module's rule)."""
    k = key(text)
    if not k:
        return Parsed(Outcome.EMPTY)
    exact = [letter for letter, opt in q.options if key(opt) == k]
    if len(exact) == 1:
        return Parsed(Outcome.CHOSEN, exact[0], 1.0)
    words = tokens(text)
    scores = sorted(((jaccard(words, tokens(opt)), letter) for letter, opt in q.options), reverse=True)
    best, letter = scores[0]
    second = scores[1][0] if len(scores) > 1 else 0.0
    if best >= TEXT_MATCH_MIN and best - second >= TEXT_MATCH_MARGIN:
        return Parsed(Outcome.CHOSEN, letter, best)
    if best >= 0.5:
        return Parsed(Outcome.AMBIGUOUS, confidence=best,
                      note=f"gần với phương án {letter} ({best:.2f}) và {scores[1][1]} ({second:.2f})")
    return Parsed(Outcome.UNMATCHED, confidence=best)


def _is_question_copy(text: str, q: Question) -> bool:
    folded = fold(text)
    if len(_LISTING.findall(folded)) >= 2:            # "A. … B. … C. …": the options, listed
        return True
    if text.rstrip().endswith("?"):
        return True
    return jaccard(tokens(text), tokens(q.text)) >= _QUESTION_COPY_MIN


def _letters(found: list[str], q: Question, confidence: float, note: str = "") -> Parsed:
    letters = [c.upper() for c in found]
    unknown = [c for c in letters if c not in q.letters]
    if unknown:
        return Parsed(Outcome.UNKNOWN_OPTION, "".join(letters), 0.0, note=f"không có phương án {unknown[0]}")
    chosen = "".join(sorted(set(letters), key=q.letters.index))
    return Parsed(Outcome.CHOSEN, chosen, confidence, note or ("multiple" if len(chosen) > 1 else ""))


def parse_answer(text: str, q: Question) -> Parsed:
    """``text``: what follows the question's number (plain form)."""
    text = _LEAD.sub("", text)
    if not text.strip():
        return Parsed(Outcome.EMPTY)
    whole = match_option(text, q)
    if whole.outcome is Outcome.CHOSEN and whole.confidence == 1.0:
        return whole                               # an option's exact text ("Đúng", "Cả A và B")
    folded = fold(text)
    m = _INTRO.match(folded)
    start = m.end() if m else 0
    start += (o.end() if (o := _OPEN.match(folded[start:])) else 0)
    rest, rest_folded = text[start:], folded[start:]
    change = _CHANGE.match(rest_folded)
    if change:
        return _letters([change.group(2)], q, 0.9, note=f"changed from {change.group(1).upper()}")
    if _is_question_copy(text, q):
        return Parsed(Outcome.QUESTION)
    lead = _LETTERS.match(rest_folded)
    if lead:
        found = [lead.group(1)] + _CHAIN_LETTER.findall(lead.group(2))
        parsed = _letters(found, q, 1.0)
        trailing = rest[lead.end():]
        if parsed.outcome is Outcome.CHOSEN and len(parsed.letters) == 1 and key(trailing):
            said = match_option(trailing, q)
            if said.outcome is Outcome.CHOSEN and said.letters != parsed.letters:
                return Parsed(Outcome.MISMATCH, parsed.letters, 0.0,
                              note=f"mismatch: chữ cái {parsed.letters} nhưng nội dung là phương án {said.letters}")
        return parsed
    if not rest.strip():
        return Parsed(Outcome.EMPTY)
    return match_option(rest, q) if whole.outcome is not Outcome.CHOSEN else whole
