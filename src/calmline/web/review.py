"""Assessor reviews: sessions assigned to an assessor, agreeing with or overriding a marking
point, a final mark; every review is appended to the audit trail. The machine's
``assessment.json`` is only ever read."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from calmline.errors import CalmlineError
from calmline.models import Assessment
from calmline.web.db import (
    Assignment,
    AuditEntry,
    FinalMark,
    Review,
    SessionRow,
    User,
    utcnow,
)

VERDICTS = ("met", "partly", "not_met")
MARKS = ("pass", "fail")
MAX_COMMENT = 4000


def assign_sessions(db: Session, session_ids: list[str], assessor: str, by: str) -> int:
    """Give sessions to an assessor to review (the dashboard and ``calmline users assign``):
    all of them or, if the assessor or any session is unknown, none (``CalmlineError``).
    Returns how many were new to the assessor; the caller commits."""
    if db.scalar(select(User).where(User.name == assessor, User.role == "assessor")) is None:
        raise CalmlineError(f"{assessor!r} is not an assessor", "see `calmline users list`")
    known = set(db.scalars(select(SessionRow.id).where(SessionRow.id.in_(session_ids))))
    unknown = [sid for sid in session_ids if sid not in known]
    if unknown:
        raise CalmlineError(
            f"no session {unknown[0]!r} in the index"
            + (f" (and {len(unknown) - 1} more unknown)" if len(unknown) > 1 else "")
            + "; nothing was assigned",
            "check the id on the dashboard, or run `calmline index` if it is new",
        )
    theirs = set(
        db.scalars(
            select(Assignment.session_id).where(
                Assignment.assessor == assessor, Assignment.session_id.in_(session_ids)
            )
        )
    )
    new = [sid for sid in dict.fromkeys(session_ids) if sid not in theirs]
    db.add_all(Assignment(session_id=sid, assessor=assessor, assigned_by=by) for sid in new)
    return len(new)


def machine_verdict(assessments: list[Assessment], rubric_id: str, point_id: str) -> str:
    for a in assessments:
        if a.rubric_id == rubric_id:
            for v in a.verdicts:
                if v.point_id == point_id:
                    return v.verdict
    raise CalmlineError(f"no marking point {rubric_id}/{point_id} in this session")


def record_review(
    db: Session,
    session_id: str,
    assessments: list[Assessment],
    reviewer: str,
    rubric_id: str,
    point_id: str,
    choice: str,
    comment: str,
) -> Review:
    """Agree (``choice == "agree"``) or override with a verdict; returns the current review.

    An override needs a comment: the assessor's reason is what makes the audit useful.
    """
    machine = machine_verdict(assessments, rubric_id, point_id)
    verdict = machine if choice == "agree" else choice
    if verdict not in VERDICTS:
        raise CalmlineError(f"unknown verdict '{choice}'", "agree, met, partly or not_met")
    comment = comment.strip()[:MAX_COMMENT]
    if verdict != machine and not comment:
        raise CalmlineError("an override needs a comment", "say why you disagree")
    review = db.scalar(
        select(Review).where(
            Review.session_id == session_id,
            Review.rubric_id == rubric_id,
            Review.point_id == point_id,
            Review.reviewer == reviewer,
        )
    )
    old = review.verdict if review else ""
    if review is None:
        review = Review(
            session_id=session_id,
            rubric_id=rubric_id,
            point_id=point_id,
            reviewer=reviewer,
            machine_verdict=machine,
            verdict=verdict,
        )
        db.add(review)
    review.machine_verdict = machine
    review.verdict = verdict
    review.comment = comment
    review.at = utcnow()
    db.add(
        AuditEntry(
            session_id=session_id,
            who=reviewer,
            point=f"{rubric_id}/{point_id}",
            old=old or f"machine: {machine}",
            new=verdict,
            comment=comment,
        )
    )
    return review


def record_final(db: Session, session_id: str, reviewer: str, mark: str, comment: str) -> None:
    if mark not in MARKS:
        raise CalmlineError(f"unknown final mark '{mark}'", "pass or fail")
    comment = comment.strip()[:MAX_COMMENT]
    final = db.scalar(
        select(FinalMark).where(FinalMark.session_id == session_id, FinalMark.reviewer == reviewer)
    )
    old = final.mark if final else ""
    if final is None:
        final = FinalMark(session_id=session_id, reviewer=reviewer, mark=mark)
        db.add(final)
    final.mark = mark
    final.comment = comment
    final.at = utcnow()
    db.add(
        AuditEntry(
            session_id=session_id,
            who=reviewer,
            point="final mark",
            old=old,
            new=mark,
            comment=comment,
        )
    )
