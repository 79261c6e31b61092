"""Essay scoring: the rubric (``rubric.json``), double-blind assignment of judging tasks, scores, disputes and
final scores — at store level, the same on SQLite and PostgreSQL.

Rubric (``DIR/rubric.json``)::

    {"tolerance": "1,5", "final_rule": "closest_mean",
     "questions": [{"id": "essay", "title": "Bài tự luận", "criteria": [
         {"id": "noi_dung", "title": "Nội dung", "max": 6}, {"id": "dien_dat", "title": "Diễn đạt", "max": "2"}]}]}

``id`` of a question is the layout's essay box id (essays written on the sheet) or ``"essay"`` for the free essay
pages of a submission (``grading.store.PAGE_QUESTION``). Points are exact: ``7``, ``"7,5"``, ``"7.5"``, ``"15/2"``.
``tolerance``: points on the TOTAL; ``final_rule``: ``closest_mean`` (mean of the two closest of three totals) or
``third`` (the third judge's total). Read with ``omr.layout.read_json_document``; every problem is listed in one
``LayoutError`` (exit 5).

Assignment rules (``take_next``):

* a task (one participant, one question; ``grading.store``) needs two scores by two different judges (rounds 1
  and 2); neither judge sees the other's score;
* a judge never gets a task of his own unit (``unit_key`` compared normalised); a task of unknown unit goes to any
  judge; a task whose question has no rubric, or that waits for its participant, goes to nobody;
* if the two totals differ by more than the tolerance the task is *disputed*: round 3 is assigned at once to the
  eligible judge (role judge, neither of the first two, not of the unit) holding the fewest unscored assignments,
  or, when there is none, left for the next eligible judge who asks; the final score follows ``final_rule``;
  within the tolerance the final score is the mean of the two totals;
* a judge holds at most ``max_open`` unscored assignments taken from the pool (default 1: "next" gives back the
  one already held); a score, once submitted, is locked.

Concurrency: the judge's own row is locked first (``FOR NO KEY UPDATE``: one judge's requests queue); the task is
chosen with ``FOR NO KEY UPDATE SKIP LOCKED`` on PostgreSQL (concurrent judges pass over each other's candidate),
the free round is read again after the lock, and UNIQUE (task, round) and (task, judge) are the final guard: an
insert that loses a race rolls back to its savepoint and the next candidate is tried. SQLite serialises writers
(``BEGIN IMMEDIATE``). Scoring and reassigning lock the task row, so the decision after the second (third) score
sees every score. Every assignment, score, dispute, final, reassignment and release writes an ``audit`` row
(who, when, before, after).
"""
from __future__ import annotations

import enum
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from omr.errors import BadArguments, LayoutError
from omr.layout import read_json_document

from .keys import parse_fraction
from .numbers import show_points
from .store import (SYSTEM, Store, TaskState, audit, duplicate_pairs, essay_assignments, essay_tasks, essays, judges,
                    participants, refresh_task_units, unit_key)

RUBRIC = "rubric.json"
ASSIGNED, SCORED = "assigned", "scored"
POOL = "pool"
MAX_POINTS = Fraction(1000)


class FinalRule(enum.Enum):
    CLOSEST_MEAN = "closest_mean"
    THIRD = "third"


class ScoringError(BadArguments):
    """A request the rules refuse; the message is Vietnamese, shown as is to the judge."""


