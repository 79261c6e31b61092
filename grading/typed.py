"""Typed entries in the grading pipeline: a document (DOCX, ODT, a PDF whose text layer answers the questions,
plain text) becomes ONE submission recorded like a bubble sheet's, so that scores, flags, resolving, exports and
essays work on it unchanged.

* page 1: a ``SheetReading`` whose answers are the document's (``omr.documents.read_entry``), no fills; the
  reader's flags as ``Flag`` records (an identity field → target ``participant``, the whole document → ``page``),
  each message carrying the evidence; the evidence per question kept in the reading (``evidence``);
* a scan or photo of a typed entry (no answer sheet among its pages) is read through the OCR
  (``TypedReader.scanned_entry``) and, when it reads as a typed entry, recorded the same way;
* page 2, when the document has an essay part: an essay page whose text is already known (``source`` =
  ``text_layer``, no OCR), the essay part alone — no identity block, header, footer or metadata — so judges
  score it blind.

Participant: the roster's id when exactly one person on it has the name the document states (folded: case and
diacritics apart) — a roster, when there is one, wins —, else the one given by the caller (ingestion: the entrant
made from the entry), else none (flagged ``participant_unmatched`` when there is a roster).
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field

from omr.documents import EntryContest, EntryReading, load_entry_contest, read_entry
from omr.documents.fold import key as fold_key
from omr.documents.identity import extract_identity
from omr.documents.lines import document_lines
from omr.documents.read import read_document
from omr.documents.records import DocumentRejected
from omr.documents.records import DocFlag, DocumentOptions, EntryKind
from omr.errors import LayoutError, MissingDependency
from omr.load import LoadOptions, plan_pages
from omr.load.sniff import sniff_head
from omr.read import read_ref
from omr.records import Flag, Reject, SheetFailure, SheetReading, Status

from .contest import Contest, Roster
from .store import EssayPage

SCAN_MAX_FLAGGED = 2                   # a scanned entry with more doubtful questions than this and than …
SCAN_MAX_FLAGGED_SHARE = 0.1           # … this share of its questions is transcribed by judges (``grading.transcribe``)
TYPED_LAYOUT = "typed"                 # ``SheetReading.layout`` of a typed entry's page when no layout id applies
_TARGETS = {"identity": "participant", "document": "page"}


def document_kind(path: str) -> str | None:
    """``"document"`` (DOCX/ODT/other ZIP, plain text: only the document reader can take it), ``"pdf"`` (a
    document when its text layer answers the questions, else scans), or ``None`` (an image: scans)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return None
    kind = sniff_head(head)
    if kind == "pdf":
        return "pdf"
    if kind in ("zip", "text file") or head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "document"
    return None


def _flag(f: DocFlag) -> Flag:
    target = _TARGETS.get(f.target, f.target)
    key = f.key if target in ("question", "page") else None
    message = f.message if f.target != "identity" else f"{f.key}: {f.message}"
    if f.evidence:
        message = f"{message} — «{f.evidence}»"
    return Flag(target, key, f.reason, message, float(f.confidence))


def typed_records(entry: EntryReading, layout_id: str, participant: str | None,
                  extra: tuple[Flag, ...] = ()) -> list[SheetReading | EssayPage]:
    """The submission's records for a typed entry: its answers page, and its essay page when there is one."""
    out: list[SheetReading | EssayPage] = []
    if entry.kind is EntryKind.TYPED:
        flags = (*(_flag(f) for f in entry.flags), *extra)
        answers = {a.question: a.letters for a in entry.answers}
        out.append(SheetReading(entry.source, 1, layout_id, Status.FLAGGED if flags else Status.OK, participant,
                                entry.version, answers, flags,
                                evidence={a.question: a.evidence for a in entry.answers if a.evidence}))
    if entry.essay.strip() or not out:
        page = len(out) + 1
        why = SheetFailure(entry.source, page, Reject.NOT_A_SHEET,
                           "phần tự luận của bài đánh máy (chỉ phần bài viết, không có phần thông tin người dự thi)")
        out.append(EssayPage(why, 1 if out else None, text=entry.essay.strip(),
                             participant=None if out else participant))
    return out


def taken_from_ocr(entry: EntryReading) -> bool:
    """A scanned entry is graded from its OCR reading when it reads as a typed entry, every page reliably, with
    few questions in doubt; else judges type it in (many doubts: two judges typing beat one judge per doubt)."""
    if not (entry.kind is EntryKind.TYPED and entry.ocr_pages and all(p.reliable for p in entry.ocr_pages)):
        return False
    doubtful = {f.key for f in entry.flags if f.target == "question"}
    return len(doubtful) <= max(SCAN_MAX_FLAGGED, SCAN_MAX_FLAGGED_SHARE * len(entry.answers))


