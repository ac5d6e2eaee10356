"""The collaborators calmline talks to, as small protocols.

Real implementations live at the edges (``stt``, ``llm.*``, ``tts``, ``embed``);
scripted fakes live beside them (``fakes``) so that pure logic is tested without
a microphone, a model or a network.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from calmline.models import Transcription

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
class Speaker(Protocol):
    """Text to speech: returns samples so that the same audio is saved and played."""

    name: str

    def synthesize(self, text: str, voice: str) -> tuple[AudioArray, int]: ...


@runtime_checkable
class Embedder(Protocol):
    """Sentence embeddings, L2-normalised, one row per text."""

    name: str

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...
