"""The statements of contest rounds, the committee's decisions and the awards (their rules are
``grading.rounds``' and ``grading.prizes``'): the entries a round starts from, its own essay tasks, its entries'
scores, ranks and who went on, the committee's flags, and the awards stored once.

Functions taking a ``Connection`` run inside the caller's write transaction; the others open their own.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from omr.records import Status

from ..score import ScoreStatus
from .engine import Database, chunks
from .essays import new_anon_codes
from .tables import (DISCARDED, ESSAY, TaskState, audit, awards, committee_flags, contest_rounds, essay_tasks,
                     pages, participants, round_entries, scores, submissions)

OPEN, CLOSED, DECIDED = "open", "closed", "decided"


@dataclass(frozen=True, slots=True)
class Scored:
    """A participant whose multiple-choice part is settled: one answer page, read without open flags, scored."""
    participant: str
    mc_points: Fraction
    received_at: datetime
    roster_unit: str | None          # the roster's unit, as written


def add_audit(conn: Connection, at: datetime, who: str, action: str, target: str, before: Any, after: Any) -> None:
    conn.execute(sa.insert(audit).values(at=at, who=who, action=action, target=target, before=before, after=after))


def roster_units(conn: Connection) -> list[str | None]:
    """The roster's units as written (each once)."""
    return list(conn.execute(sa.select(participants.c.unit).distinct()).scalars())


def scored_participants(conn: Connection, units: Sequence[str] | None = None) -> tuple[list[Scored], int]:
    """The participants whose multiple-choice part is settled, and how many others wait (several answer pages,
    flagged or unscored); with ``units``, only participants whose roster unit is one of them."""
    q = (sa.select(pages.c.participant, pages.c.status, scores.c.status.label("score_status"), scores.c.total,
                   submissions.c.first_seen, participants.c.unit)
         .join(submissions, submissions.c.id == pages.c.submission_id)
         .outerjoin(scores, scores.c.page_id == pages.c.id)
         .outerjoin(participants, participants.c.participant == pages.c.participant)
         .where(pages.c.status.notin_([Status.REJECTED.value, ESSAY, DISCARDED]), pages.c.participant.is_not(None)))
    if units is not None:
        q = q.where(participants.c.unit.in_(list(units)))
    by: dict[str, list[Any]] = defaultdict(list)
    for r in conn.execute(q):
        by[r.participant].append(r)
    out, waiting = [], 0
    for pid, rs in by.items():
        r = rs[0]
        if len(rs) == 1 and r.status == Status.OK.value and r.score_status == ScoreStatus.SCORED.value:
            out.append(Scored(pid, Fraction(r.total), r.first_seen, r.unit))
        else:
            waiting += 1
    return out, waiting


def receipts(conn: Connection, people: Sequence[str]) -> dict[str, datetime]:
    """When each participant's answer pages first reached the server (the earliest, for the tie-break)."""
    out: dict[str, datetime] = {}
    for chunk in chunks(list(people)):
        out.update(conn.execute(
            sa.select(pages.c.participant, sa.func.min(submissions.c.first_seen))
            .join(submissions, submissions.c.id == pages.c.submission_id)
            .where(pages.c.participant.in_(chunk), pages.c.status.notin_([Status.REJECTED.value, ESSAY, DISCARDED]))
            .group_by(pages.c.participant)).all())
    return out


# -- rounds ---------------------------------------------------------------------------------------------
def round_row(conn: Connection, name: str, unit: str) -> Any | None:
    return conn.execute(sa.select(contest_rounds).where(contest_rounds.c.name == name,
                                                        contest_rounds.c.unit == unit)).first()


def rounds_named(conn: Connection, name: str) -> list[Any]:
    """Every opening of the round ``name`` (one per unit for a unit round), by unit."""
    return list(conn.execute(sa.select(contest_rounds).where(contest_rounds.c.name == name)
                             .order_by(contest_rounds.c.unit)))


def new_round(conn: Connection, name: str, unit: str, at: datetime, who: str) -> int:
    return int(conn.execute(sa.insert(contest_rounds).values(name=name, unit=unit, state=OPEN, opened_at=at,
                                                             opened_by=who).returning(contest_rounds.c.id)).scalar_one())


def close_round(conn: Connection, round_id: int, at: datetime, who: str) -> None:
    conn.execute(sa.update(contest_rounds).where(contest_rounds.c.id == round_id)
                 .values(state=CLOSED, closed_at=at, closed_by=who))


