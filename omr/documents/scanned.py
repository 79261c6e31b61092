"""Scans and photos of typed pages → blocks, through the OCR (``omr.ocr.ocr_page``: the sheet found in a photo,
straightened, its ruling erased, read by Tesseract as one column of lines): an image file's pages (JPEG, PNG, TIFF
with one or more pages) and a PDF's pages without a text layer. The words are put back into text lines and tables
by where they stand (``omr.ocr.cells``), so that a scanned table "Câu | Đáp án" reaches the answer extractor as
a DOCX table does. Each block says it came from the OCR ("trang 2 (OCR), dòng 5", "trang 1 (OCR), bảng 1"); each
page keeps the OCR's reliability, which caps what is read from it, and the short tokens the OCR was unsure of
(``omr.documents.entry`` flags an answer read from one)."""
from __future__ import annotations

import os

from ..load import LoadOptions
from ..load.pages import plan_pages
from ..load.records import PageRef
from ..ocr import OcrOptions, ocr_page
from ..ocr.cells import CellTable, page_rows
from ..ocr.records import OcrResult
from ..records import SheetFailure
from .records import Block, Document, DocumentOptions, DocumentRejected, Format, OcrPage, Paragraph, Table

# a typed entry's page: its tables' ruling erased, read as one column of lines (``omr.ocr``)
ENTRY_OCR = OcrOptions(tables=True)


def ocr_where(page: int) -> str:
    return f"trang {page} (OCR)"


def _blocks(page: int, res: OcrResult, doubts: list[tuple[str, str]]) -> list[Block]:
    """The page's text lines and tables; ``doubts`` gets (where, token) for each token read without confidence.
    A reading without word boxes (a text layer) is taken line by line."""
    if not res.placed:
        return [Paragraph(x.strip(), f"{ocr_where(page)}, dòng {i + 1}")
                for i, x in enumerate(y for y in res.lines if y.strip())]
    out: list[Block] = []
    n_line = n_table = 0
    for item in page_rows(res.placed, res.rules):
        if isinstance(item, CellTable):
            n_table += 1
            where = f"{ocr_where(page)}, bảng {n_table}"
            out.append(Table(item.rows, where))
            doubts += [(f"{where}, hàng {r + 1}, ô {c + 1}", token) for r, c, token in item.doubtful]
        else:
            n_line += 1
            where = f"{ocr_where(page)}, dòng {n_line}"
            out.append(Paragraph(item.text, where))
            doubts += [(where, token) for token in item.doubtful]
    return out


def ocr_refs(refs: list[PageRef], options: DocumentOptions
             ) -> tuple[dict[int, list[Block]], list[OcrPage], list[tuple[str, str]]]:
    """Each page's blocks (1-based page → blocks), how far each page can be trusted, and the doubtful tokens
    with where they are. A page that cannot be read has no blocks and is unreliable, with the reason."""
    blocks: dict[int, list[Block]] = {}
    pages: list[OcrPage] = []
    doubts: list[tuple[str, str]] = []
    for ref in refs:
        page = ref.index + 1
        res = ocr_page(ref, ENTRY_OCR)
        if isinstance(res, SheetFailure):
            blocks[page] = []
            pages.append(OcrPage(page, False, 0.0, 0.0, res.reason))
            continue
        blocks[page] = _blocks(page, res, doubts)
        pages.append(OcrPage(page, res.reliable, res.mean_conf / 100.0, res.seconds))
    return blocks, pages, doubts


def read_image(path: str, options: DocumentOptions) -> Document:
    """An image file of typed pages → ``Document`` (format ``IMAGE``), every page through the OCR."""
    refs = plan_pages(path, LoadOptions(max_file_bytes=options.max_file_bytes, max_pages=options.max_pages))
    if isinstance(refs, SheetFailure):
        raise DocumentRejected(refs.reason_code, f"{os.path.basename(path)}: {refs.reason}")
    by_page, pages, doubts = ocr_refs(refs, options)
    blocks = tuple(b for page in sorted(by_page) for b in by_page[page])
    return Document(path, Format.IMAGE, blocks, len(refs), 0, ocr_pages=tuple(pages), ocr_doubts=tuple(doubts))
