"""Where learner turns come from: typed text, a script file, audio files, or the microphone.

Every source yields :class:`LearnerUtterance` values, so the practice loop does not
know or care which one it has. Audio sources go through the same speech-to-text path
(``stt``) that ``calmline transcribe`` uses.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from calmline.errors import CalmlineError
from calmline.files import read_text
from calmline.limits import audio_too_long, limits
from calmline.models import Transcription
from calmline.protocols import (
    SAMPLE_RATE,
    AudioArray,
    LearnerInput,
    LiveLearnerInput,
    Transcriber,
)
from calmline.speech.listener import SpeechResumed
from calmline.text_decode import strip_controls

if TYPE_CHECKING:
    from calmline.speech.end_of_turn import EndOfTurnPolicy
    from calmline.speech.listener import HeardTurn

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
    decided_at: float | None = None  # clock time of the end-of-turn decision (live input)
    cut_in: bool = False  # the customer cut the learner off (a persona that may interrupt)


@dataclass(frozen=True)
class TurnPaused:
    """The learner paused between phrases; the turn may or may not be over.

    ``utterance()`` waits for the transcripts of the phrases so far and returns the
    turn exactly as it will arrive if this pause ends it. ``stale()`` becomes true as
    soon as the learner speaks again (before ``SpeechResumed`` is taken from the input).
    """

    resolve: Callable[[], LearnerUtterance]
    stale: Callable[[], bool]
    at: float  # clock time of the pause

    def utterance(self) -> LearnerUtterance:
        return self.resolve()


# SpeechResumed (the learner spoke again after a ``TurnPaused``: that pause did not end
# the turn) is the listener's own event, passed through as it is.
LiveEvent = LearnerUtterance | TurnPaused | SpeechResumed


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
            text = strip_controls(text).strip()
            if text:
                return LearnerUtterance(text=text, source="typed")


class ScriptInput:
    """One learner turn per line of a text file; a ``--- debrief ---`` line starts the answers
    to the debrief questions. Blank lines and ``#`` comments are skipped."""

    def __init__(self, call: Sequence[str], debrief: Sequence[str] = ()) -> None:
        self._lines = {"call": list(call), "debrief": list(debrief)}

    @classmethod
    def from_file(cls, path: Path) -> ScriptInput:
        if not path.exists():
            raise CalmlineError(f"{path}: no such script file", "give one learner turn per line")
        text = read_text(path, "a script")
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
        from calmline.speech.audio import audio_duration, load_audio

        longest = limits().turn_audio_s
        for path in [*call, *debrief]:
            seconds = audio_duration(path)
            if seconds is not None and seconds > longest:
                # Decoding it whole would take ~1 GB an hour; no learner turn is that long.
                raise audio_too_long(
                    path,
                    seconds,
                    longest,
                    "one learner turn",
                    "split the recording into turns, or use `calmline transcribe` for long files",
                )
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


@dataclass(frozen=True)
class _Pause:
    heard: HeardTurn  # the turn if the pause ends it
    epoch: int  # LiveInput's epoch when the pause was heard


def next_turn(source: LiveLearnerInput, phase: str) -> LearnerUtterance | None:
    """The next finished turn of a live input, its phrase pauses and resumptions passed
    over: what ``next_utterance`` means for an input that also has ``next_event``."""
    while True:
        event = source.next_event(phase)
        if event is None or isinstance(event, LearnerUtterance):
            return event


