"""The web dashboard commands: ``calmline serve``, ``calmline index`` and ``calmline users``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from calmline.cli import app, err_console
from calmline.errors import CalmlineError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from calmline.web.settings import WebSettings

users_app = typer.Typer(
    help="Manage dashboard accounts: add, list, passwd, groups, assign; upload tokens.",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")

DB_HELP = "Index database URL (default: sqlite file recordings/index.sqlite3; or CALMLINE_DB_URL)."
REC_HELP = "Folder of session folders (default: recordings/ or CALMLINE_RECORDINGS)."
DbOption = Annotated[str | None, typer.Option("--db", help=DB_HELP)]
RecordingsOption = Annotated[Path | None, typer.Option("--recordings", help=REC_HELP)]
StdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin, not a prompt."
    ),
]


def _settings(db: str | None, recordings: Path | None, **extra: Any) -> WebSettings:
    from calmline.web.settings import WebSettings

    kwargs: dict[str, Any] = dict(extra)
    if recordings is not None:
        kwargs["recordings"] = recordings
    if db:
        kwargs["db_url"] = db
    return WebSettings(**kwargs)


def _factory(db: str | None, recordings: Path | None) -> tuple[WebSettings, sessionmaker[Session]]:
    from sqlalchemy.exc import SQLAlchemyError

    from calmline.web.db import make_engine, session_factory

    settings = _settings(db, recordings)
    try:
        engine = make_engine(settings.db_url, create_folder=settings.db_is_default)
        return settings, session_factory(engine)
    except (SQLAlchemyError, ImportError) as exc:
        raise CalmlineError(
            f"cannot open the index database {settings.db_url}: {str(exc).splitlines()[0]}",
            "check --db (PostgreSQL needs `pip install psycopg`)",
        ) from exc


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise CalmlineError("no password on stdin", "pipe it in: printf '%s\\n' PW | ...")
        return line
    if not sys.stdin.isatty():  # the prompt would read the pipe and fail as "Aborted."
        raise CalmlineError(
            "no terminal to type the password in (stdin is a pipe or a file)",
            "to give the password on stdin, add --password-stdin: "
            "printf '%s\\n' PW | calmline users ... --password-stdin",
        )
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    db: DbOption = None,
    recordings: RecordingsOption = None,
    secure_cookies: Annotated[
        bool | None,
        typer.Option(
            "--secure-cookies/--insecure-cookies",
            help="Cookie Secure flag (default: on, except plain http on a loopback address).",
        ),
    ] = None,
    assessors_see_all: Annotated[
        bool,
        typer.Option(
            "--assessors-see-all", help="Assessors see every session, not only assigned ones."
        ),
    ] = False,
    practice_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--practice-origin",
            help="Another origin allowed to open practice calls, e.g. an HTTPS proxy's "
            "https://train.example (repeat for several).",
        ),
    ] = None,
    practice_minutes: Annotated[
        float,
        typer.Option(
            "--practice-minutes", min=1, help="A browser practice call stops after this long."
        ),
    ] = 15,
) -> None:
    """Run the dashboard, and practice calls in the browser, for learners and trainers."""
    import uvicorn

    from calmline.web.app import create_app

    settings = _settings(
        db,
        recordings,
        secure_cookies=secure_cookies,
        assessors_see_all=assessors_see_all,
        practice_origins=tuple(practice_origin or ()),
        practice_call_s=practice_minutes * 60,
    )
    _recordings_exist(settings, recordings)
    err_console.print(f"calmline: indexing {settings.recordings} ...", markup=False)
    from sqlalchemy.exc import SQLAlchemyError

    try:
        web = create_app(settings)
    except (SQLAlchemyError, ImportError) as exc:
        raise CalmlineError(
            f"cannot open the index database {settings.db_url}: {str(exc).splitlines()[0]}",
            "check --db (PostgreSQL needs `pip install psycopg`)",
        ) from exc
    report = web.state.index_report
    err_console.print(
        f"calmline: index {report.summary()}; serving on http://{host}:{port}/ (Ctrl-C stops)",
        markup=False,
    )
    for problem in report.errors[:10]:
        err_console.print(f"  skipped: {problem}", markup=False, soft_wrap=True)
    for problem in report.duplicates[:10]:
        err_console.print(f"  not indexed: {problem}", markup=False, soft_wrap=True)
    uvicorn.run(web, host=host, port=port, log_level="warning")


@app.command("index")
def index_command(
    db: DbOption = None,
    recordings: RecordingsOption = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Re-read every folder, changed or not.")
    ] = False,
) -> None:
    """Bring the dashboard index in step with recordings/ (reviews and accounts are kept)."""
    from calmline.web.db import transaction
    from calmline.web.indexer import sync

    _recordings_exist(_settings(db, recordings), recordings)
    settings, factory = _factory(db, recordings)
    with transaction(factory) as session:
        report = sync(session, settings.recordings, rebuild=rebuild)
    print(f"{settings.recordings}: {report.summary()}")
    for problem in report.errors:
        err_console.print(f"  skipped: {problem}", markup=False, soft_wrap=True)
    for problem in report.duplicates:
        err_console.print(f"  not indexed: {problem}", markup=False, soft_wrap=True)
    if report.kept_elsewhere:
        raise CalmlineError(
            f"the index lists sessions under {', '.join(report.kept_elsewhere)}, not under "
            f"{settings.recordings}; they were kept",
            "is --recordings the folder you meant? Each recordings folder can have its own "
            "index (--db)",
        )
    if report.duplicates:
        raise CalmlineError(
            f"{len(report.duplicates)} session id(s) are in more than one folder "
            "(the folders are listed above)",
            "a copied folder keeps its id: delete the copy, or move it out of the recordings "
            "folder, then run `calmline index` again",
        )


def _recordings_exist(settings: WebSettings, given: Path | None) -> None:
    """Before the index is opened (its default file lives in this folder): a folder named
    by --recordings or CALMLINE_RECORDINGS must exist, as a mistyped one must not look
    like an empty one; the default ``recordings/`` is created on first use."""
    from calmline.config import environment

    if settings.recordings.is_dir():
        return
    if given is None and environment().recordings is None:
        settings.recordings.mkdir(parents=True, exist_ok=True)
        return
    raise CalmlineError(
        f"the recordings folder {settings.recordings} does not exist",
        "check --recordings (or CALMLINE_RECORDINGS); nothing was changed",
    )


@users_app.command("add")
def users_add(
    name: Annotated[
        str, typer.Argument(help="User name (a learner's must match SessionRecord.learner).")
    ],
    role: Annotated[
        str, typer.Option("--role", help="learner, trainer, assessor or admin.")
    ] = "learner",
    group: Annotated[
        str, typer.Option("--group", help="The learner's group (trainers see groups).")
    ] = "",
    password_stdin: StdinOption = False,
    db: DbOption = None,
) -> None:
    """Add an account; the password is prompted for (never echoed) or read from stdin."""
    from calmline.web import auth
    from calmline.web.db import transaction

    auth.check_role(role)
    _, factory = _factory(db, None)
    password = _read_password(password_stdin)
    with transaction(factory) as session:
        auth.add_user(session, name, password, role, group)
    print(f"added {role} {name}" + (f" (group {group})" if group else ""))


@users_app.command("list")
def users_list(db: DbOption = None) -> None:
    """List accounts: name, role, group, groups trained, active."""
    from sqlalchemy import select

    from calmline.web import auth
    from calmline.web.db import User

    _, factory = _factory(db, None)
    with factory() as session:
        users = session.scalars(select(User).order_by(User.name)).all()
        if not users:
            print("no users yet: add the first admin with `calmline users add NAME --role admin`")
        for u in users:
            trains = ",".join(auth.trainer_groups(session, u))
            print(
                f"{u.name}\t{u.role}\tgroup={u.group or '-'}\ttrains={trains or '-'}\t"
                f"{'active' if u.active else 'disabled'}"
            )


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="User name.")],
    password_stdin: StdinOption = False,
    db: DbOption = None,
) -> None:
    """Set a new password (and log that user out everywhere)."""
    from calmline.web import auth
    from calmline.web.db import transaction

    _, factory = _factory(db, None)
    with factory() as session:
        auth.get_user(session, name)  # fail before prompting for a password
    password = _read_password(password_stdin)
    with transaction(factory) as session:
        auth.set_password(session, name, password)
    print(f"password changed for {name}")


@users_app.command("groups")
def users_groups(
    name: Annotated[str, typer.Argument(help="A trainer's user name.")],
    groups: Annotated[
        list[str] | None, typer.Argument(help="The groups they train (none clears them).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Set the learner groups a trainer sees."""
    from calmline.web import auth
    from calmline.web.db import transaction

    _, factory = _factory(db, None)
    with transaction(factory) as session:
        user = auth.get_user(session, name)
        if user.role != "trainer":
            raise CalmlineError(
                f"{name} is a {user.role}, not a trainer", "only trainers train groups"
            )
        auth.set_trainer_groups(session, user, groups or [])
    print(f"{name} trains: {', '.join(sorted(set(groups or []))) or 'no groups'}")


