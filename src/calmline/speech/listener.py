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

With ``tentative=True`` the listener also announces each phrase pause that has not
(yet) ended the turn as a ``TentativeTurn``: the turn exactly as it will be closed
if no more speech comes (same audio, same phrases), so a reply can be started
400 ms early. The next speech frame makes it void, announced as ``SpeechResumed``:
any speech resets the turn's silence, so the real turn will then end later and hold
more audio.

With an ``end_of_turn`` policy the turn's silence is no longer fixed: once the phrase
transcripts of the turn so far are in (shortly after each phrase pause), the policy
decides from the words and the voice how long this pause must last to end the turn,
shorter after a finished thought, longer after a trailing "and". While the text is not
in, the turn is held up to the policy's longest wait: the reply cannot start before the
text anyway, so this costs no reply time, and a slow Whisper cannot make the listener
cut a learner off at a fixed 600 ms. After speech (and without a policy) the fixed
``min_silence_ms`` holds. Times are the stream's: the turn ends when the silence since
the speech ended reaches the decided wait. The decision runs on the feeding thread
(~25 ms here, mostly one MiniLM call), once a pause.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from calmline.models import Transcription, WordTiming
from calmline.protocols import SAMPLE_RATE, AudioArray, Transcriber
from calmline.speech.vad import Endpointer, EndpointOptions, SpeechStarted, UtteranceEnded

if TYPE_CHECKING:
    from calmline.speech.end_of_turn import EndOfTurnDecision, EndOfTurnPolicy

PHRASE_SILENCE_MS = 200
BARGE_IN_SPEECH_MS = 150
# Stream audio kept for tentative turns: the longest turn (Endpointer's 28 s cut) and then some.
_TAIL_S = 30.0
_STT_POOL: ThreadPoolExecutor | None = None
_STT_POOL_LOCK = threading.Lock()


def stt_pool() -> ThreadPoolExecutor:
    """The process's one transcription worker, shared by every listener.

    One worker: phrases are transcribed in order, and Whisper already uses both
    cores, so two at once would only make each slower. One for the whole process
    rather than one per call (or per push-to-talk turn): a new thread each time
    also got a new malloc arena for Whisper's buffers (see ``calmline.call.memory``).
    """
    global _STT_POOL
    with _STT_POOL_LOCK:
        if _STT_POOL is None:
            _STT_POOL = ThreadPoolExecutor(1, thread_name_prefix="calmline-stt")
        return _STT_POOL


@dataclass
class Phrase:
    """One phrase of a turn handed to Whisper while the learner talks, and its transcription."""

    start: float  # stream seconds of the audio handed to Whisper
    end: float
    future: Future[Transcription]


@dataclass
class HeardTurn:
    """A finished learner turn whose phrase transcriptions may still be running.

    ``decided_at`` is the clock time of the end-of-turn decision; ``result()``
    waits for the phrases and joins them into one ``Transcription`` whose word
    times are seconds into ``audio``. ``end_of_turn`` is the policy's decision that
    ended it (None with the fixed wait, or when no text was in to decide on).
    """

    audio: AudioArray
    start: float
    end: float
    decided_at: float
    phrases: list[Phrase] = field(default_factory=list)
    fallback: Callable[[AudioArray], Future[Transcription]] | None = None
    forced: bool = False
    end_of_turn: EndOfTurnDecision | None = None

    def result(self) -> Transcription:
        from calmline.speech.remote_stt import TranscriptionFailed

        try:
            parts = [(p, p.future.result()) for p in self.phrases]
        except TranscriptionFailed as exc:
            exc.audio = self.audio  # keep the whole turn, not only the phrase that failed
            raise
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


@dataclass(frozen=True)
class TentativeTurn:
    """A phrase pause that has not ended the turn: ``turn`` is the turn if it does.

    ``turn.decided_at`` is the clock time of the pause. If the turn endpointer then
    ends the turn without hearing more speech, its ``HeardTurn`` has the same audio,
    start and phrases as this one.
    """

    turn: HeardTurn


@dataclass(frozen=True)
class SpeechResumed:
    """Speech after a ``TentativeTurn``, before the turn ended: that tentative turn is void."""

    at: float  # clock time


ListenerEvent = SpeechStarted | HeardTurn | TentativeTurn | SpeechResumed


