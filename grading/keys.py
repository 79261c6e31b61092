"""Answer keys as data: one key per test version (mã đề), validated against the sheet layout.

File format (``answer_keys/<contest>/keys.json``)::

    {
      "contest": "demo",                  # optional; must equal the layout's contest when given
      "layout": "demo-a4-100",            # optional; must equal the layout's id when given
      "points": 1,                        # default points per question (int, "1/3", "0.25", 0.25)
      "penalty": 0,                       # default points taken off for a WRONG (or MULTIPLE) answer
      "sections": [                       # optional; subtotals. Questions: "1-40", "45", 46, or a list
        {"name": "Phần I", "questions": "1-40", "points": "1/4"},
        {"name": "Phần II", "questions": ["41-99", 100], "penalty": "1/3"}
      ],
      "versions": {
        "101": {
          "answers": "ABCD ABCD ...",     # compact form: one option letter per question in layout order;
                                          # spaces are ignored (only for single-letter option labels)
          "questions": {                  # per question: the accepted answer, or an object that overrides
            "7": ["A", "C"],              #   alternatives: marking A alone OR C alone is correct
            "8": "AC",                    #   all-of: exactly A and C must both be marked
            "9": {"accept": "B", "points": "1/3", "penalty": "1/3"},
            "10": {"cancelled": "award"}, #   cancelled: "award" (everyone gets the points) or "drop"
                                          #   (removed from the total and the maximum)
            "q11": {"accept": ["A", "C"], "weights": [3, "-2"],   # weighted answers: each accepted
                    "incorrect": -1, "unmarked": "1/2"}            #   alternative its own points; signed
          }                               #   points for a wrong answer and for a blank one
        }
        }
      }
    }

Points come from the question, else its section, else the file's default (1). Penalties likewise (0).
``incorrect`` (signed: "-1" takes a point off, "1" gives one, as in a bonus section) is another way to write
a question's penalty (not both); ``unmarked`` (signed, default 0) is what a blank answer scores. Question ids
are the layout's: numbers on our own sheets, any label (``q7``) on sheets imported from other readers; in
``sections`` such a label is listed as it is.
Every question of the layout needs an accepted answer in every version, unless it is cancelled.
Keys starting with ``_`` (and ``title``, ``note``, ``comment``) are free-form comments. Groups scored by the
number of their questions right (``groups``, ``group_points_by_count``) and numeric answers (``"III.2":
"-1,5"``) are described in ``grading.keyparts``.

``load_keys`` / ``keys_from_dict`` report *every* problem at once, each with the path of the bad field
(``versions.101.questions.9.points: ...``), as one ``LayoutError``. Marks are ``Fraction`` throughout.
"""
from __future__ import annotations

import copy
import enum
import hashlib
import json
import math
import re
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from omr.errors import LayoutError
from omr.layout import GroupKind, Layout, read_json_document

from .keyparts import ScoreGroup, parse_groups, parse_numbers

COMMENT_KEYS = frozenset({"title", "note", "comment"})
_TOP_KEYS = frozenset({"contest", "layout", "points", "penalty", "sections", "versions", "groups",
                       "group_points_by_count"})
_SECTION_KEYS = frozenset({"name", "questions", "points", "penalty"})
_VERSION_KEYS = frozenset({"answers", "questions"})
_ITEM_KEYS = frozenset({"accept", "points", "penalty", "cancelled", "incorrect", "unmarked", "weights"})
MAX_POINTS = Fraction(1000)
_EXPONENT = re.compile(r"[eE][-+]?([\d_]+)")


class Cancelled(enum.Enum):
    AWARD = "award"   # everyone gets the question's points (it stays in the maximum)
    DROP = "drop"     # the question is removed: 0 points, and not in the maximum


