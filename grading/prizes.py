"""Prizes (``omr prizes``): the individual bands over the final round's ranking, the collective bands over the
units' weighted measures (``rules.json``'s ``collective``), stored once in ``awards``; every report renders those.

A tie across a band boundary is a committee flag (``committee_flags``, kind ``prize_band``); nothing from that tie
down is awarded until ``omr decide`` settles it, and the next ``omr prizes`` adds the rest. Running again adds only
what became decidable; an award already stored is never changed — if the results now say otherwise (a score was
changed after the prizes), the command stops and lists the differences.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

from omr.errors import BadArguments, OutputError

from .db import rounds as db
from .numbers import show_points
from .ranking import Allocation, Decision, Entry, allocate, groups, rank_entries
from .reports.cells import inert_frame, inert_sheet
from .rounds import PRIZE_BAND, RoundError
from .rules import Band, Measure, Rules
from .store import Store
from .units import Units

INDIVIDUAL, COLLECTIVE = "individual", "collective"


@dataclass(frozen=True, slots=True)
class PrizeRun:
    added: int
    kept: int
    flags: tuple[int, ...]         # open committee flags on prize ties
    waiting: int                   # candidates not awarded yet because of them


def _final_entries(conn: Any, rules: Rules) -> tuple[list[Entry], dict[str, int]]:
    """The final round's entries (every unit's opening closed) and the first round's count per unit."""
    final = rules.final
    assert final is not None
    rows = db.rounds_named(conn, final.name)
    if not rows or any(r.state != db.CLOSED for r in rows):
        raise RoundError(f"vòng chung kết ({final.name}) chưa đóng: omr round close {final.name}")
    got = db.entries(conn, [r.id for r in rows])
    received = db.receipts(conn, [e.participant for e in got])
    out = [Entry(e.participant, e.unit, Fraction(e.mc_points), Fraction(e.essay_score or 0),
                 received.get(e.participant)) for e in got]
    return out, db.entries_per_unit(conn, rules.rounds[0].name)


def measures(rules: Rules, units: Units | None, finals: Sequence[tuple[Entry, Fraction]],
             first: Mapping[str, int], prizes_by_unit: Mapping[str, int]) -> dict[str, Fraction]:
    """Each unit's collective score: the rules' weighted sum of its measures (units with an entry in the first
    round: ``first``, entries per unit)."""
    entries = {u: n for u, n in first.items() if u and n}
    finalists = Counter(e.unit for e, _ in finals if e.unit)
    sums: dict[str, Fraction] = defaultdict(Fraction)
    for e, s in finals:
        sums[e.unit] += s
    sizes = {u.code: u.size for u in units.units} if units is not None else {}
    if any(m is Measure.PARTICIPATION for m, _ in rules.measures):
        missing = sorted(u for u in entries if not sizes.get(u))
        if missing:
            raise RoundError("tỉ lệ tham gia cần quy mô (cột size / Quy mô trong units.csv) của các đơn vị: "
                             + ", ".join(missing))
    out: dict[str, Fraction] = {}
    for u, n in entries.items():
        value = {Measure.ENTRIES: Fraction(n), Measure.FINALISTS: Fraction(finalists[u]),
                 Measure.PARTICIPATION: Fraction(n, sizes[u]) if sizes.get(u) else Fraction(0),
                 Measure.MEAN_FINAL_SCORE: sums[u] / finalists[u] if finalists[u] else Fraction(0),
                 Measure.INDIVIDUAL_PRIZES: Fraction(prizes_by_unit.get(u, 0))}
        out[u] = sum((w * value[m] for m, w in rules.measures), Fraction(0))
    return out


def _decisions(conn: Any) -> dict[str, Decision]:
    return {f.subject: Decision(tuple(f.members), tuple(f.decision["chosen"]))
            for f in db.decided_flags(conn, PRIZE_BAND, "")}


def _rows(kind: str, a: Allocation, rank: Mapping[str, tuple[int, Fraction, str]]) -> list[dict[str, Any]]:
    return [dict(kind=kind, band=band, position=i, rank=rank[w][0], winner=w, unit=rank[w][2], total=str(rank[w][1]))
            for i, (band, w) in enumerate(a.given, start=1)]


def _tie_message(kind: str, band: Band, members: Sequence[str], places: int, value: Fraction) -> str:
    who = "bài" if kind == INDIVIDUAL else "đơn vị"
    return (f"Giải {band.title} ({'cá nhân' if kind == INDIVIDUAL else 'tập thể'}): {len(members)} {who} bằng "
            f"điểm nhau ({show_points(value)}) ở ranh giới giải; còn {places} giải. Hội đồng chọn {places} "
            f"{who} (hoặc trao cho tất cả).")


