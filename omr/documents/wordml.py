"""DOCX → ``Document``: paragraphs and tables of the body in reading order (text boxes, content controls and
line breaks included; deleted tracked changes left out), pictures counted, headers, footers and metadata kept
apart. python-docx opens the package; the body is walked on its XML so that nothing is read twice."""
from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator

from ..records import Reject
from .container import check_pages
from .numbering import Numbering
from .records import Block, Document, DocumentOptions, DocumentRejected, Format, Paragraph, Table, shared_emphasis

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_BLIP = "{http://schemas.openxmlformats.org/drawingml/2006/main}blip"
_VML_IMAGE = "{urn:schemas-microsoft-com:vml}imagedata"
_PAGES = re.compile(rb"<(?:\w+:)?Pages>\s*(\d+)\s*</(?:\w+:)?Pages>")
_COMPANY = re.compile(rb"<(?:\w+:)?Company>([^<]*)</(?:\w+:)?Company>")


def _walk_text(el, out: list[str], counts: dict[str, int]) -> None:
    """Text of a paragraph's runs in order; a nested paragraph (a text box) starts a new line."""
    for child in el:
        tag = child.tag
        if tag == _W + "t":
            out.append(child.text or "")
        elif tag == _W + "tab":
            out.append("\t")
        elif tag in (_W + "br", _W + "cr"):
            out.append("\n")
            if child.get(_W + "type") == "page":
                counts["breaks"] += 1
        elif tag == _W + "noBreakHyphen":
            out.append("-")
        elif tag == _MC_FALLBACK:
            continue                          # the same content again, for old readers
        elif tag == _W + "r" and _struck(child):
            out.append(" ")                   # struck-through words are words the writer took back
        elif tag in (_BLIP, _VML_IMAGE):
            counts["images"] += 1
        elif tag == _W + "p":
            out.append("\n")
            _walk_text(child, out, counts)
            out.append("\n")
        elif isinstance(tag, str) and tag != _W + "delText" and tag != _W + "instrText":
            if tag == _W + "lastRenderedPageBreak":
                counts["rendered"] += 1
            _walk_text(child, out, counts)


_OFF = ("0", "false", "none", "auto")


def _run_emphasis(run) -> frozenset[str]:
    rpr = run.find(_W + "rPr")
    if rpr is None:
        return frozenset()
    kinds = set()
    for tag, kind in (("b", "bold"), ("highlight", "highlight"), ("color", "color"), ("u", "underline"),
                      ("shd", "highlight")):
        el = rpr.find(_W + tag)
        if el is None:
            continue
        value = (el.get(_W + "fill") if tag == "shd" else el.get(_W + "val")) or ("" if tag == "shd" else "on")
        if value.lower() not in _OFF and not (tag == "color" and value.upper() == "000000"):
            kinds.add(kind)
    return frozenset(kinds)


def _emphasis(p) -> frozenset[str]:
    return shared_emphasis(("".join(t.text or "" for t in run.iter(_W + "t")), _run_emphasis(run))
                           for run in p.iter(_W + "r"))


def _struck(run) -> bool:
    rpr = run.find(_W + "rPr")
    if rpr is None:
        return False
    return any(el is not None and (el.get(_W + "val") or "on").lower() not in _OFF
               for el in (rpr.find(_W + "strike"), rpr.find(_W + "dstrike")))


def _paragraphs(p, where: str, counts: dict[str, int], label: str = "") -> Iterator[Paragraph]:
    out: list[str] = [label]
    _walk_text(p, out, counts)
    emphasis = _emphasis(p)
    for line in "".join(out).split("\n"):
        yield Paragraph(line, where, emphasis)


def _cell_text(tc, counts: dict[str, int], numbering: Numbering) -> str:
    lines: list[str] = []
    for p in tc.iter(_W + "p"):
        if _nearest(p, _W + "tc") is tc:
            out: list[str] = [numbering.label(p)]
            _walk_text(p, out, counts)
            lines.append("".join(out))
    return "\n".join(x for x in lines if x.strip())


def _nearest(el, tag: str):
    el = el.getparent()
    while el is not None and el.tag != tag:
        el = el.getparent()
    return el


def _table(tbl, where: str, counts: dict[str, int], numbering: Numbering) -> Table:
    rows = []
    for tr in tbl.iter(_W + "tr"):
        if _nearest(tr, _W + "tbl") is tbl:
            rows.append(tuple(_cell_text(tc, counts, numbering) for tc in tr.iter(_W + "tc")
                              if _nearest(tc, _W + "tr") is tr))
    return Table(tuple(rows), where)


def _blocks(body, counts: dict[str, int], numbering: Numbering) -> Iterator[Block]:
    n_p = n_t = 0
    stack = list(reversed(list(body)))
    while stack:
        el = stack.pop()
        if el.tag == _W + "p":
            n_p += 1
            yield from _paragraphs(el, f"đoạn {n_p}", counts, numbering.label(el))
        elif el.tag == _W + "tbl":
            n_t += 1
            yield _table(el, f"bảng {n_t}", counts, numbering)
        elif el.tag in (_W + "sdt", _W + "sdtContent", _W + "customXml"):
            stack.extend(reversed(list(el)))


def _part_texts(document, kinds: tuple[str, ...]) -> tuple[str, ...]:
    texts = []
    for rel in document.part.rels.values():
        if rel.is_external or not rel.reltype.endswith(kinds):
            continue
        text = " ".join(t.text or "" for t in rel.target_part.element.iter(_W + "t")).strip()
        if text:
            texts.append(text)
    return tuple(texts)


def _metadata(document, path: str) -> dict[str, str]:
    cp = document.core_properties
    meta = {"author": cp.author or "", "last_modified_by": cp.last_modified_by or "", "title": cp.title or "",
            "subject": cp.subject or "", "keywords": cp.keywords or "", "comments": cp.comments or ""}
    app = _app_xml(path)
    m = _COMPANY.search(app)
    if m:
        meta["company"] = m.group(1).decode("utf-8", "replace")
    return {k: v for k, v in meta.items() if v}


def _app_xml(path: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        try:
            return z.read("docProps/app.xml")
        except KeyError:
            return b""


def read_docx(path: str, options: DocumentOptions) -> Document:
    import docx
    from docx.opc.exceptions import OpcError
    from lxml.etree import LxmlError

    name = os.path.basename(path)
    try:
        document = docx.Document(path)
        counts = {"images": 0, "breaks": 0, "rendered": 0}
        blocks = tuple(_blocks(document.element.body, counts, Numbering(document)))
        headers = _part_texts(document, ("/header", "/footer"))
        meta = _metadata(document, path)
    except (LxmlError, OpcError, KeyError, ValueError, AttributeError, zipfile.BadZipFile) as exc:
        raise DocumentRejected(Reject.CORRUPT, f"{name} là tệp Word bị hỏng ({type(exc).__name__}: "
                               f"{str(exc)[:120]}); hãy mở bằng Word, lưu lại rồi gửi lại") from None
    stated = _PAGES.search(_app_xml(path))
    chars = sum(len(b.text) for b in blocks if isinstance(b, Paragraph))
    estimate = max(max(counts["breaks"], counts["rendered"]) + 1, -(-chars // options.chars_per_page))
    pages = int(stated.group(1)) if stated else None
    check_pages(max(pages or 0, estimate), name, options, estimated=pages is None or estimate > pages)
    explicit = max(counts["breaks"], counts["rendered"]) + 1     # a lower bound; a stated count may be stale
    pages = max(pages, explicit) if pages is not None or explicit > 1 else None
    return Document(path, Format.DOCX, blocks, pages, counts["images"], headers, meta)
