"""Upload tokens: issued to a learner by a trainer or admin, revoked the same way.

A token is 32 random bytes shown once (``calmline users token``, or the tokens page);
the database keeps its SHA-256 only, so a copied index file uploads nothing. A trainer
issues and revokes tokens for the learners of their groups, an admin for anyone.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from calmline.errors import CalmlineError
from calmline.web.auth import token_hash, trainer_groups
from calmline.web.db import UploadToken, User, utcnow

TOKEN_PREFIX = "clu_"  # recognisable in a shell history or a leaked log


def may_manage(db: Session, who: User, learner: User) -> bool:
    """Admins manage anyone's tokens; trainers those of their groups' learners."""
    if who.role == "admin":
        return True
    return (
        who.role == "trainer" and bool(learner.group) and learner.group in trainer_groups(db, who)
    )


def issue_token(db: Session, learner: User, issued_by: str, label: str = "") -> str:
    """A new token for ``learner``; returns the token itself (stored only as a hash)."""
    if learner.role != "learner":
        raise CalmlineError(
            f"{learner.name} is a {learner.role}; upload tokens are for learners",
            "learners send their own sessions; add one with `calmline users add NAME`",
        )
    if not learner.active:
        raise CalmlineError(f"{learner.name}'s account is disabled", "enable it first")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.add(
        UploadToken(
            token_hash=token_hash(token),
            user_id=learner.id,
            label=label.strip()[:100],
            issued_by=issued_by,
        )
    )
    db.flush()
    return token


def revoke_token(db: Session, token_id: int) -> UploadToken:
    row = db.get(UploadToken, token_id)
    if row is None:
        raise CalmlineError(f"no upload token #{token_id}", "see `calmline users tokens`")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def list_tokens(db: Session, learner: User | None = None) -> list[tuple[UploadToken, User]]:
    """Tokens with their learner, newest first (one learner's, or everyone's)."""
    stmt = select(UploadToken, User).join(User, User.id == UploadToken.user_id)
    if learner is not None:
        stmt = stmt.where(UploadToken.user_id == learner.id)
    return [(t, u) for t, u in db.execute(stmt.order_by(UploadToken.id.desc())).all()]


def token_owner(db: Session, token: str | None) -> User | None:
    """The active learner a live token belongs to (and notes its use), else ``None``."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = db.scalar(select(UploadToken).where(UploadToken.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    user = db.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = utcnow()
    return user