@dataclass
class TypedReader:
    """Reads the typed entries of one grading run; the contest's ``questions.json`` is loaded on the first one."""

    contest: Contest
    roster: Roster | None = None
    participants: Mapping[str, str] = field(default_factory=dict)    # content hash → participant (ingestion)
    _entry_contest: EntryContest | LayoutError | None = None

    def entry_contest(self) -> EntryContest | LayoutError:
        if self._entry_contest is None:
            try:
                self._entry_contest = load_entry_contest(self.contest.folder)
            except LayoutError as exc:
                self._entry_contest = exc
        return self._entry_contest

    def read(self, path: str) -> EntryReading | SheetFailure:
        ec = self.entry_contest()
        if isinstance(ec, LayoutError):
            return SheetFailure(path, None, Reject.UNSUPPORTED_TYPE,
                                f"{os.path.basename(path)} is a typed entry, but the contest cannot read typed "
                                f"entries: {ec}; add questions.json to the contest folder (see answer_keys/demo) "
                                "and run again")
        return read_entry(path, ec)

    def is_entry(self, entry: EntryReading | SheetFailure, load: LoadOptions) -> bool:
        """A PDF is taken as a typed entry only when its text layer answers the questions on every page (a page
        without text is a scan) and its first page is not an answer sheet (a sheet printed from a PDF has the
        sheet's own text: "1 A B C D"): else the page reader takes the whole file."""
        if not (isinstance(entry, EntryReading) and entry.kind is EntryKind.TYPED
                and not any(f.reason == "no_text_layer" for f in entry.flags)):
            return False
        refs = plan_pages(entry.source, load)
        if isinstance(refs, SheetFailure) or not refs:
            return True
        first = read_ref(refs[0], self.contest.layout, load)
        return isinstance(first, SheetFailure) and first.reason_code is Reject.NOT_A_SHEET

    def scanned_entry(self, path: str, pages: list[SheetReading | SheetFailure]) -> EntryReading | None:
        """A scanned file (an image, a PDF without a text layer) none of whose pages is an answer sheet, in a
        contest with ``questions.json``, read through the OCR: the typed entry when it reads as one (answers
        found, every page read reliably, few questions in doubt), else None and its pages stay essay pages (judges
        transcribe them). A file with a sheet among its pages is never OCR'd: the page reader has already decided
        it is a bubble sheet's submission."""
        if not pages or not all(isinstance(r, SheetFailure) and r.reason_code is Reject.NOT_A_SHEET for r in pages):
            return None
        ec = self.entry_contest()
        if isinstance(ec, LayoutError) or not ec.questions.questions:
            return None
        try:
            entry = read_entry(path, ec, DocumentOptions(ocr=True))
        except MissingDependency:                 # no Tesseract here: the pages stay essay pages, as without OCR
            return None
        return entry if isinstance(entry, EntryReading) and taken_from_ocr(entry) else None

    def records(self, entry: EntryReading, digest: str) -> list[SheetReading | EssayPage]:
        """A roster, when there is one, wins: the one person on it with the entry's name; else the entrant that
        ingestion made from the entry (a citizen the roster does not list); else nobody, flagged."""
        participant = self.participants.get(digest)
        extra: tuple[Flag, ...] = ()
        if self.roster is not None:
            on_roster, why = self._on_roster(entry)
            if on_roster is not None:
                participant = on_roster
            elif participant is None:
                extra = why
        return typed_records(entry, self.contest.layout.id or TYPED_LAYOUT, participant, extra)

    def _on_roster(self, entry: EntryReading) -> tuple[str | None, tuple[Flag, ...]]:
        assert self.roster is not None
        name = fold_key(entry.identity.get("name", ""))
        ids = [p.id for p in self.roster.people if name and fold_key(p.name) == name]
        if len(ids) == 1:
            return ids[0], ()
        why = ("several people on the roster have this name" if ids else "nobody on the roster has this name")
        return None, (Flag("participant", None, "participant_unmatched",
                           f"bài đánh máy của «{entry.identity.get('name', '')}»: {why}; nhập số báo danh", 0.0),)


def document_identity(data: bytes, extension: str) -> dict[str, str]:
    """The identity block of a document given as bytes (an e-mail attachment): {} when it is not a document the
    reader takes, or names nobody. Needs nothing of the contest."""
    with tempfile.TemporaryDirectory(prefix="omr-identity-") as tmp:
        path = os.path.join(tmp, f"entry.{extension}")
        with open(path, "wb") as f:
            f.write(data)
        try:
            doc = read_document(path)
        except (DocumentRejected, OSError, MemoryError, RecursionError):
            return {}
        return dict(extract_identity(document_lines(doc)).identity)
