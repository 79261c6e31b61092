"""The flag queue: the open flags page by page, one flag with its picture and the keyboard decision, the roster
search for an unreadable participant id, and whole-page pictures.

A judge's decision goes through ``Store.resolve_flag`` (which re-scores the page and audits before/after) and the
browser moves on to the next open flag. Flags on essay pages (an e-mailed essay to match with its participant,
pages that came after judging began) and judges' reports on essays are the organisers' work: a judge who scores
essays blind must not see those pages, their file names or whom they belong to. Judges see flags on answer-sheet
pages only, never a report; admins see all, and on a flag's page they may discard the page (``discard_web``).
"""
from __future__ import annotations

import os
import unicodedata
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from omr.errors import BadArguments
from omr.layout import Layout
from omr.layout_fields import TRUE_FALSE
from omr.numeric import flagged_column

from .. import judges as J
from ..db import flag_queue as Q
from ..db.reports import JUDGE
from ..contest import off_roster_id, padded_id
from ..store import ESSAY, AlreadyDecided, Store
from .crop_cache import CropCache
from .deps import Forbidden, Id, PageNo, QueryId, csrf_ready, not_found, picture, ready, render, scope, state
from ..db.pictures import typed_evidence
from .images import page_canvas, png, question_picture

PAGE_SIZE = 50
BLANK_LABEL = "Bỏ trống"
TARGET_LABELS = {"question": "Câu", "participant": "Số báo danh", "version": "Mã đề", "page": "Trang"}

router = APIRouter()


def queue_filter(unit: str = "", reason: str = "", file: str = "") -> Q.QueueFilter:
    """The queue's filters from the address (``/flags?unit=…&reason=…&file=…``); texts are capped."""
    return Q.QueueFilter(unit=unit.strip()[:200], reason=reason.strip()[:100], file=file.strip()[:200])


def filter_query(only: Q.QueueFilter) -> str:
    """``only`` as a query string for links ("" when nothing is filtered)."""
    given = {k: v for k, v in (("unit", only.unit), ("reason", only.reason), ("file", only.file)) if v}
    return urlencode(given)


def relative_source(source: str, inputs: list[str]) -> str:
    """A file's path as the organiser knows it: inside the folder given to ``omr grade`` (``district-1/truong-a/
    bai.pdf`` for the input ``…/district-1``, absolute or relative to where it was run), else its name."""
    for given in inputs:
        parts = [p for p in os.path.normpath(given).split("/") if p not in ("", ".", "..")]
        if not parts:
            continue
        inside = ("/" if os.path.isabs(given) else "") + "/".join(parts) + "/"
        at = 0 if source.startswith(inside) else source.find("/" + inside) + 1
        if at > 0 or source.startswith(inside):
            return parts[-1] + "/" + source[at + len(inside):]
    return os.path.basename(source)


def crop_cache(store: Store, layout: Layout) -> CropCache:
    """The app's cache of flag pictures, drawn ahead of the judge."""
    def draw(f: dict[str, Any]) -> bytes:
        if f["target"] != "question":
            return png(page_canvas(store, layout, f["page_id"]).image)
        column = flagged_column(f.get("reason") or "", f.get("message") or "")
        return png(question_picture(store, layout, f["page_id"], f["key"], f["fills"], column=column))
    return CropCache(draw)


def _is_admin(s: J.Session) -> bool:
    return s.judge.role is J.Role.ADMIN


def viewer_within(request: Request, s: J.Session) -> frozenset[str] | None:
    """The collecting units whose flags the viewer works on: a unit admin's (``grading.scope``); None for the
    city admin and for judges (every flag a judge may see)."""
    return scope(request, s).units() if _is_admin(s) else None


def scoped_filter(request: Request, only: Q.QueueFilter = Depends(queue_filter),
                  s: J.Session = Depends(ready)) -> Q.QueueFilter:
    """The address's filters, held within the viewer's units."""
    return replace(only, within=viewer_within(request, s))


def in_scope(f: dict[str, Any], within: frozenset[str] | None) -> bool:
    return within is None or (f.get("unit") or "").strip() in within


def may_see(f: dict[str, Any], s: J.Session, within: frozenset[str] | None = None) -> bool:
    return in_scope(f, within) and (_is_admin(s) or (f["page_status"] != ESSAY and f["origin"] != JUDGE))


def check_may_see(f: dict[str, Any], s: J.Session, within: frozenset[str] | None = None) -> None:
    if not in_scope(f, within):
        raise Forbidden("Cờ này thuộc đơn vị khác: quản trị viên cấp đơn vị chỉ xem và xử lý cờ của đơn vị mình.")
    if not may_see(f, s):
        raise Forbidden("Cờ này thuộc việc của ban tổ chức (trang bài tự luận): giám khảo không xem được, để bài "
                        "thi được chấm ẩn danh.")


