"""The statements of essay judging (its rules are ``grading.essays.judging``'s): the roster's participants, the
judges' assignments and scores, the tasks' decisions, and what the judges' and admins' pages read back.

Functions taking a ``Connection`` run inside the caller's write transaction; the others open their own.
Locking: ``lock_judge`` and ``lock_task`` take ``FOR NO KEY UPDATE`` on PostgreSQL (inserts that only reference
the row are not blocked), and ``next_task`` adds ``SKIP LOCKED`` unless told to wait; SQLite serialises writers
at ``BEGIN IMMEDIATE`` and needs neither. ``try_assign`` inserts under a savepoint, so an insert that loses a race
on the UNIQUE (task, round) or (task, judge) constraints leaves the transaction usable.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from .engine import Database, chunks, utcnow
from .tables import (TaskState, audit, contest_rounds, duplicate_pairs, essay_assignments, essay_tasks, essays, judges,
                     pages, participants, round_entries, submissions)
from .tasks import refresh_task_units
from .transcriptions import essay_task_transcribed_by, transcription_entries, transcription_notes, transcriptions

ASSIGNED, SCORED = "assigned", "scored"          # essay_assignments.state


def add_audit(conn: Connection, at: datetime, who: str, action: str, target: str, before: Any, after: Any) -> None:
    conn.execute(sa.insert(audit).values(at=at, who=who, action=action, target=target, before=before, after=after))


def _lock(q: Any, conn: Connection, *, skip_locked: bool = False, of: Any = None) -> Any:
    """``FOR NO KEY UPDATE [SKIP LOCKED]`` on PostgreSQL (FK inserts elsewhere are not blocked); nothing on SQLite,
    whose writers are serialised by BEGIN IMMEDIATE."""
    if conn.dialect.name != "postgresql":
        return q
    return q.with_for_update(key_share=True, skip_locked=skip_locked, of=of)


# ---------------------------------------------------------------------------------------------------
# The roster
# ---------------------------------------------------------------------------------------------------
def save_roster(db: Database, people: Sequence[tuple[str, str, str | None]], *, who: str) -> int:
    """Make ``participants`` hold (id, name, unit) for each person, refresh the units of the tasks of those who
    were added or changed, and audit it. Returns how many were added or changed."""
    now = utcnow()
    with db.write_tx("import the roster") as conn:
        have = {r.participant: (r.name, r.unit) for r in conn.execute(sa.select(participants))}
        changed = []
        for pid, name, unit in people:
            if have.get(pid) != (name, unit):
                changed.append(pid)
                if pid in have:
                    conn.execute(sa.update(participants).where(participants.c.participant == pid)
                                 .values(name=name, unit=unit, updated_at=now))
                else:
                    conn.execute(sa.insert(participants).values(participant=pid, name=name, unit=unit,
                                                                updated_at=now))
        if changed:
            ids: list[int] = []
            for chunk in chunks(changed):
                ids.extend(conn.execute(sa.select(essay_tasks.c.id).where(essay_tasks.c.participant.in_(chunk)))
                           .scalars())
            n = refresh_task_units(conn, sorted(ids))
            add_audit(conn, now, who, "roster_import", "participants", {"participants": len(have)},
                      {"changed": len(changed), "task_units_changed": n})
        return len(changed)


# ---------------------------------------------------------------------------------------------------
# Judges and tasks, inside the caller's transaction
# ---------------------------------------------------------------------------------------------------
def lock_judge(conn: Connection, judge_id: int) -> Any | None:
    """The judge's row (id, name, unit), locked: one judge's requests queue."""
    return conn.execute(_lock(sa.select(judges.c.id, judges.c.name, judges.c.unit)
                              .where(judges.c.id == judge_id), conn)).first()


def judge_row(conn: Connection, judge_id: int) -> Any | None:
    """(id, name, unit, disabled_at) of a judge, or ``None``."""
    return conn.execute(sa.select(judges.c.id, judges.c.name, judges.c.unit, judges.c.disabled_at)
                        .where(judges.c.id == judge_id)).first()


def judge_name(conn: Connection, judge_id: int) -> str:
    return conn.execute(sa.select(judges.c.name).where(judges.c.id == judge_id)).scalar_one()


def judges_with_role(conn: Connection, role: str) -> list[Any]:
    """(id, name, unit) of every judge of ``role`` whose account is not disabled, by id."""
    return list(conn.execute(sa.select(judges.c.id, judges.c.name, judges.c.unit)
                             .where(judges.c.role == role, judges.c.disabled_at.is_(None)).order_by(judges.c.id)))


def open_assignment_ids(conn: Connection, judge_id: int) -> list[int]:
    """The judge's unscored assignments, oldest first."""
    return list(conn.execute(sa.select(essay_assignments.c.id).where(
        essay_assignments.c.judge_id == judge_id, essay_assignments.c.state == ASSIGNED)
        .order_by(essay_assignments.c.id)).scalars())


