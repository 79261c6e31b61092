"""Essay judging: double-blind assignment of judging tasks, scores, disputes and the third judge, final scores,
reassignment by the admins, and how far judging is — the same on SQLite and PostgreSQL. The rubric it judges by
is ``grading.essays.rubric``'s; its statements are ``grading.db.judging``'s.

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

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from fractions import Fraction
from typing import Any

from omr.errors import BadArguments

from ..db import judging as db
from ..db.judging import (ASSIGNED, SCORED, assignment, assignment_within, duplicate_pair, my_assignments,
                          open_assignments)
from ..numbers import show_points
from ..round_judges import RoundJudging
from ..store import SYSTEM, Store, TaskState, unit_key
from .rubric import FinalRule, Rubric, RubricQuestion, parse_points

POOL = "pool"                    # assigned_by of an assignment a judge took himself

__all__ = [
    "ASSIGNED", "Decision", "JudgeProgress", "POOL", "SCORED", "ScoreOutcome", "ScoreProblems", "ScoringError",
    "Taken", "TaskCounts", "assignment", "assignment_within", "check_points", "decide", "duplicate_pair",
    "import_roster", "judge_progress", "my_assignments", "open_assignments", "reassign", "show_points", "submit_score",
    "take_next", "task_counts", "task_score_rows",
]


class ScoringError(BadArguments):
    """A request the rules refuse; the message is Vietnamese, shown as is to the judge."""


class ScoreProblems(ScoringError):
    """A score form with wrong fields: ``problems`` maps criterion id → what is wrong (Vietnamese)."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def _now() -> datetime:
    return datetime.now(timezone.utc)


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
    """Keep the ``participants`` table equal to the roster (``omr.sheet.Participant``: id, name, unit; an empty
    unit is unknown) and the units of the affected tasks in step. Returns how many participants were added or
    changed."""
    return db.save_roster(store, [(p.id, p.name, (p.unit or "").strip() or None) for p in people], who=who)


# ---------------------------------------------------------------------------------------------------
# Taking the next essay
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Taken:
    assignment_id: int
    new: bool            # False: the judge already held this unscored assignment


def take_next(store: Store, judge_id: int, rubric: Rubric | None, *, max_open: int = 1,
              attempts: int = 50, rounds: RoundJudging | None = None) -> Taken | None:
    """Give the judge an essay to score: one he already holds (when he holds ``max_open``), else a new
    assignment of the next eligible task (disputes first, then by task id); with ``rounds`` (the contest's
    rules) a contest round's task only when the round's ``judges`` give it to him (``grading.round_judges``).
    ``None``: nothing he may take."""
    if rubric is None:
        return None
    now = _now()
    with store.write_tx("take the next essay") as conn:
        judge = db.lock_judge(conn, judge_id)
        if judge is None:
            raise ScoringError("Không có giám khảo này.")
        held = db.open_assignment_ids(conn, judge_id)
        if len(held) >= max_open:
            return Taken(int(held[0]), False)
        ukey = unit_key(judge.unit)
        access = rounds.access(judge.unit) if rounds is not None else None
        skip: list[int] = []
        wait = False
        for _ in range(attempts):
            row = db.next_task(conn, judge_id, ukey, rubric.question_ids, skip, wait=wait, access=access)
            if row is None:
                if wait or not db.passes_over_locks(conn):
                    return None
                # every task with a free round may be locked by judges taking ITS OTHER round right now: wait for
                # them once instead of saying "nothing left" (SKIP LOCKED alone told one judge in 24 that)
                wait = True
                continue
            # read again after the lock: a race lost before it shows here (and the UNIQUE constraints catch the rest)
            taken = db.taken_slots(conn, row.id)
            free = [r for r in range(1, row.judges_needed + 1) if r not in taken]
            if not free:
                skip.append(row.id)
                continue
            aid = db.try_assign(conn, row.id, free[0], judge_id, now, POOL)
            if aid is None:
                skip.append(row.id)
                continue
            db.add_audit(conn, now, judge.name, "essay_assign", f"task:{row.id} assignment:{aid}", None,
                         {"judge": judge.name, "round": free[0], "by": POOL})
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


def _round_allows(conn: Any, rounds: RoundJudging | None, judge_unit: str, task: Any) -> bool:
    """Whether the contest round's ``judges`` rule gives the task to a judge of ``judge_unit``."""
    if rounds is None or task.contest_round is None:
        return True
    return rounds.access(judge_unit).allows(task.contest_round, db.round_entry_unit(conn, task))


