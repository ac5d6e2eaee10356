"""Assessor reviews: sessions assigned to an assessor, agreeing with or overriding a marking
point, a final mark; every review is appended to the audit trail. The machine's
``assessment.json`` is only ever read."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from calmline.errors import CalmlineError
from calmline.models import Assessment
from calmline.web.db import Assignment, AuditEntry, FinalMark, Review, User, utcnow

VERDICTS = ("met", "partly", "not_met")
MARKS = ("pass", "fail")
MAX_COMMENT = 4000


def is_assessor(db: Session, name: str) -> bool:
    return db.scalar(select(User).where(User.name == name, User.role == "assessor")) is not None


def assign_session(db: Session, session_id: str, assessor: str, by: str) -> bool:
    """Give a session to an assessor to review (the dashboard and ``calmline users assign``);
    False if it was theirs already. The caller commits."""
    exists = db.scalar(
        select(Assignment).where(
            Assignment.session_id == session_id, Assignment.assessor == assessor
        )
    )
    if exists is not None:
        return False
    db.add(Assignment(session_id=session_id, assessor=assessor, assigned_by=by))
    return True


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