def entries(conn: Connection, round_ids: Sequence[int]) -> list[Any]:
    """The entries of the rounds (every column), by participant."""
    out: list[Any] = []
    for chunk in chunks(list(round_ids)):
        out.extend(conn.execute(sa.select(round_entries).where(round_entries.c.round_id.in_(chunk))))
    return sorted(out, key=lambda r: r.participant)


def entries_per_unit(conn: Connection, name: str) -> dict[str, int]:
    """How many entries the round ``name`` (the first) has per unit; for a unit whose rounds came in a bundle, the
    number its bundle declares."""
    declared = dict(conn.execute(sa.select(contest_rounds.c.unit, sa.func.max(contest_rounds.c.entries_declared))
                                 .where(contest_rounds.c.entries_declared.is_not(None))
                                 .group_by(contest_rounds.c.unit)).all())
    here = dict(conn.execute(sa.select(round_entries.c.unit, sa.func.count())
                             .join(contest_rounds, contest_rounds.c.id == round_entries.c.round_id)
                             .where(contest_rounds.c.name == name).group_by(round_entries.c.unit)).all())
    return {**{u: int(n) for u, n in declared.items()}, **here}


def add_entries(conn: Connection, round_id: int, rows: Sequence[tuple[str, str, Fraction]]) -> int:
    """(participant, unit, multiple-choice points) entered in the round unless already in it; how many were."""
    have = {r.participant for r in entries(conn, [round_id])}
    new = [dict(round_id=round_id, participant=p, unit=u, mc_points=str(mc)) for p, u, mc in rows if p not in have]
    for i in range(0, len(new), 5000):
        conn.execute(sa.insert(round_entries), new[i:i + 5000])
    return len(new)


def set_results(conn: Connection, round_id: int, rows: Sequence[dict[str, Any]]) -> None:
    """Each entry's ``essay_score``, ``score``, ``score_float``, ``rank`` and ``advanced`` (by ``participant``)."""
    if not rows:
        return
    stmt = (sa.update(round_entries)
            .where(round_entries.c.round_id == round_id, round_entries.c.participant == sa.bindparam("p"))
            .values(essay_score=sa.bindparam("essay_score"), score=sa.bindparam("score"),
                    score_float=sa.bindparam("score_float"), rank=sa.bindparam("rank"),
                    advanced=sa.bindparam("advanced")))
    conn.execute(stmt, [dict(r, p=r["participant"]) for r in rows])


def set_advanced(conn: Connection, round_id: int, chosen: Iterable[str], others: Iterable[str]) -> None:
    for value, who in ((True, sorted(chosen)), (False, sorted(others))):
        for chunk in chunks(who):
            conn.execute(sa.update(round_entries).where(round_entries.c.round_id == round_id,
                                                        round_entries.c.participant.in_(chunk))
                         .values(advanced=value))


# -- a round's own essay tasks --------------------------------------------------------------------------
def base_tasks(conn: Connection, people: Sequence[str]) -> list[Any]:
    """The judging tasks outside any round (id, participant, question, unit, unit_key) of the participants,
    void ones left out."""
    out: list[Any] = []
    for chunk in chunks(list(people)):
        out.extend(conn.execute(sa.select(essay_tasks.c.id, essay_tasks.c.participant, essay_tasks.c.question,
                                          essay_tasks.c.unit, essay_tasks.c.unit_key)
                                .where(essay_tasks.c.participant.in_(chunk), essay_tasks.c.contest_round.is_(None),
                                       essay_tasks.c.state != TaskState.VOID.value)))
    return out


def add_round_tasks(conn: Connection, round_name: str, base: Sequence[Any], at: datetime) -> int:
    """A task of the round per base task (new anonymous code; the same essays, judged afresh) unless it has one."""
    keys = {f"p:{t.participant}|{t.question}|r:{round_name}": t for t in base}
    have: set[str] = set()
    for chunk in chunks(sorted(keys)):
        have.update(conn.execute(sa.select(essay_tasks.c.task_key).where(essay_tasks.c.task_key.in_(chunk)))
                    .scalars())
    todo = [(k, t) for k, t in keys.items() if k not in have]
    for i in range(0, len(todo), 500):
        part = todo[i:i + 500]
        codes = new_anon_codes(conn, len(part), {t.participant for _, t in part})
        conn.execute(sa.insert(essay_tasks), [
            dict(task_key=k, question=t.question, participant=t.participant, submission_id=None, anon_code=c,
                 unit=t.unit, unit_key=t.unit_key, state=TaskState.OPEN.value, judges_needed=2, created_at=at,
                 contest_round=round_name, essays_of=t.id) for (k, t), c in zip(part, codes)])
    return len(todo)


