"""One practice call from the opening line to the spoken feedback: the session's conductor.

The loop only sequences collaborators it is handed (learner input, tone reader,
anger model, customer, speaker, evaluator); it owns the order of events and the rule
that every turn is on disk before the next one starts.

With live input that announces phrase pauses (``PausingInput``) and speakers, the
reply is started speculatively at each pause (``speculation.Speculation``): the turn
is read and weighed and the reply generated and synthesised, but nothing is saved,
played or changed until the end of the turn confirms the same utterance; then the
turn is committed exactly as it would have been and the buffered audio plays at once.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, cast

import numpy as np

from calmline.call.inputs import (
    LearnerInput,
    LearnerUtterance,
    PausingInput,
    SpeechResumed,
    TurnPaused,
    is_goodbye,
)
from calmline.call.memory import release_free_memory, tune_malloc
from calmline.call.session import SessionWriter, new_session_id
from calmline.call.speaking import SpokenReply, speak_streamed
from calmline.call.speculation import Prepared, Speculation, SpeculationStats, interruptible
from calmline.call.view import CallView
from calmline.customer import anger as anger_model
from calmline.customer.anger import band
from calmline.customer.character import Customer, CustomerLine, looks_like_injection
from calmline.customer.scenario import Scenario
from calmline.errors import CalmlineError, Terminated
from calmline.models import (
    AngerReason,
    AngerState,
    Assessment,
    ModelsUsed,
    Outcome,
    SessionRecord,
    ToneReading,
    Turn,
    VoiceFeatures,
)
from calmline.protocols import AudioArray, Speaker
from calmline.speech.listener import BARGE_IN_SPEECH_MS
from calmline.speech.output import AudioSink, PlayerSink
from calmline.speech.voice import VoiceBaseline, measure_voice
from calmline.tone.reader import ToneReader

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
        speculative: with live input that announces phrase pauses and with speakers,
            start the reply at each pause and keep it back until the turn is over
            (saves the end-of-turn wait); other inputs are not affected.
    """

    out: Path
    max_turns: int = 12
    debrief: bool = True
    assess: bool = True
    exam: bool = False
    learner: str | None = None
    speculative: bool = True


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
        self.speculation = SpeculationStats()
        self._last_ahead: Speculation[LearnerStep] | None = None
        if self._speculating():
            # A discarded speculation's generation then stops at the next token.
            parts.customer.model = interruptible(parts.customer.model)
        tune_malloc()  # threads come and go all call long: see calmline.call.memory

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
        """Read a debrief answer (the call's turns go through ``_read_learner``/``_commit``)."""
        step = self._read_learner(utt, phase)
        if step.measured is not None:
            self.baseline.update(step.measured)
        return step.turn

    def _read_learner(self, utt: LearnerUtterance, phase: str) -> LearnerStep:
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
        return LearnerStep(utt, turn, measured)

    def _weigh(self, step: LearnerStep) -> None:
        """The anger step of a call turn, from the current state (which is not changed)."""
        utt, turn = step.utterance, step.turn
        if utt.cut_in:
            turn.notes.append("the customer cut in: the learner had talked for too long")
        reading = step.reading
        customer = self.parts.customer
        extra = customer.trigger_reasons(utt.text, reading)
        if looks_like_injection(utt.text):
            # A real customer hears "ignore your instructions" as a strange, unhelpful
            # remark: it annoys a little and changes nothing else.
            extra.append(AngerReason(cause="odd remark", delta=ODD_REMARK))
            turn.notes.append("learner turn looked like instructions to the model")
        # what the turn does for the customer, beside how it sounds (customer.meaning)
        turn.meaning = customer.read_meaning(utt.text, self.record.turns)
        step.state, turn.anger = anger_model.step(
            self.state,
            reading,
            self.scenario.persona,
            resolution_offered=customer.resolution_offered(utt.text),
            repeated_failure=customer.repeats_failure(utt.text, turn.meaning),
            extra=extra,
            meaning=turn.meaning,
            temper=customer.temper,
        )

    def _commit(self, step: LearnerStep) -> None:
        """Make a weighed call turn part of the call: baseline, anger, saved, shown."""
        if step.measured is not None:
            self.baseline.update(step.measured)
        assert step.state is not None and step.turn.anger is not None
        self.state = step.state
        self.writer.add_turn(step.turn, step.utterance.audio, 16_000)
        self.view.turn(step.turn)
        self.view.anger(step.turn.anger)
        self.last_reading = step.reading

    def _take_overlap(self, utt: LearnerUtterance, consume: bool = True) -> None:
        """Carry the learner's talk-over of the last reply into this turn's voice cues."""
        if self._overlap_s:
            utt.overlap_s = max(utt.overlap_s, self._overlap_s)
            if consume:
                self._overlap_s = 0.0

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
        """Run the call, the debrief and the marking; the session says how it ended.

        Ctrl-C and SIGTERM (:class:`Terminated`) end the call as ``interrupted``; after
        SIGTERM nothing more runs. A failure that stops the call (a turn that could not
        be written to a full disk, say) marks it ``incomplete``, never as finished.
        """
        try:
            outcome = self._call()
        except KeyboardInterrupt as stop:
            outcome = "interrupted"
            self.writer.event("interrupted", _stop_reason(stop, "the learner pressed Ctrl-C"))
            self.writer.finish(outcome, self.state.anger)
            self.view.note("Call interrupted; everything said so far is saved.")
            if isinstance(stop, Terminated):
                raise
        except BaseException as exc:
            self._stopped_incomplete(exc)
        else:
            self.writer.finish(outcome, self.state.anger)
        if outcome != "interrupted" and self.options.debrief:
            try:
                self._debrief()
            except KeyboardInterrupt as stop:
                self.writer.event("interrupted", _stop_reason(stop, "during the debrief"))
                if isinstance(stop, Terminated):
                    raise
        assessments: list[Assessment] = []
        reports: list[Path] = []
        if self.options.assess and self.parts.evaluate is not None:
            assessments, reports = self._feedback()
        return PracticeResult(self.record, self.writer.folder, assessments, reports)

    def _stopped_incomplete(self, exc: BaseException) -> NoReturn:
        """Mark the session ``incomplete`` and re-raise, saying where the part is kept."""
        problem = exc.message if isinstance(exc, CalmlineError) else f"{type(exc).__name__}: {exc}"
        marked = self.writer.mark_incomplete(problem)
        if isinstance(exc, CalmlineError):
            where = "marked incomplete" if marked else "left in_progress (it could not be updated)"
            raise CalmlineError(
                f"{exc.message}; the call stopped, and {self.writer.folder} is {where}", exc.hint
            ) from exc
        raise exc

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
                utt, ahead = self._listen()
            if utt is None:
                return "learner_ended"
            learner_turns += 1
            self._take_overlap(utt)
            if ahead is not None:
                step = self._confirmed_step(ahead.prepared.step, utt)
            else:
                step = self._read_learner(utt, "call")
                self._weigh(step)
            self._commit(step)
            if is_goodbye(utt.text):
                return "learner_ended"
            line = self._reply(step.reading, utt, ahead.speculation if ahead else None)
            if line.outcome is not None:
                return line.outcome
            release_free_memory()  # while the learner starts to answer
        self.writer.event("max_turns", f"stopped after {self.options.max_turns} learner turns")
        return "max_turns"

    # ------------------------------------------------------------------ speculating

    def _speculating(self) -> bool:
        return (
            self.options.speculative
            and self._sink is not None
            and callable(getattr(self.input, "next_event", None))
        )

    def _listen(self) -> tuple[LearnerUtterance | None, _Confirmed | None]:
        """The learner's next turn, and the reply started at its last pause if it still holds."""
        if not self._speculating():
            return self.input.next_utterance("call"), None
        if self._last_ahead is not None:
            # A reply cut off by barge-in stops at its next sentence; let it, so that
            # nothing it does can overlap what is speculated next.
            self._last_ahead.join()
            self._last_ahead = None
        next_event = cast(PausingInput, self.input).next_event
        spec: Speculation[LearnerStep] | None = None
        try:
            while True:
                event = next_event("call")
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

    def _speculate(self, pause: TurnPaused) -> Speculation[LearnerStep]:
        """Read, weigh and answer the turn as it stands at ``pause``, on another thread."""
        history = list(self.record.turns)
        customer = self.parts.customer

        def prepare(utt: LearnerUtterance) -> Prepared[LearnerStep] | None:
            if not utt.text:
                return None
            self._take_overlap(utt, consume=False)
            step = self._read_learner(utt, "call")
            self._weigh(step)
            if is_goodbye(utt.text):
                return Prepared(step, None)
            assert step.state is not None
            return Prepared(step, customer.stream([*history, step.turn], step.state, step.reading))

        saved = _customer_state(customer)  # before the reply can change it
        self.speculation.started += 1
        spec: Speculation[LearnerStep] = Speculation(
            pause.utterance,
            prepare,
            self.parts.speaker,
            stale=pause.stale,
            clock=self.parts.clock,
        )
        spec.undo = lambda: _restore_customer_state(customer, saved)
        return spec

    def _discard(self, spec: Speculation[LearnerStep] | None) -> None:
        """Throw a speculation away: its model stream closed, the customer as it was before."""
        if spec is None:
            return
        spec.cancel()
        spec.join()
        spec.undo()
        self.speculation.discarded += 1
        if spec.reply_started_at is not None:
            self.speculation.discarded_generating += 1

    def _confirm(
        self, spec: Speculation[LearnerStep] | None, utt: LearnerUtterance
    ) -> _Confirmed | None:
        """``spec`` if it was made from exactly this utterance; otherwise it is discarded."""
        if spec is None:
            return None
        prepared = None if spec.cancelled or utt.cut_in else spec.wait_prepared()
        if prepared is None or spec.utterance is None or not _same(spec.utterance, utt):
            self._discard(spec)
            return None
        self.speculation.confirmed += 1
        self._last_ahead = spec
        return _Confirmed(spec, prepared)

    def _confirmed_step(self, step: LearnerStep, utt: LearnerUtterance) -> LearnerStep:
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

    def _reply(
        self,
        reading: ToneReading,
        utt: LearnerUtterance,
        ahead: Speculation[LearnerStep] | None = None,
    ) -> CustomerLine:
        """The customer answers: generated, checked, spoken sentence by sentence, saved.

        Without a sink (no speakers) the line is generated whole and saved as before.
        ``ahead``: the reply was started at the learner's pause and is already buffered.
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
        pieces: Any
        if ahead is not None and ahead.prepared is not None:
            stream = ahead.prepared.reply
            pieces, asked_at = ahead.pieces(), ahead.reply_started_at
        else:
            stream = customer.stream(self.record.turns, self.state, reading)
            pieces, asked_at = stream, None
        started = self.writer.elapsed()
        # A customer who has just cut the learner off talks over them: no barge-in.
        since = clock()
        barged = (lambda: False) if utt.cut_in else self._barged_in(since)
        reply = speak_streamed(
            pieces,
            self.parts.speaker,
            self._sink,
            barged_in=barged,
            clock=clock,
            started_at=asked_at,
        )
        if reply.interrupted:
            heard = getattr(self.input, "speech_started_after", lambda _t: None)(since)
            # SpeechStarted fires once BARGE_IN_SPEECH_MS of speech has been heard.
            self._overlap_s = (
                max(clock() - heard, 0.0) + BARGE_IN_SPEECH_MS / 1000 if heard is not None else 0.0
            )
        line = getattr(stream, "line", None) or CustomerLine(reply.full_text(), source="llm")
        for note in line.notes:
            self.writer.event("customer_line", note)
        self._record_model_events()
        ahead_s = {} if asked_at is None else {"reply_ahead_of_decision": decided - asked_at}
        self._save_reply(line, reply, started, decided, ahead_s)
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
            from calmline.speech.audio import write_wav

            write_wav(self.writer.folder / "feedback-summary.wav", audio, rate)
            self.writer.write_json("feedback-summary.txt", summary + "\n")
            self.view.console.rule("[bold]Feedback")
            self.view.console.print(summary)
            self._play_whole(audio, rate)
        return assessments, reports


@dataclass
class _Confirmed:
    """A speculation the end of the turn confirmed, with what it prepared."""

    speculation: Speculation[LearnerStep]
    prepared: Prepared[LearnerStep]


def _stop_reason(stop: KeyboardInterrupt, ctrl_c: str) -> str:
    return "the process was asked to stop (SIGTERM)" if isinstance(stop, Terminated) else ctrl_c


def _same(ahead: LearnerUtterance, final: LearnerUtterance) -> bool:
    """The speculated utterance is the final one: same words, timings and audio."""
    if ahead.text != final.text or ahead.transcription != final.transcription:
        return False
    a, b = ahead.audio, final.audio
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and bool(np.array_equal(a, b))


def _customer_state(customer: Customer) -> Any:
    """What a reply may change in the customer (the authored lines' rotation), copied."""
    snapshot = getattr(customer, "snapshot", None)
    if callable(snapshot):
        return snapshot()
    return copy.deepcopy(customer._cycle)


def _restore_customer_state(customer: Customer, saved: Any) -> None:
    restore = getattr(customer, "restore", None)
    if callable(restore):
        restore(saved)
    else:
        customer._cycle = saved
