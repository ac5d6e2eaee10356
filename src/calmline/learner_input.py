"""Where learner turns come from: typed text, a script file, audio files, or the microphone.

Every source yields :class:`LearnerUtterance` values, so the practice loop does not
know or care which one it has. Audio sources go through the same speech-to-text path
(``stt``) that ``calmline transcribe`` uses.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from calmline.errors import CalmlineError
from calmline.models import Transcription
from calmline.protocols import SAMPLE_RATE, AudioArray, Transcriber

DEBRIEF_MARKER = "--- debrief ---"
END_COMMANDS = frozenset({"/end", "/quit", "/exit"})
# Saying goodbye ends the call, but only as a sign-off at the end of the turn:
# "goodbye to the old router" mid-sentence must not hang up on the customer.
_GOODBYE = re.compile(
    r"(?:\b(?:good ?bye|bye(?: bye)?|end (?:the|this) call(?: now)?|hang(?:ing)? up now)\b)"
    r"[\s.!,]*$",
    re.IGNORECASE,
)


def is_goodbye(text: str) -> bool:
    """True when the learner signs off: ``/end`` typed, or a goodbye at the end of the turn."""
    stripped = text.strip()
    return stripped.lower() in END_COMMANDS or bool(_GOODBYE.search(stripped))


@dataclass
class LearnerUtterance:
    """One learner turn as it arrived, before tone reading."""

    text: str
    source: str  # "typed", "script", "audio", "mic"
    audio: AudioArray | None = None
    transcription: Transcription | None = None
    overlap_s: float = 0.0  # seconds the learner talked over the customer
    latency: dict[str, float] = field(default_factory=dict)
    origin: str = ""  # file name or line number, for messages


class LearnerInput(Protocol):
    """A source of learner turns. ``None`` means the learner has nothing more to say."""

    def next_utterance(self, phase: str) -> LearnerUtterance | None: ...


def _transcribe(transcriber: Transcriber, audio: AudioArray, origin: str) -> LearnerUtterance:
    t0 = time.perf_counter()
    result = transcriber.transcribe(audio)
    took = time.perf_counter() - t0
    return LearnerUtterance(
        text=result.text.strip(),
        source="audio",
        audio=audio,
        transcription=result,
        latency={"stt": took},
        origin=origin,
    )


class TypedInput:
    """Turns typed at the terminal; ``/end`` (or Ctrl-D) ends the call."""

    def __init__(self, ask: Callable[[str], str]) -> None:
        self._ask = ask

    def next_utterance(self, phase: str) -> LearnerUtterance | None:
        while True:
            try:
                text = self._ask("you (examiner)" if phase == "debrief" else "you")
            except EOFError:
                return None
            text = text.strip()
            if text:
                return LearnerUtterance(text=text, source="typed")


class ScriptInput:
    """One learner turn per line of a text file; a ``--- debrief ---`` line starts the answers
    to the debrief questions. Blank lines and ``#`` comments are skipped."""

    def __init__(self, call: Sequence[str], debrief: Sequence[str] = ()) -> None:
        self._lines = {"call": list(call), "debrief": list(debrief)}

    @classmethod
    def from_file(cls, path: Path) -> ScriptInput:
        if not path.is_file():
            raise CalmlineError(f"{path}: no such script file", "give one learner turn per line")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise CalmlineError(f"{path}: not UTF-8 text", "save the script as UTF-8") from exc
        call: list[str] = []
        debrief: list[str] = []
        target = call
        for raw in text.splitlines():
            line = raw.strip()
            if line.lower() == DEBRIEF_MARKER:
                target = debrief
            elif line and not line.startswith("#"):
                target.append(line)
        if not call:
            raise CalmlineError(f"{path}: the script has no learner turns", "one turn per line")
        return cls(call, debrief)

    def next_utterance(self, phase: str) -> LearnerUtterance | None:
        lines = self._lines["debrief" if phase == "debrief" else "call"]
        if not lines:
            return None
        return LearnerUtterance(text=lines.pop(0), source="script")


class AudioFilesInput:
    """One learner turn per audio file (any common format or sample rate)."""

    def __init__(
        self,
        call: Sequence[Path],
        transcriber: Transcriber,
        debrief: Sequence[Path] = (),
        load: Callable[[Path], AudioArray] | None = None,
    ) -> None:
        from calmline.audio import load_audio

        self._files = {"call": list(call), "debrief": list(debrief)}
        self._transcriber = transcriber
        self._load = load or load_audio
        # Check every file before the call starts: a bad file found at turn 6 would
        # waste the learner's first five turns.
        self._audio = {p: self._load(p) for p in [*call, *debrief]}

    def next_utterance(self, phase: str) -> LearnerUtterance | None:
        files = self._files["debrief" if phase == "debrief" else "call"]
        if not files:
            return None
        path = files.pop(0)
        utt = _transcribe(self._transcriber, self._audio[path], path.name)
        if not utt.text:
            utt.text = "(inaudible)"
        return utt


class MicInput:
    """Live microphone turns, ended by Silero VAD after a short silence (or push-to-talk)."""

    def __init__(
        self,
        transcriber: Transcriber,
        stream_factory: Callable[[], Iterator[AudioArray]],
        min_silence_ms: int = 600,
        push_to_talk: Callable[[], None] | None = None,
    ) -> None:
        self._transcriber = transcriber
        self._stream_factory = stream_factory
        self._min_silence_ms = min_silence_ms
        self._push_to_talk = push_to_talk

    def next_utterance(self, phase: str) -> LearnerUtterance | None:
        from calmline.vad import Endpointer, EndpointOptions, UtteranceEnded

        if self._push_to_talk is not None:
            self._push_to_talk()  # waits for the key press that starts the turn
        endpointer = Endpointer(EndpointOptions(min_silence_ms=self._min_silence_ms))
        for chunk in self._stream_factory():
            for event in endpointer.feed(chunk):
                if isinstance(event, UtteranceEnded):
                    ended = time.perf_counter()
                    utt = _transcribe(self._transcriber, event.audio, "microphone")
                    utt.source = "mic"
                    utt.latency["end_of_turn_to_text"] = time.perf_counter() - ended
                    if utt.text:
                        return utt
                    endpointer = Endpointer(EndpointOptions(min_silence_ms=self._min_silence_ms))
        return None


__all__ = [
    "SAMPLE_RATE",
    "AudioFilesInput",
    "LearnerInput",
    "LearnerUtterance",
    "MicInput",
    "ScriptInput",
    "TypedInput",
    "is_goodbye",
]
