"""Two ``calmline serve`` workers on one PostgreSQL index and one recordings folder, as a
training room runs them behind a load balancer.

The workers start at the same moment over sessions not yet indexed; then learners upload
sessions (each sent to both workers at once, as a retry through the balancer would) and
practise in the browser on both, while a trainer keeps reloading the session list on
both. What a trainer would notice: every session is listed exactly once, by either
worker, as its own learner's, with its own words in it and nobody else's; no page fails;
and sending a folder again never lists it twice.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from websockets.sync.client import connect

from calmline.call.session import load_session
from calmline.upload.client import UploadClient, UploadOutcome
from calmline.web.auth import SESSION_COOKIE
from calmline.web.db import SessionRow, make_engine, session_factory, transaction
from calmline.web.sample import add_sample_users, sample_recordings, sample_session
from support.cli import calmline
from support.web import Server, login_http, serving

pytestmark = [pytest.mark.server, pytest.mark.models]

LEARNERS = ("alice", "bob")
UPLOADS = 6  # distinct session folders, half first sent to each worker
# Words no page shows unless a session holds them: one per session, so a turn that
# landed in the wrong session is seen.
MARK = re.compile(r"voucher-[a-z]+-[a-z0-9]+")


@dataclass
class Room:
    workers: list[Server]
    recordings: Path
    db_url: str
    tokens: dict[str, str]
    sample: dict[str, str]  # session id -> learner, on disk before the workers started


@pytest.fixture(scope="module")
def room(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    """Two workers started together on an empty database and a recordings folder of
    sample sessions (each creates the tables and indexes the folder as it starts); then
    the sample accounts and an upload token for each learner."""
    root = tmp_path_factory.mktemp("room")
    rec = root / "rec"
    sample = {f.name: load_session(f).learner or "" for f in sample_recordings(rec)}
    with ExitStack() as stack, ThreadPoolExecutor(2) as pool:
        starting = [
            pool.submit(stack.enter_context, serving(rec, postgres_url, root / f"worker{n}.log"))
            for n in (1, 2)
        ]
        workers = [s.result() for s in starting]
        engine = make_engine(postgres_url)
        with transaction(session_factory(engine)) as db:
            add_sample_users(db)
        engine.dispose()
        tokens = {name: issue_token(postgres_url, name) for name in LEARNERS}
        yield Room(workers, rec, postgres_url, tokens, sample)


def issue_token(db_url: str, learner: str) -> str:
    proc = calmline("users", "token", learner, "--label", "laptop", "--db", db_url)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def send(server: Server, token: str, folder: Path) -> UploadOutcome:
    """``calmline upload``'s client sending one folder to one worker."""
    client = UploadClient(server.url, token)
    try:
        return client.send(folder, client.max_bytes())
    finally:
        client.close()


def practise(server: Server, learner: str, words: str) -> dict[str, Any]:
    """A call in the browser, typed: ``words``, then the call and the debrief ended.

    Returns the page's marking message, read on until the server closes the socket
    (the session is indexed by then).
    """
    cookie = login_http(server, learner).cookies[SESSION_COOKIE]
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}", "Origin": server.url}
    url = server.url.replace("http://", "ws://") + "/practice/ws"
    marking: dict[str, Any] | None = None
    said = False
    with connect(url, additional_headers=headers, max_size=None, open_timeout=30) as ws:
        ws.send(json.dumps({"type": "start", "scenario": "kettle-counter"}))
        for raw in ws:  # until the server closes the socket
            if isinstance(raw, bytes):
                continue  # the customer's voice
            message = json.loads(raw)
            assert message["type"] != "error", message
            if message["type"] == "marking":
                marking = message
            elif message["type"] == "status" and message["whose"] == "learner":
                ws.send(json.dumps({"type": "end"} if said else {"type": "text", "text": words}))
                said = True
    assert marking is not None, "the socket closed without a marking"
    return marking


def watch(workers: list[Server], stop: threading.Event) -> list[int]:
    """A trainer reloading the session list on every worker until ``stop``; the statuses."""
    clients = [login_http(w, "admin") for w in workers]
    statuses: list[int] = []
    while not stop.is_set():
        statuses += [c.get("/sessions").status_code for c in clients]
        stop.wait(0.2)
    return statuses


def listed(server: Server) -> list[tuple[str, str]]:
    """(session id, learner) of every session the dashboard lists to an admin."""
    text = login_http(server, "admin").get("/export/sessions.csv").text
    return [(r["session_id"], r["learner"]) for r in csv.DictReader(io.StringIO(text))]


