"""The dashboard as users run it: ``calmline serve`` (uvicorn) on a free loopback port,
spoken to over real HTTP. The server is always stopped, whatever the test does."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import httpx
import pytest

from calmline.web.db import make_engine, session_factory, transaction
from calmline.web.sample import SAMPLE_PASSWORD, add_sample_users, sample_recordings

pytestmark = pytest.mark.server
CALMLINE = [sys.executable, "-c", "from calmline.cli import main; main()"]


@dataclass
class Server:
    url: str
    port: int
    recordings: Path
    db_url: str
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(root: Path) -> tuple[Path, str]:
    """Sample recordings and accounts under ``root``; returns (recordings, db url)."""
    rec = root / "rec"
    sample_recordings(rec)
    db_url = f"sqlite:///{root / 'index.sqlite3'}"
    engine = make_engine(db_url)
    with transaction(session_factory(engine)) as db:
        add_sample_users(db)
    engine.dispose()
    return rec, db_url


@contextmanager
def running_server(root: Path, *extra: str) -> Iterator[Server]:
    """``calmline serve`` in a subprocess until the block ends; its output goes to a log file."""
    rec, db_url = seed(root)
    port = free_port()
    log = root / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *CALMLINE,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--recordings",
                str(rec),
                "--db",
                db_url,
                *extra,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"calmline serve exited early:\n{log.read_text()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"calmline serve did not listen in 30 s:\n{log.read_text()}")
                    time.sleep(0.1)
            yield Server(f"http://127.0.0.1:{port}", port, rec, db_url, log)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("served")) as running:
        yield running


def login(server: Server, name: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, cookies=CookieJar())
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/login",
        data={
            "username": name,
            "password": SAMPLE_PASSWORD,
            "csrf_token": token.group(1),
            "next": "/sessions",
        },
    )
    assert r.status_code == 303, r.text
    return client


def ids_of(server: Server, learner: str) -> list[str]:
    import json

    return sorted(
        p.parent.name
        for p in server.recordings.glob("*/session.json")
        if json.loads(p.read_text())["learner"] == learner
    )


def raw_get(server: Server, path: str, cookie: str) -> tuple[int, bytes]:
    """A request with the path sent exactly as given (no client-side ``..`` clean-up)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.putheader("Cookie", cookie)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_learner_cannot_open_another_learners_session_or_audio(server: Server) -> None:
    with closing(login(server, "alice")) as alice:
        own, other = ids_of(server, "alice")[0], ids_of(server, "bob")[0]
        r = alice.get(f"/sessions/{own}/audio/turn-001-learner.wav")
        assert r.status_code == 200 and r.content[:4] == b"RIFF"
        assert alice.get(f"/sessions/{other}").status_code in (403, 404)
        assert alice.get(f"/sessions/{other}/audio/turn-001-learner.wav").status_code in (403, 404)
        assert alice.get(f"/sessions/{other}/report/report.html").status_code in (403, 404)
        assert other not in alice.get("/sessions").text


def test_raw_path_traversal_refused(server: Server) -> None:
    (server.recordings.parent / "secret.txt").write_text("top secret")
    with closing(login(server, "admin")) as admin:
        cookie = "; ".join(f"{c.name}={c.value}" for c in admin.cookies.jar)
        sid = ids_of(server, "alice")[0]
        for path in [
            f"/sessions/{sid}/audio/../../../secret.txt",
            f"/sessions/{sid}/report/../../secret.txt",
            f"/sessions/{sid}/audio/..%2f..%2fsecret.txt",
            f"/sessions/{sid}/report/%2e%2e%2f%2e%2e%2fsecret.txt",
            f"/sessions/{sid}/audio/%2e%2e/%2e%2e/secret.txt",
        ]:
            status, body = raw_get(server, path, cookie)
            assert b"top secret" not in body, path
            assert status in (400, 403, 404), (path, status)


def test_assessor_cannot_change_users_and_csrf_is_checked(server: Server) -> None:
    with closing(login(server, "ann")) as ann:
        token = re.search(r'name="csrf_token" value="([^"]+)"', ann.get("/sessions").text)
        assert token
        r = ann.post(
            "/admin/users",
            data={
                "csrf_token": token.group(1),
                "name": "mallory",
                "password": "password123",
                "role": "admin",
            },
        )
        assert r.status_code == 403
    with closing(login(server, "admin")) as admin:
        r = admin.post(
            "/admin/users", data={"name": "mallory", "password": "password123", "role": "admin"}
        )
        assert r.status_code == 403  # no CSRF token
        assert "mallory" not in admin.get("/admin/users").text


def test_users_cli_reads_password_from_stdin_without_echo(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'index.sqlite3'}"
    run = subprocess.run(
        [
            *CALMLINE,
            "users",
            "add",
            "carol",
            "--role",
            "trainer",
            "--password-stdin",
            "--db",
            db_url,
        ],
        input="a-long-secret-pw\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "a-long-secret-pw" not in run.stdout + run.stderr
    again = subprocess.run(
        [*CALMLINE, "users", "add", "carol", "--password-stdin", "--db", db_url],
        input="another-pw-123\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr
    listed = subprocess.run(
        [*CALMLINE, "users", "list", "--db", db_url], capture_output=True, text=True, timeout=60
    )
    assert "carol\ttrainer" in listed.stdout
