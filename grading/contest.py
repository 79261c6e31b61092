"""A contest is data in its folder (``answer_keys/<contest>/``): the sheet (``layout.json``), the answer keys
(``keys.json``), the essay rubric (``rubric.json``, optional), the roster (``roster.csv`` or ``roster.xlsx``,
optional), the settings (``contest.json``, optional: language and time zone), the rules (``rules.json``,
optional: totals, rounds, prizes: ``grading.rules``) and the units (``units.csv`` or ``units.xlsx``, optional:
``grading.units``).

``load_contest`` reads what a run needs and stops at the first broken file (``LayoutError``, exit 5);
``check_contest`` reads every file and returns every problem at once, each with its file (``omr check``).

``contest.json``::

    {"name": "Tìm hiểu Dịch vụ công trực tuyến", "language": "vi", "time_zone": "Asia/Ho_Chi_Minh",
     "default_version": "101", "entry_deadline": "2026-09-06T17:00", "forward_deadline": "2026-09-16T17:00",
     "reference_date": "2026-09-06", "keep_entry": "last"}

Every key is optional; ``language`` is the language of the text people read (``vi`` or ``en``), ``time_zone``
an IANA name: every time shown to people is in it; ``default_version`` the test code (a version of
``keys.json``) that scores a typed entry stating none. Entries by e-mail (``omr ingest``): ``entry_deadline`` for
entrants and ``forward_deadline`` for units forwarding what they collected (local times in ``time_zone`` unless
they name an offset), ``reference_date`` the day entrants' ages are counted on, ``keep_entry`` which of one
person's entries counts (``last`` before the deadline, or ``first``).

``questions.json`` (optional: each question's text and options, for typed entries) is checked by ``omr check``
against the layout (``omr.documents.questions``).
"""
from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omr.documents.questions import QUESTIONS, load_questions
from omr.errors import InputError, LayoutError, OmrError
from omr.layout import Layout, load_layout, read_json_document
from omr.sheet import Participant, read_roster

from .essays.rubric import load_rubric
from .keys import KeySet, load_keys
from .rules import RULES, load_rules
from .entrants import STAFF_FILES, load_staff, staff_file_name
from .units import UNITS_FILES, load_units, units_file

LAYOUT, KEYS, RUBRIC, ROSTER, SETTINGS = "layout.json", "keys.json", "rubric.json", "roster.csv", "contest.json"
ROSTER_FILES = (ROSTER, "roster.xlsx")          # a CSV (UTF-8; commas, semicolons or tabs), or an Excel workbook
CONTEST_FILES = (LAYOUT, KEYS, RUBRIC, SETTINGS, QUESTIONS, RULES, *ROSTER_FILES, *UNITS_FILES, *STAFF_FILES)
LANGUAGES = ("vi", "en")
KEEP_ENTRY = ("last", "first")
DEFAULT_TIME_ZONE = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True, slots=True)
class Settings:
    name: str = ""
    language: str = "vi"
    time_zone: str = DEFAULT_TIME_ZONE
    default_version: str = ""         # "" none: an entry stating no test code is flagged when there are several
    entry_deadline: str = ""        # entries by e-mail: "2026-09-06T17:00", local time in time_zone
    forward_deadline: str = ""      # units forwarding what they collected: "2026-09-16T17:00"
    reference_date: str = ""        # the day an entrant's age is counted on: "2026-09-06"
    keep_entry: str = "last"        # the same person entered twice: "last" (before the deadline) or "first"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def local_time(self, text: str) -> datetime | None:
        """An ISO date-time as written in contest.json (local to ``time_zone`` unless it names its offset)."""
        if not text:
            return None
        when = datetime.fromisoformat(text)
        return when if when.tzinfo is not None else when.replace(tzinfo=self.tz)

    @property
    def reference_day(self) -> date | None:
        return date.fromisoformat(self.reference_date) if self.reference_date else None


@dataclass(frozen=True, slots=True)
class Contest:
    folder: Path
    layout: Layout
    keys: KeySet
    settings: Settings = field(default_factory=Settings)


