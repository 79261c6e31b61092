"""Admin pages (admins only; judges get 403): what has been graded, flagged, rejected and discarded — in all, per unit
and per judge — the judges' accounts, and the exports of ``grading.reports.export`` as downloads (each one audited).
Discarding pages has its own pages (``discard_web``), mounted here."""
from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from .. import judges as J
from ..reports import progress
from ..contest import load_contest
from ..db import audit
from ..db.discards import discarded
from ..reports.export import export
from . import committee_web, discard_web, essays_web
from .deps import admin, csrf_admin, not_found, render, state

COUNT_LABELS = (("submissions", "Tệp bài làm"), ("submissions_ok", "Tệp đã chấm xong"),
                ("submissions_flagged", "Tệp cần xem lại"), ("submissions_rejected", "Tệp bị loại"),
                ("pages", "Trang"), ("pages_graded", "Trang đã có điểm"), ("pages_flagged", "Trang cần xem lại"),
                ("pages_no_key", "Trang chưa có đáp án"), ("pages_rejected", "Trang bị loại"),
                ("flags_open", "Cờ đang mở"), ("flags_resolved", "Cờ đã xử lý"))
STATE_LABELS = {J.AccountState.ACTIVE: "Đang dùng", J.AccountState.DISABLED: "Đã khoá",
                J.AccountState.MUST_CHANGE: "Chưa đổi mật khẩu"}
DISCARDED_LABEL = "Trang đã loại bỏ"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
# download name → (what export() is asked to write, media type, label); the CSV siblings come with results.csv
EXPORTS = {
    "results.xlsx": ("results.xlsx", XLSX, "Kết quả (Excel: kết quả, thống kê câu hỏi, vấn đề còn mở, điểm tự luận)"),
    "results.csv": ("results.csv", CSV, "Kết quả (CSV)"),
    "results.items.csv": ("results.csv", CSV, "Thống kê từng câu hỏi (CSV)"),
    "results.issues.csv": ("results.csv", CSV, "Cờ còn mở và trang bị loại (CSV)"),
    "results.essays.csv": ("results.csv", CSV, "Điểm tự luận từng bài, từng giám khảo (CSV)"),
}


router = APIRouter()
router.include_router(discard_web.router)
router.include_router(committee_web.router)


@router.get("/admin", response_class=HTMLResponse)
def get_admin(request: Request, s: J.Session = Depends(admin)) -> Response:
    web = state(request)
    counts = web.store.counts()
    rows = [(label, counts.get(k, 0)) for k, label in COUNT_LABELS]
    rows.append((DISCARDED_LABEL, len(discarded(web.store).pages)))
    r = web.roster.current()
    units = progress.unit_progress(web.store, r.index.unit_of if r.index else None)
    activity = progress.judge_activity(web.store)
    accounts = J.list_judges(web.store)
    names = {j.name for j in accounts}
    others = sorted((a for who, a in activity.items() if who not in names), key=lambda a: a.who)
    essays = essays_web.admin_counts(web.store, web.rubric)
    return render(request, "admin.html", judge=s.judge, csrf=s.csrf_token, rows=rows, units=units, essays=essays,
                  unit_total=progress.total(units), judges=accounts, activity=activity, others=others,
                  states=STATE_LABELS,
                  exports=[(name, v[2]) for name, v in EXPORTS.items()], reports=committee_web.report_links(),
                  roster_problem=r.problem, has_roster=r.index is not None, can_export=web.contest_dir is not None)


@router.post("/admin/export/{name}")
def post_export(request: Request, name: str, s: J.Session = Depends(csrf_admin)) -> Response:
    web = state(request)
    if name not in EXPORTS or web.contest_dir is None:
        return not_found(request, s, f"Không có bản xuất «{name}».")
    asked, media, _ = EXPORTS[name]
    contest = load_contest(web.contest_dir)
    with tempfile.TemporaryDirectory(prefix="omr-export-") as tmp:
        export(web.store, contest, Path(tmp) / asked)
        data = (Path(tmp) / name).read_bytes()
    now = datetime.now(timezone.utc)
    audit.record(web.store, at=now, who=s.judge.name, action="export", target=name,
                 after={"bytes": len(data), "via": "web"})
    stem, _, ext = name.partition(".")
    filename = f"{stem}-{now.astimezone(web.settings.tz):%Y%m%d-%H%M}.{ext}"
    return Response(data, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
