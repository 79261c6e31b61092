"""The entrant's details from the header block of a typed entry: ``name``, ``date_of_birth`` (ISO, day first
as Vietnamese write it), ``address``, ``unit``, ``class``, ``phone``, ``email``. Labels as people type them
("Họ và tên", "Ho ten", "Ngày, tháng, năm sinh", "Đơn vị / Trường", "SĐT", "E-mail"…), with or without a colon,
in paragraphs or in a table (label | value, or a row of labels above a row of values). A missing or unparseable
field is a flag for the organisers (``class`` may be missing: adults have none); an unparseable value is left
empty in ``identity`` and shown in the flag's evidence — never guessed."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .fold import fold
from .lines import Line
from .records import DocFlag

FIELDS = ("name", "date_of_birth", "address", "unit", "class", "phone", "email")
OPTIONAL = frozenset({"class"})
_LABELS = {
    "name": r"ho\s*(?:va|&|,|/|-)?\s*te(?:n)?(?:\s*(?:thi\s*sinh|nguoi\s*du\s*thi|du\s*thi|hoc\s*sinh))?|"
            r"ten\s*(?:thi\s*sinh|nguoi\s*du\s*thi)|full\s*name|ten(?=\s*:)",
    "date_of_birth": r"ngay\s*[,/]?\s*thang\s*[,/]?\s*nam\s*sinh|ngay\s*sinh|sinh\s*ngay|nam\s*sinh|dob|"
                     r"date\s*of\s*birth",
    "address": r"dia\s*chi(?:\s*(?:thuong\s*tru|lien\s*he|lien\s*lac|noi\s*o|cu\s*tru|hien\s*nay|nha\s*rieng))?|"
               r"noi\s*o(?:\s*hien\s*nay)?|cho\s*o(?:\s*hien\s*nay)?|noi\s*cu\s*tru",
    "unit": r"(?:don\s*vi|truong|co\s*quan|noi\s*(?:cong\s*tac|lam\s*viec|hoc(?:\s*tap)?))"
            r"(?:\s*(?:cong\s*tac|hoc))?(?:\s*(?:/|-|,|hoac|va)\s*(?:don\s*vi|truong|co\s*quan|"
            r"noi\s*(?:cong\s*tac|lam\s*viec|hoc(?:\s*tap)?))(?:\s*(?:cong\s*tac|hoc))?)*",
    "class": r"lop(?:\s*hoc)?",
    "phone": r"so\s*dien\s*thoai(?:\s*(?:lien\s*he|di\s*dong))?|dien\s*thoai(?:\s*(?:lien\s*he|di\s*dong))?|"
             r"s\.?\s*d\.?\s*t|so\s*dt|dt|phone|mobile|di\s*dong",
    "email": r"e\s*-?\s*mail|thu\s*dien\s*tu|gmail",
    # other details people add: they end the value before them and are not kept
    "other": r"gioi\s*tinh|dan\s*toc|ton\s*giao|nghe\s*nghiep|chuc\s*vu|que\s*quan|nguyen\s*quan|"
             r"so\s*(?:cccd|cmnd|can\s*cuoc|dinh\s*danh)|cccd|cmnd|so\s*bao\s*danh|sbd",
}
_LABEL = re.compile("|".join(f"(?P<{'klass' if k == 'class' else k}>(?<![a-z0-9])(?:{v})(?![a-z0-9]))"
                             for k, v in _LABELS.items()))
_TAIL = re.compile(r"([^:\n|]{1,25}):\s*")      # the rest of a longer label, up to its colon
_AFTER = re.compile(r"(?:\s*\([^)]{0,40}\))?\s*(?:[:|]\s*|[-.]+\s+|\s+(?=\S))?")
_LEAD = re.compile(r"^[\s\-•*+>\d.)]*")
_MAX_HEADER_LINES = 40
_STOP = re.compile(r"(?<![a-z0-9])(?:cau|question)\s*\d|trac\s*nghiem|tu\s*luan")
_DMY = re.compile(r"(?<!\d)(\d{1,2})\s*[/\-.]\s*(\d{1,2})\s*[/\-.]\s*(\d{4})(?!\d)")
_WORDS = re.compile(r"(?:ngay\s*)?(\d{1,2})\s*[,/]?\s*thang\s*(\d{1,2})\s*[,/]?\s*(?:nam\s*)?(\d{4})(?!\d)")
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
_PLACEHOLDER = re.compile(r"^[\s.…_\-:]*$")


@dataclass(frozen=True, slots=True)
class IdentityResult:
    identity: dict[str, str]
    flags: tuple[DocFlag, ...]
    lines: frozenset[int]             # the header lines that held the entrant's details
    written: tuple[str, ...]          # the values as written (to scrub them from the essay)


def _field(m: re.Match) -> str:
    name = m.lastgroup or ""
    return "class" if name == "klass" else name


def _labels(line: Line) -> list[tuple[str, int, int]]:
    """(field, label start, value start) for each label the line holds: at its start (colon optional), or later
    after a separator and followed by a colon."""
    f = line.folded
    lead = _LEAD.match(f).end()
    found = []
    for m in _LABEL.finditer(f):
        tail = _TAIL.match(line.text, m.end())
        if tail and not any(ch.isupper() for ch in tail.group(1)):
            end = tail.end()                 # "Đơn vị công tác/học tập:", "Họ và tên (viết in hoa):"
            found.append((_field(m), m.start(), end))
            continue
        after = _AFTER.match(f, m.end())
        end = after.end() if after else m.end()
        at_start = m.start() == lead
        colon = f[m.end():end].strip(" ").startswith((":", "|")) or (after and "(" in f[m.end():end])
        separated = m.start() > 0 and f[m.start() - 1] in " \t|,;"
        if at_start and (colon or len(line.text) < 100) or (separated and colon):
            found.append((_field(m), m.start(), end))
    return found


def _pairs(line: Line) -> list[tuple[str, str]]:
    marks = _labels(line)
    out = []
    for i, (field, _, start) in enumerate(marks):
        end = marks[i + 1][1] if i + 1 < len(marks) else len(line.text)
        value = " ".join(line.text[start:end].split()).strip(" ,;|-")
        out.append((field, value))
    return out


def _label_row(line: Line) -> list[str] | None:
    """The fields of a table row made only of labels (the values are in the row below)."""
    if not line.cells:
        return None
    fields = []
    for cell in line.cells:
        m = _LABEL.fullmatch(fold(cell).strip().rstrip(":").strip())
        if m is None:
            return None
        fields.append(_field(m))
    return fields


def parse_date(text: str) -> str | None:
    """ISO date from "5/9/2007", "05-09-2007", "05.09.2007", "ngày 5 tháng 9 năm 2007", "2007-09-05"; day
    first. ``None`` when there is no such date, or more than one."""
    f = fold(text)
    found = {(int(d), int(m), int(y)) for d, m, y in _DMY.findall(f) + _WORDS.findall(f)}
    found |= {(int(d), int(m), int(y)) for y, m, d in _ISO.findall(f)}
    if len(found) != 1:
        return None
    d, m, y = found.pop()
    if not 1900 <= y <= dt.date.today().year:
        return None
    try:
        return dt.date(y, m, d).isoformat()
    except ValueError:
        return None


def parse_phone(text: str) -> str | None:
    """A Vietnamese number as ten or eleven digits starting with 0 (+84 / 84 written as 0); of two numbers
    ("0912… / 0243…", "0912… hoặc …") the first, which is as good a contact as the second."""
    parts = [p for p in re.split(r"\s*(?:/|;|,|\bhoặc\b|\bhoac\b|\s-\s)\s*", text) if re.search(r"\d", p)]
    if len(parts) > 1 and len(re.sub(r"\D", "", text)) > 11:
        text = parts[0]
    digits = re.sub(r"\D", "", text)
    if text.strip().startswith("+84") or (digits.startswith("84") and len(digits) in (11, 12)):
        digits = "0" + digits[2:]
    return digits if digits.startswith("0") and len(digits) in (10, 11) else None


def parse_email(text: str) -> str | None:
    value = re.sub(r"\s*@\s*", "@", text.strip()).strip(".,;")
    return value if _EMAIL.match(value) else None


_PARSERS = {"date_of_birth": (parse_date, "date_unparseable", "ngày sinh không đọc được thành ngày/tháng/năm"),
            "phone": (parse_phone, "phone_unparseable", "số điện thoại không hợp lệ"),
            "email": (parse_email, "email_unparseable", "địa chỉ e-mail không hợp lệ")}
_NAMES_VI = {"name": "họ và tên", "date_of_birth": "ngày sinh", "address": "địa chỉ", "unit": "đơn vị / trường",
             "class": "lớp", "phone": "số điện thoại", "email": "e-mail"}


def _header_pairs(lines: list[Line]) -> list[tuple[str, str, Line]]:
    pairs: list[tuple[str, str, Line]] = []
    for i, line in enumerate(lines[:_MAX_HEADER_LINES]):
        if _STOP.search(line.folded) and not _labels(line):
            break
        labels = _label_row(line)
        below = lines[i + 1] if i + 1 < len(lines) else None
        if labels and below is not None and below.cells and below.table == line.table:
            pairs += [(f, " ".join(v.split()), below) for f, v in zip(labels, below.cells)]
            continue
        found = [(f, v, line) for f, v in _pairs(line)]
        if found and below is not None and _wrapped(line, below):
            f, v, _ = found[-1]
            joint = ", " if line.text.rstrip().endswith(",") else " "
            found[-1] = (f, f"{v}{joint}{' '.join(below.text.split())}".strip(), line)
            pairs.append((f, "", below))            # the continuation line is part of the identity block
        pairs += found
    return pairs


_VERSION_LINE = re.compile(r"(?<![a-z])ma\s*de(?![a-z])")
_PRINTED_WIDTH = 58           # a printed line this long reached the right margin (A4, 14 pt, pdftotext -layout)


def _wrapped(line: Line, below: Line) -> bool:
    """A PDF's printed value that went on to the next line: the line reached the margin (or the value sits in a
    table's column and the next line is indented to it), and the next line holds no label of its own and is not
    a new paragraph (an empty printed line between them)."""
    if not (line.printed and below.printed) or below.gap_before:
        return False
    if _labels(below) or _STOP.search(below.folded) or _VERSION_LINE.search(below.folded) or len(below.text) > 60:
        return False
    return len(line.raw.rstrip()) >= _PRINTED_WIDTH or (below.raw[:1] == " " and line.cells is not None)


def extract_identity(lines: list[Line]) -> IdentityResult:
    """The entrant's details from the lines before the answers (at most the first 40)."""
    identity = dict.fromkeys(FIELDS, "")
    flags: list[DocFlag] = []
    used: set[int] = set()
    written: list[str] = []
    for field, value, line in _header_pairs(lines):
        used.add(line.index)
        if field == "other":
            continue
        if identity[field] or _PLACEHOLDER.match(value) or any(f.key == field for f in flags):
            continue
        written.append(value)
        parser = _PARSERS.get(field)
        if parser is None:
            identity[field] = value
            continue
        parsed = parser[0](value)
        if parsed is None:
            flags.append(DocFlag("identity", field, parser[1], f"{parser[2]}: cần ban tổ chức kiểm tra",
                                 line.evidence(), 0.0))
        else:
            identity[field] = parsed
    for field in FIELDS:
        if not identity[field] and field not in OPTIONAL and not any(f.key == field for f in flags):
            flags.append(DocFlag("identity", field, "identity_missing",
                                 f"không tìm thấy {_NAMES_VI[field]} của người dự thi", "", 0.0))
    return IdentityResult(identity, tuple(flags), frozenset(used), tuple(written))
