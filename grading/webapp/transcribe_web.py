"""Typing in handwritten entries (``grading.transcribe``): ``/transcribe`` hands the judge his next entry; its page
shows the entry's scanned pages beside a keyboard-first form — the identity fields, the test code when the
contest has several, and ONE answers box where "BCAD…" fills consecutive questions (``-``, ``0``, ``.`` or a space
for a blank), Tab to the next field, Enter to send. A judge sees only his own entry: never the other judge's
values. "Không phải bài viết tay" (a blank page, an essay page of an answer sheet, unreadable) releases the entry
and sends its pages to the organisers' flag queue (``grading.db.referrals``). The third judge of a difference
sees, for each differing field only, both values and types the final one.

Judges of the collecting unit are never given an entry; a judge who typed an entry is never given its essay
(``grading.db.judging``). The contest's rules (questions, test codes, roster, keys) are read when the app starts;
a contest without ``questions.json`` has no handwritten entries and the pages say so.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import judges as J
from .. import transcribe as T
from .deps import Forbidden, Id, WebState, csrf_ready, picture, ready, render, state
from .images import essay_picture, png

router = APIRouter()
DONE = {"open": "Đã ghi bài nhập. Bài chờ người nhập thứ hai (độc lập).",
        "disputed": "Đã ghi bài nhập. Hai lần nhập khác nhau: một giám khảo thứ ba sẽ quyết định các ô khác nhau.",
        "taken": "Đã ghi. Bài đã được nhận: kết quả đã vào điểm của thí sinh.",
        "referred": "Đã gửi cho ban tổ chức: bài tạm dừng nhập cho đến khi ban tổ chức xử lý."}


def setup(web: WebState) -> None:
    """The contest's transcription rules, once (``None``: not a documents contest)."""
    folder = web.contest_dir
    web.transcription = T.rules_for(folder) if folder is not None and T.is_documents_contest(folder) else None


def _rules(request: Request) -> T.Rules:
    rules = state(request).transcription
    if rules is None:
        raise Forbidden("Cuộc thi này không có bài viết tay cần nhập (chưa có questions.json).")
    return rules


def _own(request: Request, eid: int, s: J.Session) -> Any:
    view = T.entry_view(state(request).store, eid)
    if view is None or view.judge_id != s.judge.id:
        raise Forbidden("Bài này không được giao cho bạn.")
    return view


@router.get("/transcribe", response_class=HTMLResponse)
def get_transcribe(request: Request, done: str = "", none: int = 0, s: J.Session = Depends(ready)) -> Response:
    rules = state(request).transcription
    return render(request, "transcribe_home.html", judge=s.judge, csrf=s.csrf_token, notice=DONE.get(done, ""),
                  nothing_left=bool(none), ready=rules is not None)


@router.post("/transcribe/next")
async def post_next(request: Request, s: J.Session = Depends(csrf_ready)) -> Response:
    _rules(request)
    eid = await run_in_threadpool(T.take_next, state(request).store, s.judge.id)
    if eid is None:
        return RedirectResponse("/transcribe?none=1", status_code=303)
    return RedirectResponse(f"/transcribe/{eid}", status_code=303)


def entry_page(request: Request, s: J.Session, view: Any, status: int = 200, errors: dict[str, str] | None = None,
               values: dict[str, str] | None = None) -> HTMLResponse:
    rules = _rules(request)
    identity = [(k, T.LABELS[k]) for k in T.FIELDS]
    both = [(f, T.label(f), a, b) for f, (a, b) in view.both.items()]
    return render(request, "transcribe.html", status, judge=s.judge, csrf=s.csrf_token, v=view, rules=rules,
                  identity=identity, both=both, errors=errors or {}, values=values or {},
                  blank_keys="-, 0, dấu chấm hoặc dấu cách",
                  decline_kinds=[(k.value, name) for k, name in T.DECLINE_LABELS.items()])


@router.get("/transcribe/{eid}", response_class=HTMLResponse)
def get_entry(request: Request, eid: Id, s: J.Session = Depends(ready)) -> Response:
    return entry_page(request, s, _own(request, eid, s))


@router.post("/transcribe/{eid}")
async def post_entry(request: Request, eid: Id, s: J.Session = Depends(csrf_ready)) -> Response:
    form = await request.form()
    return await run_in_threadpool(submit, request, eid, s, form)


def submit(request: Request, eid: int, s: J.Session, form: Any) -> Response:
    rules = _rules(request)
    view = _own(request, eid, s)
    values = {k: str(v) for k, v in form.items() if k != "csrf"}
    if view.slot == T.db.DECIDER:
        entered, problems = rules.read_decision(form, view.differences)
    else:
        entered, problems = rules.read_form(form)
    if problems:
        return entry_page(request, s, view, 400, errors=problems, values=values)
    try:
        outcome = T.submit_entry(state(request).store, eid, s.judge.id, entered, rules)
    except T.TranscriptionError as exc:
        return entry_page(request, s, T.entry_view(state(request).store, eid) or view, 409, errors={"_": str(exc)},
                          values=values)
    return RedirectResponse(f"/transcribe?done={outcome.state.value}", status_code=303)


@router.post("/transcribe/{eid}/decline")
async def post_decline(request: Request, eid: Id, s: J.Session = Depends(csrf_ready)) -> Response:
    form = await request.form()
    return await run_in_threadpool(decline, request, eid, s, str(form.get("kind", "")), str(form.get("text", "")))


def decline(request: Request, eid: int, s: J.Session, kind: str, text: str) -> Response:
    """"Không phải bài viết tay": the entry released and the pages sent to the organisers' flag queue."""
    _rules(request)
    view = _own(request, eid, s)
    chosen = next((k for k in T.DeclineKind if k.value == kind), None)
    if chosen is None:
        return entry_page(request, s, view, 400, errors={"decline": "Hãy chọn vì sao đây không phải bài viết tay."},
                          values={"decline_text": text})
    try:
        T.decline_entry(state(request).store, eid, s.judge.id, chosen, text)
    except T.DeclineRefused as exc:
        return entry_page(request, s, view, 409 if view.state != "assigned" else 400, errors={"decline": str(exc)},
                          values={"decline_kind": kind, "decline_text": text})
    return RedirectResponse("/transcribe?done=referred", status_code=303)


@router.get("/transcribe/{eid}/pages/{n}.png")
def get_page_picture(request: Request, eid: Id, n: Id, s: J.Session = Depends(ready)) -> Response:
    web = state(request)
    view = _own(request, eid, s)
    if not 1 <= n <= len(view.essay_ids):
        return Response(status_code=404)
    return picture(lambda: png(essay_picture(web.store, web.layout, view.essay_ids[n - 1])))
