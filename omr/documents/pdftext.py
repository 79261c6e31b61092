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
from ..errors import MissingDependency
from ..load.records import LoadOptions, _Rejected
from ..ocr.textlayer import visible_text
from ..records import Reject
from .records import Block, Document, DocumentOptions, DocumentRejected, Format, Paragraph, shared_emphasis
from .scanned import ocr_refs


def _page_lines(raw: str) -> list[str]:
    """Printed lines as ``pdftotext -layout`` lays them out: the spacing kept, so that table columns can be told
    apart (``omr.documents.lines``)."""
    text = unicodedata.normalize("NFC", raw)
    return [line.rstrip() for line in text.splitlines()]


def _key(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum()).lower()


def _fragment_emphasis(el, colors: dict[str, str]) -> tuple[str, frozenset[str]]:
    text = "".join(el.itertext())
    bold = "".join("".join(b.itertext()) for b in el.iter("b"))
    kinds = set()
    if _key(text) and _key(bold) == _key(text):
        kinds.add("bold")
    if colors.get(el.get("font", ""), "#000000").lower() not in ("#000000", "#000"):
        kinds.add("color")
    return text, frozenset(kinds)


Printed = dict[int, dict[str, tuple[frozenset[str], tuple[tuple[float, str], ...]]]]


def _printed_lines(path: str, timeout_s: float) -> Printed:
    """Page → a printed line's letters and digits → (the formatting all its words carry: bold, coloured; its
    pieces of text with their centres across the page), from poppler's ``pdftohtml -xml``. A line shared by
    columns, or a PDF it cannot take, has none: options copied out with none of them marked are then a flag, and
    a table's marks are placed by the printed spacing alone. As ``wordml``: a stretch of fewer than three letters
    ("B.") does not count for the formatting."""
    import xml.etree.ElementTree as ET

    try:
        raw = external.run(["pdftohtml", "-xml", "-i", "-stdout", "-q", path], timeout=timeout_s)
        root = ET.fromstring(raw)
    except (external.ExternalError, ET.ParseError, MissingDependency):
        return {}
    out: Printed = {}
    colors: dict[str, str] = {}
    for page in root.iter("page"):
        colors.update({f.get("id", ""): f.get("color", "#000000") for f in page.iter("fontspec")})
        rows: dict[int, list[tuple[float, str, frozenset[str]]]] = {}
        for el in page.iter("text"):
            top = int(el.get("top", "0"))
            centre = int(el.get("left", "0")) + int(el.get("width", "0")) / 2
            row = next((t for t in rows if abs(t - top) <= 3), top)
            text, kinds = _fragment_emphasis(el, colors)
            rows.setdefault(row, []).append((centre, text, kinds))
        lines = out.setdefault(int(page.get("number", "0")), {})
        for frags in rows.values():
            frags.sort()
            lines[_key("".join(t for _, t, _ in frags))] = (shared_emphasis((t, k) for _, t, k in frags),
                                                           tuple((x, t) for x, t, _ in frags))
    return out


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
    printed = _printed_lines(path, options.timeout_s) if read else {}
    blocks: list[Block] = []
    for page in sorted(texts):
        if page in scanned:
            blocks += [b for b in scanned[page] if not isinstance(b, Paragraph) or _shape(b.text) not in repeated]
        else:
            blocks += [Paragraph(line, f"trang {page}, dòng {i + 1}",
                                 *printed.get(page, {}).get(_key(line), (frozenset(), ())))
                       for i, line in enumerate(read[page]) if _shape(line) not in repeated]
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
