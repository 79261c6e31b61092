"""The FastAPI application: server-rendered pages (Jinja2), plain JS for the keyboard, no outside resources.

``create_app(store, layout)`` sets up the app's state (``deps.WebState``) and mounts one router per feature:
logging in (``login``), the flag queue (``flags_web``; its grid review ``grid_web``, mounted first because
``/flags/grid`` is not a flag's number), essay judging (``essays_web``), typing in handwritten entries
(``transcribe_web``) and the admin pages (``admin_web``).
Every page needs a session (else 303 to /login); every POST carries the session's CSRF token (else 403); /admin
is for admins only (403 for judges). Every answer carries the security headers below.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from omr.errors import BadArguments
from omr.layout import Layout

from ..contest import Settings, load_settings
from ..numbers import local_time, show_points
from ..reasons import reason_label
from ..store import Store
from . import admin_web, essays_web, flags_web, grid_web, login, transcribe_web
from .auth import IPNetwork, LoginThrottle, parse_proxy
from .deps import HERE, WebState, install_handlers
from .flags_web import PAGE_SIZE, crop_cache

__all__ = ["PAGE_SIZE", "ROUTERS", "SECURITY_HEADERS", "create_app"]

ROUTERS = (login.router, grid_web.router, flags_web.router, essays_web.router, transcribe_web.router,
           admin_web.router)
# pages and pictures come from this server only, and no other site may frame them (clickjacking)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _proxies(given: Iterable[str | IPNetwork]) -> tuple[IPNetwork, ...]:
    try:
        return tuple(p if isinstance(p, IPNetwork) else parse_proxy(p) for p in given)
    except ValueError as e:
        raise BadArguments(f"trusted proxy: {e}") from None


def templates(settings: Settings) -> Jinja2Templates:
    """The pages, with the filters that write for people: ``reason`` (a flag's reason in the contest's language),
    ``points`` (``7,5``, never ``15/2``) and ``when`` (a time in the contest's time zone)."""
    t = Jinja2Templates(directory=str(HERE / "templates"))
    t.env.filters["reason"] = lambda code: reason_label(code, settings.language)
    t.env.filters["points"] = show_points
    t.env.filters["when"] = lambda at: local_time(at, settings.tz)
    return t


def create_app(store: Store, layout: Layout, *, contest_dir: str | Path | None = None,
               throttle: LoginThrottle | None = None, secure_cookies: bool = False,
               trusted_proxies: Iterable[str | IPNetwork] = ()) -> FastAPI:
    """The app over an open store and the contest's layout (for cropping questions) and folder (rubric,
    roster). ``trusted_proxies`` (addresses or networks) are the reverse proxies whose ``X-Forwarded-For`` names
    the client for the login throttle; from anyone else that header is ignored."""
    folder = Path(contest_dir) if contest_dir else None
    settings = load_settings(folder) if folder else Settings()
    web = WebState(store=store, layout=layout, contest_dir=folder, settings=settings,
                   templates=templates(settings),
                   throttle=LoginThrottle() if throttle is None else throttle,
                   trusted_proxies=_proxies(trusted_proxies), secure_cookies=secure_cookies)
    web.crops = crop_cache(store, layout)
    essays_web.setup(web)
    transcribe_web.setup(web)
    app = FastAPI(title="Chấm thi – giám khảo", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = web
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next) -> Response:
        resp = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            resp.headers.setdefault(k, v)
        return resp

    return app
