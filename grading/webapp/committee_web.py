"""The rounds' pages on the web (admins only; judges get 403): the reports of ``omr report`` as downloads (each
one audited), and the committee's ties: every committee flag — a tie at a round's cut
or at a prize band's boundary — with its message and members, and for an open one a form: tick exactly as many
members as there are places, or give the places to all of them. The decision is ``grading.rounds.decide``'s (the
same as ``omr decide``): recorded under the admin's name and audited; a round's cut takes it at once, the prizes
at the next ``omr prizes``."""
from __future__ import annotations

import tempfile
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from omr.errors import BadArguments

from .. import judges as J
from ..db import audit
from ..db.rounds import committee_flag_unit, committee_flags_list
from ..rounds import decide
from ..rules import load_rules
from ..units import load_units
from .deps import Forbidden, Id, admin, csrf_admin, not_found, render, scope, state

router = APIRouter()
KINDS = {"round_cut": "Ngưỡng đi tiếp của vòng thi", "prize_band": "Ranh giới giải thưởng"}


def _page(request: Request, s: J.Session, status: int = 200, *, error: str = "", notice: str = "") -> HTMLResponse:
    flags = committee_flags_list(state(request).store, scope(request, s).units())
    return render(request, "committee.html", status, judge=s.judge, csrf=s.csrf_token, flags=flags, kinds=KINDS,
                  error=error, notice=notice)


@router.get("/admin/committee", response_class=HTMLResponse)
def get_committee(request: Request, done: str = "", s: J.Session = Depends(admin)) -> Response:
    notice = f"Đã ghi quyết định cho cờ {int(done)}." if done.isdigit() else ""
    return _page(request, s, notice=notice)


@router.post("/admin/committee/{flag_id}/decide")
async def post_decide(request: Request, flag_id: Id, s: J.Session = Depends(csrf_admin)) -> Response:
    sc = scope(request, s)
    if not sc.city:        # a unit admin decides the ties at the cut of his own unit's rounds only
        found, unit = committee_flag_unit(state(request).store, flag_id)
        if found and (unit is None or not sc.allows(unit)):
            raise Forbidden("Cờ này thuộc vòng thi của đơn vị khác hoặc là cờ giải thưởng cấp thành phố: quản trị "
                            "viên cấp đơn vị chỉ quyết định cờ của vòng thi đơn vị mình.")
    form = await request.form()
    return await run_in_threadpool(_decide, request, flag_id, s, form)


def _decide(request: Request, flag_id: int, s: J.Session, form: Any) -> Response:
    pick = None if form.get("all") == "1" else [str(v) for v in form.getlist("pick")]
    try:
        decide(state(request).store, flag_id, who=s.judge.name, pick=pick)
    except BadArguments as exc:
        return _page(request, s, 409, error=f"Cờ {flag_id}: {exc.message}")
    return RedirectResponse(f"/admin/committee?{urlencode({'done': flag_id})}", status_code=303)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# download name → (report kind, label); each as .xlsx and .pdf
REPORTS = {"giai-thuong": ("prizes", "Danh sách giải thưởng"), "don-vi": ("unit", "Báo cáo theo đơn vị"),
           "thanh-pho": ("city", "Báo cáo tổng hợp cấp thành phố"),
           "giao-duc": ("education", "Báo cáo học sinh từ 12 tuổi (Sở Giáo dục)")}


UNIT_REPORTS = frozenset({"don-vi"})         # what a unit admin may download (his units' rows only)


def report_links(city: bool = True) -> list[tuple[str, str]]:
    return [(f"{stem}.{ext}", label) for stem, (_, label) in REPORTS.items() for ext in ("xlsx", "pdf")
            if city or stem in UNIT_REPORTS]


@router.post("/admin/report/{name}")
def post_report(request: Request, name: str, s: J.Session = Depends(csrf_admin)) -> Response:
    from ..reports.contest_reports import write_report

    web = state(request)
    sc = scope(request, s)
    stem, _, ext = name.partition(".")
    if not sc.city and stem not in UNIT_REPORTS:
        raise Forbidden("Báo cáo này là của cấp thành phố: quản trị viên cấp đơn vị chỉ tải được báo cáo theo đơn "
                        "vị, với các đơn vị của mình.")
    rules = load_rules(web.contest_dir) if web.contest_dir is not None else None
    if stem not in REPORTS or ext not in ("xlsx", "pdf") or rules is None:
        return not_found(request, s, f"Không có báo cáo «{name}» (cuộc thi cần rules.json).")
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="omr-report-") as tmp:
        out = write_report(REPORTS[stem][0], web.store, web.contest_dir, rules, load_units(web.contest_dir),
                           Path(tmp) / name, on=date.today(), only=sc.units())
        data = out.read_bytes()
    audit.record(web.store, at=now, who=s.judge.name, action="report", target=name,
                 after={"bytes": len(data), "via": "web"})
    filename = f"{stem}-{now.astimezone(web.settings.tz):%Y%m%d-%H%M}.{ext}"
    return Response(data, media_type=XLSX if ext == "xlsx" else "application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
