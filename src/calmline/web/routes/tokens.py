"""Upload tokens in the browser: trainers issue and revoke them for their groups' learners,
admins for every learner. A new token is shown once, on the page that issued it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from calmline.errors import CalmlineError
from calmline.web import auth
from calmline.web.access import can_train
from calmline.web.db import UploadToken, User
from calmline.web.routes.deps import DB, Posted, TrainerViewer, Viewer, render
from calmline.web.upload_tokens import issue_token, list_tokens, may_manage, revoke_token

router = APIRouter()


def _learners(db: DB, who: Viewer) -> list[User]:
    learners = db.scalars(select(User).where(User.role == "learner").order_by(User.name)).all()
    return [u for u in learners if may_manage(db, who.user, u)]


def _page(
    request: Request, db: DB, who: Viewer, new_token: str = "", for_whom: str = ""
) -> Response:
    learners = _learners(db, who)
    names = {u.name for u in learners}
    tokens = [(t, u) for t, u in list_tokens(db) if u.name in names]
    return render(
        request,
        "tokens.html",
        who,
        learners=learners,
        tokens=tokens,
        new_token=new_token,
        for_whom=for_whom,
        server=str(request.base_url).rstrip("/"),
    )


def _trainer(who: Viewer) -> None:
    if not can_train(who.user):
        raise HTTPException(status_code=403, detail="Only trainers and admins issue upload tokens.")


@router.get("/tokens")
def tokens_page(request: Request, who: TrainerViewer, db: DB) -> Response:
    return _page(request, db, who)


@router.post("/tokens")
def issue(
    request: Request,
    who: Posted,
    db: DB,
    learner: Annotated[str, Form()],
    label: Annotated[str, Form()] = "",
) -> Response:
    _trainer(who)
    try:
        user = auth.get_user(db, learner)
        if not may_manage(db, who.user, user):
            raise HTTPException(status_code=403, detail=f"{learner} is not in your groups.")
        token = issue_token(db, user, issued_by=who.name, label=label)
    except CalmlineError as exc:
        raise HTTPException(status_code=400, detail=exc.message) from exc
    db.commit()
    return _page(request, db, who, new_token=token, for_whom=user.name)


@router.post("/tokens/{token_id}/revoke")
def revoke(token_id: int, who: Posted, db: DB) -> Response:
    _trainer(who)
    row = db.get(UploadToken, token_id)
    learner = db.get(User, row.user_id) if row is not None else None
    if row is None or learner is None or not may_manage(db, who.user, learner):
        raise HTTPException(status_code=404, detail="No such upload token.")
    revoke_token(db, token_id)
    db.commit()
    return RedirectResponse("/tokens", status_code=303)
