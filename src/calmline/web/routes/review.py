"""Form posts on a session page: point reviews and final marks (assessor, admin), and
assigning the session to an assessor (trainer, admin)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from calmline.errors import CalmlineError
from calmline.web.access import REVIEWERS, TRAINERS
from calmline.web.indexer import load_assessments
from calmline.web.review import assign_sessions, record_final, record_review
from calmline.web.routes.deps import DB, Posted, Viewer
from calmline.web.routes.session_page import session_or_404

router = APIRouter()


def _back(session_id: str, anchor: str = "") -> Response:
    return RedirectResponse(f"/sessions/{session_id}{anchor}", status_code=303)


def _role(who: Viewer, roles: frozenset[str]) -> None:
    if who.role not in roles:
        raise HTTPException(status_code=403, detail="Your role cannot do this.")


@router.post("/sessions/{session_id}/review")
def review_point(
    request: Request,
    session_id: str,
    who: Posted,
    db: DB,
    rubric_id: Annotated[str, Form()],
    point_id: Annotated[str, Form()],
    verdict: Annotated[str, Form()],
    comment: Annotated[str, Form()] = "",
) -> Response:
    _role(who, REVIEWERS)
    row = session_or_404(request, db, who, session_id)
    try:
        record_review(
            db,
            row.id,
            load_assessments(Path(row.folder)),
            who.name,
            rubric_id,
            point_id,
            verdict,
            comment,
        )
    except CalmlineError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    db.commit()
    return _back(row.id, f"#point-{rubric_id}-{point_id}")


@router.post("/sessions/{session_id}/final")
def final_mark(
    request: Request,
    session_id: str,
    who: Posted,
    db: DB,
    mark: Annotated[str, Form()],
    comment: Annotated[str, Form()] = "",
) -> Response:
    _role(who, REVIEWERS)
    row = session_or_404(request, db, who, session_id)
    try:
        record_final(db, row.id, who.name, mark, comment)
    except CalmlineError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    db.commit()
    return _back(row.id, "#final")


@router.post("/sessions/{session_id}/assign")
def assign(
    request: Request,
    session_id: str,
    who: Posted,
    db: DB,
    assessor: Annotated[str, Form()],
) -> Response:
    _role(who, TRAINERS)
    row = session_or_404(request, db, who, session_id)
    try:
        assign_sessions(db, [row.id], assessor, by=who.name)
    except CalmlineError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    db.commit()
    return _back(row.id, "#assign")
