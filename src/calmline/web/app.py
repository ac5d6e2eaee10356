"""The FastAPI application factory: ``create_app(settings)``.

It opens the index database, imports the session folders already on disk, mounts the
local static files (nothing comes from a CDN), wires the routers and adds the
security headers and error pages that every response shares.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from calmline import __version__
from calmline.errors import CalmlineError
from calmline.web.db import make_engine, session_factory, transaction
from calmline.web.indexer import IndexReport, sync
from calmline.web.live_calls import LiveCalls
from calmline.web.practice_socket import router as practice_socket_router
from calmline.web.request_limits import RequestLimits
from calmline.web.routes import (
    admin,
    agreement,
    auth_routes,
    practice,
    review,
    session_page,
    sessions,
    tokens,
    trainer,
    upload,
)
from calmline.web.routes.deps import AppState, LoginRequired, render
from calmline.web.settings import WebSettings

HERE = Path(__file__).parent
SERVER_ERROR = "Something went wrong on the server. The administrator can see why in its log."
log = logging.getLogger("calmline.web")
SECURITY_HEADERS = {
    # No inline script or style anywhere, so the policy can forbid them outright.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its extension: learner text is untrusted
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: "" if v is None else f"{v * 100:.0f}%"
    env.filters["num"] = lambda v, d=0: "" if v is None else f"{v:.{d}f}"
    env.filters["verdict"] = lambda v: {"not_met": "not met"}.get(v, v)
    env.globals["version"] = __version__
    return Jinja2Templates(env=env)


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def create_app(settings: WebSettings | None = None) -> FastAPI:
    settings = settings or WebSettings()
    engine = make_engine(settings.db_url, create_folder=settings.db_is_default)
    factory = session_factory(engine)
    try:
        with transaction(factory) as db:
            report: IndexReport = sync(db, settings.recordings)
    except CalmlineError as exc:  # no recordings folder (yet): serve the index as it is
        report = IndexReport(errors=[exc.message])

    app = FastAPI(title="calmline dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.calmline = AppState(settings=settings, factory=factory, templates=_templates())
    app.state.index_report = report
    app.state.engine = engine
    app.state.live_calls = LiveCalls()  # browser calls in progress (one server process)
    app.add_middleware(RequestLimits)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (
        auth_routes,
        sessions,
        session_page,
        review,
        agreement,
        trainer,
        admin,
        tokens,
        upload,
    ):
        app.include_router(module.router)
    app.include_router(practice.router)
    app.include_router(practice_socket_router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return Response("Log in first.", status_code=401, media_type="text/plain")

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception) -> Response:
        # The details (a traceback, file paths on the server) go to the log, never the page.
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return render(request, "error.html", None, status_code=500, status=500, detail=SERVER_ERROR)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "Something went wrong."
        return render(
            request,
            "error.html",
            None,
            status_code=exc.status_code,
            status=exc.status_code,
            detail=detail,
        )

    return app
