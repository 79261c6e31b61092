"""Handwritten entries typed in by judges, twice (double entry, the standard way to make manual entry exact).

OCR of handwriting is far too unreliable here, so a handwritten entry — a submission of a documents contest
(one with ``questions.json``) whose every page is an essay page read from pixels — becomes a *transcription*
(``queue``, run at the end of ``omr grade`` and ``omr ingest`` and by ``omr transcribe queue``) unless none of its
pages holds writing on paper (``grading.essays.ink``: a blank page, a photo). Two judges, each
unaware of the other's values, type its identity block, test code and multiple-choice answers while seeing its
pages; when they agree the values are taken, otherwise a third judge sees both values of each differing field
only and decides it. The rule of agreement (``same``): identity fields after normalising spaces and case
(Unicode NFC, runs of white space as one space, case-folded), the test code and every answer exactly. A judge
who finds the pages are no handwritten entry says so instead (``decline_entry``): the organisers decide, in the
flag queue (``grading.db.referrals``). ``progress`` counts the transcriptions per unit for /admin.

Taken values become the submission's answers page (``grading.db.transcriptions``) with its participant: the
one person on the roster with that name (a roster, when there is one, wins, as for typed entries), else an
entrant made from the identity (``grading.entrants``), else none — flagged ``participant_unmatched``.

Fields, as stored in an entry (``entered``): the identity keys of ``omr.documents.identity`` (``name``,
``date_of_birth``, ``address``, ``unit``, ``class``, ``phone``, ``email``), ``version``, and ``q:<id>`` per
question ("" = blank). Answers are typed as one string, one key per question: the option's letter (either case),
or ``-``, ``0``, ``.`` or a space for a blank; a question where the entrant chose several options takes its letters
in brackets, ``[AB]`` or ``(AB)``, scored as marks "AB" are.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from omr.documents import Question, load_entry_contest
from omr.documents.identity import FIELDS
from omr.errors import LayoutError
from omr.load import LoadOptions, load_page, plan_pages
from omr.records import Flag, SheetFailure, SheetReading, Status
from omr.table import fold_header

from .contest import Roster, load_contest, load_roster
from .db import referrals
from .db import transcriptions as db
from .db.tables import SYSTEM, TranscriptionState
from .essays.ink import holds_writing, measure_ink
from .entrants import Staff, eligibility, entrant_from, load_staff
from .keys import KeySet
from .store import Store

LABELS = {"name": "Họ và tên", "date_of_birth": "Ngày sinh", "address": "Địa chỉ", "unit": "Đơn vị / Trường",
          "class": "Lớp", "phone": "Số điện thoại", "email": "Email", "version": "Mã đề"}
BLANK_KEYS = frozenset("-0. ")
OPEN = {"[": "]", "(": ")"}         # a group of letters for one question: the entrant chose several options
CLOSE = frozenset(OPEN.values())
HANDWRITTEN_LAYOUT = "handwritten"      # ``SheetReading.layout`` of a transcribed page when no layout id applies
QUESTIONS_FILE = "questions.json"
INK_LOAD = LoadOptions(target_long_side_px=1000, min_long_side_px=100)   # enough to tell paper from ink
Settlement = db.Settlement
TranscriptionError = db.TranscriptionError


def normalise(text: str) -> str:
    """An identity value as stored: Unicode NFC, runs of white space as one space, no spaces at the ends."""
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def same(field: str, a: str, b: str) -> bool:
    """Whether two entries of ``field`` agree: identity fields up to spaces and case, the rest exactly."""
    if field in FIELDS:
        return normalise(a).casefold() == normalise(b).casefold()
    return a == b


def label(field: str) -> str:
    return LABELS.get(field) or f"Câu {field.removeprefix('q:')}"


@dataclass(frozen=True)
class Rules:
    """The contest's side of a transcription: its questions and test codes, roster and keys (``rules_for``)."""

    questions: tuple[Question, ...]
    versions: tuple[str, ...] = ()
    default_version: str | None = None
    layout_id: str = HANDWRITTEN_LAYOUT
    roster: Roster | None = None
    keys: KeySet | None = None
    reference_date: date | None = None      # the day ages are counted on (contest.json)
    staff: Staff = Staff()                  # who may not enter (staff.csv)

    @property
    def fields(self) -> tuple[str, ...]:
        return (*FIELDS, "version", *(f"q:{q.id}" for q in self.questions))

    @property
    def asks_version(self) -> bool:
        return len(self.versions) > 1

    # -- what a judge typed ---------------------------------------------------------------------------------
    def answer(self, q: Question, key: str) -> str | None:
        """One typed key as the question's answer ("" blank), ``None`` when it is no option of the question."""
        if key in BLANK_KEYS:
            return ""
        letter = unicodedata.normalize("NFKC", key).upper()
        return letter if letter in q.letters else None

    def group(self, q: Question, letters: str) -> str | None:
        """The letters of a bracketed group (``[AB]``: the entrant chose A and B) as the question's answer, in the
        options' order; ``None`` when one is no option of the question or there is none."""
        chosen = {unicodedata.normalize("NFKC", c).upper() for c in letters if not c.isspace()}
        if not chosen or not chosen <= set(q.letters):
            return None
        return "".join(x for x in q.letters if x in chosen)

    def tokens(self, typed: str) -> tuple[list[str], str | None]:
        """The answers string cut into one token per question: a key, or a bracketed group ``[AB]`` / ``(AB)``
        (its letters, without the brackets, marked by a leading ``[``); and what is wrong with it or ``None``."""
        out: list[str] = []
        i = 0
        while i < len(typed):
            c = typed[i]
            if c in CLOSE:
                return out, f"Câu {len(out) + 1}: «{c}» đóng nhóm mà chưa mở."
            if c not in OPEN:
                out.append(c)
                i += 1
                continue
            end = typed.find(OPEN[c], i + 1)
            inner = typed[i + 1:end] if end > 0 else ""
            if end < 0 or any(x in OPEN or x in CLOSE for x in inner):
                return out, f"Câu {len(out) + 1}: nhóm «{typed[i:i + 6]}…» chưa đóng bằng «{OPEN[c]}»."
            out.append("[" + inner)
            i = end + 1
        return out, None

    def parse_answers(self, typed: str) -> tuple[dict[str, str], str | None]:
        """The answers string → {``q:<id>``: answer}, and what is wrong with it (Vietnamese) or ``None``. One key per
        question; several letters chosen for one question in brackets: ``[AB]`` or ``(AB)``."""
        tokens, why = self.tokens(typed)
        if why:
            return {}, why
        if len(tokens) != len(self.questions):
            return {}, (f"Cần đúng {len(self.questions)} câu (một ký tự mỗi câu, «-» cho câu bỏ trống, [AB] cho câu "
                        f"chọn nhiều phương án); đã nhập {len(tokens)}.")
        out: dict[str, str] = {}
        for q, key in zip(self.questions, tokens):
            a = self.group(q, key[1:]) if key.startswith("[") else self.answer(q, key)
            if a is None:
                shown = f"[{key[1:]}]" if key.startswith("[") else key
                return {}, f"Câu {q.id}: «{shown}» không phải phương án ({', '.join(q.letters)}) hay «-»."
            out[f"q:{q.id}"] = a
        return out, None

    def check_version(self, value: str) -> str | None:
        if value and self.versions and value not in self.versions:
            return f"Mã đề «{value}» không có trong cuộc thi ({', '.join(self.versions)}); để trống nếu bài không ghi."
        return None

    def read_form(self, form: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        """A first or second entry from the page's form: (entered, problems by field)."""
        entered = {k: normalise(str(form.get(k, ""))) for k in FIELDS}
        problems: dict[str, str] = {}
        entered["version"] = normalise(str(form.get("version", "")))
        why = self.check_version(entered["version"])
        if why:
            problems["version"] = why
        answers, why = self.parse_answers(str(form.get("answers", "")))
        if why:
            problems["answers"] = why
        entered.update(answers)
        return entered, problems

    def read_decision(self, form: Mapping[str, Any], differences: tuple[str, ...]
                      ) -> tuple[dict[str, str], dict[str, str]]:
        """The decider's values for the differing fields only: (decided, problems by field)."""
        by_id = {f"q:{q.id}": q for q in self.questions}
        decided: dict[str, str] = {}
        problems: dict[str, str] = {}
        for f in differences:
            raw = str(form.get(f"f:{f}", ""))
            if f in by_id:
                key, q = raw.strip(), by_id[f]
                if len(key) > 1 and key[0] in OPEN and key[-1] == OPEN[key[0]]:
                    a = self.group(q, key[1:-1])
                else:
                    a = self.answer(q, key or "-") if len(key) <= 1 else None
                if a is None:
                    problems[f] = (f"«{raw}» không phải phương án ({', '.join(q.letters)}), «-», hay nhóm phương án "
                                   "như [AB].")
                decided[f] = a or ""
            else:
                decided[f] = normalise(raw)
                why = self.check_version(decided[f]) if f == "version" else None
                if why:
                    problems[f] = why
        return decided, problems

    # -- settling --------------------------------------------------------------------------------------------
    def settle(self, typed: dict[int, dict[str, str]]) -> Settlement:
        """Open until both entries are in; taken when they agree, or once the decider has decided; else disputed
        on the fields that differ."""
        if 1 not in typed or 2 not in typed:
            return Settlement(TranscriptionState.OPEN)
        first, second = typed[1], typed[2]
        differences = tuple(f for f in self.fields if not same(f, first.get(f, ""), second.get(f, "")))
        if not differences:
            return Settlement(TranscriptionState.TAKEN, (), {f: first.get(f, "") for f in self.fields})
        if db.DECIDER not in typed:
            return Settlement(TranscriptionState.DISPUTED, differences)
        decided = typed[db.DECIDER]
        final = {f: decided.get(f, "") if f in differences else first.get(f, "") for f in self.fields}
        return Settlement(TranscriptionState.TAKEN, differences, final)

    def answers_page(self, final: dict[str, str], source: str, page_no: int) -> db.AnswersPage:
        """The taken values as the submission's answers page, and the entrant to record (``None``: the roster's
        person, or nobody) with his eligibility (``grading.entrants``) for an e-mailed entry that lacked him."""
        identity = {k: final.get(k, "") for k in FIELDS}
        version = final.get("version") or self.default_version or (self.versions[0] if len(self.versions) == 1
                                                                    else None)
        answers = {q.id: final.get(f"q:{q.id}", "") for q in self.questions}
        participant, entrant, flags = self.participant(identity)
        reading = SheetReading(source, page_no, self.layout_id, Status.FLAGGED if flags else Status.OK, participant,
                               version, answers, flags)
        if entrant is None:
            return db.AnswersPage(reading)
        eligible = eligibility(identity, entrant_from(identity), self.reference_date, self.staff)
        return db.AnswersPage(reading, entrant, {k: v for k, v in identity.items() if v},
                              tuple(f.as_json() for f in eligible))

    def participant(self, identity: dict[str, str]) -> tuple[str | None, dict[str, Any] | None, tuple[Flag, ...]]:
        name = fold_header(identity.get("name", ""))
        if self.roster is not None and name:
            ids = [p.id for p in self.roster.people if fold_header(p.name) == name]
            if len(ids) == 1:
                return ids[0], None, ()
        e = entrant_from(identity)
        if e is not None:
            return e.id, {"id": e.id, "person_key": e.person_key, "name": e.name, "date_of_birth": e.date_of_birth,
                          "phone": e.phone, "email": e.email, "unit": e.unit, "category": e.category,
                          "school": e.school, "class_name": e.class_name}, ()
        return None, None, (Flag("participant", None, "participant_unmatched",
                                 f"bài viết tay của «{identity.get('name', '')}»: không xác định được thí sinh (cần "
                                 "họ tên với ngày sinh, số điện thoại hoặc email); nhập số báo danh", 0.0),)


PROGRESS_LABELS = (("first", "Chờ lần nhập thứ nhất"), ("second", "Chờ lần nhập thứ hai"),
                   ("third", "Chờ giám khảo thứ ba"), ("referred", "Đã gửi ban tổ chức"), ("taken", "Đã nhận"),
                   ("no_pages", "Trang đã loại bỏ hết"))


def progress_category(state: str, submitted: int, has_pages: bool) -> str:
    """Where a transcription stands, as one of ``PROGRESS_LABELS``' codes."""
    if state == TranscriptionState.TAKEN.value:
        return "taken"
    if state == TranscriptionState.REFERRED.value:
        return "referred"
    if not has_pages:
        return "no_pages"
    if state == TranscriptionState.DISPUTED.value:
        return "third"
    return "first" if submitted == 0 else "second"


@dataclass(frozen=True)
class Progress:
    """Transcriptions by collecting unit ("" unknown) and ``PROGRESS_LABELS`` code."""
    counts: dict[tuple[str, str], int]

    @property
    def units(self) -> list[str]:
        return sorted({u for u, _ in self.counts}, key=lambda u: (u == "", u))

    def row(self, unit: str | None = None) -> list[int]:
        """The counts of one unit, in ``PROGRESS_LABELS``' order (``None``: every unit)."""
        return [sum(n for (u, c), n in self.counts.items() if c == code and unit in (None, u))
                for code, _ in PROGRESS_LABELS]


def progress(store: Store, within: frozenset[str] | None = None) -> Progress:
    """The transcriptions by unit and where they stand, within a unit admin's units when given."""
    counts: dict[tuple[str, str], int] = {}
    for unit, state, submitted, has_pages in db.progress_rows(store, within):
        key = (unit or "", progress_category(state, submitted, has_pages))
        counts[key] = counts.get(key, 0) + 1
    return Progress(counts)


def is_documents_contest(folder: str | Path) -> bool:
    return (Path(folder) / QUESTIONS_FILE).is_file()


def rules_for(folder: str | Path) -> Rules:
    """The transcription rules of a contest folder (``LayoutError``, exit 5, when it is no documents contest)."""
    if not is_documents_contest(folder):
        raise LayoutError(f"{folder} has no {QUESTIONS_FILE}: handwritten entries are transcribed in contests whose "
                          "entries are documents; add questions.json (see answer_keys/demo)")
    ec = load_entry_contest(folder)
    contest = load_contest(folder)
    return Rules(ec.questions.questions, ec.versions, ec.default_version, contest.layout.id or HANDWRITTEN_LAYOUT,
                 load_roster(folder, contest.layout), contest.keys, contest.settings.reference_day,
                 load_staff(folder))


def queue(store: Store, folder: str | Path, *, who: str = SYSTEM) -> int:
    """Queue a transcription for every handwritten submission not yet queued, in a documents contest (in any
    other, nothing: its entries are bubble sheets), unless none of its pages holds writing on paper (a blank page,
    a photo of something else: ``grading.essays.ink``; those stay essay pages with their flags, for the
    organisers). Returns how many were added."""
    if not is_documents_contest(folder):
        return 0
    written = [c.submission_id for c in db.handwritten_candidates(store) if any(map(_writing, c.pages))]
    return db.queue_handwritten(store, who=who, only=written) if written else 0


def _writing(page: tuple[str, int]) -> bool:
    """Whether the page holds writing on paper; a page that cannot be opened counts as writing (a person looks)."""
    refs = plan_pages(page[0], INK_LOAD)
    if isinstance(refs, SheetFailure) or not 1 <= page[1] <= len(refs):
        return True
    image = load_page(refs[page[1] - 1], INK_LOAD)
    return isinstance(image, SheetFailure) or holds_writing(measure_ink(image.image))


DeclineKind = referrals.DeclineKind
DeclineRefused = referrals.DeclineRefused
DECLINE_LABELS = referrals.KIND_LABELS
decline_entry = referrals.decline_entry
take_next = db.take_next
entry_view = db.entry_view
submit_entry = db.submit_entry
transcription_rows = db.transcription_rows
