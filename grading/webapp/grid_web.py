"""The grid review: many flagged questions of one reason on one page, decided with the keyboard.

``/flags/grid?reason=CODE[&unit=…&file=…]`` shows up to ``GRID_SIZE`` (20–50 with ``&n=``) open question flags of
that reason, oldest first, each as a cell: the question's crop, the fill measured for each option and what the
machine read. ``static/grid.js`` moves between cells (arrows, h j k l) and sends one decision per key (a b c d… the
layout's labels, 0 blank, Enter the machine's reading) to ``POST /flags/grid/decide`` without loading a page; when
every cell is decided one key loads the next batch. "The machine read every cell right" (``POST
/flags/grid/accept``) is offered only once every cell has been on screen.

Every decision goes through ``Store.resolve_flag`` one flag at a time (re-scored, audited before/after with who
and when, like the one-at-a-time page), with ``via`` in the audit: ``grid`` (the judge typed the answer),
``grid-machine`` (Enter: the machine's reading of that cell) or ``grid-accept-all``. A flag another judge decided
first is refused (409, nothing written) and the cell says who decided it; the grid also asks every few seconds
which of its flags were decided meanwhile (``GET /flags/grid/decided``) and skips those. The grid obeys the flag page's
blindness rule: judges see flags on answer-sheet pages only.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from omr.errors import BadArguments
from omr.numeric import flagged_column

from .. import judges as J
from ..db import flag_queue as Q
from ..numbers import show_points
from ..reports.annotate import numeric_columns
from ..store import AlreadyDecided
from .deps import WebState, csrf_ready, form_id, ready, render, state
from .flags_web import _is_admin, filter_query, grid_links, may_see, scoped_filter, viewer_within

GRID_SIZE = 30
GRID_MIN, GRID_MAX = 20, 50
POLL_MS = 4000               # how often a grid asks which of its flags other judges decided
VIA_KEY, VIA_MACHINE, VIA_ALL = "grid", "grid-machine", "grid-accept-all"

router = APIRouter()


def _fill_text(value: Any, language: str) -> str:
    try:
        text = f"{float(value):.2f}"
    except (TypeError, ValueError):
        return "?"
    return text.replace(".", ",") if language == "vi" else text


def _cells(web: WebState, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each flag as the grid shows it: its options (the layout's labels) with their measured fills."""
    groups = {g.key: g for g in web.layout.question_groups}
    out = []
    for r in rows:
        g = groups.get(r["key"])
        labels = tuple(g.labels) if g else ()
        shown = labels or _column_labels(web, r)
        fills = list(r["fills"] or [])
        out.append({**r, "target": "question", "options": labels,
                    "fills_shown": [(o, _fill_text(fills[k], web.settings.language) if k < len(fills) else "?")
                                    for k, o in enumerate(shown)]})
    return out


def _column_labels(web: WebState, row: dict[str, Any]) -> tuple[str, ...]:
    """A numeric answer's flag: the labels of the column whose fills it carries ("-", ",", digits); else ()."""
    cols = numeric_columns(web.layout, row["key"])
    if not cols:
        return ()
    k = flagged_column(row.get("reason") or "", row.get("message") or "") or 1
    return cols[k - 1].labels if k <= len(cols) else ()


@router.get("/flags/grid", response_class=HTMLResponse)
def get_grid(request: Request, n: int = GRID_SIZE, only: Q.QueueFilter = Depends(scoped_filter),
             s: J.Session = Depends(ready)) -> Response:
    web = state(request)
    admin = _is_admin(s)
    if not only.reason:
        return render(request, "grid.html", judge=s.judge, csrf=s.csrf_token, only=only, cells=[], total=0,
                      reasons=grid_links(web.store, admin, only), query="", next_url="")
    size = min(GRID_MAX, max(GRID_MIN, n))
    rows, total = Q.grid_flags(web.store, size, admin=admin, only=only)
    cells = _cells(web, rows)
    web.crops.prefetch(cells[:8])          # the first pictures, drawn while the page is on its way
    query = filter_query(only) + (f"&n={size}" if size != GRID_SIZE else "")
    return render(request, "grid.html", judge=s.judge, csrf=s.csrf_token, only=only, cells=cells, total=total,
                  reasons=[], query=filter_query(only), next_url="/flags/grid?" + query, more=total > len(cells),
                  poll_ms=POLL_MS)


def _refusal(flag_id: int, status: int, error: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"id": flag_id, "error": error, "message": message}