def settings_from_dict(raw: Any, *, source: str) -> Settings:
    """``contest.json`` checked: every problem at once (``LayoutError``, exit 5), each with its key."""
    if not isinstance(raw, dict):
        raise LayoutError(f"{source}: the settings must be a JSON object", details=["(top level): not an object"])
    problems: list[str] = []
    known = {f for f in Settings.__slots__}        # type: ignore[attr-defined]
    problems += [f"{k}: unknown setting (known: {', '.join(sorted(known))})" for k in raw if k not in known
                 and not k.startswith("_")]
    for k in known & raw.keys():
        if not isinstance(raw[k], str):
            problems.append(f"{k}: must be text")
    if isinstance(raw.get("language"), str) and raw["language"] not in LANGUAGES:
        problems.append(f"language: {raw['language']!r} is not one of {', '.join(LANGUAGES)}")
    if isinstance(raw.get("time_zone"), str):
        try:
            ZoneInfo(raw["time_zone"])
        except (ZoneInfoNotFoundError, ValueError, OSError):       # a folder's name, a name too long…
            problems.append(f"time_zone: {raw['time_zone']!r} is not a time zone name (e.g. {DEFAULT_TIME_ZONE})")
    problems += _time_problems(raw)
    if problems:
        raise LayoutError(f"{source}: the contest settings have {len(problems)} problem(s)", details=problems)
    return Settings(**{k: v for k, v in raw.items() if k in known})


def _time_problems(raw: dict[str, Any]) -> list[str]:
    problems = []
    for k in ("entry_deadline", "forward_deadline"):
        if isinstance(raw.get(k), str) and raw[k]:
            try:
                datetime.fromisoformat(raw[k])
            except ValueError:
                problems.append(f"{k}: {raw[k]!r} is not a date and time (e.g. 2026-09-06T17:00)")
    if isinstance(raw.get("reference_date"), str) and raw["reference_date"]:
        try:
            date.fromisoformat(raw["reference_date"])
        except ValueError:
            problems.append(f"reference_date: {raw['reference_date']!r} is not a date (e.g. 2026-09-06)")
    if isinstance(raw.get("keep_entry"), str) and raw["keep_entry"] not in KEEP_ENTRY:
        problems.append(f"keep_entry: {raw['keep_entry']!r} is not one of {', '.join(KEEP_ENTRY)}")
    return problems


def load_settings(folder: str | Path) -> Settings:
    """``DIR/contest.json``, or the defaults when there is none."""
    path = Path(folder) / SETTINGS
    if not path.exists():
        return Settings()
    raw, path = read_json_document(path, file_name=SETTINGS, what="contest settings file",
                                   hint="see answer_keys/demo/contest.json")
    return settings_from_dict(raw, source=str(path))


def load_contest(folder: str | Path) -> Contest:
    """The contest folder's layout, keys (valid and consistent) and settings (``LayoutError``, exit 5)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LayoutError(f"contest folder {folder} does not exist; pass --contest DIR, a folder holding "
                          "layout.json and keys.json (for example answer_keys/demo)")
    layout = load_layout(folder / LAYOUT)
    keys = load_keys(folder / KEYS, layout)
    return Contest(folder, layout, keys, load_settings(folder))


# -- the roster -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Roster:
    people: tuple[Participant, ...]
    padded: tuple[tuple[str, str], ...]       # (as written, as padded) for ids that lost their leading zeros


def roster_for(people: list[Participant], layout: Layout, *, source: str) -> Roster:
    """The roster checked against the sheet's participant-id grid: an id with more digits than the grid, or
    not digits, is refused; a shorter one (a spreadsheet dropped its leading zeros) is padded and listed; two
    rows with one id (after padding) are refused. ``InputError`` with every problem (exit 9, as for a roster
    that cannot be read)."""
    digits = layout.participant_digits
    if digits <= 0:
        return Roster(tuple(people), ())
    problems, padded, out, seen = [], [], [], {}
    for n, p in enumerate(people, start=2):
        pid = p.id
        if not (pid.isascii() and pid.isdigit()):
            problems.append(f"line {n}: participant id {pid!r} is not digits (the sheet has a {digits}-digit "
                            "id grid)")
            continue
        if len(pid) > digits:
            problems.append(f"line {n}: participant id {pid} has {len(pid)} digits; the sheet's grid has "
                            f"{digits}")
            continue
        if len(pid) < digits:
            padded.append((pid, pid.zfill(digits)))
            pid = pid.zfill(digits)
        if pid in seen:
            problems.append(f"line {n}: participant id {pid} is already on line {seen[pid]}")
            continue
        seen[pid] = n
        out.append(Participant(pid, p.name, p.unit))
    if problems:
        raise InputError(f"roster {source} has problems", details=problems)
    return Roster(tuple(out), tuple(padded))


def roster_file(folder: str | Path) -> Path | None:
    """The contest's roster file (``roster.csv``, else ``roster.xlsx``), or ``None``."""
    return next((Path(folder) / n for n in ROSTER_FILES if (Path(folder) / n).exists()), None)


