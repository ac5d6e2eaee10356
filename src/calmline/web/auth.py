"""Accounts and logins: argon2 password hashes, login sessions, CSRF tokens.

The cookie carries a random token; the database keeps only its SHA-256, so a leaked
index file does not log anyone in. Each login session has its own CSRF token, which
every form posts back. Disabling an account or changing its password ends its login
sessions. The login rate limit is :mod:`calmline.web.login_limit`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from calmline.errors import CalmlineError
from calmline.web.db import ROLES, LoginSession, TrainerGroup, User, utcnow

SESSION_COOKIE = "calmline_session"
PRELOGIN_COOKIE = "calmline_prelogin"  # CSRF token of the login form, before any session
MIN_PASSWORD = 8

_hasher = PasswordHasher()
# Verifying against a real hash when the user does not exist keeps the time the same,
# so response timing does not reveal which user names exist.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise CalmlineError(
            f"password too short: at least {MIN_PASSWORD} characters", "choose a longer one"
        )
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_match(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cookie_secure(setting: bool | None, scheme: str, host: str | None) -> bool:
    """The cookie ``Secure`` flag: as configured, else on except for http on loopback."""
    if setting is not None:
        return setting
    return not (scheme == "http" and is_loopback(host))


# --------------------------------------------------------------------------- users


def check_role(role: str) -> str:
    if role not in ROLES:
        raise CalmlineError(f"unknown role '{role}'", f"use one of: {', '.join(ROLES)}")
    return role


def add_user(db: Session, name: str, password: str, role: str, group: str = "") -> User:
    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise CalmlineError(f"bad user name '{name}'", "1-64 characters, no spaces")
    if db.scalar(select(User).where(User.name == name)) is not None:
        raise CalmlineError(f"user '{name}' already exists", "use `calmline users passwd`")
    user = User(
        name=name, password_hash=hash_password(password), role=check_role(role), group=group.strip()
    )
    db.add(user)
    db.flush()
    return user


def get_user(db: Session, name: str) -> User:
    user = db.scalar(select(User).where(User.name == name))
    if user is None:
        raise CalmlineError(f"no user '{name}'", "see `calmline users list`")
    return user


def set_password(db: Session, name: str, password: str) -> None:
    user = get_user(db, name)
    user.password_hash = hash_password(password)
    end_all_sessions(db, user)


def set_active(db: Session, user: User, active: bool) -> None:
    """Enable or disable an account; disabling logs it out everywhere, so re-enabling it
    later does not bring an old cookie back to life."""
    if user.active and not active:
        end_all_sessions(db, user)
    user.active = active


def end_all_sessions(db: Session, user: User) -> None:
    db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


def trainer_groups(db: Session, user: User) -> list[str]:
    return sorted(db.scalars(select(TrainerGroup.group).where(TrainerGroup.user_id == user.id)))


def set_trainer_groups(db: Session, user: User, groups: list[str]) -> None:
    db.execute(delete(TrainerGroup).where(TrainerGroup.user_id == user.id))
    for group in sorted({g.strip() for g in groups if g.strip()}):
        db.add(TrainerGroup(user_id=user.id, group=group))


# --------------------------------------------------------------------------- logins


def authenticate(db: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or ``None``.

    The attempt is counted before this, by ``login_limit.attempt_allowed``.
    """
    user = db.scalar(select(User).where(User.name == username))
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def start_session(db: Session, user: User, hours: int) -> str:
    """Create a login session; returns the cookie token."""
    token = new_token()
    now = utcnow()
    db.add(
        LoginSession(
            token_hash=token_hash(token),
            user_id=user.id,
            csrf_token=new_token(),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    db.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    return token


def resolve_session(db: Session, token: str | None) -> tuple[User, LoginSession] | None:
    if not token:
        return None
    login = db.get(LoginSession, token_hash(token))
    if login is None or login.expires_at < utcnow():
        return None
    user = db.get(User, login.user_id)
    if user is None or not user.active:
        return None
    return user, login


def end_session(db: Session, token: str | None) -> None:
    if token:
        db.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash(token)))