def decide_one(web: WebState, s: J.Session, flag_id: int, value: str | None, via: str,
               within: frozenset[str] | None = None) -> tuple[int, dict[str, Any]]:
    """One grid decision: ``value`` (``None``: the machine's reading) for a question flag, by a viewer working
    ``within`` these collecting units (None: all). (HTTP status, JSON)."""
    f = Q.flag_detail(web.store, flag_id)
    if f is None or not may_see(f, s, within):
        return _refusal(flag_id, 404, "not_found", f"Không có cờ số {flag_id} trong hàng chờ của bạn.")
    if f["target"] != "question":
        return _refusal(flag_id, 400, "not_a_question", f"Cờ số {flag_id} không phải cờ của một câu hỏi: hãy "
                                                        "xử lý nó ở trang riêng của cờ.")
    if value is None:
        value = Q.machine_answers(web.store, [flag_id]).get(flag_id)
        if value is None:
            return _refusal(flag_id, 400, "no_reading", f"Máy không đọc được câu {f['key']} của cờ số {flag_id}: "
                                                        "hãy chọn đáp án.")
    try:       # the store re-checks the flag under its row lock: of judges racing, exactly one writes
        web.store.resolve_flag(flag_id, value, who=s.judge.name, only_open=True, via=via)
    except AlreadyDecided as exc:
        now = Q.flag_detail(web.store, flag_id) or f
        kept = (now.get("resolution") or {}).get("value", "")
        return 409, {"id": flag_id, "error": "already_decided", "who": exc.who or "?", "value": kept,
                     "message": f"Câu này đã được {exc.who or '?'} quyết định; quyết định của bạn không được ghi."}
    except BadArguments as exc:
        return _refusal(flag_id, 400, "bad_value", f"Không ghi được: {exc}")
    web.crops.forget_page(f["page_id"])
    now = Q.flag_detail(web.store, flag_id) or f
    return 200, {"id": flag_id, "state": "resolved", "value": (now.get("resolution") or {}).get("value", value),
                 "who": s.judge.name, "via": via, "total": show_points(now.get("total")),
                 "max_total": show_points(now.get("max_total"))}


def _json(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


@router.get("/flags/grid/decided")
def get_grid_decided(request: Request, s: J.Session = Depends(ready)) -> Response:
    """Which of the grid's flags (``?flag=1&flag=2…``) have been decided, by whom and how: the grid asks every few
    seconds, so that a cell another judge decided is greyed out and skipped before this judge reaches it."""
    ids = [form_id(v) for v in request.query_params.getlist("flag")][:GRID_MAX]
    found = Q.decided_flags(state(request).store, [i for i in ids if i is not None], admin=_is_admin(s),
                            within=viewer_within(request, s))
    return _json(200, {"decided": found})


@router.post("/flags/grid/decide")
async def post_grid_decide(request: Request, s: J.Session = Depends(csrf_ready)) -> Response:
    form = await request.form()
    flag_id = form_id(str(form.get("flag", "")))
    if flag_id is None:
        return _json(*_refusal(0, 400, "bad_flag", "Thiếu số cờ."))
    machine = form.get("machine") == "1"
    value = None if machine else str(form.get("value", ""))
    # the decision (locks, re-scoring) runs in a worker thread: other judges' pages are served meanwhile
    return _json(*await run_in_threadpool(decide_one, state(request), s, flag_id, value,
                                          VIA_MACHINE if machine else VIA_KEY, viewer_within(request, s)))


@router.post("/flags/grid/accept")
async def post_grid_accept(request: Request, s: J.Session = Depends(csrf_ready)) -> Response:
    """The machine's reading for every flag sent (the cells on the judge's grid), each decided and audited on
    its own; the answer lists each flag's outcome."""
    form = await request.form()
    ids = [form_id(str(v)) for v in form.getlist("flag")]
    if not ids or None in ids or len(ids) > GRID_MAX:
        return _json(*_refusal(0, 400, "bad_flags", f"Gửi từ 1 đến {GRID_MAX} số cờ."))

    within = viewer_within(request, s)

    def run() -> list[dict[str, Any]]:
        out = []
        for fid in dict.fromkeys(i for i in ids if i is not None):
            status, body = decide_one(state(request), s, fid, None, VIA_ALL, within)
            out.append({**body, "status": status})
        return out
    return _json(200, {"results": await run_in_threadpool(run)})
