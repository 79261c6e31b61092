"""Contest rounds (``omr round open|close NAME``) and the committee's decisions on ties (``omr decide``).

* **Opening** a round enters the entries that reached it — the first round: every participant whose
  multiple-choice part is settled (of the unit, for a unit round); a later round: those who went on from the
  previous one (of the unit; for a city round, from every unit that closed it) — and makes the round's own essay
  tasks: one per entry and question, with a new anonymous code, judging the same essays afresh (its judges never
  see an earlier round's scores; judges of the entry's own unit are excluded as in all judging). The
  multiple-choice points carry over unchanged. Opening again adds what is new (idempotent).
* **Closing** needs every essay task of the round final; each entry's round score is the weighted sum of its
  multiple-choice points and this round's essay score (``grading.ranking``); entries are ranked in the round's
  scope and the cut selects who goes on. A tie at the cut is a committee flag (``committee_flags``), never an
  arbitrary pick: the tied entries wait (``advanced`` empty) until ``omr decide FLAG --who NAME --pick …`` (or
  ``--all``), audited.

A participant's unit is his roster unit (``participants.unit``) found in ``units.csv`` by code or name and taken
up to its district or department (``Units.top``); without a units file, the roster's text itself.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from fractions import Fraction
from typing import Any

from omr.errors import BadArguments
from omr.table import fold_header

from .db import rounds as db
from .numbers import show_points
from .ranking import Decision, Entry, Placed, cut, rank_entries
from .rules import Level, Round, Rules
from .store import Store
from .units import Units

ROUND_CUT, PRIZE_BAND = "round_cut", "prize_band"       # committee_flags.kind


class RoundError(BadArguments):
    """A round command the state of the contest refuses (exit 2); the message says what to do."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def unit_resolver(units: Units | None) -> Mapping[str, str]:
    """Folded unit code or name → the code of its district or department."""
    if units is None:
        return {}
    out: dict[str, str] = {}
    for u in units.units:
        top = units.top(u.code).code
        out[fold_header(u.code)] = out[fold_header(u.name)] = top
    return out


def unit_of(resolver: Mapping[str, str], raw: str | None) -> str:
    """The entry's unit code ("" unknown): the roster's text found in the units, or the text itself without units."""
    text = (raw or "").strip()
    if not text:
        return ""
    return resolver.get(fold_header(text), "" if resolver else text)


def scope_of(rnd: Round, units: Units | None, unit: str | None) -> str:
    """The unit code a unit round runs in (``--unit`` by code or name); "" for a city round."""
    if rnd.level is Level.CITY:
        if unit:
            raise RoundError(f"vòng {rnd.name} là vòng cấp thành phố: không dùng --unit")
        return ""
    if not unit:
        raise RoundError(f"vòng {rnd.name} là vòng cấp đơn vị: cho biết đơn vị bằng --unit MÃ")
    if units is None:
        return unit.strip()
    return units.top(units.find(unit).code).code


@dataclass(frozen=True, slots=True)
class Opened:
    round: str
    unit: str
    entries_added: int
    tasks_added: int
    waiting: int                     # participants whose multiple-choice part is not settled (first round)
    units_not_closed: tuple[str, ...]  # previous round still open there (a city round)


def _first_round_entries(conn: Any, units: Units | None, scope: str,
                         level: Level) -> tuple[list[tuple[str, str, Fraction]], int]:
    resolver = unit_resolver(units)
    code_of = {text: unit_of(resolver, text) for text in db.roster_units(conn)}
    wanted = None if level is Level.CITY else [t for t, c in code_of.items() if t is not None and c == scope]
    settled, waiting = db.scored_participants(conn, wanted)
    return [(s.participant, code_of.get(s.roster_unit, ""), s.mc_points) for s in settled], waiting


def _advanced_entries(conn: Any, rules: Rules, rnd: Round,
                      scope: str) -> tuple[list[tuple[str, str, Fraction]], tuple[str, ...]]:
    prev = rules.rounds[rules.index(rnd.name) - 1]
    rows = db.rounds_named(conn, prev.name)
    if prev.level is Level.UNIT and rnd.level is Level.UNIT:
        rows = [r for r in rows if r.unit == scope]
    closed = [r for r in rows if r.state == db.CLOSED]
    if not closed:
        where = f" ở đơn vị {scope}" if scope else ""
        raise RoundError(f"vòng trước ({prev.name}) chưa đóng{where}: đóng nó trước (omr round close {prev.name})")
    got = db.entries(conn, [r.id for r in closed])
    return ([(e.participant, e.unit, Fraction(e.mc_points)) for e in got if e.advanced],
            tuple(r.unit for r in rows if r.state != db.CLOSED))


def open_round(store: Store, rules: Rules, units: Units | None, name: str, unit: str | None, *,
               who: str) -> Opened:
    rnd = rules.round(name)
    scope = scope_of(rnd, units, unit)
    now = _now()
    with store.write_tx("open a round") as conn:
        row = db.round_row(conn, name, scope)
        if row is not None and row.state == db.CLOSED:
            raise RoundError(f"vòng {name}{' của ' + scope if scope else ''} đã đóng lúc {row.closed_at}: "
                             "không mở lại được")
        round_id = row.id if row is not None else db.new_round(conn, name, scope, now, who)
        waiting, not_closed = 0, ()
        if rules.index(name) == 0:
            rows, waiting = _first_round_entries(conn, units, scope, rnd.level)
        else:
            rows, not_closed = _advanced_entries(conn, rules, rnd, scope)
        added = db.add_entries(conn, round_id, rows)
        base = db.base_tasks(conn, [r[0] for r in rows])
        tasks = db.add_round_tasks(conn, name, base, now)
        db.add_audit(conn, now, who, "round_open", f"round:{round_id}", None,
                     {"round": name, "unit": scope, "entries_added": added, "tasks_added": tasks})
    return Opened(name, scope, added, tasks, waiting, not_closed)