def open_load(conn: Connection) -> dict[int, int]:
    """Unscored assignments per judge (judges holding none are left out)."""
    return dict(conn.execute(sa.select(essay_assignments.c.judge_id, sa.func.count())
                             .where(essay_assignments.c.state == ASSIGNED)
                             .group_by(essay_assignments.c.judge_id)).all())


def _n_assigned(task_col: Any) -> Any:
    return (sa.select(sa.func.count()).select_from(essay_assignments)
            .where(essay_assignments.c.task_id == task_col).scalar_subquery())


def round_filter(t: Any, access: Any) -> Any:
    """A task the round rules give to the judge: outside any round, of a round he may judge anywhere, or of a
    unit round whose entry's unit is one of his (``access``: ``grading.round_judges.RoundAccess``)."""
    re_, cr = round_entries, contest_rounds
    in_scope = sa.exists().where(re_.c.round_id == cr.c.id, cr.c.name == t.c.contest_round,
                                 re_.c.participant == t.c.participant, re_.c.unit.in_(sorted(access.scopes)))
    return sa.or_(t.c.contest_round.is_(None), t.c.contest_round.in_(sorted(access.anywhere)),
                  sa.and_(t.c.contest_round.in_(sorted(access.unit_rounds)), in_scope))


def round_entry_unit(conn: Connection, task: Any) -> str | None:
    """The unit of the task's participant's entry in the task's contest round (None: no such entry)."""
    if task.contest_round is None:
        return None
    return conn.execute(sa.select(round_entries.c.unit).join(contest_rounds, contest_rounds.c.id ==
                                                             round_entries.c.round_id)
                        .where(contest_rounds.c.name == task.contest_round,
                               round_entries.c.participant == task.participant).limit(1)).scalar()


def next_task(conn: Connection, judge_id: int, judge_unit_key: str | None, questions: Collection[str],
              skip: Sequence[int], *, wait: bool, access: Any = None) -> Any | None:
    """(id, rounds) of the first task with a free round the judge may take, locked: open or disputed, its
    question among ``questions``, no round of his, not of his unit (a task of unknown unit suits anyone), not in
    ``skip``, not a task whose essays a contest round judges afresh; disputes first, then by id. Unless ``wait``,
    tasks other transactions hold are passed over."""
    t = essay_tasks
    mine = sa.exists().where(essay_assignments.c.task_id == t.c.id, essay_assignments.c.judge_id == judge_id)
    mine = sa.or_(mine, essay_task_transcribed_by(judge_id, t.c.id))     # he typed its entry: he saw who wrote it
    in_round = essay_tasks.alias("in_round")       # essays a contest round judges are judged in the round only
    judged_in_a_round = sa.exists().where(in_round.c.essays_of == t.c.id)
    q = (sa.select(t.c.id, t.c.judges_needed)
         .where(t.c.state.in_([TaskState.OPEN.value, TaskState.DISPUTED.value]),
                t.c.question.in_(questions),
                _n_assigned(t.c.id) < t.c.judges_needed, ~mine, ~judged_in_a_round)
         .order_by(sa.case((t.c.state == TaskState.DISPUTED.value, 0), else_=1), t.c.id).limit(1))
    if judge_unit_key is not None:
        q = q.where(sa.or_(t.c.unit_key.is_(None), t.c.unit_key != judge_unit_key))
    if access is not None:
        q = q.where(round_filter(t, access))
    if skip:
        q = q.where(t.c.id.notin_(skip))
    return conn.execute(_lock(q, conn, skip_locked=not wait, of=t)).first()


