"""One typed entry, end to end: the document read (``read``), its lines, the identity block, the test code, the
answers and the essay part → ``EntryReading``; a document that cannot be read → a rejected ``SheetFailure``.

``EntryContest`` is what this needs from the contest folder, read with ``omr``'s own loaders: the layout (which
questions exist), ``questions.json``, the version codes of ``keys.json`` and ``contest.json``'s
``default_version``."""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import LayoutError
from ..layout import Layout, load_layout, read_json_document
from ..records import Reject, SheetFailure
from .answers import extract_answers
from .essay import essay_sections, essay_text, find_version
from .identity import extract_identity
from .lines import document_lines
from .questions import Questions, load_questions
from .read import read_document
from .records import Answer, DocFlag, DocumentOptions, DocumentRejected, EntryKind, EntryReading, OcrPage


@dataclass(frozen=True, slots=True)
class EntryContest:
    questions: Questions
    versions: tuple[str, ...] = ()
    default_version: str | None = None
    layout: Layout | None = None


def _versions(folder: Path) -> tuple[str, ...]:
    path = folder / "keys.json"
    if not path.exists():
        return ()
    raw, _ = read_json_document(path, file_name="keys.json", what="answer keys file", hint="")
    versions = raw.get("versions") if isinstance(raw, dict) else None
    return tuple(str(v) for v in versions) if isinstance(versions, dict) else ()


def _default_version(folder: Path) -> str | None:
    path = folder / "contest.json"
    if not path.exists():
        return None
    raw, _ = read_json_document(path, file_name="contest.json", what="contest settings file", hint="")
    value = raw.get("default_version") if isinstance(raw, dict) else None
    if value is not None and not isinstance(value, str):
        raise LayoutError(f"{path}: the contest settings have 1 problem(s)",
                          details=["default_version: must be text"])
    return value or None