@dataclass(frozen=True, slots=True)
class Closed:
    round: str
    unit: str
    entries: int
    advanced: int
    ties: tuple[int, ...]            # committee flag ids
    already: bool = False


def _decisions(conn: Any, round_id: int) -> dict[str, Decision]:
    prefix = f"round:{round_id}|"
    return {f.subject.removeprefix(prefix): Decision(tuple(f.members), tuple(f.decision["chosen"]))
            for f in db.decided_flags(conn, ROUND_CUT, prefix)}


def close_round(store: Store, rules: Rules, units: Units | None, name: str, unit: str | None, *,
                who: str) -> Closed:
    rnd = rules.round(name)
    scope = scope_of(rnd, units, unit)
    now = _now()
    with store.write_tx("close a round") as conn:
        row = db.round_row(conn, name, scope)
        if row is None:
            raise RoundError(f"vòng {name}{' của ' + scope if scope else ''} chưa mở: omr round open {name}")
        got = db.entries(conn, [row.id])
        if row.state == db.CLOSED:
            return Closed(name, scope, len(got), sum(1 for e in got if e.advanced), (), already=True)
        people = [e.participant for e in got]
        essays, pending = db.round_task_states(conn, name, people)
        if pending:
            raise RoundError(f"vòng {name}{' của ' + scope if scope else ''} còn {pending} bài tự luận chưa có điểm "
                             "cuối cùng: chấm xong rồi đóng vòng (omr essays status)")
        received = db.receipts(conn, people)
        exact: dict[str, Fraction] = {}             # the same few totals parsed once
        placed = rank_entries([Entry(e.participant, e.unit, exact.setdefault(e.mc_points, Fraction(e.mc_points)),
                                     essays.get(e.participant, Fraction(0)), received.get(e.participant))
                               for e in got], rules)
        on, off, ties = (cut(placed, rnd.advance, _decisions(conn, row.id)) if rnd.advance is not None
                         else (set(), set(), []))
        db.set_results(conn, row.id, [dict(participant=p.entry.participant, essay_score=str(p.entry.essay_score),
                                           score=str(p.score), score_float=float(p.score), rank=p.rank,
                                           advanced=True if p.entry.participant in on else False
                                           if p.entry.participant in off else None) for p in placed])
        flag_ids = tuple(db.put_flag(conn, ROUND_CUT, f"round:{row.id}|{t.subject}", t.members, t.places,
                                     _cut_message(name, scope, t.members, t.places, placed), now) for t in ties)
        db.close_round(conn, row.id, now, who)
        db.add_audit(conn, now, who, "round_close", f"round:{row.id}", {"state": db.OPEN},
                     {"state": db.CLOSED, "entries": len(placed), "advanced": len(on), "ties": list(flag_ids)})
    return Closed(name, scope, len(placed), len(on), flag_ids)


def _cut_message(name: str, scope: str, members: Sequence[str], places: int, placed: Sequence[Placed]) -> str:
    score = next(p.score for p in placed if p.entry.participant == members[0])
    where = f" (đơn vị {scope})" if scope else ""
    return (f"Vòng {name}{where}: {len(members)} bài bằng điểm nhau ({show_points(score)}) và bằng nhau ở mọi "
            f"tiêu chí phụ, tại ngưỡng đi tiếp; còn {places} chỗ. Hội đồng chọn {places} bài đi tiếp "
            f"(hoặc cho tất cả đi tiếp).")


@dataclass(frozen=True, slots=True)
class Decided:
    flag_id: int
    kind: str
    chosen: tuple[str, ...]
    others: tuple[str, ...]


def decide(store: Store, flag_id: int, *, who: str, pick: Sequence[str] | None) -> Decided:
    """The committee's decision on a tie: ``pick`` (exactly as many members as there are places) or, with
    ``None``, all of them. A round's cut is applied at once; a prize band at the next ``omr prizes``."""
    if not who.strip():
        raise BadArguments("--who: say who decides (a name)")
    now = _now()
    with store.write_tx("decide a committee flag") as conn:
        f = db.committee_flag(conn, flag_id)
        if f is None:
            raise BadArguments(f"không có cờ hội đồng số {flag_id} (omr decide --list cho các cờ đang mở)")
        if f.state == db.DECIDED:
            raise RoundError(f"cờ {flag_id} đã được {f.decided_by} quyết định lúc {f.decided_at}")
        members = list(f.members)
        chosen = members if pick is None else sorted(set(pick))
        if pick is not None:
            wrong = [p for p in chosen if p not in members]
            if wrong or len(chosen) != f.places:
                raise BadArguments(f"--pick: chọn đúng {f.places} trong {', '.join(members)}"
                                   + (f" ({', '.join(wrong)} không thuộc cờ này)" if wrong else ""))
        others = [m for m in members if m not in chosen]
        db.decide_flag(conn, flag_id, chosen, who, now)
        if f.kind == ROUND_CUT:
            round_id = int(f.subject.split("|", 1)[0].removeprefix("round:"))
            db.set_advanced(conn, round_id, chosen, others)
        db.add_audit(conn, now, who, "committee_decide", f"committee_flag:{flag_id}",
                     {"state": f.state, "members": members, "places": f.places},
                     {"state": db.DECIDED, "chosen": chosen})
    return Decided(flag_id, f.kind, tuple(chosen), tuple(others))