class ScoreProblems(ScoringError):
    """A score form with wrong fields: ``problems`` maps criterion id → what is wrong (Vietnamese)."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


# ---------------------------------------------------------------------------------------------------
# Points and the rubric
# ---------------------------------------------------------------------------------------------------
def parse_points(value: Any) -> Fraction:
    """``7``, ``7.5``, ``"7,5"``, ``"7.5"``, ``"15/2"`` → Fraction (exact): ``keys.parse_fraction`` with a decimal
    comma accepted (as Vietnamese write it). ``ValueError`` otherwise."""
    if isinstance(value, str):
        text = value.strip()
        # what a judge types: digits, one decimal mark or a fraction bar — no exponents ("1e9999999" would make
        # Fraction compute for seconds while the task is locked), nothing long
        if len(text) > 20 or any(c not in "0123456789.,/+-" for c in text):
            raise ValueError(f"{value!r} is not a number")
        if text.count(",") == 1 and "." not in text and "/" not in text:
            text = text.replace(",", ".")
        value = text
    return parse_fraction(value)


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    title: str
    max_points: Fraction


@dataclass(frozen=True, slots=True)
class RubricQuestion:
    id: str
    title: str
    criteria: tuple[Criterion, ...]

    @property
    def max_total(self) -> Fraction:
        return sum((c.max_points for c in self.criteria), Fraction(0))


@dataclass(frozen=True, slots=True)
class Rubric:
    questions: tuple[RubricQuestion, ...]
    tolerance: Fraction
    final_rule: FinalRule

    def question(self, qid: str) -> RubricQuestion | None:
        return next((q for q in self.questions if q.id == qid), None)

    @property
    def question_ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions)


def rubric_from_dict(raw: Any, *, source: str = RUBRIC) -> Rubric:
    """Validate a parsed rubric; ``LayoutError`` lists every problem with its field path."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise LayoutError(f"{source} must be an object {{\"tolerance\": …, \"final_rule\": …, \"questions\": […]}}")
    for k in sorted(set(raw) - {"tolerance", "final_rule", "questions", "title", "note"}):
        problems.append(f"{k}: unknown field (expected tolerance, final_rule, questions)")

    def points(value: Any, path: str, *, positive: bool) -> Fraction | None:
        try:
            f = parse_points(value)
        except ValueError:
            problems.append(f"{path}: {value!r} is not a number of points (7, \"7,5\", \"7.5\" or \"15/2\")")
            return None
        if f < 0 or (positive and f == 0) or f > MAX_POINTS:
            problems.append(f"{path}: {value!r} must be {'above' if positive else 'at least'} 0 and at most "
                            f"{MAX_POINTS}")
            return None
        return f

    tolerance = points(raw.get("tolerance"), "tolerance", positive=False) if "tolerance" in raw else None
    if "tolerance" not in raw:
        problems.append("tolerance: required (points on the total by which two judges may differ)")
    rule = None
    try:
        rule = FinalRule(raw.get("final_rule"))
    except ValueError:
        problems.append(f"final_rule: {raw.get('final_rule')!r} must be \"closest_mean\" or \"third\"")
    questions: list[RubricQuestion] = []
    items = raw.get("questions")
    if not isinstance(items, list) or not items:
        problems.append("questions: required, a non-empty list of {id, title, criteria}")
        items = []
    for i, q in enumerate(items):
        path = f"questions[{i}]"
        if not isinstance(q, dict):
            problems.append(f"{path}: must be an object with id, title and criteria")
            continue
        qid = q.get("id")
        if not isinstance(qid, str) or not qid.strip():
            problems.append(f"{path}.id: required (the layout's essay box id, or \"essay\" for essay pages)")
            qid = None
        title = q.get("title", "")
        if not isinstance(title, str):
            problems.append(f"{path}.title: must be text")
        crits: list[Criterion] = []
        seen: list[str] = []
        cl = q.get("criteria")
        if not isinstance(cl, list) or not cl:
            problems.append(f"{path}.criteria: required, a non-empty list of {{id, title, max}}")
            cl = []
        for j, c in enumerate(cl):
            cpath = f"{path}.criteria[{j}]"
            if not isinstance(c, dict):
                problems.append(f"{cpath}: must be an object with id, title and max")
                continue
            cid, ctitle = c.get("id"), c.get("title")
            if not isinstance(cid, str) or not cid.strip():
                problems.append(f"{cpath}.id: required")
            else:
                seen.append(cid.strip())
            if not isinstance(ctitle, str) or not ctitle.strip():
                problems.append(f"{cpath}.title: required (Vietnamese, shown to the judges)")
            if "max" not in c:
                problems.append(f"{cpath}.max: required (the criterion's maximum points)")
                continue
            mx = points(c["max"], f"{cpath}.max", positive=True)
            if isinstance(cid, str) and cid.strip() and isinstance(ctitle, str) and mx is not None:
                crits.append(Criterion(cid.strip(), ctitle.strip(), mx))
        if len(set(seen)) != len(seen):
            problems.append(f"{path}.criteria: ids repeat")
        if qid is not None:
            questions.append(RubricQuestion(qid.strip(), title if isinstance(title, str) else "", tuple(crits)))
    if len({q.id for q in questions}) != len(questions):
        problems.append("questions: ids repeat")
    if problems:
        raise LayoutError(f"{source} is not valid", details=problems)
    assert tolerance is not None and rule is not None
    return Rubric(tuple(questions), tolerance, rule)


def load_rubric(folder: str | Path, *, required: bool = False) -> Rubric | None:
    """``DIR/rubric.json`` (``None`` when there is none and not ``required``); ``LayoutError`` (exit 5)."""
    path = Path(folder)
    if path.is_dir():
        path = path / RUBRIC
    if not path.is_file() and not required:
        return None
    raw, path = read_json_document(path, file_name=RUBRIC, what="rubric file",
                                   hint="write the contest's essay rubric (see answer_keys/demo/rubric.json)")
    return rubric_from_dict(raw, source=str(path))


# ---------------------------------------------------------------------------------------------------
# The decision (pure)
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Decision:
    state: TaskState               # FINAL or DISPUTED
    final: Fraction | None
    rule: str | None               # mean | closest_mean | third


def decide(first: Fraction, second: Fraction, third: Fraction | None, *, tolerance: Fraction,
           rule: FinalRule) -> Decision:
    """Two totals within ``tolerance``: final = their mean. Beyond it: DISPUTED until the third total; then
    ``third`` → the third total, ``closest_mean`` → the mean of the two closest totals (a tie goes to the pair
    holding the third judge's total; when both tied pairs hold it, the third total lies halfway and is final)."""
    if third is None:
        if abs(first - second) <= tolerance:
            return Decision(TaskState.FINAL, (first + second) / 2, "mean")
        return Decision(TaskState.DISPUTED, None, None)
    if rule is FinalRule.THIRD:
        return Decision(TaskState.FINAL, third, rule.value)
    pairs = [((first, second), False), ((first, third), True), ((second, third), True)]
    best = min(abs(a - b) for (a, b), _ in pairs)
    tied = [(p, has3) for p, has3 in pairs if abs(p[0] - p[1]) == best]
    if len(tied) > 1:
        tied = [t for t in tied if t[1]] or tied
    means = [(a + b) / 2 for (a, b), _ in tied]
    return Decision(TaskState.FINAL, sum(means, Fraction(0)) / len(means), rule.value)


# ---------------------------------------------------------------------------------------------------
# The roster (participants' units)
# ---------------------------------------------------------------------------------------------------
def import_roster(store: Store, people: Sequence[Any], *, who: str = SYSTEM) -> int:
    """Keep the ``participants`` table equal to the roster (``omr.sheet.Participant``: id, name, unit) and the
    units of the affected tasks in step. Returns how many participants were added or changed."""
    now = _now()
    with store.write_tx("import the roster") as conn:
        have = {r.participant: (r.name, r.unit) for r in conn.execute(sa.select(participants))}
        changed = []
        for p in people:
            unit = (p.unit or "").strip() or None
            if have.get(p.id) != (p.name, unit):
                changed.append(p.id)
                if p.id in have:
                    conn.execute(sa.update(participants).where(participants.c.participant == p.id)
                                 .values(name=p.name, unit=unit, updated_at=now))
                else:
                    conn.execute(sa.insert(participants).values(participant=p.id, name=p.name, unit=unit,
                                                                updated_at=now))
        if changed:
            ids: list[int] = []
            for i in range(0, len(changed), 500):
                ids.extend(conn.execute(sa.select(essay_tasks.c.id).where(
                    essay_tasks.c.participant.in_(changed[i:i + 500]))).scalars())
            n = refresh_task_units(conn, sorted(ids))
            conn.execute(sa.insert(audit).values(at=now, who=who, action="roster_import", target="participants",
                                                 before={"participants": len(have)},
                                                 after={"changed": len(changed), "task_units_changed": n}))
        return len(changed)


# ---------------------------------------------------------------------------------------------------
# Taking the next essay
# ---------------------------------------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(timezone.utc)


def _lock(q: Any, conn: Any, *, skip_locked: bool = False, of: Any = None) -> Any:
    """``FOR NO KEY UPDATE [SKIP LOCKED]`` on PostgreSQL (FK inserts elsewhere are not blocked); nothing on SQLite,
    whose writers are serialised by BEGIN IMMEDIATE."""
    if conn.dialect.name != "postgresql":
        return q
    return q.with_for_update(key_share=True, skip_locked=skip_locked, of=of)


def _n_assigned(task_col: Any) -> Any:
    return (sa.select(sa.func.count()).select_from(essay_assignments)
            .where(essay_assignments.c.task_id == task_col).scalar_subquery())


@dataclass(frozen=True, slots=True)
class Taken:
    assignment_id: int
    new: bool            # False: the judge already held this unscored assignment


def take_next(store: Store, judge_id: int, rubric: Rubric | None, *, max_open: int = 1,
              attempts: int = 50) -> Taken | None:
    """Give the judge an essay to score: one he already holds (when he holds ``max_open``), else a new
    assignment of the next eligible task (disputes first, then by task id). ``None``: nothing he may take."""
    if rubric is None:
        return None
    now = _now()
    with store.write_tx("take the next essay") as conn:
        judge = conn.execute(_lock(sa.select(judges.c.id, judges.c.name, judges.c.unit)
                                   .where(judges.c.id == judge_id), conn)).first()
        if judge is None:
            raise ScoringError("Không có giám khảo này.")
        held = list(conn.execute(sa.select(essay_assignments.c.id).where(
            essay_assignments.c.judge_id == judge_id, essay_assignments.c.state == ASSIGNED)
            .order_by(essay_assignments.c.id)).scalars())
        if len(held) >= max_open:
            return Taken(int(held[0]), False)
        ukey = unit_key(judge.unit)
        t = essay_tasks
        mine = sa.exists().where(essay_assignments.c.task_id == t.c.id, essay_assignments.c.judge_id == judge_id)
        skip: list[int] = []
        wait = False
        for _ in range(attempts):
            q = (sa.select(t.c.id, t.c.rounds)
                 .where(t.c.state.in_([TaskState.OPEN.value, TaskState.DISPUTED.value]),
                        t.c.question.in_(rubric.question_ids),
                        _n_assigned(t.c.id) < t.c.rounds, ~mine)
                 .order_by(sa.case((t.c.state == TaskState.DISPUTED.value, 0), else_=1), t.c.id).limit(1))
            if ukey is not None:
                q = q.where(sa.or_(t.c.unit_key.is_(None), t.c.unit_key != ukey))
            if skip:
                q = q.where(t.c.id.notin_(skip))
            row = conn.execute(_lock(q, conn, skip_locked=not wait, of=t)).first()
            if row is None:
                if wait or conn.dialect.name != "postgresql":
                    return None
                # every task with a free round may be locked by judges taking ITS OTHER round right now: wait for
                # them once instead of saying "nothing left" (SKIP LOCKED alone told one judge in 24 that)
                wait = True
                continue
            # read again after the lock: a race lost before it shows here (and the UNIQUE constraints catch the rest)
            taken = set(conn.execute(sa.select(essay_assignments.c.round)
                                     .where(essay_assignments.c.task_id == row.id)).scalars())
            free = [r for r in range(1, row.rounds + 1) if r not in taken]
            if not free:
                skip.append(row.id)
                continue
            try:
                with conn.begin_nested():
                    aid = conn.execute(sa.insert(essay_assignments).values(
                        task_id=row.id, round=free[0], judge_id=judge_id, state=ASSIGNED, assigned_at=now,
                        assigned_by=POOL).returning(essay_assignments.c.id)).scalar_one()
            except IntegrityError:
                skip.append(row.id)
                continue
            conn.execute(sa.insert(audit).values(
                at=now, who=judge.name, action="essay_assign", target=f"task:{row.id} assignment:{aid}",
                before=None, after={"judge": judge.name, "round": free[0], "by": POOL}))
            return Taken(int(aid), True)
    return None


# ---------------------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ScoreOutcome:
    total: Fraction
    task_state: TaskState
    final: Fraction | None
    third_judge: str | None          # set when this score opened a dispute and round 3 went to someone


def check_points(question: RubricQuestion, given: Mapping[str, Any]) -> dict[str, Fraction]:
    """Every criterion of the question, as exact points within [0, max]; ``ScoreProblems`` (Vietnamese)."""
    problems: dict[str, str] = {}
    out: dict[str, Fraction] = {}
    for c in question.criteria:
        raw = given.get(c.id)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            problems[c.id] = f"Chưa nhập điểm «{c.title}»."
            continue
        try:
            f = parse_points(raw)
        except ValueError:
            problems[c.id] = f"«{raw}» không phải là số điểm (ví dụ: 7 hoặc 7,5)."
            continue
        if f < 0 or f > c.max_points:
            problems[c.id] = f"Điểm «{c.title}» phải từ 0 đến {show_points(c.max_points)}."
            continue
        out[c.id] = f
    extra = sorted(set(given) - {c.id for c in question.criteria})
    if extra:
        problems["_"] = f"Tiêu chí không có trong thang điểm: {', '.join(extra)}."
    if problems:
        raise ScoreProblems(problems)
    return out


def _eligible_third(conn: Any, task: Any) -> Any:
    """The judge (role judge) for round 3: not on the task, not of its unit, fewest unscored assignments."""
    on_task = set(conn.execute(sa.select(essay_assignments.c.judge_id)
                               .where(essay_assignments.c.task_id == task.id)).scalars())
    load = dict(conn.execute(sa.select(essay_assignments.c.judge_id, sa.func.count())
                             .where(essay_assignments.c.state == ASSIGNED)
                             .group_by(essay_assignments.c.judge_id)).all())
    best = None
    for j in conn.execute(sa.select(judges.c.id, judges.c.name, judges.c.unit)
                          .where(judges.c.role == "judge").order_by(judges.c.id)):
        if j.id in on_task or (task.unit_key is not None and unit_key(j.unit) == task.unit_key):
            continue
        if best is None or load.get(j.id, 0) < load.get(best.id, 0):
            best = j
    return best


def submit_score(store: Store, assignment_id: int, judge_id: int, points: Mapping[str, Any],
                 rubric: Rubric | None) -> ScoreOutcome:
    """Record the judge's points for his assignment (locked once submitted), then decide the task: final (mean
    within the tolerance; the rule after a third score) or disputed (round 3 assigned at once if a judge is
    eligible). ``ScoringError`` / ``ScoreProblems`` say what is wrong, in Vietnamese."""
    if rubric is None:
        raise ScoringError("Cuộc thi chưa có thang điểm tự luận (rubric.json).")
    now = _now()
    with store.write_tx(f"score assignment {assignment_id}") as conn:
        tid = conn.execute(sa.select(essay_assignments.c.task_id)
                           .where(essay_assignments.c.id == assignment_id)).scalar()
        if tid is None:
            raise ScoringError("Bài này không còn được giao cho bạn.")
        task = conn.execute(_lock(sa.select(essay_tasks).where(essay_tasks.c.id == tid), conn)).one()
        a = conn.execute(sa.select(essay_assignments).where(essay_assignments.c.id == assignment_id)).first()
        if a is None or a.judge_id != judge_id:
            raise ScoringError("Bài này không còn được giao cho bạn.")
        if a.state != ASSIGNED:
            raise ScoringError("Bạn đã chấm bài này; điểm đã ghi không sửa được.")
        question = rubric.question(task.question)
        if question is None:
            raise ScoringError(f"Thang điểm chưa có câu «{task.question}».")
        got = check_points(question, points)
        total = sum(got.values(), Fraction(0))
        who = conn.execute(sa.select(judges.c.name).where(judges.c.id == judge_id)).scalar_one()
        js = {k: str(v) for k, v in got.items()}
        conn.execute(sa.update(essay_assignments).where(essay_assignments.c.id == assignment_id).values(
            state=SCORED, points=js, total=str(total), scored_at=now))
        conn.execute(sa.insert(audit).values(
            at=now, who=who, action="essay_score", target=f"task:{tid} assignment:{assignment_id}",
            before={"state": ASSIGNED}, after={"state": SCORED, "points": js, "total": str(total),
                                               "round": a.round}))
        scored = {r.round: Fraction(r.total) for r in conn.execute(
            sa.select(essay_assignments.c.round, essay_assignments.c.total)
            .where(essay_assignments.c.task_id == tid, essay_assignments.c.state == SCORED))}
        state, final, third_judge = TaskState(task.state), None, None
        if state in (TaskState.OPEN, TaskState.DISPUTED) and {1, 2} <= set(scored) and \
                (task.rounds == 2 or 3 in scored):
            d = decide(scored[1], scored[2], scored.get(3) if task.rounds == 3 else None,
                       tolerance=rubric.tolerance, rule=rubric.final_rule)
            before = {"state": task.state, "rounds": task.rounds, "totals": {str(k): str(v) for k, v in scored.items()}}
            if d.state is TaskState.FINAL:
                state, final = TaskState.FINAL, d.final
                conn.execute(sa.update(essay_tasks).where(essay_tasks.c.id == tid).values(
                    state=state.value, final_score=str(d.final), final_rule=d.rule, decided_at=now))
                conn.execute(sa.insert(audit).values(
                    at=now, who=SYSTEM, action="essay_final", target=f"task:{tid}", before=before,
                    after={"state": state.value, "final": str(d.final), "rule": d.rule,
                           "tolerance": str(rubric.tolerance)}))
            else:
                state = TaskState.DISPUTED
                conn.execute(sa.update(essay_tasks).where(essay_tasks.c.id == tid).values(
                    state=state.value, rounds=3))
                third = _eligible_third(conn, task)
                after: dict[str, Any] = {"state": state.value, "rounds": 3, "tolerance": str(rubric.tolerance),
                                         "difference": str(abs(scored[1] - scored[2]))}
                if third is not None:
                    aid = conn.execute(sa.insert(essay_assignments).values(
                        task_id=tid, round=3, judge_id=third.id, state=ASSIGNED, assigned_at=now,
                        assigned_by=SYSTEM).returning(essay_assignments.c.id)).scalar_one()
                    third_judge = third.name
                    after["third"] = {"judge": third.name, "assignment": int(aid)}
                    conn.execute(sa.insert(audit).values(
                        at=now, who=SYSTEM, action="essay_assign", target=f"task:{tid} assignment:{aid}",
                        before=None, after={"judge": third.name, "round": 3, "by": SYSTEM}))
                else:
                    after["third"] = None         # the next eligible judge who asks gets round 3
                conn.execute(sa.insert(audit).values(at=now, who=SYSTEM, action="essay_dispute",
                                                     target=f"task:{tid}", before=before, after=after))
        return ScoreOutcome(total, state, final, third_judge)


# ---------------------------------------------------------------------------------------------------
# Admin: moving and releasing unscored work
# ---------------------------------------------------------------------------------------------------
def reassign(store: Store, assignment_id: int, to_judge_id: int | None, *, who: str) -> None:
    """Move an unscored assignment to another eligible judge, or (``to_judge_id`` None) release it back to the
    pool. Audited. ``ScoringError`` (Vietnamese) when the rules refuse."""
    now = _now()
    with store.write_tx(f"reassign assignment {assignment_id}") as conn:
        tid = conn.execute(sa.select(essay_assignments.c.task_id)
                           .where(essay_assignments.c.id == assignment_id)).scalar()
        if tid is None:
            raise ScoringError(f"Không có phân công số {assignment_id}.")
        task = conn.execute(_lock(sa.select(essay_tasks).where(essay_tasks.c.id == tid), conn)).one()
        a = conn.execute(sa.select(essay_assignments, judges.c.name)
                         .join(judges, judges.c.id == essay_assignments.c.judge_id)
                         .where(essay_assignments.c.id == assignment_id)).one()
        if a.state != ASSIGNED:
            raise ScoringError("Bài đã chấm xong: không chuyển hay thu hồi được.")
        before = {"judge": a.name, "round": a.round, "assigned_by": a.assigned_by}
        target = f"task:{tid} assignment:{assignment_id}"
        if to_judge_id is None:
            conn.execute(sa.delete(essay_assignments).where(essay_assignments.c.id == assignment_id))
            conn.execute(sa.insert(audit).values(at=now, who=who, action="essay_release", target=target,
                                                 before=before, after=None))
            return
        j = conn.execute(sa.select(judges.c.id, judges.c.name, judges.c.unit)
                         .where(judges.c.id == to_judge_id)).first()
        if j is None:
            raise ScoringError("Không có giám khảo này.")
        if task.unit_key is not None and unit_key(j.unit) == task.unit_key:
            raise ScoringError(f"Giám khảo {j.name} cùng đơn vị với bài này: không được giao.")
        on_task = set(conn.execute(sa.select(essay_assignments.c.judge_id)
                                   .where(essay_assignments.c.task_id == tid)).scalars())
        if j.id in on_task:
            raise ScoringError(f"Giám khảo {j.name} đã có một lượt chấm bài này.")
        conn.execute(sa.update(essay_assignments).where(essay_assignments.c.id == assignment_id).values(
            judge_id=j.id, assigned_at=now, assigned_by=who))
        conn.execute(sa.insert(audit).values(at=now, who=who, action="essay_reassign", target=target,
                                             before=before, after={"judge": j.name, "round": a.round}))


# ---------------------------------------------------------------------------------------------------
# Reading back
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TaskCounts:
    tasks: int                 # every task with pages (void ones left out)
    waiting_participant: int   # essays without a participant yet: nobody can take them
    pending: int               # no score yet
    one_score: int             # one of the two scores
    disputed: int              # two scores beyond the tolerance: waiting for the third
    final_two: int             # final from two scores (within the tolerance)
    final_three: int           # final after the third score
    no_rubric: int             # open tasks whose question has no rubric (given a rubric)

    @property
    def final(self) -> int:
        return self.final_two + self.final_three

    def rows(self) -> list[tuple[str, str, int]]:
        """(key, Vietnamese label, count), for pages and the admin overview."""
        return [("tasks", "Bài tự luận (theo thí sinh và câu)", self.tasks),
                ("waiting_participant", "Chưa rõ thí sinh (chưa giao được)", self.waiting_participant),
                ("pending", "Chưa có điểm", self.pending),
                ("one_score", "Có một điểm", self.one_score),
                ("disputed", "Lệch quá ngưỡng, chờ giám khảo thứ ba", self.disputed),
                ("final_two", "Hai điểm, đã có điểm cuối", self.final_two),
                ("final_three", "Ba điểm, đã có điểm cuối", self.final_three),
                ("final", "Đã có điểm cuối", self.final),
                ("no_rubric", "Câu chưa có thang điểm", self.no_rubric)]


def task_counts(store: Store, rubric: Rubric | None = None) -> TaskCounts:
    """How far essay judging is (one query; fast enough for the admin overview)."""
    n_scored = (sa.select(sa.func.count()).select_from(essay_assignments)
                .where(essay_assignments.c.task_id == essay_tasks.c.id, essay_assignments.c.state == SCORED)
                .scalar_subquery())
    q = (sa.select(essay_tasks.c.state, essay_tasks.c.rounds, essay_tasks.c.question, n_scored.label("n"),
                   sa.func.count().label("c"))
         .group_by(essay_tasks.c.state, essay_tasks.c.rounds, essay_tasks.c.question, n_scored))
    c: Counter[str] = Counter()
    with store.read_tx("count essay tasks") as conn:
        for r in conn.execute(q):
            if r.state == TaskState.VOID.value:
                continue
            c["tasks"] += r.c
            if r.state == TaskState.WAITING.value:
                c["waiting_participant"] += r.c
            elif r.state == TaskState.DISPUTED.value:
                c["disputed"] += r.c
            elif r.state == TaskState.FINAL.value:
                c["final_three" if r.rounds == 3 else "final_two"] += r.c
            else:
                c["pending" if r.n == 0 else "one_score"] += r.c
                if rubric is not None and rubric.question(r.question) is None:
                    c["no_rubric"] += r.c
    return TaskCounts(**{k: int(c[k]) for k in ("tasks", "waiting_participant", "pending", "one_score", "disputed",
                                                 "final_two", "final_three", "no_rubric")})


@dataclass(frozen=True, slots=True)
class JudgeProgress:
    judge_id: int
    name: str
    unit: str
    role: str
    assigned: int      # every assignment he has (scored or not)
    scored: int
    open: int          # unscored


def judge_progress(store: Store) -> list[JudgeProgress]:
    with store.read_tx("count each judge's essays") as conn:
        by = defaultdict(Counter)
        for jid, state, n in conn.execute(sa.select(essay_assignments.c.judge_id, essay_assignments.c.state,
                                                    sa.func.count()).group_by(essay_assignments.c.judge_id,
                                                                              essay_assignments.c.state)):
            by[jid][state] += n
        out = []
        for j in conn.execute(sa.select(judges.c.id, judges.c.name, judges.c.unit, judges.c.role)
                              .order_by(judges.c.name)):
            c = by.get(j.id, Counter())
            out.append(JudgeProgress(j.id, j.name, j.unit, j.role, c[ASSIGNED] + c[SCORED], c[SCORED], c[ASSIGNED]))
    return out


def open_assignments(store: Store, *, limit: int = 200, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Unscored assignments (oldest first) with the task's code, question, unit and the judge; and their number."""
    q = (sa.select(essay_assignments.c.id, essay_assignments.c.round, essay_assignments.c.assigned_at,
                   essay_assignments.c.assigned_by, essay_tasks.c.id.label("task_id"), essay_tasks.c.anon_code,
                   essay_tasks.c.question, essay_tasks.c.unit, judges.c.name.label("judge"), judges.c.id.label("judge_id"))
         .join(essay_tasks, essay_tasks.c.id == essay_assignments.c.task_id)
         .join(judges, judges.c.id == essay_assignments.c.judge_id)
         .where(essay_assignments.c.state == ASSIGNED).order_by(essay_assignments.c.id))
    with store.read_tx("list open essay assignments") as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(essay_assignments)
                         .where(essay_assignments.c.state == ASSIGNED)).scalar_one()
        return [dict(r._mapping) for r in conn.execute(q.offset(offset).limit(limit))], int(n)


def my_assignments(store: Store, judge_id: int, *, scored_limit: int = 100) -> dict[str, Any]:
    """A judge's own work: unscored assignments, the latest scored ones (with HIS total only), the count."""
    cols = (essay_assignments.c.id, essay_assignments.c.round, essay_assignments.c.state,
            essay_assignments.c.total, essay_assignments.c.assigned_at, essay_assignments.c.scored_at,
            essay_tasks.c.anon_code, essay_tasks.c.question)
    base = (sa.select(*cols).join(essay_tasks, essay_tasks.c.id == essay_assignments.c.task_id)
            .where(essay_assignments.c.judge_id == judge_id))
    with store.read_tx("list a judge's essays") as conn:
        open_ = [dict(r._mapping) for r in conn.execute(
            base.where(essay_assignments.c.state == ASSIGNED).order_by(essay_assignments.c.id))]
        done = [dict(r._mapping) for r in conn.execute(
            base.where(essay_assignments.c.state == SCORED).order_by(essay_assignments.c.scored_at.desc(),
                                                                     essay_assignments.c.id.desc())
            .limit(scored_limit))]
        n_done = conn.execute(sa.select(sa.func.count()).select_from(essay_assignments).where(
            essay_assignments.c.judge_id == judge_id, essay_assignments.c.state == SCORED)).scalar_one()
    return {"open": open_, "scored": done, "n_scored": int(n_done)}


def assignment(store: Store, assignment_id: int) -> dict[str, Any] | None:
    """What a judge's scoring page needs and nothing more: the assignment (his own points), the task's code and
    question, its essays (code, kind, OCR text and reliability) and their near-duplicate pairs."""
    with store.read_tx("read an essay assignment") as conn:
        a = conn.execute(sa.select(essay_assignments, essay_tasks.c.anon_code, essay_tasks.c.question,
                                   essay_tasks.c.state.label("task_state"))
                         .join(essay_tasks, essay_tasks.c.id == essay_assignments.c.task_id)
                         .where(essay_assignments.c.id == assignment_id)).first()
        if a is None:
            return None
        es = [dict(r._mapping) for r in conn.execute(
            sa.select(essays.c.id, essays.c.anon_code, essays.c.kind, essays.c.ocr_state, essays.c.text,
                      essays.c.reliable).where(essays.c.task_id == a.task_id).order_by(essays.c.page_id, essays.c.id))]
        ids = [e["id"] for e in es]
        dups = []
        if ids:
            for d in conn.execute(sa.select(duplicate_pairs.c.id, duplicate_pairs.c.essay_a, duplicate_pairs.c.essay_b,
                                            duplicate_pairs.c.containment, duplicate_pairs.c.similarity)
                                  .where(sa.or_(duplicate_pairs.c.essay_a.in_(ids), duplicate_pairs.c.essay_b.in_(ids)))
                                  .order_by(duplicate_pairs.c.containment.desc(), duplicate_pairs.c.id)):
                mine, other = (d.essay_a, d.essay_b) if d.essay_a in ids else (d.essay_b, d.essay_a)
                other_code = conn.execute(sa.select(essays.c.anon_code).where(essays.c.id == other)).scalar_one()
                dups.append({"id": d.id, "mine": next(e["anon_code"] for e in es if e["id"] == mine),
                             "other": other_code, "containment": d.containment, "similarity": d.similarity})
    out = dict(a._mapping)
    out["essays"], out["duplicates"] = es, dups
    return out


def duplicate_pair(store: Store, pair_id: int) -> dict[str, Any] | None:
    """Both texts of a pair (anonymous codes only) and the shared passages (character offsets)."""
    with store.read_tx("read a duplicate pair") as conn:
        d = conn.execute(sa.select(duplicate_pairs).where(duplicate_pairs.c.id == pair_id)).first()
        if d is None:
            return None
        texts = {r.id: (r.anon_code, r.text or "") for r in conn.execute(
            sa.select(essays.c.id, essays.c.anon_code, essays.c.text).where(essays.c.id.in_([d.essay_a, d.essay_b])))}
    return {"id": d.id, "essay_a": d.essay_a, "essay_b": d.essay_b, "code_a": texts[d.essay_a][0],
            "text_a": texts[d.essay_a][1], "code_b": texts[d.essay_b][0], "text_b": texts[d.essay_b][1],
            "similarity": d.similarity, "containment": d.containment, "passages": list(d.passages or [])}


def task_score_rows(store: Store) -> list[dict[str, Any]]:
    """One row per task with pages (void ones left out): code, participant, question, unit, state, each round's
    judge and total (exact text), final (exact text) and its rule — for the export (not for judges)."""
    with store.read_tx("read essay scores") as conn:
        tasks = list(conn.execute(sa.select(essay_tasks).where(essay_tasks.c.state != TaskState.VOID.value)
                                  .order_by(essay_tasks.c.participant.is_(None), essay_tasks.c.participant,
                                            essay_tasks.c.question, essay_tasks.c.id)))
        by_task: dict[int, dict[int, Any]] = defaultdict(dict)
        for r in conn.execute(sa.select(essay_assignments.c.task_id, essay_assignments.c.round,
                                        essay_assignments.c.state, essay_assignments.c.total, judges.c.name)
                              .join(judges, judges.c.id == essay_assignments.c.judge_id)):
            by_task[r.task_id][r.round] = r
    out = []
    for t in tasks:
        row: dict[str, Any] = {"essay": t.anon_code, "participant_id": t.participant, "question": t.question,
                               "unit": t.unit, "state": t.state}
        for rnd in (1, 2, 3):
            a = by_task[t.id].get(rnd)
            row[f"judge {rnd}"] = a.name if a is not None else None
            row[f"total {rnd}"] = a.total if a is not None and a.state == SCORED else None
        row["final_exact"] = t.final_score
        row["final"] = float(Fraction(t.final_score)) if t.final_score is not None else None
        row["rule"] = t.final_rule
        out.append(row)
    return out
