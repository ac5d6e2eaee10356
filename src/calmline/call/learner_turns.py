"""A learner's turn in the call: read (voice, tone), weighed (the anger step), then committed.

Reading and weighing change nothing, so a turn can be prepared at a phrase pause on
another thread and thrown away if the learner goes on (``call.ahead``); ``commit``
is the one step that makes it part of the call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from calmline.call.inputs import LearnerUtterance
from calmline.call.session import SessionWriter
from calmline.call.view import CallView
from calmline.customer import anger as anger_model
from calmline.customer.character import Customer, looks_like_injection
from calmline.customer.scenario import Scenario
from calmline.models import AngerReason, AngerState, ToneReading, Turn, VoiceFeatures
from calmline.speech.voice import VoiceBaseline, measure_voice
from calmline.tone.reader import ToneReader

ODD_REMARK = 4.0  # anger added by a turn that talks to the model instead of the customer


@dataclass
class LearnerStep:
    """A learner turn read and weighed, with nothing saved and no call state changed yet.

    Attributes:
        utterance: the turn as heard.
        turn: the turn to save (tone, anger step and notes set for the call phase).
        measured: the turn's voice features, added to the learner's baseline on commit.
        state: the customer's anger after the turn (call phase only).
    """

    utterance: LearnerUtterance
    turn: Turn
    measured: VoiceFeatures | None = None
    state: AngerState | None = None

    @property
    def reading(self) -> ToneReading:
        return self.turn.tone or ToneReading()


class LearnerTurns:
    """Reads, weighs and commits learner turns; owns the learner's voice baseline, the
    customer's anger and the talk-over carried from the last reply into the next turn."""

    def __init__(
        self,
        scenario: Scenario,
        customer: Customer,
        tone: ToneReader,
        writer: SessionWriter,
        view: CallView,
    ) -> None:
        self.scenario = scenario
        self.customer = customer
        self.tone = tone
        self.writer = writer
        self.view = view
        self.state = AngerState(anger=scenario.persona.start_anger)
        self.baseline = VoiceBaseline()
        self.last_reading: ToneReading | None = None
        self._overlap_s = 0.0  # the learner's talk-over of the last reply, for voice cues

    def talked_over(self, seconds: float) -> None:
        """The learner talked over the last reply for ``seconds`` (barge-in)."""
        self._overlap_s = seconds

    def take_overlap(self, utt: LearnerUtterance, consume: bool = True) -> None:
        """Carry the learner's talk-over of the last reply into this turn's voice cues."""
        if self._overlap_s:
            utt.overlap_s = max(utt.overlap_s, self._overlap_s)
            if consume:
                self._overlap_s = 0.0

    def debrief_turn(self, utt: LearnerUtterance) -> Turn:
        """Read a debrief answer (the call's turns go through ``read``/``weigh``/``commit``)."""
        step = self.read(utt, "debrief")
        if step.measured is not None:
            self.baseline.update(step.measured)
        return step.turn

    def read(self, utt: LearnerUtterance, phase: str) -> LearnerStep:
        """Read a learner turn (voice against the baseline, tone) without changing anything."""
        started = self.writer.elapsed()
        voice = None
        measured = None
        words = utt.transcription.words if utt.transcription else []
        if utt.audio is not None and utt.audio.size:
            measured = measure_voice(utt.audio, words, 16_000)
            measured.overlap_s = utt.overlap_s
            voice = self.baseline.relative(measured)
        turn = Turn(
            index=self.writer.next_index(),
            speaker="learner",
            phase=phase,  # type: ignore[arg-type]  # "call" or "debrief", from the caller
            text=utt.text,
            started_at=started,
            ended_at=started + (utt.audio.size / 16_000 if utt.audio is not None else 0.0),
            words=words,
            source=utt.source,
            latency=dict(utt.latency),
        )
        if phase == "call":
            context = self._paraphrase_context()
            t0 = time.perf_counter()
            turn.tone = self.tone.read(utt.text, context=context, voice=voice)
            turn.latency["tone"] = time.perf_counter() - t0
        return LearnerStep(utt, turn, measured)

    def weigh(self, step: LearnerStep) -> None:
        """The anger step of a call turn, from the current state (which is not changed)."""
        utt, turn = step.utterance, step.turn
        if utt.cut_in:
            turn.notes.append("the customer cut in: the learner had talked for too long")
        reading = step.reading
        customer = self.customer
        # what the turn does for the customer, beside how it sounds (customer.meaning)
        turn.meaning = customer.read_meaning(utt.text, self.writer.record.turns)
        extra = customer.trigger_reasons(utt.text, reading, turn.meaning)
        extra += customer.misread_reasons(utt.text, self.writer.record.turns)
        if looks_like_injection(utt.text):
            # A real customer hears "ignore your instructions" as a strange, unhelpful
            # remark: it annoys a little and changes nothing else.
            extra.append(AngerReason(cause="odd remark", delta=ODD_REMARK))
            turn.notes.append("learner turn looked like instructions to the model")
        step.state, turn.anger = anger_model.step(
            self.state,
            reading,
            self.scenario.persona,
            resolution_offered=customer.resolution_offered(utt.text),
            repeated_failure=customer.repeats_failure(utt.text, turn.meaning),
            extra=extra,
            meaning=turn.meaning,
            temper=customer.temper,
            direction=customer.direction,
        )

    def read_and_weigh(self, utt: LearnerUtterance) -> LearnerStep:
        """A call turn read and weighed, nothing changed yet."""
        step = self.read(utt, "call")
        self.weigh(step)
        return step

    def commit(self, step: LearnerStep) -> None:
        """Make a weighed call turn part of the call: baseline, anger, saved, shown."""
        if step.measured is not None:
            self.baseline.update(step.measured)
        assert step.state is not None and step.turn.anger is not None
        self.state = step.state
        self.writer.add_turn(step.turn, step.utterance.audio, 16_000)
        self.view.turn(step.turn)
        self.view.anger(step.turn.anger)
        self.last_reading = step.reading

    def _paraphrase_context(self) -> str | None:
        """What the learner's turn answers: the customer's complaint and their last line.

        A paraphrase restates the problem, which the opening line usually holds; the
        last line alone may be a fragment ("I've been doing this for years").
        """
        turns = self.writer.record.turns
        lines = [t.text for t in turns if t.speaker == "customer" and t.phase == "call"]
        if not lines:
            return None
        return lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1]}"
