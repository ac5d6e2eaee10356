"""The speech commands as a user runs them: ``calmline transcribe`` and ``calmline devices``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from calmline.errors import CalmlineError
from support.cli import calmline

run = calmline


@pytest.fixture(scope="module")
def speech_wav(espeak: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Straight from espeak-ng: 22 050 Hz, so the command's own resampling is exercised.
    path = tmp_path_factory.mktemp("cli") / "learner.wav"
    subprocess.run(
        [
            espeak,
            "-v",
            "en-us+m1",
            "-s",
            "160",
            "-w",
            str(path),
            "Let me check the delivery details for you right now.",
        ],
        check=True,
    )
    return path


@pytest.mark.models
def test_transcribe_prints_the_text(speech_wav: Path) -> None:
    done = run("transcribe", str(speech_wav))
    assert done.returncode == 0, done.stderr
    assert "delivery details" in done.stdout.lower()
    assert "Traceback" not in done.stderr


@pytest.mark.models
def test_transcribe_json_has_segments_and_word_timings(speech_wav: Path) -> None:
    done = run("transcribe", "--json", str(speech_wav), str(speech_wav))
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout)  # the spinner is on stderr: stdout is pure JSON
    assert len(files) == 2 and files[0]["file"] == str(speech_wav)
    first = files[0]
    assert "right now" in first["text"].lower()
    assert first["segments"] and first["words"]
    assert all(0 <= w["start"] <= w["end"] <= first["duration"] for w in first["words"])


def assert_one_error_line(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("calmline: error:")
    assert "Traceback" not in done.stderr
    flat = " ".join(done.stderr.split())  # the console may wrap a long line
    for needle in needles:
        assert needle in flat


def test_missing_file(tmp_path: Path) -> None:
    assert_one_error_line(run("transcribe", str(tmp_path / "nope.wav")), "not found")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    assert_one_error_line(run("transcribe", str(tmp_path / "empty.wav")), "empty")


def test_corrupt_file(tmp_path: Path) -> None:
    (tmp_path / "bad.wav").write_bytes(np.random.default_rng(2).bytes(5000))
    assert_one_error_line(run("transcribe", str(tmp_path / "bad.wav")), "cannot decode")


def test_bad_file_among_good_ones_fails_before_the_model_loads(
    speech_wav: Path, tmp_path: Path
) -> None:
    done = run("transcribe", str(speech_wav), str(tmp_path / "missing.wav"))
    assert_one_error_line(done, "missing.wav")
    assert "Loading" not in done.stderr


def test_unknown_model_says_what_to_install(speech_wav: Path) -> None:
    done = run("transcribe", "--model", "large-v3", str(speech_wav))
    assert_one_error_line(done, "tiny.en", "pip install 'calmline[models-base]'")


def test_devices_lists_what_portaudio_reports() -> None:
    from calmline.speech.devices import list_devices

    present = list_devices()  # what the library itself sees on this machine
    done = run("devices", env={**os.environ, "COLUMNS": "200"})
    assert "Traceback" not in done.stderr
    if not present:  # a headless server: say so, and exit 1 for scripts
        assert done.returncode == 1, done.stdout + done.stderr
        assert done.stdout.startswith("no audio devices found")
        assert "typed, scripted and file input still work" in done.stdout
    else:
        assert done.returncode == 0, done.stderr
        assert all(d.name in done.stdout for d in present), done.stdout


def test_no_microphone_gives_a_clear_way_out() -> None:
    from calmline.speech.devices import default_input_available, list_devices, resolve_device

    if any(d.max_input_channels for d in list_devices()):
        pytest.skip("this machine has an input device")
    assert default_input_available() is False
    with pytest.raises(CalmlineError, match="no input device found") as info:
        resolve_device(None, "input")
    assert info.value.hint == "use --input text, --script FILE or --audio FILES"
