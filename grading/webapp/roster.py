"""The contest's roster (``roster.csv``: participant_id, name, unit) for the web app: who a participant id is, which
unit a participant belongs to, and a search by id prefix, name or unit that ignores case and diacritics
("nguyen van" finds "Nguyễn Văn An").

The file is read once and again only when it changes (size and modification time); a missing file is "no roster",
a broken one is reported with its problems (the pages still work: the judge types the id).
"""
from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from omr.errors import OmrError
from omr.layout import Layout
from omr.sheet import Participant, read_roster

from ..contest import load_roster, roster_file
from ..essays.duplicates import strip_diacritics


def fold(text: str) -> str:
    """Lower case, no diacritics (đ → d), single spaces: the form both sides of a search are compared in."""
    return " ".join(strip_diacritics(text).casefold().split())


@dataclass(frozen=True, slots=True)
class Hit:
    id: str
    name: str
    unit: str


class RosterIndex:
    """The participants of one roster, with a folded text per participant for searching."""

    def __init__(self, people: list[Participant]):
        self.people = people
        self.unit_of = {p.id: p.unit for p in people}
        self._by_id = {p.id: p for p in people}
        self._ids = [fold(p.id) for p in people]
        # " name unit": every word is preceded by a space, so " tok" matches the start of a word
        self._text = [" " + fold(f"{p.name} {p.unit}") for p in people]

    @property
    def ids(self) -> Collection[str]:
        """Every participant id of the roster (membership is a dict lookup)."""
        return self._by_id.keys()

    def find(self, participant_id: str) -> Hit | None:
        p = self._by_id.get(participant_id)
        return None if p is None else Hit(p.id, p.name, p.unit)

    def search(self, query: str, *, limit: int = 10) -> tuple[list[Hit], int]:
        """Participants whose id starts with the query, then those where every word of the query starts a word
        of the name or unit; at most ``limit`` of them and how many matched in all."""
        q = fold(query)
        if not q:
            return [], 0
        words = [" " + w for w in q.split()]
        compact = q.replace(" ", "")
        by_id, by_text = [], []
        for i, p in enumerate(self.people):
            if self._ids[i].startswith(compact):
                by_id.append(p)
            elif all(w in self._text[i] for w in words):
                by_text.append(p)
        by_id.sort(key=lambda p: p.id)
        by_text.sort(key=lambda p: (fold(p.name), p.id))
        found = by_id + by_text
        return [Hit(p.id, p.name, p.unit) for p in found[:limit]], len(found)


@dataclass(frozen=True, slots=True)
class RosterState:
    index: RosterIndex | None      # None: no roster (or a broken one)
    problem: str = ""              # why a roster file that exists could not be used


class Roster:
    """The roster of a contest folder (``roster.csv`` or ``roster.xlsx``), re-read when the file changes.
    Thread-safe."""

    def __init__(self, contest_dir: Path | None, layout: Layout | None = None):
        self.folder, self.layout = contest_dir, layout
        self._lock = threading.Lock()
        self._stamp: tuple[str, int, int] | None = None
        self._state = RosterState(None)

    def current(self) -> RosterState:
        path = roster_file(self.folder) if self.folder else None
        if path is None:
            return RosterState(None)
        try:
            st = path.stat()
        except OSError:
            return RosterState(None)
        stamp = (path.name, st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._stamp:
                try:
                    roster = load_roster(path.parent, self.layout) if self.layout else None
                    people = list(roster.people) if roster else read_roster(path)
                    self._state = RosterState(RosterIndex(people))
                except OmrError as exc:
                    details = "; ".join(exc.details)[:300]
                    self._state = RosterState(None, f"{exc.message}{': ' + details if details else ''}")
                self._stamp = stamp
            return self._state
