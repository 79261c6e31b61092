"""A message taken apart: its headers as people wrote them, the server's time, its body, and the files it brings.

``parse_message(raw)`` never raises for what a sender can put in a message: a message over the size or part
limits, or whose MIME tree cannot be separated into parts, comes back with ``fatal`` set; a part that is not
taken (an unsupported type, an empty file, a refused ZIP) is a ``Problem`` beside the files that are.

- Headers: RFC 2047 words in UTF-8 or Windows-1258; raw 8-bit bytes are read as UTF-8, else Windows-1258
  (noted as ``header_not_utf8``).
- Time received: the source's own (``RawMessage.received_at``), else the date of the TOPMOST ``Received:`` header
  (the one the receiving server added last); never ``Date:``, which the sender writes.
- Our own receipts (``ours``): an ``X-OMR-Receipt`` header (``grading.mail.smtp.is_our_receipt``), whatever else
  the message carries.
- Auto-replies and bounces (``auto``): ``Auto-Submitted`` other than ``no``, a null sender (``Return-Path: <>``
  or no From), mailer-daemon/postmaster, ``X-Autoreply``/``X-Autorespond``, ``Precedence: bulk``/``auto_reply``/
  ``junk``, a ``multipart/report``.
- Files: every attachment and every inline image of 10 KB or more (smaller ones are signatures and logos), the
  type sniffed from the bytes (``omr.load.sniff``), never from the declared MIME type or the name; ZIPs unpacked
  (``grading.mail.unzip``); Word/OpenDocument files recognised inside their ZIP container; forwarded messages
  (``message/rfc822``) parsed the same way into ``forwards``, at most ``MAX_DEPTH`` levels of forwards and
  archives inside each other.
"""
from __future__ import annotations

import email
import email.message
import email.utils
import hashlib
import html
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.header import decode_header
from email.message import Message

from omr.load.sniff import file_kind

from .raw import RawMessage
from .mime import Node, leaf_count, parse_tree
from .reasons import Problem
from .smtp import is_our_receipt
from .unzip import ZipRefused, unpack

MAX_MESSAGE_BYTES = 50 * 2**20
MAX_PARTS = 1000                 # attachments (leaf parts) in a message, forwards included
MAX_DEPTH = 4                    # forwards and archives inside each other
MIN_INLINE_IMAGE = 10 * 1024     # inline images smaller than this are logos and signatures
ENTRY_KINDS = frozenset({"pdf", "jpeg", "png", "tiff", "docx", "odt"})   # what an entry's files may be
GRADABLE_KINDS = frozenset({"pdf", "jpeg", "png", "tiff"})              # what the sheet reader reads
EXTENSIONS = {"pdf": "pdf", "jpeg": "jpg", "png": "png", "tiff": "tif", "docx": "docx", "odt": "odt"}
_SERIOUS_DEFECTS = ("StartBoundaryNotFoundDefect", "MultipartInvariantViolationDefect",
                    "NoBoundaryInMultipartDefect", "InvalidBase64Defect")
_AUTO_LOCALS = ("mailer-daemon", "postmaster", "mail-daemon", "noreply-dmarc-support")


@dataclass(frozen=True, slots=True)
class FilePart:
    """One file of a message: from an attachment, an inline image or a ZIP's member."""
    name: str            # the file's own name (RFC 2231/2047 decoded)
    path: str            # where it was in the message: "bai.zip/lop6a/an.pdf"
    data: bytes
    kind: str            # sniffed: one of ENTRY_KINDS
    inline: bool = False
    digest: str = ""     # SHA-256 of ``data`` (computed once when not given)

    def __post_init__(self) -> None:
        if not self.digest:
            object.__setattr__(self, "digest", hashlib.sha256(self.data).hexdigest())

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.kind]


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    subject: str = ""
    sender: str = ""                  # the From address, lower case
    sender_name: str = ""
    reply_to: str = ""                # the Reply-To address, when there is one
    message_id: str = ""
    auto: str = ""                    # why it is an auto-reply or a bounce ("" when written by a person)
    ours: bool = False                # a receipt the contest sent itself (``X-OMR-Receipt``): never an entry
    received_at: datetime | None = None
    body: str = ""
    files: tuple[FilePart, ...] = ()
    problems: tuple[Problem, ...] = ()
    forwards: tuple[ParsedMessage, ...] = ()
    fatal: Problem | None = None      # the whole message cannot be taken

    @property
    def answer_to(self) -> str:
        return self.reply_to or self.sender

    def all_files(self) -> list[FilePart]:
        return [*self.files, *(f for fw in self.forwards for f in fw.all_files())]


@dataclass
class _Walk:
    """What a walk over one message's parts collects."""
    depth: int
    files: list[FilePart] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    forwards: list[ParsedMessage] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)


# -- headers ---------------------------------------------------------------------------------------------------
def _bytes_text(raw: bytes, charset: str | None = None) -> tuple[str, bool]:
    """Bytes as text: the declared charset, else UTF-8, else Windows-1258; True when it was not UTF-8."""
    for cs in ([charset] if charset else []) + ["utf-8"]:
        try:
            return raw.decode(cs), cs.lower().replace("_", "-") not in ("utf-8", "utf8", "us-ascii", "ascii")
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("cp1258", errors="replace"), True