def compute(conn: Any, rules: Rules,
            units: Units | None) -> tuple[list[dict[str, Any]], list[tuple[str, Any, Fraction]]]:
    """The awards the results give now, and the ties that hold the rest: (kind, ``Tie``, their score)."""
    final, first = _final_entries(conn, rules)
    placed = rank_entries(final, rules)
    decisions = _decisions(conn)
    ind = allocate([[p.entry.participant for p in g] for g in groups(placed)], rules.individual, decisions,
                   prefix=INDIVIDUAL)
    rank = {p.entry.participant: (p.rank, p.score, p.entry.unit) for p in placed}
    rows = _rows(INDIVIDUAL, ind, rank)
    ties = [(INDIVIDUAL, ind.tie, rank[ind.tie.members[0]][1])] if ind.tie else []
    if rules.collective:
        won = Counter(rank[w][2] for _, w in ind.given)
        scores = measures(rules, units, [(p.entry, p.score) for p in placed], first, won)
        unit_entries = [Entry(u, u, s, Fraction(0)) for u, s in scores.items()]
        ranked_units = rank_entries(unit_entries, Rules(mc_weight=Fraction(1), essay_weight=Fraction(0)))
        col = allocate([[p.entry.participant for p in g] for g in groups(ranked_units)], rules.collective,
                       decisions, prefix=COLLECTIVE)
        urank = {p.entry.participant: (p.rank, p.score, p.entry.participant) for p in ranked_units}
        rows += _rows(COLLECTIVE, col, urank)
        if col.tie:
            ties.append((COLLECTIVE, col.tie, urank[col.tie.members[0]][1]))
    return rows, ties


def award_prizes(store: Store, rules: Rules, units: Units | None, *, who: str) -> PrizeRun:
    """Compute, compare with what is stored, add what is new (see the module's docstring)."""
    if rules.final is None:
        raise RoundError("rules.json has no rounds")
    now = datetime.now(timezone.utc)
    with store.write_tx("award the prizes") as conn:
        rows, ties = compute(conn, rules, units)
        stored = {(a.kind, a.winner): a for a in db.stored_awards(conn)}
        wanted = {(r["kind"], r["winner"]): r for r in rows}
        differ = [f"{k[0]} {k[1]}: đã trao {a.band}, kết quả nay cho "
                  f"{wanted[k]['band'] if k in wanted else 'không giải'}" for k, a in stored.items()
                  if k not in wanted or wanted[k]["band"] != a.band]
        if differ:
            raise RoundError("giải đã trao khác với kết quả hiện nay (điểm đã đổi sau khi trao giải?); giải đã "
                             "trao không tự đổi", details=differ)
        new = [r for k, r in wanted.items() if k not in stored]
        db.add_awards(conn, new, now)
        bands = {INDIVIDUAL: {b.band: b for b in rules.individual}, COLLECTIVE: {b.band: b for b in rules.collective}}
        flag_ids = []
        for kind, tie, value in ties:
            band = bands[kind][tie.subject.split(":", 1)[1]]
            flag_ids.append(db.put_flag(conn, PRIZE_BAND, tie.subject, tie.members, tie.places,
                                        _tie_message(kind, band, tie.members, tie.places, value), now))
        if new:
            db.add_audit(conn, now, who, "prizes", "awards", {"awards": len(stored)},
                         {"added": len(new), "ties": flag_ids})
    return PrizeRun(len(new), len(stored), tuple(flag_ids), sum(len(t.members) for _, t, _ in ties))


# -- the prize list -------------------------------------------------------------------------------------
HEADERS = ("Loại giải", "Giải", "Thứ tự", "Hạng", "Số báo danh / Mã đơn vị", "Họ và tên / Tên đơn vị", "Đơn vị",
           "Tổng điểm", "Tổng điểm (chính xác)")
EXACT = ("Tổng điểm (chính xác)",)


def prize_rows(store: Store, rules: Rules, units: Units | None) -> list[dict[str, Any]]:
    """The stored awards for people: Vietnamese headers, band titles, names; the total as a number."""
    titles = {(INDIVIDUAL, b.band): b.title for b in rules.individual}
    titles |= {(COLLECTIVE, b.band): b.title for b in rules.collective}
    names = {u.code: u.name for u in units.units} if units is not None else {}
    out = []
    for a in db.read_awards(store):
        kind = "Cá nhân" if a.kind == INDIVIDUAL else "Tập thể"
        name = a.name if a.kind == INDIVIDUAL else names.get(a.winner, a.winner)
        out.append(dict(zip(HEADERS, (kind, titles.get((a.kind, a.band), a.band), a.position, a.rank, a.winner,
                                      name or "", names.get(a.unit, a.unit), float(Fraction(a.total)), a.total))))
    return out


def write_prizes(rows: list[dict[str, Any]], out: str | Path) -> Path:
    """The prize list as XLSX (numbers as numbers) or CSV (UTF-8 with a BOM); text cells inert."""
    import pandas as pd

    out = Path(out)
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise BadArguments(f"cannot write {out.name}: name the prize list prizes.xlsx or prizes.csv")
    df = pd.DataFrame(rows, columns=list(HEADERS))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".csv":
            inert_frame(df, EXACT).to_csv(out, index=False, encoding="utf-8-sig")
            return out
        with pd.ExcelWriter(out, engine="openpyxl") as xw:
            df.to_excel(xw, sheet_name="Giải thưởng", index=False, freeze_panes=(1, 0))
            inert_sheet(xw.sheets["Giải thưởng"])
        return out
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc}; choose a writable --out (and close the file if it is open "
                          "in Excel)") from None

