"""The sessions list (filter, sort, paginate) and its CSV exports with the same filter."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import ColumnElement, func, select

from calmline.web.access import visible_condition
from calmline.web.csv_export import sessions_csv, verdicts_csv
from calmline.web.db import MachineVerdict, Review, SessionRow
from calmline.web.filters import PAGE_SIZE, SessionFilter
from calmline.web.routes.deps import DB, LoggedIn, Viewer, render, resync_if_due, state

router = APIRouter()


def _visible(request: Request, who: Viewer, f: SessionFilter) -> ColumnElement[bool]:
    see_all = state(request).settings.assessors_see_all
    return visible_condition(who.user, see_all) & f.condition()


@router.get("/")
def home() -> Response:
    return RedirectResponse("/sessions", status_code=303)


@router.get("/sessions")
def session_list(request: Request, who: LoggedIn, db: DB) -> Response:
    resync_if_due(request, db)
    f = SessionFilter.from_query(request.query_params)
    where = _visible(request, who, f)
    total = db.scalar(select(func.count()).select_from(SessionRow).where(where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    f.page = min(f.page, pages)
    rows = db.scalars(
        f.ordered(select(SessionRow).where(where)).offset((f.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    everything = visible_condition(who.user, state(request).settings.assessors_see_all)
    learners = db.scalars(
        select(SessionRow.learner).where(everything).distinct().order_by(SessionRow.learner)
    ).all()
    scenarios = db.scalars(
        select(SessionRow.scenario).where(everything).distinct().order_by(SessionRow.scenario)
    ).all()
    reviewed = set(
        db.scalars(
            select(Review.session_id).where(Review.session_id.in_([r.id for r in rows])).distinct()
        )
    )
    return render(
        request,
        "sessions.html",
        who,
        rows=rows,
        f=f,
        total=total,
        pages=pages,
        learners=learners,
        scenarios=scenarios,
        reviewed=reviewed,
    )


def _csv_response(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/export/sessions.csv")
def export_sessions(request: Request, who: LoggedIn, db: DB) -> Response:
    f = SessionFilter.from_query(request.query_params)
    rows = db.scalars(f.ordered(select(SessionRow).where(_visible(request, who, f)))).all()
    return _csv_response(sessions_csv(rows), "calmline-sessions.csv")


@router.get("/export/verdicts.csv")
def export_verdicts(request: Request, who: LoggedIn, db: DB) -> Response:
    f = SessionFilter.from_query(request.query_params)
    stmt = (
        f.ordered(
            select(SessionRow, MachineVerdict).join(
                MachineVerdict, MachineVerdict.session_id == SessionRow.id
            )
        )
        .where(_visible(request, who, f))
        .order_by(MachineVerdict.rubric_id, MachineVerdict.id)
    )
    items = [(s, v) for s, v in db.execute(stmt).all()]
    ids = sorted({s.id for s, _ in items})
    reviews = db.scalars(select(Review).where(Review.session_id.in_(ids))).all() if ids else []
    return _csv_response(verdicts_csv(items, reviews), "calmline-verdicts.csv")
