"""The streaming pipeline with fakes: speak early, stop on barge-in, transcribe as you go."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from calmline.bench.sim_mic import SimulatedMic
from calmline.call.inputs import LearnerUtterance, LiveEvent
from calmline.call.speaking import POLL_S, speak_streamed
from calmline.customer.character import CustomerOptions
from calmline.models import Transcription
from calmline.protocols import AudioArray
from calmline.speech.clock import VirtualClock
from calmline.speech.listener import TurnListener
from calmline.speech.output import SimulatedSink
from calmline.testing.fake_llm import FakeChatModel
from calmline.testing.fakes import FakeSpeaker
from support.practice import fake_parts, practice_call
from support.speech import say, silence


class _ObservedSink(SimulatedSink):
    """A simulated sink that also says, by an event, when its first piece was queued."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(clock)
        self.playing = threading.Event()

    def play(self, audio: AudioArray, rate: int) -> None:
        super().play(audio, rate)
        self.playing.set()


def test_first_sentence_is_heard_before_the_reply_is_generated() -> None:
    clock = VirtualClock()
    sink = _ObservedSink(clock)
    generated_second_at: list[float] = []

    def pieces() -> Iterator[str]:
        yield "It leaks every time."
        # The model writes the second sentence only once the first is on the speakers.
        assert sink.playing.wait(60), "the first sentence was never played"
        clock.sleep(0.3)  # the model's time for the second sentence
        generated_second_at.append(clock.now())
        yield "What are you going to do?"

    reply = speak_streamed(pieces(), FakeSpeaker(), sink, clock=clock.now)
    assert reply.first_audio_at is not None and generated_second_at
    assert reply.first_audio_at <= generated_second_at[0] - 0.3
    assert reply.full_text() == "It leaks every time. What are you going to do?"
    assert not reply.interrupted


def test_barge_in_stops_playback_and_keeps_only_what_was_played() -> None:
    clock = VirtualClock()
    sink = SimulatedSink(clock)
    text = "I want my money back today. " + "This is the third kettle that has leaked on me. " * 3
    reply = speak_streamed(
        iter(text.split(". ")),
        FakeSpeaker(),  # 0.05 s a word
        sink,
        barged_in=lambda: clock.now() > 0.5,
        clock=clock.now,
    )
    assert reply.interrupted
    # Playback is polled every POLL_S of (virtual) playing time: stopped at the first poll.
    assert sink.stops and 0.5 < sink.stops[0] <= 0.5 + POLL_S + 1e-9
    played = reply.played_audio()
    assert played.size / reply.rate == pytest.approx(reply.played_s, abs=0.01)
    assert reply.played_s < sum(p.audio.size / p.rate for p in reply.pieces)
    heard = reply.played_text()
    assert heard.startswith("I want my money back today")
    assert len(heard.split()) < len(text.split())


class _Scripted:
    """A learner input whose next turn talks over the customer's reply."""

    def __init__(self, sink: SimulatedSink, clock: VirtualClock) -> None:
        self.sink = sink
        self.clock = clock
        self.turns = ["I'm sorry it leaked.", "Sorry, can I stop you there?"]
        self.started: float | None = None

    def speech_started_after(self, t: float) -> float | None:
        if self.sink.first_sample_at is not None and len(self.sink.replies) >= 2:
            at = self.sink.first_sample_at + 0.3
            return at if self.clock.now() >= at and at > t else None
        return None

    def next_utterance(self, phase: str) -> LearnerUtterance | None:
        if phase != "call" or not self.turns:
            return None
        return LearnerUtterance(text=self.turns.pop(0), source="script")

    def next_event(self, phase: str) -> LiveEvent | None:
        return self.next_utterance(phase)  # whole turns only: no phrase pauses

    def set_cut_in(self, seconds: float | None) -> None:
        pass


def test_a_barged_in_customer_turn_is_saved_as_played(tmp_path: Path) -> None:
    long_line = (
        "I have been coming to this shop for years and nobody has ever treated me like this."
    )
    clock = VirtualClock()
    sink = SimulatedSink(clock)
    parts = fake_parts(
        FakeChatModel(replies=[long_line], cycle=True),
        customer_options=CustomerOptions(stream_early=True),
        seed=None,
        sink=sink,
        clock=clock.now,
    )
    learner = _Scripted(sink, clock)
    options = {
        "out": tmp_path,
        "debrief": False,
        "assess": False,
        "max_turns": 2,
        "speculative": False,
    }  # the replies start when each turn ends, as before
    record = practice_call(tmp_path / "view.txt", learner, parts, **options).run().record
    reply = record.turns[2]
    assert reply.speaker == "customer"
    assert any("interrupted" in n for n in reply.notes)
    assert reply.text != long_line and long_line.startswith(reply.text.rstrip("—").strip())
    assert reply.ended_at - reply.started_at < len(long_line.split()) * 0.05  # the WAV is cut
    assert "end_of_turn_to_first_audio" in reply.latency
    from calmline.speech.audio import read_wav

    saved, rate = read_wav(tmp_path / record.id / str(reply.audio))
    assert saved.size / rate == pytest.approx(reply.ended_at - reply.started_at, abs=0.01)


