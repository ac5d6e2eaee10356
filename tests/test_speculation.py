"""The reply started at the learner's phrase pause: released at the decision, or left no trace."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from calmline.call.inputs import (
    LearnerUtterance,
    LiveEvent,
    SpeechResumed,
    TurnPaused,
    next_turn,
)
from calmline.call.practice import PracticeCall
from calmline.customer.character import CustomerOptions
from calmline.models import SessionRecord
from calmline.speech.clock import VirtualClock
from calmline.speech.output import SimulatedSink
from calmline.testing.fake_llm import FakeCall, FakeChatModel
from calmline.testing.fakes import FakeSpeaker, FakeTranscriber
from support.practice import fake_parts, practice_call

# Times are on a virtual clock shared by the model, the learner, the call and the sink:
# the figures below are exact whatever the machine's load.
MODEL_DELAY_S = 0.2  # the fake model's time to its first words
WAIT_S = 0.4  # the end-of-turn wait after a pause (longer than the model, so it is buffered)
ANSWER_TIMEOUT_S = 60  # only a hang guard: the speculation answers long before

SORRY = "I'm so sorry it leaked."
FULL = "I'm so sorry it leaked, that must have made a real mess at home."


def _reply(prompt: str) -> str:
    """The customer answers the learner's last line, so a partial turn gets another answer."""
    last = prompt.rsplit("AGENT:", 1)[-1].split("\n", 1)[0]
    if "mess" in last:
        return "A mess is one word for it, the counter is ruined."
    return "Sorry is not going to fix my kitchen counter."


@dataclass
class _SlowModel(FakeChatModel):
    """A scripted model that takes ``delay_s`` of the virtual clock to start answering.

    Priming (a one-token request) takes no time, so only replies move the clock.
    ``answered`` is set when a reply stream has finished or been closed.
    """

    clock: VirtualClock = field(default_factory=VirtualClock)
    delay_s: float = MODEL_DELAY_S
    answered: threading.Event = field(default_factory=threading.Event)

    def reply_stream(self, index: int, call: FakeCall) -> Iterator[str]:
        if call.options.max_tokens == 1:
            yield from super().reply_stream(index, call)
            return
        try:
            self.clock.sleep(self.delay_s)
            yield from super().reply_stream(index, call)
        finally:
            self.answered.set()


class _QuickSpeaker(FakeSpeaker):
    """Speech that plays in 10 ms a line, so the calls do not take seconds of playback."""

    def synthesize(self, text: str, voice: str) -> tuple[np.ndarray, int]:
        self.spoken.append((voice, text))
        return np.full(160, 0.01 * (1 + len(text) % 7), np.float32), 16_000


def _audio(text: str) -> np.ndarray:
    """A distinct, deterministic "recording" per text (long enough for voice features)."""
    seconds = 0.4 + 0.1 * len(text.split())
    t = np.arange(int(seconds * 16_000), dtype=np.float32) / 16_000
    return (0.1 * np.sin(2 * np.pi * (150 + len(text)) * t)).astype(np.float32)


def _heard(text: str, decided_at: float) -> LearnerUtterance:
    audio = _audio(text)
    return LearnerUtterance(
        text=text,
        source="mic",
        audio=audio,
        transcription=FakeTranscriber([text]).transcribe(audio),
        latency={"end_of_turn_to_text": 0.0},
        decided_at=decided_at,
    )


