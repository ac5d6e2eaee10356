"""Unit tests of the dashboard's pure parts and its database logic: kappa, indexer, auth,
filters, review audit, CSV and charts."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from calmline.call.session import load_session
from calmline.errors import CalmlineError
from calmline.evaluate.agreement import agreement, cohen_kappa
from calmline.models import SessionRecord
from calmline.web import auth, login_limit
from calmline.web.access import visible_condition
from calmline.web.charts import anger_chart
from calmline.web.csv_export import sessions_csv
from calmline.web.db import (
    AuditEntry,
    LoginAttempts,
    MachineVerdict,
    Review,
    SessionRow,
    User,
    make_engine,
    session_factory,
    utcnow,
)
from calmline.web.filters import SessionFilter
from calmline.web.indexer import load_assessments, sync
from calmline.web.login_limit import LoginLimits
from calmline.web.review import record_review
from calmline.web.sample import add_sample_users, sample_recordings, sample_session


@pytest.fixture
def factory(tmp_path: Path) -> sessionmaker[Session]:
    return session_factory(make_engine(f"sqlite:///{tmp_path / 'index.sqlite3'}"))


# --------------------------------------------------------------------------- stats


def test_kappa_perfect_and_chance() -> None:
    pairs = [("met", "met"), ("partly", "partly"), ("not_met", "not_met")]
    assert cohen_kappa(pairs) == pytest.approx(1.0)
    # Raters that never agree beyond chance: kappa <= 0.
    assert cohen_kappa([("met", "not_met"), ("not_met", "met")], weighted=False) < 0


def test_kappa_known_values() -> None:
    # Hand-computed: 10 pairs, po=0.7 unweighted; pe from marginals machine (3,3,4),
    # assessor (3,4,3): pe = (9+12+12)/100 = 0.33 -> kappa = (0.7-0.33)/0.67.
    pairs = (
        [("not_met", "not_met")] * 2
        + [("not_met", "partly")]
        + [("partly", "partly")] * 2
        + [("partly", "not_met")]
        + [("met", "met")] * 3
        + [("met", "partly")]
    )
    assert cohen_kappa(pairs, weighted=False) == pytest.approx(0.37 / 0.67)
    # Linear weights: every disagreement is one step apart (weight 0.5) -> po = 0.85;
    # pe = sum w_ij r_i c_j = 0.33 + 0.5*(0.3*0.4 + 0.3*0.3 + 0.3*0.3 + 0.4*0.4) = 0.56.
    # Cross-check, disagreement form: 1 - sum|i-j| O_ij / sum|i-j| E_ij = 1 - 0.3/0.88.
    assert cohen_kappa(pairs, weighted=True) == pytest.approx((0.85 - 0.56) / 0.44)
    assert cohen_kappa(pairs, weighted=True) == pytest.approx(1 - 0.3 / 0.88)
    result = agreement(pairs)
    assert result.n == 10 and result.accuracy == pytest.approx(0.7)


def test_kappa_weighting_counts_near_misses() -> None:
    near = [("met", "partly"), ("partly", "met"), ("met", "met"), ("not_met", "not_met")]
    far = [("met", "not_met"), ("not_met", "met"), ("met", "met"), ("partly", "partly")]
    assert cohen_kappa(near) > cohen_kappa(far)
    assert cohen_kappa([]) is None
    assert cohen_kappa([("met", "met")] * 3) == 1.0  # undefined by formula: all one category


# --------------------------------------------------------------------------- indexer


def test_indexer_imports_updates_and_removes(
    tmp_path: Path, factory: sessionmaker[Session]
) -> None:
    rec = tmp_path / "rec"
    folders = sample_recordings(rec)
    (rec / "broken").mkdir()
    (rec / "broken" / "session.json").write_text("{not json")
    with factory() as db:
        report = sync(db, rec)
        db.commit()
        assert (report.added, report.removed) == (6, 0)
        assert len(report.errors) == 1 and "broken" in report.errors[0]
        assert (
            db.scalar(
                select(SessionRow).where(SessionRow.learner == "bob", SessionRow.passed.is_(None))
            )
            is not None
        )
        assert len(db.scalars(select(MachineVerdict)).all()) == 5 * 5
        assert sync(db, rec).unchanged == 6  # nothing changed: nothing re-read

        # The last folder gets marked: picked up on the next sync.
        record = load_session(folders[-1])
        from calmline.web.sample import write_assessment

        write_assessment(folders[-1], record, ("met",) * 5)
        report = sync(db, rec)
        assert report.updated == 1
        assert db.get(SessionRow, record.id).passed is True  # type: ignore[union-attr]

        # Reviews survive a rebuild and a vanished folder.
        db.add(
            Review(
                session_id=record.id,
                rubric_id="r",
                point_id="p",
                reviewer="ann",
                machine_verdict="met",
                verdict="partly",
            )
        )
        db.commit()
        import shutil

        shutil.rmtree(folders[-1])
        assert sync(db, rec, rebuild=True).removed == 1
        db.commit()
        assert db.scalar(select(Review)) is not None


@pytest.mark.parametrize("shape", ["list", "object", "wrapped"])
def test_assessment_json_shapes(tmp_path: Path, shape: str) -> None:
    folder = sample_session(tmp_path, "s1", "alice")
    data = json.loads((folder / "assessment.json").read_text())
    body = {"list": data, "object": data[0], "wrapped": {"assessments": data}}[shape]
    (folder / "assessment.json").write_text(json.dumps(body))
    assert [a.rubric_id for a in load_assessments(folder)] == ["difficult_customers"]


def test_unreadable_assessment_is_one_clear_error(tmp_path: Path) -> None:
    folder = sample_session(tmp_path, "s1", "alice")
    (folder / "assessment.json").write_text('{"verdicts": 3}')
    with pytest.raises(CalmlineError, match=r"assessment\.json"):
        load_assessments(folder)


# --------------------------------------------------------------------------- auth


def test_passwords_hash_with_argon2(factory: sessionmaker[Session]) -> None:
    with factory() as db:
        user = auth.add_user(db, "alice", "correct horse", "learner", "g1")
        assert user.password_hash.startswith("$argon2id$")
        assert "correct horse" not in user.password_hash
        assert auth.authenticate(db, "alice", "correct horse") is not None
        assert auth.authenticate(db, "alice", "wrong") is None
        with pytest.raises(CalmlineError, match="too short"):
            auth.add_user(db, "bob", "short", "learner")
        with pytest.raises(CalmlineError, match="unknown role"):
            auth.add_user(db, "bob", "long enough", "boss")


def test_login_rate_limit_per_user_and_address(factory: sessionmaker[Session]) -> None:
    limits = LoginLimits(per_user_address=5, per_address=8, window_s=300)
    with factory() as db:
        assert [login_limit.failed(db, "alice", "10.0.0.1", limits) for _ in range(6)] == [
            False, False, False, False, False, True,
        ]  # fmt: skip
        assert login_limit.blocked(db, "alice", "10.0.0.1", limits)
        assert not login_limit.succeeded(db, "alice", "10.0.0.1", limits)  # even the right one
        assert not login_limit.blocked(db, "alice", "10.0.0.2", limits)  # another address
        # other user names from the first address: 6 failures so far, 8 allowed
        assert not login_limit.failed(db, "bob", "10.0.0.1", limits)
        assert not login_limit.failed(db, "carol", "10.0.0.1", limits)
        assert login_limit.blocked(db, "dave", "10.0.0.1", limits)
        for row in db.scalars(select(LoginAttempts)):
            row.window_start = utcnow() - timedelta(seconds=301)  # the window passes
        assert not login_limit.blocked(db, "alice", "10.0.0.1", limits)
        assert login_limit.succeeded(db, "alice", "10.0.0.1", limits)


def test_login_session_and_logout(factory: sessionmaker[Session]) -> None:
    with factory() as db:
        user = auth.add_user(db, "alice", "correct horse", "learner")
        token = auth.start_session(db, user, hours=1)
        found = auth.resolve_session(db, token)
        assert found is not None and found[0].name == "alice" and len(found[1].csrf_token) > 20
        assert auth.resolve_session(db, token + "x") is None
        auth.end_session(db, token)
        assert auth.resolve_session(db, token) is None


def test_cookie_secure_default() -> None:
    assert auth.cookie_secure(None, "http", "127.0.0.1") is False
    assert auth.cookie_secure(None, "http", "localhost") is False
    assert auth.cookie_secure(None, "http", "dashboard.example") is True
    assert auth.cookie_secure(None, "https", "127.0.0.1") is True
    assert auth.cookie_secure(True, "http", "127.0.0.1") is True


# --------------------------------------------------------------------------- access, filters


def test_visibility_by_role(tmp_path: Path, factory: sessionmaker[Session]) -> None:
    sample_recordings(tmp_path / "rec")
    with factory() as db:
        sync(db, tmp_path / "rec")
        add_sample_users(db)
        db.flush()

        def learners(name: str, see_all: bool = False) -> set[str]:
            user = db.scalar(select(User).where(User.name == name))
            assert user is not None
            rows = db.scalars(select(SessionRow).where(visible_condition(user, see_all)))
            return {r.learner for r in rows}

        assert learners("alice") == {"alice"}
        assert learners("tina") == {"alice"}  # trains g1 only
        assert learners("ann") == set()  # nothing assigned
        assert learners("ann", see_all=True) == {"alice", "bob"}
        assert learners("admin") == {"alice", "bob"}


def test_filters(tmp_path: Path, factory: sessionmaker[Session]) -> None:
    sample_recordings(tmp_path / "rec")
    with factory() as db:
        sync(db, tmp_path / "rec")

        def ids(**query: str) -> list[str]:
            f = SessionFilter.from_query(query)
            return [
                r.learner + str(r.passed)
                for r in db.scalars(f.ordered(select(SessionRow).where(f.condition())))
            ]

        assert len(ids()) == 6
        assert ids(result="unmarked") == ["bobNone"]
        assert all(x.startswith("alice") for x in ids(learner="alice"))
        assert len(ids(date_from="2026-03-06", date_to="2026-03-10")) == 2
        assert len(ids(min_score="80")) == 1
        assert ids(sort="score", order="desc")[-1] == "bobNone"  # unmarked sort last
        assert SessionFilter.from_query({"sort": "drop table", "page": "x"}).sort == "date"


# --------------------------------------------------------------------------- review, csv, charts


def test_review_keeps_machine_verdict_and_audits(
    tmp_path: Path, factory: sessionmaker[Session]
) -> None:
    folder = sample_session(tmp_path, "s1", "alice")
    before = (folder / "assessment.json").read_bytes()
    assessments = load_assessments(folder)
    with factory() as db:
        record_review(
            db, "s1", assessments, "ann", "difficult_customers", "dc1_indicators", "agree", ""
        )
        with pytest.raises(CalmlineError, match="needs a comment"):
            record_review(
                db,
                "s1",
                assessments,
                "ann",
                "difficult_customers",
                "dc1_indicators",
                "not_met",
                " ",
            )
        review = record_review(
            db,
            "s1",
            assessments,
            "ann",
            "difficult_customers",
            "dc1_indicators",
            "not_met",
            "named only one indicator",
        )
        assert (review.machine_verdict, review.verdict) == ("met", "not_met")
        audit = db.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [(a.old, a.new) for a in audit] == [("machine: met", "met"), ("met", "not_met")]
    assert (folder / "assessment.json").read_bytes() == before


def test_csv_neutralises_formulas() -> None:
    row = SessionRow(
        id="s1",
        folder="/x",
        learner='=HYPERLINK("x")',
        scenario="k",
        created_at=utcnow(),
        outcome="satisfied",
        turns=3,
        score=0.5,
        passed=True,
    )
    text = sessions_csv([row])
    assert "'=HYPERLINK" in text and text.startswith("session_id,")


def test_anger_chart_points_follow_turns(tmp_path: Path) -> None:
    record: SessionRecord = load_session(sample_session(tmp_path, "s1", "alice"))
    chart = anger_chart(record)
    points = chart.series["anger"]
    assert [p.value for p in points] == [62, 48, 30]
    assert points[1].href == "#turn-1" and "empathy" in points[1].title
    assert points[0].y < points[1].y < points[2].y  # calmer is lower on the chart
    assert points[0].x < points[1].x < points[2].x
    assert [t.label for t in chart.ticks] == [str(t.index) for t in record.turns]
