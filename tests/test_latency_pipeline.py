"""The streaming pipeline with fakes: speak early, stop on barge-in, transcribe as you go."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from calmline.audio_out import SimulatedSink
from calmline.customer import Customer, CustomerOptions
from calmline.embed import FakeEmbedder
from calmline.fakes import FakeSpeaker
from calmline.learner_input import LearnerUtterance
from calmline.listener import TurnListener
from calmline.llm.fake import FakeChatModel
from calmline.models import Transcription
from calmline.practice import Collaborators, PracticeCall, PracticeOptions
from calmline.protocols import AudioArray
from calmline.scenario import load_scenario
from calmline.sim_stream import SimulatedMic, VirtualClock
from calmline.speaking import speak_streamed
from calmline.tone import ToneReader
from calmline.tone_cues import load_cues
from calmline.tts import load_speaker
from calmline.view import CallView


def test_first_sentence_is_heard_before_the_reply_is_generated() -> None:
    release = threading.Event()
    generated_second_at: list[float] = []

    def pieces() -> Iterator[str]:
        yield "It leaks every time."
        release.wait(2.0)  # the model is still writing the second sentence
        generated_second_at.append(time.perf_counter())
        yield "What are you going to do?"

    sink = SimulatedSink()
    threading.Timer(0.3, release.set).start()
    reply = speak_streamed(pieces(), FakeSpeaker(), sink)
    assert reply.first_audio_at is not None and generated_second_at
    assert reply.first_audio_at < generated_second_at[0] - 0.2
    assert reply.full_text() == "It leaks every time. What are you going to do?"
    assert not reply.interrupted


def test_barge_in_stops_playback_and_keeps_only_what_was_played() -> None:
    sink = SimulatedSink()
    start = time.perf_counter()
    text = "I want my money back today. " + "This is the third kettle that has leaked on me. " * 3
    reply = speak_streamed(
        iter(text.split(". ")),
        FakeSpeaker(),  # 0.05 s a word
        sink,
        barged_in=lambda: time.perf_counter() - start > 0.5,
    )
    assert reply.interrupted
    assert sink.stops and sink.stops[0] - start < 0.5 + 0.1  # stopped within a poll or two
    played = reply.played_audio()
    assert played.size / reply.rate == pytest.approx(reply.played_s, abs=0.01)
    assert reply.played_s < sum(p.audio.size / p.rate for p in reply.pieces)
    heard = reply.played_text()
    assert heard.startswith("I want my money back today")
    assert len(heard.split()) < len(text.split())


class _Scripted:
    """A learner input whose next turn talks over the customer's reply."""

    def __init__(self, sink: SimulatedSink) -> None:
        self.sink = sink
        self.turns = ["I'm sorry it leaked.", "Sorry, can I stop you there?"]
        self.started: float | None = None

    def speech_started_after(self, t: float) -> float | None:
        if self.sink.first_sample_at is not None and len(self.sink.replies) >= 2:
            at = self.sink.first_sample_at + 0.3
            return at if time.perf_counter() >= at and at > t else None
        return None

    def next_utterance(self, phase: str) -> LearnerUtterance | None:
        if phase != "call" or not self.turns:
            return None
        return LearnerUtterance(text=self.turns.pop(0), source="script")


def test_a_barged_in_customer_turn_is_saved_as_played(tmp_path: Path) -> None:
    long_line = (
        "I have been coming to this shop for years and nobody has ever treated me like this."
    )
    sink = SimulatedSink()
    scenario = load_scenario("kettle-counter")
    parts = Collaborators(
        customer=Customer(
            scenario,
            FakeChatModel(replies=[long_line], cycle=True),
            CustomerOptions(stream_early=True),
        ),
        tone=ToneReader(FakeEmbedder(), load_cues()),
        speaker=FakeSpeaker(),
        sink=sink,
    )
    view = CallView(console=Console(file=open(tmp_path / "view.txt", "w")))  # noqa: SIM115
    options = PracticeOptions(out=tmp_path, debrief=False, assess=False, max_turns=2)
    record = PracticeCall(scenario, parts, _Scripted(sink), options, view).run().record
    reply = record.turns[2]
    assert reply.speaker == "customer"
    assert any("interrupted" in n for n in reply.notes)
    assert reply.text != long_line and long_line.startswith(reply.text.rstrip("—").strip())
    assert reply.ended_at - reply.started_at < len(long_line.split()) * 0.05  # the WAV is cut
    assert "end_of_turn_to_first_audio" in reply.latency
    from calmline.audio import read_wav

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
    speaker = load_speaker("espeak")
    from calmline.audio import Resampler

    audio, rate = speaker.synthesize("Hello there, I am sorry about the kettle. " * 3, "learner")
    resampler = Resampler(rate, 16_000)
    out = np.concatenate([resampler.process(audio), resampler.flush()])
    return out[: int(seconds * 16_000)]


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
                calls_at_turn_end = len(stt.calls)
    turns = [e for e in events if hasattr(e, "result")]
    assert len(turns) == 1  # the breath did not end the turn ...
    assert len(turns[0].phrases) == 2  # ... but split it into two phrases
    turns[0].result()
    assert turns[0].result().text == "phrase1 phrase2"
    # Both phrases were handed to Whisper before the end-of-turn decision; nothing
    # is transcribed again at the end.
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
