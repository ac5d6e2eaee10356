"""Text to speech: espeak-ng and pyttsx3 speakers give real, distinct voices."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from calmline.errors import CalmlineError
from calmline.protocols import Synthesizer
from calmline.speech.audio import is_silent
from calmline.speech.tts import EspeakSpeaker, Pyttsx3Speaker, load_speaker, split_sentences
from calmline.speech.voice import measure_voice

LINE = "I have been waiting two weeks for this refund."


@pytest.fixture(scope="module")
def espeak_speaker(espeak: str) -> EspeakSpeaker:
    return EspeakSpeaker(executable=espeak)


@pytest.mark.parametrize("voice", ["customer", "coach", "learner"])
def test_espeak_voices_speak(espeak_speaker: EspeakSpeaker, voice: str) -> None:
    audio, rate = espeak_speaker.synthesize(LINE, voice)
    assert isinstance(espeak_speaker, Synthesizer)
    assert rate == 22_050 and audio.dtype == np.float32
    assert 1.5 < audio.size / rate < 6.0 and not is_silent(audio)


def test_customer_and_coach_sound_different(espeak_speaker: EspeakSpeaker) -> None:
    customer, rate = espeak_speaker.synthesize(LINE, "customer")
    coach, _ = espeak_speaker.synthesize(LINE, "coach")
    assert customer.size != coach.size  # different speaking rates
    low = measure_voice(customer, [], rate).pitch_hz
    high = measure_voice(coach, [], rate).pitch_hz
    assert low is not None and high is not None and high - low > 20


def test_text_is_never_read_as_options(espeak_speaker: EspeakSpeaker) -> None:
    audio, _ = espeak_speaker.synthesize("--help me, -v now", "customer")
    assert not is_silent(audio)  # spoken, not taken as espeak-ng flags


def test_empty_text_gives_empty_audio(espeak_speaker: EspeakSpeaker) -> None:
    assert espeak_speaker.synthesize("   ", "coach")[0].size == 0


def test_bad_voice_name_is_refused(espeak_speaker: EspeakSpeaker) -> None:
    with pytest.raises(CalmlineError, match="unknown voice"):
        espeak_speaker.synthesize("hello", "customer; rm -rf /")
    with pytest.raises(CalmlineError, match="espeak-ng failed"):
        espeak_speaker.synthesize("hello", "xx-notalanguage")


def test_missing_espeak_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CalmlineError) as info:
        load_speaker("espeak")
    assert "apt-get install espeak-ng" in info.value.hint and "make demo" in info.value.hint


def test_unknown_engine() -> None:
    with pytest.raises(CalmlineError, match="unknown TTS engine"):
        load_speaker("festival")


def pyttsx3_driver_error() -> str | None:
    probe = "import pyttsx3; pyttsx3.init('espeak')"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1]


def test_pyttsx3_speaker_produces_audio() -> None:
    reason = pyttsx3_driver_error()
    if reason is not None:
        pytest.skip(f"pyttsx3 cannot load its espeak driver: {reason}")
    speaker = load_speaker("pyttsx3")
    assert isinstance(speaker, Pyttsx3Speaker)
    for voice in ("customer", "coach", "customer"):  # reuse is where pyttsx3 used to hang
        audio, rate = speaker.synthesize(LINE, voice)
        assert rate > 0 and audio.size / rate > 1.0 and not is_silent(audio)


def test_split_sentences() -> None:
    text = 'Hello Mr. Smith. I want a refund! Now? See e.g. the form.\nShe said "no." Fine'
    assert split_sentences(text) == [
        "Hello Mr. Smith.",
        "I want a refund!",
        "Now?",
        "See e.g. the form.",
        'She said "no."',
        "Fine",
    ]
    assert split_sentences("  ") == []
