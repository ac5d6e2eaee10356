"""Real speech for tests: espeak-ng's voices, resampled to the 16 kHz the pipeline takes."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from calmline.protocols import AudioArray
from calmline.testing.speech import spoken

RATE = 16_000


def espeak_path() -> str:
    """The espeak-ng program; fails the test (not skips) when it is missing."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail("espeak-ng is not installed: run `make test`, which installs it")
    return exe


def say(text: str, voice: str = "learner", *, trim: bool = False) -> AudioArray:
    """``text`` spoken by espeak-ng in ``voice``, as float32 at 16 kHz.

    ``trim``: without the leading and trailing silence espeak-ng adds.
    """
    return spoken(text, voice, trim=trim, executable=espeak_path())


def silence(seconds: float) -> AudioArray:
    return np.zeros(int(seconds * RATE), np.float32)