def round_task_states(conn: Connection, round_name: str, people: Sequence[str]) -> tuple[dict[str, Fraction], int]:
    """The participants' essay scores in the round (sum of their final tasks), and how many tasks are not final."""
    finals: dict[str, Fraction] = defaultdict(Fraction)
    exact: dict[str, Fraction] = {}                  # the same few scores parsed once
    pending = 0
    for chunk in chunks(list(people)):
        for pid, state, final in conn.execute(
                sa.select(essay_tasks.c.participant, essay_tasks.c.state, essay_tasks.c.final_score)
                .where(essay_tasks.c.contest_round == round_name, essay_tasks.c.participant.in_(chunk),
                       essay_tasks.c.state != TaskState.VOID.value)):
            if state == TaskState.FINAL.value and final is not None:
                finals[pid] += exact[final] if final in exact else exact.setdefault(final, Fraction(final))
            else:
                pending += 1
    return dict(finals), pending


def base_essay_scores(db: Database) -> dict[str, Fraction | None]:
    """Each participant's essay score outside rounds: the sum of his final tasks (``None`` while one is not)."""
    out: dict[str, Fraction | None] = {}
    with db.read_tx("read essay scores") as conn:
        for pid, state, final in conn.execute(
                sa.select(essay_tasks.c.participant, essay_tasks.c.state, essay_tasks.c.final_score)
                .where(essay_tasks.c.contest_round.is_(None), essay_tasks.c.participant.is_not(None),
                       essay_tasks.c.state != TaskState.VOID.value)):
            have = out.get(pid, Fraction(0))
            done = state == TaskState.FINAL.value and final is not None
            out[pid] = None if have is None or not done else have + Fraction(final)
    return out


# -- the committee's flags ------------------------------------------------------------------------------
def flag_by_subject(conn: Connection, kind: str, subject: str) -> Any | None:
    return conn.execute(sa.select(committee_flags).where(committee_flags.c.kind == kind,
                                                         committee_flags.c.subject == subject)).first()


def put_flag(conn: Connection, kind: str, subject: str, members: Sequence[str], places: int, message: str,
             at: datetime) -> int:
    """The committee's flag on ``subject``: made, or (when the tie changed) reopened on the new members."""
    row = flag_by_subject(conn, kind, subject)
    if row is None:
        return int(conn.execute(sa.insert(committee_flags).values(
            kind=kind, subject=subject, members=list(members), places=places, message=message, state=OPEN,
            created_at=at).returning(committee_flags.c.id)).scalar_one())
    if list(row.members) != list(members) or row.places != places:
        conn.execute(sa.update(committee_flags).where(committee_flags.c.id == row.id).values(
            members=list(members), places=places, message=message, state=OPEN, decision=None, decided_by=None,
            decided_at=None))
        add_audit(conn, at, "system", "committee_flag_reopen", f"committee_flag:{row.id}",
                  {"members": row.members, "places": row.places, "decision": row.decision},
                  {"members": list(members), "places": places})
    return int(row.id)


def decided_flags(conn: Connection, kind: str, prefix: str) -> list[Any]:
    return list(conn.execute(sa.select(committee_flags).where(
        committee_flags.c.kind == kind, committee_flags.c.state == DECIDED,
        committee_flags.c.subject.startswith(prefix, autoescape=True))))


def committee_flag(conn: Connection, flag_id: int) -> Any | None:
    return conn.execute(sa.select(committee_flags).where(committee_flags.c.id == flag_id)).first()


def decide_flag(conn: Connection, flag_id: int, chosen: Sequence[str], who: str, at: datetime) -> None:
    conn.execute(sa.update(committee_flags).where(committee_flags.c.id == flag_id).values(
        state=DECIDED, decision={"chosen": list(chosen)}, decided_by=who, decided_at=at))


def open_committee_flags(db: Database) -> list[Any]:
    with db.read_tx("list the committee's flags") as conn:
        return list(conn.execute(sa.select(committee_flags).where(committee_flags.c.state == OPEN)
                                 .order_by(committee_flags.c.id)))