@dataclass(frozen=True, slots=True)
class KeyItem:
    question: str                            # question id as in the layout ("17")
    options: tuple[str, ...]                 # the layout's option labels for this question
    accept: tuple[frozenset[str], ...]       # alternatives; each is the exact set of marks that is correct
    points: Fraction
    penalty: Fraction = Fraction(0)          # taken off for WRONG / MULTIPLE (stored positive)
    cancelled: Cancelled | None = None
    section: str | None = None
    unmarked: Fraction = Fraction(0)         # what a blank answer scores (signed)
    weights: tuple[Fraction, ...] | None = None   # per accepted alternative: its own points (signed)
    numbers: tuple[str, ...] = ()            # a numeric answer: the accepted numbers ("-1,5"); no options

    @property
    def max_points(self) -> Fraction:
        """The most this question can give (its points, or its best weighted alternative)."""
        return max(self.weights) if self.weights else self.points

    def points_for(self, alternative: frozenset[str]) -> Fraction:
        """The points of one accepted alternative."""
        return self.weights[self.accept.index(alternative)] if self.weights else self.points

    @property
    def single_answer(self) -> bool:
        """True when every accepted alternative is one mark (so two marks can never be right)."""
        return all(len(a) == 1 for a in self.accept)

    def accept_text(self) -> list[str]:
        """Alternatives as strings in option order: ``["A", "C"]`` or ``["AC"]``."""
        return [_labels_text(a, self.options) for a in self.accept]


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    questions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AnswerKey:
    version: str
    items: tuple[KeyItem, ...]               # in layout order

    def item(self, question: str) -> KeyItem | None:
        for it in self.items:
            if it.question == question:
                return it
        return None


@dataclass(frozen=True, slots=True)
class KeySet:
    """All versions' keys for one contest and layout."""

    contest: str
    layout: str
    version_digits: int                      # the layout's version digit count (0: no version field)
    sections: tuple[Section, ...]
    keys: tuple[AnswerKey, ...]
    groups: tuple[ScoreGroup, ...] = ()      # questions scored together by the number right

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(k.version for k in self.keys)

    def get(self, version: str | None) -> AnswerKey | None:
        """The key for ``version``, or ``None``. Never a default version — except that a layout without a
        version field has exactly one key, which is then the key of every sheet."""
        if version is None:
            if self.version_digits == 0 and len(self.keys) == 1:
                return self.keys[0]
            return None
        for k in self.keys:
            if k.version == version:
                return k
        return None

    def cancel(self, version: str, question: str, rule: Cancelled | None) -> KeySet:
        """A copy with one question cancelled (or un-cancelled with ``rule=None``)."""
        key = self.get(version)
        if key is None or key.item(question) is None:
            raise LayoutError(f"cannot cancel question {question!r} of version {version!r}: no such key entry",
                              details=[f"versions: {', '.join(self.versions)}"])
        item = key.item(question)
        if rule is None and not (item.accept or item.numbers):  # type: ignore[union-attr]
            raise LayoutError(f"question {question} of version {version} has no accepted answer; it must stay "
                              "cancelled")
        items = tuple(replace(it, cancelled=rule) if it.question == question else it for it in key.items)
        return replace(self, keys=tuple(replace(k, items=items) if k.version == version else k
                                        for k in self.keys))

    # -- serialisation (the store keeps the exact keys that produced each score) ----------------------
    def to_json(self) -> dict[str, Any]:
        """The canonical document (computed once per KeySet object: the store asks for it per submission)."""
        return copy.deepcopy(_derived(self)[0])

    def _to_json(self) -> dict[str, Any]:
        doc = {
            "contest": self.contest, "layout": self.layout, "version_digits": self.version_digits,
            "sections": [{"name": s.name, "questions": list(s.questions)} for s in self.sections],
            "versions": {k.version: [_item_json(it) for it in k.items] for k in self.keys},
        }
        if self.groups:         # only when set: the canonical form (and digest) of other keys stays as it was
            doc["groups"] = [g.to_json() for g in self.groups]
        return doc

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> KeySet:
        """Inverse of ``to_json`` (a document this code wrote; use ``keys_from_dict`` for user files)."""
        keys = []
        for version, items in d["versions"].items():
            keys.append(AnswerKey(version, tuple(KeyItem(
                question=it["question"], options=tuple(it["options"]),
                accept=tuple(split_labels(a, tuple(it["options"])) for a in it["accept"]),
                points=Fraction(it["points"]), penalty=Fraction(it["penalty"]),
                cancelled=Cancelled(it["cancelled"]) if it["cancelled"] else None, section=it["section"],
                unmarked=Fraction(it.get("unmarked", "0")),
                weights=tuple(Fraction(w) for w in it["weights"]) if it.get("weights") else None,
                numbers=tuple(it.get("numbers", ())),
            ) for it in items)))
        return cls(contest=d["contest"], layout=d["layout"], version_digits=int(d["version_digits"]),
                   sections=tuple(Section(s["name"], tuple(s["questions"])) for s in d["sections"]),
                   keys=tuple(keys), groups=tuple(ScoreGroup.from_json(g) for g in d.get("groups", ())))

    @property
    def digest(self) -> str:
        """sha256 of the canonical JSON: which keys produced a score."""
        return _derived(self)[1]


