"""Who may see and do what: the role rules, as SQL conditions and simple checks.

learner: their own sessions (``SessionRecord.learner`` is their user name).
trainer: sessions of learners in the groups they are assigned.
assessor: sessions assigned to them, or all when ``assessors_see_all`` is set.
admin: everything, and the only role that manages users.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from calmline.web.db import Assignment, SessionRow, TrainerGroup, User

REVIEWERS = frozenset({"assessor", "admin"})
TRAINERS = frozenset({"trainer", "admin"})
AGREEMENT_VIEWERS = frozenset({"trainer", "assessor", "admin"})


def visible_condition(user: User, assessors_see_all: bool) -> ColumnElement[bool]:
    """A WHERE condition on ``SessionRow`` selecting the sessions ``user`` may see."""
    if user.role == "admin":
        return true()
    if user.role == "learner":
        return SessionRow.learner == user.name
    if user.role == "trainer":
        groups = select(TrainerGroup.group).where(TrainerGroup.user_id == user.id)
        learners = select(User.name).where(User.group.in_(groups), User.role == "learner")
        return SessionRow.learner.in_(learners)
    if user.role == "assessor":
        if assessors_see_all:
            return true()
        assigned = select(Assignment.session_id).where(Assignment.assessor == user.name)
        return SessionRow.id.in_(assigned)
    return false()


def visible_session(
    db: Session, user: User, session_id: str, assessors_see_all: bool
) -> SessionRow | None:
    """The session row if it exists and ``user`` may see it; ``None`` either way otherwise,
    so that a guessed id does not reveal whether the session exists."""
    return db.scalar(
        select(SessionRow).where(
            SessionRow.id == session_id, visible_condition(user, assessors_see_all)
        )
    )


def can_review(user: User) -> bool:
    return user.role in REVIEWERS


def can_train(user: User) -> bool:
    return user.role in TRAINERS
