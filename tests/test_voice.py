"""Voice cues: loudness, rate and pitch of a turn, and z-scores against the learner's baseline."""

from __future__ import annotations

import numpy as np
import pytest

from calmline.models import VoiceFeatures, WordTiming
from calmline.protocols import SAMPLE_RATE
from calmline.speech.voice import VoiceBaseline, measure_voice, speech_rate
from support.speech import say


def sine(freq: float, seconds: float = 1.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def speech(voice: str) -> np.ndarray:
    return say("I really need this sorted out today, please.", voice)


def test_louder_copy_is_louder(espeak: str) -> None:
    audio = speech("learner")
    quiet, loud = measure_voice(audio * 0.25, []), measure_voice(audio, [])
    assert loud.loudness_db - quiet.loudness_db == pytest.approx(12.04, abs=0.2)


@pytest.mark.parametrize("freq", [90.0, 200.0, 310.0])
def test_sine_pitch(freq: float) -> None:
    pitch = measure_voice(sine(freq), []).pitch_hz
    assert pitch == pytest.approx(freq, rel=0.01)


def test_unvoiced_audio_has_no_pitch() -> None:
    noise = np.random.default_rng(0).normal(0, 0.1, SAMPLE_RATE).astype(np.float32)
    assert measure_voice(noise, []).pitch_hz is None
    silent = measure_voice(np.zeros(SAMPLE_RATE, np.float32), [])
    assert silent.pitch_hz is None and silent.loudness_db == -100.0
    assert measure_voice(np.zeros(10, np.float32), []).loudness_db == -100.0


def test_lower_voice_measures_lower(espeak: str) -> None:
    customer = measure_voice(speech("customer"), []).pitch_hz
    coach = measure_voice(speech("coach"), []).pitch_hz
    assert customer is not None and coach is not None and customer < coach


def test_speech_rate_from_word_timings() -> None:
    words = [WordTiming(word=w, start=i * 0.5, end=i * 0.5 + 0.4) for i, w in enumerate("abcd")]
    assert speech_rate(words) == pytest.approx(4 / 1.9)
    assert speech_rate([]) == 0.0
    assert measure_voice(sine(150), words).speech_rate_wps == pytest.approx(4 / 1.9)


def turn(loudness: float, rate: float = 2.5, pitch: float | None = 120.0) -> VoiceFeatures:
    return VoiceFeatures(loudness_db=loudness, speech_rate_wps=rate, pitch_hz=pitch)


def test_baseline_needs_two_turns_then_scores_raised_voice() -> None:
    baseline = VoiceBaseline()
    first = turn(-22.0)
    assert baseline.relative(first).loudness_z is None
    baseline.update(first)
    assert baseline.relative(turn(-21.0)).loudness_z is None  # one turn has no spread
    for loudness, rate, pitch in [(-20.0, 2.4, 118.0), (-24.0, 2.8, 125.0), (-21.0, 2.6, 121.0)]:
        baseline.update(turn(loudness, rate, pitch))
    shout = baseline.relative(turn(-8.0, rate=4.0, pitch=180.0))
    assert shout.loudness_z is not None and shout.loudness_z > 3
    assert shout.rate_z is not None and shout.rate_z > 3
    assert shout.pitch_z is not None and shout.pitch_z > 3
    usual = baseline.relative(turn(-21.5, rate=2.6, pitch=121.0))
    assert usual.loudness_z is not None and abs(usual.loudness_z) < 1
    assert shout.loudness_db == -8.0  # raw values are kept alongside the z-scores


def test_baseline_floors_the_spread_and_skips_missing_cues() -> None:
    baseline = VoiceBaseline()
    for _ in range(3):
        baseline.update(turn(-20.0, rate=0.0, pitch=None))  # identical turns: zero spread
    nudged = baseline.relative(turn(-19.0, rate=0.0, pitch=None))
    # 1 dB over three identical turns is not a shout: the 1.5 dB floor keeps z small.
    assert nudged.loudness_z == pytest.approx(1 / 1.5)
    assert nudged.rate_z is None and nudged.pitch_z is None
    assert baseline.turns == 3
