"""Learner turns from scripts and typed text; saying goodbye ends the call."""

from __future__ import annotations

from pathlib import Path

import pytest

from calmline.call.inputs import ScriptInput, TypedInput, is_goodbye
from calmline.errors import CalmlineError


@pytest.mark.parametrize(
    "text",
    ["/end", "Thank you for calling, goodbye.", "ok bye bye", "I'll end the call now", "Goodbye!"],
)
def test_goodbye_ends_the_call(text: str) -> None:
    assert is_goodbye(text)


@pytest.mark.parametrize(
    "text",
    ["Say goodbye to the old router, we'll send a new one today", "I'm sorry about the delay", ""],
)
def test_goodbye_mid_sentence_does_not(text: str) -> None:
    assert not is_goodbye(text)


def test_script_splits_call_and_debrief(tmp_path: Path) -> None:
    script = tmp_path / "s.txt"
    script.write_text(
        "# a comment\nI'm sorry.\n\nLet me fix that.\n--- debrief ---\nThey shouted.\n"
    )
    src = ScriptInput.from_file(script)
    assert src.next_utterance("call").text == "I'm sorry."  # type: ignore[union-attr]
    assert src.next_utterance("debrief").text == "They shouted."  # type: ignore[union-attr]
    assert src.next_utterance("call").text == "Let me fix that."  # type: ignore[union-attr]
    assert src.next_utterance("call") is None


def test_empty_or_missing_script_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(CalmlineError, match="no learner turns"):
        ScriptInput.from_file(empty)
    with pytest.raises(CalmlineError, match="no such script"):
        ScriptInput.from_file(tmp_path / "missing.txt")


def test_typed_input_skips_blank_lines_and_ends_on_eof() -> None:
    answers = iter(["", "  ", "Hello, I can help."])

    def ask(_: str) -> str:
        try:
            return next(answers)
        except StopIteration:
            raise EOFError from None

    src = TypedInput(ask)
    assert src.next_utterance("call").text == "Hello, I can help."  # type: ignore[union-attr]
    assert src.next_utterance("call") is None


def test_audio_files_are_heard_in_order_and_a_silent_one_is_kept(tmp_path: Path) -> None:
    import numpy as np

    from calmline.call.inputs import AudioFilesInput
    from calmline.speech.audio import write_wav
    from calmline.testing.fakes import FakeTranscriber

    speech = (0.2 * np.sin(np.arange(16_000) / 5)).astype(np.float32)
    files = [write_wav(tmp_path / f"t{i}.wav", speech, 16_000) for i in range(2)]
    answer = write_wav(tmp_path / "d.wav", speech, 16_000)
    stt = FakeTranscriber(["I'm sorry about that.", "", "They raised their voice."])
    src = AudioFilesInput(files, stt, debrief=[answer])
    first = src.next_utterance("call")
    assert first is not None and first.text == "I'm sorry about that." and first.source == "audio"
    second = src.next_utterance("call")
    assert second is not None and second.text == "(inaudible)"  # recorded, never dropped
    assert src.next_utterance("call") is None
    assert src.next_utterance("debrief").text == "They raised their voice."  # type: ignore[union-attr]
    assert stt.heard == [16_000, 16_000, 16_000]
