"""End of turn from words and voice: the policy's waits, and the listener on real speech.

The listener tests feed espeak-ng speech with a mid-turn pause through a real
``TurnListener`` with Whisper tiny.en, on a virtual clock that moves 30 ms a chunk: the
turn's end is read on the audio clock, never a wall clock. Phrases are transcribed
inline (the text is in at the pause itself) so that what is tested is the decision,
not how fast this machine runs Whisper.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from calmline.embed import FakeEmbedder
from calmline.errors import CalmlineError
from calmline.models import Transcription
from calmline.protocols import AudioArray, Transcriber
from calmline.speech.clock import VirtualClock
from calmline.speech.end_of_turn import (
    DEFAULT_MS,
    HAND_FEATURES,
    LONG_MS,
    SHORT_MS,
    EndOfTurnDecision,
    EndOfTurnModel,
    EndOfTurnPolicy,
    text_features,
    turn_words,
)
from calmline.speech.listener import HeardTurn, TurnListener
from calmline.speech.prosody import FEATURE_NAMES as VOICE_FEATURES
from calmline.speech.prosody import voice_features
from support.cli import assert_one_clear_line, calmline
from support.speech import say, silence

CHUNK = 480  # 30 ms at 16 kHz, as the microphone delivers


def _hand_model(weights: dict[str, float], bias: float = 0.0) -> EndOfTurnModel:
    """A model that reads only the named hand features (the rest weigh nothing)."""
    width = len(HAND_FEATURES) + len(VOICE_FEATURES) + FakeEmbedder(384).dim
    coef = np.zeros(width, np.float32)
    for name, w in weights.items():
        coef[HAND_FEATURES.index(name)] = w
    return EndOfTurnModel(
        coef=coef,
        bias=bias,
        mean=np.zeros(width, np.float32),
        std=np.ones(width, np.float32),
        short_above=0.8,
        long_below=0.2,
        embedder=FakeEmbedder.name,
    )


def test_trailing_words_that_cannot_end_a_clause_are_read() -> None:
    def feature(text: str, name: str) -> float:
        return float(text_features(turn_words(text))[HAND_FEATURES.index(name)])

    assert feature("I rang the depot and", "ends_conjunction") == 1.0
    assert feature("so what happens is, um", "ends_filler") == 1.0
    assert feature("I'll send it to", "ends_preposition") == 1.0
    assert feature("Can I take the", "ends_determiner") == 1.0
    assert feature("Thank you.", "ends_courtesy") == 1.0
    assert feature("Can you tell me your order number, please?", "ends_courtesy") == 1.0
    assert feature("Can you tell me your order number, please?", "question_start") == 1.0
    assert feature("I can sort it today", "ends_closer") == 1.0
    assert feature("I rang the depot and", "ends_closer") == 0.0


def test_the_policy_maps_its_probability_to_three_waits() -> None:
    model = _hand_model({"ends_conjunction": -6.0, "ends_courtesy": 6.0})
    policy = EndOfTurnPolicy(embedder=FakeEmbedder(384), model=model)
    assert policy.decide("I rang you on Monday and").wait_ms == LONG_MS
    assert policy.decide("Can I take your order number, please?").wait_ms == SHORT_MS
    assert policy.decide("I rang you on Monday").wait_ms == DEFAULT_MS  # p = 0.5: unsure
    assert policy.decide("").wait_ms == DEFAULT_MS  # nothing heard is no evidence


def test_the_policy_refuses_an_embedder_its_model_was_not_trained_on() -> None:
    policy = EndOfTurnPolicy(embedder=FakeEmbedder(384))  # the shipped, MiniLM model
    with pytest.raises(CalmlineError, match="trained on all-MiniLM-L6-v2-int8"):
        policy.decide("I rang you on Monday and")


def test_the_voice_features_read_the_end_of_the_speech_not_the_silence_after() -> None:
    speech = say("I am sorry about the kettle.", trim=True)
    alone = voice_features(speech)
    padded = voice_features(np.concatenate([speech, silence(0.4)]))
    assert alone.shape == (len(VOICE_FEATURES),) and np.any(alone != 0)
    np.testing.assert_allclose(alone, padded, atol=0.1)  # one 10 ms frame either way
    assert not np.any(voice_features(silence(1.0)))  # nothing voiced: no evidence


@pytest.fixture(scope="module")
def policy() -> EndOfTurnPolicy:
    """The shipped model with the bundled MiniLM."""
    return EndOfTurnPolicy()


@pytest.mark.models
@pytest.mark.parametrize(
    ("text", "wait"),
    [
        ("I rang you on Monday and", LONG_MS),
        ("So what I'm going to do is, um", LONG_MS),
        ("I'll send the form out to", LONG_MS),
        ("Can you tell me your order number, please?", SHORT_MS),
        ("Thank you for waiting, I've found your booking. Is that right?", SHORT_MS),
    ],
)
def test_the_shipped_model_waits_long_after_a_trailing_word_and_short_after_a_question(
    policy: EndOfTurnPolicy, text: str, wait: int
) -> None:
    assert policy.decide(text).wait_ms == wait


class _InlineExecutor(ThreadPoolExecutor):
    """Runs each transcription at once: the phrase's text is in at the pause itself."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # handed over in the future, as a worker thread does
            future.set_exception(exc)
        return future


