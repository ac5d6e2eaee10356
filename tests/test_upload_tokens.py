"""Upload tokens on the dashboard: a trainer issues one for a learner of their group (shown
once, kept as a hash), it uploads a session, and revoking it stops it; nobody else can
manage it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import select

from calmline.web.db import UploadToken, session_factory
from calmline.web.sample import sample_session
from support.web import csrf_of, login


def files_of(folder: Path) -> list[tuple[str, tuple[str, bytes]]]:
    return [("files", (p.name, p.read_bytes())) for p in sorted(folder.iterdir())]


def test_a_trainer_issues_and_revokes_a_learners_token(app: FastAPI, tmp_path: Path) -> None:
    tina = login(app, "tina")  # trains group g1: alice
    page = tina.get("/tokens")
    assert page.status_code == 200 and "Upload tokens" in page.text
    assert "<option>alice</option>" in page.text and "<option>bob</option>" not in page.text

    issued = tina.post(
        "/tokens", data={"learner": "alice", "label": "laptop 3", "csrf_token": csrf_of(page.text)}
    )
    token = re.search(r'<code id="new-token">([^<]+)</code>', issued.text).group(1)  # type: ignore[union-attr]
    assert "not shown again" in issued.text and "laptop 3" in issued.text
    assert token not in tina.get("/tokens").text  # shown once
    with session_factory(app.state.engine)() as db:
        [row] = db.scalars(select(UploadToken)).all()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.issued_by == "tina"

    folder = sample_session(tmp_path / "laptop", "20261206-120000-kettle-counter-web1", "alice")
    auth = {"Authorization": f"Bearer {token}"}
    sent = tina.post("/api/upload", headers=auth, files=files_of(folder))
    assert sent.status_code == 201, sent.text
    assert sent.json() == {
        "id": folder.name,
        "status": "stored",
        "learner": "alice",
        "url": f"/sessions/{folder.name}",
    }
    assert folder.name in login(app, "alice").get("/sessions").text

    csrf = csrf_of(tina.get("/tokens").text)
    gone = tina.post(f"/tokens/{row.id}/revoke", data={"csrf_token": csrf}, follow_redirects=False)
    assert gone.status_code == 303
    refused = tina.post("/api/upload", headers=auth, files=files_of(folder))
    assert refused.status_code == 401
    assert "not accepted" in refused.json()["error"]


def test_only_trainers_of_the_group_and_admins_manage_tokens(app: FastAPI) -> None:
    tina = login(app, "tina")
    csrf = csrf_of(tina.get("/tokens").text)
    other = tina.post("/tokens", data={"learner": "bob", "csrf_token": csrf})
    assert other.status_code == 403
    forged = tina.post("/tokens", data={"learner": "alice", "csrf_token": "nope"})
    assert forged.status_code == 403
    assert login(app, "alice").get("/tokens").status_code == 403
    admin = login(app, "admin")
    page = admin.get("/tokens")
    assert "<option>bob</option>" in page.text
    ok = admin.post("/tokens", data={"learner": "bob", "csrf_token": csrf_of(page.text)})
    assert ok.status_code == 200 and "New upload token for <strong>bob</strong>" in ok.text
    trainer_token = admin.post(
        "/tokens", data={"learner": "tina", "csrf_token": csrf_of(page.text)}
    )
    assert trainer_token.status_code == 400  # tokens are for learners
    assert "upload tokens are for learners" in trainer_token.text
