"""Discarding pages from the web (admins only; judges get 403): one page with its picture and the "Loại bỏ trang
này" form (also on every flag's page), the list of discarded pages with an "undo" button each. Every form carries
the CSRF token; the store (``grading.db.discards``) audits each change and says why it refuses one."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from omr.errors import BadArguments

from .. import judges as J
from ..db import discards as D
from .deps import Id, QueryId, city_admin, csrf_city_admin, not_found, render, state

router = APIRouter()

# what the pages say after a change: built here from the action's code, never from text in the address
NOTICES = {"discard": "Đã loại bỏ trang {page}: trang không còn được tính ở đâu, và vẫn nằm trong danh sách này.",
           "restore": "Đã đưa trang {page} trở lại: các cờ của trang được mở lại."}


def _notice(done: str, page: int | None) -> str:
    return NOTICES[done].format(page=page) if done in NOTICES and page is not None else ""


def page_view(request: Request, s: J.Session, page_id: int, status: int = 200, *, error: str = "",
              notice: str = "") -> HTMLResponse:
    p = D.page_view(state(request).store, page_id)
    if p is None:
        return not_found(request, s, f"Không có trang số {page_id}.")
    return render(request, "admin_page.html", status, judge=s.judge, csrf=s.csrf_token, p=p, error=error,
                  notice=notice)


@router.get("/admin/pages/{page_id}", response_class=HTMLResponse)
def get_page(request: Request, page_id: Id, done: str = "", s: J.Session = Depends(city_admin)) -> Response:
    return page_view(request, s, page_id, notice=_notice(done, page_id))


@router.get("/admin/discarded", response_class=HTMLResponse)
def get_discarded(request: Request, done: str = "", page: QueryId = None,
                  s: J.Session = Depends(city_admin)) -> Response:
    d = D.discarded(state(request).store)
    return render(request, "discarded.html", judge=s.judge, csrf=s.csrf_token, rows=d.pages, files=d.files,
                  notice=_notice(done, page))


@router.post("/admin/pages/{page_id}/discard")
async def post_discard(request: Request, page_id: Id, s: J.Session = Depends(csrf_city_admin)) -> Response:
    form = await request.form()
    return await run_in_threadpool(change, request, page_id, s, form, "discard")


@router.post("/admin/pages/{page_id}/restore")
async def post_restore(request: Request, page_id: Id, s: J.Session = Depends(csrf_city_admin)) -> Response:
    form = await request.form()
    return await run_in_threadpool(change, request, page_id, s, form, "restore")


def change(request: Request, page_id: int, s: J.Session, form: Any, action: str) -> Response:
    store = state(request).store
    if D.page_view(store, page_id) is None:
        return not_found(request, s, f"Không có trang số {page_id}.")
    reason = str(form.get("reason", ""))[:4 * D.MAX_REASON]
    if action == "discard" and not reason.strip():
        return page_view(request, s, page_id, 400, error="Hãy ghi lý do loại bỏ trang (ví dụ: trang trắng).")
    try:
        if action == "discard":
            D.discard_page(store, page_id, reason, s.judge.name)
        else:
            D.restore_page(store, page_id, s.judge.name, reason)
    except BadArguments:
        what = "đã bị loại bỏ từ trước" if action == "discard" else "không ở trạng thái bị loại bỏ"
        return page_view(request, s, page_id, 409, error=f"Trang {page_id} {what}: không có gì thay đổi.")
    return RedirectResponse(f"/admin/discarded?{urlencode({'done': action, 'page': page_id})}", status_code=303)
