"""One practice call from the opening line to the spoken feedback: the session's conductor.

The loop only sequences the parts it is handed; it owns the order of events and the
rule that every turn is on disk before the next one starts. Each part has one job:
``learner_turns`` reads, weighs and commits a learner turn; ``listening`` takes turns
from live input (``protocols.LiveLearnerInput``) and starts the reply at each phrase
pause (``speculation``); ``replying`` speaks the customer's reply and stops when the
learner barges in; ``announcer`` says whole lines; ``debriefing`` and ``feedback``
run after the call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from calmline.call.announcer import Announcer, Player
from calmline.call.debriefing import run_debrief
from calmline.call.feedback import give_feedback
from calmline.call.inputs import LearnerUtterance, is_goodbye
from calmline.call.learner_turns import ODD_REMARK, LearnerStep, LearnerTurns
from calmline.call.listening import Confirmed, SpeculativeListener
from calmline.call.memory import release_free_memory
from calmline.call.replying import Replier
from calmline.call.session import SessionWriter, new_session_id
from calmline.call.speculation import SpeculationStats
from calmline.call.view import CallView
from calmline.customer.anger import band
from calmline.customer.character import Customer
from calmline.customer.scenario import Scenario
from calmline.errors import CalmlineError, Terminated
from calmline.models import (
    AngerState,
    Assessment,
    ModelsUsed,
    Outcome,
    SessionRecord,
    ToneReading,
)
from calmline.protocols import LearnerInput, LiveLearnerInput, Synthesizer
from calmline.speech.output import AudioSink, PlayerSink
from calmline.speech.remote_stt import TranscriptionFailed
from calmline.speech.voice import VoiceBaseline
from calmline.tone.reader import ToneReader

__all__ = [
    "ODD_REMARK",
    "Collaborators",
    "LearnerStep",
    "Player",
    "PracticeCall",
    "PracticeOptions",
    "PracticeResult",
]

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
class Collaborators:
    """The components a call uses; each is a protocol, so tests can hand in fakes."""

    customer: Customer
    tone: ToneReader
    speaker: Synthesizer
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
        sink = parts.sink
        if sink is None and parts.player is not None:
            sink = PlayerSink(parts.player)
        self._sink = sink
        live = learner_input if isinstance(learner_input, LiveLearnerInput) else None
        self.live = live
        self.turns = LearnerTurns(scenario, parts.customer, parts.tone, self.writer, view)
        self.announcer = Announcer(self.writer, view, parts.speaker, sink, parts.player)
        self.replier = Replier(
            parts.customer,
            parts.speaker,
            sink,
            live,
            self.announcer,
            self.writer,
            view,
            parts.clock,
            talked_over=self.turns.talked_over,
        )
        self.speculation = SpeculationStats()
        # With live input and speakers the reply starts at each phrase pause.
        self.listener = (
            SpeculativeListener(
                live,
                self.turns,
                parts.customer,
                parts.speaker,
                self.writer,
                parts.clock,
                self.speculation,
            )
            if options.speculative and sink is not None and live is not None
            else None
        )

    @property
    def record(self) -> SessionRecord:
        return self.writer.record

    @property
    def state(self) -> AngerState:
        """The customer's anger now."""
        return self.turns.state

    @property
    def baseline(self) -> VoiceBaseline:
        return self.turns.baseline

    @property
    def last_reading(self) -> ToneReading | None:
        return self.turns.last_reading

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
            except TranscriptionFailed as exc:  # the call is whole: end the debrief, still mark
                kept = self._keep_unheard(exc, exc.message)
                self.view.note(
                    f"Speech to text failed in the debrief: {exc.message}. The debrief ends "
                    + (f"here; your answer's audio is kept in {kept}." if kept else "here.")
                )
        assessments: list[Assessment] = []
        reports: list[Path] = []
        if self.options.assess and self.parts.evaluate is not None:
            assessments, reports = self._feedback()
        return PracticeResult(self.record, self.writer.folder, assessments, reports)

    def _stopped_incomplete(self, exc: BaseException) -> NoReturn:
        """Mark the session ``incomplete`` and re-raise, saying where the part is kept."""
        problem = exc.message if isinstance(exc, CalmlineError) else f"{type(exc).__name__}: {exc}"
        kept = self._keep_unheard(exc, problem)
        marked = self.writer.mark_incomplete(problem)
        if isinstance(exc, CalmlineError):
            where = "marked incomplete" if marked else "left in_progress (it could not be updated)"
            if kept:
                where += f"; your last turn's audio is kept in {kept}"
            raise CalmlineError(
                f"{exc.message}; the call stopped, and {self.writer.folder} is {where}", exc.hint
            ) from exc
        raise exc

    def _keep_unheard(self, exc: BaseException, problem: str) -> str:
        """The audio of a turn speech to text failed on (a model server down), saved beside
        the session so nothing the learner said is lost; "" when there is none."""
        cause: BaseException | None = exc
        seen: set[int] = set()
        while cause is not None and not isinstance(cause, TranscriptionFailed):
            seen.add(id(cause))
            cause = cause.__cause__ or cause.__context__
            if cause is not None and id(cause) in seen:
                cause = None
        if cause is None or cause.audio is None:
            return ""
        try:
            return self.writer.keep_unheard(cause.audio, problem)
        except CalmlineError:
            return ""

    def _call(self) -> Outcome:
        persona = self.scenario.persona
        self.view.header(self.scenario.title, self.scenario.setting, persona.name)
        opening = self.parts.customer.opening()
        self.announcer.customer_says(opening, {})
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
            self.turns.take_overlap(utt)
            if ahead is not None and self.listener is not None:
                step = self.listener.confirmed_step(ahead.prepared.step, utt)
            else:
                step = self.turns.read_and_weigh(utt)
            self.turns.commit(step)
            if is_goodbye(utt.text):
                return "learner_ended"
            line = self.replier.reply(
                self.state, step.reading, utt, ahead.speculation if ahead else None
            )
            if line.outcome is not None:
                return line.outcome
            release_free_memory()  # while the learner starts to answer
        self.writer.event("max_turns", f"stopped after {self.options.max_turns} learner turns")
        return "max_turns"

    def _listen(self) -> tuple[LearnerUtterance | None, Confirmed | None]:
        """The learner's next turn, and the reply started at its last pause if it still holds."""
        if self.listener is None:
            return self.input.next_utterance("call"), None
        return self.listener.listen()

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
        if self.live is not None:
            current = band(self.state.anger)
            self.live.set_cut_in(CUT_IN_AFTER_S.get(current) if may_interrupt else None)

    def _debrief(self) -> None:
        if self.parts.debrief_questions is None:
            return
        run_debrief(
            self.parts.debrief_questions,
            self.input,
            self.announcer,
            self.turns,
            self.writer,
            self.view,
        )

    def _feedback(self) -> tuple[list[Assessment], list[Path]]:
        assert self.parts.evaluate is not None
        return give_feedback(
            self.parts.evaluate,
            self.parts.write_reports,
            self.parts.spoken_summary,
            self.parts.speaker,
            self.announcer,
            self.writer,
            self.view,
        )


def _stop_reason(stop: KeyboardInterrupt, ctrl_c: str) -> str:
    reason = getattr(stop, "reason", None)  # an input that stops the call says why (a browser)
    if isinstance(reason, str):
        return reason
    return "the process was asked to stop (SIGTERM)" if isinstance(stop, Terminated) else ctrl_c
