"""The dashboard as users run it: ``calmline serve`` (uvicorn) on a free loopback port,
spoken to over real HTTP. The server is always stopped, whatever the test does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from support.cli import calmline
from support.web import Server, ids_of, login_http, raw_get, running_server

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("served")) as running:
        yield running


def test_learner_cannot_open_another_learners_session_or_audio(server: Server) -> None:
    with closing(login_http(server, "alice")) as alice:
        own, other = ids_of(server, "alice")[0], ids_of(server, "bob")[0]
        r = alice.get(f"/sessions/{own}/audio/turn-001-learner.wav")
        assert r.status_code == 200 and r.content[:4] == b"RIFF"
        assert alice.get(f"/sessions/{other}").status_code in (403, 404)
        assert alice.get(f"/sessions/{other}/audio/turn-001-learner.wav").status_code in (403, 404)
        assert alice.get(f"/sessions/{other}/report/report.html").status_code in (403, 404)
        assert other not in alice.get("/sessions").text


def test_raw_path_traversal_refused(server: Server) -> None:
    (server.recordings.parent / "secret.txt").write_text("top secret")
    with closing(login_http(server, "admin")) as admin:
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
    with closing(login_http(server, "ann")) as ann:
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
    with closing(login_http(server, "admin")) as admin:
        r = admin.post(
            "/admin/users", data={"name": "mallory", "password": "password123", "role": "admin"}
        )
        assert r.status_code == 403  # no CSRF token
        assert "mallory" not in admin.get("/admin/users").text


def test_users_cli_reads_password_from_stdin_without_echo(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'index.sqlite3'}"
    add = ("users", "add", "carol", "--role", "trainer", "--password-stdin", "--db", db_url)
    run = calmline(*add, input="a-long-secret-pw\n", timeout=60)
    assert run.returncode == 0, run.stderr
    assert "a-long-secret-pw" not in run.stdout + run.stderr
    again = calmline(
        "users", "add", "carol", "--password-stdin", "--db", db_url, input="another-pw-123\n"
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr
    listed = calmline("users", "list", "--db", db_url, timeout=60)
    assert "carol\ttrainer" in listed.stdout