# KeySets are immutable; their JSON and digest are derived once per object (cached by identity, the object
# kept alive by the cache entry so an id is never reused while it is cached).
_DERIVED: dict[int, tuple[KeySet, dict[str, Any], str]] = {}


def _derived(ks: KeySet) -> tuple[dict[str, Any], str]:
    hit = _DERIVED.get(id(ks))
    if hit is None or hit[0] is not ks:
        if len(_DERIVED) > 64:
            _DERIVED.clear()
        doc = ks._to_json()
        text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        hit = _DERIVED[id(ks)] = (ks, doc, hashlib.sha256(text.encode("utf-8")).hexdigest())
    return hit[1], hit[2]


def _item_json(it: KeyItem) -> dict[str, Any]:
    d: dict[str, Any] = {
        "question": it.question, "options": list(it.options), "accept": it.accept_text(),
        "points": str(it.points), "penalty": str(it.penalty),
        "cancelled": it.cancelled.value if it.cancelled else None, "section": it.section,
    }
    # only when set, so that the canonical form (and digest) of keys without them stays what it was
    if it.unmarked:
        d["unmarked"] = str(it.unmarked)
    if it.weights:
        d["weights"] = [str(w) for w in it.weights]
    if it.numbers:
        d["numbers"] = list(it.numbers)
    return d


def _labels_text(labels: frozenset[str], options: tuple[str, ...]) -> str:
    return "".join(o for o in options if o in labels)


def split_labels(text: str, options: tuple[str, ...]) -> frozenset[str] | None:
    """``"AC"`` → {"A", "C"} using the question's labels (longest label first); ``None`` if it does not parse."""
    if text in options:
        return frozenset((text,))
    out: set[str] = set()
    by_length = sorted(options, key=len, reverse=True)
    i = 0
    while i < len(text):
        for lab in by_length:
            if text.startswith(lab, i):
                out.add(lab)
                i += len(lab)
                break
        else:
            return None
    return frozenset(out)


