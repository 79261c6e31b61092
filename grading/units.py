"""The contest's units (``units.csv`` in the contest folder, or ``units.xlsx``): who collects entries and who
enters them — city departments, districts, schools, wards.

Columns (header names in English or Vietnamese, compared without diacritics): ``code`` (``Mã``), ``name``
(``Tên đơn vị``), ``kind`` (``Loại``: ``department`` / ``district`` / ``school`` / ``ward`` / ``other``, or in
Vietnamese ``sở``, ``quận``, ``huyện``, ``thị xã``, ``trường``, ``phường``, ``xã``), ``parent`` (``Đơn vị cấp trên``:
another unit's code; a school's district), ``mailbox`` (``Hộp thư``: the address entries are sent to) and
``size`` (``Quy mô``: people in the unit, for participation rates). Only ``code`` and ``name`` are required.

``Units.find`` takes a code or a name as people type it (``--unit Q.HK``, ``--unit "Quận Hoàn Kiếm"``, ``--unit
"quan hoan kiem"``) and refuses anything else with the closest names, so a typo never makes a new unit.
"""
from __future__ import annotations

import difflib
import enum
from dataclasses import dataclass
from pathlib import Path

from omr.errors import InputError
from omr.table import fold_header, header_columns, read_table, table_rows

UNITS_FILES = ("units.csv", "units.xlsx")
CITY_MARKERS = frozenset({"city", "thanh pho"})     # folded: the city's own accounts (``city``, ``thành phố``)


class UnitKind(enum.Enum):
    DEPARTMENT = "department"
    DISTRICT = "district"
    SCHOOL = "school"
    WARD = "ward"
    OTHER = "other"


