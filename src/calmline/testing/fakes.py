"""Scripted stand-ins for the model- and device-backed protocols, for unit tests of pure logic.

``FakeChatModel`` lives beside the real backends in ``calmline.testing.fake_llm`` and
``FakeEmbedder`` in ``calmline.embed``; these cover speech in and out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from calmline.models import Transcription, WordTiming
from calmline.protocols import AudioArray


@dataclass
class FakeSpeaker:
    """Speech synthesis that returns a quiet tone whose length follows the text (0.05 s a word)."""

    name: str = "fake-tts"
    sample_rate: int = 16_000
    spoken: list[tuple[str, str]] = field(default_factory=list)  # (voice, text) in order

    def synthesize(self, text: str, voice: str) -> tuple[AudioArray, int]:
        self.spoken.append((voice, text))
        n = int(self.sample_rate * 0.05 * max(1, len(text.split())))
        t = np.arange(n, dtype=np.float32) / self.sample_rate
        return (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), self.sample_rate


@dataclass
class FakeTranscriber:
    """Speech to text that returns scripted texts in order, whatever the audio."""

    texts: Sequence[str]
    name: str = "fake-stt"
    heard: list[int] = field(default_factory=list)  # sample counts of the audio received

    def transcribe(self, audio: AudioArray) -> Transcription:
        index = len(self.heard)
        self.heard.append(int(audio.size))
        text = self.texts[index] if index < len(self.texts) else ""
        duration = audio.size / 16_000
        tokens = text.split()
        step = duration / max(1, len(tokens))
        words = [
            WordTiming(word=w, start=i * step, end=(i + 1) * step) for i, w in enumerate(tokens)
        ]
        return Transcription(text=text, duration=duration, words=words, model=self.name)
