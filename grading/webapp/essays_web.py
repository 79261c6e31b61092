"""Essay judging pages: a judge's own work and the "next essay" button, the blind scoring page (anonymous code,
page images, OCR text, the rubric form, near-duplicates side by side), and the admins' overview with
reassignment.

Blindness: a judge's pages show the task's anonymous code, the question and the essay itself — never the
participant, his unit, the file name or another judge's score. An assignment, its page images and its duplicate
views answer 403 to any judge but its own (admins may look at every one; only its judge may score it).
The rubric (``DIR/rubric.json``) is read when the app starts (a bad file stops ``omr review`` with exit 5); the
roster (``DIR/roster.csv``), when there is one, is copied into the store then, so that essay units follow it.
"""
from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import judges as J
from .. import essays as E
from ..contest import load_roster
from ..store import Store
from . import report_web
from .deps import (Forbidden, Id, PageNo, QueryId, WebState, admin, csrf_admin, csrf_ready, form_id, not_found,
                   picture, ready, render, round_judging, scope, state)
from .images import essay_picture, png

ADMIN_PAGE_SIZE = 50


def admin_counts(store: Store, rubric: E.Rubric | None) -> list[tuple[str, int]]:
    """(Vietnamese label, count) of the essay tasks, for the main /admin page (``rubric``: the one the judging
    uses, ``web.rubric``)."""
    return [(label, n) for _, label, n in E.task_counts(store, rubric).rows()]


def _marked(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, inside a shared passage) with the spans merged."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for start, end in sorted((max(0, a), min(len(text), b)) for a, b in spans if b > a):
        if end <= pos:
            continue
        start = max(start, pos)
        if start > pos:
            out.append((text[pos:start], False))
        out.append((text[start:end], True))
        pos = end
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def setup(web: WebState) -> None:
    """Read the rubric once (the judging and every count use the same one) and copy the roster into the store,
    when there is one, so that essay units follow it."""
    web.rubric = E.load_rubric(web.contest_dir) if web.contest_dir else None
    roster = load_roster(web.contest_dir, web.layout) if web.contest_dir else None
    if roster:
        E.import_roster(web.store, list(roster.people))


router = APIRouter()


def own(request: Request, aid: int, s: J.Session) -> dict[str, Any]:
    """The assignment if it is the judge's own (or the viewer is an admin: a unit admin's, of an essay his units
    collected); 403 otherwise."""
    store = state(request).store
    a = E.assignment(store, aid)
    if a is None or (a["judge_id"] != s.judge.id and s.judge.role is not J.Role.ADMIN):
        raise Forbidden("Bài này không được giao cho bạn.")
    if a["judge_id"] != s.judge.id:
        sc = scope(request, s)
        if not sc.city and not E.assignment_within(store, aid, sc.names):
            raise Forbidden("Bài này do đơn vị khác thu nhận: quản trị viên cấp đơn vị chỉ xem bài của đơn vị mình.")
    return a


def essay_page(request: Request, s: J.Session, a: dict[str, Any], status: int = 200,
               errors: dict[str, str] | None = None, values: dict[str, str] | None = None) -> HTMLResponse:
    rubric = state(request).rubric
    question = rubric.question(a["question"]) if rubric else None
    mine = a["judge_id"] == s.judge.id
    own_points = {k: E.show_points(v) for k, v in (a["points"] or {}).items()} if mine else {}
    return render(request, "essay.html", status, judge=s.judge, csrf=s.csrf_token, a=a, question=question,
                  errors=errors or {}, values=values or {}, mine=mine, own_points=own_points,
                  own_total=E.show_points(a["total"]) if mine and a["total"] else "", show=E.show_points)


@router.get("/essays", response_class=HTMLResponse)
def get_essays(request: Request, done: QueryId = None, none: int = 0, s: J.Session = Depends(ready)) -> Response:
    web = state(request)
    work = E.my_assignments(web.store, s.judge.id)
    done_row = None
    if done is not None:
        d = E.assignment(web.store, done)
        if d is not None and d["judge_id"] == s.judge.id and d["state"] == E.SCORED:
            done_row = {"anon_code": d["anon_code"], "total": E.show_points(d["total"])}
    return render(request, "essays.html", judge=s.judge, csrf=s.csrf_token, work=work, done=done_row,
                  nothing_left=bool(none), rubric=web.rubric, show=E.show_points)


@router.post("/essays/next")
async def post_next(request: Request, s: J.Session = Depends(csrf_ready)) -> Response:
    # store work (locks, a SQLite writer waiting for `omr grade`) runs in a worker thread, never on the event
    # loop, so other judges' pages are served meanwhile; the same for scoring and reassigning below
    web = state(request)
    taken = await run_in_threadpool(partial(E.take_next, rounds=round_judging(request)), web.store, s.judge.id,
                                    web.rubric)
    if taken is None:
        return RedirectResponse("/essays?none=1", status_code=303)
    return RedirectResponse(f"/essays/{taken.assignment_id}", status_code=303)


@router.get("/essays/{aid}", response_class=HTMLResponse)
def get_essay(request: Request, aid: Id, s: J.Session = Depends(ready)) -> Response:
    return essay_page(request, s, own(request, aid, s))


@router.post("/essays/{aid}/score")
async def post_score(request: Request, aid: Id, s: J.Session = Depends(csrf_ready)) -> Response:
    form = await request.form()
    return await run_in_threadpool(score, request, aid, s, form)