def passes_over_locks(conn: Connection) -> bool:
    """Whether ``next_task`` without ``wait`` passes over locked tasks (PostgreSQL; SQLite has one writer)."""
    return conn.dialect.name == "postgresql"


def task_of(conn: Connection, assignment_id: int) -> int | None:
    """The task of an assignment, or ``None`` when there is no such assignment."""
    return conn.execute(sa.select(essay_assignments.c.task_id).where(essay_assignments.c.id == assignment_id)).scalar()


def lock_task(conn: Connection, task_id: int) -> Any:
    """The task's row, locked: the decision after a score sees every score."""
    return conn.execute(_lock(sa.select(essay_tasks).where(essay_tasks.c.id == task_id), conn)).one()


def assignment_row(conn: Connection, assignment_id: int) -> Any | None:
    return conn.execute(sa.select(essay_assignments).where(essay_assignments.c.id == assignment_id)).first()


def assignment_with_judge(conn: Connection, assignment_id: int) -> Any:
    """The assignment's row with its judge's ``name``."""
    return conn.execute(sa.select(essay_assignments, judges.c.name)
                        .join(judges, judges.c.id == essay_assignments.c.judge_id)
                        .where(essay_assignments.c.id == assignment_id)).one()


def taken_slots(conn: Connection, task_id: int) -> set[int]:
    return set(conn.execute(sa.select(essay_assignments.c.judge_slot)
                            .where(essay_assignments.c.task_id == task_id)).scalars())


def judges_on_task(conn: Connection, task_id: int) -> set[int]:
    return set(conn.execute(sa.select(essay_assignments.c.judge_id)
                            .where(essay_assignments.c.task_id == task_id)).scalars())


def transcribers_of_task(conn: Connection, task_id: int) -> set[int]:
    """Judges who typed (or decided) the transcription of a submission with an essay in the task, or said it was
    no handwritten entry."""
    tr = transcriptions
    found: set[int] = set()
    for te in (transcription_entries, transcription_notes):
        found |= set(conn.execute(sa.select(te.c.judge_id).join(tr, tr.c.id == te.c.transcription_id)
                                  .join(pages, pages.c.submission_id == tr.c.submission_id)
                                  .join(essays, essays.c.page_id == pages.c.id)
                                  .where(essays.c.task_id == task_id)).scalars())
    return found


def scored_totals(conn: Connection, task_id: int) -> dict[int, str]:
    """Round → total (exact text) of the task's scored assignments."""
    return {r.judge_slot: r.total for r in conn.execute(
        sa.select(essay_assignments.c.judge_slot, essay_assignments.c.total)
        .where(essay_assignments.c.task_id == task_id, essay_assignments.c.state == SCORED))}


# ---------------------------------------------------------------------------------------------------
# Writing assignments, scores and decisions, inside the caller's transaction
# ---------------------------------------------------------------------------------------------------
def assign(conn: Connection, task_id: int, slot: int, judge_id: int, at: datetime, by: str) -> int:
    """A new unscored assignment; its id."""
    return int(conn.execute(sa.insert(essay_assignments).values(
        task_id=task_id, judge_slot=slot, judge_id=judge_id, state=ASSIGNED, assigned_at=at,
        assigned_by=by).returning(essay_assignments.c.id)).scalar_one())


