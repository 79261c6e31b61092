"""A document's body as lines: each paragraph line, and each table row with its cells; every line in plain
form (``fold.plain``) and folded form (same length), with where it is in the document."""
from __future__ import annotations

from dataclasses import dataclass

from .fold import fold, plain
from .records import Document, Paragraph


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

    def evidence(self, text: str | None = None, where: str | None = None) -> str:
        shown = " ".join((text if text is not None else self.raw or self.text).split())
        if len(shown) > 160:
            shown = shown[:157] + "…"
        return f"{where or self.where}: \u201c{shown}\u201d"


def document_lines(doc: Document) -> list[Line]:
    lines: list[Line] = []
    n_table = 0
    for block in doc.blocks:
        if isinstance(block, Paragraph):
            text = plain(block.text).strip()
            if text:
                lines.append(Line(len(lines), text, fold(text), block.where, raw=block.text.strip()))
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