def score(request: Request, aid: int, s: J.Session, form: Any) -> Response:
    web = state(request)
    a = E.assignment(web.store, aid)
    if a is None or a["judge_id"] != s.judge.id:
        raise Forbidden("Bài này không được giao cho bạn.")
    question = web.rubric.question(a["question"]) if web.rubric else None
    ids = [c.id for c in question.criteria] if question else []
    values = {k: str(form.get(k, "")) for k in ids}
    try:
        E.submit_score(web.store, aid, s.judge.id, values, web.rubric, rounds=round_judging(request))
    except E.ScoreProblems as exc:
        return essay_page(request, s, a, 400, errors=exc.problems, values=values)
    except E.ScoringError as exc:
        return essay_page(request, s, E.assignment(web.store, aid) or a, 409, errors={"_": str(exc)}, values=values)
    return RedirectResponse(f"/essays?done={aid}", status_code=303)


@router.post("/essays/{aid}/report")
async def post_report(request: Request, aid: Id, s: J.Session = Depends(csrf_ready)) -> Response:
    # instead of a score: the judge reports a problem with the essay (report_web, grading.db.reports)
    form = await request.form()
    return await run_in_threadpool(report_web.report, request, aid, s, form, essay_page)


@router.get("/essays/{aid}/pages/{n}.png")
def get_essay_picture(request: Request, aid: Id, n: Id, s: J.Session = Depends(ready)) -> Response:
    web = state(request)
    a = own(request, aid, s)
    if not 1 <= n <= len(a["essays"]):
        return Response(status_code=404)
    essay_id = a["essays"][n - 1]["id"]
    return picture(lambda: png(essay_picture(web.store, web.layout, essay_id)), blind=s.judge.role is not J.Role.ADMIN)


@router.get("/essays/{aid}/duplicates/{pair_id}", response_class=HTMLResponse)
def get_duplicate(request: Request, aid: Id, pair_id: Id, s: J.Session = Depends(ready)) -> Response:
    store = state(request).store
    a = own(request, aid, s)
    d = E.duplicate_pair(store, pair_id)
    mine_ids = {e["id"] for e in a["essays"]}
    if d is None or not ({d["essay_a"], d["essay_b"]} & mine_ids):
        raise Forbidden("Cặp bài này không liên quan đến bài của bạn.")
    left_is_a = d["essay_a"] in mine_ids
    spans_a = [(p["a_start"], p["a_end"]) for p in d["passages"]]
    spans_b = [(p["b_start"], p["b_end"]) for p in d["passages"]]
    sides = [(d["code_a"], _marked(d["text_a"], spans_a)), (d["code_b"], _marked(d["text_b"], spans_b))]
    if not left_is_a:
        sides.reverse()
    return render(request, "duplicate.html", judge=s.judge, csrf=s.csrf_token, a=a, d=d, sides=sides)


# -- admins ------------------------------------------------------------------------------------------------
def admin_page(request: Request, s: J.Session, status: int = 200, error: str = "", notice: str = "",
               page: int = 1) -> HTMLResponse:
    web = state(request)
    sc = scope(request, s)
    page = max(1, page)
    rows, n_open = E.open_assignments(web.store, limit=ADMIN_PAGE_SIZE, offset=(page - 1) * ADMIN_PAGE_SIZE,
                                      within=sc.units())
    counts = E.task_counts(web.store, web.rubric).rows() if sc.city else []
    return render(request, "admin_essays.html", status, judge=s.judge, csrf=s.csrf_token, counts=counts,
                  progress=[p for p in E.judge_progress(web.store) if sc.allows(p.unit)], scope=sc,
                  rows=rows, n_open=n_open, page=page, n_pages=max(1, -(-n_open // ADMIN_PAGE_SIZE)),
                  judges=[j for j in J.list_judges(web.store) if not j.disabled and sc.allows(j.unit)], error=error,
                  notice=notice, rubric=web.rubric)


# what the page says after a change: built here from the action's code, never from text in the address
NOTICES = {"release": "Đã thu hồi phân công {aid} về hàng chờ.", "move": "Đã chuyển phân công {aid}."}


@router.get("/admin/essays", response_class=HTMLResponse)
def get_admin_essays(request: Request, page: PageNo = 1, done: str = "", aid: QueryId = None,
                     s: J.Session = Depends(admin)) -> Response:
    notice = NOTICES[done].format(aid=aid) if done in NOTICES and aid is not None else ""
    return admin_page(request, s, notice=notice, page=page)


@router.post("/admin/essays/assignments/{aid}")
async def post_reassign(request: Request, aid: Id, s: J.Session = Depends(csrf_admin)) -> Response:
    form = await request.form()
    return await run_in_threadpool(reassign, request, aid, s, form)


def reassign(request: Request, aid: int, s: J.Session, form: Any) -> Response:
    store = state(request).store
    action = str(form.get("action", ""))
    target = form_id(str(form.get("judge_id", "")))
    sc = scope(request, s)
    if not sc.city:      # a unit admin moves his units' work, to his units' judges
        if not E.assignment_within(store, aid, sc.names):
            return not_found(request, s, f"Không có phân công số {aid} trong phạm vi của bạn.")
        to = next((j for j in J.list_judges(store) if j.id == target), None) if target is not None else None
        if to is not None and not sc.allows(to.unit):
            return admin_page(request, s, 403, error=f"Giám khảo {to.name} không thuộc đơn vị của bạn: không giao "
                                                     "được.")
    try:
        if action == "release":
            E.reassign(store, aid, None, who=s.judge.name)
        elif action == "move" and target is not None:
            E.reassign(store, aid, target, who=s.judge.name, rounds=round_judging(request))
        else:
            return admin_page(request, s, 400, error="Hãy chọn giám khảo nhận bài, hoặc bấm «Thu hồi».")
    except E.ScoringError as exc:
        return admin_page(request, s, 409, error=str(exc))
    return RedirectResponse(f"/admin/essays?{urlencode({'done': action, 'aid': aid})}", status_code=303)