# ---------------------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------------------
def parse_fraction(value: Any) -> Fraction:
    """``1``, ``0.25``, ``"1/3"``, ``"0.25"`` → Fraction. Raises ValueError for anything else, NaN, inf."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number or a fraction like \"1/3\", got {value!r}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"must be finite, got {value!r}")
        return Fraction(str(value))   # 0.1 → 1/10, not the binary approximation
    if isinstance(value, str):
        exponent = _EXPONENT.search(value)
        if exponent and len(exponent.group(1)) > 3:     # "1e999999999": Fraction would compute for minutes
            raise ValueError(f"{value!r} is not a number or a fraction like \"1/3\"")
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{value!r} is not a number or a fraction like \"1/3\"") from None
    raise ValueError(f"must be a number or a fraction like \"1/3\", got {type(value).__name__}")


def _ranges(ids: list[str]) -> str:
    """["1","2","3","7"] → "1-3, 7" (ids are numeric strings in the layouts we print; others are listed)."""
    if not all(i.isdecimal() and len(i) <= 9 for i in ids):
        return ", ".join(ids[:20]) + (f" … ({len(ids)} in all)" if len(ids) > 20 else "")
    return _spans_text(_spans(sorted(int(i) for i in ids)))


def _spans(nums: list[int]) -> list[tuple[int, int]]:
    """Sorted numbers → runs of consecutive ones, as (first, last)."""
    out: list[tuple[int, int]] = []
    start = prev = nums[0]
    for n in nums[1:] + [None]:  # type: ignore[list-item]
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append((start, prev))
        if n is not None:
            start = prev = n
    return out


def _spans_text(spans: list[tuple[int, int]]) -> str:
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _gaps(lo: int, hi: int, inside: list[int]) -> list[tuple[int, int]]:
    """The runs of ``lo..hi`` not in ``inside`` (sorted, distinct, within ``lo..hi``), without counting through
    the range: a range like "1-999999999" costs no more than "1-40"."""
    out: list[tuple[int, int]] = []
    nxt = lo
    for n in inside:
        if n > nxt:
            out.append((nxt, n - 1))
        nxt = n + 1
    if nxt <= hi:
        out.append((nxt, hi))
    return out


def _question_number(text: str) -> int | None:
    """ "17" → 17; ``None`` unless it is decimal digits, at most 9 of them (no question number is longer)."""
    text = text.strip()
    return int(text) if text.isdecimal() and len(text) <= 9 else None


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}")

    def fraction(self, obj: dict, key: str, path: str, default: Fraction) -> Fraction:
        if key not in obj:
            return default
        full = f"{path}.{key}" if path else key
        try:
            v = parse_fraction(obj[key])
        except ValueError as exc:
            self.add(full, str(exc))
            return default
        if v < 0:
            self.add(full, f"{obj[key]!r} is negative; penalties are written as positive amounts")
            return default
        if v > MAX_POINTS:
            self.add(full, f"{obj[key]!r} is more than {MAX_POINTS}")
            return default
        return v

    def signed(self, obj: dict, key: str, path: str) -> Fraction:
        """A number of points that may be negative (``"-1"``, ``"3/2"``, 0.25); 0 when absent."""
        if key not in obj:
            return Fraction(0)
        try:
            v = parse_fraction(obj[key])
        except ValueError as exc:
            self.add(f"{path}.{key}", str(exc))
            return Fraction(0)
        if abs(v) > MAX_POINTS:
            self.add(f"{path}.{key}", f"{obj[key]!r} is more than {MAX_POINTS} in size")
            return Fraction(0)
        return v

    def unknown(self, obj: dict, allowed: frozenset[str], path: str) -> None:
        for k in obj:
            if k not in allowed and k not in COMMENT_KEYS and not str(k).startswith("_"):
                self.add(f"{path}.{k}" if path else str(k),
                         f"unknown field; expected one of {', '.join(sorted(allowed))}")


def _question_spec(p: _Problems, spec: Any, path: str, known: dict[str, int]) -> list[str]:
    """ "1-40" / "45" / 46 / a list of those → question ids, each checked against the layout."""
    parts = spec if isinstance(spec, list) else [spec]
    if not parts:
        p.add(path, "an empty list; give question numbers like \"1-40\"")
    out: list[str] = []
    for j, part in enumerate(parts):
        where = f"{path}[{j}]" if isinstance(spec, list) else path
        if isinstance(part, str) and part in known and not part.isdecimal():
            out.append(part)                       # a label of an imported layout ("q7")
            continue
        if isinstance(part, int) and not isinstance(part, bool):
            lo = hi = part
        elif isinstance(part, str) and part.strip():
            a, sep, b = part.partition("-")
            first, last = _question_number(a), _question_number(b) if sep else _question_number(a)
            if first is None or last is None:
                p.add(where, f"{part!r} is not a question number or a range like \"1-40\"")
                continue
            lo, hi = first, last
        else:
            p.add(where, f"{part!r} is not a question number or a range like \"1-40\"")
            continue
        if hi < lo:
            p.add(where, f"the range {part!r} runs backwards")
            continue
        inside = sorted(int(q) for q in known if q.isdecimal() and str(int(q)) == q and lo <= int(q) <= hi)
        bad = _gaps(lo, hi, inside)
        if bad:
            p.add(where, f"question(s) {_spans_text(bad)} are not on the layout (it has {_ranges(list(known))})")
        out.extend(map(str, inside))
    return out


def _accept(p: _Problems, raw: Any, path: str, options: tuple[str, ...]) -> tuple[frozenset[str], ...] | None:
    """A string (one option, or several letters that must all be marked) or a list of alternatives."""
    alts = raw if isinstance(raw, list) else [raw]
    if isinstance(raw, list) and not raw:
        p.add(path, "an empty list; give at least one accepted answer")
        return None
    out: list[frozenset[str]] = []
    ok = True
    for j, a in enumerate(alts):
        where = f"{path}[{j}]" if isinstance(raw, list) else path
        if not isinstance(a, str) or not a.strip():
            p.add(where, f"must be an option label such as {options[0]!r}, got {a!r}")
            ok = False
            continue
        labels = split_labels(a.strip(), options)
        if labels is None:
            p.add(where, f"{a!r} is not one of the options {', '.join(options)} (or several of them, like "
                         f"{options[0] + options[1]!r})")
            ok = False
            continue
        if labels in out:
            p.add(where, f"{a!r} is listed twice")
            ok = False
            continue
        out.append(labels)
    return tuple(out) if ok else None


@dataclass(frozen=True, slots=True)
class _Defaults:
    """Where a question's points and penalty come from when it gives none: its section, else the file."""

    points: Fraction
    penalty: Fraction
    section_of: dict[str, str]                              # question id → section name
    by_section: dict[str, tuple[Fraction, Fraction]]        # section name → (points, penalty)

    def of(self, question: str) -> tuple[str | None, Fraction, Fraction]:
        """(section or ``None``, default points, default penalty) of one question."""
        sec = self.section_of.get(question)
        points, penalty = self.by_section[sec] if sec is not None else (self.points, self.penalty)
        return sec, points, penalty


