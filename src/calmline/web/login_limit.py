"""The login rate limit: failures counted in the database, one atomic statement each.

Failures are counted under two keys: the user name with the client address, and the
address alone (so trying many user names from one address is limited too). A failure
is added with one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, which the
database serialises on the key's row, and the *answer* depends on the count it
returns: twenty wrong passwords sent at the same moment get the counts 1 to 20, so
exactly ``per_user_address`` of them are told "wrong password" (401) and the rest are
refused (429). The earlier code read the count, spent 50 ms on argon2, then wrote, and
answered 18-19 of 20 parallel guesses with a plain 401.

Three steps per attempt (``web/routes/auth_routes.py``):

1. :func:`blocked` - a cheap read before argon2 runs: a key already at its limit is
   refused at once.
2. the password is checked.
3. a wrong one goes to :func:`failed`, which counts it and says whether it is over the
   limit (the attempt is then answered 429 like any other over the limit, so a guess
   made in parallel learns nothing more); a right one goes to :func:`succeeded`, which
   refuses it too if failures reached the limit meanwhile, else clears the user's count.

Only failures count, so any number of people logging in correctly at the same moment
from one office address all get in (the load test logs 50 in at once). A window starts
at its first failure and lasts ``window_s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from calmline.web.db import LoginAttempts, utcnow

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


@dataclass(frozen=True)
class LoginLimits:
    """Failures allowed within ``window_s``: per user name and address, and per address."""

    per_user_address: int = 5
    per_address: int = 20
    window_s: int = 300


def _keys(username: str, ip: str) -> tuple[str, str]:
    return f"user:{username[:64]}|ip:{ip[:64]}", f"ip:{ip[:64]}"


def _add_failure(db: Session, key: str, window_s: int) -> int:
    """Add one failure to ``key`` and return its count in the current window, atomically."""
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


def _failures(db: Session, key: str, window_s: int) -> int:
    since = utcnow() - timedelta(seconds=window_s)
    count = db.scalar(
        select(LoginAttempts.count).where(
            LoginAttempts.key == key, LoginAttempts.window_start >= since
        )
    )
    return int(count or 0)


def _at_limit(db: Session, username: str, ip: str, limits: LoginLimits) -> bool:
    user_key, ip_key = _keys(username, ip)
    return (
        _failures(db, user_key, limits.window_s) >= limits.per_user_address
        or _failures(db, ip_key, limits.window_s) >= limits.per_address
    )


def blocked(db: Session, username: str, ip: str, limits: LoginLimits) -> bool:
    """Step 1: refuse before argon2 runs when a key has used up its failures."""
    return _at_limit(db, username, ip, limits)


def failed(db: Session, username: str, ip: str, limits: LoginLimits) -> bool:
    """Step 3, wrong password: count it; ``True`` when it went over a limit (answer 429).

    The caller commits at once, so that parallel attempts see each other's counts.
    """
    user_key, ip_key = _keys(username, ip)
    per_user = _add_failure(db, user_key, limits.window_s)
    per_ip = _add_failure(db, ip_key, limits.window_s)
    return per_user > limits.per_user_address or per_ip > limits.per_address


def succeeded(db: Session, username: str, ip: str, limits: LoginLimits) -> bool:
    """Step 3, right password: ``False`` (answer 429) if the limit was reached meanwhile
    by failures sent alongside it; else clear the user's failures at this address."""
    if _at_limit(db, username, ip, limits):
        return False
    user_key, _ = _keys(username, ip)
    db.execute(delete(LoginAttempts).where(LoginAttempts.key == user_key))
    return True