class _PausingLearner:
    """Live input as scripted events: ``("pause", text)``, ``("resume",)``, ``("end", text)``.

    After a pause comes ``WAIT_S`` of silence on the virtual clock before the next event,
    as the rest of the end-of-turn wait would be; a turn's end is decided when it is
    returned. With ``speculative`` the learner first waits until the model has answered
    the speculation, as a real model would within the wait; the clock makes the two
    overlap exactly as the figures below expect, however slow the machine is.
    """

    def __init__(
        self, turns: list[list[tuple[str, ...]]], model: _SlowModel, speculative: bool
    ) -> None:
        self._events = [e for turn in turns for e in turn]
        self._paused = False
        self._model = model
        self._speculative = speculative

    def next_event(self, phase: str) -> LiveEvent | None:
        if phase != "call" or not self._events:
            return None
        if self._paused:
            if self._speculative:
                assert self._model.answered.wait(ANSWER_TIMEOUT_S), "no speculative reply"
            self._model.clock.sleep(WAIT_S)
        kind, *text = self._events.pop(0)
        now = self._model.clock.now()
        self._paused = kind == "pause"
        if kind == "pause":
            self._model.answered.clear()
            heard = _heard(text[0], now)
            return TurnPaused(resolve=lambda: heard, stale=lambda: False, at=now)
        if kind == "resume":
            return SpeechResumed(at=now)
        return _heard(text[0], now)

    def next_utterance(self, phase: str) -> LearnerUtterance | None:
        return next_turn(self, phase)

    def set_cut_in(self, seconds: float | None) -> None:
        pass  # the scripted learner is never cut off

    def speech_started_after(self, t: float) -> float | None:
        return None  # nor talks over the customer


def _run(
    tmp_path: Path, turns: list[list[tuple[str, ...]]], speculative: bool
) -> tuple[SessionRecord, PracticeCall, _SlowModel]:
    clock = VirtualClock()
    model = _SlowModel(replies=[_reply], cycle=True, clock=clock)
    parts = fake_parts(
        model,
        customer_options=CustomerOptions(stream_early=True),
        seed=3,
        speaker=_QuickSpeaker(),
        sink=SimulatedSink(clock),
        clock=clock.now,
    )
    learner = _PausingLearner(turns, model, speculative)
    call = practice_call(
        tmp_path / f"view-{speculative}.txt",
        learner,
        parts,
        out=tmp_path / ("ahead" if speculative else "plain"),
        debrief=False,
        assess=False,
        speculative=speculative,
    )
    return call.run().record, call, model


def _what_was_said(record: SessionRecord) -> list[tuple[object, ...]]:
    """Everything in the record but times, latencies and file names."""
    return [
        (t.speaker, t.phase, t.text, t.stage_direction, t.source, t.tone, t.anger, t.notes, t.words)
        for t in record.turns
    ]


def test_a_confirmed_speculation_is_heard_at_the_decision_and_saved_as_usual(
    tmp_path: Path,
) -> None:
    turns = [
        [("pause", SORRY), ("end", SORRY)],
        [("pause", FULL), ("end", FULL)],
    ]
    ahead, call, _model = _run(tmp_path, turns, speculative=True)
    plain, _, _ = _run(tmp_path, turns, speculative=False)

    assert call.speculation.started == 2 and call.speculation.confirmed == 2
    assert _what_was_said(ahead) == _what_was_said(plain)
    assert (ahead.final_anger, ahead.outcome) == (plain.final_anger, plain.outcome)
    for record in (ahead, plain):
        for turn in record.turns:
            if turn.speaker == "learner":
                assert {"end_of_turn_to_text", "tone"} <= set(turn.latency)
            elif turn.phase == "call" and turn.index > 0:
                assert {"tts", "first_sentence", "end_of_turn_to_first_audio"} <= set(turn.latency)
    replies = [t for t in ahead.turns if t.speaker == "customer" and t.index > 0]
    plain_replies = [t for t in plain.turns if t.speaker == "customer" and t.index > 0]
    assert [t.source for t in replies] == ["llm", "llm"]  # both from the (slow) model
    for reply, normal in zip(replies, plain_replies, strict=True):
        # Generated during the wait: the first audio follows the decision at once ...
        assert reply.latency["end_of_turn_to_first_audio"] == pytest.approx(0.0, abs=1e-9)
        assert reply.latency["reply_ahead_of_decision"] > MODEL_DELAY_S
        # ... where the normal path waits for the model after it.
        assert normal.latency["end_of_turn_to_first_audio"] >= MODEL_DELAY_S - 1e-9
        assert reply.latency["first_sentence"] >= MODEL_DELAY_S - 1e-9  # the model's time


