"""The reply started at the learner's phrase pause: released at the decision, or left no trace."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from calmline.call.inputs import LearnerUtterance, LiveEvent, SpeechResumed, TurnPaused
from calmline.call.practice import Collaborators, PracticeCall, PracticeOptions
from calmline.call.view import CallView
from calmline.customer.character import Customer, CustomerOptions
from calmline.customer.scenario import load_scenario
from calmline.embed import FakeEmbedder
from calmline.models import SessionRecord
from calmline.speech.output import SimulatedSink
from calmline.testing.fake_llm import FakeCall, FakeChatModel
from calmline.testing.fakes import FakeSpeaker, FakeTranscriber
from calmline.tone.cues import load_cues
from calmline.tone.reader import ToneReader

MODEL_DELAY_S = 0.2  # the fake model's time to its first words
WAIT_S = 0.4  # the end-of-turn wait after a pause (longer than the model, so it is buffered)

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
    """A scripted model that takes a while to start answering, like a real one."""

    delay_s: float = MODEL_DELAY_S

    def _stream(self, index: int, call: FakeCall) -> Iterator[str]:
        time.sleep(self.delay_s)
        yield from super()._stream(index, call)


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

    After a pause comes ``WAIT_S`` of (real) silence before the next event, as the rest
    of the end-of-turn wait would be; a turn's end is decided when it is returned.
    """

    def __init__(self, turns: list[list[tuple[str, ...]]]) -> None:
        self._events = [e for turn in turns for e in turn]
        self._paused = False

    def next_event(self, phase: str) -> LiveEvent | None:
        if phase != "call" or not self._events:
            return None
        if self._paused:
            time.sleep(WAIT_S)
        kind, *text = self._events.pop(0)
        now = time.perf_counter()
        self._paused = kind == "pause"
        if kind == "pause":
            heard = _heard(text[0], now)
            return TurnPaused(resolve=lambda: heard, stale=lambda: False, at=now)
        if kind == "resume":
            return SpeechResumed(at=now)
        return _heard(text[0], now)

    def next_utterance(self, phase: str) -> LearnerUtterance | None:
        while True:
            event = self.next_event(phase)
            if event is None or isinstance(event, LearnerUtterance):
                return event

    def set_cut_in(self, seconds: float | None) -> None:
        pass  # the scripted learner is never cut off

    def speech_started_after(self, t: float) -> float | None:
        return None  # nor talks over the customer


def _run(
    tmp_path: Path, turns: list[list[tuple[str, ...]]], speculative: bool
) -> tuple[SessionRecord, PracticeCall, _SlowModel]:
    scenario = load_scenario("kettle-counter")
    model = _SlowModel(replies=[_reply], cycle=True)
    parts = Collaborators(
        customer=Customer(scenario, model, CustomerOptions(stream_early=True), seed=3),
        tone=ToneReader(FakeEmbedder(), load_cues()),
        speaker=_QuickSpeaker(),
        sink=SimulatedSink(),
    )
    console = Console(file=open(tmp_path / f"view-{speculative}.txt", "w"))  # noqa: SIM115
    options = PracticeOptions(
        out=tmp_path / ("ahead" if speculative else "plain"),
        debrief=False,
        assess=False,
        speculative=speculative,
    )
    learner = _PausingLearner(turns)
    call = PracticeCall(scenario, parts, learner, options, CallView(console=console))
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
        assert reply.latency["end_of_turn_to_first_audio"] < 0.1
        assert reply.latency["reply_ahead_of_decision"] > MODEL_DELAY_S
        # ... where the normal path waits for the model after it.
        assert normal.latency["end_of_turn_to_first_audio"] >= MODEL_DELAY_S
        assert reply.latency["first_sentence"] >= MODEL_DELAY_S  # the model's real time


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

    scenario = load_scenario("kettle-counter")
    parts = Collaborators(
        customer=Customer(scenario, FakeChatModel(replies=[_reply], cycle=True)),
        tone=ToneReader(FakeEmbedder(), load_cues()),
        speaker=_QuickSpeaker(),
        sink=SimulatedSink(),
    )
    console = Console(file=open(tmp_path / "view.txt", "w"))  # noqa: SIM115
    options = PracticeOptions(out=tmp_path, debrief=False, assess=False)
    call = PracticeCall(scenario, parts, ScriptInput([SORRY]), options, CallView(console=console))
    record = call.run().record
    assert call.speculation.started == 0
    assert [t.speaker for t in record.turns] == ["customer", "learner", "customer"]


def test_a_cancelled_speculation_stops_its_model_at_the_next_token() -> None:
    from calmline.call.speculation import InterruptibleModel, Prepared, Speculation
    from calmline.protocols import GenerationOptions

    pulled: list[str] = []

    @dataclass
    class _Dribbling(FakeChatModel):
        def _stream(self, index: int, call: FakeCall) -> Iterator[str]:
            for piece in super()._stream(index, call):
                time.sleep(0.05)  # a token every 50 ms
                pulled.append(piece)
                yield piece

    line = "one two three four five six seven eight nine ten eleven twelve."
    model = InterruptibleModel(_Dribbling(replies=[line], cycle=True))

    def reply() -> Iterator[str]:
        # Like the customer: the whole sentence is read from the model before it is yielded.
        yield "".join(model.stream_complete("prompt", GenerationOptions()))

    spec: Speculation[None] = Speculation(
        lambda: _heard(SORRY, 0.0), lambda _utt: Prepared(None, reply()), FakeSpeaker()
    )
    time.sleep(0.12)
    spec.cancel()
    cancelled_at = time.perf_counter()
    spec.join(2.0)
    assert time.perf_counter() - cancelled_at < 0.1  # not the 0.5 s left of the sentence
    assert 1 <= len(pulled) <= 4
    # Outside a speculation the same model streams the whole line.
    pulled.clear()
    assert "".join(model.stream_complete("prompt", GenerationOptions())) == line
    assert len(pulled) == 12