# -- awards ---------------------------------------------------------------------------------------------
def stored_awards(conn: Connection) -> list[Any]:
    return list(conn.execute(sa.select(awards).order_by(awards.c.kind.desc(), awards.c.position)))


def add_awards(conn: Connection, rows: Sequence[dict[str, Any]], at: datetime) -> None:
    if rows:
        conn.execute(sa.insert(awards), [dict(r, awarded_at=at) for r in rows])


def read_awards(db: Database) -> list[Any]:
    """Every award with the winner's name (participants' roster; units have none here), individual first."""
    with db.read_tx("read the awards") as conn:
        return list(conn.execute(sa.select(awards, participants.c.name)
                                 .outerjoin(participants, sa.and_(awards.c.kind == "individual",
                                                                  participants.c.participant == awards.c.winner))
                                 .order_by(awards.c.kind.desc(), awards.c.position)))


def results_extras(db: Database) -> tuple[dict[str, datetime], dict[str, list[Any]], dict[str, Any]]:
    """For the results export: when each participant's answer pages first arrived, the rounds each entered (name,
    score, rank), and each participant's individual award (band, rank, total)."""
    with db.read_tx("read rounds and awards for the export") as conn:
        received = dict(conn.execute(
            sa.select(pages.c.participant, sa.func.min(submissions.c.first_seen))
            .join(submissions, submissions.c.id == pages.c.submission_id)
            .where(pages.c.participant.is_not(None), pages.c.status.notin_([Status.REJECTED.value, ESSAY, DISCARDED]))
            .group_by(pages.c.participant)).all())
        reached: dict[str, list[Any]] = defaultdict(list)
        for r in conn.execute(sa.select(round_entries.c.participant, contest_rounds.c.name, round_entries.c.score,
                                        round_entries.c.rank)
                              .join(contest_rounds, contest_rounds.c.id == round_entries.c.round_id)):
            reached[r.participant].append(r)
        won = {a.winner: a for a in conn.execute(sa.select(awards).where(awards.c.kind == "individual"))}
    return received, dict(reached), won


def committee_flags_list(db: Database, round_units: Collection[str] | None = None) -> list[Any]:
    """Every committee flag, open ones first, by id; with ``round_units`` only the ties at the cut of a round
    held in one of these units (a unit admin's; prize ties are the city's)."""
    with db.read_tx("list the committee's flags") as conn:
        rows = list(conn.execute(sa.select(committee_flags).order_by(
            sa.case((committee_flags.c.state == OPEN, 0), else_=1), committee_flags.c.id)))
        if round_units is None:
            return rows
        unit_of = dict(conn.execute(sa.select(contest_rounds.c.id, contest_rounds.c.unit)).all())
    return [r for r in rows if flag_round_unit(r, unit_of) in round_units]


def flag_round_unit(flag: Any, unit_of: dict[int, str]) -> str | None:
    """The unit of the round whose cut a committee flag is about (``round:<id>|…``); None for other flags."""
    head = str(flag.subject).split("|", 1)[0]
    if flag.kind != "round_cut" or not head.startswith("round:") or not head[6:].isdigit():
        return None
    return unit_of.get(int(head[6:]))


def committee_flag_unit(db: Database, flag_id: int) -> tuple[bool, str | None]:
    """(whether the committee flag exists, the unit of the round it is about: None for a prize tie)."""
    with db.read_tx("read a committee flag") as conn:
        row = committee_flag(conn, flag_id)
        if row is None:
            return False, None
        unit_of = dict(conn.execute(sa.select(contest_rounds.c.id, contest_rounds.c.unit)).all())
    return True, flag_round_unit(row, unit_of)


def report_rows(db: Database) -> tuple[list[Any], list[Any], list[Any]]:
    """For the reports: every participant (roster and personal columns), every round entry with its round's name
    and state, every award — in one read transaction."""
    with db.read_tx("read the contest for the reports") as conn:
        people = list(conn.execute(sa.select(participants).order_by(participants.c.participant)))
        got = list(conn.execute(sa.select(round_entries, contest_rounds.c.name.label("round_name"),
                                          contest_rounds.c.state.label("round_state"))
                                .join(contest_rounds, contest_rounds.c.id == round_entries.c.round_id)))
        won = list(conn.execute(sa.select(awards).order_by(awards.c.kind.desc(), awards.c.position)))
    return people, got, won
