"""Entrants without a roster: who sent an entry, from what the entry itself says.

An *identity* is a dict with the keys ``name``, ``date_of_birth`` (ISO), ``address``, ``unit``, ``class``,
``phone``, ``email`` (and ``school`` when known) — what the document reader produces for a typed entry; until it
does, ``identity_from_text`` reads the same fields from lines such as ``Họ và tên: Nguyễn Văn An`` in the message's
body. From an identity:

Else a file named like its entrant (``identity_from_file_name``: "Nguyễn Văn An - 5.9.2007.pdf").

- ``person_key``: who the person is for the rules — the folded name (no diacritics, no case) with the date of
  birth, else the phone number, else the e-mail address; never the sender (a school sends forty students' entries
  from one address). ``entrant_id`` is derived from it, so the same person gets the same id on every run.
- ``eligibility``: flags with the reason, never a silent drop — ``identity_pending`` (no name and date of birth or
  contact to go on), ``age_unknown`` (no date of birth that can be read), ``under_age`` (under ``MIN_AGE`` on the
  contest's reference date), ``staff`` (on the contest's staff list: organisers, judges, secretariat).

Dates of birth as people write them: ``5/9/2007``, ``05-09-2007``, ``5.9.2007``, ``2007-09-05``, ``ngày 5 tháng 9
năm 2007`` (day first, the Vietnamese order).
"""
from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from omr.errors import InputError
from omr.table import fold_header, header_columns, read_table, table_rows

MIN_AGE = 12
STAFF_FILES = ("staff.csv", "staff.xlsx")
IDENTITY_KEYS = ("name", "date_of_birth", "address", "unit", "class", "phone", "email", "school")
_LABELS = {            # folded labels people write before each field
    "name": ("ho va ten", "ho ten", "ten", "name", "full name", "ten thi sinh", "ho va ten thi sinh"),
    "date_of_birth": ("ngay sinh", "ngay thang nam sinh", "sinh ngay", "date of birth", "dob"),
    "address": ("dia chi", "noi o", "address"),
    "unit": ("don vi", "co quan", "don vi cong tac", "unit"),
    "class": ("lop", "class"),
    "school": ("truong", "school"),
    "phone": ("dien thoai", "so dien thoai", "sdt", "so dt", "dt", "phone"),
    "email": ("email", "e-mail", "thu dien tu"),
}
_LABEL_OF = {label: key for key, labels in _LABELS.items() for label in labels}
_LINE = re.compile(r"^\s*[-*•]?\s*([^:：]{1,40})[:：]\s*(.+?)\s*$")
_DMY = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_WORDS = re.compile(r"^ngay\s+(\d{1,2})\s+thang\s+(\d{1,2})\s+nam\s+(\d{4})$")


@dataclass(frozen=True, slots=True)
class Flag:
    code: str            # identity_pending | age_unknown | under_age | staff | duplicate_participant | late
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Entrant:
    """A participant made from an entry."""
    id: str
    person_key: str
    name: str = ""
    date_of_birth: str = ""          # ISO, "" when unknown
    phone: str = ""
    email: str = ""
    unit: str = ""
    category: str = "other"          # student | other
    school: str = ""
    class_name: str = ""


def identity_from_text(text: str) -> dict[str, str]:
    """The identity fields found in ``Label: value`` lines of ``text`` (the first of each)."""
    found: dict[str, str] = {}
    for line in (text or "").splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        key = _LABEL_OF.get(fold_header(m.group(1)))
        if key and key not in found and m.group(2).strip():
            found[key] = m.group(2).strip()
    if "date_of_birth" in found:
        dob = parse_date_of_birth(found["date_of_birth"])
        found["date_of_birth"] = dob.isoformat() if dob else found["date_of_birth"]
    return found


def identity_from_file_name(name: str) -> dict[str, str]:
    """Name and date of birth from a file named like its entrant ("Nguyễn Văn An - 5.9.2007.pdf",
    "Le_Thi_Chi_05-09-2010.docx"); {} when the name is not made of exactly those two."""
    stem = name.rsplit("/", 1)[-1]
    base, dot, ext = stem.rpartition(".")
    if dot and base and ext.isalpha() and len(ext) <= 5:            # an extension, not a date's last dot
        stem = base
    m = re.match(r"^\s*(.+?)[\s_\-–,]+(\d{1,2}[./\-]\d{1,2}[./\-]\d{4})\s*$", stem)
    if not m:
        return {}
    who = " ".join(m.group(1).replace("_", " ").split())
    born = parse_date_of_birth(m.group(2))
    if born is None or not who or not all(part.isalpha() for part in who.split()) or len(who.split()) < 2:
        return {}
    return {"name": who, "date_of_birth": born.isoformat()}


def identity_from_path(path: str) -> dict[str, str]:
    """Name and date of birth from a file's name, else from the nearest folder named like its entrant
    ("lop9A.zip/Nguyễn Văn An - 5.9.2010/trang1.jpg")."""
    for part in reversed(path.split("/")):
        found = identity_from_file_name(part)
        if found:
            return found
    return {}


