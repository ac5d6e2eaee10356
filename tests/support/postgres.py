"""A throwaway PostgreSQL server for tests: ``initdb`` in a temporary folder, one database,
listening on a free loopback port only (no Unix socket); stopped and deleted afterwards.

It uses the Debian ``postgresql`` package's programs (``make test`` installs it) but not
its cluster: whether the package's own server runs or not makes no difference here.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support.net import free_port

PG_ROOT = Path("/usr/lib/postgresql")  # Debian: /usr/lib/postgresql/<major>/bin
SUPERUSER = "postgres"
MISSING = "run `make test`, which installs the Debian package postgresql and psycopg"
# A server for one test run: durability buys nothing and costs disk writes.
SETTINGS = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
"""


def pg_bin() -> Path:
    """The folder of ``initdb`` and ``pg_ctl`` (the newest installed major version).

    Fails the test (not skips) when PostgreSQL is not installed.
    """
    found = sorted(
        PG_ROOT.glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0
    )
    if found:
        return found[-1].parent
    exe = shutil.which("initdb")
    if exe is None:
        pytest.fail(f"PostgreSQL is not installed (no {PG_ROOT}/*/bin/initdb): {MISSING}")
    return Path(exe).parent


def _as_server_user() -> list[str]:
    """The prefix that runs a PostgreSQL program: initdb and postgres refuse to run as root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError:
        pytest.fail(f"running as root, but there is no {SUPERUSER!r} user to run PostgreSQL")
    return ["runuser", "-u", SUPERUSER, "--"]


def _run(cmd: list[str], cwd: Path, log: Path | None = None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log and log.is_file() else ""
        pytest.fail(f"{' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}{tail}")


@contextmanager
def running_postgres(database: str = "calmline") -> Iterator[str]:
    """A new PostgreSQL server with an empty ``database`` until the block ends; yields its
    SQLAlchemy URL (``postgresql+psycopg://…``). Always stopped, its folder always removed."""
    bindir = pg_bin()
    try:
        import psycopg
    except ImportError:
        pytest.fail(f"psycopg (PostgreSQL's Python driver) is not installed: {MISSING}")
    owner = _as_server_user()
    # Not pytest's tmp_path: that folder is private to the user running the tests, and
    # the server runs as ``postgres`` when the tests run as root.
    root = Path(tempfile.mkdtemp(prefix="calmline-pg-"))
    if owner:
        shutil.chown(root, user=SUPERUSER)
    data, log, port = root / "data", root / "server.log", free_port()
    try:
        _run(
            [*owner, str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER,
             "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
            root,
        )  # fmt: skip
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(SETTINGS.format(port=port))
        _run(
            [*owner, str(bindir / "pg_ctl"), "start", "-w", "-D", str(data), "-l", str(log)],
            root,
            log,
        )
        try:
            with psycopg.connect(
                host="127.0.0.1", port=port, user=SUPERUSER, dbname="postgres", autocommit=True
            ) as conn:
                conn.execute(f'CREATE DATABASE "{database}"')
            yield f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/{database}"
        finally:
            subprocess.run(
                [*owner, str(bindir / "pg_ctl"), "stop", "-m", "fast", "-D", str(data)],
                cwd=root, capture_output=True, timeout=60, check=False,
            )  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)
