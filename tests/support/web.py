"""The dashboard for tests: sample recordings and accounts, logins through FastAPI's
TestClient, and a real ``calmline serve`` on a free loopback port."""

from __future__ import annotations

import http.client
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from calmline.web.app import create_app
from calmline.web.db import make_engine, session_factory, transaction
from calmline.web.sample import SAMPLE_PASSWORD, add_sample_users, sample_recordings, sample_session
from calmline.web.settings import WebSettings
from support.cli import CALMLINE
from support.net import free_port, listening, server_process

XSS = "<script>alert('x')</script> I hear you"


def session_ids(app: FastAPI) -> dict[str, list[str]]:
    rec: Path = app.state.calmline.settings.recordings
    out: dict[str, list[str]] = {}

    for folder in sorted(p for p in rec.iterdir() if (p / "session.json").exists()):
        learner = json.loads((folder / "session.json").read_text())["learner"]
        out.setdefault(learner, []).append(folder.name)
    return out


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


def login(app: FastAPI, name: str, password: str = SAMPLE_PASSWORD) -> TestClient:
    """A TestClient logged in to ``app`` as ``name``."""
    client = TestClient(app, base_url="http://127.0.0.1")
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token, "next": "/sessions"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


def build_template(root: Path) -> Path:
    """Recordings and an index with the sample accounts under ``root``: built once per
    module, as argon2 is slow on purpose."""
    rec = root / "rec"
    sample_recordings(rec)
    sample_session(rec, "20260401-090000-kettle-counter-beef", "alice", learner_lines=(XSS,))
    web = create_app(WebSettings(recordings=rec, db_url=f"sqlite:///{root / 'index.sqlite3'}"))
    with transaction(session_factory(web.state.engine)) as db:
        add_sample_users(db)
    web.state.engine.dispose()
    return root


def app_from_template(template: Path, where: Path) -> FastAPI:
    """A fresh copy of ``template`` in ``where`` (the indexer re-points the rows at the
    copied folders), with a file beside it that no route may serve."""
    shutil.copytree(template / "rec", where / "rec", symlinks=True)
    shutil.copy(template / "index.sqlite3", where / "index.sqlite3")
    (where / "secret.txt").write_text("top secret")
    settings = WebSettings(
        recordings=where / "rec",
        db_url=f"sqlite:///{where / 'index.sqlite3'}",
        secure_cookies=False,
    )
    return create_app(settings)


@dataclass
class Server:
    url: str
    port: int
    recordings: Path
    db_url: str
    log: Path


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
def running_server(root: Path, *extra: str, port: int | None = None) -> Iterator[Server]:
    """``calmline serve`` in a subprocess until the block ends; its output goes to a log file.

    ``port``: a port chosen beforehand (a client was pointed at it while nothing listened).
    """
    rec, db_url = seed(root)
    with serving(rec, db_url, root / "server.log", *extra, port=port) as server:
        yield server


@contextmanager
def serving(
    rec: Path, db_url: str, log: Path, *extra: str, port: int | None = None
) -> Iterator[Server]:
    """``calmline serve`` on ``rec`` and the index at ``db_url`` (as they are) until the
    block ends; its output goes to ``log``."""
    port = port or free_port()
    cmd = [
        CALMLINE, "serve", "--host", "127.0.0.1", "--port", str(port),
        "--recordings", str(rec), "--db", db_url, *extra,
    ]  # fmt: skip
    with server_process(cmd, log, lambda: listening(port), seconds=30):
        yield Server(f"http://127.0.0.1:{port}", port, rec, db_url, log)


def login_http(server: Server, name: str) -> httpx.Client:
    """An HTTP client logged in to ``server`` as ``name`` (sample password)."""
    client = httpx.Client(base_url=server.url, cookies=CookieJar())
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={
            "username": name,
            "password": SAMPLE_PASSWORD,
            "csrf_token": token,
            "next": "/sessions",
        },
    )
    assert r.status_code == 303, r.text
    return client


def ids_of(server: Server, learner: str) -> list[str]:
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