@pytest.mark.parametrize(
    "turn",
    [
        # The learner pauses, goes on, and the turn ends without another pause.
        [("pause", SORRY), ("resume",), ("end", FULL)],
        # ... or pauses again: the second speculation holds.
        [("pause", SORRY), ("resume",), ("pause", FULL), ("end", FULL)],
        # The turn ends with other words than were speculated on (no resumption seen).
        [("pause", SORRY), ("end", FULL)],
    ],
    ids=["resumed", "resumed-and-paused-again", "different-text"],
)
def test_a_discarded_speculation_leaves_no_trace(
    tmp_path: Path, turn: list[tuple[str, ...]]
) -> None:
    turns = [[("pause", SORRY), ("end", SORRY)], turn]
    ahead, call, model = _run(tmp_path, turns, speculative=True)
    plain, plain_call, _ = _run(tmp_path, turns, speculative=False)

    assert call.speculation.discarded >= 1
    # The speculation did reach the model with the partial turn ...
    assert any(c.prompt.rsplit("AGENT:", 1)[-1].startswith(f" {SORRY}\n") for c in model.calls[2:])
    # ... yet the saved turns, anger and replies are those of the full turn alone.
    assert _what_was_said(ahead) == _what_was_said(plain)
    assert ahead.turns[-2].text == FULL
    assert ahead.turns[-1].text == "A mess is one word for it, the counter is ruined."
    assert ahead.final_anger == plain.final_anger
    assert [e.kind for e in ahead.events] == [e.kind for e in plain.events]
    # The authored stage directions' rotation is as if nothing had been speculated.
    assert call.parts.customer.snapshot() == plain_call.parts.customer.snapshot()


def test_typed_and_scripted_input_are_not_speculated_on(tmp_path: Path) -> None:
    from calmline.call.inputs import ScriptInput

    model = FakeChatModel(replies=[_reply], cycle=True)
    parts = fake_parts(model, seed=None, speaker=_QuickSpeaker(), sink=SimulatedSink())
    learner = ScriptInput([SORRY])
    call = practice_call(
        tmp_path / "view.txt", learner, parts, out=tmp_path, debrief=False, assess=False
    )
    record = call.run().record
    assert call.speculation.started == 0
    assert [t.speaker for t in record.turns] == ["customer", "learner", "customer"]


def test_a_cancelled_speculation_stops_its_model_at_the_next_token() -> None:
    from calmline.call.speculation import InterruptibleModel, Prepared, Speculation
    from calmline.protocols import GenerationOptions

    pulled: list[str] = []
    second_pulled, go_on, closed = threading.Event(), threading.Event(), threading.Event()

    @dataclass
    class _Dribbling(FakeChatModel):
        """Hands out a token at a time; holds the second until the test says go on."""

        def reply_stream(self, index: int, call: FakeCall) -> Iterator[str]:
            try:
                for piece in super().reply_stream(index, call):
                    pulled.append(piece)
                    if len(pulled) == 2 and not go_on.is_set():
                        second_pulled.set()
                        go_on.wait(ANSWER_TIMEOUT_S)
                    yield piece
            finally:
                closed.set()

    line = "one two three four five six seven eight nine ten eleven twelve."
    model = InterruptibleModel(_Dribbling(replies=[line], cycle=True))

    def reply() -> Iterator[str]:
        # Like the customer: the whole sentence is read from the model before it is yielded.
        yield "".join(model.stream_complete("prompt", GenerationOptions()))

    spec: Speculation[None] = Speculation(
        lambda: _heard(SORRY, 0.0), lambda _utt: Prepared(None, reply()), FakeSpeaker()
    )
    assert second_pulled.wait(ANSWER_TIMEOUT_S)
    spec.cancel()  # while the model is producing its second token
    go_on.set()
    spec.join(ANSWER_TIMEOUT_S)
    assert closed.is_set()  # the model's stream was closed ...
    assert pulled == ["one", " two"]  # ... at the next token, not after the sentence
    # Outside a speculation the same model streams the whole line.
    pulled.clear()
    assert "".join(model.stream_complete("prompt", GenerationOptions())) == line
    assert len(pulled) == 12