def try_assign(conn: Connection, task_id: int, slot: int, judge_id: int, at: datetime, by: str) -> int | None:
    """``assign`` under a savepoint; ``None`` when a concurrent judge took the round (or the task) first."""
    try:
        with conn.begin_nested():
            return assign(conn, task_id, slot, judge_id, at, by)
    except IntegrityError:
        return None


def record_score(conn: Connection, assignment_id: int, points: dict[str, str], total: str, at: datetime) -> None:
    conn.execute(sa.update(essay_assignments).where(essay_assignments.c.id == assignment_id).values(
        state=SCORED, points=points, total=total, scored_at=at))


def finalise_task(conn: Connection, task_id: int, final: str, rule: str | None, at: datetime) -> None:
    conn.execute(sa.update(essay_tasks).where(essay_tasks.c.id == task_id).values(
        state=TaskState.FINAL.value, final_score=final, final_rule=rule, decided_at=at))


def dispute_task(conn: Connection, task_id: int) -> None:
    """The task waits for a third score."""
    conn.execute(sa.update(essay_tasks).where(essay_tasks.c.id == task_id).values(
        state=TaskState.DISPUTED.value, judges_needed=3))


def release(conn: Connection, assignment_id: int) -> None:
    conn.execute(sa.delete(essay_assignments).where(essay_assignments.c.id == assignment_id))


def move_assignment(conn: Connection, assignment_id: int, judge_id: int, at: datetime, by: str) -> None:
    conn.execute(sa.update(essay_assignments).where(essay_assignments.c.id == assignment_id).values(
        judge_id=judge_id, assigned_at=at, assigned_by=by))


# ---------------------------------------------------------------------------------------------------
# Reading back
# ---------------------------------------------------------------------------------------------------
def task_count_rows(db: Database) -> list[Any]:
    """Tasks counted (``c``) by state, rounds, question and number of scores (``n``), in one query."""
    n_scored = (sa.select(sa.func.count()).select_from(essay_assignments)
                .where(essay_assignments.c.task_id == essay_tasks.c.id, essay_assignments.c.state == SCORED)
                .scalar_subquery())
    q = (sa.select(essay_tasks.c.state, essay_tasks.c.judges_needed, essay_tasks.c.question, n_scored.label("n"),
                   sa.func.count().label("c"))
         .group_by(essay_tasks.c.state, essay_tasks.c.judges_needed, essay_tasks.c.question, n_scored))
    with db.read_tx("count essay tasks") as conn:
        return list(conn.execute(q))


def judge_loads(db: Database) -> list[tuple[Any, Counter[str]]]:
    """Every judge (id, name, unit, role) by name, with his assignments counted by state."""
    with db.read_tx("count each judge's essays") as conn:
        by: defaultdict[int, Counter[str]] = defaultdict(Counter)
        for jid, state, n in conn.execute(sa.select(essay_assignments.c.judge_id, essay_assignments.c.state,
                                                    sa.func.count()).group_by(essay_assignments.c.judge_id,
                                                                              essay_assignments.c.state)):
            by[jid][state] += n
        return [(j, by.get(j.id, Counter())) for j in conn.execute(
            sa.select(judges.c.id, judges.c.name, judges.c.unit, judges.c.role).order_by(judges.c.name))]


def collected_within(t: Any, within: Collection[str]) -> Any:
    """The task's essays (its own, or those a round's task judges afresh) came in a file collected by one of
    the units ``within``."""
    return (sa.select(sa.literal(1)).select_from(essays.join(pages, pages.c.id == essays.c.page_id)
                                                 .join(submissions, submissions.c.id == pages.c.submission_id))
            .where(sa.or_(essays.c.task_id == t.c.id, essays.c.task_id == t.c.essays_of),
                   submissions.c.unit.in_(sorted(within))).exists())


