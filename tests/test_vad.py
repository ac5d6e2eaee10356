"""End of turn: the streaming Silero endpointer on real synthesised speech."""

from __future__ import annotations

import numpy as np
import pytest

from calmline.protocols import SAMPLE_RATE
from calmline.speech.vad import (
    Endpointer,
    EndpointEvent,
    EndpointOptions,
    SpeechStarted,
    UtteranceEnded,
    split_utterances,
)
from support.speech import say, silence


def stream(audio: np.ndarray, chunk_ms: float = 30, options: EndpointOptions | None = None):
    endpointer = Endpointer(options)
    step = int(SAMPLE_RATE * chunk_ms / 1000)
    events: list[EndpointEvent] = []
    for i in range(0, audio.size, step):
        events += endpointer.feed(audio[i : i + step])
    return events + endpointer.flush()


@pytest.fixture(scope="module")
def two_turns() -> tuple[np.ndarray, float, float]:
    first = say("I am really sorry to hear that.")
    second = say("Can you tell me your order number please?")
    audio = np.concatenate([silence(0.5), first, silence(1.5), second, silence(1.0)])
    second_at = (SAMPLE_RATE // 2 + first.size + int(1.5 * SAMPLE_RATE)) / SAMPLE_RATE
    return audio, 0.5, second_at


def test_two_utterances_separated_by_silence(two_turns: tuple[np.ndarray, float, float]) -> None:
    audio, first_at, second_at = two_turns
    events = stream(audio, chunk_ms=30)
    kinds = [e.kind for e in events]
    assert kinds == ["speech_started", "utterance_ended"] * 2
    one, two = (e for e in events if isinstance(e, UtteranceEnded))
    # Pre-roll: each utterance starts before the words do, and ends before the next.
    assert one.start < first_at + 0.1 and one.end < second_at
    assert two.start < second_at + 0.1 and two.start > one.end
    assert 1.0 < one.audio.size / SAMPLE_RATE < 3.0
    assert not one.forced and not two.forced
    assert one.audio.size == round((one.end - one.start) * SAMPLE_RATE)


def test_chunk_size_does_not_change_the_result(two_turns: tuple[np.ndarray, float, float]) -> None:
    audio = two_turns[0]
    sizes = {
        ms: [e.audio.size for e in stream(audio, ms) if isinstance(e, UtteranceEnded)]
        for ms in (7, 30, 64, 1000)
    }
    assert len({tuple(v) for v in sizes.values()}) == 1, sizes


def test_silence_and_faint_noise_give_no_utterance() -> None:
    assert split_utterances(silence(5)) == []
    noise = np.random.default_rng(0).normal(0, 0.003, SAMPLE_RATE * 4).astype(np.float32)
    assert split_utterances(noise) == []


def test_short_pause_inside_a_sentence_does_not_end_the_turn() -> None:
    sentence = np.concatenate(
        [
            silence(0.3),
            say("I understand your order"),
            silence(0.3),
            say("arrived late and damaged."),
            silence(1.0),
        ]
    )
    assert len(split_utterances(sentence)) == 1  # min_silence_ms=600 by default
    # The same pause does end a turn when the option asks for a hair-trigger.
    assert len(split_utterances(sentence, EndpointOptions(min_silence_ms=150))) == 2


def test_max_utterance_length_forces_a_cut() -> None:
    talk = say("I have been waiting on hold for an hour and nobody has called me back.")
    events = stream(talk, options=EndpointOptions(max_utterance_s=1.5))
    cuts = [e for e in events if isinstance(e, UtteranceEnded)]
    assert len(cuts) >= 2 and cuts[0].forced
    assert all(c.audio.size <= 1.5 * SAMPLE_RATE + 512 for c in cuts)


def test_speech_started_fires_before_the_turn_ends(
    two_turns: tuple[np.ndarray, float, float],
) -> None:
    endpointer = Endpointer()
    audio, first_at, _ = two_turns
    step = 480
    for i in range(0, audio.size, step):
        events = endpointer.feed(audio[i : i + step])
        if any(isinstance(e, SpeechStarted) for e in events):
            # Heard within half a second of the first word: fast enough for barge-in.
            assert (i + step) / SAMPLE_RATE < first_at + 0.5
            assert endpointer.in_speech
            return
    pytest.fail("no SpeechStarted event")


@pytest.mark.models
def test_endpointed_utterances_transcribe_whole(
    two_turns: tuple[np.ndarray, float, float],
) -> None:
    from calmline.speech.stt import WhisperTranscriber

    whisper = WhisperTranscriber("tiny.en")
    texts = [whisper.transcribe(u).text.lower() for u in split_utterances(two_turns[0])]
    assert texts[0].startswith("i am") and "that" in texts[0]  # first and last word kept
    assert texts[1].startswith("can you") and "please" in texts[1]
