"""The multiple-choice answers of a typed entry, from its lines: "Câu 1: B", "1 – b", "Câu1:B", "1B 2C 3A",
"Câu 1. Đáp án: B. Nộp hồ sơ…", a question copied then "Đáp án đúng là B" on a line of its own, a copied option
marked "✓" or "(x)", tables (question | answer, options as columns with a mark, or questions in a row above
their answers), an option written out in words (``answertext``). Every question of the contest gets an
``Answer``: letters, a confidence and the evidence; a question not answered is blank; anything doubtful is a
``DocFlag`` with the evidence — never a guess.

A number at the start of a line ("3. …") is weak evidence (addresses, numbered essay paragraphs): it counts only
inside the span of the document's clear answers, unless the line holds nothing but a letter.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .answertext import Outcome, Parsed, parse_answer
from .fold import fold
from .lines import Line
from .questions import Question, Questions
from .records import Answer, DocFlag

_Q_MARK = re.compile(r"(?<![a-z0-9])(?:cau\s*hoi|cau|question)\s*(?:so\s*)?(\d{1,3})(?![0-9])")
_BARE = re.compile(r"^[\s\-•*]*(\d{1,3})(?![0-9])(?=\s*[.:)\-|/=]|\s*[a-z](?![a-z0-9])|\s+\S)")
_ONLY_LETTER = re.compile(r"^[\s.:)\-=|/]*[a-z](?![a-z0-9])[\s.,;]*$")
_MULTI = re.compile(r"^(?:(?:cau\s*)?\d{1,3}\s*[.:)\-=]*\s*[a-z](?![a-z0-9])\s*[,;|.]?\s*){2,}$")
_RANGE = re.compile(r"^[\s\-•*]*(?:(?:tu\s*)?(?:cac\s*)?cau\s*(?:hoi\s*)?)?(\d{1,3})\s*(?:-|den|→|toi)\s*"
                    r"(?:cau\s*)?(\d{1,3})\s*[:.)=]?\s*([a-h](?:[\s,;.]*[a-h](?![a-z0-9]))*|[a-h]+)[\s.]*$")
_RANGE_LETTER = re.compile(r"[a-h]+")
_PAIR = re.compile(r"(\d{1,3})\s*[.:)\-=]*\s*([a-z])(?![a-z0-9])")
_ANSWER_LINE = re.compile(r"^[\s→=>\-]*(?:dap\s*an|tra\s*loi|em\s*chon|toi\s*chon|chon|phuong\s*an\s*(?:dung|chon)|"
                          r"ket\s*qua)(?![a-z0-9])|^\s*→")
_OPTION_LINE = re.compile(r"^[\s\-•*]*([a-h])\s*[.)]\s+")
_MARK = re.compile(r"[✓✔☑☒✗✘■●◉⊠⊗]|\(\s*x\s*\)|\[\s*x\s*\]|←|<-|\((?:chon|dap an|dung)\)")
_CELL_MARK = re.compile(r"^\s*(?:x|[✓✔☑☒✗✘■●◉⊠⊗]|v|\*)\s*$")
_Q_CELL = re.compile(r"^\s*(?:(?:cau\s*(?:hoi\s*)?)?(\d{1,3})|cau\s*(?:hoi\s*)?so\s*(\d{1,3}))\s*[.:)]?\s*$")
_Q_HEAD = re.compile(r"^\s*(?:cau(?:\s*hoi)?(?:\s*so)?|so\s*cau|question)\s*$")
_ORDER_HEAD = re.compile(r"^\s*(?:stt|tt|so\s*thu\s*tu|thu\s*tu)\s*$")
_ACROSS_Q = re.compile(r"^\s*(?:cau(?:\s*hoi)?|stt|so\s*cau|question)(?![a-z])[\s|:]*\d{1,3}(?:[\s|]+\d{1,3})+[\s|]*$")
_ACROSS_A = re.compile(r"^\s*(?:dap(?:\s*an)?|tra\s*loi|chon|phuong\s*an|lua\s*chon)(?![a-z])[\s|:]*[a-h](?![a-z])")
_REASON_TEXT = {
    Outcome.UNMATCHED: "câu trả lời viết bằng chữ không khớp phương án nào",
    Outcome.AMBIGUOUS: "câu trả lời viết bằng chữ gần với nhiều phương án",
    Outcome.UNKNOWN_OPTION: "chọn một phương án không có trong câu hỏi",
    Outcome.MISMATCH: "chữ cái và nội dung phương án viết kèm không khớp nhau",
    Outcome.UNPLACED: "không xác định được dấu chọn / chữ cái thuộc cột nào của bảng (bản PDF)",
    Outcome.OUT_OF_SEQUENCE: "số câu trong bảng không liền mạch với hai câu bên cạnh (có thể đọc sai số câu)",
}


@dataclass(frozen=True, slots=True)
class Hit:
    question: str
    parsed: Parsed
    evidence: str
    line: int
    strong: bool


@dataclass(frozen=True, slots=True)
class AnswerResult:
    answers: tuple[Answer, ...]
    flags: tuple[DocFlag, ...]
    used_lines: frozenset[int]        # lines that held answers, copied questions or their options
    found: bool                       # the document answers at least one question


def _segments(line: Line) -> list[tuple[str, str, bool]]:
    """(question number, what follows it, strong) for each question the line names."""
    f = line.folded
    span = _RANGE.match(f)
    if span:
        first, last = int(span.group(1)), int(span.group(2))
        letters = [(m.start(), m.end()) for m in _RANGE_LETTER.finditer(f, span.start(3))]
        if len(letters) == 1 and last - first + 1 > 1:          # "BCADB" written as one word
            s0 = letters[0][0]
            letters = [(s0 + i, s0 + i + 1) for i in range(letters[0][1] - s0)]
        if last - first + 1 == len(letters):
            return [(str(first + i), line.text[a:b], True) for i, (a, b) in enumerate(letters)]
        return []
    if _MULTI.match(f):
        return [(str(int(m.group(1))), line.text[m.start(2):m.end(2)], True) for m in _PAIR.finditer(f)]
    marks = list(_Q_MARK.finditer(f))
    if marks:
        ends = [m.start() for m in marks[1:]] + [len(f)]
        return [(str(int(m.group(1))), line.text[m.end():end], True) for m, end in zip(marks, ends)]
    bare = _BARE.match(f)
    if bare:
        rest = f[bare.end():]
        return [(str(int(bare.group(1))), line.text[bare.end():], bool(_ONLY_LETTER.match(rest)))]
    return []


class _Scan:
    """Walks the lines once, keeping the question whose answer may follow on the next lines."""

    def __init__(self, questions: dict[str, Question]):
        self.qs = questions
        self.hits: list[Hit] = []
        self.pending: str | None = None
        self.listed: dict[str, list[tuple[str, Line]]] = {}
        self.used: set[int] = set()
        self.dangling: tuple[str, int] | None = None   # "… Câu 17:" ending a line: its letter may open the next

    def _carried(self, line: Line) -> None:
        """A printed line that broke after "Câu 17:": the letter that opens the next line is its answer."""
        dangling, self.dangling = self.dangling, None
        if dangling is None or dangling[1] != line.index - 1:
            return
        first = _Q_MARK.search(line.folded)
        head = line.text[:first.start()] if first else line.text
        if _ONLY_LETTER.match(fold(head)):
            p = parse_answer(head, self.qs[dangling[0]])
            if p.outcome is not Outcome.EMPTY:
                self.hits.append(Hit(dangling[0], p, line.evidence(), line.index, True))

    def line(self, line: Line, *, in_essay: bool = False) -> None:
        """``in_essay``: the line is under an essay heading, where only a clear letter counts (an essay question
        may be numbered "Câu 1" too; answers written after an essay without a heading of their own still do)."""
        self._carried(line)
        segs = [s for s in _segments(line) if s[0] in self.qs and (s[2] or not in_essay)]
        if not segs:
            if not in_essay or self.pending is not None:
                self._follow_up(line)
            return
        for qid, rest, strong in segs:
            p = parse_answer(rest, self.qs[qid])
            if in_essay and p.outcome is not Outcome.CHOSEN:
                self.pending = None
                continue
            # a bare "3." with nothing after it is too weak to wait for an answer on the next lines
            self.pending = qid if strong or p.outcome is not Outcome.EMPTY else None
            if p.outcome in (Outcome.EMPTY, Outcome.QUESTION):
                if p.outcome is Outcome.QUESTION:
                    self.used.add(line.index)
                elif strong and (qid, rest) == segs[-1][:2]:
                    self.dangling = (qid, line.index)
                continue
            self.hits.append(Hit(qid, p, line.evidence(), line.index, strong))
            if p.outcome is not Outcome.UNMATCHED:
                self.pending = None

    def _follow_up(self, line: Line) -> None:
        qid = self.pending
        if qid is None:
            return
        q = self.qs[qid]
        opt = _OPTION_LINE.match(line.folded)
        if opt and opt.group(1).upper() in q.letters:
            self.listed.setdefault(qid, []).append((opt.group(1).upper(), line))
            self.used.add(line.index)
            if _MARK.search(line.folded):
                self.hits.append(Hit(qid, Parsed(Outcome.CHOSEN, opt.group(1).upper(), 1.0, "marked"),
                                     line.evidence(), line.index, True))
            return
        if _ANSWER_LINE.match(line.folded):
            p = parse_answer(line.text, q)
            if p.outcome not in (Outcome.EMPTY, Outcome.QUESTION):
                self.hits.append(Hit(qid, p, line.evidence(), line.index, True))
                self.pending = None


def _table_hits(rows: list[Line], qs: dict[str, Question]) -> list[Hit]:
    """Answers in one table: a row per question (number | … | answer), options as columns marked with "x", or a
    row of question numbers above a row of answers."""
    hits: list[Hit] = []
    option_cols: dict[int, str] = {}
    header = rows[0]
    odd = _out_of_sequence([_row_number(r) for r in rows])
    for i, row in enumerate(rows):
        cells = row.cells or ()
        fcells = [_fold_cell(c) for c in cells]
        letters = {j: c.upper() for j, c in enumerate(fcells) if j and len(c) == 1 and c.isalpha()}
        if len(letters) >= 2 and "".join(letters.values()) == "ABCDEFGH"[:len(letters)] and \
                len(cells) - len(letters) <= 2:           # "Câu | A | B | C | D", "STT | Câu hỏi | A | B | C | D"
            option_cols = letters
            header = row
            continue
        if _ACROSS_Q.match(row.folded) and i + 1 < len(rows) and _ACROSS_A.match(rows[i + 1].folded):
            hits += _row_pairs(row, rows[i + 1], qs)
            continue
        qid = _qid(fcells[0], qs) if fcells else None
        if qid is None or len(cells) < 2:
            continue
        if i in odd:
            hits.append(Hit(qid, Parsed(Outcome.OUT_OF_SEQUENCE), row.evidence(), row.index, True))
            continue
        if option_cols:
            if len(cells) == len(header.cells or ()):
                chosen = "".join(option_cols[j] for j in sorted(option_cols)
                                 if j < len(cells) and _CELL_MARK.match(fcells[j]))
            elif header.spans and row.spans:      # printed rows placed on the page: the column under each mark
                chosen = _marked_by_x(header.spans, row.spans)
            elif _page(header) == _page(row):     # a printed row: empty cells left no gap; the column tells
                chosen = _marked_by_position(header.raw, row.raw)
            else:
                chosen = ""
            if not chosen and any(_CELL_MARK.match(c) for c in fcells[1:]):
                hits.append(Hit(qid, Parsed(Outcome.UNPLACED), row.evidence(), row.index, True))
                continue
            if chosen:
                hits.append(Hit(qid, Parsed(Outcome.CHOSEN, chosen, 1.0, "multiple" if len(chosen) > 1 else ""),
                                row.evidence(), row.index, True))
            continue
        hits += _row_answers(row, header, qid, fcells, qs)
    return hits


def _qid(folded_cell: str, qs: dict[str, Question]) -> str | None:
    m = _Q_CELL.match(folded_cell)
    qid = str(int(m.group(1) or m.group(2))) if m else None
    return qid if qid in qs else None


def _row_answers(row: Line, header: Line, qid: str, fcells: list[str], qs: dict[str, Question]) -> list[Hit]:
    """A row of (number | … | answer) groups — "1 | B", "1 | B | 51 | C" (several pairs a row), "STT | Câu |
    Đáp án": a group starts at each cell that names a question of the contest and its answer is its last
    non-empty cell. A group with nothing in it is a question left blank when the header names a question
    ("Câu") over every group, an order number when it comes first under "STT"; otherwise the row cannot be
    split with certainty: a flag, never a guess."""
    cells = row.cells or ()
    starts = [j for j in range(len(fcells)) if _qid(fcells[j], qs)]
    groups = [(j, [k for k in range(j + 1, end) if cells[k].strip()])
              for j, end in zip(starts, [*starts[1:], len(cells)])]
    heads = [_fold_cell(c) for c in header.cells or ()] if header is not row else []
    if len(groups) > 1 and not all(filled for _, filled in groups):
        if all(j < len(heads) and _Q_HEAD.match(heads[j]) for j, _ in groups):
            groups = [g for g in groups if g[1]]              # "Câu | Đáp án | Câu | Đáp án": a pair left blank
        elif groups[0][0] == 0 and not groups[0][1] and heads and _ORDER_HEAD.match(heads[0]):
            groups = groups[1:]                               # "STT | Câu | Đáp án": the order number first
        if not all(filled for _, filled in groups):
            return [Hit(qid, Parsed(Outcome.UNPLACED), row.evidence(), row.index, True)]
    hits = []
    for j0, filled in groups:
        if not filled:
            continue
        j, q = filled[-1], _qid(fcells[j0], qs)
        assert q is not None
        p = parse_answer(cells[j], qs[q])
        if p.outcome not in (Outcome.EMPTY, Outcome.QUESTION):
            where = f"{row.where}, ô {j + 1}"
            hits.append(Hit(q, p, row.evidence(cells[j0] + " | " + cells[j], where), row.index, True))
    return hits


def _row_number(row: Line) -> int | None:
    m = _Q_CELL.match(_fold_cell(row.cells[0])) if row.cells else None
    return int(m.group(1) or m.group(2)) if m else None


def _out_of_sequence(numbers: list[int | None]) -> set[int]:
    """Positions whose question number breaks the run its two neighbours make ("21 | 2 | 23", rows 24, 45, 26):
    a number misread by the OCR, whose answer must not go to another question."""
    out = set()
    for k in range(1, len(numbers) - 1):
        a, n, b = numbers[k - 1], numbers[k], numbers[k + 1]
        if a is not None and n is not None and b is not None and b == a + 2 and n != a + 1:
            out.add(k)
    return out


_LETTER_AT = re.compile(r"(?<!\S)([A-Ha-h])(?!\S)")
_MARK_AT = re.compile(r"(?<!\S)(?:[xXvV*]|[✓✔☑☒✗✘■●◉⊠⊗])(?!\S)")


def _marked_by_position(header: str, row: str) -> str:
    """The options whose column (in the header's printed line) holds a mark of the row's printed line; a mark
    between two columns gives nothing (the row is then blank: read by a person from the flag below)."""
    cols = [(m.start(), m.group(1).upper()) for m in _LETTER_AT.finditer(header)][-8:]
    found = []
    for m in _MARK_AT.finditer(row):
        if m.start() == 0:
            continue
        near = sorted((abs(m.start() - pos), letter) for pos, letter in cols)
        if near and near[0][0] <= 3 and (len(near) == 1 or near[1][0] > near[0][0] + 2):
            found.append(near[0][1])
    return "".join(sorted(set(found)))


def _marked_by_x(header: tuple[tuple[float, str], ...], row: tuple[tuple[float, str], ...]) -> str:
    """The options whose printed column (the header's letters, where the page prints them: the same on every
    page a table runs over) holds a mark of the row; a mark not clearly under one letter gives nothing (then a
    flag). The row's first piece is its question number."""
    cols = sorted((x, t.strip().upper()) for x, t in header if re.fullmatch(r"\s*[A-Ha-h]\s*", t))
    if len(cols) < 2:
        return ""
    step = min(b[0] - a[0] for a, b in zip(cols, cols[1:]))
    found = []
    for x, t in row[1:]:
        if not _CELL_MARK.match(_fold_cell(t)):
            continue
        near = sorted((abs(x - cx), letter) for cx, letter in cols)
        if near[0][0] > 0.3 * step or near[1][0] - near[0][0] < 0.4 * step:
            return ""
        found.append(near[0][1])
    return "".join(sorted(set(found)))


def _fold_cell(text: str) -> str:
    return fold(text).strip()


def _page(line: Line) -> str:
    return line.where.split(",")[0]


_NUM_AT = re.compile(r"(?<!\S)(\d{1,3})(?!\S)")


def _pairs_by_position(qrow: Line, arow: Line, qs: dict[str, Question]) -> list[Hit]:
    """A printed row of question numbers above a row of letters: each number takes the letter in its column
    (within 3 characters, and nearer than any other); a number without one is a flag, never a neighbour's."""
    letters = [(m.start(), m.group(1)) for m in _LETTER_AT.finditer(arow.raw)]
    hits = []
    for m in _NUM_AT.finditer(qrow.raw):
        qid = str(int(m.group(1)))
        if qid not in qs:
            continue
        near = sorted((abs(m.start() - pos), letter) for pos, letter in letters)
        ok = near and near[0][0] <= 3 and (len(near) == 1 or near[1][0] > near[0][0] + 2)
        evidence = arow.evidence(f"{qrow.raw.strip()} / {arow.raw.strip()}")
        p = parse_answer(near[0][1], qs[qid]) if ok else Parsed(Outcome.UNPLACED)
        hits.append(Hit(qid, p, evidence, arow.index, True))
    return hits


def _row_pairs(qrow: Line, arow: Line, qs: dict[str, Question]) -> list[Hit]:
    if qrow.row is None or len(qrow.cells or ()) != len(arow.cells or ()):     # printed rows (a PDF)
        if _page(qrow) == _page(arow):
            return _pairs_by_position(qrow, arow, qs)
        return [Hit(str(int(n)), Parsed(Outcome.UNPLACED), arow.evidence(f"{qrow.raw.strip()} / {arow.raw.strip()}"),
                    arow.index, True) for n in _NUM_AT.findall(qrow.raw) if str(int(n)) in qs]
    hits = []
    numbers = [None] + [_row_number(Line(0, "", "", "", (c,))) for c in (qrow.cells or ())[1:]]
    odd = _out_of_sequence(numbers)
    for j, (qc, ac) in enumerate(zip(qrow.cells or (), arow.cells or ())):
        qid = _qid(_fold_cell(qc), qs) if j else None
        if qid is None:
            continue
        if j in odd:
            hits.append(Hit(qid, Parsed(Outcome.OUT_OF_SEQUENCE), arow.evidence(f"{qrow.raw} / {arow.raw}"),
                            arow.index, True))
        elif ac.strip():
            p = parse_answer(ac, qs[qid])
            if p.outcome not in (Outcome.EMPTY, Outcome.QUESTION):
                hits.append(Hit(qid, p, arow.evidence(f"{qc} | {ac}", f"{arow.where}, ô {j + 1}"), arow.index, True))
    return hits


_EMPHASIS_VI = {"bold": "in đậm", "highlight": "tô nền", "color": "chữ màu", "underline": "gạch chân"}


def _formatted_choice(qid: str, listed: list[tuple[str, Line]]) -> list[Hit]:
    """Copied options of which some carry a formatting the others do not (bold, highlight, colour, underline):
    those are the ones chosen."""
    if len(listed) < 2:
        return []
    common = frozenset.intersection(*(line.emphasis for _, line in listed))
    marked = [(letter, line, line.emphasis - common) for letter, line in listed if line.emphasis - common]
    if not marked or len(marked) == len(listed):
        return []
    letters = "".join(sorted({letter for letter, _, _ in marked}))
    how = ", ".join(_EMPHASIS_VI[k] for k in sorted(marked[0][2]))
    return [Hit(qid, Parsed(Outcome.CHOSEN, letters, 0.9, "multiple" if len(letters) > 1 else ""),
                "; ".join(line.evidence() for _, line, _ in marked) + f" ({how})", marked[0][1].index, True)]


def _region(hits: list[Hit]) -> tuple[int, int] | None:
    strong = [h.line for h in hits if h.strong]
    if strong:
        return min(strong), max(strong)
    weak = [h.line for h in hits if h.parsed.outcome is Outcome.CHOSEN]
    return (min(weak), max(weak)) if len(weak) >= 3 else None


def _union(q: Question, hits: list[Hit]) -> str:
    letters = {c for h in hits for c in h.parsed.letters if c in q.letters}
    return "".join(c for c in q.letters if c in letters)


def _flag(q: Question, reason: str, message: str, hits: list[Hit], confidence: float = 0.0) -> DocFlag:
    evidence = "; ".join(dict.fromkeys(h.evidence for h in hits))
    return DocFlag("question", q.id, reason, f"Câu {q.id}: {message}", evidence, confidence)


def resolve(q: Question, hits: list[Hit], listed: int) -> tuple[Answer, DocFlag | None]:
    """One question's answer from everything the document says about it."""
    if not hits:
        if listed >= 2:
            return Answer(q.id, "", 0.0), DocFlag(
                "question", q.id, "options_listed_unmarked",
                f"Câu {q.id}: các phương án được chép lại nhưng không thấy phương án nào được đánh dấu bằng chữ "
                "(có thể được tô đậm hoặc tô màu): cần người xem bản gốc", "", 0.0)
        return Answer(q.id, "", 1.0), None
    chosen = [h for h in hits if h.parsed.outcome is Outcome.CHOSEN]
    bad = [h for h in hits if h.parsed.outcome is not Outcome.CHOSEN
           and not (chosen and h.parsed.outcome is Outcome.UNMATCHED)]
    evidence = "; ".join(dict.fromkeys(h.evidence for h in hits))
    letters = _union(q, chosen + [h for h in bad if h.parsed.outcome is Outcome.MISMATCH])
    if bad:
        first = bad[0].parsed
        detail = f" ({first.note})" if first.note else ""
        return (Answer(q.id, letters, 0.0, evidence),
                _flag(q, first.outcome.value, _REASON_TEXT[first.outcome] + detail, hits, first.confidence))
    if len({h.parsed.letters for h in chosen}) > 1:
        return (Answer(q.id, letters, 0.0, evidence),
                _flag(q, "contradictory_answers", "trả lời nhiều lần với các phương án khác nhau", hits))
    confidence = min(h.parsed.confidence for h in chosen)
    if len(letters) > 1:
        return (Answer(q.id, letters, confidence, evidence),
                _flag(q, "multiple_answers", f"chọn nhiều phương án ({', '.join(letters)})", hits, confidence))
    changed = [h.parsed.note for h in chosen if h.parsed.note.startswith("changed")]
    if changed:
        evidence += f" [{changed[0]}]"
    return Answer(q.id, letters, confidence, evidence), None


def extract_answers(lines: list[Line], questions: Questions, *, skip: frozenset[int] = frozenset(),
                    essay: frozenset[int] = frozenset()) -> AnswerResult:
    """Every question's answer; ``skip``: lines that are not answers (identity, test code); ``essay``: lines under
    an essay heading."""
    qs = questions.by_id()
    scan = _Scan(qs)
    seen_tables: set[int] = set()
    for line in lines:
        if line.index in skip:
            continue
        if line.table is None:
            scan.line(line, in_essay=line.index in essay)
            continue
        if line.table in seen_tables:
            continue
        seen_tables.add(line.table)
        rows = [x for x in lines if x.table == line.table and x.index not in skip]
        found = _table_hits(rows, qs)
        scan.hits += found
        answered_rows = {h.line for h in found}
        for row in rows:
            if row.index in answered_rows:
                continue
            for j, cell in enumerate(row.cells or ()):
                if cell.strip():
                    scan.line(Line(row.index, cell, fold(cell), f"{row.where}, ô {j + 1}"),
                              in_essay=row.index in essay)
        scan.pending = None
    scan.hits += [h for qid, listed in scan.listed.items() for h in _formatted_choice(qid, listed)]
    region = _region(scan.hits)
    hits = [h for h in scan.hits if h.strong or (region and region[0] <= h.line <= region[1])]
    by_q: dict[str, list[Hit]] = {}
    for h in hits:
        by_q.setdefault(h.question, []).append(h)
    answers, flags = [], []
    for q in questions.questions:
        answer, flag = resolve(q, by_q.get(q.id, []), len(scan.listed.get(q.id, ())))
        answers.append(answer)
        if flag is not None:
            flags.append(flag)
    used = scan.used | {h.line for h in hits}
    if hits and any(not a.letters for a in answers):
        flags += _unread(lines, skip | essay | used)
    # options of the contest's questions copied out are an answer document even when no mark could be read in
    # it (bold in a PDF, say): its questions are flags for a person, never an essay page that loses them
    copied = any(f.reason == "options_listed_unmarked" for f in flags)
    return AnswerResult(tuple(answers), tuple(flags), frozenset(used), bool(hits) or copied)


_STRAY = re.compile(r"(?<![a-z0-9])[a-h](?![a-z0-9])")
_RUN = re.compile(r"(?<![a-z0-9])[a-e]{4,}(?![a-z0-9])")       # "BCADB": answers written as one word
_OPTION_HEADER = re.compile(r"^[\s|]*(?:cau(?:\s*hoi)?|stt|so\s*cau|question)?[\s|:]*(?:[a-h](?![a-z0-9])[\s|]*){2,}$")


def _unread(lines: list[Line], known: frozenset[int]) -> list[DocFlag]:
    """Lines that look like answers but gave none (three or more lone option letters), while some questions are
    blank: a format this reader does not know must not pass as unanswered questions."""
    stray = [x for x in lines if x.index not in known and len(x.text) < 200
             and (len(_STRAY.findall(x.folded)) >= 3 or _RUN.search(x.folded))
             and not _OPTION_HEADER.match(x.folded)]
    if not stray:
        return []
    evidence = "; ".join(x.evidence() for x in stray[:3]) + (f" (+{len(stray) - 3})" if len(stray) > 3 else "")
    return [DocFlag("document", None, "unread_answers", "có dòng trông như câu trả lời trắc nghiệm nhưng không đọc "
                    "được: các câu để trống cần người xem bản gốc", evidence, 0.0)]