def open_assignments(db: Database, *, limit: int = 200, offset: int = 0,
                     within: Collection[str] | None = None) -> tuple[list[dict[str, Any]], int]:
    """Unscored assignments (oldest first) with the task's code, question, unit and the judge; and their number
    (``within``: only the tasks whose essays these collecting units took in)."""
    scoped = sa.true() if within is None else collected_within(essay_tasks, within)
    q = (sa.select(essay_assignments.c.id, essay_assignments.c.judge_slot, essay_assignments.c.assigned_at,
                   essay_assignments.c.assigned_by, essay_tasks.c.id.label("task_id"), essay_tasks.c.anon_code,
                   essay_tasks.c.question, essay_tasks.c.unit, judges.c.name.label("judge"),
                   judges.c.id.label("judge_id"))
         .join(essay_tasks, essay_tasks.c.id == essay_assignments.c.task_id)
         .join(judges, judges.c.id == essay_assignments.c.judge_id)
         .where(essay_assignments.c.state == ASSIGNED, scoped).order_by(essay_assignments.c.id))
    with db.read_tx("list open essay assignments") as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(essay_assignments.join(
            essay_tasks, essay_tasks.c.id == essay_assignments.c.task_id))
                         .where(essay_assignments.c.state == ASSIGNED, scoped)).scalar_one()
        return [dict(r._mapping) for r in conn.execute(q.offset(offset).limit(limit))], int(n)


def assignment_within(db: Database, assignment_id: int, within: Collection[str]) -> bool:
    """Whether the assignment's task is one whose essays the collecting units ``within`` took in."""
    with db.read_tx("check an assignment's unit") as conn:
        return conn.execute(sa.select(essay_assignments.c.id)
                            .join(essay_tasks, essay_tasks.c.id == essay_assignments.c.task_id)
                            .where(essay_assignments.c.id == assignment_id,
                                   collected_within(essay_tasks, within))).first() is not None


def my_assignments(db: Database, judge_id: int, *, scored_limit: int = 100) -> dict[str, Any]:
    """A judge's own work: unscored assignments, the latest scored ones (with HIS total only), the count."""
    cols = (essay_assignments.c.id, essay_assignments.c.judge_slot, essay_assignments.c.state,
            essay_assignments.c.total, essay_assignments.c.assigned_at, essay_assignments.c.scored_at,
            essay_tasks.c.anon_code, essay_tasks.c.question)
    base = (sa.select(*cols).join(essay_tasks, essay_tasks.c.id == essay_assignments.c.task_id)
            .where(essay_assignments.c.judge_id == judge_id))
    with db.read_tx("list a judge's essays") as conn:
        open_ = [dict(r._mapping) for r in conn.execute(
            base.where(essay_assignments.c.state == ASSIGNED).order_by(essay_assignments.c.id))]
        done = [dict(r._mapping) for r in conn.execute(
            base.where(essay_assignments.c.state == SCORED).order_by(essay_assignments.c.scored_at.desc(),
                                                                     essay_assignments.c.id.desc())
            .limit(scored_limit))]
        n_done = conn.execute(sa.select(sa.func.count()).select_from(essay_assignments).where(
            essay_assignments.c.judge_id == judge_id, essay_assignments.c.state == SCORED)).scalar_one()
    return {"open": open_, "scored": done, "n_scored": int(n_done)}


