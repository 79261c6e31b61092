"""``read_document(path)``: any supported document → ``Document``, or ``DocumentRejected`` with the reason."""
from __future__ import annotations

import os

from ..records import Reject
from ..textfile import NotUtf8, utf8_text
from .container import check_pages, sniff_document
from .opendoc import read_odt
from .pdftext import read_pdf
from .records import Document, DocumentOptions, DocumentRejected, Format, Paragraph
from .scanned import read_image
from .wordml import read_docx


def read_text(path: str, options: DocumentOptions) -> Document:
    name = os.path.basename(path)
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = utf8_text(data)
    except NotUtf8 as exc:
        raise DocumentRejected(Reject.UNSUPPORTED_TYPE, f"{name} không phải văn bản UTF-8 ({exc}); hãy lưu lại "
                               "với bảng mã UTF-8 hoặc gửi dưới dạng .docx") from None
    lines = text.splitlines()
    check_pages(-(-len(text) // options.chars_per_page), name, options, estimated=True)
    blocks = tuple(Paragraph(line, f"dòng {i + 1}") for i, line in enumerate(lines))
    return Document(path, Format.TEXT, blocks, None, 0)


def read_document(path: str, options: DocumentOptions = DocumentOptions()) -> Document:
    fmt = sniff_document(path, options)
    if fmt is Format.DOCX:
        return read_docx(path, options)
    if fmt is Format.ODT:
        return read_odt(path, options)
    if fmt is Format.PDF:
        return read_pdf(path, options)
    if fmt is Format.IMAGE:
        return read_image(path, options)
    return read_text(path, options)