def _eligible_third(conn: Any, task: Any, rounds: RoundJudging | None = None) -> Any:
    """The judge (role judge) for round 3: not on the task, not of its unit, not one who transcribed it, one the
    round's rule allows, fewest unscored assignments."""
    on_task = db.judges_on_task(conn, task.id) | db.transcribers_of_task(conn, task.id)
    load = db.open_load(conn)
    best = None
    for j in db.judges_with_role(conn, "judge"):
        if j.id in on_task or (task.unit_key is not None and unit_key(j.unit) == task.unit_key):
            continue
        if not _round_allows(conn, rounds, j.unit, task):
            continue
        if best is None or load.get(j.id, 0) < load.get(best.id, 0):
            best = j
    return best


def submit_score(store: Store, assignment_id: int, judge_id: int, points: Mapping[str, Any],
                 rubric: Rubric | None, *, rounds: RoundJudging | None = None) -> ScoreOutcome:
    """Record the judge's points for his assignment (locked once submitted), then decide the task: final (mean
    within the tolerance; the rule after a third score) or disputed (round 3 assigned at once if a judge is
    eligible). ``ScoringError`` / ``ScoreProblems`` say what is wrong, in Vietnamese."""
    if rubric is None:
        raise ScoringError("Cuộc thi chưa có thang điểm tự luận (rubric.json).")
    now = _now()
    with store.write_tx(f"score assignment {assignment_id}") as conn:
        tid = db.task_of(conn, assignment_id)
        if tid is None:
            raise ScoringError("Bài này không còn được giao cho bạn.")
        task = db.lock_task(conn, tid)
        a = db.assignment_row(conn, assignment_id)
        if a is None or a.judge_id != judge_id:
            raise ScoringError("Bài này không còn được giao cho bạn.")
        if a.state != ASSIGNED:
            raise ScoringError("Bạn đã chấm bài này; điểm đã ghi không sửa được.")
        question = rubric.question(task.question)
        if question is None:
            raise ScoringError(f"Thang điểm chưa có câu «{task.question}».")
        got = check_points(question, points)
        total = sum(got.values(), Fraction(0))
        who = db.judge_name(conn, judge_id)
        js = {k: str(v) for k, v in got.items()}
        db.record_score(conn, assignment_id, js, str(total), now)
        db.add_audit(conn, now, who, "essay_score", f"task:{tid} assignment:{assignment_id}", {"state": ASSIGNED},
                     {"state": SCORED, "points": js, "total": str(total), "round": a.judge_slot})
        scored = {rnd: Fraction(t) for rnd, t in db.scored_totals(conn, tid).items()}
        state, final, third_judge = TaskState(task.state), None, None
        if state in (TaskState.OPEN, TaskState.DISPUTED) and {1, 2} <= set(scored) and \
                (task.judges_needed == 2 or 3 in scored):
            state, final, third_judge = _decide_task(conn, task, scored, rubric, now, rounds)
        return ScoreOutcome(total, state, final, third_judge)


def _decide_task(conn: Any, task: Any, scored: dict[int, Fraction], rubric: Rubric, now: datetime,
                 rounds: RoundJudging | None = None) -> tuple[TaskState, Fraction | None, str | None]:
    """The task has every score it needs: make it final, or disputed with round 3 given to the eligible judge
    with the least work (none eligible: the next one who asks gets it). Audited. Returns (state, final, the third
    judge's name)."""
    tid = task.id
    d = decide(scored[1], scored[2], scored.get(3) if task.judges_needed == 3 else None,
               tolerance=rubric.tolerance, rule=rubric.final_rule)
    before = {"state": task.state, "rounds": task.judges_needed, "totals": {str(k): str(v) for k, v in scored.items()}}
    if d.state is TaskState.FINAL:
        db.finalise_task(conn, tid, str(d.final), d.rule, now)
        db.add_audit(conn, now, SYSTEM, "essay_final", f"task:{tid}", before,
                     {"state": TaskState.FINAL.value, "final": str(d.final), "rule": d.rule,
                      "tolerance": str(rubric.tolerance)})
        return TaskState.FINAL, d.final, None
    db.dispute_task(conn, tid)
    third = _eligible_third(conn, task, rounds)
    after: dict[str, Any] = {"state": TaskState.DISPUTED.value, "rounds": 3, "tolerance": str(rubric.tolerance),
                             "difference": str(abs(scored[1] - scored[2]))}
    third_judge = None
    if third is not None:
        aid = db.assign(conn, tid, 3, third.id, now, SYSTEM)
        third_judge = third.name
        after["third"] = {"judge": third.name, "assignment": int(aid)}
        db.add_audit(conn, now, SYSTEM, "essay_assign", f"task:{tid} assignment:{aid}", None,
                     {"judge": third.name, "round": 3, "by": SYSTEM})
    else:
        after["third"] = None         # the next eligible judge who asks gets round 3
    db.add_audit(conn, now, SYSTEM, "essay_dispute", f"task:{tid}", before, after)
    return TaskState.DISPUTED, None, third_judge


