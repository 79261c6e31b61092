"""A document's body as lines: each paragraph line, and each table row with its cells; every line in plain
form (``fold.plain``) and folded form (same length), with where it is in the document."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .fold import fold, plain
from .records import Document, Format, Paragraph


@dataclass(frozen=True, slots=True)
class Line:
    index: int
    text: str                         # plain form (full-width letters, dashes and arrows normalised)
    folded: str                       # lower case, no diacritics; same length as ``text``
    where: str
    cells: tuple[str, ...] | None = None     # a table row's cells (plain form)
    table: int | None = None                 # the table's index among the document's tables
    row: int | None = None
    raw: str = ""                            # as written (what evidence shows)
    printed: bool = False                    # a PDF's printed line (its spacing kept in ``raw``)
    emphasis: frozenset[str] = frozenset()   # formatting on all its words (a DOCX/ODT paragraph, a PDF line)
    spans: tuple[tuple[float, str], ...] = ()  # a PDF line's pieces of text where the page prints them
    gap_before: bool = False                 # a PDF's printed line with an empty line above it (a new paragraph)

    def evidence(self, text: str | None = None, where: str | None = None) -> str:
        shown = " ".join((text if text is not None else self.raw or self.text).split())
        if len(shown) > 160:
            shown = shown[:157] + "…"
        return f"{where or self.where}: \u201c{shown}\u201d"


_COLUMN_GAP = re.compile(r"\s{2,}")
_LAID_OUT = -1            # the table number of a PDF's printed rows


def _laid_out(text: str, where: str, index: int, table: int | None, block: Paragraph, gap: bool) -> Line:
    """A printed line of a PDF: columns two or more spaces apart are cells, the spacing kept in ``raw``."""
    raw = block.text
    cells = tuple(plain(c) for c in _COLUMN_GAP.split(raw.strip()))
    if len(cells) < 2:
        return Line(index, text, fold(text), where, raw=raw, printed=True, emphasis=block.emphasis,
                    spans=block.spans, gap_before=gap)
    return Line(index, " | ".join(cells), fold(" | ".join(cells)), where, cells, table, None, raw, True,
                spans=block.spans, gap_before=gap)


def document_lines(doc: Document) -> list[Line]:
    lines: list[Line] = []
    n_table = 0
    gap = False
    for block in doc.blocks:
        if isinstance(block, Paragraph):
            text = plain(block.text).strip()
            if not text:
                gap = True
                continue
            if doc.format is Format.PDF:        # its printed rows read as one table, page breaks and all
                lines.append(_laid_out(" ".join(text.split()), block.where, len(lines), _LAID_OUT, block, gap))
                gap = False
            else:
                lines.append(Line(len(lines), text, fold(text), block.where, raw=block.text.strip(),
                                  emphasis=block.emphasis))
            continue
        for r, row in enumerate(block.rows):
            cells = tuple(plain(c).strip() for c in row)
            if not any(cells):
                continue
            text = " | ".join(c.replace("\n", " ") for c in cells)
            raw = " | ".join(" ".join(c.split()) for c in row)
            lines.append(Line(len(lines), text, fold(text), f"{block.where}, hàng {r + 1}", cells, n_table, r, raw))
        n_table += 1
    return lines
