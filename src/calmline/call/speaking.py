"""Speaking a reply while it is still being generated, and stopping when the learner barges in.

``speak_streamed`` takes the customer's text pieces (sentences that have passed the
line check) from a producer thread, synthesises each one as soon as it arrives and
queues it on an ``AudioSink``: the first sentence is heard while the model is still
writing the second. A piece may also arrive already synthesised (a ``SpokenPiece``,
from a reply prepared ahead of time): it is queued as it is. Between pieces, and
while the queue plays out, it polls ``barged_in``; when the learner starts talking
it stops the sink at once and keeps only what was actually played (``played_text``
/ ``played_audio``), so the transcript and the saved WAV hold what the learner
heard, not what was generated.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from calmline.protocols import AudioArray, Synthesizer
from calmline.speech.output import AudioSink

POLL_S = 0.01  # how often playback checks for barge-in (a 30 ms chunk is the input step)
_DONE = object()


@dataclass
class SpokenPiece:
    """One synthesised piece; ``tts_s`` and ``text_at`` are set when it was made ahead of time."""

    text: str
    audio: AudioArray
    rate: int
    tts_s: float = 0.0  # seconds it took to synthesise
    text_at: float | None = None  # clock time its text arrived


def synthesise_piece(
    speaker: Synthesizer, text: str, voice: str, clock: Callable[[], float] = time.perf_counter
) -> SpokenPiece:
    """Synthesise ``text`` now, noting when it arrived and how long synthesis took."""
    arrived = clock()
    t0 = time.perf_counter()
    audio, rate = speaker.synthesize(text, voice)
    return SpokenPiece(text, audio, rate, time.perf_counter() - t0, arrived)


@dataclass
class SpokenReply:
    """What happened to one streamed reply.

    Attributes:
        pieces: every piece synthesised and queued, in order.
        played_s: seconds that reached the speakers (all of it unless interrupted).
        interrupted: the learner barged in and playback was stopped.
        started_at: clock time the reply started (generation asked for).
        first_audio_at: clock time of the first sample on the speakers.
        first_text_at: clock time the first checked sentence arrived.
        tts_s: seconds spent synthesising.
        generation_done: the producer finished (False when cut off by barge-in).
    """

    pieces: list[SpokenPiece] = field(default_factory=list)
    played_s: float = 0.0
    interrupted: bool = False
    started_at: float = 0.0
    first_audio_at: float | None = None
    first_text_at: float | None = None
    tts_s: float = 0.0
    generation_done: bool = False

    @property
    def rate(self) -> int:
        return self.pieces[0].rate if self.pieces else 16_000

    def full_text(self) -> str:
        return " ".join(p.text for p in self.pieces)

    def played_audio(self) -> AudioArray:
        """The samples that were heard (everything when not interrupted)."""
        if not self.pieces:
            return np.zeros(0, np.float32)
        audio = np.concatenate([p.audio for p in self.pieces]).astype(np.float32)
        if not self.interrupted:
            return audio
        return audio[: int(self.played_s * self.rate)]

    def played_text(self) -> str:
        """The words the learner heard: whole pieces, then a share of the piece cut off.

        Words of the cut piece are kept in proportion to the seconds of it that were
        played (espeak speaks at an even rate, so this is within a word or two).
        """
        if not self.interrupted:
            return self.full_text()
        kept: list[str] = []
        remaining = self.played_s
        for piece in self.pieces:
            length = piece.audio.size / piece.rate
            if remaining >= length - 1e-6:
                kept.append(piece.text)
                remaining -= length
                continue
            words = piece.text.split()
            share = int(len(words) * max(remaining, 0.0) / length) if length else 0
            if share:
                kept.append(" ".join(words[:share]) + "—")
            break
        return " ".join(kept)


def _produce(
    pieces: Iterable[str | SpokenPiece], out: queue.Queue[object], cancel: threading.Event
) -> None:
    iterator = iter(pieces)
    try:
        for piece in iterator:
            out.put(piece)
            if cancel.is_set():
                break
    except BaseException as exc:  # handed to the consumer, which re-raises it
        out.put(exc)
    finally:
        close = getattr(iterator, "close", None)
        if callable(close):
            close()
        out.put(_DONE)


def speak_streamed(
    pieces: Iterable[str | SpokenPiece],
    speaker: Synthesizer,
    sink: AudioSink,
    *,
    voice: str = "customer",
    barged_in: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.perf_counter,
    started_at: float | None = None,
) -> SpokenReply:
    """Speak ``pieces`` as they arrive; stop at once if ``barged_in()`` becomes true.

    ``started_at`` is when the reply was asked for, if earlier than now (a reply
    prepared ahead of time whose pieces arrive already synthesised).
    """
    reply = SpokenReply(started_at=clock() if started_at is None else started_at)
    sink.begin()
    inbox: queue.Queue[object] = queue.Queue()
    cancel = threading.Event()
    producer = threading.Thread(
        target=_produce, args=(pieces, inbox, cancel), name="calmline-reply", daemon=True
    )
    producer.start()
    while True:
        try:
            item = inbox.get(timeout=POLL_S)
        except queue.Empty:
            if barged_in():
                reply.interrupted = True
                break
            continue
        if item is _DONE:
            reply.generation_done = True
            break
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, str | SpokenPiece)
        if reply.first_text_at is None:
            ready = item.text_at if isinstance(item, SpokenPiece) else None
            reply.first_text_at = clock() if ready is None else ready
        if barged_in():
            reply.interrupted = True
            break
        piece = item if isinstance(item, SpokenPiece) else synthesise_piece(speaker, item, voice)
        reply.tts_s += piece.tts_s
        reply.pieces.append(piece)
        sink.play(piece.audio, piece.rate)
        if reply.first_audio_at is None:
            reply.first_audio_at = sink.first_sample_at
    if not reply.interrupted:
        while not sink.wait(POLL_S):
            if barged_in():
                reply.interrupted = True
                break
    if reply.interrupted:
        cancel.set()
        reply.played_s = sink.stop()
    else:
        reply.played_s = sum(p.audio.size / p.rate for p in reply.pieces)
    if reply.first_audio_at is None:
        reply.first_audio_at = sink.first_sample_at
    return reply