# ---------------------------------------------------------------------------------------------------
# Admin: moving and releasing unscored work
# ---------------------------------------------------------------------------------------------------
def reassign(store: Store, assignment_id: int, to_judge_id: int | None, *, who: str,
             rounds: RoundJudging | None = None) -> None:
    """Move an unscored assignment to another eligible judge, or (``to_judge_id`` None) release it back to the
    pool. Audited. ``ScoringError`` (Vietnamese) when the rules refuse."""
    now = _now()
    with store.write_tx(f"reassign assignment {assignment_id}") as conn:
        tid = db.task_of(conn, assignment_id)
        if tid is None:
            raise ScoringError(f"Không có phân công số {assignment_id}.")
        task = db.lock_task(conn, tid)
        a = db.assignment_with_judge(conn, assignment_id)
        if a.state != ASSIGNED:
            raise ScoringError("Bài đã chấm xong: không chuyển hay thu hồi được.")
        before = {"judge": a.name, "round": a.judge_slot, "assigned_by": a.assigned_by}
        target = f"task:{tid} assignment:{assignment_id}"
        if to_judge_id is None:
            db.release(conn, assignment_id)
            db.add_audit(conn, now, who, "essay_release", target, before, None)
            return
        j = db.judge_row(conn, to_judge_id)
        if j is None:
            raise ScoringError("Không có giám khảo này.")
        if j.disabled_at is not None:
            raise ScoringError(f"Tài khoản của giám khảo {j.name} đang bị khoá: không giao bài được.")
        if task.unit_key is not None and unit_key(j.unit) == task.unit_key:
            raise ScoringError(f"Giám khảo {j.name} cùng đơn vị với bài này: không được giao.")
        if not _round_allows(conn, rounds, j.unit, task):
            raise ScoringError(f"Giám khảo {j.name} không chấm vòng {task.contest_round} của bài này (quy định về "
                               "giám khảo của vòng thi trong rules.json): không được giao.")
        if j.id in db.judges_on_task(conn, tid):
            raise ScoringError(f"Giám khảo {j.name} đã có một lượt chấm bài này.")
        db.move_assignment(conn, assignment_id, j.id, now, who)
        db.add_audit(conn, now, who, "essay_reassign", target, before, {"judge": j.name, "round": a.judge_slot})


# ---------------------------------------------------------------------------------------------------
# Reading back (``assignment``, ``my_assignments``, ``open_assignments``, ``duplicate_pair``: grading.db.judging)
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
    c: Counter[str] = Counter()
    for r in db.task_count_rows(store):
        if r.state == TaskState.VOID.value:
            continue
        c["tasks"] += r.c
        if r.state == TaskState.WAITING.value:
            c["waiting_participant"] += r.c
        elif r.state == TaskState.DISPUTED.value:
            c["disputed"] += r.c
        elif r.state == TaskState.FINAL.value:
            c["final_three" if r.judges_needed == 3 else "final_two"] += r.c
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
    """Every judge, by name, with his assignments: all, scored, unscored."""
    return [JudgeProgress(j.id, j.name, j.unit, j.role, c[ASSIGNED] + c[SCORED], c[SCORED], c[ASSIGNED])
            for j, c in db.judge_loads(store)]


def task_score_rows(store: Store) -> list[dict[str, Any]]:
    """One row per task (void ones left out): code, participant, question, unit, state, contest round (``None``
    outside rounds), each judge and total (exact text), final (exact text) and its rule — for the export (not
    for judges)."""
    tasks, by_task = db.task_rounds(store)
    out = []
    for t in tasks:
        row: dict[str, Any] = {"essay": t.anon_code, "participant_id": t.participant, "question": t.question,
                               "unit": t.unit, "state": t.state, "round": t.contest_round}
        for rnd in (1, 2, 3):
            a = by_task[t.id].get(rnd)
            row[f"judge {rnd}"] = a.name if a is not None else None
            row[f"total {rnd}"] = a.total if a is not None and a.state == SCORED else None
        row["final_exact"] = t.final_score
        row["final"] = float(Fraction(t.final_score)) if t.final_score is not None else None
        row["rule"] = t.final_rule
        out.append(row)
    return out
