"""Admin pages: what has been graded, flagged and rejected, and who the judges are (admins only)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from .. import judges as J

if TYPE_CHECKING:
    from .app import Web

COUNT_LABELS = (("submissions", "Tệp bài làm"), ("submissions_ok", "Tệp đã chấm xong"),
                ("submissions_flagged", "Tệp cần xem lại"), ("submissions_rejected", "Tệp bị loại"),
                ("pages", "Trang"), ("pages_graded", "Trang đã có điểm"), ("pages_flagged", "Trang cần xem lại"),
                ("pages_no_key", "Trang chưa có đáp án"), ("pages_rejected", "Trang bị loại"),
                ("flags_open", "Cờ đang mở"), ("flags_resolved", "Cờ đã xử lý"))


def register(app: FastAPI, web: Web) -> None:
    @app.get("/admin", response_class=HTMLResponse)
    def get_admin(request: Request, s: J.Session = Depends(web.admin)) -> Response:
        counts = web.store.counts()
        rows = [(label, counts.get(k, 0)) for k, label in COUNT_LABELS]
        return web.render(request, "admin.html", judge=s.judge, csrf=s.csrf_token, rows=rows,
                          judges=J.list_judges(web.store))