def header_text(value: object) -> tuple[str, bool]:
    """A header's value decoded (RFC 2047 words; 8-bit bytes as UTF-8, else Windows-1258), and whether any of it
    was not UTF-8."""
    if value is None:
        return "", False
    if isinstance(value, email.header.Header):
        value = str(value)
    text = str(value)
    not_utf8 = False
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:                           # raw 8-bit bytes kept by the parser as surrogates
            text, not_utf8 = _bytes_text(text.encode("utf-8", "surrogateescape"))
    try:
        pieces = decode_header(text)
    except (ValueError, LookupError):
        return " ".join(text.split()), not_utf8
    out = []
    for piece, charset in pieces:
        if isinstance(piece, bytes):
            s, odd = _bytes_text(piece, charset)
            not_utf8 = not_utf8 or (odd and (charset or "").lower() not in ("windows-1258", "cp1258"))
            out.append(s)
        else:
            out.append(piece)
    return " ".join("".join(out).split()), not_utf8


def raw_header(msg: Message, name: str) -> str | None:
    """A header's value as the parser kept it (8-bit bytes as surrogates, which ``header_text`` decodes); the
    standard ``get`` would turn them into replacement characters first."""
    wanted = name.lower()
    return next((v for k, v in msg.raw_items() if k.lower() == wanted), None)


def _address(msg: Message, name: str) -> tuple[str, str]:
    text, _ = header_text(raw_header(msg, name))
    display, addr = email.utils.parseaddr(text)
    return display, addr.strip().lower()


def topmost_received(msg: Message) -> datetime | None:
    """The date of the topmost ``Received:`` header (what the last, i.e. our own, server wrote), timezone-aware
    (a date without a zone is taken as UTC)."""
    values = msg.get_all("Received") or []
    if not values:
        return None
    text = str(values[0])
    if ";" not in text:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text.rsplit(";", 1)[1].strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def auto_reason(msg: Message, sender: str) -> str:
    """Why the message was sent by a machine (an auto-reply, a bounce), or ""."""
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    if str(msg.get("Return-Path", "")).strip() == "<>":
        return "null sender (Return-Path: <>)"
    if not sender:
        return "no sender address"
    if sender.split("@", 1)[0] in _AUTO_LOCALS:
        return f"sent by {sender}"
    for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress-Reply"):
        if msg.get(h) is not None:
            return f"{h} header"
    prec = str(msg.get("Precedence", "")).strip().lower()
    if prec in ("bulk", "auto_reply", "junk"):
        return f"Precedence: {prec}"
    if msg.get_content_type() == "multipart/report":
        return "delivery report (multipart/report)"
    return ""


# -- parts -----------------------------------------------------------------------------------------------------
def _leaves(node: Node) -> list[Node]:
    """The leaf parts in order; a forwarded message (``message/rfc822``) is one leaf, not descended."""
    if node.content_type.startswith("multipart/"):
        return [leaf for c in node.children for leaf in _leaves(c)]
    return [node]


def _part_name(part: Node, n: int) -> str:
    raw = part.headers.get_filename() or part.headers.get_param("name") or ""
    if isinstance(raw, tuple):                                 # an RFC 2231 value the parser could not collapse
        raw = email.utils.collapse_rfc2231_value(raw)
    name, _ = header_text(raw)
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name or f"part-{n}"


def _office_kind(data: bytes) -> str | None:
    """``docx``/``odt`` (entries), another Office kind (described), or None for an ordinary ZIP."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()
            if "mimetype" in names:
                mime = z.read("mimetype")[:100]
                if b"opendocument.text" in mime:
                    return "odt"
                if b"opendocument" in mime:
                    return "OpenDocument spreadsheet or presentation"
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, RuntimeError, EOFError, NotImplementedError):
        return None
    if any(n.startswith("word/") for n in names):
        return "docx"
    if any(n.startswith("xl/") for n in names):
        return "Excel workbook (XLSX)"
    if any(n.startswith("ppt/") for n in names):
        return "PowerPoint file (PPTX)"
    return None


def _take_file(w: _Walk, name: str, path: str, data: bytes, *, inline: bool = False, declared: str = "") -> None:
    """Sniff one file's bytes; keep it, unpack it (ZIP), or note why it is not taken."""
    if not data:
        w.problems.append(Problem("empty_file", name))
        return
    kind = file_kind(data[:2048])
    if kind == "zip":
        kind = _office_kind(data) or "zip"
    if kind in ENTRY_KINDS:
        w.files.append(FilePart(name, path, data, kind, inline))
    elif kind == "zip":
        _take_zip(w, name, path, data)
    elif kind == "HEIC photo":
        w.problems.append(Problem("heic_photo", name))
    else:
        said = f", sent as {declared}" if declared else ""
        w.problems.append(Problem("unsupported_type", name, f"its content is a {kind}{said}"))