class _CountingTranscriber:
    name = "counting"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def transcribe(self, audio: AudioArray) -> Transcription:
        self.calls.append(audio.size)
        return Transcription(text=f"phrase{len(self.calls)}", duration=audio.size / 16_000)


def _speech(seconds: float) -> AudioArray:
    """espeak-ng speech, so that Silero hears real speech."""
    return say("Hello there, I am sorry about the kettle. " * 3)[: int(seconds * 16_000)]


def test_phrases_are_transcribed_before_the_turn_ends() -> None:
    stt = _CountingTranscriber()
    listener = TurnListener(stt, min_silence_ms=600, clock=VirtualClock().now)
    pause = np.zeros(int(0.35 * 16_000), np.float32)  # a breath: longer than a phrase pause
    stream = np.concatenate([_speech(1.2), pause, _speech(1.0), np.zeros(16_000, np.float32)])
    events = []
    calls_at_turn_end = None
    for i in range(0, stream.size, 480):
        for event in listener.feed(stream[i : i + 480]):
            events.append(event)
            if hasattr(event, "result") and calls_at_turn_end is None:
                # handed to Whisper: each phrase already has its transcription under way
                # (a worker thread runs it; when it starts depends on the machine's load)
                calls_at_turn_end = sum(1 for ph in event.phrases if ph.future is not None)
    turns = [e for e in events if hasattr(e, "result")]
    assert len(turns) == 1  # the breath did not end the turn ...
    assert len(turns[0].phrases) == 2  # ... but split it into two phrases
    turns[0].result()
    assert turns[0].result().text == "phrase1 phrase2"
    # Both phrases were handed to Whisper before the end-of-turn decision; nothing
    # is transcribed again at the end (two transcriptions in all, once both are done).
    assert calls_at_turn_end == 2
    assert len(stt.calls) == 2
    listener.close()


def test_simulated_mic_paces_chunks_and_records_speech_end() -> None:
    clock = VirtualClock()
    mic = SimulatedMic(clock, noise=0.0)
    speech = np.concatenate([np.zeros(1600, np.float32), np.full(16_000, 0.2, np.float32)])
    said = mic.say(speech)
    chunks = []
    for chunk in mic:
        chunks.append(chunk)
        if len(chunks) == 50:
            mic.close()
    assert all(c.size == 480 for c in chunks)
    assert clock.now() == pytest.approx(50 * 0.03)
    assert said.speech_start_at == pytest.approx(0.1)
    assert said.speech_end_at == pytest.approx(1.1)
    assert said.speech_end_sample == 17_600  # the stream's samples up to the end of speech


def _said(text: str) -> AudioArray:
    """espeak-ng speech of ``text`` at 16 kHz without its leading and trailing silence."""
    return say(text, trim=True)


def _listen(stream: AudioArray) -> list[object]:
    """The events a tentative-turn listener gives for ``stream``, fed in real-time steps."""
    from calmline.speech.vad import SpeechStarted

    clock = VirtualClock()
    listener = TurnListener(
        _CountingTranscriber(), min_silence_ms=600, clock=clock.now, tentative=True
    )
    stream = stream + np.random.default_rng(0).normal(0, 1e-4, stream.size).astype(np.float32)
    events: list[object] = []
    for i in range(0, stream.size, 480):
        clock.sleep(480 / 16_000)
        events.extend(e for e in listener.feed(stream[i : i + 480]))
    for event in events:  # let the phrase transcriptions finish before closing
        result = getattr(event, "result", None)
        if callable(result):
            result()
    listener.close()
    return [e for e in events if not isinstance(e, SpeechStarted)]


def test_a_pause_that_ends_the_turn_was_announced_as_that_very_turn() -> None:
    from calmline.speech.listener import HeardTurn, TentativeTurn

    events = _listen(
        np.concatenate([silence(0.6), _said("I am sorry about the kettle"), silence(1.0)])
    )
    assert [type(e).__name__ for e in events] == ["TentativeTurn", "HeardTurn"]
    tentative = next(e for e in events if isinstance(e, TentativeTurn)).turn
    final = next(e for e in events if isinstance(e, HeardTurn))
    # Announced 400 ms before the end of the turn, with the same audio and phrases.
    assert final.decided_at - tentative.decided_at == pytest.approx(0.4, abs=0.04)
    assert tentative.start == final.start and tentative.end == final.end
    assert np.array_equal(tentative.audio, final.audio)
    assert [p.future for p in tentative.phrases] == [p.future for p in final.phrases]
    assert tentative.result() == final.result()


