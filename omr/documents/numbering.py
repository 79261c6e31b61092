"""Word's automatic numbering, rendered as the reader sees it: a paragraph of a numbered list ("Câu %1:",
"%1.", "%1)" in numbering.xml, or a list style) gets its label in front of its text ("Câu 3: B", "B. Bộ Công
an"), counted in document order per list. Bullets and unknown formats give no label."""
from __future__ import annotations

import re

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_PLACE = re.compile(r"%([1-9])")
_ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
          (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))


def _val(el, tag: str) -> str | None:
    child = el.find(_W + tag) if el is not None else None
    return child.get(_W + "val") if child is not None else None


def _roman(n: int) -> str:
    out = []
    for value, letters in _ROMAN:
        while n >= value:
            out.append(letters)
            n -= value
    return "".join(out)


def _format(n: int, fmt: str) -> str | None:
    if fmt in ("decimal", "decimalZero"):
        return f"{n:02d}" if fmt == "decimalZero" else str(n)
    if fmt in ("upperLetter", "lowerLetter"):
        letter = chr(ord("A") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return letter if fmt == "upperLetter" else letter.lower()
    if fmt in ("upperRoman", "lowerRoman"):
        return _roman(n).upper() if fmt == "upperRoman" else _roman(n)
    return None


class Numbering:
    """The labels of one document's numbered paragraphs; ``label(p)`` must be called in document order."""

    def __init__(self, document) -> None:
        self.levels: dict[tuple[str, int], tuple[str, str, int]] = {}
        self.abstract: dict[str, str] = {}
        self.styles: dict[str, tuple[str, int]] = {}
        self.counts: dict[str, list[int | None]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        for a in root.iter(_W + "abstractNum"):
            aid = a.get(_W + "abstractNumId")
            for lvl in a.iter(_W + "lvl"):
                ilvl = int(lvl.get(_W + "ilvl") or 0)
                self.levels[(aid, ilvl)] = (_val(lvl, "numFmt") or "decimal", _val(lvl, "lvlText") or "",
                                            int(_val(lvl, "start") or 1))
        for num in root.iter(_W + "num"):
            self.abstract[num.get(_W + "numId")] = _val(num, "abstractNumId") or ""
        for style in document.styles.element.iter(_W + "style"):
            numpr = style.find(f"{_W}pPr/{_W}numPr")
            if numpr is not None and _val(numpr, "numId"):
                self.styles[style.get(_W + "styleId")] = (_val(numpr, "numId"), int(_val(numpr, "ilvl") or 0))

    def _num(self, p) -> tuple[str, int] | None:
        ppr = p.find(_W + "pPr")
        numpr = ppr.find(_W + "numPr") if ppr is not None else None
        if numpr is not None and _val(numpr, "numId") is not None:
            return _val(numpr, "numId"), int(_val(numpr, "ilvl") or 0)
        style = _val(ppr, "pStyle") if ppr is not None else None
        return self.styles.get(style) if style else None

    def label(self, p) -> str:
        """The paragraph's list label and a space ("Câu 3: "), or ""."""
        found = self._num(p) if self.abstract else None
        if found is None or found[0] == "0" or found[0] not in self.abstract:
            return ""
        num_id, ilvl = found
        aid = self.abstract[num_id]
        if (aid, ilvl) not in self.levels:
            return ""
        counts = self.counts.setdefault(aid, [None] * 9)
        start = self.levels[(aid, ilvl)][2]
        counts[ilvl] = start if counts[ilvl] is None else counts[ilvl] + 1
        for deeper in range(ilvl + 1, 9):
            counts[deeper] = None
        fmt, text, _ = self.levels[(aid, ilvl)]
        if _format(1, fmt) is None:
            return ""

        def place(m: re.Match) -> str:
            level = int(m.group(1)) - 1
            lfmt, _, lstart = self.levels.get((aid, level), (fmt, "", 1))
            return _format(counts[level] if counts[level] is not None else lstart, lfmt) or ""

        label = _PLACE.sub(place, text).strip()
        return f"{label} " if label else ""