def keys_from_dict(raw: Any, layout: Layout, *, source: str = "<keys>") -> KeySet:
    """Validate a parsed keys document against ``layout``. Raises ``LayoutError`` listing every problem."""
    if not isinstance(raw, dict):
        raise LayoutError(f"{source}: an answer-key file is a JSON object", details=[f"got {type(raw).__name__}"])
    p = _Problems()
    p.unknown(raw, _TOP_KEYS, "")
    for field, expected in (("contest", layout.contest), ("layout", layout.id)):
        if field in raw and raw[field] != expected:
            p.add(field, f"{raw[field]!r} does not match the layout's {field} {expected!r}")
    order = {q: i for i, q in enumerate(layout.question_ids + layout.numeric_ids)}
    base_points = p.fraction(raw, "points", "", Fraction(1))
    base_penalty = p.fraction(raw, "penalty", "", Fraction(0))
    sections, defaults = _sections(p, raw.get("sections", []), order, base_points, base_penalty)
    digits = len(layout.digit_groups(GroupKind.VERSION))
    groups = parse_groups(p, raw, order)
    in_group = {q for g in groups for q in g.questions}
    keys = [replace(k, items=tuple(replace(it, points=Fraction(0), penalty=Fraction(0)) if it.question in in_group
                                   else it for it in k.items))
            for k in _versions(p, raw.get("versions"), layout, digits, defaults)]
    if p.items:
        raise LayoutError(f"{source}: the answer key has {len(p.items)} problem(s); fix them and try again",
                          details=p.items)
    return KeySet(contest=layout.contest, layout=layout.id, version_digits=digits, sections=tuple(sections),
                  keys=tuple(sorted(keys, key=lambda k: k.version)), groups=groups)


def _sections(p: _Problems, raw_sections: Any, order: dict[str, int], base_points: Fraction,
              base_penalty: Fraction) -> tuple[list[Section], _Defaults]:
    """``sections``: each question in at most one section; the sections' default points and penalties."""
    sections: list[Section] = []
    defaults = _Defaults(base_points, base_penalty, {}, {})
    if not isinstance(raw_sections, list):
        p.add("sections", "must be a list of {\"name\": ..., \"questions\": \"1-40\"}")
        raw_sections = []
    for i, s in enumerate(raw_sections):
        if not isinstance(s, dict):
            p.add(f"sections[{i}]", "must be an object with name and questions")
            continue
        sections.append(_section(p, s, i, order, defaults))
    return sections, defaults


