"""Machine against assessor, per marking point, over the reviewed sessions the viewer can see."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from calmline.evaluate.agreement import LEVELS, agreement, confusion
from calmline.web.access import visible_condition
from calmline.web.db import MachineVerdict, Review, SessionRow
from calmline.web.routes.deps import DB, AgreementViewer, render, state

router = APIRouter()


@router.get("/agreement")
def agreement_page(
    request: Request,
    who: AgreementViewer,
    db: DB,
) -> Response:
    see_all = state(request).settings.assessors_see_all
    rows = db.execute(
        select(Review, MachineVerdict.text)
        .join(SessionRow, SessionRow.id == Review.session_id)
        .outerjoin(
            MachineVerdict,
            (MachineVerdict.session_id == Review.session_id)
            & (MachineVerdict.rubric_id == Review.rubric_id)
            & (MachineVerdict.point_id == Review.point_id),
        )
        .where(visible_condition(who.user, see_all))
        .order_by(Review.rubric_id, Review.point_id)
    ).all()
    by_point: dict[tuple[str, str], list[tuple[str, str]]] = {}
    texts: dict[tuple[str, str], str] = {}
    for review, text in rows:
        key = (review.rubric_id, review.point_id)
        # (reference, machine), as every agreement statistic takes them
        by_point.setdefault(key, []).append((review.verdict, review.machine_verdict))
        texts[key] = text or ""
    all_pairs = [p for pairs in by_point.values() for p in pairs]
    points = [(key, texts[key], agreement(pairs)) for key, pairs in by_point.items()]
    sessions = len({review.session_id for review, _ in rows})
    return render(
        request,
        "agreement.html",
        who,
        points=points,
        overall=agreement(all_pairs),
        matrix=confusion(all_pairs),
        categories=LEVELS,
        sessions=sessions,
    )
