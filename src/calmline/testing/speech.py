"""Real speech for tests and benchmarks: espeak-ng's voices at the 16 kHz the pipeline takes."""

from __future__ import annotations

import numpy as np

from calmline.bench.sim_mic import speech_bounds
from calmline.protocols import SAMPLE_RATE, AudioArray
from calmline.speech.audio import resample
from calmline.speech.tts import EspeakSpeaker


def spoken(
    text: str, voice: str = "learner", *, trim: bool = False, executable: str | None = None
) -> AudioArray:
    """``text`` spoken by espeak-ng in ``voice``, as float32 at 16 kHz.

    ``trim``: without the leading and trailing silence espeak-ng adds.
    ``executable``: the espeak-ng program (found on PATH by default).
    """
    audio, rate = EspeakSpeaker(executable=executable).synthesize(text, voice)
    out = resample(audio, rate, SAMPLE_RATE).astype(np.float32)
    if trim:
        start, end = speech_bounds(out)
        out = out[start:end]
    return out
