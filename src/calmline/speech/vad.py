"""End of turn: streaming Silero VAD (as shipped in faster-whisper) over 16 kHz arrays.

An ``Endpointer`` is fed chunks of any size and emits ``SpeechStarted`` and
``UtteranceEnded`` events. It never touches a device, so the microphone, the
``--audio`` file path and the benchmark's simulated real-time stream share it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from calmline.protocols import SAMPLE_RATE, AudioArray

FRAME = 512  # samples per Silero frame at 16 kHz (32 ms): the model's fixed window
_CONTEXT = 64  # samples of the previous frame the v6 model reads before each window


@dataclass
class EndpointOptions:
    """How an utterance is found in a stream.

    Attributes:
        threshold: Silero speech probability at or above which a frame is speech.
            0.5 is Silero's own default and right for headset speech.
        neg_threshold: probability below which a frame counts towards trailing
            silence; between the two, the current state holds (hysteresis, so a soft
            syllable neither ends a turn nor starts one). Defaults to threshold - 0.15.
        min_silence_ms: trailing silence that ends a turn. 600 ms lets a learner
            pause for breath mid-sentence without being cut off, yet the customer
            answers promptly.
        min_speech_ms: speech shorter than this (a cough, a click) is dropped, and
            ``SpeechStarted`` fires only once this much speech is heard, so noise
            does not trigger barge-in.
        pre_roll_ms: audio kept from before speech was detected, so the first
            word's onset (which the VAD detects late) is not clipped.
        post_roll_ms: silence kept after the last speech frame, so the last word's
            tail is not clipped either.
        max_utterance_s: a turn is cut here even without a pause (someone talking
            over a TV): bounds memory and Whisper's single 30 s window.
    """

    threshold: float = 0.5
    neg_threshold: float | None = None
    min_silence_ms: int = 600
    min_speech_ms: int = 200
    pre_roll_ms: int = 300
    post_roll_ms: int = 200
    max_utterance_s: float = 28.0


@dataclass(frozen=True)
class SpeechStarted:
    """Speech has been heard for ``min_speech_ms``; ``at`` is its onset in stream seconds."""

    kind: ClassVar[str] = "speech_started"
    at: float


@dataclass(frozen=True)
class UtteranceEnded:
    """One complete utterance. ``start``/``end`` are stream seconds of ``audio``'s ends."""

    kind: ClassVar[str] = "utterance_ended"
    audio: AudioArray
    start: float
    end: float
    forced: bool = False  # cut at max_utterance_s rather than ended by silence


EndpointEvent = SpeechStarted | UtteranceEnded


class _SileroStream:
    """Silero VAD v6 run frame by frame, carrying its LSTM state across calls.

    faster-whisper's ``SileroVADModel.__call__`` resets the state on every call, which
    suits whole files but not a live stream, so we drive its ONNX session directly.
    """

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model  # cached: one ONNX session per process

        self._session: Any = get_vad_model().session
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)

    def probabilities(self, frames: np.ndarray) -> np.ndarray:
        """Speech probability of each row of ``frames`` (shape n x 512), in order."""
        contexts = np.vstack([self._context[None, :], frames[:-1, -_CONTEXT:]])
        batch = np.concatenate([contexts, frames], axis=1).astype(np.float32)
        probs, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        self._context = frames[-1, -_CONTEXT:].copy()
        return np.asarray(probs, dtype=np.float32).reshape(-1)


