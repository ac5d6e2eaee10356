"""A chat model whose streams can be stopped at the next token by the thread that started them.

A reply started speculatively at the learner's pause (``calmline.call.speculation``)
runs on its own thread; when the learner goes on it is thrown away, and its model
stream should stop at once rather than after the sentence being generated, a model's
worth of CPU taken from the transcription of the learner's next phrase. That thread
calls ``stop_streams_when(check)``; streams started anywhere else are untouched.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

from calmline.protocols import ChatMessage, ChatModel, GenerationOptions


class _Scope(threading.local):
    """The speculation running on this thread, if any: its ``stopped`` check."""

    stopped: Callable[[], bool] | None = None


_SCOPE = _Scope()


def stop_streams_when(stopped: Callable[[], bool] | None) -> None:
    """Streams of an ``InterruptibleModel`` started on this thread from now on end once
    ``stopped()`` is true (None: they run to the end)."""
    _SCOPE.stopped = stopped


class InterruptibleModel:
    """A ``ChatModel`` whose streams, when started by a speculation, end once it is cancelled.

    Streams started anywhere else (the normal reply, priming) are the inner model's,
    untouched. Everything else (``events``, ``last_stats``...) is the inner model's.
    """

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    @name.setter
    def name(self, value: str) -> None:
        self.inner.name = value

    @property
    def prompt_style(self) -> Literal["completion", "chat"]:
        return self.inner.prompt_style

    @prompt_style.setter
    def prompt_style(self, value: Literal["completion", "chat"]) -> None:
        self.inner.prompt_style = value

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    def stream_complete(self, prompt: str, options: GenerationOptions) -> Iterator[str]:
        return self._guard(self.inner.stream_complete(prompt, options))

    def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> Iterator[str]:
        return self._guard(self.inner.stream_chat(messages, options))

    @staticmethod
    def _guard(stream: Iterator[str]) -> Iterator[str]:
        stopped = _SCOPE.stopped
        return stream if stopped is None else _until(stream, stopped)


def _until(stream: Iterator[str], stopped: Callable[[], bool]) -> Iterator[str]:
    try:
        if stopped():
            return  # not even the prompt is evaluated
        for piece in stream:
            yield piece
            if stopped():
                return
    finally:
        close = getattr(stream, "close", None)
        if callable(close):
            close()  # a local model releases its lock here


def interruptible(model: ChatModel) -> ChatModel:
    """``model`` wrapped once in ``InterruptibleModel``."""
    return model if isinstance(model, InterruptibleModel) else InterruptibleModel(model)