class LiveInput:
    """Turns from a live 16 kHz stream that stays open for the whole call.

    A reader thread feeds the stream to a ``TurnListener`` (Silero endpointing with
    phrases transcribed while the learner talks) and queues finished turns;
    ``next_utterance`` takes the next one. Because the stream keeps being read
    while the customer speaks, ``speech_started_after`` tells the practice loop
    that the learner has started talking over the customer (barge-in).
    ``next_event`` also returns the phrase pauses (``TurnPaused``) and the speech
    that voids them (``SpeechResumed``), for a reply started at the pause.
    """

    def __init__(
        self,
        transcriber: Transcriber,
        stream: Iterable[AudioArray],
        min_silence_ms: int = 600,
        clock: Callable[[], float] = time.perf_counter,
        source: str = "mic",
        end_of_turn: EndOfTurnPolicy | None = None,
    ) -> None:
        from calmline.speech.listener import TurnListener

        self._clock = clock
        self._source = source
        self.listener = TurnListener(
            transcriber,
            min_silence_ms=min_silence_ms,
            clock=clock,
            tentative=True,
            end_of_turn=end_of_turn,
        )
        self._stream = stream
        self._turns: queue.Queue[HeardTurn | _Pause | SpeechResumed | BaseException | None] = (
            queue.Queue()
        )
        self._speech_starts: list[float] = []
        # Bumped whenever the learner resumes after a pause: a pause announced under an
        # older epoch is void.
        self._epoch = 0
        self._lock = threading.Lock()
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start reading the stream (``next_utterance`` does this on first use)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._read, name="calmline-listen", daemon=True)
            self._thread.start()

    def _read(self) -> None:
        from calmline.speech.listener import HeardTurn, SpeechStarted, TentativeTurn

        iterator = iter(self._stream)
        try:
            for chunk in iterator:
                if self._closed:
                    break
                for event in self.listener.feed(chunk):
                    if isinstance(event, SpeechStarted):
                        with self._lock:
                            self._speech_starts.append(self._clock())
                        continue
                    with self._lock:
                        if isinstance(event, TentativeTurn):
                            self._turns.put(_Pause(event.turn, self._epoch))
                            continue
                        if isinstance(event, SpeechResumed):
                            self._epoch += 1  # voids the pause before it
                    self._turns.put(event)
            else:
                for event in self.listener.flush():
                    if isinstance(event, HeardTurn):
                        self._turns.put(event)
            self._turns.put(None)
        except BaseException as exc:  # e.g. a dead microphone: raised in next_utterance
            self._turns.put(exc)
        finally:
            close = getattr(iterator, "close", None)
            if callable(close):
                close()

    def speech_started_after(self, t: float) -> float | None:
        """Clock time the learner started speaking after ``t`` (None if they have not)."""
        with self._lock:
            later = [s for s in self._speech_starts if s > t]
        return later[0] if later else None

    def set_cut_in(self, seconds: float | None) -> None:
        """End the learner's turn after this much continuous speech (None: never)."""
        self.listener.cut_in_after_s = seconds

    def next_utterance(self, phase: str) -> LearnerUtterance | None:
        return next_turn(self, phase)

    def next_event(self, phase: str) -> LiveEvent | None:
        """The next finished turn, phrase pause or resumption, in the order they happened."""
        self.start()
        while True:
            item = self._turns.get()
            if item is None:
                self._turns.put(None)  # stays ended for later calls
                return None
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, SpeechResumed):
                return item
            if isinstance(item, _Pause):
                return self._paused(item)
            utt = self._utterance(item)
            if utt.text:
                return utt

    def _paused(self, pause: _Pause) -> TurnPaused:
        def stale() -> bool:
            with self._lock:
                return self._epoch != pause.epoch

        heard = pause.heard
        return TurnPaused(resolve=lambda: self._utterance(heard), stale=stale, at=heard.decided_at)

    def _utterance(self, heard: HeardTurn) -> LearnerUtterance:
        result = heard.result()
        ready = self._clock()
        return LearnerUtterance(
            text=result.text.strip(),
            source=self._source,
            audio=heard.audio,
            transcription=result,
            latency={"end_of_turn_to_text": ready - heard.decided_at},
            origin="microphone" if self._source == "mic" else self._source,
            decided_at=heard.decided_at,
            cut_in=heard.forced,
        )

    def close(self) -> None:
        self._closed = True
        self.listener.close()


class MicInput:
    """Live microphone turns, ended by Silero VAD after a short silence (or push-to-talk).

    Without push-to-talk the microphone stays open for the whole call (``LiveInput``),
    so the learner can talk over the customer. With push-to-talk each turn opens the
    stream after the key press and closes it at the end of the turn.
    """

    def __init__(
        self,
        transcriber: Transcriber,
        stream_factory: Callable[[], Iterator[AudioArray]],
        min_silence_ms: int = 600,
        push_to_talk: Callable[[], None] | None = None,
        end_of_turn: EndOfTurnPolicy | None = None,
    ) -> None:
        self._transcriber = transcriber
        self._stream_factory = stream_factory
        self._min_silence_ms = min_silence_ms
        self._push_to_talk = push_to_talk
        self._end_of_turn = end_of_turn
        self._live: LiveInput | None = None

    def speech_started_after(self, t: float) -> float | None:
        return self._live.speech_started_after(t) if self._live is not None else None

    def set_cut_in(self, seconds: float | None) -> None:
        if self._live is not None:
            self._live.set_cut_in(seconds)

    def next_event(self, phase: str) -> LiveEvent | None:
        """Phrase pauses too, when the microphone stays open (not with push-to-talk)."""
        if self._push_to_talk is None:
            return self._open_live().next_event(phase)
        return self.next_utterance(phase)

    def _open_live(self) -> LiveInput:
        if self._live is None:
            self._live = LiveInput(
                self._transcriber,
                self._stream_factory(),
                self._min_silence_ms,
                end_of_turn=self._end_of_turn,
            )
        return self._live

    def next_utterance(self, phase: str) -> LearnerUtterance | None:
        if self._push_to_talk is None:
            return self._open_live().next_utterance(phase)
        from calmline.speech.listener import HeardTurn, TurnListener

        self._push_to_talk()  # waits for the key press that starts the turn
        listener = TurnListener(
            self._transcriber,
            min_silence_ms=self._min_silence_ms,
            end_of_turn=self._end_of_turn,
        )
        try:
            for chunk in self._stream_factory():
                for event in listener.feed(chunk):
                    if isinstance(event, HeardTurn):
                        result = event.result()
                        if result.text.strip():
                            return LearnerUtterance(
                                text=result.text.strip(),
                                source="mic",
                                audio=event.audio,
                                transcription=result,
                                latency={
                                    "end_of_turn_to_text": time.perf_counter() - event.decided_at
                                },
                                origin="microphone",
                            )
        finally:
            listener.close()
        return None

    def close(self) -> None:
        if self._live is not None:
            self._live.close()


__all__ = [
    "SAMPLE_RATE",
    "AudioFilesInput",
    "LearnerInput",
    "LearnerUtterance",
    "LiveEvent",
    "LiveInput",
    "LiveLearnerInput",
    "MicInput",
    "ScriptInput",
    "SpeechResumed",
    "TurnPaused",
    "TypedInput",
    "is_goodbye",
]