class Endpointer:
    """Finds utterances in a 16 kHz mono float32 stream fed in chunks of any size."""

    def __init__(self, options: EndpointOptions | None = None) -> None:
        self.options = options or EndpointOptions()
        o = self.options
        self._neg = (
            o.neg_threshold if o.neg_threshold is not None else max(o.threshold - 0.15, 0.01)
        )
        ms = SAMPLE_RATE // 1000
        self._min_silence = o.min_silence_ms * ms
        self._min_speech = o.min_speech_ms * ms
        self._post_roll = o.post_roll_ms * ms
        self._max_len = int(o.max_utterance_s * SAMPLE_RATE)
        self._vad = _SileroStream()
        self._pending = np.zeros(0, dtype=np.float32)
        self._pre_roll: deque[np.ndarray] = deque(maxlen=max(1, -(-o.pre_roll_ms * ms // FRAME)))
        self.reset()

    def reset(self) -> None:
        """Forget everything: call between calls or after playback ends, if wanted."""
        self._vad.reset()
        self._pending = np.zeros(0, dtype=np.float32)
        self._pre_roll.clear()
        self._frames: list[np.ndarray] = []  # audio of the current utterance, pre-roll first
        self._start = 0  # stream sample where the kept audio starts
        self._onset = 0  # stream sample of the first speech frame
        self._speech = 0  # samples of speech heard in the current utterance
        self._silence_since: int | None = None  # stream sample where trailing silence began
        self._in_speech = False
        self._announced = False
        self._pos = 0  # stream samples consumed into frames

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    def set_min_silence(self, ms: int) -> None:
        """Trailing silence that ends an utterance, from the next frame on.

        For a listener that decides at each pause how long to wait (an end-of-turn
        policy): a silence already longer than ``ms`` ends the utterance at the next
        frame, since a decision can come after the pause began.
        """
        self._min_silence = ms * (SAMPLE_RATE // 1000)

    def feed(self, chunk: AudioArray) -> list[EndpointEvent]:
        """Add audio; return the events it completes, in order."""
        data = np.concatenate([self._pending, np.asarray(chunk, dtype=np.float32).reshape(-1)])
        usable = data.size - data.size % FRAME
        self._pending = data[usable:]
        if usable == 0:
            return []
        frames = data[:usable].reshape(-1, FRAME)
        events: list[EndpointEvent] = []
        for frame, prob in zip(frames, self._vad.probabilities(frames), strict=True):
            events.extend(self._step(frame, float(prob)))
        return events

    def flush(self) -> list[EndpointEvent]:
        """End of stream: close an utterance in progress if it holds enough speech."""
        if self._pending.size and self._in_speech:
            self._frames.append(self._pending)
        self._pending = np.zeros(0, dtype=np.float32)
        events: list[EndpointEvent] = []
        if self._in_speech and self._speech >= self._min_speech:
            if not self._announced:
                events.append(SpeechStarted(at=self._onset / SAMPLE_RATE))
            events.append(self._finish(forced=False))
        self._in_speech = False
        self._frames = []
        return events

    def _step(self, frame: np.ndarray, prob: float) -> list[EndpointEvent]:
        o = self.options
        here = self._pos
        self._pos += FRAME
        if not self._in_speech:
            if prob < o.threshold:
                self._pre_roll.append(frame)
                return []
            # Onset: keep the pre-roll so the first word's attack is not clipped.
            self._in_speech, self._announced = True, False
            self._frames = [*self._pre_roll, frame]
            self._start = here - FRAME * len(self._pre_roll)
            self._pre_roll.clear()
            self._onset, self._speech, self._silence_since = here, FRAME, None
            return []

        self._frames.append(frame)
        events: list[EndpointEvent] = []
        if prob >= o.threshold:
            self._speech += FRAME
            self._silence_since = None
        elif prob < self._neg and self._silence_since is None:
            self._silence_since = here
        if not self._announced and self._speech >= self._min_speech:
            self._announced = True
            events.append(SpeechStarted(at=self._onset / SAMPLE_RATE))

        silent_for = 0 if self._silence_since is None else self._pos - self._silence_since
        if silent_for >= self._min_silence:
            if self._speech >= self._min_speech:
                if not self._announced:  # pragma: no cover - announced above once long enough
                    events.append(SpeechStarted(at=self._onset / SAMPLE_RATE))
                events.append(self._finish(forced=False))
            self._reset_utterance()
        elif self._pos - self._start >= self._max_len:
            events.append(self._finish(forced=True))
            self._reset_utterance()
        return events

    def _finish(self, forced: bool) -> UtteranceEnded:
        audio = np.concatenate(self._frames) if self._frames else np.zeros(0, np.float32)
        if self._silence_since is not None and not forced:
            # Keep post_roll of the trailing silence, drop the rest of it.
            keep = min(audio.size, self._silence_since - self._start + self._post_roll)
            audio = audio[:keep]
        return UtteranceEnded(
            audio=np.ascontiguousarray(audio, dtype=np.float32),
            start=self._start / SAMPLE_RATE,
            end=(self._start + audio.size) / SAMPLE_RATE,
            forced=forced,
        )

    def _reset_utterance(self) -> None:
        self._in_speech = False
        self._announced = False
        self._frames = []
        self._speech = 0
        self._silence_since = None


def split_utterances(
    audio: AudioArray, options: EndpointOptions | None = None, chunk_ms: int = 30
) -> list[AudioArray]:
    """Cut a recording into utterances offline, by streaming it through an ``Endpointer``.

    Streaming rather than a whole-file VAD keeps offline splits identical to what a
    live microphone would have produced.
    """
    return [event.audio for event in iter_utterances(audio, options, chunk_ms)]


def iter_utterances(
    audio: AudioArray, options: EndpointOptions | None = None, chunk_ms: int = 30
) -> Iterable[UtteranceEnded]:
    """Like ``split_utterances`` but yielding the events, with stream times."""
    endpointer = Endpointer(options)
    step = max(1, SAMPLE_RATE * chunk_ms // 1000)
    for offset in range(0, audio.size, step):
        for event in endpointer.feed(audio[offset : offset + step]):
            if isinstance(event, UtteranceEnded):
                yield event
    for event in endpointer.flush():
        if isinstance(event, UtteranceEnded):
            yield event