@users_app.command("assign")
def users_assign(
    assessor: Annotated[str, typer.Argument(help="An assessor's user name.")],
    sessions: Annotated[list[str], typer.Argument(help="Session ids to assign.")],
    db: DbOption = None,
) -> None:
    """Give sessions to an assessor to review."""
    from calmline.web.db import transaction
    from calmline.web.review import assign_sessions

    _, factory = _factory(db, None)
    with transaction(factory) as session:
        assign_sessions(session, sessions, assessor, by="cli")
    print(f"assigned {len(sessions)} session(s) to {assessor}")


@users_app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="The learner the token is for.")],
    label: Annotated[
        str, typer.Option("--label", help="A note to tell tokens apart (e.g. the laptop).")
    ] = "",
    db: DbOption = None,
) -> None:
    """Issue an upload token for a learner's `calmline upload` (shown once, stored hashed)."""
    from calmline.web import auth
    from calmline.web.db import transaction
    from calmline.web.upload_tokens import issue_token

    _, factory = _factory(db, None)
    with transaction(factory) as session:
        token = issue_token(session, auth.get_user(session, name), issued_by="cli", label=label)
    err_console.print(
        f"upload token for {name} (shown only now; give it to {name}, who runs "
        "`calmline upload URL` with CALMLINE_UPLOAD_TOKEN set to it):",
        markup=False,
    )
    print(token)


