"""ODT → ``Document`` with odfpy: headings, paragraphs, list items and tables of the body in reading order,
pictures counted, metadata (creator) kept apart for redaction."""
from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from xml.parsers.expat import ExpatError
from xml.sax import SAXException

from ..records import Reject
from .container import check_pages
from .records import Block, Document, DocumentOptions, DocumentRejected, Format, Paragraph, Table, shared_emphasis

_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_DRAW = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_FO = "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
_CONTAINERS = {(_TEXT, "list"), (_TEXT, "list-item"), (_TEXT, "list-header"), (_TEXT, "section"),
               (_TEXT, "soft-page-break"), (_OFFICE, "forms")}


def _text(el, counts: dict[str, int]) -> str:
    """A paragraph's text: spaces (``text:s``), tabs and line breaks as written; notes and frames inline."""
    out: list[str] = []
    for node in el.childNodes:
        if node.nodeType == node.TEXT_NODE:
            out.append(node.data)
            continue
        q = node.qname
        if q == (_TEXT, "s"):
            out.append(" " * int(node.attributes.get((_TEXT, "c"), 1) or 1))
        elif q == (_TEXT, "tab"):
            out.append("\t")
        elif q == (_TEXT, "line-break"):
            out.append("\n")
        elif q == (_DRAW, "image"):
            counts["images"] += 1
        elif q in ((_TEXT, "p"), (_TEXT, "h")):
            out.append("\n" + _text(node, counts) + "\n")
        elif q not in ((_TEXT, "tracked-changes"), (_TEXT, "note")):
            out.append(_text(node, counts))
    return "".join(out)


Styles = dict[str, frozenset[str]]      # style name → the emphasis it gives ("bold", "underline", …)


def _props_emphasis(props) -> set[str]:
    a = props.attributes
    kinds = set()
    weight = str(a.get((_FO, "font-weight"), "") or "")
    if weight == "bold" or (weight.isdigit() and int(weight) >= 600):
        kinds.add("bold")
    if str(a.get((_STYLE, "text-underline-style"), "none") or "none") != "none":
        kinds.add("underline")
    if str(a.get((_FO, "background-color"), "transparent") or "transparent").lower() not in ("transparent", "#ffffff"):
        kinds.add("highlight")
    if str(a.get((_FO, "color"), "#000000") or "#000000").lower() not in ("#000000", "auto"):
        kinds.add("color")
    return kinds


def _styles(doc) -> Styles:
    """Every paragraph and text style's emphasis, its parents' included (automatic styles of the body and the
    named styles of styles.xml)."""
    own: dict[str, tuple[set[str], str | None]] = {}
    for container in (doc.styles, doc.automaticstyles):
        for st in container.childNodes:
            if getattr(st, "qname", None) != (_STYLE, "style"):
                continue
            name = st.attributes.get((_STYLE, "name"))
            kinds: set[str] = set()
            for child in st.childNodes:
                if getattr(child, "qname", None) == (_STYLE, "text-properties"):
                    kinds |= _props_emphasis(child)
            own[str(name)] = (kinds, st.attributes.get((_STYLE, "parent-style-name")))
    out: Styles = {}
    for name in own:
        kinds, seen, parent = set(own[name][0]), {name}, own[name][1]
        while parent and parent in own and parent not in seen:
            seen.add(parent)
            kinds |= own[parent][0]
            parent = own[parent][1]
        out[name] = frozenset(kinds)
    return out


def _emphasis(el, styles: Styles) -> frozenset[str]:
    """The formatting all of a paragraph's text carries, its spans' styles over the paragraph's own."""
    pieces: list[tuple[str, frozenset[str]]] = []

    def walk(node, inherited: frozenset[str]) -> None:
        for child in node.childNodes:
            if child.nodeType == child.TEXT_NODE:
                pieces.append((child.data, inherited))
            elif getattr(child, "qname", None) in ((_TEXT, "span"), (_TEXT, "a")):
                walk(child, inherited | styles.get(str(child.attributes.get((_TEXT, "style-name"))), frozenset()))
    walk(el, styles.get(str(el.attributes.get((_TEXT, "style-name"))), frozenset()))
    return shared_emphasis(pieces)


def _table(el, where: str, counts: dict[str, int]) -> Table:
    rows = []
    stack = [el]
    while stack:
        node = stack.pop(0)
        for child in node.childNodes:
            q = getattr(child, "qname", None)
            if q == (_TABLE, "table-row"):
                cells = [c for c in child.childNodes if getattr(c, "qname", None) == (_TABLE, "table-cell")]
                rows.append(tuple("\n".join(_text(p, counts) for p in c.childNodes
                                            if getattr(p, "qname", None) in ((_TEXT, "p"), (_TEXT, "h")))
                                  for c in cells))
            elif q in ((_TABLE, "table-rows"), (_TABLE, "table-header-rows")):
                stack.append(child)
    return Table(tuple(rows), where)


def _blocks(body, counts: dict[str, int], styles: Styles) -> Iterator[Block]:
    n_p = n_t = 0
    stack = list(reversed(body.childNodes))
    while stack:
        node = stack.pop()
        q = getattr(node, "qname", None)
        if q in ((_TEXT, "p"), (_TEXT, "h")):
            n_p += 1
            emphasis = _emphasis(node, styles)
            for line in _text(node, counts).split("\n"):
                yield Paragraph(line, f"đoạn {n_p}", emphasis)
        elif q == (_TABLE, "table"):
            n_t += 1
            yield _table(node, f"bảng {n_t}", counts)
        elif q in _CONTAINERS:
            stack.extend(reversed(node.childNodes))


def _metadata(doc) -> tuple[dict[str, str], int | None]:
    meta: dict[str, str] = {}
    pages = None
    for node in doc.meta.childNodes:
        q = getattr(node, "qname", (None, None))
        value = "".join(getattr(c, "data", "") for c in getattr(node, "childNodes", []))
        if q[1] in ("creator", "initial-creator", "title", "subject", "description") and value.strip():
            meta[{"creator": "last_modified_by", "initial-creator": "author"}.get(q[1], q[1])] = value.strip()
        if q[1] == "document-statistic":
            raw = node.attributes.get(("urn:oasis:names:tc:opendocument:xmlns:meta:1.0", "page-count"))
            pages = int(raw) if raw and str(raw).isdigit() else None
    return meta, pages


def read_odt(path: str, options: DocumentOptions) -> Document:
    from odf.opendocument import load

    name = os.path.basename(path)
    try:
        doc = load(path)
        counts = {"images": 0}
        blocks = tuple(_blocks(doc.text, counts, _styles(doc)))
        meta, pages = _metadata(doc)
    except (ExpatError, SAXException, KeyError, ValueError, AttributeError, zipfile.BadZipFile) as exc:
        raise DocumentRejected(Reject.CORRUPT, f"{name} là tệp ODT bị hỏng ({type(exc).__name__}); hãy mở, "
                               "lưu lại rồi gửi lại") from None
    chars = sum(len(b.text) for b in blocks if isinstance(b, Paragraph))
    estimate = -(-chars // options.chars_per_page)
    check_pages(max(pages or 0, estimate), name, options, estimated=pages is None or estimate > (pages or 0))
    return Document(path, Format.ODT, blocks, pages, counts["images"], (), meta)
