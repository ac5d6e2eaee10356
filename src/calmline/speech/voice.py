"""Voice cues of a learner turn (loudness, speech rate, pitch) and the learner's own baseline.

Pure numpy, no I/O: it takes the turn's samples and word timings and returns
``VoiceFeatures``. Judging a voice as "raised" only makes sense against that
speaker's own norm, hence ``VoiceBaseline`` and the ``*_z`` fields.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from calmline.models import VoiceFeatures, WordTiming
from calmline.protocols import SAMPLE_RATE, AudioArray

FLOOR_DB = -100.0
VOICED_BELOW_PEAK_DB = 30.0  # frames this far under the loudest frame are pauses, not voice
VOICED_MIN_DBFS = -55.0  # and nothing this quiet is voice, whatever the peak
PITCH_MIN_HZ, PITCH_MAX_HZ = 60.0, 400.0  # covers adult speaking voices
YIN_THRESHOLD = 0.2  # de Cheveigné & Kawahara's dip threshold; higher admits breathier voices
MIN_PITCHED_FRAMES = 3  # fewer pitched frames than this: no pitch reported


def measure_voice(
    audio: AudioArray, words: Sequence[WordTiming], sample_rate: int = SAMPLE_RATE
) -> VoiceFeatures:
    """Loudness over voiced frames (dBFS), words per second, and median pitch (Hz or None)."""
    frames = _frames(np.asarray(audio, dtype=np.float32), sample_rate)
    if frames.size == 0:
        return VoiceFeatures(loudness_db=FLOOR_DB, speech_rate_wps=speech_rate(words))
    power = np.mean(np.square(frames, dtype=np.float64), axis=1)
    level = 10.0 * np.log10(np.maximum(power, 1e-12))
    voiced = (level >= level.max() - VOICED_BELOW_PEAK_DB) & (level >= VOICED_MIN_DBFS)
    loudness = float(10.0 * np.log10(power[voiced].mean())) if voiced.any() else FLOOR_DB
    return VoiceFeatures(
        loudness_db=max(FLOOR_DB, loudness),
        speech_rate_wps=speech_rate(words),
        pitch_hz=median_pitch(frames[voiced], sample_rate) if voiced.any() else None,
    )


def speech_rate(words: Sequence[WordTiming]) -> float:
    """Words per second over the span from the first word's start to the last word's end."""
    if not words:
        return 0.0
    span = words[-1].end - words[0].start
    return len(words) / span if span > 0 else 0.0


def _frames(audio: AudioArray, sample_rate: int) -> np.ndarray:
    # 40 ms frames hold two periods of a 60 Hz voice, which YIN needs; 20 ms hop.
    size, hop = int(0.040 * sample_rate), int(0.020 * sample_rate)
    if audio.size < size:
        return np.zeros((0, size), dtype=np.float32)
    count = 1 + (audio.size - size) // hop
    index = np.arange(size)[None, :] + hop * np.arange(count)[:, None]
    return audio[index]


def median_pitch(frames: np.ndarray, sample_rate: int) -> float | None:
    """Median fundamental frequency over frames, by YIN; None when too few are periodic."""
    if frames.shape[0] == 0:
        return None
    size = frames.shape[1]
    max_lag = min(int(sample_rate / PITCH_MIN_HZ), size // 2)
    min_lag = max(2, int(sample_rate / PITCH_MAX_HZ))
    x = frames.astype(np.float64) - frames.mean(axis=1, keepdims=True)
    window = size - max_lag
    # Difference function d(tau) = sum over a fixed window of (x[j] - x[j + tau])^2,
    # expanded as energies minus twice the cross-correlation (computed by FFT).
    n_fft = 1 << int(np.ceil(np.log2(size + window)))
    head = np.fft.rfft(x[:, :window], n_fft)
    full = np.fft.rfft(x, n_fft)
    cross = np.fft.irfft(np.conj(head) * full, n_fft)[:, : max_lag + 1]
    sq = np.square(x)
    cumulative = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(sq, axis=1)], axis=1)
    lags = np.arange(max_lag + 1)
    energy_shifted = cumulative[:, lags + window] - cumulative[:, lags]
    diff = cumulative[:, [window]] + energy_shifted - 2.0 * cross
    # Cumulative mean normalised difference: removes the bias towards lag 0.
    running = np.cumsum(diff[:, 1:], axis=1) / np.arange(1, max_lag + 1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] / np.maximum(running, 1e-12)

    pitches: list[float] = []
    for row in cmnd:
        below = np.nonzero(row[min_lag:max_lag] < YIN_THRESHOLD)[0]
        if below.size == 0:
            continue
        tau = int(below[0]) + min_lag
        while tau + 1 < max_lag and row[tau + 1] < row[tau]:  # walk down to the dip's bottom
            tau += 1
        if tau == min_lag and row[tau - 1] <= row[tau]:
            continue  # still falling at the highest pitch allowed: noise, not a voice
        pitches.append(sample_rate / _parabolic(row, tau))
    if len(pitches) < MIN_PITCHED_FRAMES:
        return None
    return float(np.median(pitches))


def _parabolic(row: np.ndarray, tau: int) -> float:
    """Refine a dip position between samples, for pitch accuracy finer than one lag step."""
    if tau <= 0 or tau + 1 >= row.size:
        return float(tau)
    a, b, c = row[tau - 1], row[tau], row[tau + 1]
    denom = a - 2.0 * b + c
    return float(tau) if denom == 0 else float(tau + 0.5 * (a - c) / denom)


@dataclass
class _Running:
    """Welford's running mean and variance: stable, and needs no history."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, value: float) -> None:
        self.n += 1
        delta = value - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (value - self.mean)

    def z(self, value: float, min_std: float) -> float | None:
        if self.n < VoiceBaseline.MIN_TURNS:
            return None
        std = math.sqrt(self.m2 / (self.n - 1))
        # A floor on the spread: after two near-identical turns a tiny difference
        # would otherwise read as a shout.
        return (value - self.mean) / max(std, min_std)


