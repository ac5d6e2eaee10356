"""Dashboard security checks that ``test_web_app.py`` does not already make.

That file tests a hand-written list of routes; here every route the app registers
is enumerated, so a route added later without a login, role or CSRF check fails
a test. Also: the role matrix for learners and trainers, escaping of every
learner-controlled field (name, words, assessor comment), logout and forged cookies.
Shared fixtures (a copy of the sample recordings and accounts) come from
``test_web_app``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from calmline.web.sample import sample_session
from support.web import csrf_of, login, session_ids

PUBLIC = {"/login"}
XSS_NAME = "<img src=x onerror=alert(1)>"


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, from its OpenAPI schema (which FastAPI builds
    from the registered routes, so nothing can be forgotten here)."""
    paths = app.openapi()["paths"]
    return [(m.upper(), path) for path, ops in paths.items() for m in ops if m != "head"]


def _fill(path: str, sid: str) -> str:
    values = {"session_id": sid, "name": "alice"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "turn-001-learner.wav"), path)


def test_every_registered_route_needs_a_login(app: FastAPI) -> None:
    client = TestClient(app, base_url="http://127.0.0.1")
    sid = session_ids(app)["alice"][0]
    routes = _routes(app)
    assert len(routes) >= 20  # the enumeration found the app's routes
    for method, path in routes:
        if path in PUBLIC:
            continue
        r = client.request(method, _fill(path, sid), data={}, follow_redirects=True)
        # A page sends you to the login form; a form post is refused outright.
        refused = r.status_code in (401, 403) or r.url.path == "/login"
        assert refused, (method, path, r.status_code)


def test_every_form_route_checks_csrf(app: FastAPI) -> None:
    admin = login(app, "admin")
    sid = session_ids(app)["alice"][0]
    # /api/upload takes no cookie at all, only an upload token (test_upload_tokens.py)
    posts = [p for m, p in _routes(app) if m == "POST" and p not in ("/login", "/api/upload")]
    assert posts
    assert admin.post("/api/upload", data={}).status_code == 401
    for path in posts:
        for form in ({}, {"csrf_token": "forged"}):
            r = admin.post(_fill(path, sid), data=form, follow_redirects=False)
            assert r.status_code == 403, (path, form, r.status_code)
    assert admin.get("/sessions").status_code == 200  # still logged in: nothing was done


def test_roles_learner_and_trainer(app: FastAPI) -> None:
    ids = session_ids(app)
    alice = login(app, "alice")
    token = csrf_of(alice.get("/sessions").text)
    for path in ("/admin/users", "/scenarios", "/learners", "/learners/bob"):
        assert alice.get(path).status_code in (403, 404), path
    own = ids["alice"][0]
    review = {"csrf_token": token, "rubric_id": "difficult_customers",
              "point_id": "dc1_indicators", "verdict": "met", "comment": "mine"}  # fmt: skip
    assert alice.post(f"/sessions/{own}/review", data=review).status_code in (403, 404)
    final = {"csrf_token": token, "mark": "pass", "comment": ""}
    assert alice.post(f"/sessions/{own}/final", data=final).status_code in (403, 404)
    tina = login(app, "tina")  # trains group g1 (alice) only
    token = csrf_of(tina.get("/sessions").text)
    assert tina.get(f"/sessions/{ids['bob'][0]}").status_code == 404
    assert tina.get(f"/sessions/{ids['bob'][0]}/audio/turn-001-learner.wav").status_code == 404
    assert tina.get("/admin/users").status_code == 403
    review["csrf_token"] = token
    assert tina.post(f"/sessions/{ids['alice'][0]}/review", data=review).status_code in (403, 404)


def test_learner_controlled_fields_are_escaped_everywhere(app: FastAPI) -> None:
    rec = app.state.calmline.settings.recordings
    sample_session(rec, "20260402-090000-kettle-counter-0bad", XSS_NAME, learner_lines=(XSS_NAME,))
    admin = login(app, "admin")
    pages = [
        admin.get(p).text for p in ("/sessions", "/sessions/20260402-090000-kettle-counter-0bad")
    ]
    token = csrf_of(pages[1])
    admin.post(
        "/sessions/20260402-090000-kettle-counter-0bad/review",
        data={"csrf_token": token, "rubric_id": "difficult_customers", "verdict": "not_met",
              "point_id": "dc1_indicators", "comment": "<script>alert(2)</script>"},
    )  # fmt: skip
    pages.append(admin.get("/sessions/20260402-090000-kettle-counter-0bad").text)
    pages.append(admin.get("/learners").text)
    for page in pages:
        assert "<img src=x" not in page and "<script>alert" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[1]
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in pages[2]


def test_logout_kills_the_cookie_and_forged_cookies_are_refused(app: FastAPI) -> None:
    alice = login(app, "alice")
    cookie = alice.cookies.get("calmline_session")
    assert cookie
    token = csrf_of(alice.get("/sessions").text)
    assert alice.post(
        "/logout", data={"csrf_token": token}, follow_redirects=False
    ).status_code in (
        303,
        200,
    )
    replay = TestClient(app, base_url="http://127.0.0.1", cookies={"calmline_session": cookie})
    r = replay.get("/sessions", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    forged = TestClient(app, base_url="http://127.0.0.1", cookies={"calmline_session": "x" * 43})
    assert forged.get("/sessions", follow_redirects=False).status_code == 303


@pytest.mark.slow
@pytest.mark.server
def test_fifty_assessors_on_five_hundred_sessions_get_no_errors() -> None:
    """benchmarks/load_dashboard.py at its documented size, with fewer requests each."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from load_dashboard import run, table

    results = run(clients=50, sessions=500, requests=6)
    print(table(results))
    assert not results.errors
    assert len(results.times["(all)"]) == 50 * 6
