"""The dashboard through FastAPI's TestClient: logins, roles, CSRF, escaping, path traversal,
reviews with their audit trail, agreement and CSV export."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from calmline.web.app import create_app
from calmline.web.db import AuditEntry, session_factory
from calmline.web.sample import SAMPLE_PASSWORD
from calmline.web.settings import WebSettings
from support.web import csrf_of, login, session_ids


def test_every_data_route_needs_a_login(app: FastAPI) -> None:
    client = TestClient(app, base_url="http://127.0.0.1")
    sid = session_ids(app)["alice"][0]
    for path in [
        "/sessions",
        f"/sessions/{sid}",
        f"/sessions/{sid}/audio/turn-001-learner.wav",
        f"/sessions/{sid}/report/report.html",
        "/agreement",
        "/scenarios",
        "/learners",
        "/learners/alice",
        "/admin/users",
        "/export/sessions.csv",
        "/export/verdicts.csv",
    ]:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    for path in [f"/sessions/{sid}/review", f"/sessions/{sid}/final", "/admin/users", "/logout"]:
        assert client.post(path, data={}, follow_redirects=False).status_code == 401, path
    assert client.get("/static/app.css").status_code == 200  # static is public
    assert client.get("/login").status_code == 200


def test_login_cookie_flags_and_security_headers(app: FastAPI) -> None:
    client = TestClient(app, base_url="http://127.0.0.1")
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": "alice", "password": SAMPLE_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = r.headers["set-cookie"].lower()
    assert "calmline_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    page = client.get("/sessions")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "cdn" not in page.text.lower() and "https://" not in page.text


def test_secure_flag_on_by_default_off_loopback(tmp_path: Path) -> None:
    settings = WebSettings(recordings=tmp_path / "rec", db_url=f"sqlite:///{tmp_path / 'i.db'}")
    web = create_app(settings)
    r = TestClient(web, base_url="http://dashboard.example").get("/login")
    assert "secure" in r.headers["set-cookie"].lower()
    r = TestClient(web, base_url="http://127.0.0.1").get("/login")
    assert "secure" not in r.headers["set-cookie"].lower()


def test_learner_sees_only_their_own(app: FastAPI) -> None:
    ids = session_ids(app)
    alice = login(app, "alice")
    listing = alice.get("/sessions").text
    assert all(sid in listing for sid in ids["alice"])
    assert not any(sid in listing for sid in ids["bob"])
    bob_sid = ids["bob"][0]
    assert alice.get(f"/sessions/{bob_sid}").status_code == 404
    assert alice.get(f"/sessions/{bob_sid}/audio/turn-001-learner.wav").status_code == 404
    assert alice.get(f"/sessions/{bob_sid}/report/report.html").status_code == 404
    assert alice.get(f"/sessions/{ids['alice'][0]}/audio/turn-001-learner.wav").status_code == 200
    csv = alice.get("/export/sessions.csv").text
    assert "bob" not in csv and csv.count("alice") == len(ids["alice"])
    assert alice.get("/agreement").status_code == 403
    assert alice.get("/learners/bob").status_code == 403


def test_trainer_sees_their_groups(app: FastAPI) -> None:
    ids = session_ids(app)
    tina = login(app, "tina")
    assert tina.get(f"/sessions/{ids['alice'][0]}").status_code == 200
    assert tina.get(f"/sessions/{ids['bob'][0]}").status_code == 404
    progress = tina.get("/learners/alice")
    assert progress.status_code == 200
    assert "<svg" in progress.text and "final anger" in progress.text
    assert tina.get("/learners/bob").status_code == 404
    packs = tina.get("/scenarios").text
    assert "kettle-counter.yaml" in packs and ("valid" in packs or "not validated" in packs)


def test_path_traversal_refused(app: FastAPI) -> None:
    sid = session_ids(app)["alice"][0]
    admin = login(app, "admin")
    # (A literal "../" is normalised away by the client; test_web_server sends it raw.)
    for name in [
        "..%2F..%2Fsecret.txt",
        "..%2Fsession.json",
        "%2Fetc%2Fpasswd",
        "....%2F%2Fsecret.txt",
        "session.json",
        "..%5C..%5Csecret.txt",
    ]:
        for kind in ("audio", "report"):
            r = admin.get(f"/sessions/{sid}/{kind}/{name}")
            assert r.status_code == 404, (kind, name)
            assert "top secret" not in r.text
    assert admin.get("/sessions/..%2F..%2Fsecret.txt").status_code == 404
    # A symlink inside the folder that points outside it is refused too.
    folder = app.state.calmline.settings.recordings / sid
    (folder / "link.wav").symlink_to(folder.parent.parent / "secret.txt")
    assert admin.get(f"/sessions/{sid}/audio/link.wav").status_code == 404


def test_learner_text_is_escaped(app: FastAPI) -> None:
    admin = login(app, "admin")
    page = admin.get("/sessions/20260401-090000-kettle-counter-beef").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_csrf_missing_or_wrong_is_403(app: FastAPI) -> None:
    sid = session_ids(app)["alice"][0]
    ann = login(app, "admin")
    form = {
        "rubric_id": "difficult_customers",
        "point_id": "dc1_indicators",
        "verdict": "not_met",
        "comment": "no",
    }
    assert ann.post(f"/sessions/{sid}/review", data=form).status_code == 403
    assert (
        ann.post(f"/sessions/{sid}/review", data={**form, "csrf_token": "forged"}).status_code
        == 403
    )
    # The login form is protected too (a token cookie with the form).
    fresh = TestClient(app, base_url="http://127.0.0.1")
    r = fresh.post("/login", data={"username": "admin", "password": SAMPLE_PASSWORD})
    assert r.status_code == 403


def test_assessor_cannot_change_users(app: FastAPI) -> None:
    ann = login(app, "ann")
    token = csrf_of(ann.get("/sessions").text)
    assert ann.get("/admin/users").status_code == 403
    r = ann.post(
        "/admin/users",
        data={"csrf_token": token, "name": "mallory", "password": "password123", "role": "admin"},
    )
    assert r.status_code == 403
    r = ann.post("/admin/users/ann", data={"csrf_token": token, "role": "admin", "active": "1"})
    assert r.status_code == 403
    admin = login(app, "admin")
    assert "mallory" not in admin.get("/admin/users").text


def test_login_rate_limit(app: FastAPI) -> None:
    client = TestClient(app, base_url="http://127.0.0.1")
    token = csrf_of(client.get("/login").text)
    for _ in range(5):
        r = client.post(
            "/login", data={"username": "alice", "password": "wrong-one", "csrf_token": token}
        )
        assert r.status_code == 401
    r = client.post(
        "/login", data={"username": "alice", "password": SAMPLE_PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 429 and "Too many failed attempts" in r.text
    login(app, "bob")  # other users are unaffected


def test_assessor_review_flow(app: FastAPI) -> None:
    ids = session_ids(app)
    sid = ids["alice"][0]
    ann = login(app, "ann")
    assert ann.get(f"/sessions/{sid}").status_code == 404  # not assigned yet
    tina = login(app, "tina")
    token = csrf_of(tina.get(f"/sessions/{sid}").text)
    assert (
        tina.post(
            f"/sessions/{sid}/assign",
            data={"csrf_token": token, "assessor": "ann"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    # A trainer cannot review.
    assert (
        tina.post(
            f"/sessions/{sid}/review",
            data={
                "csrf_token": token,
                "rubric_id": "difficult_customers",
                "point_id": "dc1_indicators",
                "verdict": "agree",
            },
        ).status_code
        == 403
    )

    page = ann.get(f"/sessions/{sid}")
    assert page.status_code == 200
    token = csrf_of(page.text)
    machine_before = (app.state.calmline.settings.recordings / sid / "assessment.json").read_bytes()
    for point, verdict, comment in [
        ("dc1_indicators", "agree", ""),
        ("dc2_structured_approach", "met", "offered two options"),
        ("dc2_structured_approach", "partly", "on reflection"),
    ]:
        r = ann.post(
            f"/sessions/{sid}/review",
            follow_redirects=False,
            data={
                "csrf_token": token,
                "rubric_id": "difficult_customers",
                "point_id": point,
                "verdict": verdict,
                "comment": comment,
            },
        )
        assert r.status_code == 303
    r = ann.post(
        f"/sessions/{sid}/review",
        data={
            "csrf_token": token,
            "rubric_id": "difficult_customers",
            "point_id": "dc1_indicators",
            "verdict": "not_met",
            "comment": "",
        },
    )
    assert r.status_code == 400 and "needs a comment" in r.text
    ann.post(
        f"/sessions/{sid}/final",
        data={"csrf_token": token, "mark": "pass", "comment": "good recovery"},
    )
    page = ann.get(f"/sessions/{sid}").text
    assert "on reflection" in page and "good recovery" in page
    with session_factory(app.state.engine)() as db:
        audit = db.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(a.who, a.point.split("/")[-1], a.old, a.new) for a in audit] == [
        ("ann", "dc1_indicators", "machine: partly", "partly"),
        ("ann", "dc2_structured_approach", "machine: partly", "met"),
        ("ann", "dc2_structured_approach", "met", "partly"),
        ("ann", "final mark", "", "pass"),
    ]
    assert (
        app.state.calmline.settings.recordings / sid / "assessment.json"
    ).read_bytes() == machine_before

    agreement = login(app, "admin").get("/agreement").text
    assert "linear" in agreement and "dc2_structured_approach" in agreement
    verdicts = ann.get("/export/verdicts.csv").text
    assert "on reflection" in verdicts and verdicts.startswith("session_id,")


def test_list_filters_sort_and_export_agree(app: FastAPI) -> None:
    admin = login(app, "admin")
    page = admin.get("/sessions", params={"learner": "bob", "result": "fail"}).text
    assert page.count('href="/sessions/2026') == 1
    csv = admin.get("/export/sessions.csv", params={"learner": "bob", "result": "fail"}).text
    assert len(csv.strip().splitlines()) == 2  # header + the same one session
    asc = admin.get("/sessions", params={"sort": "score", "order": "asc"}).text
    assert asc.index("0003") < asc.index("0002")  # bob's 30% before alice's 90%
