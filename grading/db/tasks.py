"""Judging tasks: the judges score ONE ``essay_tasks`` row per participant and question, holding every essay of it
(``essays.task_id``): a multi-page essay is one task.

The question is the layout's essay box id for a region, ``"essay"`` (``PAGE_QUESTION``) for the free essay pages of
a submission. Essays without a participant (a submission with no answer sheet) are grouped per submission in a
``waiting`` task that no judge can take; when a judge resolves the participant, the task follows (it is re-keyed to
the participant, or its pages join the participant's task). Tasks are kept in step by recording a submission and
by deciding a flag (never touching scores or assignments); essays of a discarded page belong to no task
(``grading.db.discards``); assignments and scores (``essay_assignments``) belong to ``grading.essays.judging``. A
task's ``unit`` is its participant's roster unit (``participants``, imported from ``roster.csv`` by
``grading.essays.judging``), else the unit of the submission that brought it; ``unit_key`` is its
normalised form (``unit_key()``), NULL when unknown.
"""
from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .engine import chunks
from .essays import new_anon_codes
from .pages import add_flag
from .tables import (DISCARDED, PAGE_QUESTION, SYSTEM, TaskState, audit, essay_assignments, essay_tasks, essays,
                     flags, pages, participants, submissions)


def unit_key(unit: str | None) -> str | None:
    """A unit's name compared across files and accounts: Unicode NFKC, case-folded, runs of spaces as one
    (``"Quận  Ba Đình"`` = ``"quận ba đình"``); ``None`` for an empty or missing unit."""
    if unit is None:
        return None
    text = " ".join(unicodedata.normalize("NFKC", unit).casefold().split())
    return text or None


def task_question(kind: str, region_id: str | None) -> str:
    """An essay box answers the box's question; a free essay page answers ``PAGE_QUESTION``."""
    return region_id if kind == "region" and region_id else PAGE_QUESTION


def task_key(participant: str | None, submission_id: int, question: str) -> str:
    return f"p:{participant}|{question}" if participant else f"s:{submission_id}|{question}"


def _task_state_for(participant: str | None, state: str) -> str:
    if participant is None:
        return TaskState.WAITING.value if state in (TaskState.WAITING.value, TaskState.OPEN.value) else state
    return TaskState.OPEN.value if state == TaskState.WAITING.value else state


LATE_ESSAY = "late_essay_pages"


def _hold_late_essays(conn: Connection, now: datetime, rows: list[Any], *, busy_task: int, who: str) -> set[int]:
    """Essays whose participant's task already has judges: kept in a ``waiting`` task of their own submission
    (never handed out) and flagged once per page for the organisers. Returns the tasks touched."""
    touched: set[int] = set()
    for r in rows:
        q = task_question(r.kind, r.region_id)
        k = f"s:{r.submission_id}|{q}"
        row = conn.execute(sa.select(essay_tasks.c.id).where(essay_tasks.c.task_key == k)).first()
        if row is None:
            code = r.anon_code
            if conn.execute(sa.select(essay_tasks.c.id).where(essay_tasks.c.anon_code == code)).first() is not None:
                code = new_anon_codes(conn, 1, set())[0]
            tid = int(conn.execute(sa.insert(essay_tasks).values(
                task_key=k, question=q, participant=None, submission_id=r.submission_id, anon_code=code,
                state=TaskState.WAITING.value, judges_needed=2, created_at=now)
                .returning(essay_tasks.c.id)).scalar_one())
        else:
            tid = int(row.id)
        if r.task_id != tid:
            conn.execute(sa.update(essays).where(essays.c.id == r.id).values(task_id=tid))
            touched.update(t for t in (r.task_id, tid) if t is not None)
        page_id = conn.execute(sa.select(essays.c.page_id).where(essays.c.id == r.id)).scalar_one()
        if conn.execute(sa.select(flags.c.id).where(flags.c.page_id == page_id, flags.c.reason == LATE_ESSAY)
                        .limit(1)).first() is None:
            add_flag(conn, page_id, "page", None, LATE_ESSAY,
                     f"Bài tự luận của thí sinh {r.participant} đã có giám khảo chấm (nhiệm vụ {busy_task}); trang "
                     "này đến sau nên không được ghép vào bài đang chấm. Ban tổ chức quyết định (bài nộp lại, "
                     "bài nộp trùng…); ghi quyết định vào cờ này.", now)
            conn.execute(sa.insert(audit).values(
                at=now, who=who, action="essay_held", target=f"essay:{r.id} page:{page_id}",
                before={"task": r.task_id}, after={"task": tid, "busy_task": busy_task}))
    return touched


