"""Records of the document readers: a document as blocks of text in reading order, a flag with its evidence,
and what one typed entry says (``EntryReading``, whose ``to_json`` is the ``omr entry --json`` contract)."""
from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..paths import source_fields
from ..records import Reject, Status


class Format(enum.Enum):
    DOCX = "docx"
    ODT = "odt"
    PDF = "pdf"
    TEXT = "text"
    IMAGE = "image"           # a scan or photo of typed pages (JPEG, PNG, TIFF), read through the OCR


class EntryKind(enum.Enum):
    TYPED = "typed"           # the document answers multiple-choice questions
    ESSAY = "essay"           # no answer found: an essay (or a page that must be read by a person)


@dataclass(frozen=True, slots=True)
class DocumentOptions:
    """Limits for one document. A typed entry is a few pages; hundreds of pages is not an entry."""

    max_file_bytes: int = 50 * 2**20
    max_unpacked_bytes: int = 200 * 2**20     # a DOCX/ODT's parts together, as their ZIP headers declare
    max_part_bytes: int = 64 * 2**20          # one XML part (the text of 500 pages is ~2 MB)
    max_parts: int = 5000
    max_pages: int = 100
    chars_per_page: int = 3500                # a page of Times New Roman 14 holds ~2,500 characters
    timeout_s: float = 60.0
    ocr: bool = False                         # scans and photos of typed pages (image files, PDF pages without
    #                                           a text layer) read through the OCR; off: an image is refused
    #                                           and a PDF page without text is flagged ``no_text_layer``


@dataclass(frozen=True, slots=True)
class OcrPage:
    """One page read by the OCR: how far its text can be trusted (``omr.ocr``'s reliability and confidence)."""

    page: int                 # 1-based
    reliable: bool
    confidence: float         # 0..1, the OCR's mean word confidence
    seconds: float
    problem: str = ""         # why the page could not be read (a damaged image, an engine crash)

    @property
    def where(self) -> str:
        return f"trang {self.page} (OCR)"


def shared_emphasis(pieces: Iterable[tuple[str, frozenset[str]]]) -> frozenset[str]:
    """The formatting (bold, colour, highlight, underline) every piece of a paragraph's text carries — the runs of
    a DOCX, the spans of an ODT, the printed pieces of a PDF line; a piece of fewer than three letters or digits
    ("B.") does not count: people often mark only the option's text."""
    kinds = [k for text, k in pieces if sum(ch.isalnum() for ch in text) >= 3]
    return frozenset.intersection(*kinds) if kinds else frozenset()


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    where: str                # "đoạn 3", "trang 2, dòng 5": what a person finds in the document
    emphasis: frozenset[str] = frozenset()   # formatting on all its words: "bold", "highlight", "color", "underline"
    spans: tuple[tuple[float, str], ...] = ()  # a PDF line's pieces of text: (centre across the page in pt, text)


@dataclass(frozen=True, slots=True)
class Table:
    rows: tuple[tuple[str, ...], ...]
    where: str                # "bảng 1"

    def cell_where(self, row: int, col: int) -> str:
        return f"{self.where}, hàng {row + 1}, ô {col + 1}"


Block = Paragraph | Table


@dataclass(frozen=True, slots=True)
class Document:
    """A document's body in reading order; headers, footers and metadata apart (they never reach a judge)."""

    source: str
    format: Format
    blocks: tuple[Block, ...]
    pages: int | None                       # known for PDF (and DOCX when the file states it)
    images: int                             # embedded pictures in the body
    headers: tuple[str, ...] = ()           # page header and footer texts
    metadata: dict[str, str] = field(default_factory=dict)   # author, company, … (to be redacted)
    warnings: tuple[str, ...] = ()
    textless_pages: tuple[int, ...] = ()    # PDF pages (1-based) without a text layer, not read: scans
    ocr_pages: tuple[OcrPage, ...] = ()     # pages read through the OCR
    ocr_doubts: tuple[tuple[str, str], ...] = ()   # (where, token): short tokens the OCR was unsure of


class DocumentRejected(Exception):
    """A document that cannot be read at all: becomes a rejected record (``SheetFailure``) with the reason."""

    def __init__(self, code: Reject, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class DocFlag:
    """Something a person must look at: ``target`` is "question", "identity", "version" or "document"; ``key``
    the question id or identity field; ``evidence`` the text it came from and where."""

    target: str
    key: str | None
    reason: str
    message: str
    evidence: str = ""
    confidence: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {self.target: self.key, "reason": self.reason, "message": self.message,
                "evidence": self.evidence, "confidence": round(self.confidence, 3)}


@dataclass(frozen=True, slots=True)
class Answer:
    """What the document says for one question: letters ("" blank), how sure, and the text it came from."""

    question: str
    letters: str
    confidence: float
    evidence: str = ""


@dataclass(frozen=True, slots=True)
class EntryReading:
    source: str
    format: Format
    kind: EntryKind
    version: str | None
    answers: tuple[Answer, ...]
    identity: dict[str, str]
    flags: tuple[DocFlag, ...]
    essay: str
    pages: int | None
    images: int
    participant: str | None = None          # a roster id: given by ingestion, never read from the text
    ocr_pages: tuple[OcrPage, ...] = ()

    @property
    def status(self) -> Status:
        return Status.FLAGGED if self.flags else Status.OK

    def to_json(self) -> dict[str, Any]:
        return {
            **source_fields(self.source), "status": self.status.value, "format": self.format.value,
            "kind": self.kind.value, "participant": self.participant, "version": self.version,
            "answers": {a.question: a.letters for a in self.answers},
            "confidence": {a.question: round(a.confidence, 3) for a in self.answers},
            "flags": [f.to_json() for f in self.flags],
            "identity": dict(self.identity),
            "evidence": {a.question: a.evidence for a in self.answers if a.evidence},
            "essay": self.essay, "pages": self.pages, "images": self.images,
            "ocr": [{"page": p.page, "reliable": p.reliable, "confidence": round(p.confidence, 3),
                     "seconds": round(p.seconds, 2)} for p in self.ocr_pages],
        }