def run_all(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Every job in its own thread at once; their results, or the first failure raised."""
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = [pool.submit(job) for job in jobs]
        return [f.result(timeout=600) for f in futures]


def test_sessions_from_both_workers_are_each_listed_once_as_their_own(
    room: Room, tmp_path: Path
) -> None:
    a, b = room.workers
    expected = dict(room.sample)  # session id -> learner
    words: dict[str, str] = {}  # session id -> its distinctive word
    folders: list[tuple[Path, Server, Server]] = []  # (folder, sent first to, retried on)
    for n in range(UPLOADS):
        learner = LEARNERS[n % 2]
        sid = f"20261207-10{n:02d}00-kettle-counter-up{n:02d}"
        word = f"voucher-{learner}-{n:02d}"
        folder = sample_session(
            tmp_path / learner, sid, learner, learner_lines=(f"I will post {word} today.",)
        )
        first, other = (a, b) if n < UPLOADS // 2 else (b, a)
        folders.append((folder, first, other))
        expected[sid], words[sid] = learner, word
    calls = {"alice": (a, "voucher-alice-call"), "bob": (b, "voucher-bob-call")}

    stop = threading.Event()
    with ThreadPoolExecutor(1) as watcher:
        watching = watcher.submit(watch, room.workers, stop)
        try:
            jobs: list[Callable[[], Any]] = [
                lambda f=folder, s=server, t=room.tokens[expected[folder.name]]: send(s, t, f)
                for folder, first, other in folders
                for server in (first, other)
            ]
            jobs += [
                lambda n=name, s=server, w=word: practise(s, n, f"I will post {w} today. Goodbye.")
                for name, (server, word) in calls.items()
            ]
            results = run_all(jobs)
        finally:
            stop.set()
        statuses = watching.result(timeout=60)

    outcomes: list[UploadOutcome] = results[: 2 * UPLOADS]
    for n in range(UPLOADS):
        pair = outcomes[2 * n : 2 * n + 2]  # the same folder, sent to both workers at once
        assert [o.state for o in pair] == ["sent", "sent"], pair
        assert sorted(o.message for o in pair) == ["stored", "unchanged"], pair
    markings: list[dict[str, Any]] = results[2 * UPLOADS :]
    for (name, (_, word)), marking in zip(calls.items(), markings, strict=True):
        assert marking["rubrics"], marking
        expected[marking["session_id"]], words[marking["session_id"]] = name, word
    assert len(expected) == len(room.sample) + UPLOADS + len(calls)  # two calls, two ids

    # every page a trainer loaded meanwhile worked, on both workers
    assert statuses and set(statuses) == {200}, statuses
    # the index: each session once, its learner's, pointing at its own folder
    engine = make_engine(room.db_url)
    with session_factory(engine)() as db:
        rows = db.scalars(select(SessionRow)).all()
    engine.dispose()
    assert sorted((r.id, r.learner) for r in rows) == sorted(expected.items())
    assert {r.id: r.folder for r in rows} == {
        sid: str((room.recordings / sid).resolve()) for sid in expected
    }
    assert sorted(p.parent.name for p in room.recordings.glob("*/session.json")) == sorted(expected)
    # both dashboards list every session exactly once, as its own learner's
    for worker in room.workers:
        assert sorted(listed(worker)) == sorted(expected.items())
    # each session page, on the worker that did not take it, shows its own words only
    taken_by = {f.name: first for f, first, _ in folders}
    taken_by |= {m["session_id"]: calls[n][0] for n, m in zip(calls, markings, strict=True)}
    for sid, word in words.items():
        other = b if taken_by[sid] is a else a
        page = login_http(other, expected[sid]).get(f"/sessions/{sid}")
        assert page.status_code == 200
        assert set(MARK.findall(page.text)) == {word}, sid
    for worker in room.workers:
        assert "Traceback" not in worker.log.read_text(errors="replace"), worker.log


def test_a_folder_sent_again_to_either_worker_is_listed_once(room: Room, tmp_path: Path) -> None:
    a, b = room.workers
    sid = "20261207-120000-kettle-counter-again"
    folder = sample_session(tmp_path, sid, "bob", learner_lines=("I will post voucher-bob-again.",))
    token = room.tokens["bob"]
    assert [send(w, token, folder).message for w in (a, b, a, b)] == [
        "stored",
        "unchanged",
        "unchanged",
        "unchanged",
    ]
    for worker in room.workers:
        assert [s for s, _ in listed(worker)].count(sid) == 1
    assert [p.name for p in room.recordings.iterdir() if p.name.endswith("again")] == [sid]