def load_entry_contest(folder: str | Path) -> EntryContest:
    """What reading a typed entry needs from the contest folder (``LayoutError``, exit 5, when it is broken)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LayoutError(f"contest folder {folder} does not exist; pass --contest DIR (for example "
                          "answer_keys/demo)")
    layout = load_layout(folder / "layout.json")
    questions = load_questions(folder, layout)
    return EntryContest(questions, _versions(folder), _default_version(folder), layout)


def read_entry(path: str, contest: EntryContest,
               options: DocumentOptions = DocumentOptions()) -> EntryReading | SheetFailure:
    try:
        doc = read_document(path, options)
    except DocumentRejected as exc:
        return SheetFailure(path, None, exc.code, exc.message)
    except (OSError, MemoryError, RecursionError) as exc:
        return SheetFailure(path, None, Reject.UNREADABLE, f"{os.path.basename(path)}: {exc}")
    lines = document_lines(doc)
    ident = extract_identity(lines)
    sections = essay_sections(lines)
    version = find_version([x for x in lines if x.index not in sections], versions=contest.versions,
                           default=contest.default_version)
    skip = ident.lines | version.lines
    result = extract_answers(lines, contest.questions, skip=skip, essay=sections)
    flags: list[DocFlag] = [DocFlag("page", str(p), "no_text_layer",
                                    f"trang {p} là ảnh quét, không có lớp chữ: lượt đọc này không dùng OCR — "
                                    "cần người nhập tay hoặc đọc bằng `omr entry`", "")
                            for p in doc.textless_pages]
    flags += _ocr_page_flags(doc.ocr_pages)
    kind = EntryKind.TYPED if result.found else EntryKind.ESSAY
    answers: tuple[Answer, ...] = ()
    if kind is EntryKind.TYPED:
        answers, unsure = _capped_by_ocr(result.answers, doc.ocr_pages,
                                         {f.key for f in result.flags if f.target == "question"}, doc.ocr_doubts)
        flags += list(version.flags) + list(result.flags) + unsure
    elif doc.ocr_pages and any(ident.identity.values()):
        flags.append(DocFlag("document", None, "ocr_no_answers", "ảnh có phần thông tin thí sinh nhưng OCR không "
                             "đọc được câu trả lời trắc nghiệm nào (bảng đáp án đọc sai?) — cần người nhập", ""))
    flags += list(ident.flags)
    if kind is EntryKind.TYPED and doc.ocr_pages and any(ident.identity.values()):
        # a name, a phone number or a date misread by one character reads as well as the right one
        flags.append(DocFlag("document", None, "identity_from_ocr", "thông tin người dự thi được đọc bằng OCR từ "
                             "ảnh: cần đối chiếu họ tên, ngày sinh, số điện thoại, e-mail với bản gốc", ""))
    last = max(result.used_lines) if result.used_lines else None
    essay = essay_text(lines, sections=sections, after=last, exclude=skip | result.used_lines,
                       identity_values=ident.written)
    return EntryReading(path, doc.format, kind, version.version if kind is EntryKind.TYPED else None, answers,
                        ident.identity, tuple(flags), essay, doc.pages, doc.images, ocr_pages=doc.ocr_pages)


def _ocr_page_flags(pages: tuple[OcrPage, ...]) -> list[DocFlag]:
    """A page the OCR could not read, or read without confidence: a person checks it (its answers, its missing
    answers and its identity lines alike)."""
    out = []
    for p in pages:
        if p.problem:
            out.append(DocFlag("page", str(p.page), "ocr_failed", f"trang {p.page}: không đọc được bằng OCR "
                               f"({p.problem}) — cần người nhập tay", ""))
        elif not p.reliable:
            out.append(DocFlag("page", str(p.page), "ocr_unreliable", f"trang {p.page}: OCR đọc không chắc chắn "
                               f"(độ tin cậy {p.confidence:.0%}) — cần người kiểm tra toàn trang", "",
                               p.confidence))
    return out


def _capped_by_ocr(answers: tuple[Answer, ...], pages: tuple[OcrPage, ...], flagged: set[str | None],
                   doubts: tuple[tuple[str, str], ...] = ()) -> tuple[tuple[Answer, ...], list[DocFlag]]:
    """An answer read from an OCR page is no surer than the page's reading; on an unreliable page every answer
    is flagged (never taken as read). A question left blank in a document read (partly) by the OCR is flagged
    too: its line may have been misread or lost (an answer grid's cells run together once recognised), so a
    blank is not taken as the entrant's. An answer whose line or table row holds a short token the OCR was unsure
    of (the letter itself, or the question's number) is flagged with that token: never taken as read."""
    if not pages:
        return answers, []
    out: list[Answer] = []
    flags: list[DocFlag] = []
    for a in answers:
        page = next((p for p in pages if a.evidence.startswith(p.where + ",")), None)
        if page is None:
            out.append(a)
            if not a.letters and a.question not in flagged:
                flags.append(DocFlag("question", a.question, "ocr_blank", f"Câu {a.question}: không thấy câu trả "
                                     "lời trong phần đọc bằng OCR — có thể bỏ trống hoặc OCR đọc sót; cần người "
                                     "kiểm tra", ""))
            continue
        a = dataclasses.replace(a, confidence=min(a.confidence, page.confidence))
        out.append(a)
        if not page.reliable and a.letters:
            flags.append(DocFlag("question", a.question, "ocr_unreliable", f"Câu {a.question}: đọc từ trang "
                                 f"{page.page} mà OCR đọc không chắc chắn — cần người kiểm tra", a.evidence,
                                 a.confidence))
        elif a.letters and a.question not in flagged and (unsure := _doubts_in(a.evidence, doubts)):
            flags.append(DocFlag("question", a.question, "ocr_doubtful_character", f"Câu {a.question}: OCR đọc không "
                                 f"chắc ký tự {', '.join(repr(t) for t in unsure)} trong dòng này — cần người "
                                 "kiểm tra bản gốc", a.evidence, a.confidence))
        elif a.letters and len(_lone_letters(a.evidence)) > len(a.letters):
            flags.append(DocFlag("question", a.question, "ocr_ambiguous", f"Câu {a.question}: dòng đọc bằng OCR "
                                 "có nhiều chữ cái phương án hơn câu trả lời (mũi tên sửa đáp án đọc thành dấu "
                                 "gạch?) — cần người kiểm tra", a.evidence, a.confidence))
    return tuple(out), flags


_CELL = re.compile(r"^(.*, hàng \d+), ô (\d+)$")


def _doubts_in(evidence: str, doubts: tuple[tuple[str, str], ...]) -> list[str]:
    """The doubtful tokens where ``evidence`` comes from: its line ("trang 1 (OCR), dòng 5: “…”"), a table row
    read whole (options as columns marked "x": any of its cells), or, for an answer read from one cell, that cell
    and the question number's — the first, or the one left of it ("trang 1 (OCR), bảng 1, hàng 3, ô 2: “…”"); a
    copied question's words in another cell do not count."""
    where = evidence.split(": \u201c", 1)[0]
    cell = _CELL.match(where)
    if cell is None:
        return [t for w, t in doubts if w == where or w.startswith(where + ", ô ")]
    row, col = cell.group(1), int(cell.group(2))
    near = {f"{row}, ô {c}" for c in (1, col - 1, col)}
    return [t for w, t in doubts if w in near]


_LONE_LETTER = re.compile(r"(?<![^\W\d_])[A-Ha-h](?![^\W\d_])")


def _lone_letters(evidence: str) -> list[str]:
    """The option letters standing alone in an OCR line's quoted text: more than the answer has means the line
    held something the OCR may have garbled (an arrow "B → C" read as "B - C")."""
    quoted = evidence.split("\u201c", 1)[-1]
    return _LONE_LETTER.findall(quoted)