def sync_tasks(conn: Connection, now: datetime, *, submission_ids: Sequence[int] | None = None,
               who: str = SYSTEM) -> int:
    """Put every essay of the submissions (all essays when ``None``) in the task of its participant and
    question; returns how many essays changed task. Never touches assignments or scores, except that a task
    left without pages becomes ``void`` and its unscored assignments are released (audited).

    A task whose pages all want one other key that no task has yet is re-keyed in place (a ``waiting`` task of
    an unmatched submission becomes its participant's, assignments and all); otherwise the pages that changed
    move to the task of their new key (created when missing)."""
    rows = _essay_rows(conn, submission_ids)
    if not rows:
        return 0
    want = {r.id: task_key(r.participant, r.submission_id, task_question(r.kind, r.region_id)) for r in rows}
    info = {r.id: r for r in rows}
    moves, touched = _rekey_tasks(conn, now, who, sorted({r.task_id for r in rows if r.task_id is not None}),
                                  want, info)
    for r in rows:
        if r.task_id is None:
            moves[r.id] = want[r.id]
    touched |= _move_essays(conn, now, who, moves, info)
    void_empty_tasks(conn, now, who, touched)
    refresh_task_units(conn, sorted(touched))
    return len(moves)


def _essay_rows(conn: Connection, submission_ids: Sequence[int] | None) -> list[Any]:
    """The essays of the submissions (all when ``None``) with their task and submission, in id order; essays of
    discarded pages are left out (they are judged in no task)."""
    q = (sa.select(essays.c.id, essays.c.kind, essays.c.region_id, essays.c.participant, essays.c.anon_code,
                   essays.c.task_id, pages.c.submission_id)
         .join(pages, pages.c.id == essays.c.page_id).where(pages.c.status != DISCARDED).order_by(essays.c.id))
    if submission_ids is None:
        return list(conn.execute(q))
    rows: list[Any] = []
    for chunk in chunks(sorted(set(submission_ids))):
        rows.extend(conn.execute(q.where(pages.c.submission_id.in_(chunk))))
    return rows


def _rekey_tasks(conn: Connection, now: datetime, who: str, current: list[int], want: dict[int, str],
                 info: dict[int, Any]) -> tuple[dict[int, str], set[int]]:
    """Re-key in place each current task whose pages all want one other key that no task has yet; returns the
    essays that must move to another task (essay id → key) and the tasks re-keyed."""
    tasks_by_id: dict[int, Any] = {}
    members: dict[int, list[int]] = defaultdict(list)
    for chunk in chunks(current):
        # locked (FOR NO KEY UPDATE on PostgreSQL) so that a score deciding the task meanwhile is not overwritten
        for t in conn.execute(sa.select(essay_tasks).where(essay_tasks.c.id.in_(chunk))
                              .order_by(essay_tasks.c.id).with_for_update(key_share=True)):
            tasks_by_id[t.id] = t
        for eid, tid in conn.execute(sa.select(essays.c.id, essays.c.task_id).where(essays.c.task_id.in_(chunk))):
            members[tid].append(eid)
    moves: dict[int, str] = {}
    touched: set[int] = set()
    for tid, t in tasks_by_id.items():
        desired = {want.get(e, t.task_key) for e in members[tid]}
        if desired == {t.task_key}:
            continue
        if len(desired) == 1:
            (k,) = desired
            exists = conn.execute(sa.select(essay_tasks.c.id).where(essay_tasks.c.task_key == k)).first()
            if exists is None:
                first = info.get(min(members[tid]))
                participant = first.participant if first is not None else t.participant
                values = dict(task_key=k, participant=participant,
                              submission_id=None if participant else t.submission_id,
                              state=_task_state_for(participant, t.state))
                conn.execute(sa.update(essay_tasks).where(essay_tasks.c.id == tid).values(**values))
                conn.execute(sa.insert(audit).values(
                    at=now, who=who, action="essay_task_rekey", target=f"task:{tid}",
                    before={"task_key": t.task_key, "state": t.state},
                    after={"task_key": k, "state": values["state"]}))
                touched.add(tid)
                continue
        for e in members[tid]:
            if want.get(e, t.task_key) != t.task_key:
                moves[e] = want[e]
    return moves, touched


def _move_essays(conn: Connection, now: datetime, who: str, moves: dict[int, str], info: dict[int, Any]) -> set[int]:
    """Move the essays to the tasks of their keys (made when missing; held apart when that task already has
    judges); returns the tasks touched."""
    touched: set[int] = set()
    by_key: dict[str, list[int]] = defaultdict(list)
    for eid, k in moves.items():
        by_key[k].append(eid)
    for k, eids in sorted(by_key.items(), key=lambda kv: min(kv[1])):
        eids.sort()
        row = conn.execute(sa.select(essay_tasks.c.id).where(essay_tasks.c.task_key == k)).first()
        if row is not None and conn.execute(sa.select(essay_assignments.c.id)
                                            .where(essay_assignments.c.task_id == row.id).limit(1)).first():
            # the participant's essay is already being judged (or judged): pages added now were not seen by its
            # judges, so they are not slipped in — they wait apart, with a flag for the organisers to decide
            held = _hold_late_essays(conn, now, [info[e] for e in eids], busy_task=int(row.id), who=who)
            touched.update(held)
            continue
        tid = int(row.id) if row is not None else _new_task(conn, now, k, info[eids[0]])
        moved_from = sorted({info[e].task_id for e in eids if info[e].task_id is not None})
        for chunk in chunks(eids):
            conn.execute(sa.update(essays).where(essays.c.id.in_(chunk)).values(task_id=tid))
        if moved_from:
            conn.execute(sa.insert(audit).values(
                at=now, who=who, action="essay_task_move", target=f"task:{tid}",
                before={"essays": eids, "tasks": moved_from}, after={"task": tid}))
        touched.add(tid)
        touched.update(moved_from)
    return touched


