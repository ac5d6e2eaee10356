"""The collaborators calmline talks to, as small protocols.

Real implementations live at the edges (``speech.stt``, ``llm.*``, ``speech.tts``,
``embed``, ``evaluate.llm_judge``, ``call.inputs``); scripted fakes live in
``calmline.testing`` so that pure logic is tested without a microphone, a model or a
network.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from calmline.models import Assessment, Rubric, SessionEvent, SessionRecord, Transcription

if TYPE_CHECKING:
    from calmline.call.inputs import LearnerUtterance, LiveEvent

AudioArray = npt.NDArray[np.float32]  # mono float32 samples in [-1, 1]
SAMPLE_RATE = 16_000  # everything after decoding works at 16 kHz, as faster-whisper does


@runtime_checkable
class Transcriber(Protocol):
    """Speech to text on mono 16 kHz float32 audio."""

    name: str

    def transcribe(self, audio: AudioArray) -> Transcription: ...


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass
class GenerationOptions:
    """Sampling settings for one generation.

    Attributes:
        max_tokens: upper bound on generated tokens; customer lines are short.
        temperature: 0 for the judge, ~0.7 for the customer.
        stop: strings that end generation (transcript-continuation prompts need them).
        seed: for reproducible output where the backend supports it.
    """

    max_tokens: int = 80
    temperature: float = 0.7
    stop: list[str] = field(default_factory=list)
    seed: int | None = None


@runtime_checkable
class ChatModel(Protocol):
    """A language model, streamed token by token.

    ``prompt_style`` says which form the model answers best: a small base model
    continues a transcript (``completion``), an instruction-tuned endpoint follows
    messages (``chat``). Callers pick the form; both methods always exist.
    """

    name: str
    prompt_style: Literal["completion", "chat"]

    def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> Iterator[str]: ...

    def stream_complete(self, prompt: str, options: GenerationOptions) -> Iterator[str]: ...


@runtime_checkable
class Synthesizer(Protocol):
    """Text to speech: returns samples so that the same audio is saved and played.

    (Not ``Speaker``: that is who says a turn, ``models.Speaker``.)
    """

    name: str

    def synthesize(self, text: str, voice: str) -> tuple[AudioArray, int]: ...


@runtime_checkable
class Embedder(Protocol):
    """Sentence embeddings, L2-normalised, one row per text."""

    name: str

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


@runtime_checkable
class Judge(Protocol):
    """Marks a session against one rubric by judgement (an LLM judge), beside the offline
    checks. ``name`` goes into ``Assessment.judge``."""

    name: str

    def assess(self, session: SessionRecord, rubric: Rubric) -> Assessment: ...


class LearnerInput(Protocol):
    """A source of learner turns. ``None`` means the learner has nothing more to say."""

    def next_utterance(self, phase: str) -> LearnerUtterance | None: ...


@runtime_checkable
class LiveLearnerInput(LearnerInput, Protocol):
    """A learner input that listens all call long (a microphone, a simulated one).

    Beside whole turns it announces phrase pauses, so a reply can be started early
    (``next_event``); it can end a turn that runs too long (``set_cut_in``); and it
    hears the learner start talking over the customer (``speech_started_after``).
    """

    def next_event(self, phase: str) -> LiveEvent | None:
        """``TurnPaused`` and ``SpeechResumed`` as they happen, then the turn (None: the end)."""
        ...

    def set_cut_in(self, seconds: float | None) -> None:
        """End the learner's turn after this much unbroken speech (None: never)."""
        ...

    def speech_started_after(self, t: float) -> float | None:
        """Clock time the learner started speaking after ``t`` (None if they have not)."""
        ...


@runtime_checkable
class EventLog(Protocol):
    """A collaborator that logs what happened to it (the LLM fallback's switches)."""

    events: list[SessionEvent]
