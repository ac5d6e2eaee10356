"""Real speech for tests and benchmarks: espeak-ng's voices at the 16 kHz the pipeline takes."""

from __future__ import annotations

import numpy as np

from calmline.bench.sim_mic import speech_bounds
from calmline.protocols import SAMPLE_RATE, AudioArray
from calmline.speech.audio import parse_wav_bytes, resample
from calmline.speech.tts import EspeakSpeaker, voice_for


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


def spoken_ssml(
    ssml: str, voice: str = "learner", rate_wpm: int | None = None, pitch: int | None = None
) -> AudioArray:
    """SSML (``<speak>…</speak>``) spoken by espeak-ng in ``voice``, float32 at 16 kHz.

    For a pause *inside* a turn (``<break time="700ms"/>``): the words before it keep
    the voice of a sentence that goes on, which two lines spoken apart would not.
    ``rate_wpm``, ``pitch``: instead of the voice's own speed and pitch (0-99).
    """
    import subprocess

    v = voice_for(voice)
    cmd = [EspeakSpeaker().executable, "-m", "-v", v.espeak, "-p", str(pitch or v.pitch)]
    cmd += ["-s", str(rate_wpm or v.rate_wpm), "--stdout", "--stdin"]
    done = subprocess.run(cmd, input=ssml.encode(), capture_output=True, check=True, timeout=60)
    audio, rate = parse_wav_bytes(done.stdout)
    return resample(audio, rate, SAMPLE_RATE).astype(np.float32)