_KIND_WORDS = {           # folded words organisers write in the kind column
    "department": UnitKind.DEPARTMENT, "so": UnitKind.DEPARTMENT, "ban": UnitKind.DEPARTMENT,
    "nganh": UnitKind.DEPARTMENT, "so ban nganh": UnitKind.DEPARTMENT,
    "district": UnitKind.DISTRICT, "quan": UnitKind.DISTRICT, "huyen": UnitKind.DISTRICT,
    "thi xa": UnitKind.DISTRICT, "quan/huyen": UnitKind.DISTRICT, "quan huyen": UnitKind.DISTRICT,
    "school": UnitKind.SCHOOL, "truong": UnitKind.SCHOOL, "truong hoc": UnitKind.SCHOOL,
    "ward": UnitKind.WARD, "phuong": UnitKind.WARD, "xa": UnitKind.WARD, "thi tran": UnitKind.WARD,
    "other": UnitKind.OTHER, "khac": UnitKind.OTHER, "": UnitKind.OTHER,
}
_COLUMNS = {
    "code": ("code", "ma", "ma don vi"),
    "name": ("name", "ten", "ten don vi", "don vi"),
    "kind": ("kind", "loai", "loai don vi"),
    "parent": ("parent", "don vi cap tren", "cap tren", "ma cap tren"),
    "mailbox": ("mailbox", "email", "hop thu", "thu dien tu"),
    "size": ("size", "quy mo", "so nguoi", "so luong"),
}


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    name: str
    kind: UnitKind = UnitKind.OTHER
    parent: str = ""            # the parent unit's code ("" at the top)
    mailbox: str = ""
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Units:
    units: tuple[Unit, ...]

    def by_code(self) -> dict[str, Unit]:
        return {u.code: u for u in self.units}

    def find(self, text: str) -> Unit:
        """The unit whose code or name is ``text`` (codes exact but case-insensitive, names folded)."""
        wanted = fold_header(text)
        for u in self.units:
            if wanted in (fold_header(u.code), fold_header(u.name)):
                return u
        names = [u.name for u in self.units] + [u.code for u in self.units]
        close = difflib.get_close_matches(text, names, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else " (see the contest's units file)"
        raise InputError(f"unit {text!r} is not in the contest's units file{hint}")

    def by_mailbox(self, address: str) -> Unit | None:
        """The unit whose mailbox is ``address`` (case-insensitive), if any."""
        a = address.strip().casefold()
        return next((u for u in self.units if u.mailbox and u.mailbox.casefold() == a), None)

    def top(self, code: str) -> Unit:
        """The unit's district or department: itself if it has no parent, else its parent's top."""
        units, seen = self.by_code(), set()
        unit = units[code]
        while unit.parent and unit.parent in units and unit.code not in seen:
            seen.add(unit.code)
            unit = units[unit.parent]
        return unit


    def below(self, code: str) -> tuple[Unit, ...]:
        """The unit and every unit under it in the parent tree (a district and its schools and wards)."""
        children: dict[str, list[Unit]] = {}
        for u in self.units:
            children.setdefault(u.parent, []).append(u)
        units = self.by_code()
        out, todo, seen = [], [units[code]], set()
        while todo:
            u = todo.pop()
            if u.code in seen:
                continue
            seen.add(u.code)
            out.append(u)
            todo.extend(children.get(u.code, ()))
        return tuple(out)


def recorded_unit(folder: str | Path, text: str, *, city: bool = False) -> str:
    """A unit typed on the command line (``--unit``) as it is stored: the code of the units file's unit, typed as
    its code or its name (a typo refused with the closest names: ``InputError``, exit 9); with no units file, the
    text as typed (spaces tidied). ``city``: the city marker (``city``, ``thành phố``) is kept as typed."""
    text = " ".join(text.split())
    units = load_units(folder)
    if units is None or not text or (city and fold_header(text) in CITY_MARKERS):
        return text
    return units.find(text).code


def units_file(folder: str | Path) -> Path | None:
    return next((Path(folder) / n for n in UNITS_FILES if (Path(folder) / n).exists()), None)


def load_units(folder: str | Path) -> Units | None:
    """The contest's units (every problem at once: ``InputError``, exit 9), or ``None`` when there is no file."""
    path = units_file(folder)
    return None if path is None else units_from_table(read_table(path, what="units file"), source=str(path))


def _size(text: str) -> int | None:
    text = text.replace(".", "").replace(",", "").replace(" ", "")
    return int(text) if text.isdigit() else None


def units_from_table(table: list[list[str]], *, source: str) -> Units:
    col = header_columns(table[0] if table else [], _COLUMNS)
    if col["code"] is None or col["name"] is None:
        raise InputError(f"units file {source} needs a header row with code and name columns (or Mã and Tên đơn "
                         f"vị); it has: {', '.join(table[0]) if table else 'nothing'}")

    out: list[Unit] = []
    problems: list[str] = []
    codes: dict[str, int] = {}
    names: dict[str, int] = {}
    for n, row in table_rows(table, col):
        code, name, kind, size = row["code"], row["name"], row["kind"], row["size"]
        if not code or not name:
            problems.append(f"line {n}: needs a code and a name")
            continue
        for key, seen, what in ((fold_header(code), codes, "code"), (fold_header(name), names, "name")):
            if key in seen:
                problems.append(f"line {n}: {what} {code if what == 'code' else name!r} is already on line "
                                f"{seen[key]}")
            seen.setdefault(key, n)
        if fold_header(kind) not in _KIND_WORDS:
            problems.append(f"line {n}: kind {kind!r} is not one of {', '.join(k.value for k in UnitKind)}")
        if size and _size(size) is None:
            problems.append(f"line {n}: size {size!r} is not a whole number")
        out.append(Unit(code, name, _KIND_WORDS.get(fold_header(kind), UnitKind.OTHER), row["parent"],
                        row["mailbox"], _size(size) if size else None))
    known = {u.code for u in out}
    problems += [f"unit {u.code}: parent {u.parent!r} is not a unit code in the file" for u in out
                 if u.parent and u.parent not in known]
    problems += _cycles(out)
    if problems or not out:
        raise InputError(f"units file {source} has problems" if problems else f"units file {source} is empty",
                         details=problems)
    return Units(tuple(out))


def _cycles(units: list[Unit]) -> list[str]:
    parent = {u.code: u.parent for u in units}
    bad = []
    for code in parent:
        seen, at = {code}, parent[code]
        while at and at in parent:
            if at in seen:
                bad.append(f"unit {code}: its parents go round in a circle")
                break
            seen.add(at)
            at = parent[at]
    return bad