class _StreamTail:
    """The last ``keep_s`` seconds of the stream, sliced by the stream seconds endpoints give."""

    def __init__(self, keep_s: float) -> None:
        self._keep = int(keep_s * SAMPLE_RATE)
        self._chunks: deque[AudioArray] = deque()
        self._first = 0  # stream sample index of the first kept sample
        self._end = 0  # stream samples seen

    def add(self, chunk: AudioArray) -> None:
        data = np.array(chunk, dtype=np.float32).reshape(-1)  # a copy: callers reuse buffers
        self._chunks.append(data)
        self._end += data.size
        while self._chunks and self._end - self._first - self._chunks[0].size >= self._keep:
            self._first += self._chunks.popleft().size

    def slice(self, start_s: float, end_s: float) -> AudioArray | None:
        """Samples from ``start_s`` to ``end_s`` stream seconds; None if not (all) kept."""
        a, b = round(start_s * SAMPLE_RATE), round(end_s * SAMPLE_RATE)
        if a < self._first or b > self._end or b < a:
            return None
        parts: list[AudioArray] = []
        pos = self._first
        for chunk in self._chunks:
            lo, hi = max(a - pos, 0), min(b - pos, chunk.size)
            if lo < hi:
                parts.append(chunk[lo:hi])
            pos += chunk.size
            if pos >= b:
                break
        return np.ascontiguousarray(np.concatenate(parts) if parts else np.zeros(0, np.float32))


