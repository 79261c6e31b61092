"""What the command line says to people, in the contest's language (``contest.json``'s ``language``: ``vi``, the
default, or ``en``). Each message is written once with both texts side by side (``say("graded", "đã chấm")``), so
the two never drift apart; reason codes, JSON fields and ``--help`` stay English for scripts.

Numbers are written as people write them: a decimal comma in Vietnamese (``7,5``, ``2,4 trang/s``), a point in
English; marks go through ``grading.numbers.show_points``.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .numbers import show_points


@dataclass(frozen=True, slots=True)
class Say:
    language: str = "en"

    def __call__(self, en: str, vi: str) -> str:
        return vi if self.language == "vi" else en

    def decimal(self, x: float, places: int = 1) -> str:
        """``2.5`` → ``"2,5"`` in Vietnamese, ``"2.5"`` in English."""
        text = f"{x:.{places}f}"
        return text.replace(".", ",") if self.language == "vi" else text

    def points(self, value: Fraction | str | int) -> str:
        """A mark: ``15/2`` → ``"7,5"`` in Vietnamese, ``"7.5"`` in English (never a fraction)."""
        shown = show_points(value)
        return shown if self.language == "vi" else shown.replace(",", ".")


ENGLISH = Say("en")
