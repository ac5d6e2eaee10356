"""What every route needs: the database session, the logged-in viewer, role and CSRF checks,
and rendering a template with the viewer and their CSRF token."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from calmline.errors import CalmlineError
from calmline.web import auth
from calmline.web.db import User
from calmline.web.indexer import sync
from calmline.web.settings import WebSettings


@dataclass
class AppState:
    settings: WebSettings
    factory: sessionmaker[Session]
    templates: Jinja2Templates
    last_sync: float = 0.0


@dataclass
class Viewer:
    user: User
    csrf_token: str

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def name(self) -> str:
        return self.user.name


class LoginRequired(Exception):
    """Raised by :func:`viewer` when no valid login cookie came with the request."""


def state(request: Request) -> AppState:
    app_state: AppState = request.app.state.calmline  # set by create_app
    return app_state


def db_session(request: Request) -> Iterator[Session]:
    """A database session per request; routes that write call ``db.commit()`` themselves."""
    with state(request).factory() as db:
        yield db


DB = Annotated[Session, Depends(db_session)]


def viewer(request: Request, db: DB) -> Viewer:
    found = auth.resolve_session(db, request.cookies.get(auth.SESSION_COOKIE))
    if found is None:
        raise LoginRequired
    user, login = found
    return Viewer(user=user, csrf_token=login.csrf_token)


def require(*roles: str) -> Any:
    """A dependency that lets only ``roles`` through (403 for anyone else)."""

    def check(who: Annotated[Viewer, Depends(viewer)]) -> Viewer:
        if who.role not in roles:
            raise HTTPException(status_code=403, detail="Your role cannot open this page.")
        return who

    return check


async def csrf(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Viewer:
    """Every form posts the login session's CSRF token back; anything else is refused (403)."""
    form = await request.form()
    given = form.get("csrf_token") or request.headers.get("x-csrf-token")
    if not auth.tokens_match(who.csrf_token, given if isinstance(given, str) else None):
        raise HTTPException(
            status_code=403,
            detail="The form expired or was not sent by this "
            "site (CSRF check failed). Reload the page and try again.",
        )
    return who


LoggedIn = Annotated[Viewer, Depends(viewer)]
Posted = Annotated[Viewer, Depends(csrf)]  # a logged-in viewer whose form carried the CSRF token
TrainerViewer = Annotated[Viewer, Depends(require("trainer", "admin"))]
AgreementViewer = Annotated[Viewer, Depends(require("trainer", "assessor", "admin"))]
AdminViewer = Annotated[Viewer, Depends(require("admin"))]


def resync_if_due(request: Request, db: Session) -> None:
    """Pick up sessions written since the last look (throttled by ``resync_s``)."""
    app = state(request)
    now = time.monotonic()
    if now - app.last_sync >= app.settings.resync_s:
        app.last_sync = now
        try:
            sync(db, app.settings.recordings)
        except CalmlineError:  # the folder vanished (an unmounted drive): keep the index
            db.rollback()
            return
        db.commit()


def render(
    request: Request, name: str, who: Viewer | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    context.update(viewer=who, csrf_token=who.csrf_token if who else "")
    return state(request).templates.TemplateResponse(
        request, name, context, status_code=status_code
    )