class TurnListener:
    """Feeds a 16 kHz stream to the phrase and turn endpointers; transcribes phrases early.

    ``feed`` returns ``SpeechStarted`` (for barge-in) and ``HeardTurn`` events, and
    with ``tentative=True`` also ``TentativeTurn`` and ``SpeechResumed``. The caller
    resolves ``HeardTurn.result()`` on its own thread, so reading the microphone
    never waits for Whisper.

    ``end_of_turn``: a policy that sets each pause's wait from the words and voice
    (see the module docstring); None keeps the fixed ``min_silence_ms``.
    """

    def __init__(
        self,
        transcriber: Transcriber,
        min_silence_ms: int = 600,
        phrase_silence_ms: int = PHRASE_SILENCE_MS,
        clock: Callable[[], float] = time.perf_counter,
        executor: ThreadPoolExecutor | None = None,
        tentative: bool = False,
        end_of_turn: EndOfTurnPolicy | None = None,
    ) -> None:
        self.transcriber = transcriber
        self._min_silence_ms = min_silence_ms
        self._policy = end_of_turn
        # The phrases of the turn at the last pause and that phrase's audio, until
        # their text is in and the policy has decided; then the decision in force.
        self._awaiting: tuple[list[Phrase], AudioArray] | None = None
        self._decision: EndOfTurnDecision | None = None
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
        self._pool = executor or stt_pool()
        self._submitted: deque[Future[Transcription]] = deque(maxlen=64)  # cancelled on close
        self._phrases: list[Phrase] = []
        self._last_phrase_end = 0.0
        self._turn_start = 0.0  # stream seconds where the first phrase of this turn starts
        self._tentative = tentative
        self._tail = _StreamTail(_TAIL_S) if tentative else None
        self._paused = False  # a TentativeTurn is out and no speech has followed it
        self.cut_in_after_s: float | None = None  # force the turn's end after this much speech
        self._speech_started_at: float | None = None

    @property
    def in_speech(self) -> bool:
        return self._turn.in_speech

    def submit(self, audio: AudioArray) -> Future[Transcription]:
        """Transcribe ``audio`` (a whole turn) on the worker thread."""
        return self._submit(self.transcriber.transcribe, audio)

    def submit_phrase(self, audio: AudioArray) -> Future[Transcription]:
        """Transcribe one phrase on the worker thread.

        A transcriber with a ``transcribe_phrase`` method (a faster path for short
        audio) gets phrases through it; its time is on the critical path, since the
        reply cannot start before the last phrase's text.
        """
        phrase = getattr(self.transcriber, "transcribe_phrase", None)
        return self._submit(phrase if callable(phrase) else self.transcriber.transcribe, audio)

    def _submit(
        self, transcribe: Callable[[AudioArray], Transcription], audio: AudioArray
    ) -> Future[Transcription]:
        future = self._pool.submit(transcribe, audio)
        self._submitted.append(future)
        return future

    def feed(self, chunk: AudioArray) -> list[ListenerEvent]:
        out: list[ListenerEvent] = []
        if self._tail is not None:
            self._tail.add(chunk)
        pause: UtteranceEnded | None = None
        for event in self._phrase.feed(chunk):
            if isinstance(event, UtteranceEnded):
                self._add_phrase(event)
                pause = event
        if self._policy is not None:
            self._adapt_turn_silence(pause)
        if self._paused and self._phrase.in_speech:
            self._paused = False
            out.append(SpeechResumed(self._clock()))
        closed = False
        for event in self._turn.feed(chunk):
            if isinstance(event, SpeechStarted):
                self._speech_started_at = self._clock()
                out.append(event)
            else:
                out.append(self._close_turn(event))
                closed = True
        if pause is not None and not closed and self._turn.in_speech:
            tentative = self._tentative_turn(pause)
            if tentative is not None:
                self._paused = True
                out.append(tentative)
        if self._should_cut_in():
            out.extend(self.flush(forced=True))
        return out

    def flush(self, forced: bool = False) -> list[ListenerEvent]:
        """End of stream (or the customer cutting in): close the turn in progress."""
        for event in self._phrase.flush():
            if isinstance(event, UtteranceEnded):
                self._add_phrase(event)
        out: list[ListenerEvent] = []
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

    def _adapt_turn_silence(self, pause: UtteranceEnded | None) -> None:
        """The turn's silence for the current pause: the policy's, once the text is in.

        Until the text is in, the policy's longest wait holds. Speech voids a
        decision (the next pause brings its own), so the fixed wait holds again. A
        transcription that failed or was cancelled gives no text to decide on: the
        fixed wait, and the turn reports the failure as before.
        """
        if self._phrase.in_speech:
            if self._awaiting is not None or self._decision is not None:
                self._awaiting, self._decision = None, None
                self._turn.set_min_silence(self._min_silence_ms)
            return
        if self._policy is None:
            return
        if pause is not None and self._phrases:
            self._awaiting = (list(self._phrases), pause.audio)
            self._turn.set_min_silence(self._policy.longest_ms)
        if self._awaiting is None:
            return
        phrases, audio = self._awaiting
        if not all(p.future.done() for p in phrases):
            return
        self._awaiting = None
        if any(p.future.cancelled() or p.future.exception() is not None for p in phrases):
            self._turn.set_min_silence(self._min_silence_ms)
            return
        text = " ".join(p.future.result().text.strip() for p in phrases)
        self._decision = self._policy.decide(text, audio)
        self._turn.set_min_silence(self._decision.wait_ms)

    def _add_phrase(self, event: UtteranceEnded) -> None:
        audio, start = event.audio, event.start
        # Pre-roll may reach back into the previous phrase when the pause was short:
        # trim it so the tail of a word is not transcribed twice.
        overlap = round((self._last_phrase_end - start) * SAMPLE_RATE)
        if overlap > 0:
            audio, start = audio[overlap:], start + overlap / SAMPLE_RATE
        self._last_phrase_end = event.end
        if audio.size:
            if not self._phrases:
                self._turn_start = event.start  # the turn endpointer's start too (same pre-roll)
            self._phrases.append(
                Phrase(start, event.end, self.submit_phrase(np.ascontiguousarray(audio)))
            )

    def _turn_phrases(self, start: float) -> list[Phrase]:
        return [p for p in self._phrases if p.end > start - 0.05]

    def _tentative_turn(self, pause: UtteranceEnded) -> TentativeTurn | None:
        """The turn as the turn endpointer would close it if this pause ends it.

        Its audio runs from the turn's start to the pause's end (the last speech plus
        the same post-roll), both taken from the stream itself.
        """
        if not self._tentative or self._tail is None or not self._phrases:
            return None
        start = self._turn_start
        audio = self._tail.slice(start, pause.end)
        if audio is None or not audio.size:
            return None
        turn = HeardTurn(
            audio=audio,
            start=start,
            end=pause.end,
            decided_at=self._clock(),
            phrases=self._turn_phrases(start),
            fallback=self.submit,
        )
        return TentativeTurn(turn)

    def _close_turn(self, event: UtteranceEnded) -> HeardTurn:
        decided = self._clock()
        mine = self._turn_phrases(event.start)
        self._phrases = []  # anything older belonged to no turn (cannot happen; bounded anyway)
        self._speech_started_at = None
        self._paused = False
        decision, self._decision, self._awaiting = self._decision, None, None
        if self._policy is not None:
            self._turn.set_min_silence(self._min_silence_ms)
        return HeardTurn(
            audio=event.audio,
            start=event.start,
            end=event.end,
            decided_at=decided,
            phrases=mine,
            fallback=self.submit,
            forced=event.forced,
            end_of_turn=decision,
        )

    def close(self) -> None:
        """Drop this listener's transcriptions that have not started (the worker is shared)."""
        for future in self._submitted:
            future.cancel()
        self._submitted.clear()
