"""A customer reply started at the learner's phrase pause, kept back until the turn is over.

When the learner pauses for 200 ms, the turn may be over (the end-of-turn decision
comes 400 ms later) or they may go on. A ``Speculation`` bets on the former: on its
own thread it waits for the phrase transcripts, has the caller read and weigh the
turn (tone, anger: nothing saved), starts the customer's reply stream and
synthesises each checked sentence into a buffer. Nothing is played.

If the turn then ends with the same utterance, the caller commits the turn as
usual and plays ``pieces()``: what is buffered at once, the rest as it comes. If the
learner goes on, or the turn differs, the caller cancels it: the reply stream is
closed (a local model holds its lock until then) and the buffer is dropped; the
caller restores whatever the reply changed (see ``PracticeCall``).

The customer yields whole checked sentences, so on its own a cancelled reply would
stop only after the sentence being generated, a model's worth of CPU taken from the
transcription of the learner's next phrase. The customer's model is an
``InterruptibleModel`` (``calmline.llm.interruptible``), so a speculation's generation
ends at the next token instead.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from calmline.call.inputs import LearnerUtterance
from calmline.call.speaking import SpokenPiece, synthesise_piece
from calmline.llm.interruptible import InterruptibleModel, interruptible, stop_streams_when
from calmline.protocols import Synthesizer

__all__ = ["InterruptibleModel", "Prepared", "Speculation", "SpeculationStats", "interruptible"]

T = TypeVar("T")
_DONE = object()


@dataclass
class Prepared(Generic[T]):
    """What the caller made of the tentative turn: its own ``step``, and the reply to speak.

    ``reply`` is None when the turn needs no reply (e.g. the learner said goodbye).
    """

    step: T
    reply: Iterable[str] | None


@dataclass
class SpeculationStats:
    """How the speculative starts of one call went."""

    started: int = 0
    confirmed: int = 0
    discarded: int = 0
    discarded_generating: int = 0  # of those, how many had already asked the model


class Speculation(Generic[T]):
    """Runs ``resolve`` then ``prepare`` and buffers the synthesised reply, on its own thread."""

    def __init__(
        self,
        resolve: Callable[[], LearnerUtterance],
        prepare: Callable[[LearnerUtterance], Prepared[T] | None],
        speaker: Synthesizer,
        *,
        voice: str = "customer",
        stale: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._resolve = resolve
        self._prepare = prepare
        self._speaker = speaker
        self._voice = voice
        self._stale = stale
        self._clock = clock
        self.utterance: LearnerUtterance | None = None
        self.prepared: Prepared[T] | None = None
        self.error: BaseException | None = None  # from resolving or preparing: do it normally
        self.reply_started_at: float | None = None  # clock time the reply stream was started
        # What the caller runs after discarding it, to undo what the reply changed.
        self.undo: Callable[[], None] = lambda: None
        self._cancel = threading.Event()
        self._ready = threading.Event()  # prepared (or failed, or cancelled)
        self._pieces: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="calmline-ahead", daemon=True)
        self._thread.start()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _stopped(self) -> bool:
        return self._cancel.is_set() or self._stale()

    def _run(self) -> None:
        stop_streams_when(self._stopped)  # this thread's model streams end when it is cancelled
        try:
            utt = self._resolve()
            if self._stopped():
                return
            self.utterance = utt
            prepared = self._prepare(utt)
            if prepared is None or self._stopped():
                return
            self.prepared = prepared
            self._ready.set()
            if prepared.reply is not None:
                self._speak_ahead(prepared.reply)
        except BaseException as exc:
            if self.prepared is None:
                self.error = exc
            else:  # the reply itself failed: handed to whoever plays it, as it would be
                self._pieces.put(exc)
        finally:
            self._ready.set()
            self._pieces.put(_DONE)

    def _speak_ahead(self, reply: Iterable[str]) -> None:
        self.reply_started_at = self._clock()
        iterator = iter(reply)
        try:
            for text in iterator:
                self._pieces.put(synthesise_piece(self._speaker, text, self._voice, self._clock))
                if self._stopped():
                    break
        finally:
            # Stop the model now: a local model holds its lock until its stream is closed.
            close = getattr(iterator, "close", None)
            if callable(close):
                close()

    def wait_prepared(self, timeout: float | None = None) -> Prepared[T] | None:
        """The prepared turn once it is ready; None if it failed or was cancelled."""
        self._ready.wait(timeout)
        return self.prepared if not self._cancel.is_set() else None

    def pieces(self) -> Iterator[SpokenPiece]:
        """The reply's synthesised pieces: those buffered at once, then the rest as they come.

        Closing this iterator early (barge-in) cancels the rest of the reply.
        """
        try:
            while True:
                item = self._pieces.get()
                if item is _DONE:
                    self._pieces.put(_DONE)
                    return
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, SpokenPiece)
                yield item
        finally:
            self._cancel.set()  # stops the rest after a barge-in; harmless once it is complete

    def cancel(self) -> None:
        """Stop soon (does not wait): at the next token through an ``InterruptibleModel``,
        else after the sentence being generated."""
        self._cancel.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the thread has stopped and the reply stream is closed."""
        self._thread.join(timeout)
