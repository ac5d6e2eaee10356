"""A simulated microphone: learner speech delivered in 30 ms chunks in real time.

The benchmark and the streaming tests feed the very same input path a microphone
uses (``LiveInput`` -> ``TurnListener`` -> ``Endpointer``), so what they measure is
what a learner gets. ``SimulatedMic`` is an endless stream: silence until an
utterance is queued with ``say``, then that utterance, then silence again, paced
by a clock. It records, per utterance, the clock time at which the last sample of
speech was delivered (the "end of the learner's speech" that latency is measured
from). ``VirtualClock`` makes the same code run instantly in unit tests.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from calmline.protocols import SAMPLE_RATE, AudioArray
from calmline.speech.clock import Clock, RealClock

CHUNK_MS = 30


@dataclass
class SpokenUtterance:
    """One queued utterance and when its speech started and ended (clock seconds)."""

    audio: AudioArray
    speech_start_at: float | None = None
    speech_end_at: float | None = None
    # Samples of the stream up to and including the last sample of speech: a consumer
    # that counts what it has passed on knows when the end of speech went out.
    speech_end_sample: int | None = None


def speech_bounds(audio: AudioArray, threshold: float = 0.01) -> tuple[int, int]:
    """First and one-past-last sample louder than ``threshold``: the speech inside padding."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return 0, 0
    return int(loud[0]), int(loud[-1]) + 1


class SimulatedMic:
    """An endless 16 kHz stream of 30 ms chunks: queued utterances, silence in between.

    Iterate it from one thread (the listener); call ``say`` from another. Chunks are
    paced so that chunk *k* is delivered when its last sample "has been spoken", as a
    sound card delivers a filled buffer. ``noise`` adds a faint hiss so the stream is
    never exact zeros (a real microphone never is).
    """

    def __init__(
        self,
        clock: Clock | None = None,
        chunk_ms: int = CHUNK_MS,
        noise: float = 1e-4,
        seed: int = 0,
    ) -> None:
        self.clock = clock or RealClock()
        self.chunk = SAMPLE_RATE * chunk_ms // 1000
        self.noise = noise
        self._rng = np.random.default_rng(seed)
        self._pending: deque[SpokenUtterance] = deque()
        self._lock = threading.Lock()
        self.spoken: list[SpokenUtterance] = []
        self._closed = False

    def say(self, audio: AudioArray) -> SpokenUtterance:
        """Queue an utterance to be spoken after whatever is queued before it."""
        utt = SpokenUtterance(np.asarray(audio, dtype=np.float32).reshape(-1))
        with self._lock:
            self._pending.append(utt)
            self.spoken.append(utt)
        return utt

    def close(self) -> None:
        """End the stream (the iterator stops at its next chunk)."""
        self._closed = True

    def __iter__(self) -> Iterator[AudioArray]:
        started = self.clock.now()
        delivered = 0  # samples delivered since ``started``
        current: SpokenUtterance | None = None
        offset = 0
        bounds = (0, 0)
        while not self._closed:
            chunk = np.zeros(self.chunk, dtype=np.float32)
            filled = 0
            while filled < self.chunk:
                if current is None:
                    with self._lock:
                        current = self._pending.popleft() if self._pending else None
                    if current is None:
                        break
                    offset, bounds = 0, speech_bounds(current.audio)
                    at = started + (delivered + filled + bounds[0]) / SAMPLE_RATE
                    current.speech_start_at = at
                    current.speech_end_sample = delivered + filled + bounds[1]
                    current.speech_end_at = started + current.speech_end_sample / SAMPLE_RATE
                take = min(self.chunk - filled, current.audio.size - offset)
                chunk[filled : filled + take] = current.audio[offset : offset + take]
                filled += take
                offset += take
                if offset >= current.audio.size:
                    current = None
            if self.noise:
                chunk += self._rng.normal(0.0, self.noise, self.chunk).astype(np.float32)
            delivered += self.chunk
            # Pace: deliver the chunk when its last sample would have been captured.
            self.clock.sleep(started + delivered / SAMPLE_RATE - self.clock.now())
            yield chunk
