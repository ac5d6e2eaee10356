"""Bounds on what a request may bring: its query string and its body (``limits``).

A 70 KB query string was echoed into a 563 KB session list (each filter value appears
in a dozen links); no form of the dashboard sends more than a few hundred bytes. A
request over a bound is answered at once (414 or 413) with the usual error page, before
any route reads it. A pure ASGI middleware, so that a body sent in chunks without a
``Content-Length`` is counted as it arrives and cut off at the bound (FastAPI then
answers 400, as for any body it cannot parse).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calmline.limits import limits
from calmline.upload.files import UPLOAD_PATH, max_upload_bytes
from calmline.web.routes.deps import render

TOO_LONG = "The address is too long. Use the filters on the page instead of editing it by hand."
TOO_LARGE = "The form sent too much data. Shorten what you typed and try again."


class _BodyTooLarge(Exception):
    pass


class RequestLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        budget = limits()
        if len(scope.get("query_string", b"")) > budget.query_bytes:
            await _refuse(scope, receive, send, 414, TOO_LONG)
            return
        # a session upload (``calmline upload``) has its own, larger bound
        most = max_upload_bytes() if scope.get("path") == UPLOAD_PATH else budget.form_bytes
        declared = dict(scope.get("headers", [])).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > most:
            await _refuse(scope, receive, send, 413, TOO_LARGE)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > most:
                    raise _BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _BodyTooLarge:
            if started:  # pragma: no cover - no route answers before reading its form
                raise
            await _refuse(scope, receive, send, 413, TOO_LARGE)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    request = Request(scope, receive)
    response: Response
    if scope.get("path") == UPLOAD_PATH:  # the upload client reads JSON
        detail = upload_too_large() if status == 413 else detail
        response = JSONResponse({"error": detail}, status_code=status)
    else:
        response = render(
            request, "error.html", None, status_code=status, status=status, detail=detail
        )
    await response(scope, receive, send)


def upload_too_large() -> str:
    most = max_upload_bytes() / (1 << 20)
    return (
        f"the session is larger than this server takes ({most:.0f} MB); "
        f"the server's admin can raise CALMLINE_MAX_UPLOAD_MB"
    )
