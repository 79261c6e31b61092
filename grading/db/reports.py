"""A judge's report of a problem with an essay he was given: the wrong page, unreadable, not an essay, or something
else in his own words — instead of forcing a score.

A report writes one flag per page of the essay for the organisers (reason ``judge_report``, origin ``judge``,
target ``page``, the judge's words in the message), releases his assignment, and *holds* the essay's task
(``TaskState.HELD``): no judge is given it until the organisers decide. Flags of origin ``judge`` are the
organisers' work: judges never see them (``grading.db.flag_queue``), so the essay stays blind.

The organisers decide in one of two ways: discard a page that does not belong (``grading.db.discards``: its flags
close with the resolution "discarded" and its essays leave the task), or resolve a report's flag with a note (the
flag page, ``omr resolve``): the report's flags on the task's other pages close with it. Once no report of a task is
open, the task goes back to judging — ``open``, ``disputed`` when it waits for a third score, ``waiting`` while it
has no participant. Audited: ``judge_report``, ``essay_task_hold``, ``essay_task_resume``, ``judge_report_closed``.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from omr.errors import BadArguments

from .engine import Database, utcnow
from .pages import load_states, update_page_status, update_submission_status
from .tables import TaskState, audit, essay_assignments, essay_tasks, essays, flags, judges, pages, submissions

JUDGE_REPORT = "judge_report"      # the flags' reason
JUDGE = "judge"                    # the flags' origin
MAX_TEXT = 1000                    # characters of the judge's own words kept


class ReportKind(enum.Enum):
    WRONG_PAGE = "wrong_page"
    UNREADABLE = "unreadable"
    NOT_AN_ESSAY = "not_essay"
    OTHER = "other"


KIND_LABELS = {ReportKind.WRONG_PAGE: "Sai trang", ReportKind.UNREADABLE: "Không đọc được",
               ReportKind.NOT_AN_ESSAY: "Không phải bài tự luận", ReportKind.OTHER: "Khác"}


class ReportRefused(BadArguments):
    """A report the rules refuse; the message is Vietnamese, shown as is to the judge."""


@dataclass(frozen=True, slots=True)
class Report:
    task_id: int
    anon_code: str
    flag_ids: tuple[int, ...]


def _lock(q: Any, conn: Connection) -> Any:
    """``FOR NO KEY UPDATE`` on PostgreSQL (as the judging does); SQLite serialises writers already."""
    return q.with_for_update(key_share=True) if conn.dialect.name == "postgresql" else q


def report_problem(db: Database, assignment_id: int, judge_id: int, kind: ReportKind, text: str = "") -> Report:
    """The judge's report on his unscored assignment: a flag per page of the essay, the assignment released, the
    task held. ``ReportRefused`` (Vietnamese) when the assignment is not his, is scored, or "Khác" has no words."""
    words = " ".join(str(text or "").split())[:MAX_TEXT]
    if kind is ReportKind.OTHER and not words:
        raise ReportRefused("Hãy ghi rõ vấn đề của bài (mục «Khác»).")
    now = utcnow()
    with db.write_tx(f"report a problem with assignment {assignment_id}") as conn:
        tid = conn.execute(sa.select(essay_assignments.c.task_id).where(essay_assignments.c.id == assignment_id,
                                                                       essay_assignments.c.judge_id == judge_id)
                           ).scalar()
        if tid is None:
            raise ReportRefused("Bài này không còn được giao cho bạn.")
        page_ids = sorted(set(conn.execute(sa.select(essays.c.page_id).where(essays.c.task_id == tid)).scalars()))
        # lock order as a flag's decision: pages, then submissions, then the task
        sids = sorted(set(conn.execute(sa.select(pages.c.submission_id).where(pages.c.id.in_(page_ids))
                                       .order_by(pages.c.id).with_for_update()).scalars()))
        conn.execute(sa.select(submissions.c.id).where(submissions.c.id.in_(sids)).order_by(submissions.c.id)
                     .with_for_update()).all()
        task = conn.execute(_lock(sa.select(essay_tasks).where(essay_tasks.c.id == tid), conn)).one()
        a = conn.execute(sa.select(essay_assignments, judges.c.name)
                         .join(judges, judges.c.id == essay_assignments.c.judge_id)
                         .where(essay_assignments.c.id == assignment_id)).first()
        if a is None or a.judge_id != judge_id:
            raise ReportRefused("Bài này không còn được giao cho bạn.")
        if a.state != "assigned":
            raise ReportRefused("Bạn đã chấm bài này; điểm đã ghi không sửa được.")
        said = KIND_LABELS[kind] + (f" — «{words}»" if words else "")
        flag_ids = tuple(_add_report_flag(conn, pid, f"Giám khảo {a.name} báo bài {task.anon_code} (trang {i} trên "
                                                     f"{len(page_ids)} của bài): {said}. Bài tạm dừng chấm: loại bỏ "
                                                     "trang này nếu nó không thuộc bài, hoặc ghi quyết định vào cờ "
                                                     "này để trả bài về chấm.")
                         for i, pid in enumerate(page_ids, 1))
        conn.execute(sa.delete(essay_assignments).where(essay_assignments.c.id == assignment_id))
        conn.execute(sa.insert(audit).values(
            at=now, who=a.name, action=JUDGE_REPORT, target=f"task:{tid} assignment:{assignment_id}",
            before={"assignment": {"judge": a.name, "round": a.judge_slot, "state": a.state}, "task_state": task.state},
            after={"kind": kind.value, "text": words, "flags": list(flag_ids), "pages": page_ids}))
        refresh_pages(conn, page_ids, sids)
        settle_held_tasks(conn, [tid], now, a.name)
        return Report(tid, task.anon_code, flag_ids)


def _add_report_flag(conn: Connection, page_id: int, message: str) -> int:
    return int(conn.execute(sa.insert(flags).values(
        page_id=page_id, target="page", key=None, reason=JUDGE_REPORT, message=message, confidence=0.0, fills=None,
        origin=JUDGE, state="open").returning(flags.c.id)).scalar_one())


def refresh_pages(conn: Connection, page_ids: Iterable[int], sids: Iterable[int]) -> None:
    """The pages' and their files' statuses after their open flags changed (an answer sheet with an essay box
    is flagged while a report on it is open)."""
    for st in load_states(conn, sorted(set(page_ids))).values():
        update_page_status(conn, st)
    update_submission_status(conn, sorted(set(sids)))


def resumed_state(task: Any) -> TaskState:
    """The state a task goes back to when it is judged again: ``final`` with a final score, ``waiting`` without a
    participant, ``disputed`` when it needs a third score, else ``open``."""
    if task.final_score is not None:
        return TaskState.FINAL
    if task.participant is None:
        return TaskState.WAITING
    return TaskState.DISPUTED if task.judges_needed == 3 else TaskState.OPEN


def settle_held_tasks(conn: Connection, task_ids: Iterable[int], now: datetime, who: str) -> None:
    """Hold each task with an open report on one of its pages; give back to judging each held task without one.
    Void and final tasks are left as they are."""
    for tid in sorted(set(task_ids)):
        t = conn.execute(sa.select(essay_tasks.c.state, essay_tasks.c.participant, essay_tasks.c.judges_needed,
                                   essay_tasks.c.final_score).where(essay_tasks.c.id == tid)).first()
        if t is None or t.state in (TaskState.VOID.value, TaskState.FINAL.value):
            continue
        reported = conn.execute(sa.select(flags.c.id).join(essays, essays.c.page_id == flags.c.page_id).where(
            essays.c.task_id == tid, flags.c.state == "open", flags.c.reason == JUDGE_REPORT).limit(1)).first()
        if (reported is not None) == (t.state == TaskState.HELD.value):
            continue
        new = TaskState.HELD if reported is not None else resumed_state(t)
        conn.execute(sa.update(essay_tasks).where(essay_tasks.c.id == tid).values(state=new.value))
        conn.execute(sa.insert(audit).values(
            at=now, who=who, action="essay_task_hold" if new is TaskState.HELD else "essay_task_resume",
            target=f"task:{tid}", before={"state": t.state}, after={"state": new.value}))


def close_report(conn: Connection, flag_id: int, page_id: int, value: str, now: datetime, who: str) -> list[int]:
    """After the organisers decided the report flag ``flag_id`` (on ``page_id``): close the report's flags on the
    other pages of the same essays with that decision, and give the tasks back to judging. Returns the flags
    closed with it."""
    tids = sorted(set(conn.execute(sa.select(essays.c.task_id).where(essays.c.page_id == page_id,
                                                                     essays.c.task_id.is_not(None))).scalars()))
    if not tids:
        return []
    others = list(conn.execute(
        sa.select(flags.c.id, flags.c.page_id, pages.c.submission_id).join(pages, pages.c.id == flags.c.page_id)
        .where(flags.c.state == "open", flags.c.reason == JUDGE_REPORT, flags.c.id != flag_id,
               flags.c.page_id.in_(sa.select(essays.c.page_id).where(essays.c.task_id.in_(tids))))
        .order_by(flags.c.id)))
    if others:
        conn.execute(sa.update(flags).where(flags.c.id.in_([f.id for f in others])).values(
            state="resolved", resolution={"value": value, "with_flag": flag_id}, resolved_by=who, resolved_at=now))
        conn.execute(sa.insert(audit).values(
            at=now, who=who, action="judge_report_closed", target=f"flag:{flag_id} page:{page_id}",
            before={"open": [f.id for f in others]}, after={"resolved": [f.id for f in others], "value": value}))
        refresh_pages(conn, [f.page_id for f in others], [f.submission_id for f in others])
    settle_held_tasks(conn, tids, now, who)
    return [f.id for f in others]
