"""A born-digital PDF → ``Document``, page by page: the page's text layer (``omr.ocr.textlayer`` decides whether
a page draws visible text), each printed line kept as one line. The loader's own PDF checks come first
(truncated, encrypted, damaged, too many pages). A page without a text layer is a scan: listed, not guessed."""
from __future__ import annotations

import os
import unicodedata

from .. import external
from ..load.pdf import _plan_pdf
from ..load.records import LoadOptions, _Rejected
from ..ocr.textlayer import _visible_text
from ..records import Reject
from .records import Document, DocumentOptions, DocumentRejected, Format, Paragraph


def _page_lines(raw: str) -> list[str]:
    """Printed lines as ``pdftotext -layout`` lays them out: the spacing kept, so that table columns can be told
    apart (``omr.documents.lines``)."""
    text = unicodedata.normalize("NFC", raw)
    return [line.rstrip() for line in text.splitlines()]


def read_pdf(path: str, options: DocumentOptions) -> Document:
    name = os.path.basename(path)
    size = os.path.getsize(path)
    try:
        refs = _plan_pdf(path, size, LoadOptions(max_file_bytes=options.max_file_bytes,
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
    blocks: list[Paragraph] = []
    textless: list[int] = []
    for ref in refs:
        text = pages[ref.index] if ref.index < len(pages) else ""
        try:
            visible, _ = _visible_text(path, ref.index)
        except Exception:  # noqa: BLE001 — an odd page: judged by the text pdftotext found
            visible = bool(text.strip())
        if not visible or sum(ch.isalpha() for ch in text) < 5:
            textless.append(ref.index + 1)
            continue
        for i, line in enumerate(_page_lines(text)):
            blocks.append(Paragraph(line, f"trang {ref.index + 1}, dòng {i + 1}"))
    return Document(path, Format.PDF, tuple(blocks), len(refs), 0, textless_pages=tuple(textless))
