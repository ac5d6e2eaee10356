"""The learner's browser as one more input and output of a practice call.

``BrowserInput`` is a ``LiveLearnerInput``: 16 kHz 16-bit PCM frames from the page go
through the same ``LiveInput`` (Silero end of turn, Whisper while the learner talks,
barge-in) as the microphone, and typed turns (the page's fallback when there is no
microphone) join them in one queue. ``BrowserSink`` is an ``AudioSink`` that sends each
synthesised sentence to the page as a WAV chunk and keeps time as the page plays it.
Neither knows about WebSockets: they take and give bytes through callables, so the
transport (``calmline.web.practice_socket``) stays at the edge.
"""

from __future__ import annotations

import io
import queue
import threading
import wave
from collections.abc import Callable, Iterator

import numpy as np

from calmline.call.inputs import LearnerUtterance, LiveEvent, LiveInput, next_turn
from calmline.protocols import SAMPLE_RATE, AudioArray, Transcriber
from calmline.speech.clock import RealClock
from calmline.speech.output import SimulatedSink


class BrowserStopped(KeyboardInterrupt):
    """The browser went away (or the call hit its time limit) mid-call.

    Raised like Ctrl-C so the call ends ``interrupted`` with everything said so far
    saved, skips the debrief, and is still marked. ``reason`` goes into the session.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def pcm16_to_float(frame: bytes) -> AudioArray:
    """Little-endian 16-bit PCM bytes as float32 in [-1, 1] (an odd last byte is dropped)."""
    usable = len(frame) - len(frame) % 2
    return np.frombuffer(frame[:usable], dtype="<i2").astype(np.float32) / 32768.0


def wav_bytes(audio: AudioArray, rate: int) -> bytes:
    """``audio`` as a 16-bit mono WAV file in memory (what the page's decodeAudioData takes)."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buffer.getvalue()


_END = object()  # the learner pressed "end call": the call (or the debrief) is over


class BrowserInput:
    """Learner turns from the page: microphone frames and typed text, in arrival order."""

    def __init__(
        self, transcriber: Transcriber, min_silence_ms: int = 600, source: str = "browser"
    ) -> None:
        self._frames: queue.Queue[AudioArray | None] = queue.Queue()
        self.live = LiveInput(
            transcriber, self._stream(), min_silence_ms=min_silence_ms, source=source
        )
        self._events: queue.Queue[LiveEvent | BrowserStopped | object | None] = queue.Queue()
        self._pump: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped: BrowserStopped | None = None

    # ------------------------------------------------------------ fed by the transport

    def feed_pcm(self, frame: bytes) -> None:
        """A frame of 16 kHz 16-bit mono PCM from the page's AudioWorklet."""
        samples = pcm16_to_float(frame)
        if samples.size:
            self._start_pump()
            self._frames.put(samples)

    def submit_text(self, text: str) -> None:
        """A typed turn (the fallback without a microphone); blank text is ignored."""
        text = text.strip()
        if text:
            self._events.put(LearnerUtterance(text=text, source="typed", origin="browser"))

    def end_call(self) -> None:
        """The learner ended the call from the page (like ``/end``)."""
        self._events.put(_END)

    def stop(self, reason: str) -> None:
        """The page went away: turns already spoken still arrive, then the call stops."""
        with self._lock:
            if self._stopped is not None:
                return
            self._stopped = BrowserStopped(reason)
        # Closing the frame stream makes the listener flush the turn in progress, so
        # nothing the learner said before the disconnect is lost.
        self._frames.put(None)
        if self._pump is None:
            self._events.put(self._stopped)

    # ------------------------------------------------------------ LiveLearnerInput

    def next_event(self, phase: str) -> LiveEvent | None:
        item = self._events.get()
        if isinstance(item, BrowserStopped):
            self._events.put(item)  # stays stopped for later calls
            raise item
        if item is _END or item is None:
            return None
        return item  # type: ignore[return-value]

    def next_utterance(self, phase: str) -> LearnerUtterance | None:
        return next_turn(self, phase)

    def set_cut_in(self, seconds: float | None) -> None:
        self.live.set_cut_in(seconds)

    def speech_started_after(self, t: float) -> float | None:
        return self.live.speech_started_after(t)

    def close(self) -> None:
        self._frames.put(None)
        self.live.close()

    # ------------------------------------------------------------ internals

    def _stream(self) -> Iterator[AudioArray]:
        while True:
            frame = self._frames.get()
            if frame is None:
                return
            yield frame

    def _start_pump(self) -> None:
        with self._lock:
            if self._pump is None and self._stopped is None:
                self._pump = threading.Thread(
                    target=self._forward, name="calmline-browser-turns", daemon=True
                )
                self._pump.start()

    def _forward(self) -> None:
        """Moves the listener's turns, pauses and resumptions into the shared queue."""
        try:
            while True:
                event = self.live.next_event("call")
                if event is None:
                    break
                self._events.put(event)
        except BaseException as exc:  # a listener failure ends the call as any input's would
            self._events.put(BrowserStopped(f"the speech input failed: {exc}"))
            return
        with self._lock:
            stopped = self._stopped
        self._events.put(stopped)


Send = Callable[[bytes], None]


class BrowserSink:
    """Speakers in the page: each piece goes out as a WAV chunk, timed as if played live.

    The page plays chunks back to back as they arrive, so the time a piece starts and
    how much of it has been heard follow the same arithmetic as ``SimulatedSink``; the
    real clock makes ``wait`` last as long as the page plays. ``stop`` (barge-in) tells
    the page to drop what it still has queued. Once the page is gone nothing is sent
    and nothing is waited for.
    """

    def __init__(self, send_audio: Send, send_stop: Callable[[], None]) -> None:
        self._timing = SimulatedSink(RealClock())
        self._send_audio = send_audio
        self._send_stop = send_stop
        self.gone = threading.Event()

    def begin(self) -> None:
        self._timing.begin()

    def play(self, audio: AudioArray, rate: int) -> None:
        if not audio.size:
            return
        self._timing.play(audio, rate)
        if not self.gone.is_set():
            self._send_audio(wav_bytes(audio, rate))

    def played_s(self) -> float:
        return self._timing.played_s()

    def stop(self) -> float:
        played = self._timing.stop()
        if not self.gone.is_set():
            self._send_stop()
        return played

    def wait(self, timeout: float | None = None) -> bool:
        if self.gone.is_set():
            return True
        return self._timing.wait(timeout)

    @property
    def first_sample_at(self) -> float | None:
        return self._timing.first_sample_at


__all__ = [
    "SAMPLE_RATE",
    "BrowserInput",
    "BrowserSink",
    "BrowserStopped",
    "pcm16_to_float",
    "wav_bytes",
]