def parse_date_of_birth(text: str) -> date | None:
    """A date of birth as people write it (day first), or None when it cannot be read."""
    t = fold_header(text).replace(",", " ").strip()
    t = " ".join(t.split())
    for rx, order in ((_DMY, "dmy"), (_WORDS, "dmy"), (_YMD, "ymd")):
        m = rx.match(t)
        if m:
            a, b, c = (int(g) for g in m.groups())
            d, mo, y = (a, b, c) if order == "dmy" else (c, b, a)
            try:
                return date(y, mo, d)
            except ValueError:
                return None
    return None


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _digits(phone: str) -> str:
    d = re.sub(r"\D", "", phone or "")
    return "0" + d[2:] if d.startswith("84") and len(d) >= 11 else d


def person_key(identity: dict[str, str]) -> str:
    """Who the person is for the rules ("" when the identity says too little)."""
    name, dob = fold_header(identity.get("name", "")), parse_date_of_birth(identity.get("date_of_birth", ""))
    if name and dob:
        return f"n:{name}|{dob.isoformat()}"
    if _digits(identity.get("phone", "")):
        return f"p:{_digits(identity['phone'])}"
    if identity.get("email", "").strip():
        return f"e:{identity['email'].strip().casefold()}"
    return ""


def entrant_id(key: str) -> str:
    return "TS-" + base64.b32encode(hashlib.sha256(key.encode("utf-8")).digest()).decode("ascii")[:8]


def entrant_from(identity: dict[str, str]) -> Entrant | None:
    key = person_key(identity)
    if not key:
        return None
    dob = parse_date_of_birth(identity.get("date_of_birth", ""))
    school, klass = identity.get("school", ""), identity.get("class", "")
    return Entrant(entrant_id(key), key, identity.get("name", "").strip(), dob.isoformat() if dob else "",
                   _digits(identity.get("phone", "")), identity.get("email", "").strip().lower(),
                   identity.get("unit", "").strip() or school.strip(),
                   "student" if (school or klass) else "other", school.strip(), klass.strip())


# -- the staff list -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Staff:
    """Who may not enter: folded name with date of birth, phone numbers, e-mail addresses."""
    names: frozenset[str] = frozenset()          # "name|dob"
    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()

    def matches(self, e: Entrant) -> str:
        """Why ``e`` is on the staff list ("" when not)."""
        if e.name and e.date_of_birth and f"{fold_header(e.name)}|{e.date_of_birth}" in self.names:
            return "name and date of birth"
        if e.phone and e.phone in self.phones:
            return "phone"
        if e.email and e.email in self.emails:
            return "e-mail"
        return ""


_STAFF_COLUMNS = {"name": ("name", "ho va ten", "ho ten", "ten"), "date_of_birth": ("date of birth", "ngay sinh"),
                  "phone": ("phone", "dien thoai", "so dien thoai", "sdt"), "email": ("email", "e-mail")}


def staff_file_name(folder: str | Path) -> str:
    return next((n for n in STAFF_FILES if (Path(folder) / n).exists()), STAFF_FILES[0])


def load_staff(folder: str | Path) -> Staff:
    """``staff.csv``/``staff.xlsx`` in the contest folder (an empty list when there is none); ``InputError``
    (exit 9) when it cannot be read or has no usable column."""
    path = next((Path(folder) / n for n in STAFF_FILES if (Path(folder) / n).exists()), None)
    if path is None:
        return Staff()
    table = read_table(path, what="staff list")
    col = header_columns(table[0] if table else [], _STAFF_COLUMNS)
    if col["name"] is None and col["phone"] is None and col["email"] is None:
        raise InputError(f"staff list {path} needs a header with a name, phone or email column (Họ và tên, Ngày "
                         "sinh, Điện thoại, Email)")
    names, phones, emails = set(), set(), set()
    for _, row in table_rows(table, col):
        dob = parse_date_of_birth(row["date_of_birth"])
        if row["name"] and dob:
            names.add(f"{fold_header(row['name'])}|{dob.isoformat()}")
        if _digits(row["phone"]):
            phones.add(_digits(row["phone"]))
        if row["email"]:
            emails.add(row["email"].casefold())
    return Staff(frozenset(names), frozenset(phones), frozenset(emails))


def eligibility(identity: dict[str, str], entrant: Entrant | None, reference: date | None,
                staff: Staff) -> list[Flag]:
    """The flags an entry carries for who sent it (empty: nothing stops it from being ranked)."""
    if entrant is None:
        return [Flag("identity_pending", "no name with date of birth, phone or e-mail found in the entry yet")]
    flags: list[Flag] = []
    born = parse_date_of_birth(identity.get("date_of_birth", ""))
    if born is None:
        said = identity.get("date_of_birth", "")
        flags.append(Flag("age_unknown", f"date of birth {said!r} cannot be read" if said else "no date of birth"))
    elif reference is not None and age_on(born, reference) < MIN_AGE:
        flags.append(Flag("under_age", f"born {born.isoformat()}: {age_on(born, reference)} on "
                                       f"{reference.isoformat()}, under {MIN_AGE}"))
    why = staff.matches(entrant)
    if why:
        flags.append(Flag("staff", f"on the contest's staff list (same {why})"))
    return flags