def _section(p: _Problems, s: dict, i: int, order: dict[str, int], defaults: _Defaults) -> Section:
    """One section; records its questions and points in ``defaults`` (a question already in an earlier
    section stays there)."""
    path = f"sections[{i}]"
    p.unknown(s, _SECTION_KEYS, path)
    name = s.get("name")
    if not isinstance(name, str) or not name.strip():
        p.add(f"{path}.name", f"must be a non-empty string, got {name!r}")
        name = f"#{i + 1}"
    elif name in defaults.by_section:
        p.add(f"{path}.name", f"section {name!r} is defined twice")
    if "questions" not in s:
        p.add(f"{path}.questions", "missing")
        qs: list[str] = []
    else:
        qs = _question_spec(p, s["questions"], f"{path}.questions", order)
    section_of = defaults.section_of
    clash = sorted({q for q in qs if q in section_of}, key=order.__getitem__)
    if clash:
        others = sorted({section_of[q] for q in clash})
        p.add(f"{path}.questions", f"question(s) {_ranges(clash)} are already in section(s) "
                                   f"{', '.join(map(repr, others))}")
    seen_here: list[str] = []
    for q in qs:
        if q not in section_of:
            section_of[q] = name
            seen_here.append(q)
    defaults.by_section[name] = (p.fraction(s, "points", path, defaults.points),
                                 p.fraction(s, "penalty", path, defaults.penalty))
    return Section(name, tuple(sorted(seen_here, key=order.__getitem__)))


def _versions(p: _Problems, versions: Any, layout: Layout, digits: int, defaults: _Defaults) -> list[AnswerKey]:
    """``versions``: one key per test version, named as the layout's version field can be marked."""
    if not isinstance(versions, dict) or not versions:
        p.add("versions", "missing or empty; give one key per test version, e.g. {\"101\": {\"answers\": ...}}")
        versions = {}
    if digits == 0 and len(versions) > 1:
        p.add("versions", f"the layout has no version field, so there can be only one key; got "
                          f"{len(versions)} ({', '.join(versions)})")
    keys: list[AnswerKey] = []
    for version, vraw in versions.items():
        vpath = f"versions.{version}"
        if digits and not (len(version) == digits and version.isascii() and version.isdigit()):
            p.add(vpath, f"version {version!r} must be {digits} digits (the layout's version field has "
                         f"{digits} digit columns)")
        if not isinstance(vraw, dict):
            p.add(vpath, "must be an object with \"answers\" and/or \"questions\"")
            continue
        p.unknown(vraw, _VERSION_KEYS, vpath)
        accepts: dict[str, tuple[frozenset[str], ...] | None] = {}
        overrides: dict[str, dict[str, Any]] = {}
        _compact_answers(p, vraw.get("answers"), vpath, layout, accepts)
        _question_entries(p, vraw.get("questions", {}), vpath, layout, accepts, overrides)
        keys.append(AnswerKey(version, _key_items(p, vpath, layout, accepts, overrides, defaults)))
    return keys


def _compact_answers(p: _Problems, compact: Any, vpath: str, layout: Layout,
                     accepts: dict[str, tuple[frozenset[str], ...] | None]) -> None:
    """``answers``: one option letter per question in layout order (spaces ignored), into ``accepts``."""
    if compact is None:
        return
    if not isinstance(compact, str):
        p.add(f"{vpath}.answers", "must be a string of option letters, one per question")
        return
    groups = layout.question_groups
    letters = "".join(compact.split())
    if len(letters) != len(groups):
        p.add(f"{vpath}.answers", f"{len(letters)} letters for {len(groups)} questions")
    for g, ch in zip(groups, letters):
        if ch in g.labels:
            accepts[g.key] = (frozenset(ch),)
        else:
            p.add(f"{vpath}.answers", f"question {g.key}: {ch!r} is not one of {', '.join(g.labels)}")
            accepts[g.key] = None


