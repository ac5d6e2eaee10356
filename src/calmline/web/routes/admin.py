"""User management in the browser (admin only): list, add, change role, group and trainer groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from calmline.errors import CalmlineError
from calmline.web import auth
from calmline.web.db import ROLES, User
from calmline.web.routes.deps import DB, AdminViewer, Posted, Viewer, render

router = APIRouter()


def _admin(who: Viewer) -> None:
    if who.role != "admin":
        raise HTTPException(status_code=403, detail="Only an admin can change users.")


@router.get("/admin/users")
def users_page(request: Request, who: AdminViewer, db: DB) -> Response:
    users = db.scalars(select(User).order_by(User.name)).all()
    groups = {u.name: ", ".join(auth.trainer_groups(db, u)) for u in users if u.role == "trainer"}
    return render(request, "users.html", who, users=users, roles=ROLES, trainer_groups=groups)


@router.post("/admin/users")
def add_user(
    who: Posted,
    db: DB,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
    group: Annotated[str, Form()] = "",
) -> Response:
    _admin(who)
    try:
        auth.add_user(db, name, password, role, group)
    except CalmlineError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    db.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{name}")
def update_user(
    name: str,
    who: Posted,
    db: DB,
    role: Annotated[str, Form()],
    group: Annotated[str, Form()] = "",
    trainer_groups: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
) -> Response:
    _admin(who)
    try:
        user = auth.get_user(db, name)
        user.role = auth.check_role(role)
    except CalmlineError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    if user.id == who.user.id and (role != "admin" or not active):
        raise HTTPException(status_code=400, detail="You cannot demote or disable yourself.")
    user.group = group.strip()
    auth.set_active(db, user, bool(active))
    auth.set_trainer_groups(db, user, trainer_groups.split(",") if role == "trainer" else [])
    db.commit()
    return RedirectResponse("/admin/users", status_code=303)
