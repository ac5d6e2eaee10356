"""Logging in and out: the login form (with its own CSRF cookie), rate limit, session cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from calmline.web import auth, login_limit
from calmline.web.routes.deps import DB, Posted, render, state

router = APIRouter()


def _safe_next(target: str) -> str:
    """Only same-site paths: ``//evil.example`` or a full URL would be an open redirect."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/sessions"


def _secure(request: Request) -> bool:
    return auth.cookie_secure(
        state(request).settings.secure_cookies, request.url.scheme, request.url.hostname
    )


def _login_page(request: Request, next_path: str, error: str = "", status: int = 200) -> Response:
    token = request.cookies.get(auth.PRELOGIN_COOKIE) or auth.new_token()
    response = render(
        request,
        "login.html",
        None,
        status_code=status,
        login_token=token,
        next_path=_safe_next(next_path),
        error=error,
    )
    response.set_cookie(
        auth.PRELOGIN_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=3600,
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/sessions") -> Response:
    return _login_page(request, next)


@router.post("/login")
def login(
    request: Request,
    db: DB,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "/sessions",
) -> Response:
    expected = request.cookies.get(auth.PRELOGIN_COOKIE)
    if not expected or not auth.tokens_match(expected, csrf_token):
        return _login_page(request, next_path, "The form expired. Please try again.", 403)
    settings = state(request).settings
    ip = request.client.host if request.client else "?"
    username = username.strip()
    limits = settings.login_limits()

    def too_many() -> Response:
        minutes = max(1, settings.login_window_s // 60)
        message = f"Too many failed attempts. Try again in {minutes} minutes."
        return _login_page(request, next_path, message, 429)

    if login_limit.blocked(db, username, ip, limits):
        return too_many()  # before argon2: no work for a key that used up its failures
    user = auth.authenticate(db, username, password)
    if user is None:
        over = login_limit.failed(db, username, ip, limits)
        db.commit()  # at once: a parallel attempt must see this failure counted
        if over:
            return too_many()
        return _login_page(request, next_path, "Wrong user name or password.", 401)
    if not login_limit.succeeded(db, username, ip, limits):
        return too_many()
    token = auth.start_session(db, user, settings.session_hours)
    db.commit()
    response = RedirectResponse(_safe_next(next_path), status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=settings.session_hours * 3600,
    )
    response.delete_cookie(auth.PRELOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, _who: Posted, db: DB) -> Response:
    auth.end_session(db, request.cookies.get(auth.SESSION_COOKIE))
    db.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE)
    return response
