"""Admin pages (admins only; judges get 403): what has been graded, flagged, rejected and discarded — in all, per unit
and per judge — the judges' accounts, and the exports of ``grading.reports.export`` as downloads (each one audited).
Discarding pages has its own pages (``discard_web``), mounted here."""
from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import judges as J
from .. import transcribe as T
from ..reports import progress
from ..contest import load_contest
from ..db import audit
from ..db import mail as M
from ..db.discards import discarded
from ..mail.summary import ENTRY_STATES, LABELS as MAIL_LABELS, MESSAGE_STATES
from ..scope import Scope
from ..reports.export import export
from . import committee_web, discard_web, essays_web
from .deps import Id, admin, csrf_admin, not_found, render, scope, state

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


def mail_section(store: Any, sc: Scope) -> dict[str, Any]:
    """Messages and entries per collecting unit and per state (the same counts as ``omr status``), the late
    entries an admin may accept and the rejected messages with their reasons — within the admin's scope."""
    o = M.mail_overview(store, sc.units())
    units = sorted({u for u, _ in o.messages} | {u for u, _ in o.entries}, key=lambda u: (u is None, u or ""))
    rows = [(u or "?", [o.messages[(u, st)] for st in MESSAGE_STATES], [o.entries[(u, st)] for st in ENTRY_STATES],
             o.flagged[u]) for u in units]
    total = ("Tổng", [sum(n for (_, st), n in o.messages.items() if st == m) for m in MESSAGE_STATES],
             [sum(n for (_, st), n in o.entries.items() if st == e) for e in ENTRY_STATES], sum(o.flagged.values()))
    w = MAIL_LABELS["vi"]
    scope = sc.units()
    own = [(u or "?", e or "(chưa rõ)", c["received"], c["late"], c["superseded"], c["ineligible"])
           for (u, e), c in sorted(M.unit_entry_counts(store, by_entrant=True).items(),
                                   key=lambda kv: (kv[0][0] or "", kv[0][1] or ""))
           if scope is None or u in scope]
    return {"mail_rows": rows, "mail_total": total, "own_rows": own, "message_labels": [w[m] for m in MESSAGE_STATES],
            "entry_labels": [w[e] for e in ENTRY_STATES], "flagged_label": w["flagged"],
            "late": M.late_entries(store, sc.units()), "rejected": M.rejected_messages(store, sc.units())}


@router.get("/admin", response_class=HTMLResponse)
def get_admin(request: Request, done: str = "", entry: str = "", s: J.Session = Depends(admin)) -> Response:
    web = state(request)
    sc = scope(request, s)
    counts = web.store.counts() if sc.city else {}
    rows = [(label, counts.get(k, 0)) for k, label in COUNT_LABELS] if sc.city else []
    if sc.city:
        rows.append((DISCARDED_LABEL, len(discarded(web.store).pages)))
    r = web.roster.current()
    units = progress.unit_progress(web.store, r.index.unit_of if r.index and sc.city else None)
    units = [u for u in units if sc.allows(u.unit)]
    activity = progress.judge_activity(web.store)
    accounts = [j for j in J.list_judges(web.store) if sc.allows(j.unit)]
    names = {j.name for j in accounts}
    others = sorted((a for who, a in activity.items() if who not in names), key=lambda a: a.who) if sc.city else []
    essays = essays_web.admin_counts(web.store, web.rubric) if sc.city else []
    handwritten = T.progress(web.store, sc.units())
    notice = f"Đã nhận bài nộp muộn {entry}: bài được chấm ở lần chạy omr ingest tiếp theo." \
        if done == "accept" and entry.isascii() and entry.replace("-", "").isalnum() else ""
    return render(request, "admin.html", judge=s.judge, csrf=s.csrf_token, rows=rows, units=units, essays=essays,
                  unit_total=progress.total(units), judges=accounts, activity=activity, others=others,
                  states=STATE_LABELS, scope=sc, notice=notice, **mail_section(web.store, sc),
                  exports=[(name, v[2]) for name, v in EXPORTS.items()], reports=committee_web.report_links(sc.city),
                  roster_problem=r.problem, has_roster=r.index is not None,
                  can_export=web.contest_dir is not None, can_report=web.contest_dir is not None,
                  handwritten=handwritten, handwritten_labels=[label for _, label in T.PROGRESS_LABELS],
                  documents=web.transcription is not None)


@router.post("/admin/entries/{entry_id}/accept")
def post_accept_entry(request: Request, entry_id: Id, s: J.Session = Depends(csrf_admin)) -> Response:
    """A late entry accepted by the admin: the same audited change as ``omr entries accept ID --who NAME``. An
    entry of another unit than a unit admin's is not found (nothing written)."""
    web = state(request)
    sc = scope(request, s)
    e = M.find_entry(web.store, str(entry_id))
    if e is None or e.id != entry_id or not sc.allows(e.unit):
        return not_found(request, s, f"Không có bài dự thi số {entry_id} trong phạm vi của bạn.")
    if e.state != "late":
        return render(request, "error.html", 409, title="Không nhận được", judge=s.judge, csrf=s.csrf_token,
                      message=f"Bài {e.code} không ở trạng thái nộp muộn: không có gì để nhận.")
    M.accept_entry(web.store, e.id, s.judge.name)
    return RedirectResponse(f"/admin?{urlencode({'done': 'accept', 'entry': e.code})}#late-entries",
                            status_code=303)


@router.post("/admin/export/{name}")
def post_export(request: Request, name: str, s: J.Session = Depends(csrf_admin)) -> Response:
    web = state(request)
    sc = scope(request, s)
    if name not in EXPORTS or web.contest_dir is None:
        return not_found(request, s, f"Không có bản xuất «{name}».")
    asked, media, _ = EXPORTS[name]
    contest = load_contest(web.contest_dir)
    with tempfile.TemporaryDirectory(prefix="omr-export-") as tmp:
        export(web.store, contest, Path(tmp) / asked, within=sc.units())
        data = (Path(tmp) / name).read_bytes()
    now = datetime.now(timezone.utc)
    audit.record(web.store, at=now, who=s.judge.name, action="export", target=name,
                 after={"bytes": len(data), "via": "web", **({} if sc.city else {"unit": sc.unit.code})})
    stem, _, ext = name.partition(".")
    filename = f"{stem}-{now.astimezone(web.settings.tz):%Y%m%d-%H%M}.{ext}"
    return Response(data, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
