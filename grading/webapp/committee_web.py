"""The committee's ties on the web (admins only; judges get 403): every committee flag — a tie at a round's cut
or at a prize band's boundary — with its message and members, and for an open one a form: tick exactly as many
members as there are places, or give the places to all of them. The decision is ``grading.rounds.decide``'s (the
same as ``omr decide``): recorded under the admin's name and audited; a round's cut takes it at once, the prizes
at the next ``omr prizes``."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from omr.errors import BadArguments

from .. import judges as J
from ..db.rounds import committee_flags_list
from ..rounds import decide
from .deps import Id, admin, csrf_admin, render, state

router = APIRouter()
KINDS = {"round_cut": "Ngưỡng đi tiếp của vòng thi", "prize_band": "Ranh giới giải thưởng"}


def _page(request: Request, s: J.Session, status: int = 200, *, error: str = "", notice: str = "") -> HTMLResponse:
    flags = committee_flags_list(state(request).store)
    return render(request, "committee.html", status, judge=s.judge, csrf=s.csrf_token, flags=flags, kinds=KINDS,
                  error=error, notice=notice)


@router.get("/admin/committee", response_class=HTMLResponse)
def get_committee(request: Request, done: str = "", s: J.Session = Depends(admin)) -> Response:
    notice = f"Đã ghi quyết định cho cờ {int(done)}." if done.isdigit() else ""
    return _page(request, s, notice=notice)


@router.post("/admin/committee/{flag_id}/decide")
async def post_decide(request: Request, flag_id: Id, s: J.Session = Depends(csrf_admin)) -> Response:
    form = await request.form()
    return await run_in_threadpool(_decide, request, flag_id, s, form)


def _decide(request: Request, flag_id: int, s: J.Session, form: Any) -> Response:
    pick = None if form.get("all") == "1" else [str(v) for v in form.getlist("pick")]
    try:
        decide(state(request).store, flag_id, who=s.judge.name, pick=pick)
    except BadArguments as exc:
        return _page(request, s, 409, error=f"Cờ {flag_id}: {exc.message}")
    return RedirectResponse(f"/admin/committee?{urlencode({'done': flag_id})}", status_code=303)
