"""Where the customer's voice goes while it is being generated: queued, non-blocking audio sinks.

A sink takes audio piece by piece (one synthesised sentence at a time), starts
playing the first piece at once and plays the rest back to back, so the next
sentence can be generated while the previous one is heard. It can be stopped part
way (barge-in) and says how much was actually played, so the saved turn and WAV
hold only what the learner heard. ``SimulatedSink`` stands in for speakers in the
benchmark and in tests: it plays nothing and records, against a clock, when the
first sample of each reply would have reached the speakers.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from calmline.protocols import AudioArray
from calmline.speech.clock import Clock, RealClock

Player = Callable[[AudioArray, int], None]


class AudioSink(Protocol):
    """Plays queued audio in order without blocking the caller."""

    def begin(self) -> None:
        """Start a new reply: resets ``first_sample_at`` and the played count."""

    def play(self, audio: AudioArray, rate: int) -> None:
        """Queue ``audio``; it starts as soon as what is queued before it has played."""

    def played_s(self) -> float:
        """Seconds of this reply that have reached the speakers so far."""

    def stop(self) -> float:
        """Stop at once and drop the queue; returns the seconds that were played."""

    def wait(self, timeout: float | None = None) -> bool:
        """Block until everything queued has played; False if still playing at ``timeout``."""

    @property
    def first_sample_at(self) -> float | None:
        """Clock time at which this reply's first sample played (None before it has)."""


class SimulatedSink:
    """Speakers on a clock: audio "plays" in real time from when it is queued, silently.

    The first ``play`` of a reply starts at ``clock.now()``; later pieces follow back
    to back, or start when queued if the queue had run dry (an audible gap, which is
    what a listener would hear). Nothing is played, so the benchmark measures the
    pipeline, not an audio device.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or RealClock()
        self.replies: list[float] = []  # first-sample time of every reply, in order
        self.stops: list[float] = []  # when each barged-in reply was stopped
        self.begin()

    def begin(self) -> None:
        self._segments: list[tuple[float, float]] = []  # (start time, duration)
        self._first: float | None = None
        self._stopped_at: float | None = None

    def play(self, audio: AudioArray, rate: int) -> None:
        if self._stopped_at is not None or not audio.size:
            return
        now = self.clock.now()
        start = max(now, self._end())
        self._segments.append((start, audio.size / rate))
        if self._first is None:
            self._first = start
            self.replies.append(start)

    def _end(self) -> float:
        return max((s + d for s, d in self._segments), default=0.0)

    def played_s(self) -> float:
        now = self.clock.now() if self._stopped_at is None else self._stopped_at
        return sum(min(max(now - s, 0.0), d) for s, d in self._segments)

    def stop(self) -> float:
        if self._stopped_at is None:
            self._stopped_at = self.clock.now()
            self.stops.append(self._stopped_at)
        return self.played_s()

    def wait(self, timeout: float | None = None) -> bool:
        if self._stopped_at is not None:
            return True
        remaining = self._end() - self.clock.now()
        if timeout is not None and remaining > timeout:
            self.clock.sleep(timeout)
            return False
        if remaining > 0:
            self.clock.sleep(remaining)
        return True

    @property
    def first_sample_at(self) -> float | None:
        return self._first


class PlayerSink:
    """Any blocking ``player(audio, rate)`` (e.g. ``devices.play(..., block=True)``) as a sink.

    A worker thread plays the queue in order. ``stop`` drops what is still queued
    and, when the player returns a handle with ``stop()`` (``devices.Playback``),
    cuts off the piece that is playing; otherwise that piece finishes.
    """

    def __init__(self, player: Callable[[AudioArray, int], object]) -> None:
        self._player = player
        self._queue: queue.Queue[tuple[AudioArray, int] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._current: object = None
        self._thread = threading.Thread(target=self._run, name="calmline-playback", daemon=True)
        self._thread.start()
        self.begin()

    def begin(self) -> None:
        with self._lock:
            self._first: float | None = None
            self._played = 0.0  # seconds of finished pieces
            self._piece_started: float | None = None
            self._piece_len = 0.0
            self._stopped = False

    def play(self, audio: AudioArray, rate: int) -> None:
        if audio.size and not self._stopped:
            self._idle.clear()
            self._queue.put((np.ascontiguousarray(audio, dtype=np.float32), rate))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            audio, rate = item
            with self._lock:
                if self._stopped:
                    self._mark_idle()
                    continue
                now = time.perf_counter()
                if self._first is None:
                    self._first = now
                self._piece_started, self._piece_len = now, audio.size / rate
            try:
                self._current = self._player(audio, rate)
                wait = getattr(self._current, "wait", None)
                if callable(wait):
                    wait()
            finally:
                with self._lock:
                    if not self._stopped:
                        self._played += self._piece_len
                    self._piece_started = None
                    self._current = None
                    self._mark_idle()

    def _mark_idle(self) -> None:
        if self._queue.empty():
            self._idle.set()

    def played_s(self) -> float:
        with self._lock:
            current = 0.0
            if self._piece_started is not None:
                current = min(time.perf_counter() - self._piece_started, self._piece_len)
            return self._played + current

    def stop(self) -> float:
        played = self.played_s()
        with self._lock:
            self._stopped = True
            self._played = played
            stop = getattr(self._current, "stop", None)
        if callable(stop):
            stop()
        while not self._queue.empty():
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._idle.set()
        return played

    def wait(self, timeout: float | None = None) -> bool:
        return self._idle.wait(timeout)

    @property
    def first_sample_at(self) -> float | None:
        return self._first

    def close(self) -> None:
        self._queue.put(None)