def _take_zip(w: _Walk, name: str, path: str, data: bytes) -> None:
    if w.depth >= MAX_DEPTH:
        w.problems.append(Problem("nested_too_deep", name))
        return
    try:
        members = unpack(data)
    except ZipRefused as exc:
        w.problems.append(Problem(exc.code, name, exc.message))
        return
    inner = _Walk(w.depth + 1)
    for m in members:
        _take_file(inner, m.path.rsplit("/", 1)[-1], f"{path}/{m.path}", m.data)
    w.files.extend(inner.files)
    w.problems.extend(inner.problems)


def _text_payload(part: Node) -> str:
    text, _ = _bytes_text(part.decoded(), part.headers.get_content_charset())
    return text


def _strip_html(text: str) -> str:
    text = re.sub(r"(?is)<(script|style).*?</\1>", " ", text)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def _walk_part(w: _Walk, part: Node, n: int) -> None:
    h = part.headers
    ctype = part.content_type
    disposition = (h.get_content_disposition() or "").lower()
    if ctype == "message/rfc822":
        inner = part.children[0] if part.children else None
        if inner is None or (not inner.body and not inner.children and not len(inner.headers)):
            w.problems.append(Problem("malformed_mime", _part_name(part, n), "an empty forwarded message"))
        elif w.depth >= MAX_DEPTH:
            w.problems.append(Problem("nested_too_deep", _part_name(part, n)))
        else:
            w.forwards.append(_parse_tree(inner, None, w.depth + 1))
        return
    if h.get_content_maintype() == "message":              # delivery status and the like
        return
    has_name = bool(h.get_filename() or h.get_param("name"))
    if h.get_content_maintype() == "text" and disposition != "attachment" and not has_name:
        (w.html if ctype == "text/html" else w.body).append(_text_payload(part))
        return
    data = part.decoded()
    name = _part_name(part, n)
    inline = disposition != "attachment" and not has_name
    if inline and h.get_content_maintype() == "image" and len(data) < MIN_INLINE_IMAGE:
        return
    _take_file(w, name, name, data, inline=inline, declared=ctype)


def _defects(node: Node) -> list[str]:
    return [d for p in node.walk() for d in p.defects if d in _SERIOUS_DEFECTS]


def _parse_tree(node: Node, received_at: datetime | None, depth: int) -> ParsedMessage:
    msg = node.headers
    subject, odd = header_text(raw_header(msg, "Subject"))
    sender_name, sender = _address(msg, "From")
    _, reply_to = _address(msg, "Reply-To")
    w = _Walk(depth)
    if odd:
        w.problems.append(Problem("header_not_utf8", "", subject))
    for n, part in enumerate(_leaves(node), start=1):
        _walk_part(w, part, n)
    fatal = None
    defects = sorted(set(_defects(node)))
    if defects and not w.files and not w.forwards:
        fatal = Problem("malformed_mime", "", ", ".join(defects))
    elif defects:
        w.problems.append(Problem("malformed_mime", "", ", ".join(defects)))
    body = "\n".join(t.strip() for t in w.body if t.strip()) or "\n".join(
        _strip_html(t).strip() for t in w.html if t.strip())
    return ParsedMessage(
        subject=subject, sender=sender, sender_name=header_text(sender_name)[0], reply_to=reply_to,
        message_id=str(msg.get("Message-ID", "")).strip(), auto=auto_reason(msg, sender), ours=is_our_receipt(msg),
        received_at=received_at or topmost_received(msg), body=body, files=tuple(w.files),
        problems=tuple(w.problems), forwards=tuple(w.forwards), fatal=fatal)


def _headers_only(raw: RawMessage, fatal: Problem) -> ParsedMessage:
    """What the headers say of a message that is not taken apart (too large, too many parts)."""
    head = raw.data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    p = _parse_tree(Node(email.message_from_bytes(head + b"\n\n")), raw.received_at, 0)
    return ParsedMessage(subject=p.subject, sender=p.sender, sender_name=p.sender_name, reply_to=p.reply_to,
                         message_id=p.message_id, auto=p.auto, ours=p.ours, received_at=p.received_at,
                         fatal=fatal)


def parse_message(raw: RawMessage) -> ParsedMessage:
    """The message's parts (see the module's docstring); never raises for what a sender wrote."""
    size = len(raw.data)
    if size > MAX_MESSAGE_BYTES:
        return _headers_only(raw, Problem("too_large", "", f"{size / 2**20:.1f} MB; at most "
                                                           f"{MAX_MESSAGE_BYTES // 2**20} MB"))
    try:
        node = parse_tree(raw.data)
        leaves = leaf_count(node)
        if leaves > MAX_PARTS:
            return _headers_only(raw, Problem("too_many_parts", "", f"{leaves:,} parts; at most {MAX_PARTS:,}"))
        return _parse_tree(node, raw.received_at, 0)
    except (ValueError, TypeError, LookupError, AttributeError, IndexError, AssertionError) as exc:
        return _headers_only(raw, Problem("malformed_mime", "", f"{type(exc).__name__}: {exc}"))
