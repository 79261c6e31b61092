"""Scans and photos of typed pages → lines, through the OCR (``omr.ocr.ocr_page``: the sheet found in a photo,
straightened, deblurred, read by Tesseract): an image file's pages (JPEG, PNG, TIFF with one or more pages) and
a PDF's pages without a text layer. Each recognised line is a line of the document, where it is saying it came
from the OCR ("trang 2 (OCR), dòng 5"); each page keeps the OCR's reliability, which caps what is read from it
(``omr.documents.entry``)."""
from __future__ import annotations

import os

from ..load import LoadOptions
from ..load.pages import plan_pages
from ..load.records import PageRef
from ..ocr import OcrOptions, ocr_page
from ..records import SheetFailure
from .records import Document, DocumentOptions, DocumentRejected, Format, OcrPage, Paragraph


def ocr_where(page: int) -> str:
    return f"trang {page} (OCR)"


def ocr_refs(refs: list[PageRef], options: DocumentOptions) -> tuple[dict[int, list[str]], list[OcrPage]]:
    """Each page's recognised lines (1-based page → lines) and how far each page can be trusted. A page that
    cannot be read has no lines and is unreliable, with the reason."""
    texts: dict[int, list[str]] = {}
    pages: list[OcrPage] = []
    for ref in refs:
        page = ref.index + 1
        res = ocr_page(ref, OcrOptions())
        if isinstance(res, SheetFailure):
            texts[page] = []
            pages.append(OcrPage(page, False, 0.0, 0.0, res.reason))
            continue
        texts[page] = [x.strip() for x in res.lines if x.strip()]
        pages.append(OcrPage(page, res.reliable, res.mean_conf / 100.0, res.seconds))
    return texts, pages


def read_image(path: str, options: DocumentOptions) -> Document:
    """An image file of typed pages → ``Document`` (format ``IMAGE``), every page through the OCR."""
    refs = plan_pages(path, LoadOptions(max_file_bytes=options.max_file_bytes, max_pages=options.max_pages))
    if isinstance(refs, SheetFailure):
        raise DocumentRejected(refs.reason_code, f"{os.path.basename(path)}: {refs.reason}")
    texts, pages = ocr_refs(refs, options)
    blocks = tuple(Paragraph(line, f"{ocr_where(page)}, dòng {i + 1}") for page, lines in texts.items()
                   for i, line in enumerate(lines))
    return Document(path, Format.IMAGE, blocks, len(refs), 0, ocr_pages=tuple(pages))
