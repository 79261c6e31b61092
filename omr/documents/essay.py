"""The essay part of a typed entry and the test code it states.

The essay is the text under an essay heading ("PHẦN II. TỰ LUẬN", "Câu hỏi tự luận", "Bài viết") up to a
multiple-choice heading or the end; without a heading, the text after the last answer. The identity block, the
test-code line, page headers and footers and the document's metadata never enter it, and the entrant's name,
phone and e-mail are blanked wherever the essay repeats them: a judge reads it blind."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .lines import Line
from .records import DocFlag

_ESSAY_HEAD = re.compile(r"^[\s\-•*#]*(?:(?:phan|part)\s*(?:[ivx]+|\d+|[a-d])?\s*[:.\-]?\s*|[ivx]+\s*[.\-:]\s*|"
                         r"[a-d]\s*[.\-:)]\s*)?(?:(?:cau\s*hoi\s*|bai\s*(?:thi\s*)?|phan\s*(?:thi\s*)?)?tu\s*luan|"
                         r"(?:bai|phan)\s*(?:thi\s*)?viet|bai\s*luan)(?![a-z])")
_MC_HEAD = re.compile(r"(?<![a-z])trac\s*nghiem(?![a-z])")          # in a heading: a line under 80 characters
_VERSION = re.compile(r"(?<![a-z])ma\s*(?:so\s*)?de(?:\s*thi)?(?:\s*so)?\s*[:.\-]?\s*(\d{1,6})(?!\d)")
REDACTED = "[…]"


def essay_sections(lines: list[Line]) -> frozenset[int]:
    """The lines under an essay heading (the heading included), up to a multiple-choice heading."""
    inside, found = False, set()
    for line in lines:
        if len(line.text) < 400 and _ESSAY_HEAD.match(line.folded):
            inside = True
        elif len(line.text) < 80 and _MC_HEAD.search(line.folded):
            inside = False
        if inside:
            found.add(line.index)
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class VersionResult:
    version: str | None
    flags: tuple[DocFlag, ...]
    lines: frozenset[int]


def find_version(lines: list[Line], *, versions: tuple[str, ...], default: str | None) -> VersionResult:
    """The test code the entry states ("Mã đề: 102"); else the contest's default; else the only version; several
    versions and none stated, two different codes, or a code the contest does not have → a flag."""
    stated: dict[str, Line] = {}
    for line in lines:
        for m in _VERSION.finditer(line.folded):
            stated.setdefault(m.group(1), line)
    used = frozenset(x.index for x in stated.values())
    if len(stated) > 1:
        ev = "; ".join(x.evidence() for x in stated.values())
        return VersionResult(None, (DocFlag("version", None, "version_contradictory",
                                            f"bài ghi nhiều mã đề khác nhau ({', '.join(stated)})", ev),), used)
    if stated:
        (code, line), = stated.items()
        if versions and code not in versions:
            return VersionResult(code, (DocFlag("version", None, "version_unknown",
                                                f"mã đề {code} không có trong đáp án của cuộc thi "
                                                f"({', '.join(versions)})", line.evidence()),), used)
        return VersionResult(code, (), used)
    if default is not None:
        return VersionResult(default, (), used)
    if len(versions) == 1:
        return VersionResult(versions[0], (), used)
    if len(versions) > 1:
        return VersionResult(None, (DocFlag("version", None, "version_missing",
                                            f"bài không ghi mã đề và cuộc thi có {len(versions)} mã đề, không có "
                                            "mã đề mặc định: cần ban tổ chức xác định", ""),), used)
    return VersionResult(None, (), used)


def _scrub(text: str, values: tuple[str, ...]) -> str:
    for value in sorted({v for v in values if len(v) >= 5}, key=len, reverse=True):
        text = re.sub(re.escape(value), REDACTED, text, flags=re.IGNORECASE)
    return text


def essay_text(lines: list[Line], *, sections: frozenset[int], after: int | None, exclude: frozenset[int],
               identity_values: tuple[str, ...]) -> str:
    """The essay's text, redacted. ``after``: the last line of the answers (used when there is no heading)."""
    if sections:
        chosen = [x for x in lines if x.index in sections]
    else:
        chosen = [x for x in lines if after is None or x.index > after]
    text = "\n".join(x.text for x in chosen if x.index not in exclude)
    return _scrub(text, identity_values).strip()