@pytest.fixture(scope="module")
def whisper() -> Transcriber:
    from calmline.speech.stt import WhisperTranscriber

    return WhisperTranscriber("tiny.en")


def _turns(
    stream: AudioArray, transcriber: Transcriber, end_of_turn: EndOfTurnPolicy | None
) -> list[HeardTurn]:
    """The turns a listener hears in ``stream``, fed 30 ms at a time on a virtual clock."""
    clock = VirtualClock()
    listener = TurnListener(
        transcriber,
        min_silence_ms=600,
        clock=clock.now,
        executor=_InlineExecutor(1),
        end_of_turn=end_of_turn,
    )
    stream = stream + np.random.default_rng(0).normal(0, 1e-4, stream.size).astype(np.float32)
    turns: list[HeardTurn] = []
    for i in range(0, stream.size, CHUNK):
        clock.sleep(CHUNK / 16_000)
        turns.extend(e for e in listener.feed(stream[i : i + CHUNK]) if isinstance(e, HeardTurn))
    turns.extend(e for e in listener.flush() if isinstance(e, HeardTurn))
    listener.close()
    return turns


@pytest.mark.models
def test_a_trailing_and_um_holds_the_turn_over_a_700_ms_pause(
    whisper: Transcriber, policy: EndOfTurnPolicy
) -> None:
    stream = np.concatenate(
        [
            silence(0.6),
            say("I rang you on Monday and, um", trim=True),
            silence(0.7),  # the learner thinks: longer than the fixed 600 ms wait
            say("nobody called me back.", trim=True),
            silence(1.5),
        ]
    )
    fixed = _turns(stream, whisper, None)
    assert len(fixed) == 2  # the fixed wait cuts in at the mid-turn pause ...
    adaptive = _turns(stream, whisper, policy)
    assert len(adaptive) == 1  # ... the adaptive one waits for the rest of the turn
    assert adaptive[0].end_of_turn is not None  # decided by the policy, not the fixed wait
    text = adaptive[0].result().text.lower()
    assert "monday" in text and "called me back" in text


@pytest.mark.models
def test_a_finished_question_ends_the_turn_well_before_the_fixed_wait(
    whisper: Transcriber, policy: EndOfTurnPolicy
) -> None:
    speech = say("Can you tell me your order number, please?", trim=True)
    stream = np.concatenate([silence(0.6), speech, silence(1.0)])
    speech_end = (0.6 * 16_000 + speech.size) / 16_000  # audio-clock seconds
    [fixed] = _turns(stream, whisper, None)
    [adaptive] = _turns(stream, whisper, policy)
    assert adaptive.end_of_turn is not None and adaptive.end_of_turn.wait_ms == SHORT_MS
    assert fixed.decided_at - speech_end >= 0.5  # 600 ms less what the VAD heard as speech
    # The short wait plus at most the VAD's lag and one chunk.
    assert adaptive.decided_at - speech_end <= SHORT_MS / 1000 + 0.15
    assert fixed.decided_at - adaptive.decided_at >= 0.25
    assert adaptive.result().text == fixed.result().text


class _Phrases:
    """A transcriber that names each phrase in order ("phrase1", ...): no model needed."""

    name = "phrases"

    def __init__(self) -> None:
        self.count = 0

    def transcribe(self, audio: AudioArray) -> Transcription:
        self.count += 1
        return Transcription(text=f"phrase{self.count}", duration=audio.size / 16_000)


class _Fixed(EndOfTurnPolicy):
    """A policy that always decides the same wait, to test the listener's side alone."""

    def __init__(self, wait_ms: int) -> None:
        super().__init__(embedder=FakeEmbedder(384), model=_hand_model({}))
        self.wait_ms = wait_ms
        self.texts: list[str] = []

    def decide(
        self, text: str, audio: AudioArray | None = None, rate: int = 16_000
    ) -> EndOfTurnDecision:
        self.texts.append(text)
        return EndOfTurnDecision(self.wait_ms, 0.5)


