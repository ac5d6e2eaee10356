"""One practice call from the opening line to the spoken feedback: the session's conductor.

The loop only sequences collaborators it is handed (learner input, tone reader,
anger model, customer, speaker, evaluator); it owns the order of events and the rule
that every turn is on disk before the next one starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from calmline import anger as anger_model
from calmline.anger import band
from calmline.audio_out import AudioSink, PlayerSink
from calmline.customer import Customer, CustomerLine, looks_like_injection
from calmline.learner_input import LearnerInput, LearnerUtterance, is_goodbye
from calmline.listener import BARGE_IN_SPEECH_MS
from calmline.models import (
    AngerReason,
    AngerState,
    Assessment,
    ModelsUsed,
    Outcome,
    SessionRecord,
    ToneReading,
    Turn,
)
from calmline.protocols import AudioArray, Speaker
from calmline.scenario import Scenario
from calmline.session import SessionWriter, new_session_id
from calmline.speaking import SpokenReply, speak_streamed
from calmline.tone import ToneReader
from calmline.view import CallView
from calmline.voice import VoiceBaseline, measure_voice

# A player may return a handle with wait()/stop() (devices.Playback) so barge-in can cut it.
Player = Callable[[AudioArray, int], object]
ODD_REMARK = 4.0  # anger added by a turn that talks to the model instead of the customer
# An angry persona that may interrupt cuts the learner off after this much unbroken
# speech: a long monologue to a furious customer is itself a trigger.
CUT_IN_AFTER_S = {"angry": 12.0, "furious": 7.0}


@dataclass
class PracticeOptions:
    """How one call runs.

    Attributes:
        out: the folder that holds session folders (``recordings/`` by default).
        max_turns: learner turns before the call is ended for them.
        debrief: ask the examiner's reflective questions after the call.
        assess: mark the call against the rubrics and give feedback at the end.
        exam: hide the anger meter and tone tags while the call runs.
        learner: the learner's user name, for the dashboard.
    """

    out: Path
    max_turns: int = 12
    debrief: bool = True
    assess: bool = True
    exam: bool = False
    learner: str | None = None


@dataclass
class Collaborators:
    """The components a call uses; each is a protocol, so tests can hand in fakes."""

    customer: Customer
    tone: ToneReader
    speaker: Speaker
    player: Player | None = None  # None: write WAVs only, play nothing
    models: ModelsUsed = field(default_factory=ModelsUsed)
    evaluate: Callable[[SessionRecord], list[Assessment]] | None = None
    debrief_questions: Callable[[SessionRecord], list[str]] | None = None
    write_reports: Callable[[SessionRecord, list[Assessment], Path], list[Path]] | None = None
    spoken_summary: Callable[[list[Assessment]], str] | None = None
    # Customer replies are spoken sentence by sentence through a sink (non-blocking,
    # stoppable). None: a sink is made from ``player`` (or WAVs only, without one).
    sink: AudioSink | None = None
    # The clock that timestamps latencies; must match the input's and the sink's.
    clock: Callable[[], float] = time.perf_counter


@dataclass
class PracticeResult:
    record: SessionRecord
    folder: Path
    assessments: list[Assessment]
    reports: list[Path]


class PracticeCall:
    """Runs one call. Construct, then :meth:`run`; every turn is saved as it happens."""

    def __init__(
        self,
        scenario: Scenario,
        parts: Collaborators,
        learner_input: LearnerInput,
        options: PracticeOptions,
        view: CallView,
    ) -> None:
        self.scenario = scenario
        self.parts = parts
        self.input = learner_input
        self.options = options
        self.view = view
        persona = scenario.persona
        record = SessionRecord(
            id=new_session_id(scenario.id),
            learner=options.learner,
            scenario=scenario.id,
            scenario_title=scenario.title,
            setting=scenario.setting,
            difficulty=scenario.difficulty,
            exam_mode=options.exam,
            models=parts.models,
            start_anger=persona.start_anger,
        )
        self.writer = SessionWriter(options.out, record)
        self.state = AngerState(anger=persona.start_anger)
        self.baseline = VoiceBaseline()
        self.last_reading: ToneReading | None = None
        self._overlap_s = 0.0  # the learner's talk-over of the last reply, for voice cues
        self._model_events_seen = 0
        self._sink: AudioSink | None = parts.sink
        if self._sink is None and parts.player is not None:
            self._sink = PlayerSink(parts.player)

    @property
    def record(self) -> SessionRecord:
        return self.writer.record

    # ------------------------------------------------------------------ speaking

    def _say(self, speaker: str, voice: str, text: str, **turn_fields: object) -> Turn:
        """Synthesise ``text``, save the turn and its WAV, then play it."""
        started = self.writer.elapsed()
        t0 = time.perf_counter()
        audio, rate = (
            self.parts.speaker.synthesize(text, voice)
            if text
            else (np.zeros(0, np.float32), 16_000)
        )
        tts_s = time.perf_counter() - t0
        latency = dict(turn_fields.pop("latency", {}) or {})  # type: ignore[call-overload]
        latency["tts"] = tts_s
        turn = Turn(
            index=self.writer.next_index(),
            speaker=speaker,  # type: ignore[arg-type]
            phase="debrief" if speaker == "examiner" else "call",
            text=text,
            started_at=started,
            ended_at=started + (audio.size / rate if rate else 0.0),
            latency=latency,
            **turn_fields,  # type: ignore[arg-type]
        )
        self.writer.add_turn(turn, audio, rate)
        self.view.turn(turn)
        self._play_whole(audio, rate)
        return turn

    def _play_whole(self, audio: AudioArray, rate: int) -> None:
        """Play ``audio`` to the end (lines that are not streamed: opening, examiner, summary)."""
        if not audio.size:
            return
        if self._sink is not None:
            self._sink.begin()
            self._sink.play(audio, rate)
            self._sink.wait()
        elif self.parts.player is not None:
            self.parts.player(audio, rate)

    def _customer_says(self, line: CustomerLine, latency: dict[str, float]) -> Turn:
        return self._say(
            "customer",
            "customer",
            line.text,
            stage_direction=line.stage_direction,
            source=line.source,
            notes=list(line.notes),
            latency=latency,
        )

    # ------------------------------------------------------------------ listening

    def _learner_turn(self, utt: LearnerUtterance, phase: str) -> Turn:
        started = self.writer.elapsed()
        voice = None
        words = utt.transcription.words if utt.transcription else []
        if utt.audio is not None and utt.audio.size:
            measured = measure_voice(utt.audio, words, 16_000)
            measured.overlap_s = utt.overlap_s
            voice = self.baseline.relative(measured)
            self.baseline.update(measured)
        turn = Turn(
            index=self.writer.next_index(),
            speaker="learner",
            phase=phase,  # type: ignore[arg-type]
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
            turn.tone = self.parts.tone.read(utt.text, context=context, voice=voice)
            turn.latency["tone"] = time.perf_counter() - t0
        return turn

    def _paraphrase_context(self) -> str | None:
        """What the learner's turn answers: the customer's complaint and their last line.

        A paraphrase restates the problem, which the opening line usually holds; the
        last line alone may be a fragment ("I've been doing this for years").
        """
        lines = [t.text for t in self.record.turns if t.speaker == "customer" and t.phase == "call"]
        if not lines:
            return None
        return lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1]}"

    # ------------------------------------------------------------------ the call

    def run(self) -> PracticeResult:
        outcome: Outcome = "max_turns"
        try:
            outcome = self._call()
        except KeyboardInterrupt:
            outcome = "interrupted"
            self.writer.event("interrupted", "the learner pressed Ctrl-C")
            self.view.note("Call interrupted; everything said so far is saved.")
        finally:
            self.writer.finish(outcome, self.state.anger)
        if outcome != "interrupted" and self.options.debrief:
            try:
                self._debrief()
            except KeyboardInterrupt:
                self.writer.event("interrupted", "during the debrief")
        assessments: list[Assessment] = []
        reports: list[Path] = []
        if self.options.assess and self.parts.evaluate is not None:
            assessments, reports = self._feedback()
        return PracticeResult(self.record, self.writer.folder, assessments, reports)

    def _call(self) -> Outcome:
        persona = self.scenario.persona
        self.view.header(self.scenario.title, self.scenario.setting, persona.name)
        opening = self.parts.customer.opening()
        self._customer_says(opening, {})
        if self._sink is not None:
            self._prime_customer()
        learner_turns = 0
        while learner_turns < self.options.max_turns:
            self._allow_cut_in(persona.may_interrupt)
            with self.view.waiting("Your turn: listening…"):
                utt = self.input.next_utterance("call")
            if utt is None:
                return "learner_ended"
            learner_turns += 1
            if self._overlap_s:
                utt.overlap_s, self._overlap_s = max(utt.overlap_s, self._overlap_s), 0.0
            turn = self._learner_turn(utt, "call")
            if utt.cut_in:
                turn.notes.append("the customer cut in: the learner had talked for too long")
            reading = turn.tone or ToneReading()
            customer = self.parts.customer
            extra = customer.trigger_reasons(utt.text, reading)
            if looks_like_injection(utt.text):
                # A real customer hears "ignore your instructions" as a strange, unhelpful
                # remark: it annoys a little and changes nothing else.
                extra.append(AngerReason(cause="odd remark", delta=ODD_REMARK))
                turn.notes.append("learner turn looked like instructions to the model")
            self.state, step = anger_model.step(
                self.state,
                reading,
                persona,
                resolution_offered=customer.resolution_offered(utt.text),
                repeated_failure=customer.repeats_failure(utt.text),
                extra=extra,
            )
            turn.anger = step
            self.writer.add_turn(turn, utt.audio, 16_000)
            self.view.turn(turn)
            self.view.anger(step)
            self.last_reading = reading
            if is_goodbye(utt.text):
                return "learner_ended"
            line = self._reply(reading, utt)
            if line.outcome is not None:
                return line.outcome
        self.writer.event("max_turns", f"stopped after {self.options.max_turns} learner turns")
        return "max_turns"

    # ------------------------------------------------------------------ replying

    def _prime_customer(self) -> None:
        """Let the model read the call's prompt while the learner speaks their first turn."""
        turns, state = list(self.record.turns), self.state.model_copy()

        def prime() -> None:
            try:
                self.parts.customer.prime(turns, state)
            except Exception as exc:  # only a speed-up: a failure here must not end the call
                self.writer.event("customer_prime", f"{type(exc).__name__}: {exc}")

        threading.Thread(target=prime, name="calmline-prime", daemon=True).start()

    def _allow_cut_in(self, may_interrupt: bool) -> None:
        """Let an angry persona that may interrupt cut the learner off (live input only)."""
        set_cut_in = getattr(self.input, "set_cut_in", None)
        if callable(set_cut_in):
            current = band(self.state.anger)
            set_cut_in(CUT_IN_AFTER_S.get(current) if may_interrupt else None)

    def _barged_in(self, since: float) -> Callable[[], bool]:
        """A check that the learner started talking after ``since`` (False without live input)."""
        heard = getattr(self.input, "speech_started_after", None)
        if not callable(heard):
            return lambda: False
        return lambda: heard(since) is not None

    def _reply(self, reading: ToneReading, utt: LearnerUtterance) -> CustomerLine:
        """The customer answers: generated, checked, spoken sentence by sentence, saved.

        Without a sink (no speakers) the line is generated whole and saved as before.
        """
        clock = self.parts.clock
        decided = utt.decided_at if utt.decided_at is not None else clock()
        customer = self.parts.customer
        if self._sink is None:
            t0 = clock()
            with self.view.waiting("The customer is answering…"):
                line = customer.respond(self.record.turns, self.state, reading)
            for note in line.notes:
                self.writer.event("customer_line", note)
            self._record_model_events()
            self._customer_says(line, {"customer_line": clock() - t0})
            return line
        stream = customer.stream(self.record.turns, self.state, reading)
        started = self.writer.elapsed()
        # A customer who has just cut the learner off talks over them: no barge-in.
        since = clock()
        barged = (lambda: False) if utt.cut_in else self._barged_in(since)
        reply = speak_streamed(
            stream, self.parts.speaker, self._sink, barged_in=barged, clock=clock
        )
        if reply.interrupted:
            heard = getattr(self.input, "speech_started_after", lambda _t: None)(since)
            # SpeechStarted fires once BARGE_IN_SPEECH_MS of speech has been heard.
            self._overlap_s = (
                max(clock() - heard, 0.0) + BARGE_IN_SPEECH_MS / 1000 if heard is not None else 0.0
            )
        line = stream.line or CustomerLine(reply.full_text(), source="llm")
        for note in line.notes:
            self.writer.event("customer_line", note)
        self._record_model_events()
        self._save_reply(line, reply, started, decided)
        return line

    def _record_model_events(self) -> None:
        """Copy what the LLM layer saw (endpoint failures, switching to the bundled model and
        back) into the session, so an assessor can tell why a line sounds different."""
        events = getattr(self.parts.customer.model, "events", None)
        if not isinstance(events, list):
            return
        for event in events[self._model_events_seen :]:
            self.writer.event(event.kind, event.detail)
        self._model_events_seen = len(events)

    def _save_reply(
        self, line: CustomerLine, reply: SpokenReply, started: float, decided: float
    ) -> Turn:
        latency = {"tts": reply.tts_s}
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

    def _debrief(self) -> None:
        if self.parts.debrief_questions is None:
            return
        questions = self.parts.debrief_questions(self.record)
        if not questions:
            return
        self.view.console.rule("[bold]Debrief")
        for question in questions:
            self._say("examiner", "coach", question, source="rubric")
            with self.view.waiting("Your answer: listening…"):
                utt = self.input.next_utterance("debrief")
            if utt is None:
                self.writer.event("debrief", "no answer given")
                break
            turn = self._learner_turn(utt, "debrief")
            self.writer.add_turn(turn, utt.audio, 16_000)
            self.view.turn(turn)

    def _feedback(self) -> tuple[list[Assessment], list[Path]]:
        assert self.parts.evaluate is not None
        with self.view.waiting("Marking the call against the rubrics…"):
            assessments = self.parts.evaluate(self.record)
        reports: list[Path] = []
        if self.parts.write_reports is not None:
            reports = self.parts.write_reports(self.record, assessments, self.writer.folder)
        if self.parts.spoken_summary is not None and assessments:
            summary = self.parts.spoken_summary(assessments)
            audio, rate = self.parts.speaker.synthesize(summary, "coach")
            from calmline.audio import write_wav

            write_wav(self.writer.folder / "feedback-summary.wav", audio, rate)
            self.writer.write_json("feedback-summary.txt", summary + "\n")
            self.view.console.rule("[bold]Feedback")
            self.view.console.print(summary)
            self._play_whole(audio, rate)
        return assessments, reports