def load_roster(folder: str | Path, layout: Layout) -> Roster | None:
    """The roster checked against the layout (``roster_for``), or ``None`` when there is none."""
    path = roster_file(folder)
    if path is None:
        return None
    return roster_for(read_roster(path), layout, source=str(path))


def padded_id(layout: Layout, value: str) -> str:
    """A participant id as typed, padded with leading zeros to the sheet's id grid (``103`` → ``000103``)."""
    digits = layout.participant_digits
    pid = value.strip()
    if digits and pid.isascii() and pid.isdigit() and len(pid) < digits:
        pid = pid.zfill(digits)
    return pid


def off_roster_id(ids: Collection[str] | None, layout: Layout, value: str) -> str | None:
    """The id a judge typed for a participant (``padded_id``) when the contest has a roster (``ids``) and the id
    is not on it; ``None`` when it is (or there is no roster)."""
    if ids is None:
        return None
    pid = padded_id(layout, value)
    return None if pid in ids else pid


# -- every problem at once --------------------------------------------------------------------------------
class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    file: str
    severity: Severity
    message: str
    details: tuple[str, ...] = ()


def _finding(name: str, exc: OmrError) -> Finding:
    return Finding(name, Severity.ERROR, exc.message, tuple(exc.details))


def _keys_and_default(folder: Path, layout: Layout) -> KeySet:
    """The keys, and ``contest.json``'s ``default_version`` among their versions."""
    keys = load_keys(folder / KEYS, layout)
    try:
        default = load_settings(folder).default_version
    except LayoutError:
        return keys                       # contest.json's own finding says what is wrong with it
    if default and default not in keys.versions:
        raise LayoutError(f"{SETTINGS}: default_version {default!r} is not a version of {KEYS}",
                          details=[f"default_version: one of {', '.join(keys.versions)}"])
    return keys


def check_contest(folder: str | Path) -> list[Finding]:
    """Every problem of the contest folder at once: layout, keys against the layout, rubric, roster against the
    layout, settings. Warnings (padded roster ids) do not make the folder invalid."""
    folder = Path(folder)
    if not folder.is_dir():
        return [Finding(str(folder), Severity.ERROR, f"contest folder {folder} does not exist")]
    found: list[Finding] = []
    layout: Layout | None = None
    try:
        layout = load_layout(folder / LAYOUT)
    except OmrError as exc:
        found.append(_finding(LAYOUT, exc))
    checks: list[tuple[str, Any]] = [(SETTINGS, lambda: load_settings(folder)),
                                     (RUBRIC, lambda: load_rubric(folder)),
                                     (RULES, lambda: load_rules(folder)),
                                     ((units_file(folder) or Path(UNITS_FILES[0])).name, lambda: load_units(folder)),
                                     (staff_file_name(folder), lambda: load_staff(folder))]
    if layout is not None:
        roster_name = (roster_file(folder) or Path(ROSTER)).name
        checks += [(KEYS, lambda: _keys_and_default(folder, layout)),
                   (roster_name, lambda: load_roster(folder, layout))]
        if (folder / QUESTIONS).exists():
            checks.append((QUESTIONS, lambda: load_questions(folder, layout)))
    for name, check in checks:
        try:
            result = check()
        except OmrError as exc:
            found.append(_finding(name, exc))
            continue
        if isinstance(result, Roster) and result.padded:
            found.append(Finding(name, Severity.WARNING, f"{len(result.padded)} participant id(s) are shorter than "
                                 "the sheet's grid and were padded with leading zeros",
                                 tuple(f"{a} → {b}" for a, b in result.padded)))
    return found