def test_the_listener_waits_what_the_policy_decides_at_each_pause() -> None:
    first, second = say("I rang the depot", trim=True), say("nobody called back", trim=True)
    stream = np.concatenate([silence(0.6), first, silence(0.7), second, silence(1.5)])
    speech_end = (0.6 * 16_000 + first.size + 0.7 * 16_000 + second.size) / 16_000

    held = _Fixed(LONG_MS)
    [turn] = _turns(stream, _Phrases(), held)  # the 700 ms pause did not end the turn
    assert held.texts == ["phrase1", "phrase1 phrase2"]  # the turn so far, at each pause
    assert turn.end_of_turn is not None and turn.end_of_turn.wait_ms == LONG_MS
    assert turn.result().text == "phrase1 phrase2"
    assert turn.decided_at - speech_end >= 0.9

    quick = _Fixed(SHORT_MS)
    turns = _turns(stream, _Phrases(), quick)  # each pause ends a turn, 250 ms on
    assert [t.result().text for t in turns] == ["phrase1", "phrase2"]
    assert turns[1].decided_at - speech_end <= SHORT_MS / 1000 + 0.15


def test_a_failed_transcription_leaves_the_fixed_wait() -> None:
    class _Failing(_Phrases):
        def transcribe(self, audio: AudioArray) -> Transcription:
            raise RuntimeError("the STT server went away")

    speech = say("I rang the depot", trim=True)
    stream = np.concatenate([silence(0.6), speech, silence(1.5)])
    policy = _Fixed(SHORT_MS)
    [turn] = _turns(stream, _Failing(), policy)
    assert policy.texts == [] and turn.end_of_turn is None
    speech_end = (0.6 * 16_000 + speech.size) / 16_000
    assert turn.decided_at - speech_end >= 0.5  # the fixed 600 ms (less the VAD's lag)


def test_practice_checks_the_end_of_turn_option_before_anything_loads() -> None:
    proc = calmline("practice", "--end-of-turn", "soon", "--input", "text", "--no-speak")
    assert_one_clear_line(proc, "--end-of-turn", "soon")


@pytest.mark.models
def test_the_adaptive_option_waits_min_silence_when_unsure() -> None:
    from calmline.commands.calling import end_of_turn_policy

    assert end_of_turn_policy("fixed", 600) is None
    policy = end_of_turn_policy("adaptive", 800)
    assert policy is not None
    assert (policy.short_ms, policy.default_ms, policy.long_ms) == (SHORT_MS, 800, LONG_MS)
    slow = end_of_turn_policy("adaptive", 1500)
    assert slow is not None and slow.long_ms == 1500  # never shorter than the fixed wait


def test_while_the_text_is_not_in_the_turn_is_held_to_the_longest_wait() -> None:
    """A slow Whisper must not let the fixed 600 ms cut the learner off at a pause."""
    import threading

    release = threading.Event()

    class _Slow(_Phrases):
        def transcribe(self, audio: AudioArray) -> Transcription:
            release.wait(60)
            return super().transcribe(audio)

    first, second = say("I rang the depot", trim=True), say("nobody called back", trim=True)
    stream = np.concatenate([silence(0.6), first, silence(0.7), second, silence(1.5)])
    speech_end = (0.6 * 16_000 + first.size + 0.7 * 16_000 + second.size) / 16_000
    clock = VirtualClock()
    policy = _Fixed(SHORT_MS)
    with ThreadPoolExecutor(1) as pool:
        listener = TurnListener(
            _Slow(), min_silence_ms=600, clock=clock.now, executor=pool, end_of_turn=policy
        )
        turns: list[HeardTurn] = []
        for i in range(0, stream.size, CHUNK):
            clock.sleep(CHUNK / 16_000)
            turns += [e for e in listener.feed(stream[i : i + CHUNK]) if isinstance(e, HeardTurn)]
        release.set()
        assert len(turns) == 1 and policy.texts == []  # held over the 700 ms pause
        assert turns[0].decided_at - speech_end >= 0.9  # the longest wait, not 600 ms
        assert turns[0].result().text == "phrase1 phrase2"
        listener.close()