def test_speech_after_a_pause_voids_it_and_the_turn_goes_on() -> None:
    from calmline.speech.listener import HeardTurn, TentativeTurn

    stream = np.concatenate(
        [
            silence(0.6),
            _said("I am sorry about the kettle"),
            silence(0.4),  # a breath: a phrase pause, not the end of the turn
            _said("I will replace it today"),
            silence(1.0),
        ]
    )
    events = _listen(stream)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["TentativeTurn", "SpeechResumed", "TentativeTurn", "HeardTurn"]
    first, second = (e.turn for e in events if isinstance(e, TentativeTurn))
    final = next(e for e in events if isinstance(e, HeardTurn))
    assert first.audio.size < final.audio.size  # the void one held only the first phrase
    assert np.array_equal(second.audio, final.audio)
    assert final.result().text == "phrase1 phrase2"


def test_live_input_hands_out_pauses_in_order_and_next_utterance_skips_them() -> None:
    from calmline.call.inputs import LiveInput, SpeechResumed, TurnPaused

    stream = np.concatenate(
        [
            silence(0.6),
            _said("I am sorry about the kettle"),
            silence(0.4),
            _said("I will replace it today"),
            silence(1.0),
        ]
    )
    chunks = [stream[i : i + 480] for i in range(0, stream.size, 480)]
    live = LiveInput(_CountingTranscriber(), chunks, clock=VirtualClock().now)
    events = []
    while (event := live.next_event("call")) is not None:
        events.append(event)
    assert [type(e).__name__ for e in events] == [
        "TurnPaused", "SpeechResumed", "TurnPaused", "LearnerUtterance",
    ]  # fmt: skip
    first, _, second, final = events
    assert isinstance(first, TurnPaused) and isinstance(second, TurnPaused)
    assert first.stale() and not second.stale()  # the learner spoke after the first pause
    assert isinstance(events[1], SpeechResumed)
    ahead = second.utterance()
    assert isinstance(final, LearnerUtterance)
    assert ahead.text == final.text == "phrase1 phrase2"
    assert ahead.audio is not None and np.array_equal(ahead.audio, final.audio)
    live.close()

    again = LiveInput(_CountingTranscriber(), chunks, clock=VirtualClock().now)
    utt = again.next_utterance("call")
    assert utt is not None and utt.text == "phrase1 phrase2"
    assert again.next_utterance("call") is None
    again.close()


def test_the_bench_table_shows_the_memory_curve_and_the_speculation() -> None:
    from calmline.bench.harness import BenchResult, Distribution, memory_curve
    from calmline.commands.bench import render_table

    result = BenchResult(turns=30)
    result.turn_latency = Distribution.of([0.9, 1.0, 1.2])
    result.decision_to_audio = Distribution.of([0.3, 0.4])
    result.naive_latency = Distribution.of([2.0])
    result.speculation = {
        "started": 40, "confirmed": 28, "discarded": 12, "discarded_generating": 3,
    }  # fmt: skip
    # Read at the start of each of 30 turns, then once after the last: +2 MB a turn to
    # turn 10, flat after.
    memory_curve(result, [800.0 + 2 * min(k, 10) for k in range(31)])
    assert result.rss_per_turn_mb[0] == 802 and result.rss_at(30) == 820
    assert result.rss_growth_mb == 20 and result.rss_growth_after_10_mb == 0
    console = Console(width=200, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(render_table(result))
    text = console.export_text()
    assert "1: 802 · 5: 810 · 10: 820 · 20: 820 · 30: 820" in text
    assert "from turn 10 to 30" in text and "+0 MB" in text
    assert "40 started: 28 confirmed, 12 discarded (3 after asking the model)" in text


def test_phrases_go_through_a_transcribers_phrase_path_when_it_has_one() -> None:
    class _Phrasing(_CountingTranscriber):
        def __init__(self) -> None:
            super().__init__()
            self.phrases: list[int] = []

        def transcribe_phrase(self, audio: AudioArray) -> Transcription:
            self.phrases.append(audio.size)
            return self.transcribe(audio)

    stt = _Phrasing()
    listener = TurnListener(stt, min_silence_ms=600, clock=VirtualClock().now)
    stream = np.concatenate([silence(0.6), _said("I am sorry about the kettle"), silence(1.0)])
    turns = [e for i in range(0, stream.size, 480) for e in listener.feed(stream[i : i + 480])]
    heard = [t for t in turns if hasattr(t, "result")]
    assert len(heard) == 1 and heard[0].result().text == "phrase1"
    assert stt.phrases == stt.calls  # the one phrase went the phrase way
    listener.close()