def _question_entries(p: _Problems, qraw: Any, vpath: str, layout: Layout,
                      accepts: dict[str, tuple[frozenset[str], ...] | None],
                      overrides: dict[str, dict[str, Any]]) -> None:
    """``questions``: per question an accepted answer, or an object overriding accept/points/penalty/cancelled;
    answers go into ``accepts`` (over the compact ones), objects into ``overrides``."""
    options_of = {g.key: g.labels for g in layout.question_groups}
    options_of.update({q: () for q in layout.numeric_ids})
    if not isinstance(qraw, dict):
        p.add(f"{vpath}.questions", "must be an object {\"<question>\": <answer or {accept, points, ...}>}")
        qraw = {}
    for q, entry in qraw.items():
        qpath = f"{vpath}.questions.{q}"
        if q not in options_of:
            p.add(qpath, f"question {q!r} is not on the layout (it has {_ranges(list(options_of))})")
            continue
        if not options_of[q]:                      # a numeric answer: checked in _key_items
            overrides[q] = entry if isinstance(entry, dict) else {"accept": entry}
            p.unknown(overrides[q], _ITEM_KEYS, qpath)
            if "accept" in overrides[q]:
                accepts[q] = ()
        elif isinstance(entry, dict):
            p.unknown(entry, _ITEM_KEYS, qpath)
            overrides[q] = entry
            if "accept" in entry:
                accepts[q] = _accept(p, entry["accept"], f"{qpath}.accept", options_of[q])
        else:
            accepts[q] = _accept(p, entry, qpath, options_of[q])


def _key_items(p: _Problems, vpath: str, layout: Layout, accepts: dict[str, tuple[frozenset[str], ...] | None],
               overrides: dict[str, dict[str, Any]], defaults: _Defaults) -> tuple[KeyItem, ...]:
    """Every question of the layout, in layout order; each needs an accepted answer unless it is cancelled."""
    items: list[KeyItem] = []
    missing: list[str] = []
    answers = [(g.key, g.labels) for g in layout.question_groups] + [(q, ()) for q in layout.numeric_ids]
    for q, labels in answers:
        ov = overrides.get(q, {})
        qpath = f"{vpath}.questions.{q}"
        cancelled = _cancelled(p, ov, qpath)
        sec, dpoints, dpenalty = defaults.of(q)
        points = p.fraction(ov, "points", qpath, dpoints)
        penalty = p.fraction(ov, "penalty", qpath, dpenalty)
        if "incorrect" in ov:
            if "penalty" in ov:
                p.add(f"{qpath}.incorrect", "give either penalty or incorrect, not both")
            penalty = -p.signed(ov, "incorrect", qpath)
        unmarked = p.signed(ov, "unmarked", qpath)
        acc = accepts.get(q, ())
        if q not in accepts and cancelled is None:
            missing.append(q)
        weights = _weights(p, ov, qpath, acc or ())
        numbers = parse_numbers(p, ov["accept"], f"{qpath}.accept") if not labels and "accept" in ov else ()
        items.append(KeyItem(question=q, options=labels, accept=acc or (), points=points, penalty=penalty,
                             cancelled=cancelled, section=sec, unmarked=unmarked, weights=weights, numbers=numbers))
    if missing:
        p.add(vpath, f"no accepted answer for question(s) {_ranges(missing)}; give them in \"answers\" or "
                     "\"questions\" (or cancel them)")
    return tuple(items)


def _weights(p: _Problems, ov: dict[str, Any], qpath: str,
             accept: tuple[frozenset[str], ...]) -> tuple[Fraction, ...] | None:
    """``weights``: one signed number of points per accepted alternative, in the order of ``accept``."""
    raw = ov.get("weights")
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != len(accept):
        p.add(f"{qpath}.weights", f"must be a list of {len(accept)} points, one per accepted alternative")
        return None
    return tuple(p.signed({"w": w}, "w", f"{qpath}.weights[{i}]") for i, w in enumerate(raw))


def _cancelled(p: _Problems, override: dict[str, Any], qpath: str) -> Cancelled | None:
    if "cancelled" not in override:
        return None
    c = override["cancelled"]
    try:
        return Cancelled(c) if c is not None else None
    except ValueError:
        p.add(f"{qpath}.cancelled", f"{c!r} is not \"award\" or \"drop\"")
        return None


def load_keys(path: str | Path, layout: Layout) -> KeySet:
    """Read and validate ``keys.json`` (or a contest folder holding one) against ``layout``."""
    raw, path = read_json_document(path, file_name="keys.json", what="answer-key file",
                                   hint="put the answer keys in keys.json in the contest folder (--contest DIR)")
    return keys_from_dict(raw, layout, source=str(path))