def decided(store: Store, flag_id: int | None, s: J.Session,
            within: frozenset[str] | None = None) -> dict[str, Any] | None:
    """The flag just decided, for the notice at the top of the next page: only one the viewer may see."""
    f = Q.flag_detail(store, flag_id) if flag_id else None
    return f if f is not None and may_see(f, s, within) else None


def grid_links(store: Store, admin: bool, only: Q.QueueFilter) -> list[tuple[str, int, str]]:
    """(reason, open question flags, the grid review's address) for each reason the viewer may review in a grid
    (``grid_web``), keeping ``only``'s unit and file."""
    return [(code, n, "/flags/grid?" + filter_query(replace(only, reason=code)))
            for code, n in Q.grid_reasons(store, admin=admin, only=only)]


@router.get("/")
def home(s: J.Session = Depends(ready)) -> Response:
    return RedirectResponse("/flags", status_code=303)


@router.get("/flags", response_class=HTMLResponse)
def get_flags(request: Request, page: PageNo = 1, done: QueryId = None, only: Q.QueueFilter = Depends(scoped_filter),
              s: J.Session = Depends(ready)) -> Response:
    store = state(request).store
    admin = _is_admin(s)
    rows, total = Q.open_flags(store, (page - 1) * PAGE_SIZE, PAGE_SIZE, admin=admin, only=only)
    n_pages = max(1, -(-total // PAGE_SIZE))
    if page > n_pages:          # past the end (flags were resolved meanwhile): show the last page
        page = n_pages
        rows, total = Q.open_flags(store, (page - 1) * PAGE_SIZE, PAGE_SIZE, admin=admin, only=only)
    for r in rows:
        r["shown_source"] = relative_source(r["source"], r["inputs"])
    units, reasons = Q.queue_choices(store, admin=admin, within=only.within)
    query = filter_query(only)
    return render(request, "flags.html", judge=s.judge, csrf=s.csrf_token, rows=rows, total=total,
                  page=page, n_pages=n_pages, labels=TARGET_LABELS, done=decided(store, done, s, only.within),
                  only=only, units=units, reasons=reasons, query=query, pager_query=query + "&" if query else "",
                  grid=grid_links(store, admin, only))


def shortcut(label: str) -> str:
    """The key that picks ``label`` on a flag page: its first letter without diacritics, lower case ("Đ" → d)."""
    plain = unicodedata.normalize("NFD", label.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in plain if not unicodedata.combining(c)).lower()


def flag_page(request: Request, s: J.Session, f: dict[str, Any], status: int = 200, *, error: str = "",
              done: int | None = None, only: Q.QueueFilter = Q.ALL) -> HTMLResponse:
    web = state(request)
    options: tuple[str, ...] = ()
    ctx: dict[str, Any] = {"numeric": False, "true_false": False}
    if f["target"] == "question":
        g = next((g for g in web.layout.question_groups if g.key == f["key"]), None)
        options = tuple(g.labels) if g else ()
        ctx.update(numeric=f["key"] in web.layout.numeric_ids, true_false=options == TRUE_FALSE)
    ctx["shortcuts"] = {o: shortcut(o) for o in options}
    if f["target"] == "participant":
        r = web.roster.current()
        person = r.index.find(f["participant"]) if r.index and f["participant"] else None
        ctx = dict(has_roster=r.index is not None, roster_problem=r.problem, person=person)
    _, n_open = Q.open_flags(web.store, 0, 0, admin=_is_admin(s), only=only)
    ctx["typed"] = typed_evidence(web.store, f["page_id"]) is not None
    ctx["grid_href"] = ("/flags/grid?" + filter_query(replace(only, reason=f["reason"]))
                        if f["target"] == "question" and f["state"] == "open" else "")
    return render(request, "flag.html", status, judge=s.judge, csrf=s.csrf_token, f=f, options=options,
                  blank_label=BLANK_LABEL, labels=TARGET_LABELS, n_open=n_open, only=only, query=filter_query(only),
                  done=decided(web.store, done, s, only.within), error=error, **ctx)


@router.get("/flags/{flag_id}", response_class=HTMLResponse)
def get_flag(request: Request, flag_id: Id, done: QueryId = None, only: Q.QueueFilter = Depends(scoped_filter),
             s: J.Session = Depends(ready)) -> Response:
    web = state(request)
    f = Q.flag_detail(web.store, flag_id)
    if f is None:
        return not_found(request, s, f"Không có cờ số {flag_id}.")
    check_may_see(f, s, only.within)
    web.crops.prefetch(Q.next_open_flags(web.store, flag_id, 2))   # the next pictures, drawn while this one is open
    return flag_page(request, s, f, done=done, only=only)


def off_roster(request: Request, f: dict[str, Any], value: str) -> str | None:
    """The typed participant id when the flag is a participant's and the id is not on the contest's roster — or
    when the contest's roster file cannot be read (nothing to check against: the id cannot be confirmed)."""
    if f["target"] != "participant":
        return None
    r = state(request).roster.current()
    if r.index is None:
        return padded_id(state(request).layout, value) if r.problem else None
    return off_roster_id(r.index.ids, state(request).layout, value)


def decide(request: Request, flag_id: int, value: str, s: J.Session, only: Q.QueueFilter = Q.ALL,
           force: bool = False) -> Response:
    web = state(request)
    f = Q.flag_detail(web.store, flag_id)
    if f is None:
        return RedirectResponse("/flags", status_code=303)
    check_may_see(f, s, only.within)
    if f["target"] == "participant":
        value = padded_id(web.layout, value)
    missing = off_roster(request, f, value)
    if missing is not None and not (force and _is_admin(s)):
        return flag_page(request, s, f, 400, only=only,
                         error=f"Số báo danh {missing} không có trong danh sách thí sinh. Hãy chọn người trong danh "
                               "sách" + (", hoặc đánh dấu «Ghi dù không có trong danh sách»." if _is_admin(s)
                                         else "; nếu bài đúng là của người ngoài danh sách, hãy báo ban tổ chức."))
    try:       # the store re-checks the flag under its row lock: of judges racing, exactly one writes
        web.store.resolve_flag(flag_id, value, who=s.judge.name, only_open=True)
    except AlreadyDecided as exc:
        return flag_page(request, s, Q.flag_detail(web.store, flag_id) or f, 409, only=only,
                         error=f"Cờ số {flag_id} đã được {exc.who} xử lý trước bạn; quyết định của bạn không được "
                               "ghi. Hãy chuyển sang cờ khác.")
    except BadArguments as exc:
        return flag_page(request, s, Q.flag_detail(web.store, flag_id) or f, 400, only=only,
                         error=f"Giá trị không hợp lệ: {exc}")
    web.crops.forget_page(f["page_id"])
    nxt = Q.next_open_flag(web.store, flag_id, admin=_is_admin(s), only=only)
    query = urlencode({"done": flag_id}) + ("&" + filter_query(only) if filter_query(only) else "")
    where = f"/flags/{nxt}?{query}" if nxt is not None else f"/flags?{query}"
    return RedirectResponse(where, status_code=303)


@router.post("/flags/{flag_id}/resolve")
async def post_resolve(flag_id: Id, request: Request, s: J.Session = Depends(csrf_ready)) -> Response:
    form = await request.form()
    only = replace(queue_filter(*(str(form.get(k, "")) for k in ("unit", "reason", "file"))),
                   within=viewer_within(request, s))
    # the decision (locks, re-scoring) runs in a worker thread: other judges' pages are served meanwhile
    return await run_in_threadpool(decide, request, flag_id, str(form.get("value", "")), s, only,
                                   form.get("force") == "1")


@router.get("/roster/search")
def get_roster_search(request: Request, q: str = "", s: J.Session = Depends(ready)) -> Response:
    """Participants of the roster matching ``q`` (id prefix, or words of the name or unit), as JSON."""
    r = state(request).roster.current()
    hits, n = r.index.search(q[:100]) if r.index else ([], 0)
    return JSONResponse({"roster": r.index is not None, "total": n,
                         "hits": [{"id": h.id, "name": h.name, "unit": h.unit} for h in hits]},
                        headers={"Cache-Control": "no-store"})


@router.get("/flags/{flag_id}/crop.png")
def get_crop(request: Request, flag_id: Id, s: J.Session = Depends(ready)) -> Response:
    web = state(request)
    f = Q.flag_detail(web.store, flag_id)
    if f is None:
        return Response(status_code=404)
    check_may_see(f, s, viewer_within(request, s))
    return picture(lambda: web.crops.get(f))


@router.get("/pages/{page_id}/image")
def get_page_image(request: Request, page_id: Id, s: J.Session = Depends(ready)) -> Response:
    # a judge sees a whole page only while it has an open flag of his (an answer sheet; essay pages are shown
    # blind, through assignments); admins see every page
    web = state(request)
    if not _is_admin(s) and not Q.has_open_sheet_flag(web.store, page_id):
        raise Forbidden("Giám khảo chỉ xem được cả trang của phiếu đang có cờ cần xử lý; bài tự luận được "
                        "xem qua bài được giao.")
    within = viewer_within(request, s)
    if within is not None:
        found, unit = Q.page_unit(web.store, page_id)
        if found and not in_scope({"unit": unit}, within):
            raise Forbidden("Trang này thuộc đơn vị khác: quản trị viên cấp đơn vị chỉ xem trang của đơn vị mình.")
    return picture(lambda: png(page_canvas(web.store, web.layout, page_id).image))