@users_app.command("tokens")
def users_tokens(
    name: Annotated[str | None, typer.Argument(help="Only this learner's tokens.")] = None,
    db: DbOption = None,
) -> None:
    """List upload tokens: number, learner, label, issued, last used, revoked."""
    from calmline.web import auth
    from calmline.web.upload_tokens import list_tokens

    _, factory = _factory(db, None)
    with factory() as session:
        learner = auth.get_user(session, name) if name else None
        rows = list_tokens(session, learner)
        if not rows:
            print("no upload tokens yet: issue one with `calmline users token LEARNER`")
        for t, u in rows:
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "live"
            print(
                f"#{t.id}\t{u.name}\t{t.label or '-'}\tissued {t.created_at:%Y-%m-%d %H:%M} "
                f"by {t.issued_by or '-'}\tlast used {used}\t{state}"
            )


@users_app.command("revoke-token")
def users_revoke_token(
    token_id: Annotated[int, typer.Argument(help="The token's number (see `users tokens`).")],
    db: DbOption = None,
) -> None:
    """Revoke an upload token: uploads with it are refused from now on."""
    from calmline.web.db import transaction
    from calmline.web.upload_tokens import revoke_token

    _, factory = _factory(db, None)
    with transaction(factory) as session:
        row = revoke_token(session, token_id)
    print(f"revoked upload token #{row.id}")