def assignment(db: Database, assignment_id: int) -> dict[str, Any] | None:
    """What a judge's scoring page needs and nothing more: the assignment (his own points), the task's code and
    question, its essays (code, kind, OCR text and reliability; a contest round's task: the essays of the task it
    judges afresh) and their near-duplicate pairs."""
    with db.read_tx("read an essay assignment") as conn:
        a = conn.execute(sa.select(essay_assignments, essay_tasks.c.anon_code, essay_tasks.c.question,
                                   essay_tasks.c.state.label("task_state"), essay_tasks.c.essays_of)
                         .join(essay_tasks, essay_tasks.c.id == essay_assignments.c.task_id)
                         .where(essay_assignments.c.id == assignment_id)).first()
        if a is None:
            return None
        es = [dict(r._mapping) for r in conn.execute(
            sa.select(essays.c.id, essays.c.anon_code, essays.c.kind, essays.c.ocr_state, essays.c.text,
                      essays.c.reliable).where(essays.c.task_id == (a.essays_of or a.task_id))   # a round's task:
            .order_by(essays.c.page_id, essays.c.id))]                                           # its base's essays
        dups = _duplicates_of(conn, es)
    out = dict(a._mapping)
    out["essays"], out["duplicates"] = es, dups
    return out


def _duplicates_of(conn: Connection, es: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The near-duplicate pairs of the essays ``es``: which of them (``mine``), the other's code, the figures."""
    ids = [e["id"] for e in es]
    dups: list[dict[str, Any]] = []
    if not ids:
        return dups
    for d in conn.execute(sa.select(duplicate_pairs.c.id, duplicate_pairs.c.essay_a, duplicate_pairs.c.essay_b,
                                    duplicate_pairs.c.containment, duplicate_pairs.c.similarity)
                          .where(sa.or_(duplicate_pairs.c.essay_a.in_(ids), duplicate_pairs.c.essay_b.in_(ids)))
                          .order_by(duplicate_pairs.c.containment.desc(), duplicate_pairs.c.id)):
        mine, other = (d.essay_a, d.essay_b) if d.essay_a in ids else (d.essay_b, d.essay_a)
        other_code = conn.execute(sa.select(essays.c.anon_code).where(essays.c.id == other)).scalar_one()
        dups.append({"id": d.id, "mine": next(e["anon_code"] for e in es if e["id"] == mine),
                     "other": other_code, "containment": d.containment, "similarity": d.similarity})
    return dups


def duplicate_pair(db: Database, pair_id: int) -> dict[str, Any] | None:
    """Both texts of a pair (anonymous codes only) and the shared passages (character offsets)."""
    with db.read_tx("read a duplicate pair") as conn:
        d = conn.execute(sa.select(duplicate_pairs).where(duplicate_pairs.c.id == pair_id)).first()
        if d is None:
            return None
        texts = {r.id: (r.anon_code, r.text or "") for r in conn.execute(
            sa.select(essays.c.id, essays.c.anon_code, essays.c.text).where(essays.c.id.in_([d.essay_a, d.essay_b])))}
    return {"id": d.id, "essay_a": d.essay_a, "essay_b": d.essay_b, "code_a": texts[d.essay_a][0],
            "text_a": texts[d.essay_a][1], "code_b": texts[d.essay_b][0], "text_b": texts[d.essay_b][1],
            "similarity": d.similarity, "containment": d.containment, "passages": list(d.passages or [])}


def task_rounds(db: Database) -> tuple[list[Any], dict[int, dict[int, Any]]]:
    """Every task that is not void (by participant, unknown ones last, question, id) and, by task and round, its
    assignments (round, state, total, judge ``name``)."""
    with db.read_tx("read essay scores") as conn:
        tasks = list(conn.execute(sa.select(essay_tasks).where(essay_tasks.c.state != TaskState.VOID.value)
                                  .order_by(essay_tasks.c.participant.is_(None), essay_tasks.c.participant,
                                            essay_tasks.c.question, essay_tasks.c.id)))
        by_task: dict[int, dict[int, Any]] = defaultdict(dict)
        for r in conn.execute(sa.select(essay_assignments.c.task_id, essay_assignments.c.judge_slot,
                                        essay_assignments.c.state, essay_assignments.c.total, judges.c.name)
                              .join(judges, judges.c.id == essay_assignments.c.judge_id)):
            by_task[r.task_id][r.judge_slot] = r
    return tasks, by_task
