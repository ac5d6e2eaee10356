"""Sample session folders for trying the dashboard, its screenshots and its tests.

They are written exactly as ``calmline practice`` and ``calmline assess`` write real
ones (``SessionRecord`` and ``Assessment`` dumps plus one small WAV per turn), so the
dashboard reads them through the same code paths.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from calmline.call.session import SESSION_FILE, atomic_write_text
from calmline.models import (
    AngerReason,
    AngerStep,
    Assessment,
    Evidence,
    PointVerdict,
    SessionRecord,
    ToneReading,
    Turn,
)
from calmline.speech.audio import write_wav

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

RUBRIC_ID = "difficult_customers"
SEED = "000_1d3fdee3de4d81c6.txt"
POINTS = (
    ("dc1_indicators", "Accurately describing at least two indicators of a difficult customer."),
    (
        "dc2_structured_approach",
        "A structured approach: acknowledge feelings, stay calm, offer solutions.",
    ),
    ("dc3_active_listening", "Active listening through paraphrasing or clarifying concerns."),
    ("dc4_service_recovery", "Apologising and agreeing on a resolution action."),
    ("dc5_professionalism", "Maintaining professionalism and not taking behaviour personally."),
)
SCORES = {"met": 1.0, "partly": 0.5, "not_met": 0.0}

CALL = (
    ("customer", "This kettle broke after two days and nobody here seems to care!", None),
    (
        "learner",
        "I'm sorry it stopped working. So it failed after only two days of use?",
        ("empathy", "paraphrase", "question"),
    ),
    ("customer", "Yes, two days. I want my money back, not excuses.", None),
    (
        "learner",
        "I can refund you today, or swap it for a new one right now. Which would you prefer?",
        ("solution", "ownership"),
    ),
    ("customer", "A refund, please. Thank you for sorting it.", None),
)


def tone_wav(path: Path, seconds: float = 0.6, pitch: float = 220.0) -> None:
    """A short quiet tone: enough for an ``<audio>`` element to load and play."""
    t = np.arange(int(16_000 * seconds), dtype=np.float32) / 16_000
    write_wav(path, (0.1 * np.sin(2 * math.pi * pitch * t)).astype(np.float32))


def sample_session(
    root: Path,
    session_id: str,
    learner: str,
    scenario: str = "kettle-counter",
    created_at: datetime | None = None,
    verdicts: tuple[str, ...] = ("met", "partly", "met", "met", "not_met"),
    learner_lines: tuple[str, ...] = (),
    anger: tuple[float, ...] = (62, 48, 30),
) -> Path:
    """Write one session folder with audio per turn and (if ``verdicts``) an assessment.json."""
    folder = root / session_id
    folder.mkdir(parents=True, exist_ok=True)
    turns: list[Turn] = []
    learner_no = 0
    for index, (speaker, text, tags) in enumerate(CALL):
        turn = Turn(
            index=index,
            speaker=speaker,  # type: ignore[arg-type]  # sample data: literal strings
            text=text,
            started_at=index * 4.0,
            ended_at=index * 4.0 + 3.5,
            source="script" if speaker == "learner" else "authored",
            audio=f"turn-{index:03d}-{speaker}.wav",
        )
        if speaker == "learner":
            if learner_no < len(learner_lines):
                turn.text = learner_lines[learner_no]
            turn.tone = ToneReading(
                tags={t: 0.8 for t in tags or ()},
                direction="de-escalating",
                cues=[f"said '{t}'" for t in tags or ()],
            )
            before, after = anger[learner_no], anger[learner_no + 1]
            turn.anger = AngerStep(
                before=before,
                after=after,
                band="angry" if after >= 50 else "irritated",
                reasons=[
                    AngerReason(cause=t, delta=(after - before) / 2) for t in (tags or ())[:2]
                ],
            )
            learner_no += 1
        tone_wav(folder / turn.audio, pitch=180.0 if speaker == "learner" else 260.0)  # type: ignore[operator]
        turns.append(turn)
    record = SessionRecord(
        id=session_id,
        learner=learner,
        scenario=scenario,
        scenario_title="Broken kettle",
        created_at=created_at or datetime.now(UTC),
        turns=turns,
        outcome="satisfied",
        start_anger=anger[0],
        final_anger=anger[-1],
    )
    atomic_write_text(folder / SESSION_FILE, record.model_dump_json(indent=2))
    if verdicts:
        write_assessment(folder, record, verdicts)
    return folder


def write_assessment(folder: Path, record: SessionRecord, verdicts: tuple[str, ...]) -> Assessment:
    learner_turns = record.learner_turns()
    out: list[PointVerdict] = []
    for (point_id, text), verdict in zip(POINTS, verdicts, strict=False):
        turn = learner_turns[len(out) % len(learner_turns)]
        quote = " ".join(turn.text.split()[:4])
        out.append(
            PointVerdict(
                point_id=point_id,
                source=f"{SEED}#{len(out) + 1}",
                text=text,
                verdict=verdict,  # type: ignore[arg-type]  # sample data: literal strings
                score=SCORES[verdict],
                evidence=[
                    Evidence(
                        turn_index=turn.index, quote=quote, start=turn.started_at, end=turn.ended_at
                    )
                ]
                if verdict != "not_met"
                else [],
                improvement="" if verdict == "met" else "Name the next step and when it happens.",
            )
        )
    score = sum(v.score for v in out) / len(out)
    assessment = Assessment(
        session_id=record.id,
        rubric_id=RUBRIC_ID,
        rubric_title="Difficult customers",
        verdicts=out,
        score=score,
        passed=score >= 0.6,
    )
    atomic_write_text(folder / "assessment.json", "[" + assessment.model_dump_json(indent=2) + "]")
    atomic_write_text(
        folder / "report.html",
        f"<!doctype html><title>Report {record.id}</title><p>score {score:.2f}</p>",
    )
    return assessment


def sample_recordings(root: Path) -> list[Path]:
    """A handful of sessions by two learners over a few weeks, some unmarked."""
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    plans = [
        ("alice", ("partly", "partly", "not_met", "partly", "not_met"), (70, 66, 58)),
        ("alice", ("met", "partly", "met", "partly", "not_met"), (65, 50, 41)),
        ("alice", ("met", "met", "met", "met", "partly"), (62, 40, 22)),
        ("bob", ("not_met", "partly", "not_met", "not_met", "partly"), (70, 78, 74)),
        ("bob", ("partly", "met", "partly", "met", "partly"), (66, 55, 38)),
        ("bob", (), (60, 52, 45)),
    ]
    folders = []
    for n, (learner, verdicts, anger) in enumerate(plans):
        when = start + timedelta(days=4 * n)
        sid = f"{when:%Y%m%d-%H%M%S}-kettle-counter-{n:04x}"
        folders.append(
            sample_session(root, sid, learner, created_at=when, verdicts=verdicts, anger=anger)
        )
    return folders


SAMPLE_PASSWORD = "sample-pass-1"
SAMPLE_USERS = (  # name, role, group
    ("admin", "admin", ""),
    ("tina", "trainer", ""),
    ("ann", "assessor", ""),
    ("alice", "learner", "g1"),
    ("bob", "learner", "g2"),
)


def add_sample_users(db: Session, password: str = SAMPLE_PASSWORD) -> None:
    """Accounts matching :func:`sample_recordings`: trainer tina trains g1 (alice)."""
    from calmline.web import auth

    for name, role, group in SAMPLE_USERS:
        user = auth.add_user(db, name, password, role, group)
        if role == "trainer":
            auth.set_trainer_groups(db, user, ["g1"])
