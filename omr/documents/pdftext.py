"""A born-digital PDF → ``Document``, page by page: the page's text layer (``omr.ocr.textlayer`` decides whether
a page draws visible text), each printed line kept as one line. The loader's own PDF checks come first
(truncated, encrypted, damaged, too many pages). A page without a text layer is a scan: read through the OCR
when ``options.ocr`` (``omr.documents.scanned``), else listed, not guessed."""
from __future__ import annotations

import os
import re
import unicodedata

from .. import external
from ..load.pdf import plan_pdf
from ..load.records import LoadOptions, _Rejected
from ..ocr.textlayer import visible_text
from ..records import Reject
from .records import Block, Document, DocumentOptions, DocumentRejected, Format, Paragraph
from .scanned import ocr_refs


def _page_lines(raw: str) -> list[str]:
    """Printed lines as ``pdftotext -layout`` lays them out: the spacing kept, so that table columns can be told
    apart (``omr.documents.lines``)."""
    text = unicodedata.normalize("NFC", raw)
    return [line.rstrip() for line in text.splitlines()]


def read_pdf(path: str, options: DocumentOptions) -> Document:
    name = os.path.basename(path)
    size = os.path.getsize(path)
    try:
        refs = plan_pdf(path, size, LoadOptions(max_file_bytes=options.max_file_bytes,
                                                 max_pages=options.max_pages))
    except _Rejected as exc:
        code = exc.code
        message = exc.message
        if code is Reject.TOO_MANY_PAGES:
            message = f"{name} dài hơn {options.max_pages} trang, quá giới hạn của một bài dự thi; không đọc"
        raise DocumentRejected(code, message) from None
    external.require_program("pdftotext", advice="install poppler-utils (Debian: apt-get install poppler-utils)")
    try:
        raw = external.run(["pdftotext", "-layout", "-enc", "UTF-8", path, "-"], timeout=options.timeout_s)
    except external.ExternalTimeout:
        raise DocumentRejected(Reject.TIMEOUT, f"{name}: đọc lớp chữ của PDF quá {options.timeout_s:g} giây; "
                               "không đọc") from None
    except external.ExternalError as exc:
        raise DocumentRejected(Reject.CORRUPT, f"{name}: không đọc được chữ trong PDF ({exc})") from None
    pages = raw.decode("utf-8", "replace").split("\f")
    read: dict[int, list[str]] = {}
    textless: list[int] = []
    for ref in refs:
        text = pages[ref.index] if ref.index < len(pages) else ""
        try:
            visible, _ = visible_text(path, ref.index)
        except Exception:  # noqa: BLE001 — an odd page: judged by the text pdftotext found
            visible = bool(text.strip())
        if not visible or not text.strip():
            textless.append(ref.index + 1)
            continue
        read[ref.index + 1] = _page_lines(text)
    ocr_pages: list = []
    doubts: list[tuple[str, str]] = []
    scanned: dict[int, list[Block]] = {}
    if options.ocr and textless:
        scanned, ocr_pages, doubts = ocr_refs([r for r in refs if r.index + 1 in textless], options)
        textless = []
    texts = {**read, **{p: [b.text for b in bl if isinstance(b, Paragraph)] for p, bl in scanned.items()}}
    repeated = _running_lines(texts)
    blocks: list[Block] = []
    for page in sorted(texts):
        if page in scanned:
            blocks += [b for b in scanned[page] if not isinstance(b, Paragraph) or _shape(b.text) not in repeated]
        else:
            blocks += [Paragraph(line, f"trang {page}, dòng {i + 1}") for i, line in enumerate(read[page])
                       if _shape(line) not in repeated]
    headers = tuple(dict.fromkeys(" ".join(x.split()) for lines in texts.values() for x in lines
                                  if _shape(x) in repeated))
    return Document(path, Format.PDF, tuple(blocks), len(refs), 0, headers, textless_pages=tuple(textless),
                    ocr_pages=tuple(ocr_pages), ocr_doubts=tuple(doubts))


_PAGE_NUMBER = re.compile(r"^(?:(?:trang|page)\s*)?[-–—]?\s*\d{1,3}\s*(?:[-–—]|/\s*\d{1,3})?$", re.IGNORECASE)


def _shape(line: str) -> str:
    text = " ".join(line.split())
    return "#" if _PAGE_NUMBER.match(text) else text


def _running_lines(pages: dict[int, list[str]]) -> frozenset[str]:
    """Page headers and footers: a first or last line that comes back, word for word, on at least half the pages
    (two or more), and page numbers ("Trang 2", "- 2 -", "2/5") — kept out of the essay and the answers."""
    seen: dict[str, int] = {}
    for lines in pages.values():
        text = [x for x in lines if x.strip()]
        for shape in {_shape(x) for x in text[:2] + text[-2:]}:
            seen[shape] = seen.get(shape, 0) + 1
    need = max(2, (len(pages) + 1) // 2)
    return frozenset(k for k, n in seen.items() if k and (n >= need or k == "#"))
