"""The index database: SQLAlchemy models, the engine and sessions.

Session rows and machine verdicts mirror ``recordings/`` and can be rebuilt from it at
any time (:mod:`calmline.web.indexer`). Everything else here exists only in the
database: accounts, login sessions, assignments, assessor reviews, the audit trail and
final marks; a rebuild never touches those. Datetimes are stored as naive UTC so that
SQLite and PostgreSQL behave the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from calmline.errors import CalmlineError

ROLES = ("learner", "trainer", "assessor", "admin")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


class Base(DeclarativeBase):
    pass


# --------------------------------------------------------------------------- accounts


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    group: Mapped[str] = mapped_column(String(64), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TrainerGroup(Base):
    """A group of learners a trainer looks after."""

    __tablename__ = "trainer_groups"
    __table_args__ = (UniqueConstraint("user_id", "group"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    group: Mapped[str] = mapped_column(String(64))


class LoginSession(Base):
    """A logged-in browser: the cookie holds the token, the table only its SHA-256."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class UploadToken(Base):
    """A learner's token for sending sessions from their laptop (``calmline upload``).

    Like a login cookie, the token itself is shown once when issued; the table keeps
    only its SHA-256. A revoked token stays listed (who had it, when it was last used).
    """

    __tablename__ = "upload_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    issued_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class LoginAttempts(Base):
    """Login attempts per key (user name and address, or address) in the current window;
    updated by one atomic statement each (:mod:`calmline.web.login_limit`)."""

    __tablename__ = "login_attempts"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(DateTime)


# --------------------------------------------------------------------------- mirror of recordings/


class SessionRow(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    folder: Mapped[str] = mapped_column(String(1000))
    learner: Mapped[str] = mapped_column(String(64), default="", index=True)
    scenario: Mapped[str] = mapped_column(String(200), default="", index=True)
    scenario_title: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    outcome: Mapped[str] = mapped_column(String(32), default="")
    turns: Mapped[int] = mapped_column(Integer, default=0)
    start_anger: Mapped[float | None] = mapped_column(Float, nullable=True)
    final_anger: Mapped[float | None] = mapped_column(Float, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)  # 0..1, mean over rubrics
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    rubrics: Mapped[str] = mapped_column(String(300), default="")
    has_report: Mapped[bool] = mapped_column(Boolean, default=False)
    stamp: Mapped[str] = mapped_column(String(100), default="")  # file mtimes: skip unchanged


class MachineVerdict(Base):
    """The evaluator's verdict on one marking point, copied from assessment.json."""

    __tablename__ = "machine_verdicts"
    __table_args__ = (UniqueConstraint("session_id", "rubric_id", "point_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    rubric_id: Mapped[str] = mapped_column(String(100))
    point_id: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    verdict: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)


# --------------------------------------------------------------------------- assessor work


class Assignment(Base):
    """A session given to an assessor to review."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("session_id", "assessor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(200), index=True)
    assessor: Mapped[str] = mapped_column(String(64), index=True)
    assigned_by: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Review(Base):
    """An assessor's current verdict on one marking point (agreeing or overriding)."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("session_id", "rubric_id", "point_id", "reviewer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(200), index=True)
    rubric_id: Mapped[str] = mapped_column(String(100))
    point_id: Mapped[str] = mapped_column(String(100))
    reviewer: Mapped[str] = mapped_column(String(64))
    machine_verdict: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FinalMark(Base):
    __tablename__ = "final_marks"
    __table_args__ = (UniqueConstraint("session_id", "reviewer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(200), index=True)
    reviewer: Mapped[str] = mapped_column(String(64))
    mark: Mapped[str] = mapped_column(String(16))  # "pass" | "fail"
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditEntry(Base):
    """Every change an assessor makes; rows are only ever added."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(200), index=True)
    who: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    point: Mapped[str] = mapped_column(String(200))  # "<rubric>/<point>" or "final mark"
    old: Mapped[str] = mapped_column(String(32), default="")
    new: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")


# --------------------------------------------------------------------------- engine


def make_engine(url: str, create_folder: bool = True) -> Engine:
    """An engine for ``url`` with the tables created, and FK checks for SQLite.

    A SQLite file's folder is created when ``create_folder`` (the default index beside
    the recordings); otherwise a missing folder is an error naming it.
    """
    parsed = make_url(url)
    kwargs: dict[str, object] = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            if create_folder:
                folder.mkdir(parents=True, exist_ok=True)
            elif not folder.is_dir():
                raise CalmlineError(
                    f"the folder for the index database does not exist: {folder}",
                    "check --db / CALMLINE_DB_URL, or create the folder first",
                )
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    with Session(engine) as db, db.begin():
        lock_index(db)  # two workers starting on an empty database create each table once
        Base.metadata.create_all(db.connection())
    return engine


# The key of the advisory lock every calmline process on one PostgreSQL database shares
# (any number would do; this one spells "calm").
INDEX_LOCK_KEY = 0x63616C6D


def lock_index(db: Session) -> None:
    """Hold the index's write lock until ``db``'s transaction ends (PostgreSQL).

    Several ``calmline serve`` workers share one index and one recordings folder, and
    each adds session rows: its start-up and periodic re-read of the folder, uploads,
    browser calls. Unserialised, two of them both find no row for a new folder and both
    insert one (the second fails: an upload answered 500, a worker that does not start),
    and a re-read that lists the folder while an upload swaps a session in drops its row.
    SQLite serves one worker, and locks the whole file for a writer anyway.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(select(func.pg_advisory_xact_lock(INDEX_LOCK_KEY)))


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]  # DB-API connection
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as db, db.begin():
        yield db
