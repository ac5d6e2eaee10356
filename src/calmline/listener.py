"""Incremental end-of-turn listening: phrases are transcribed while the learner is still talking.

Two ``Endpointer``s read the same stream. The *phrase* endpointer ends an utterance
after a short pause (200 ms, a breath between clauses) and hands that phrase to
Whisper on a worker thread at once; the *turn* endpointer waits for the real
end-of-turn silence (600 ms by default). By the time the turn is over, every
phrase but usually the last has long been transcribed, and the last one has had
the turn's remaining silence wait to finish: only the tail is left to wait for.
Whisper pads every call to a 30 s window, so transcribing the whole turn again at
the end would cost the full ~0.35 s here however short the turn.

Both endpointers see identical audio, so their Silero probabilities and hence their
speech/silence decisions agree frame for frame; a turn is exactly the phrases heard
since the previous turn ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from calmline.models import Transcription, WordTiming
from calmline.protocols import SAMPLE_RATE, AudioArray, Transcriber
from calmline.vad import Endpointer, EndpointOptions, SpeechStarted, UtteranceEnded

PHRASE_SILENCE_MS = 200
BARGE_IN_SPEECH_MS = 150


@dataclass
class _Phrase:
    start: float  # stream seconds of the audio handed to Whisper
    end: float
    future: Future[Transcription]


@dataclass
class HeardTurn:
    """A finished learner turn whose phrase transcriptions may still be running.

    ``decided_at`` is the clock time of the end-of-turn decision; ``result()``
    waits for the phrases and joins them into one ``Transcription`` whose word
    times are seconds into ``audio``.
    """

    audio: AudioArray
    start: float
    end: float
    decided_at: float
    phrases: list[_Phrase] = field(default_factory=list)
    fallback: Callable[[AudioArray], Future[Transcription]] | None = None
    forced: bool = False

    def result(self) -> Transcription:
        parts = [(p, p.future.result()) for p in self.phrases]
        if not parts and self.fallback is not None:
            # Nothing was phrased (e.g. a turn cut at max length): transcribe it whole.
            whole = self.fallback(self.audio).result()
            return whole
        words: list[WordTiming] = []
        for phrase, heard in parts:
            shift = phrase.start - self.start
            words.extend(
                w.model_copy(update={"start": w.start + shift, "end": w.end + shift})
                for w in heard.words
            )
        text = " ".join(t.text.strip() for _, t in parts if t.text.strip())
        model = parts[0][1].model if parts else ""
        return Transcription(
            text=text, duration=self.audio.size / SAMPLE_RATE, words=words, model=model
        )


class TurnListener:
    """Feeds a 16 kHz stream to the phrase and turn endpointers; transcribes phrases early.

    ``feed`` returns ``SpeechStarted`` (for barge-in) and ``HeardTurn`` events. The
    caller resolves ``HeardTurn.result()`` on its own thread, so reading the
    microphone never waits for Whisper.
    """

    def __init__(
        self,
        transcriber: Transcriber,
        min_silence_ms: int = 600,
        phrase_silence_ms: int = PHRASE_SILENCE_MS,
        clock: Callable[[], float] = time.perf_counter,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        self.transcriber = transcriber
        # 150 ms of speech (not 200) starts a turn: barge-in must stop the customer
        # within 300 ms of the learner's onset, and the VAD adds ~60 ms on its own.
        self._turn = Endpointer(
            EndpointOptions(min_silence_ms=min_silence_ms, min_speech_ms=BARGE_IN_SPEECH_MS)
        )
        self._phrase = Endpointer(
            EndpointOptions(
                min_silence_ms=min(phrase_silence_ms, min_silence_ms),
                min_speech_ms=BARGE_IN_SPEECH_MS,
            )
        )
        self._clock = clock
        # One worker: phrases are transcribed in order, and Whisper already uses
        # both cores; two at once would only make each slower.
        self._pool = executor or ThreadPoolExecutor(1, thread_name_prefix="calmline-stt")
        self._phrases: list[_Phrase] = []
        self._last_phrase_end = 0.0
        self.cut_in_after_s: float | None = None  # force the turn's end after this much speech
        self._speech_started_at: float | None = None

    @property
    def in_speech(self) -> bool:
        return self._turn.in_speech

    def submit(self, audio: AudioArray) -> Future[Transcription]:
        """Transcribe ``audio`` on the worker thread."""
        return self._pool.submit(self.transcriber.transcribe, audio)

    def feed(self, chunk: AudioArray) -> list[SpeechStarted | HeardTurn]:
        out: list[SpeechStarted | HeardTurn] = []
        for event in self._phrase.feed(chunk):
            if isinstance(event, UtteranceEnded):
                self._add_phrase(event)
        for event in self._turn.feed(chunk):
            if isinstance(event, SpeechStarted):
                self._speech_started_at = self._clock()
                out.append(event)
            else:
                out.append(self._close_turn(event))
        if self._should_cut_in():
            out.extend(self.flush(forced=True))
        return out

    def flush(self, forced: bool = False) -> list[SpeechStarted | HeardTurn]:
        """End of stream (or the customer cutting in): close the turn in progress."""
        for event in self._phrase.flush():
            if isinstance(event, UtteranceEnded):
                self._add_phrase(event)
        out: list[SpeechStarted | HeardTurn] = []
        for event in self._turn.flush():
            if isinstance(event, SpeechStarted):
                out.append(event)
            else:
                turn = self._close_turn(event)
                turn.forced = forced
                out.append(turn)
        return out

    def _should_cut_in(self) -> bool:
        limit, since = self.cut_in_after_s, self._speech_started_at
        return (
            limit is not None
            and since is not None
            and self._turn.in_speech
            and self._clock() - since >= limit
        )

    def _add_phrase(self, event: UtteranceEnded) -> None:
        audio, start = event.audio, event.start
        # Pre-roll may reach back into the previous phrase when the pause was short:
        # trim it so the tail of a word is not transcribed twice.
        overlap = round((self._last_phrase_end - start) * SAMPLE_RATE)
        if overlap > 0:
            audio, start = audio[overlap:], start + overlap / SAMPLE_RATE
        self._last_phrase_end = event.end
        if audio.size:
            self._phrases.append(
                _Phrase(start, event.end, self.submit(np.ascontiguousarray(audio)))
            )

    def _close_turn(self, event: UtteranceEnded) -> HeardTurn:
        decided = self._clock()
        mine = [p for p in self._phrases if p.end > event.start - 0.05]
        self._phrases = []  # anything older belonged to no turn (cannot happen; bounded anyway)
        self._speech_started_at = None
        return HeardTurn(
            audio=event.audio,
            start=event.start,
            end=event.end,
            decided_at=decided,
            phrases=mine,
            fallback=self.submit,
            forced=event.forced,
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
