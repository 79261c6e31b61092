"""Logging in (throttled per account name and client address; a disabled account is refused, and told so only
after its right password), logging out and changing the password."""
from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import judges as J
from ..store import Store
from .auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, client_address, same_token
from .deps import csrf_session, render, session, state

router = APIRouter()
BAD_LOGIN = "Tên đăng nhập hoặc mật khẩu không đúng."
DISABLED = "Tài khoản này đã bị khoá. Hãy liên hệ ban tổ chức kỳ thi để được mở lại."


def login_page(request: Request, status: int = 200, error: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    resp = render(request, "login.html", status, login_csrf=token, error=error, judge=None)
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=state(request).secure_cookies,
                    path="/login")
    return resp


@router.get("/login", response_class=HTMLResponse)
def get_login(request: Request) -> Response:
    return login_page(request)


@router.post("/login")
def post_login(request: Request, username: str = Form(""), password: str = Form(""),
               csrf: str = Form("")) -> Response:
    web = state(request)
    if not same_token(csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return render(request, "error.html", 403, title="Không được phép",
                      message="Phiên đăng nhập đã hết hạn. Hãy tải lại trang đăng nhập.", judge=None)
    ip = client_address(request, web.trusted_proxies)
    wait = web.throttle.retry_after(username, ip)
    if wait:
        resp = login_page(request, 429, f"Sai mật khẩu quá nhiều lần. Hãy thử lại sau {wait} giây.")
        resp.headers["Retry-After"] = str(wait)
        return resp
    judge = J.authenticate(web.store, username, password)
    if judge is None:
        web.throttle.failed(username, ip)
        return login_page(request, 401, BAD_LOGIN)
    if judge.disabled:                      # said only after the right password: logins cannot be probed
        return login_page(request, 403, DISABLED)
    web.throttle.succeeded(username, ip)
    token, _ = J.open_session(web.store, judge)
    resp = RedirectResponse("/password" if judge.must_change else "/flags", status_code=303)
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=web.secure_cookies,
                    max_age=J.SESSION_HOURS * 3600, path="/")
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
async def post_logout(request: Request, s: J.Session = Depends(csrf_session)) -> Response:
    J.close_session(state(request).store, request.cookies.get(SESSION_COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/password", response_class=HTMLResponse)
def get_password(request: Request, s: J.Session = Depends(session)) -> Response:
    return render(request, "password.html", judge=s.judge, csrf=s.csrf_token, error="")


WRONG_CURRENT = "Mật khẩu hiện tại không đúng."


def password_error(store: Store, s: J.Session, current: str, new: str, again: str) -> str:
    """Why the change is refused (Vietnamese), or ""."""
    if J.authenticate(store, s.judge.name, current) is None:
        return WRONG_CURRENT
    if new != again:
        return "Hai lần nhập mật khẩu mới không giống nhau."
    if J.password_problem(new):
        return f"Mật khẩu mới cần ít nhất {J.MIN_PASSWORD} ký tự không phải dấu cách."
    if new == current:
        return "Mật khẩu mới phải khác mật khẩu hiện tại (và khác mật khẩu dùng một lần)."
    return ""


@router.post("/password")
async def post_password(request: Request, s: J.Session = Depends(csrf_session)) -> Response:
    """Change the password: the current one is asked again; the account's other sessions end."""
    form = await request.form()
    web = state(request)
    current, new, again = (str(form.get(k, "")) for k in ("current_password", "new_password", "again"))
    ip = client_address(request, web.trusted_proxies)          # guessing the current password is throttled too
    wait = web.throttle.retry_after(s.judge.name, ip)
    if wait:
        return render(request, "password.html", 429, judge=s.judge, csrf=s.csrf_token,
                      error=f"Sai mật khẩu quá nhiều lần. Hãy thử lại sau {wait} giây.")
    error = await run_in_threadpool(password_error, web.store, s, current, new, again)
    if error:
        if error == WRONG_CURRENT:
            web.throttle.failed(s.judge.name, ip)
        return render(request, "password.html", 400, judge=s.judge, csrf=s.csrf_token, error=error)
    await run_in_threadpool(J.set_password, web.store, s.judge.id, new)
    J.close_other_sessions(web.store, s.judge.id, request.cookies.get(SESSION_COOKIE))
    return RedirectResponse("/flags", status_code=303)
