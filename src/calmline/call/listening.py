"""The learner's next turn from live input, with the customer's reply started at each pause.

At every phrase pause a ``Speculation`` reads and weighs the turn as it stands and
starts the reply; nothing is saved, played or changed. When the end of the turn
confirms the same utterance the caller commits that turn and plays the buffered
reply at once; otherwise the speculation is discarded and the customer restored to
how it was before (``Customer.snapshot``/``restore``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from calmline.call.inputs import LearnerUtterance, SpeechResumed, TurnPaused, is_goodbye
from calmline.call.learner_turns import LearnerStep, LearnerTurns
from calmline.call.session import SessionWriter
from calmline.call.speculation import Prepared, Speculation, SpeculationStats
from calmline.customer.character import Customer
from calmline.protocols import LiveLearnerInput, Synthesizer


@dataclass
class Confirmed:
    """A speculation the end of the turn confirmed, with what it prepared."""

    speculation: Speculation[LearnerStep]
    prepared: Prepared[LearnerStep]


class SpeculativeListener:
    """Takes the learner's turns from live input, replying ahead at each phrase pause."""

    def __init__(
        self,
        live: LiveLearnerInput,
        turns: LearnerTurns,
        customer: Customer,
        synthesizer: Synthesizer,
        writer: SessionWriter,
        clock: Callable[[], float],
        stats: SpeculationStats,
    ) -> None:
        self.live = live
        self.turns = turns
        self.customer = customer
        self.synthesizer = synthesizer
        self.writer = writer
        self.clock = clock
        self.stats = stats
        self._last_ahead: Speculation[LearnerStep] | None = None

    def listen(self) -> tuple[LearnerUtterance | None, Confirmed | None]:
        """The learner's next turn, and the reply started at its last pause if it still holds."""
        if self._last_ahead is not None:
            # A reply cut off by barge-in stops at its next sentence; let it, so that
            # nothing it does can overlap what is speculated next.
            self._last_ahead.join()
            self._last_ahead = None
        spec: Speculation[LearnerStep] | None = None
        try:
            while True:
                event = self.live.next_event("call")
                if isinstance(event, TurnPaused):
                    self._discard(spec)
                    spec = None if event.stale() else self._speculate(event)
                elif isinstance(event, SpeechResumed):
                    if spec is not None:
                        spec.cancel()  # its model stream is closed before the next reply
                elif event is None:
                    self._discard(spec)
                    return None, None
                else:
                    confirmed = self._confirm(spec, event)
                    spec = None
                    return event, confirmed
        except BaseException:
            self._discard(spec)
            raise

    def confirmed_step(self, step: LearnerStep, utt: LearnerUtterance) -> LearnerStep:
        """The speculated step for the final utterance, timed as the normal path times it."""
        turn = step.turn
        turn.started_at = self.writer.elapsed()
        turn.ended_at = turn.started_at + (utt.audio.size / 16_000 if utt.audio is not None else 0)
        latency = dict(utt.latency)
        if "tone" in turn.latency:
            latency["tone"] = turn.latency["tone"]
        turn.latency = latency
        step.utterance = utt
        return step

    def _speculate(self, pause: TurnPaused) -> Speculation[LearnerStep]:
        """Read, weigh and answer the turn as it stands at ``pause``, on another thread."""
        history = list(self.writer.record.turns)
        customer = self.customer

        def prepare(utt: LearnerUtterance) -> Prepared[LearnerStep] | None:
            if not utt.text:
                return None
            self.turns.take_overlap(utt, consume=False)
            step = self.turns.read_and_weigh(utt)
            if is_goodbye(utt.text):
                return Prepared(step, None)
            assert step.state is not None
            return Prepared(step, customer.stream([*history, step.turn], step.state, step.reading))

        saved = customer.snapshot()  # before the reply can change it
        self.stats.started += 1
        spec: Speculation[LearnerStep] = Speculation(
            pause.utterance,
            prepare,
            self.synthesizer,
            stale=pause.stale,
            clock=self.clock,
        )
        spec.undo = lambda: customer.restore(saved)
        return spec

    def _discard(self, spec: Speculation[LearnerStep] | None) -> None:
        """Throw a speculation away: its model stream closed, the customer as it was before."""
        if spec is None:
            return
        spec.cancel()
        spec.join()
        spec.undo()
        self.stats.discarded += 1
        if spec.reply_started_at is not None:
            self.stats.discarded_generating += 1

    def _confirm(
        self, spec: Speculation[LearnerStep] | None, utt: LearnerUtterance
    ) -> Confirmed | None:
        """``spec`` if it was made from exactly this utterance; otherwise it is discarded."""
        if spec is None:
            return None
        prepared = None if spec.cancelled or utt.cut_in else spec.wait_prepared()
        if prepared is None or spec.utterance is None or not _same(spec.utterance, utt):
            self._discard(spec)
            return None
        self.stats.confirmed += 1
        self._last_ahead = spec
        return Confirmed(spec, prepared)


def _same(ahead: LearnerUtterance, final: LearnerUtterance) -> bool:
    """The speculated utterance is the final one: same words, timings and audio."""
    if ahead.text != final.text or ahead.transcription != final.transcription:
        return False
    a, b = ahead.audio, final.audio
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and bool(np.array_equal(a, b))
