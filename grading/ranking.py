"""Combined totals, rankings, cuts and prize bands — pure functions over entries and the contest's rules.

An entry's score is ``mc_weight`` × its multiple-choice points + ``essay_weight`` × its essay score (exact
Fractions). Entries are ordered by score, then by the rules' tie-breaks; entries equal on all of them share a
competition rank (1, 2, 2, 4) and are never told apart by chance: when a cut or a prize band falls inside such a
group, the group is a ``Tie`` for the committee, with how many of its members the upper side has room for.

Allocation (``allocate``) walks the rank groups down the bands: a group that fits goes whole into the current
band; a group that straddles a boundary needs the committee's decision (``Decision``: the members chosen for the
upper side, or all of them, which widens the band and narrows the next ones); until that decision, nothing from
that group down is allocated.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from .rules import Advance, Band, Rules, TieBreak


@dataclass(frozen=True, slots=True)
class Entry:
    participant: str
    unit: str                           # the unit's code ("" unknown)
    mc_points: Fraction
    essay_score: Fraction
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Placed:
    entry: Entry
    score: Fraction
    rank: int


@dataclass(frozen=True, slots=True)
class Tie:
    subject: str                        # what the committee decides: "round", "individual:nhat", …
    members: tuple[str, ...]            # sorted
    places: int                         # how many of them the upper side has room for


@dataclass(frozen=True, slots=True)
class Decision:
    members: tuple[str, ...]            # the tie the decision was made on
    chosen: tuple[str, ...]             # who goes to the upper side (all members: the band is widened)


@dataclass(frozen=True, slots=True)
class Allocation:
    given: tuple[tuple[str, str], ...]   # (band, member) in order
    rest: tuple[str, ...]                # members below every band
    tie: Tie | None                      # the undecided tie that stopped the allocation
    waiting: tuple[str, ...]             # members not allocated because of it


def score(entry: Entry, rules: Rules) -> Fraction:
    return rules.mc_weight * entry.mc_points + rules.essay_weight * entry.essay_score


def _ints(values: Sequence[Fraction], *, descending: bool = True) -> list[int]:
    """Exact integer keys for Fractions (each over the values' common denominator), negated when descending:
    sorting by them is sorting by the values, without a Fraction comparison per pair."""
    d = math.lcm(*{v.denominator for v in values}) if values else 1
    sign = -1 if descending else 1
    return [sign * v.numerator * (d // v.denominator) for v in values]


def rank_entries(entries: Sequence[Entry], rules: Rules) -> list[Placed]:
    """The entries by score and tie-breaks (participant id only to list equals in a stable order), each with its
    competition rank over the score and every tie-break."""
    memo: dict[tuple[int, int, int, int], Fraction] = {}
    scores = []
    for e in entries:
        m, s = e.mc_points, e.essay_score
        k = (m.numerator, m.denominator, s.numerator, s.denominator)
        if k not in memo:
            memo[k] = score(e, rules)
        scores.append(memo[k])
    columns: list[Sequence[Any]] = [_ints(scores)]
    for t in rules.tie_breaks:
        if t is TieBreak.ESSAY_SCORE:
            columns.append(_ints([e.essay_score for e in entries]))
        elif t is TieBreak.MC_POINTS:
            columns.append(_ints([e.mc_points for e in entries]))
        else:                                   # earlier receipt first; an unknown time last
            columns.append([(e.received_at is None, e.received_at.timestamp() if e.received_at else 0.0)
                            for e in entries])
    keys = list(zip(*columns))
    order = sorted(range(len(entries)), key=lambda i: (keys[i], entries[i].participant))
    out: list[Placed] = []
    prev: tuple | None = None
    rank = 0
    for n, i in enumerate(order, start=1):
        if keys[i] != prev:
            rank, prev = n, keys[i]
        out.append(Placed(entries[i], scores[i], rank))
    return out


def groups(placed: Sequence[Placed]) -> list[list[Placed]]:
    """The placed entries in groups of one rank, in order."""
    out: list[list[Placed]] = []
    for p in placed:
        if out and out[-1][0].rank == p.rank:
            out[-1].append(p)
        else:
            out.append([p])
    return out


def allocate(ranked: Sequence[Sequence[str]], bands: Sequence[Band], decisions: Mapping[str, Decision], *,
             prefix: str) -> Allocation:
    """Members (in rank groups) down the bands; a group across a boundary waits for its decision (subject
    ``<prefix>:<band>``; a decision made on other members does not count)."""
    given: list[tuple[str, str]] = []
    bi, left = 0, bands[0].count if bands else 0
    for gi, group in enumerate(ranked):
        members = sorted(group)
        while members and bi < len(bands):
            if len(members) <= left:
                given += [(bands[bi].band, m) for m in members]
                left -= len(members)
                members = []
            else:
                tie = Tie(f"{prefix}:{bands[bi].band}", tuple(members), left)
                d = decisions.get(tie.subject)
                if d is None or d.members != tie.members:
                    waiting = [*members, *(m for g in ranked[gi + 1:] for m in g)]
                    return Allocation(tuple(given), (), tie, tuple(waiting))
                given += [(bands[bi].band, m) for m in d.chosen]
                overflow = len(d.chosen) - left
                members = [m for m in members if m not in d.chosen]
                left = 0
                while bi + 1 < len(bands) and left == 0:
                    bi += 1
                    left = max(bands[bi].count - overflow, 0)
                    overflow = max(overflow - bands[bi].count, 0)
                if left == 0:
                    bi = len(bands)
                continue
            if left == 0:
                bi += 1
                left = bands[bi].count if bi < len(bands) else 0
        if bi >= len(bands):
            rest = [*members, *(m for g in ranked[gi + 1:] for m in g)]
            return Allocation(tuple(given), tuple(rest), None, ())
    return Allocation(tuple(given), (), None, ())


def cut(placed: Sequence[Placed], advance: Advance, decisions: Mapping[str, Decision]) -> tuple[
        set[str], set[str], list[Tie]]:
    """Who goes on, who does not, and the ties at the cut (subject ``cut:on``; per unit with ``per_unit``:
    ``cut:<unit>:on``)."""
    if advance.min_score is not None:
        on = {p.entry.participant for p in placed if p.score >= advance.min_score}
        return on, {p.entry.participant for p in placed} - on, []
    scopes: dict[str, list[Placed]] = defaultdict(list)
    for p in placed:
        scopes[p.entry.unit if advance.per_unit else ""].append(p)
    on: set[str] = set()
    off: set[str] = set()
    ties: list[Tie] = []
    band = (Band("on", "", advance.top or 0),)
    for scope, members in sorted(scopes.items()):
        a = allocate([[p.entry.participant for p in g] for g in groups(members)], band, decisions,
                     prefix=f"cut:{scope}" if advance.per_unit else "cut")
        on |= {m for _, m in a.given}
        off |= set(a.rest)
        if a.tie is not None:
            ties.append(a.tie)
            off |= set(a.waiting) - set(a.tie.members)
    return on, off, ties
