"""Whole practice calls through the ``calmline`` command on the bundled models and real audio."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from calmline.call.session import load_session
from calmline.models import Assessment
from calmline.speech.audio import write_wav
from calmline.speech.tts import load_speaker
from support.cli import calmline
from support.words import letter_words

GOOD = [
    "I'm so sorry, that must be really frustrating.",
    "So it leaks from the base every time you boil it. Is that right?",
    "I can swap it for a new one right now, or give you a full refund, whichever you prefer.",
]
POOR = [
    "What's the problem?",
    "Calm down, you probably overfilled it.",
    "It's policy, there's nothing I can do about it.",
    "You need to calm down or leave.",
]


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return calmline(*args, timeout=timeout, env=env, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def learner_wavs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The good script spoken by espeak-ng's learner voice, one WAV per turn."""
    folder = tmp_path_factory.mktemp("learner")
    speaker = load_speaker("espeak")
    paths = []
    for i, text in enumerate(GOOD):
        audio, rate = speaker.synthesize(text, "learner")
        paths.append(write_wav(folder / f"turn-{i}.wav", audio, rate))
    return paths


@pytest.mark.models
def test_unattended_audio_call_produces_a_complete_session_folder(
    learner_wavs: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "rec"
    done = run(
        "practice",
        "--audio",
        *map(str, learner_wavs),
        "--no-speak",
        "--json",
        "--out",
        str(out),
        "--seed",
        "3",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    folder = Path(summary["session"])
    record = load_session(folder)
    # every turn on disk with its audio, both sides
    assert record.outcome in {"satisfied", "learner_ended"}
    for turn in record.turns:
        assert turn.audio, f"turn {turn.index} has no audio"
        assert (folder / turn.audio).stat().st_size > 2000
    # what the learner said was heard: the real speech-to-text on real audio
    heard = record.learner_turns("call")
    assert len(heard) == len(GOOD)
    for said, turn in zip(GOOD, heard, strict=True):
        overlap = len(letter_words(said) & letter_words(turn.text)) / len(letter_words(said))
        assert overlap >= 0.7, (said, turn.text)
        assert turn.words and turn.tone is not None and turn.anger is not None
    # the call was marked, with all three written reports and the spoken summary
    for name in ("assessment.json", "report.md", "report.html", "feedback-summary.wav"):
        assert (folder / name).stat().st_size > 200, name
    assessments = [
        Assessment.model_validate(a) for a in json.loads((folder / "assessment.json").read_text())
    ]
    assert {a.rubric_id for a in assessments} == {"difficult_customers", "challenging_behaviour"}
    assert record.models.stt == "tiny.en" and "gemma" in record.models.llm.lower()


@pytest.mark.models
def test_a_well_handled_call_calms_the_customer_and_a_poor_one_does_not(tmp_path: Path) -> None:
    finals = {}
    for name, lines in (("good", GOOD), ("poor", POOR)):
        script = tmp_path / f"{name}.txt"
        script.write_text("\n".join(lines) + "\n")
        done = run("practice", "--script", str(script), "--no-speak", "--no-debrief", "--no-assess",
                   "--json", "--out", str(tmp_path / "rec"), "--seed", "5")  # fmt: skip
        assert done.returncode == 0, done.stderr
        finals[name] = json.loads(done.stdout.strip().splitlines()[-1])
    good, poor = finals["good"], finals["poor"]
    assert good["final_anger"] < good["start_anger"]
    assert poor["final_anger"] > poor["start_anger"] or poor["outcome"] in {"hung_up", "manager"}
    assert good["final_anger"] < poor["final_anger"]


@pytest.mark.models
def test_exam_mode_shows_no_meter_on_the_command_line(tmp_path: Path) -> None:
    script = tmp_path / "s.txt"
    script.write_text("I'm sorry about the kettle.\n")
    shown = run("practice", "--script", str(script), "--no-speak", "--no-debrief", "--no-assess",
                "--exam", "--out", str(tmp_path))  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "CUSTOMER:" in shown.stdout and "anger █" not in shown.stdout
    normal = run("practice", "--script", str(script), "--no-speak", "--no-debrief", "--no-assess",
                 "--out", str(tmp_path))  # fmt: skip
    assert "anger █" in normal.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "no-such-pack", "--input", "text"], "unknown scenario"),
        (["--audio", "/nonexistent/turn.wav"], "turn.wav"),
        (["--audio"], "--audio needs at least one audio file"),
        (["--script", "/nonexistent/s.txt"], "no such script file"),
        (["--input", "mic"], "no input device"),
        (["--input", "telepathy"], "unknown --input"),
        (["--llm", "psychic", "--input", "text"], "unknown --llm"),
        (["stray.wav"], "add --audio"),
    ],
)
def test_bad_practice_input_is_one_clear_line(
    args: list[str], message: str, tmp_path: Path
) -> None:
    done = run("practice", *args, "--no-speak", "--out", str(tmp_path), timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    first = done.stderr.strip().splitlines()[0]
    assert first.startswith("calmline: error:") and message.lower() in done.stderr.lower(), (
        done.stderr
    )


def test_corrupt_audio_is_refused_before_the_call_starts(tmp_path: Path) -> None:
    bad = tmp_path / "turn.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    done = run(
        "practice", "--audio", str(bad), "--no-speak", "--out", str(tmp_path / "rec"), timeout=60
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "turn.wav" in done.stderr
    assert not (tmp_path / "rec").exists() or not any((tmp_path / "rec").iterdir())


def test_an_hour_long_file_is_not_taken_as_one_turn(tmp_path: Path) -> None:
    import numpy as np

    long = write_wav(tmp_path / "lecture.wav", np.zeros(8_000 * 60 * 11, np.float32), 8_000)
    done = run(
        "practice", "--audio", str(long), "--no-speak", "--out", str(tmp_path / "rec"), timeout=60
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "11 minutes long" in done.stderr and "calmline transcribe" in done.stderr
