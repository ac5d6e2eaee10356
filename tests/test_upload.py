"""Sessions from laptops reach the dashboard: ``calmline upload`` against a real
``calmline serve`` on loopback, with an upload token issued by ``calmline users token``.

What a trainer would notice: the session shows up on the dashboard (with its audio) for
the learner and their trainer and nobody else; sending it twice does not list it twice;
a bad token, an oversized folder, odd file names and a server that is down each give a
clear line; a session the server could not take is queued and sent by the next run;
the laptop's copy is never deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from calmline.web.sample import sample_session
from support.cli import assert_one_clear_line, calmline, practice_args
from support.net import closed_port_url, free_port
from support.openai_server import FakeOpenAIServer, reply
from support.web import Server, login_http, running_server

pytestmark = pytest.mark.server
LIMIT_MB = 1  # the server under test takes uploads up to 1 MB (a sample session is 120 KB)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    mp = pytest.MonkeyPatch()
    mp.setenv("CALMLINE_MAX_UPLOAD_MB", str(LIMIT_MB))  # read by the server when it starts
    try:
        with running_server(tmp_path_factory.mktemp("serve")) as s:
            mp.undo()
            yield s
    finally:
        mp.undo()


def issue(server: Server, learner: str) -> str:
    proc = calmline("users", "token", learner, "--label", "laptop", "--db", server.db_url)
    assert proc.returncode == 0, proc.stderr
    token = proc.stdout.strip()
    assert token.startswith("clu_") and len(token) > 40
    return token


def upload(url: str, token: str, *args: str) -> object:
    env = {**os.environ, "CALMLINE_UPLOAD_TOKEN": token}
    return calmline("upload", url, *args, env=env)


def laptop_session(tmp_path: Path, sid: str, learner: str | None = "alice") -> Path:
    folder = sample_session(tmp_path / "laptop", sid, learner or "x")
    if learner is None:  # practised without --learner
        record = json.loads((folder / "session.json").read_text())
        record["learner"] = None
        (folder / "session.json").write_text(json.dumps(record))
    return folder


def digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.iterdir()
        if p.name != "upload.json"
    }


def test_an_uploaded_session_is_on_the_dashboard_once(server: Server, tmp_path: Path) -> None:
    sid = "20261206-090000-kettle-counter-up01"
    folder = laptop_session(tmp_path, sid)
    before = digests(folder)
    token = issue(server, "alice")

    proc = upload(server.url, token, str(folder))
    assert proc.returncode == 0, proc.stderr
    assert f"sent {sid} (stored): {server.url}/sessions/{sid}" in proc.stdout
    assert (server.recordings / sid / "turn-001-learner.wav").is_file()

    alice = login_http(server, "alice")
    assert sid in alice.get("/sessions").text
    page = alice.get(f"/sessions/{sid}")
    assert page.status_code == 200 and "turn-001-learner.wav" in page.text
    audio = alice.get(f"/sessions/{sid}/audio/turn-001-learner.wav")
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    assert sid in login_http(server, "tina").get("/sessions").text  # alice's trainer
    assert sid not in login_http(server, "bob").get("/sessions").text

    again = upload(server.url, token, str(folder))
    assert again.returncode == 0, again.stderr
    assert f"sent {sid} (unchanged)" in again.stdout
    assert [p.name for p in server.recordings.glob(f"*{sid[-4:]}*")] == [sid]
    assert alice.get("/sessions").text.count(f'href="/sessions/{sid}"') == 1
    assert digests(folder) == before  # the laptop's copy is as it was
    assert json.loads((folder / "upload.json").read_text())["state"] == "sent"


def test_a_session_without_a_learner_becomes_the_token_owners(
    server: Server, tmp_path: Path
) -> None:
    sid = "20261206-091000-kettle-counter-up02"
    folder = laptop_session(tmp_path, sid, learner=None)
    proc = upload(server.url, issue(server, "alice"), str(folder))
    assert proc.returncode == 0, proc.stderr
    stored = json.loads((server.recordings / sid / "session.json").read_text())
    assert stored["learner"] == "alice"


def test_another_learners_session_is_refused(server: Server, tmp_path: Path) -> None:
    folder = laptop_session(tmp_path, "20261206-092000-kettle-counter-up03", learner="bob")
    proc = upload(server.url, issue(server, "alice"), str(folder))
    assert_one_clear_line(proc, "1 of 1 session(s) not uploaded", after_output=True)
    assert "this session is bob's, and the upload token is alice's" in proc.stderr
    assert not (server.recordings / folder.name).exists()
    assert json.loads((folder / "upload.json").read_text())["state"] == "refused"


def test_a_bad_or_revoked_token_is_a_clear_line_and_queues(server: Server, tmp_path: Path) -> None:
    folder = laptop_session(tmp_path, "20261206-093000-kettle-counter-up04")
    for token in ("clu_not-a-token", issue(server, "alice")):
        if token != "clu_not-a-token":
            listed = calmline("users", "tokens", "alice", "--db", server.db_url).stdout
            number = listed.splitlines()[0].split("\t")[0].lstrip("#")
            revoked = calmline("users", "revoke-token", number, "--db", server.db_url)
            assert revoked.returncode == 0, revoked.stderr
        proc = upload(server.url, token, str(folder))
        assert_one_clear_line(proc, "not uploaded (1 queued", after_output=True)
        assert "the upload token was not accepted" in proc.stderr
        assert json.loads((folder / "upload.json").read_text())["state"] == "pending"
    assert not (server.recordings / folder.name).exists()
    no_token = calmline("upload", server.url, str(folder), env={
        k: v for k, v in os.environ.items() if k != "CALMLINE_UPLOAD_TOKEN"
    })  # fmt: skip
    assert_one_clear_line(no_token, "no upload token")


def test_an_oversized_session_is_refused_with_the_limit(server: Server, tmp_path: Path) -> None:
    folder = laptop_session(tmp_path, "20261206-094000-kettle-counter-up05")
    big = (folder / "turn-001-learner.wav").read_bytes()
    (folder / "turn-001-learner.wav").write_bytes(big + b"\0" * (LIMIT_MB << 20))
    proc = upload(server.url, issue(server, "alice"), str(folder))
    assert_one_clear_line(proc, "not uploaded (0 queued, 1 refused)", after_output=True)
    assert f"the server takes up to {LIMIT_MB} MB" in proc.stderr
    assert (folder / "turn-001-learner.wav").stat().st_size > LIMIT_MB << 20  # kept
    # the server's own bound, for a client that does not ask first
    raw = httpx.post(
        f"{server.url}/api/upload",
        headers={"Authorization": f"Bearer {issue(server, 'alice')}"},
        files={"files": ("turn-001-learner.wav", b"RIFF" + b"\0" * (LIMIT_MB << 20))},
    )
    assert raw.status_code == 413
    assert "CALMLINE_MAX_UPLOAD_MB" in raw.json()["error"]


@pytest.mark.parametrize(
    ("name", "body", "needle"),
    [
        ("../escape.wav", b"RIFF\0\0\0\0WAVE", "is not a file a session folder holds"),
        ("..", b"x", "is not a file a session folder holds"),
        ("notes.txt", b"hello", "is not a file a session folder holds"),
        ("turn-001-learner.wav", b"MZ\x90\0 not audio", "is not a WAV file"),
        ("session.json", b'{"id": "../../etc", "scenario": "x"}', "cannot name a folder"),
        ("session.json", b'{"id": "20261206-x"}', "session.json is not a calmline session"),
        ("assessment.json", b"{}", "the upload has no session.json"),
    ],
)
def test_odd_uploads_are_refused_and_nothing_is_written(
    server: Server, tmp_path: Path, name: str, body: bytes, needle: str
) -> None:
    folder = laptop_session(tmp_path, "20261206-095000-kettle-counter-up06")
    files = [("files", (name, body))]
    if name != "session.json" and name != "assessment.json":
        files.append(("files", ("session.json", (folder / "session.json").read_bytes())))
    before = sorted(p.name for p in server.recordings.parent.rglob("*"))
    answer = httpx.post(
        f"{server.url}/api/upload",
        headers={"Authorization": f"Bearer {issue(server, 'alice')}"},
        files=files,
    )
    assert answer.status_code == 400, answer.text
    assert needle in answer.json()["error"]
    after = sorted(p.name for p in server.recordings.parent.rglob("*"))
    assert after == before or set(after) - set(before) <= {"server.log"}
    assert not (server.recordings / folder.name).exists()


def test_a_session_sent_while_the_server_is_down_is_sent_by_the_next_run(
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sid = "20261206-096000-kettle-counter-up07"
    folder = laptop_session(tmp_path, sid)
    down = upload(url, "clu_any", str(folder))
    assert_one_clear_line(down, "not uploaded (1 queued", after_output=True)
    assert f"queued {sid}: cannot reach {url}" in down.stderr
    assert json.loads((folder / "upload.json").read_text())["state"] == "pending"
    assert (folder / "session.json").is_file()

    with running_server(tmp_path / "serve", port=port) as server:
        token = issue(server, "alice")
        retry = upload(url, token, "--recordings", str(tmp_path / "laptop"))
        assert retry.returncode == 0, retry.stderr
        assert f"sent {sid} (stored)" in retry.stdout
        assert sid in login_http(server, "alice").get("/sessions").text
        nothing = upload(url, token, "--recordings", str(tmp_path / "laptop"))
        assert nothing.returncode == 0 and "nothing to upload" in nothing.stdout
    assert json.loads((folder / "upload.json").read_text())["state"] == "sent"


def test_practice_upload_sends_the_finished_call(server: Server, tmp_path: Path) -> None:
    script = tmp_path / "turns.txt"
    script.write_text("I'm sorry it leaks. I will send a new kettle today.\n")
    env = {**os.environ, "CALMLINE_UPLOAD_TOKEN": issue(server, "alice")}
    down = closed_port_url().removesuffix("/v1")
    with FakeOpenAIServer([reply("It leaks every single time.")]) as llm:
        args = practice_args(llm.base_url, tmp_path / "laptop", script, "--learner", "alice")
        sent = calmline(*args[1:], "--upload", server.url, env=env)
        queued = calmline(*args[1:], "--upload", down, env=env)
    assert sent.returncode == 0, sent.stderr
    sid = json.loads(sent.stdout)["id"]  # stdout is still the one JSON object
    assert f"sent {sid} (stored)" in sent.stderr
    assert sid in login_http(server, "alice").get("/sessions").text

    assert queued.returncode == 0, queued.stderr  # the call is done and saved
    other = Path(json.loads(queued.stdout)["session"])
    assert "calmline: warning: 1 of 1 session(s) not uploaded (1 queued" in queued.stderr
    assert json.loads((other / "upload.json").read_text())["state"] == "pending"