def test_the_bench_pauses_inside_a_clause_and_reports_both_waits() -> None:
    import os

    from rich.console import Console

    from calmline.bench.end_of_turn import EndOfTurnRun, paused_turns
    from calmline.bench.harness import BenchResult, Distribution
    from calmline.commands.bench import render_table

    lines = ["Thank you. You booked directly and it's guaranteed, so this is our mistake."]
    [turn] = paused_turns([*lines, "Okay."])  # too short for a pause inside: left out
    before, after = turn.text.split(" | ")
    assert not before.endswith((".", "?", "!")) and after
    assert 0.3 <= turn.pause_s <= 1.0 and turn.audio.size > 16_000

    result = BenchResult(turns=3)
    result.turn_latency = Distribution.of([0.9])
    result.decision_to_audio = Distribution.of([0.3])
    result.naive_latency = Distribution.of([2.0])
    result.end_of_turn = EndOfTurnRun(
        turns=10,
        pauses_s=[0.3, 0.8],
        fixed_cut_ins=4,
        adaptive_cut_ins=0,
        fixed_wait=Distribution.of([0.66, 0.67]),
        adaptive_wait=Distribution.of([0.31, 0.31, 1.04]),
        adaptive_waits_ms={"250": 6, "1000": 4},
    )
    console = Console(width=200, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(render_table(result))
    text = console.export_text()

    def row(measure: str) -> str:
        return next(line for line in text.splitlines() if measure in line)

    assert "10 (pause 0.3–0.8 s)" in row("turns with a mid-turn pause")
    assert "4/10 (40%)" in row("fixed 600 ms: false cut-ins")
    assert "0/10 (0%)" in row("adaptive: false cut-ins")
    assert "0.31 s (0.97)" in row("adaptive: speech end → end-of-turn decision")
    assert "1000: 4 · 250: 6" in row("waits decided")


def test_the_shipped_model_reads_the_features_the_module_builds() -> None:
    from calmline.embed import EMBED_DIM
    from calmline.speech.end_of_turn import bundled_model

    model = bundled_model()
    width = len(HAND_FEATURES) + len(VOICE_FEATURES) + EMBED_DIM
    assert model.coef.shape == model.mean.shape == model.std.shape == (width,)
    assert 0.0 < model.long_below <= model.short_above < 1.0
    assert model.embedder == "all-MiniLM-L6-v2-int8"


def test_the_microphone_input_hands_the_policy_to_its_listener() -> None:
    from calmline.call.inputs import MicInput

    first, second = say("I rang the depot", trim=True), say("nobody called back", trim=True)
    stream = np.concatenate([silence(0.6), first, silence(0.7), second, silence(1.5)])
    chunks = [stream[i : i + CHUNK] for i in range(0, stream.size, CHUNK)]

    def heard(end_of_turn: EndOfTurnPolicy | None) -> list[str]:
        mic = MicInput(_Phrases(), lambda: iter(chunks), end_of_turn=end_of_turn)
        texts = []
        while (utterance := mic.next_utterance("call")) is not None:
            texts.append(utterance.text)
        mic.close()
        return texts

    # Held over the 700 ms pause whether or not the text is in yet: the policy's long
    # wait, and the longest wait while it is not.
    assert heard(_Fixed(LONG_MS)) == ["phrase1 phrase2"]
    assert heard(None) == ["phrase1", "phrase2"]  # the fixed 600 ms cuts at the pause


def test_the_short_wait_needs_a_turn_handed_over_not_only_a_complete_clause() -> None:
    """A clause that looks complete but hands nothing over keeps the usual wait."""
    from calmline.speech.end_of_turn import EndOfTurnModel, EndOfTurnPolicy, finishing_cue

    assert finishing_cue("Can I take the order number")  # a question, even without "?"
    assert finishing_cue("I've booked it for Friday. What time suits you?")
    assert finishing_cue("That's all sorted for you, thank you")
    assert not finishing_cue("I'm sorry about that")
    assert not finishing_cue("Can I just say. I've checked the order")  # the last sentence

    class _Sure(EndOfTurnModel):
        def probabilities(self, x):  # type: ignore[no-untyped-def]
            return np.full(len(x), 0.99, np.float32)

    sure = _Sure(np.zeros(1, np.float32), 0.0, np.zeros(1, np.float32),
                 np.ones(1, np.float32), 0.8, 0.2, "fake")  # fmt: skip

    class _Embedder:
        name = "fake"

        def embed(self, texts):  # type: ignore[no-untyped-def]
            return np.zeros((len(texts), 1), np.float32)

    policy = EndOfTurnPolicy(embedder=_Embedder(), model=sure)  # type: ignore[arg-type]
    assert policy.decide("I'm sorry about that").wait_ms == 600
    assert policy.decide("Can you read me the postcode, please").wait_ms == 250
