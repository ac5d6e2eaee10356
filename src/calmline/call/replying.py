"""The customer's reply: generated, checked, spoken sentence by sentence, cut off when the
learner barges in, and saved as it was heard."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from calmline.call.announcer import Announcer
from calmline.call.inputs import LearnerUtterance
from calmline.call.learner_turns import LearnerStep
from calmline.call.session import SessionWriter
from calmline.call.speaking import SpokenPiece, SpokenReply, speak_streamed
from calmline.call.view import CallView
from calmline.customer.character import Customer, CustomerLine, LineStream
from calmline.models import AngerState, ToneReading, Turn
from calmline.protocols import EventLog, LiveLearnerInput, Synthesizer
from calmline.speech.listener import BARGE_IN_SPEECH_MS
from calmline.speech.output import AudioSink

if TYPE_CHECKING:
    from calmline.call.speculation import Speculation


class Replier:
    """Has the customer answer each learner turn, and saves the reply as it was heard.

    With a sink (speakers, or a simulated one) the reply is streamed and the learner can
    talk over it (``live`` input hears them start); without one it is generated whole.
    """

    def __init__(
        self,
        customer: Customer,
        synthesizer: Synthesizer,
        sink: AudioSink | None,
        live: LiveLearnerInput | None,
        announcer: Announcer,
        writer: SessionWriter,
        view: CallView,
        clock: Callable[[], float],
        talked_over: Callable[[float], None],
    ) -> None:
        self.customer = customer
        self.synthesizer = synthesizer
        self.sink = sink
        self.live = live
        self.announcer = announcer
        self.writer = writer
        self.view = view
        self.clock = clock
        self._talked_over = talked_over  # told how long the learner talked over a reply
        self._model_events_seen = 0

    def reply(
        self,
        state: AngerState,
        reading: ToneReading,
        utt: LearnerUtterance,
        ahead: Speculation[LearnerStep] | None = None,
    ) -> CustomerLine:
        """The customer answers: generated, checked, spoken sentence by sentence, saved.

        Without a sink (no speakers) the line is generated whole and saved as before.
        ``ahead``: the reply was started at the learner's pause and is already buffered.
        """
        clock = self.clock
        decided = utt.decided_at if utt.decided_at is not None else clock()
        customer = self.customer
        turns = self.writer.record.turns
        if self.sink is None:
            t0 = clock()
            with self.view.waiting("The customer is answering…"):
                line = customer.respond(turns, state, reading)
            for note in line.notes:
                self.writer.event("customer_line", note)
            self._record_model_events()
            self.announcer.customer_says(line, {"customer_line": clock() - t0})
            return line
        stream: Iterable[str] | None
        pieces: Iterable[str | SpokenPiece]
        if ahead is not None and ahead.prepared is not None:
            stream = ahead.prepared.reply
            pieces, asked_at = ahead.pieces(), ahead.reply_started_at
        else:
            stream = customer.stream(turns, state, reading)
            pieces, asked_at = stream, None
        started = self.writer.elapsed()
        # A customer who has just cut the learner off talks over them: no barge-in.
        since = clock()
        barged = (lambda: False) if utt.cut_in else self._barged_in(since)
        reply = speak_streamed(
            pieces,
            self.synthesizer,
            self.sink,
            barged_in=barged,
            clock=clock,
            started_at=asked_at,
        )
        if reply.interrupted:
            heard = self.live.speech_started_after(since) if self.live is not None else None
            # SpeechStarted fires once BARGE_IN_SPEECH_MS of speech has been heard.
            self._talked_over(
                max(clock() - heard, 0.0) + BARGE_IN_SPEECH_MS / 1000 if heard is not None else 0.0
            )
        whole = stream.line if isinstance(stream, LineStream) else None
        line = whole or CustomerLine(reply.full_text(), source="llm")
        for note in line.notes:
            self.writer.event("customer_line", note)
        self._record_model_events()
        ahead_s = {} if asked_at is None else {"reply_ahead_of_decision": decided - asked_at}
        self._save(line, reply, started, decided, ahead_s)
        return line

    def _barged_in(self, since: float) -> Callable[[], bool]:
        """A check that the learner started talking after ``since`` (False without live input)."""
        live = self.live
        if live is None:
            return lambda: False
        return lambda: live.speech_started_after(since) is not None

    def _record_model_events(self) -> None:
        """Copy what the LLM layer saw (endpoint failures, switching to the bundled model and
        back) into the session, so an assessor can tell why a line sounds different."""
        model = self.customer.model
        if not isinstance(model, EventLog) or not isinstance(model.events, list):
            return
        events = model.events
        for event in events[self._model_events_seen :]:
            self.writer.event(event.kind, event.detail)
        self._model_events_seen = len(events)

    def _save(
        self,
        line: CustomerLine,
        reply: SpokenReply,
        started: float,
        decided: float,
        extra_latency: dict[str, float] | None = None,
    ) -> Turn:
        latency = {"tts": reply.tts_s, **(extra_latency or {})}
        if reply.first_text_at is not None:
            latency["first_sentence"] = reply.first_text_at - reply.started_at
        if reply.first_audio_at is not None:
            latency["end_of_turn_to_first_audio"] = reply.first_audio_at - decided
        notes = list(line.notes)
        text = line.text
        if reply.interrupted:
            text = reply.played_text()
            notes.append(f"interrupted by the learner after {reply.played_s:.1f} s")
            self.writer.event("barge_in", f"customer stopped after {reply.played_s:.1f} s")
        audio = reply.played_audio()
        turn = Turn(
            index=self.writer.next_index(),
            speaker="customer",
            phase="call",
            text=text,
            stage_direction=line.stage_direction,
            started_at=started,
            ended_at=started + audio.size / reply.rate,
            source=line.source,
            latency=latency,
            notes=notes,
        )
        self.writer.add_turn(turn, audio, reply.rate)
        self.view.turn(turn)
        return turn