@dataclass
class VoiceBaseline:
    """The learner's own running norm per voice feature.

    Call ``relative(features)`` for a turn *before* ``update(features)`` with it, so a
    turn is compared with the learner's earlier turns, not partly with itself.
    """

    MIN_TURNS: ClassVar[int] = 2  # z-scores need a spread, so at least two earlier turns
    # Smallest spreads that count (1.5 dB, 0.3 words/s, 8 Hz are barely audible).
    MIN_STD: ClassVar[dict[str, float]] = {"loudness": 1.5, "rate": 0.3, "pitch": 8.0}

    loudness: _Running = field(default_factory=_Running)
    rate: _Running = field(default_factory=_Running)
    pitch: _Running = field(default_factory=_Running)

    @property
    def turns(self) -> int:
        return self.loudness.n

    def update(self, features: VoiceFeatures) -> None:
        self.loudness.add(features.loudness_db)
        if features.speech_rate_wps > 0:  # a turn without word timings says nothing of rate
            self.rate.add(features.speech_rate_wps)
        if features.pitch_hz is not None:
            self.pitch.add(features.pitch_hz)

    def relative(self, features: VoiceFeatures) -> VoiceFeatures:
        """A copy of ``features`` with ``loudness_z``, ``rate_z``, ``pitch_z`` set where known."""
        m = self.MIN_STD
        rate = features.speech_rate_wps
        return features.model_copy(
            update={
                "loudness_z": self.loudness.z(features.loudness_db, m["loudness"]),
                "rate_z": self.rate.z(rate, m["rate"]) if rate > 0 else None,
                "pitch_z": (
                    self.pitch.z(features.pitch_hz, m["pitch"])
                    if features.pitch_hz is not None
                    else None
                ),
            }
        )
