"""One session: transcript with audio, anger timeline, tone tags, rubric table, review forms;
and the authorised file routes for its audio and reports (no path leaves the folder)."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from calmline.call.session import load_session
from calmline.errors import CalmlineError
from calmline.limits import limits
from calmline.web.access import can_review, can_train, visible_session
from calmline.web.charts import anger_chart
from calmline.web.db import Assignment, AuditEntry, FinalMark, Review, SessionRow, User
from calmline.web.indexer import load_assessments
from calmline.web.routes.deps import DB, LoggedIn, Viewer, render, state
from calmline.web.session_view import TurnPage, point_rows, turn_views

router = APIRouter()
REPORTS = {"report.html": "text/html; charset=utf-8", "report.md": "text/markdown; charset=utf-8"}
NOT_FOUND = "No such session, or it is not one you can see."
UNREADABLE = (
    "This session's files could not be read. An administrator can see why in the "
    "server log, or by running `calmline index`."
)
log = logging.getLogger("calmline.web")


def _page_number(request: Request) -> int:
    text = request.query_params.get("page", "1")
    return int(text) if text.isdigit() and len(text) < 10 else 1


def session_or_404(request: Request, db: Session, who: Viewer, session_id: str) -> SessionRow:
    row = visible_session(db, who.user, session_id, state(request).settings.assessors_see_all)
    if row is None:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    return row


def file_in_session(row: SessionRow, name: str) -> Path:
    """The file ``name`` inside the session's folder, refusing anything that resolves outside
    it (``..``, absolute paths, symlinks pointing elsewhere)."""
    folder = Path(row.folder).resolve()
    target = (folder / name).resolve()
    if not target.is_relative_to(folder) or target.parent != folder or not target.is_file():
        raise HTTPException(status_code=404, detail="No such file in this session.")
    return target


@router.get("/sessions/{session_id}")
def session_page(
    request: Request,
    session_id: str,
    who: LoggedIn,
    db: DB,
) -> Response:
    row = session_or_404(request, db, who, session_id)
    folder = Path(row.folder)
    try:
        record = load_session(folder)
        assessments = load_assessments(folder)
    except CalmlineError as exc:
        # The reason names files on the server: it goes to the log, not to the browser.
        log.warning("session %s could not be read: %s", row.id, exc.message)
        raise HTTPException(status_code=500, detail=UNREADABLE) from exc
    page = TurnPage.of(record, _page_number(request), limits().page_turns)
    reviews = db.scalars(select(Review).where(Review.session_id == row.id)).all()
    audit = db.scalars(
        select(AuditEntry).where(AuditEntry.session_id == row.id).order_by(AuditEntry.id.desc())
    ).all()
    finals = db.scalars(select(FinalMark).where(FinalMark.session_id == row.id)).all()
    assessors: list[str] = []
    if can_train(who.user):
        assessors = list(db.scalars(select(User.name).where(User.role == "assessor")))
    assigned = list(db.scalars(select(Assignment.assessor).where(Assignment.session_id == row.id)))
    return render(
        request,
        "session.html",
        who,
        row=row,
        record=record,
        assessments=assessments,
        turns=turn_views(record, assessments, page),
        turn_page=page,
        chart=anger_chart(record, page.href),
        points=point_rows(record, assessments, reviews, who.name),
        audit=audit,
        finals=finals,
        my_final=next((f for f in finals if f.reviewer == who.name), None),
        can_review=can_review(who.user),
        assessors=assessors,
        assigned=assigned,
        reports=[n for n in REPORTS if (folder / n).is_file()],
    )


@router.get("/sessions/{session_id}/audio/{name}")
def session_audio(
    request: Request,
    session_id: str,
    name: str,
    who: LoggedIn,
    db: DB,
) -> Response:
    row = session_or_404(request, db, who, session_id)
    if not name.lower().endswith(".wav"):
        raise HTTPException(status_code=404, detail="No such file in this session.")
    return FileResponse(file_in_session(row, name), media_type="audio/wav")


@router.get("/sessions/{session_id}/report/{name}")
def session_report(
    request: Request,
    session_id: str,
    name: str,
    who: LoggedIn,
    db: DB,
) -> Response:
    row = session_or_404(request, db, who, session_id)
    if name not in REPORTS:
        raise HTTPException(status_code=404, detail="No such report.")
    path = file_in_session(row, name)
    # Always a download: the report is a standalone page and must not run in our origin.
    return FileResponse(
        path,
        media_type=REPORTS[name],
        filename=f"{row.id}-{name}",
        content_disposition_type="attachment",
    )
