"""The login rate limit: attempts counted in the database, one atomic statement each.

Every login attempt is counted *before* its password is checked, under two keys: the
user name with the client address, and the address alone (so trying many user names
from one address is limited too). Each count is an ``INSERT ... ON CONFLICT DO UPDATE
... RETURNING`` that the database serialises on the key's row, so twenty attempts sent
at the same moment get the counts 1 to 20, not twenty zeros: the earlier code read
the count, spent 50 ms on argon2, then wrote, and let 18 of 20 parallel guesses through.
A window starts at its first attempt and lasts ``window_s``; a successful login clears
its user and address count and gives back its attempt on the address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from calmline.web.db import LoginAttempts, utcnow

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


@dataclass(frozen=True)
class LoginLimits:
    """Attempts allowed within ``window_s``: per user name and address, and per address."""

    per_user_address: int = 5
    per_address: int = 20
    window_s: int = 300


def _keys(username: str, ip: str) -> tuple[str, str]:
    return f"user:{username[:64]}|ip:{ip[:64]}", f"ip:{ip[:64]}"


def _count(db: Session, key: str, window_s: int) -> int:
    """Add one attempt to ``key`` and return its count in the current window, atomically."""
    now = utcnow()
    stale = LoginAttempts.window_start < now - timedelta(seconds=window_s)
    dialect = db.get_bind().dialect.name
    insert = _INSERTS.get(dialect)
    if insert is None:  # pragma: no cover - calmline supports SQLite and PostgreSQL
        raise RuntimeError(f"the login limit needs SQLite or PostgreSQL, not {dialect}")
    # Any: SQLite's and PostgreSQL's Insert share on_conflict_do_update, but no base type.
    stmt: Any = insert(LoginAttempts).values(key=key, count=1, window_start=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[LoginAttempts.key],
        set_={
            "count": case((stale, 1), else_=LoginAttempts.count + 1),
            "window_start": case((stale, now), else_=LoginAttempts.window_start),
        },
    ).returning(LoginAttempts.count)
    return int(db.execute(stmt).scalar_one())


def attempt_allowed(db: Session, username: str, ip: str, limits: LoginLimits) -> bool:
    """Count this attempt; ``False`` when either count is over its limit (answer 429).

    The caller commits at once, so that parallel requests see each other's counts.
    """
    user_key, ip_key = _keys(username, ip)
    per_user = _count(db, user_key, limits.window_s)
    per_ip = _count(db, ip_key, limits.window_s)
    return per_user <= limits.per_user_address and per_ip <= limits.per_address


def login_succeeded(db: Session, username: str, ip: str) -> None:
    """Clear the user's count at this address; the address keeps its other attempts."""
    user_key, ip_key = _keys(username, ip)
    db.execute(delete(LoginAttempts).where(LoginAttempts.key == user_key))
    db.execute(
        update(LoginAttempts)
        .where(LoginAttempts.key == ip_key, LoginAttempts.count > 0)
        .values(count=LoginAttempts.count - 1)
    )