def _new_task(conn: Connection, now: datetime, key: str, first: Any) -> int:
    """A task for ``key``, coded like its first essay (unless a task has that code already)."""
    code = first.anon_code
    if conn.execute(sa.select(essay_tasks.c.id).where(essay_tasks.c.anon_code == code)).first() is not None:
        code = new_anon_codes(conn, 1, {first.participant} if first.participant else set())[0]
    return int(conn.execute(sa.insert(essay_tasks).values(
        task_key=key, question=task_question(first.kind, first.region_id), participant=first.participant,
        submission_id=None if first.participant else first.submission_id, anon_code=code,
        state=TaskState.OPEN.value if first.participant else TaskState.WAITING.value, judges_needed=2,
        created_at=now).returning(essay_tasks.c.id)).scalar_one())


def void_empty_tasks(conn: Connection, now: datetime, who: str, touched: set[int]) -> None:
    """A task left without essays becomes ``void``; its unscored assignments are released (audited)."""
    for tid in sorted(touched):
        left = conn.execute(sa.select(sa.func.count()).select_from(essays).where(essays.c.task_id == tid)).scalar_one()
        if left:
            continue
        released = [dict(id=a.id, round=a.judge_slot, judge_id=a.judge_id) for a in conn.execute(
            sa.select(essay_assignments).where(essay_assignments.c.task_id == tid,
                                               essay_assignments.c.state == "assigned"))]
        conn.execute(sa.delete(essay_assignments).where(essay_assignments.c.task_id == tid,
                                                        essay_assignments.c.state == "assigned"))
        old = conn.execute(sa.select(essay_tasks.c.state).where(essay_tasks.c.id == tid)).scalar_one()
        conn.execute(sa.update(essay_tasks).where(essay_tasks.c.id == tid).values(state=TaskState.VOID.value))
        conn.execute(sa.insert(audit).values(at=now, who=who, action="essay_task_void", target=f"task:{tid}",
                                             before={"state": old, "assignments": released},
                                             after={"state": TaskState.VOID.value}))


def refresh_task_units(conn: Connection, task_ids: Sequence[int] | None = None) -> int:
    """Set each task's ``unit``: its participant's roster unit, else the unit of the first submission that
    brought its pages (``None``: unknown). Returns how many tasks changed."""
    q = (sa.select(essay_tasks.c.id, essay_tasks.c.participant, essay_tasks.c.unit,
                   sa.func.min(pages.c.submission_id).label("sub"))
         .select_from(essay_tasks.join(essays, essays.c.task_id == essay_tasks.c.id)
                      .join(pages, pages.c.id == essays.c.page_id))
         .group_by(essay_tasks.c.id, essay_tasks.c.participant, essay_tasks.c.unit))
    rows: list[Any] = []
    if task_ids is None:
        rows = list(conn.execute(q))
    else:
        for chunk in chunks(task_ids):
            rows.extend(conn.execute(q.where(essay_tasks.c.id.in_(chunk))))
    if not rows:
        return 0
    people = {r.participant for r in rows if r.participant}
    roster: dict[str, str | None] = {}
    for chunk in chunks(sorted(people)):          # _chunks works on any sequence
        roster.update(conn.execute(sa.select(participants.c.participant, participants.c.unit)
                                   .where(participants.c.participant.in_(chunk))).all())
    subs = sorted({r.sub for r in rows})
    sub_unit: dict[int, str | None] = {}
    for chunk in chunks(subs):
        sub_unit.update(conn.execute(sa.select(submissions.c.id, submissions.c.unit)
                                     .where(submissions.c.id.in_(chunk))).all())
    changed = 0
    for r in rows:
        unit = roster.get(r.participant) if r.participant else None
        if not unit_key(unit):
            unit = sub_unit.get(r.sub)
        unit = unit.strip() if unit and unit_key(unit) else None
        if unit != r.unit:
            conn.execute(sa.update(essay_tasks).where(essay_tasks.c.id == r.id)
                         .values(unit=unit, unit_key=unit_key(unit)))
            changed += 1
    return changed
