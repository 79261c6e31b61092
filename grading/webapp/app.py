"""The FastAPI application: server-rendered pages (Jinja2), plain JS for the keyboard, no outside resources.

Every page needs a session (else 303 to /login); every POST carries the session's CSRF token (else 403);
/admin is for admins only (403 for judges). A judge's decision goes through ``Store.resolve_flag`` (which
re-scores the page and audits before/after) and the browser moves on to the next open flag.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from omr.errors import BadArguments
from omr.layout import Layout

from .. import judges as J
from ..store import ESSAY, AlreadyDecided, Store, flags, pages, scores, submissions
from .auth import (LOGIN_CSRF_COOKIE, SESSION_COOKIE, IPNetwork, LoginThrottle, client_address, parse_proxy,
                   same_token)
from .images import PictureError, page_canvas, png, question_picture
from . import admin_web, essays_web
from .crop_cache import CropCache
from .roster import Roster

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 50
BLANK_LABEL = "Bỏ trống"
TARGET_LABELS = {"question": "Câu", "participant": "Số báo danh", "version": "Mã đề", "page": "Trang"}
# feature modules, each with ``register(app, web)``: add a module here to add its pages
ROUTE_MODULES = (admin_web, essays_web)


class _LoginRequired(Exception):
    pass


class _PasswordChangeRequired(Exception):
    pass


class _Forbidden(Exception):
    def __init__(self, message: str):
        self.message = message


@dataclass
class Web:
    """What every route module gets: the store, the contest, page rendering and the access dependencies.

    ``ready`` = a logged-in judge whose password is changed; ``admin`` = the same, admins only (else 403);
    ``csrf_ok(dep)`` = ``dep`` plus a valid CSRF token in the POSTed form (else 403); ``forbidden(message)``
    is the exception to raise for a 403 page.
    """
    store: Store
    layout: Layout
    contest_dir: Path | None
    render: Callable[..., HTMLResponse]
    ready: Callable[..., J.Session]
    admin: Callable[..., J.Session]
    csrf_ok: Callable[[Callable[..., J.Session]], Callable[..., Any]]
    forbidden: type[Exception]
    picture: Callable[[Callable[[], bytes]], Response]
    rubric: Any = None            # the essay rubric (grading.scoring.Rubric), read once when the app starts


def create_app(store: Store, layout: Layout, *, contest_dir: str | Path | None = None,
               throttle: LoginThrottle | None = None, secure_cookies: bool = False,
               trusted_proxies: Iterable[str | IPNetwork] = ()) -> FastAPI:
    """The app over an open store and the contest's layout (for cropping questions) and folder (rubric,
    roster). ``trusted_proxies`` (addresses or networks) are the reverse proxies whose ``X-Forwarded-For`` names
    the client for the login throttle; from anyone else that header is ignored."""
    app = FastAPI(title="Chấm thi – giám khảo", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    throttle = LoginThrottle() if throttle is None else throttle
    try:
        proxies = tuple(p if isinstance(p, IPNetwork) else parse_proxy(p) for p in trusted_proxies)
    except ValueError as e:
        raise BadArguments(f"trusted proxy: {e}") from None

    def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        resp = templates.TemplateResponse(request, name, ctx, status_code=status)
        resp.headers["Cache-Control"] = "no-store"
        return resp

    # -- session handling ------------------------------------------------------------------------------
    def session(request: Request) -> J.Session:
        s = J.session_for(store, request.cookies.get(SESSION_COOKIE))
        if s is None:
            raise _LoginRequired()
        return s

    def ready(s: J.Session = Depends(session)) -> J.Session:
        if s.judge.must_change:
            raise _PasswordChangeRequired()
        return s

    def admin(s: J.Session = Depends(ready)) -> J.Session:
        if s.judge.role is not J.Role.ADMIN:
            raise _Forbidden("Trang này chỉ dành cho quản trị viên.")
        return s

    async def check_csrf(request: Request, s: J.Session) -> None:
        form = await request.form()
        if not same_token(form.get("csrf"), s.csrf_token):     # type: ignore[arg-type]
            raise _Forbidden("Thiếu hoặc sai mã chống giả mạo (CSRF). Hãy tải lại trang rồi thử lại.")

    def csrf_ok(session_dep: Callable[..., J.Session]) -> Callable[..., Any]:
        async def dep(request: Request, s: J.Session = Depends(session_dep)) -> J.Session:
            await check_csrf(request, s)
            return s
        return dep

    @app.exception_handler(_LoginRequired)
    async def _to_login(request: Request, exc: _LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(_PasswordChangeRequired)
    async def _to_password(request: Request, exc: _PasswordChangeRequired) -> Response:
        return RedirectResponse("/password", status_code=303)

    @app.exception_handler(_Forbidden)
    async def _forbidden(request: Request, exc: _Forbidden) -> Response:
        return render(request, "error.html", 403, title="Không được phép", message=exc.message, judge=None)

    # -- login / logout / password ---------------------------------------------------------------------
    def login_page(request: Request, status: int = 200, error: str = "") -> HTMLResponse:
        token = secrets.token_urlsafe(32)
        resp = render(request, "login.html", status, login_csrf=token, error=error, judge=None)
        resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies,
                        path="/login")
        return resp

    @app.get("/login", response_class=HTMLResponse)
    def get_login(request: Request) -> Response:
        return login_page(request)

    @app.post("/login")
    def post_login(request: Request, username: str = Form(""), password: str = Form(""),
                   csrf: str = Form("")) -> Response:
        if not same_token(csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
            return render(request, "error.html", 403, title="Không được phép",
                          message="Phiên đăng nhập đã hết hạn. Hãy tải lại trang đăng nhập.", judge=None)
        ip = client_address(request, proxies)
        wait = throttle.retry_after(username, ip)
        if wait:
            resp = login_page(request, 429, f"Sai mật khẩu quá nhiều lần. Hãy thử lại sau {wait} giây.")
            resp.headers["Retry-After"] = str(wait)
            return resp
        judge = J.authenticate(store, username, password)
        if judge is None:
            throttle.failed(username, ip)
            return login_page(request, 401, "Tên đăng nhập hoặc mật khẩu không đúng.")
        throttle.succeeded(username, ip)
        token, _ = J.open_session(store, judge)
        resp = RedirectResponse("/password" if judge.must_change else "/flags", status_code=303)
        resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies,
                        max_age=J.SESSION_HOURS * 3600, path="/")
        resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return resp

    @app.post("/logout")
    async def post_logout(request: Request, s: J.Session = Depends(csrf_ok(session))) -> Response:
        J.close_session(store, request.cookies.get(SESSION_COOKIE))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE, path="/")
        return resp

    @app.get("/password", response_class=HTMLResponse)
    def get_password(request: Request, s: J.Session = Depends(session)) -> Response:
        return render(request, "password.html", judge=s.judge, csrf=s.csrf_token, error="")

    @app.post("/password")
    async def post_password(request: Request, s: J.Session = Depends(csrf_ok(session))) -> Response:
        form = await request.form()
        new, again = str(form.get("new_password", "")), str(form.get("again", ""))
        error = ""
        if new != again:
            error = "Hai lần nhập mật khẩu mới không giống nhau."
        else:
            try:
                J.set_password(store, s.judge.id, new)
            except BadArguments:
                error = f"Mật khẩu mới cần ít nhất {J.MIN_PASSWORD} ký tự."
        if error:
            return render(request, "password.html", 400, judge=s.judge, csrf=s.csrf_token, error=error)
        return RedirectResponse("/flags", status_code=303)

    # -- the flag queue --------------------------------------------------------------------------------
    # Flags on essay pages (an e-mailed essay to match with its participant, pages that came after judging began)
    # are the organisers' work: a judge who scores essays blind must not see those pages, their file names or whom
    # they belong to. Judges see flags on answer-sheet pages only; admins see all.
    def for_judge(q: Any, s: J.Session) -> Any:
        return q if s.judge.role is J.Role.ADMIN else q.where(pages.c.status != ESSAY)

    def check_may_see(f: dict[str, Any], s: J.Session) -> None:
        if s.judge.role is not J.Role.ADMIN and f["page_status"] == ESSAY:
            raise _Forbidden("Cờ này thuộc việc của ban tổ chức (trang bài tự luận): giám khảo không xem được, để bài "
                             "thi được chấm ẩn danh.")

    def open_flag_rows(offset: int, limit: int, s: J.Session) -> tuple[list[dict[str, Any]], int]:
        q = (sa.select(flags.c.id, flags.c.target, flags.c.key, flags.c.reason, flags.c.confidence,
                       pages.c.id.label("page_id"), pages.c.page_no, pages.c.participant, pages.c.version,
                       submissions.c.source)
             .join(pages, pages.c.id == flags.c.page_id).join(submissions, submissions.c.id == pages.c.submission_id)
             .where(flags.c.state == "open").order_by(flags.c.id))
        n = sa.select(sa.func.count()).select_from(flags.join(pages, pages.c.id == flags.c.page_id)) \
            .where(flags.c.state == "open")
        with store.read_tx("list open flags") as conn:
            total = conn.execute(for_judge(n, s)).scalar()
            rows = [dict(r._mapping) for r in conn.execute(for_judge(q, s).offset(offset).limit(limit))]
        return rows, int(total or 0)

    def next_open_flag(after: int, s: J.Session) -> int | None:
        q = sa.select(sa.func.min(flags.c.id)).select_from(flags.join(pages, pages.c.id == flags.c.page_id)) \
            .where(flags.c.state == "open")
        with store.read_tx("find the next flag") as conn:
            nxt = conn.execute(for_judge(q.where(flags.c.id > after), s)).scalar()
            if nxt is None:
                nxt = conn.execute(for_judge(q, s)).scalar()
        return nxt

    def flag_detail(flag_id: int) -> dict[str, Any] | None:
        q = (sa.select(flags, pages.c.page_no, pages.c.participant, pages.c.version, pages.c.status.label("page_status"),
                       submissions.c.source, scores.c.total, scores.c.max_total, scores.c.status.label("score_status"))
             .join(pages, pages.c.id == flags.c.page_id).join(submissions, submissions.c.id == pages.c.submission_id)
             .outerjoin(scores, scores.c.page_id == pages.c.id).where(flags.c.id == flag_id))
        with store.read_tx("read a flag") as conn:
            row = conn.execute(q).first()
        return None if row is None else dict(row._mapping)

    @app.get("/")
    def home(s: J.Session = Depends(ready)) -> Response:
        return RedirectResponse("/flags", status_code=303)

    @app.get("/flags", response_class=HTMLResponse)
    def get_flags(request: Request, page: int = 1, done: int | None = None,
                  s: J.Session = Depends(ready)) -> Response:
        page = max(1, page)
        rows, total = open_flag_rows((page - 1) * PAGE_SIZE, PAGE_SIZE, s)
        n_pages = max(1, -(-total // PAGE_SIZE))
        if page > n_pages:          # past the end (flags were resolved meanwhile): show the last page
            page = n_pages
            rows, total = open_flag_rows((page - 1) * PAGE_SIZE, PAGE_SIZE, s)
        return render(request, "flags.html", judge=s.judge, csrf=s.csrf_token, rows=rows, total=total,
                      page=page, n_pages=n_pages, labels=TARGET_LABELS, done=flag_detail(done) if done else None)

    roster = Roster(Path(contest_dir) if contest_dir else None)

    def draw_crop(f: dict[str, Any]) -> bytes:
        if f["target"] != "question":
            return png(page_canvas(store, layout, f["page_id"]).image)
        return png(question_picture(store, layout, f["page_id"], f["key"], f["fills"]))

    crops = CropCache(draw_crop)

    def next_open_flags(after: int, n: int) -> list[dict[str, Any]]:
        q = (sa.select(flags.c.id, flags.c.page_id, flags.c.target, flags.c.key, flags.c.fills)
             .where(flags.c.state == "open", flags.c.id > after).order_by(flags.c.id).limit(n))
        with store.read_tx("find the next flags") as conn:
            return [dict(r._mapping) for r in conn.execute(q)]
    def flag_page(request: Request, s: J.Session, f: dict[str, Any], status: int = 200, *, error: str = "",
                  done: int | None = None) -> HTMLResponse:
        options: tuple[str, ...] = ()
        if f["target"] == "question":
            g = next((g for g in layout.question_groups if g.key == f["key"]), None)
            options = tuple(g.labels) if g else ()
        ctx: dict[str, Any] = {}
        if f["target"] == "participant":
            r = roster.current()
            person = r.index.find(f["participant"]) if r.index and f["participant"] else None
            ctx = dict(has_roster=r.index is not None, roster_problem=r.problem, person=person)
        _, n_open = open_flag_rows(0, 0, s)
        return render(request, "flag.html", status, judge=s.judge, csrf=s.csrf_token, f=f, options=options,
                      blank_label=BLANK_LABEL, labels=TARGET_LABELS, n_open=n_open,
                      done=flag_detail(done) if done else None, error=error, **ctx)

    @app.get("/flags/{flag_id}", response_class=HTMLResponse)
    def get_flag(request: Request, flag_id: int, done: int | None = None, error: str = "",
                 s: J.Session = Depends(ready)) -> Response:
        f = flag_detail(flag_id)
        if f is None:
            return render(request, "error.html", 404, title="Không tìm thấy", judge=s.judge, csrf=s.csrf_token,
                          message=f"Không có cờ số {flag_id}.")
        check_may_see(f, s)
        crops.prefetch(next_open_flags(flag_id, 2))       # the judge's next pictures, drawn while this one is open
        return flag_page(request, s, f, done=done, error=error)

    def decide(request: Request, flag_id: int, value: str, s: J.Session) -> Response:
        f = flag_detail(flag_id)
        if f is None:
            return RedirectResponse("/flags", status_code=303)
        check_may_see(f, s)
        try:       # the store re-checks the flag under its row lock: of judges racing, exactly one writes
            store.resolve_flag(flag_id, value, who=s.judge.name, only_open=True)
        except AlreadyDecided as exc:
            return flag_page(request, s, flag_detail(flag_id) or f, 409, error=f"Cờ số {flag_id} đã được {exc.who} "
                             "xử lý trước bạn; quyết định của bạn không được ghi. Hãy chuyển sang cờ khác.")
        except BadArguments as exc:
            return flag_page(request, s, flag_detail(flag_id) or f, 400, error=f"Giá trị không hợp lệ: {exc}")
        crops.forget_page(f["page_id"])
        nxt = next_open_flag(flag_id, s)
        where = f"/flags/{nxt}?done={flag_id}" if nxt is not None else f"/flags?done={flag_id}"
        return RedirectResponse(where, status_code=303)

    @app.post("/flags/{flag_id}/resolve")
    async def post_resolve(flag_id: int, request: Request, s: J.Session = Depends(csrf_ok(ready))) -> Response:
        form = await request.form()
        # the decision (locks, re-scoring) runs in a worker thread: other judges' pages are served meanwhile
        return await run_in_threadpool(decide, request, flag_id, str(form.get("value", "")), s)

    @app.get("/roster/search")
    def get_roster_search(q: str = "", s: J.Session = Depends(ready)) -> Response:
        """Participants of the roster matching ``q`` (id prefix, or words of the name or unit), as JSON."""
        r = roster.current()
        hits, n = r.index.search(q[:100]) if r.index else ([], 0)
        return JSONResponse({"roster": r.index is not None, "total": n,
                             "hits": [{"id": h.id, "name": h.name, "unit": h.unit} for h in hits]},
                            headers={"Cache-Control": "no-store"})

    # -- pictures --------------------------------------------------------------------------------------
    def picture(build: Callable[[], bytes]) -> Response:
        try:
            data = build()
        except PictureError as exc:
            return Response(f"Không vẽ được ảnh: {exc}", status_code=404, media_type="text/plain; charset=utf-8")
        return Response(data, media_type="image/png", headers={"Cache-Control": "private, no-store"})

    @app.get("/flags/{flag_id}/crop.png")
    def get_crop(flag_id: int, s: J.Session = Depends(ready)) -> Response:
        f = flag_detail(flag_id)
        if f is None:
            return Response(status_code=404)
        check_may_see(f, s)
        return picture(lambda: crops.get(f))

    @app.get("/pages/{page_id}/image")
    def get_page_image(page_id: int, s: J.Session = Depends(ready)) -> Response:
        # a judge sees a whole page only while it has an open flag of his (an answer sheet; essay pages are shown
        # blind, through assignments); admins see every page
        if s.judge.role is not J.Role.ADMIN:
            with store.read_tx("check a page has an open flag") as conn:
                flagged = conn.execute(sa.select(flags.c.id).join(pages, pages.c.id == flags.c.page_id).where(
                    flags.c.page_id == page_id, flags.c.state == "open", pages.c.status != ESSAY).limit(1)).first()
            if flagged is None:
                raise _Forbidden("Giám khảo chỉ xem được cả trang của phiếu đang có cờ cần xử lý; bài tự luận được "
                                 "xem qua bài được giao.")
        return picture(lambda: png(page_canvas(store, layout, page_id).image))

    web = Web(store=store, layout=layout, contest_dir=Path(contest_dir) if contest_dir else None, render=render,
              ready=ready, admin=admin, csrf_ok=csrf_ok, forbidden=_Forbidden, picture=picture)
    for module in ROUTE_MODULES:
        module.register(app, web)
    return app
