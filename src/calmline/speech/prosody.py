"""How a phrase ended, in the voice: pitch, loudness and length of its last ~300 ms.

A speaker who has finished usually lets the pitch fall to the bottom of their range
and the voice fade; one who will go on tends to hold the pitch level (or raise it)
and stop abruptly, or to stretch the last syllable ("and... um"). These cues are
cheap to read: a short-time autocorrelation pitch tracker and frame energies in
numpy, a few milliseconds for a phrase, so they can be read at every phrase pause
without a model of their own. The end-of-turn model
(``calmline.speech.end_of_turn``) weighs them with the words.

Every feature is relative to the phrase itself (its median pitch, its typical
loudness, its typical voiced stretch), so a deep voice and a high one, a loud
microphone and a quiet one, read alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from calmline.protocols import SAMPLE_RATE, AudioArray

FRAME_S = 0.03  # analysis window: two periods of a 70 Hz voice
HOP_S = 0.01
FMIN_HZ, FMAX_HZ = 70.0, 400.0
VOICED_CORRELATION = 0.45  # normalised autocorrelation peak above which a frame is voiced
SPEECH_FLOOR_DB = -30.0  # frames this far below the phrase's loudest are not speech
TAIL_S = 0.3  # the stretch before the end of speech that the end is read from
OCTAVE_ERROR_ST = 9.0
CONTEXT_S = 2.0  # the stretch the speaker's own pitch and loudness are taken from

FEATURE_NAMES = (
    "pitch_slope",  # semitones per second over the tail, / 20
    "pitch_final",  # last voiced pitch against the phrase's median, semitones / 6
    "energy_final",  # last 100 ms of speech against the phrase's typical loudness, dB / 10
    "lengthening",  # last voiced stretch against the phrase's typical one, log2
    "voiced_tail",  # share of the tail that is voiced
)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PitchTrack:
    """Frame-by-frame pitch (Hz, 0 when unvoiced) and loudness (RMS), every ``HOP_S``."""

    f0: FloatArray
    rms: FloatArray


def _frames(audio: npt.NDArray[np.float64], size: int, hop: int) -> FloatArray:
    count = 1 + max(audio.size - size, 0) // hop
    index = np.arange(size)[None, :] + hop * np.arange(count)[:, None]
    return audio[index]


def pitch_track(audio: AudioArray, rate: int = SAMPLE_RATE) -> PitchTrack:
    """Pitch by the normalised autocorrelation peak between 70 and 400 Hz, per frame.

    Autocorrelation (not a learned tracker) because it is all numpy and fast, and an
    octave error now and then only blurs a slope that is read over 300 ms.
    """
    size, hop = int(FRAME_S * rate), int(HOP_S * rate)
    signal = np.asarray(audio, dtype=np.float64).reshape(-1)
    if signal.size < size:
        return PitchTrack(np.zeros(0), np.zeros(0))
    frames = _frames(signal, size, hop)
    frames = frames - frames.mean(axis=1, keepdims=True)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    windowed = frames * np.hanning(size)
    spectrum = np.fft.rfft(windowed, n=2 * size, axis=1)
    corr = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :size]
    energy = np.maximum(corr[:, :1], 1e-12)
    # Unbias: a Hann-windowed frame's autocorrelation falls with the lag on its own.
    window_corr = np.correlate(np.hanning(size), np.hanning(size), mode="full")[size - 1 :]
    norm = corr / energy / np.maximum(window_corr / window_corr[0], 1e-3)
    lo, hi = int(rate / FMAX_HZ), min(int(rate / FMIN_HZ), size - 1)
    lags = lo + np.argmax(norm[:, lo:hi], axis=1)
    peak = norm[np.arange(norm.shape[0]), lags]
    loud = rms > rms.max() * 10 ** (SPEECH_FLOOR_DB / 20) if rms.size else rms > 0
    voiced = (peak > VOICED_CORRELATION) & loud
    f0 = np.where(voiced, rate / lags, 0.0)
    return PitchTrack(f0=f0, rms=rms)


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(start, end) of each run of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def voice_features(audio: AudioArray, rate: int = SAMPLE_RATE) -> npt.NDArray[np.float32]:
    """``FEATURE_NAMES`` for the end of the speech in ``audio`` (trailing silence ignored).

    All zeros when there is too little voiced speech to read (a whisper, a click):
    the model then decides from the words alone.
    """
    out = np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    tail = np.asarray(audio, dtype=np.float32).reshape(-1)[-int((CONTEXT_S + 1.0) * rate) :]
    track = pitch_track(tail, rate)
    if track.rms.size == 0 or track.rms.max() <= 0:
        return out
    speech = track.rms > track.rms.max() * 10 ** (SPEECH_FLOOR_DB / 20)
    end = int(np.flatnonzero(speech)[-1]) + 1 if speech.any() else 0
    first = max(0, end - int(CONTEXT_S / HOP_S))
    f0, rms, speech = track.f0[first:end], track.rms[first:end], speech[first:end]
    voiced = f0 > 0
    if voiced.sum() < 5:
        return out
    semitones = np.zeros_like(f0)
    semitones[voiced] = 12 * np.log2(f0[voiced] / np.median(f0[voiced]))
    # Nine semitones off the speaker's median is an octave error of the tracker far
    # more often than a voice: such frames count as unvoiced.
    voiced &= np.abs(semitones) <= OCTAVE_ERROR_ST
    if voiced.sum() < 5:
        return out
    n_tail = int(TAIL_S / HOP_S)
    t_voiced = np.flatnonzero(voiced[-n_tail:])
    if t_voiced.size >= 3:
        st = semitones[-n_tail:][t_voiced]
        slope = np.polyfit(t_voiced * HOP_S, st, 1)[0]
        out[0] = np.clip(slope, -40, 40) / 20
        out[1] = np.clip(np.mean(st[-3:]), -12, 12) / 6
    typical = np.median(rms[speech]) if speech.any() else rms.max()
    last = rms[-int(0.1 / HOP_S) :]
    out[2] = (
        np.clip(20 * np.log10(max(float(np.sqrt(np.mean(last**2))), 1e-9) / typical), -30, 10) / 10
    )
    runs = _runs(voiced)
    lengths = np.array([b - a for a, b in runs], dtype=np.float64)
    if lengths.size:
        out[3] = np.clip(np.log2(lengths[-1] / max(np.median(lengths), 1.0)), -3, 3)
    out[4] = float(voiced[-n_tail:].mean())
    return out
