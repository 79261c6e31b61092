"""What every page of the web app shares: the app's state (store, contest, rubric, roster, throttle), page
rendering, and the access dependencies — a session, a judge whose password is changed, an admin, a valid CSRF
token — with the exceptions that turn into the login redirect or a 403 page.

Routers reach the state through ``request.app.state.web`` (``state(request)``); nothing here is global.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path as InPath, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from omr.layout import Layout

from .. import judges as J
from ..contest import Settings
from ..scope import CITY, CITY_MARKERS, Scope, ScopeError, admin_scope
from ..store import Store
from .auth import SESSION_COOKIE, IPNetwork, LoginThrottle, same_token
from .images import PictureError
from .roster import Roster

HERE = Path(__file__).resolve().parent
log = logging.getLogger("omr.review")


MAX_ID = 2 ** 63 - 1          # the largest id the store's integer columns hold
# ids and page numbers in addresses: a number out of range is a 400 page, never a database error
Id = Annotated[int, InPath(ge=0, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=0, le=MAX_ID)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]


def form_id(text: str) -> int | None:
    """An id typed into a form (ASCII digits within range), else ``None``."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and int(text) <= MAX_ID else None


@dataclass
class WebState:
    """One app's state: set up by ``create_app``, read by the routers."""
    store: Store
    layout: Layout
    contest_dir: Path | None
    templates: Jinja2Templates
    throttle: LoginThrottle
    settings: Settings = field(default_factory=Settings)
    trusted_proxies: tuple[IPNetwork, ...] = ()
    secure_cookies: bool = False
    rubric: Any = None            # the essay rubric (grading.essays.Rubric), read once when the app starts
    crops: Any = None             # flag pictures drawn ahead (flags_web.crop_cache)
    transcription: Any = None     # the transcription rules (grading.transcribe.Rules); None: no documents contest
    roster: Roster = field(init=False)

    def __post_init__(self) -> None:
        self.roster = Roster(self.contest_dir, self.layout)


class LoginRequired(Exception):
    pass


class PasswordChangeRequired(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, message: str):
        self.message = message


def state(request: Request) -> WebState:
    return request.app.state.web


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    resp = state(request).templates.TemplateResponse(request, name, ctx, status_code=status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def not_found(request: Request, s: J.Session | None, message: str) -> HTMLResponse:
    return render(request, "error.html", 404, title="Không tìm thấy", judge=s.judge if s else None,
                  csrf=s.csrf_token if s else "", message=message)


def session(request: Request) -> J.Session:
    s = J.session_for(state(request).store, request.cookies.get(SESSION_COOKIE))
    if s is None:
        raise LoginRequired()
    return s


def ready(s: J.Session = Depends(session)) -> J.Session:
    """A logged-in judge whose one-time password is changed."""
    if s.judge.must_change:
        raise PasswordChangeRequired()
    return s


def admin(s: J.Session = Depends(ready)) -> J.Session:
    if s.judge.role is not J.Role.ADMIN:
        raise Forbidden("Trang này chỉ dành cho quản trị viên.")
    return s


def scope(request: Request, s: J.Session = Depends(admin)) -> Scope:
    """The admin's scope (``grading.scope``): the city's, or one unit's and those below it; an account whose unit
    cannot be placed gets a 403 page, never everything."""
    from omr.errors import InputError
    from omr.table import fold_header

    from ..units import load_units

    folder = state(request).contest_dir
    if fold_header(s.judge.unit) in CITY_MARKERS or folder is None:
        return CITY
    try:
        return admin_scope(s.judge.unit, load_units(folder))
    except (ScopeError, InputError) as exc:
        raise Forbidden(str(exc)) from None


def round_judging(request: Request) -> Any:
    """The contest rounds' judging rules (``grading.round_judges.RoundJudging``) from the contest folder, or
    ``None`` when the contest has no ``rules.json`` (no rounds); unreadable rules stop the handing out of essays
    (a 403 page naming the problem) rather than handing them out without their rules."""
    from omr.errors import OmrError

    from ..round_judges import RoundJudging
    from ..rules import load_rules
    from ..units import load_units

    folder = state(request).contest_dir
    if folder is None:
        return None
    try:
        rules = load_rules(folder)
        return None if rules is None else RoundJudging(rules, load_units(folder))
    except OmrError as exc:
        raise Forbidden(f"Không đọc được quy định cuộc thi (rules.json, units.csv): {exc}. Hãy báo ban tổ chức; "
                        "chưa giao bài tự luận nào cho đến khi sửa xong.") from None


def city_admin(request: Request, s: J.Session = Depends(admin)) -> J.Session:
    """An admin of the whole contest, for pages not yet built for unit admins: a unit admin gets a 403 page
    saying so (nothing of another unit is shown or written)."""
    if not scope(request, s).city:
        raise Forbidden("Trang này chưa có cho quản trị viên cấp đơn vị: chỉ quản trị viên cấp thành phố (đơn vị "
                        "«city») dùng được.")
    return s


async def check_csrf(request: Request, s: J.Session) -> None:
    form = await request.form()
    if not same_token(form.get("csrf"), s.csrf_token):     # type: ignore[arg-type]
        raise Forbidden("Thiếu hoặc sai mã chống giả mạo (CSRF). Hãy tải lại trang rồi thử lại.")


def csrf_ok(session_dep: Callable[..., J.Session]) -> Callable[..., Any]:
    """``session_dep`` plus a valid CSRF token in the POSTed form (else 403)."""
    async def dep(request: Request, s: J.Session = Depends(session_dep)) -> J.Session:
        await check_csrf(request, s)
        return s
    return dep


csrf_session = csrf_ok(session)
csrf_ready = csrf_ok(ready)
csrf_admin = csrf_ok(admin)
csrf_city_admin = csrf_ok(city_admin)


def picture(build: Callable[[], bytes], *, blind: bool = False) -> Response:
    """A PNG drawn by ``build``, or a 404 saying why it could not be drawn — without the file's name or place
    when the viewer judges blind (the reason goes to the server's log)."""
    try:
        data = build()
    except PictureError as exc:
        if blind:
            log.warning("picture not drawn for a blind judge: %s", exc)
            return Response("Không vẽ được ảnh trang này. Hãy báo ban tổ chức.", status_code=404,
                            media_type="text/plain; charset=utf-8")
        return Response(f"Không vẽ được ảnh: {exc}", status_code=404, media_type="text/plain; charset=utf-8")
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, no-store"})


def install_handlers(app: FastAPI) -> None:
    """The login redirect, the password-change redirect and the 403 page."""
    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def _to_password(request: Request, exc: PasswordChangeRequired) -> Response:
        return RedirectResponse("/password", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def _bad_address(request: Request, exc: RequestValidationError) -> Response:
        return render(request, "error.html", 400, title="Địa chỉ không hợp lệ", judge=None,
                      message="Địa chỉ hoặc dữ liệu gửi lên không hợp lệ (số quá lớn hoặc không phải số). "
                              "Hãy quay lại trang trước.")

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return render(request, "error.html", 403, title="Không được phép", message=exc.message, judge=None)
