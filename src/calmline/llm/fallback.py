"""Keep a call going when the main LLM fails: switch to a second model and say so.

A dead endpoint must not end a practice call (DESIGN: "nothing is lost"), and the
assessor must be able to see that some customer lines came from a weaker model, so
every switch is recorded as a ``SessionEvent`` for the session record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Literal

from calmline.llm.errors import LLMError
from calmline.models import SessionEvent
from calmline.protocols import ChatMessage, ChatModel, GenerationOptions


class FallbackChatModel:
    """``primary`` until it fails (after its own retries), then ``secondary``.

    - Failure before any text: the same request goes to ``secondary``.
    - Failure mid-stream on a completion: ``secondary`` continues the prompt plus
      the partial text, so the line the learner is already hearing gets finished.
    - Failure mid-stream on a chat: the error is re-raised (its ``partial_text`` is
      what was streamed); a different model cannot finish another's chat turn.
    - After a failure the next ``skip_primary_for`` calls go straight to
      ``secondary`` so that each turn does not wait for the dead endpoint's retries;
      then ``primary`` is tried again.

    Attributes:
        events: what happened, in order (kinds ``llm_fallback``,
            ``llm_fallback_failed``, ``llm_primary_back``).
    """

    def __init__(
        self,
        primary: ChatModel,
        secondary: ChatModel,
        *,
        skip_primary_for: int = 3,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.primary = primary
        self.secondary = secondary
        self.skip_primary_for = skip_primary_for
        self.name = primary.name
        # Prompts are built for the primary; the secondary gets the same request.
        self.prompt_style: Literal["completion", "chat"] = primary.prompt_style
        self.events: list[SessionEvent] = []
        start = time.monotonic()
        # Default: seconds since this object was made, i.e. since the session began.
        self._clock = clock or (lambda: time.monotonic() - start)
        self._skips_left = 0
        self._failed_before = False

    def stream_complete(self, prompt: str, options: GenerationOptions) -> Iterator[str]:
        return self._run(
            lambda m: m.stream_complete(prompt, options),
            lambda m, partial: m.stream_complete(prompt + partial, options),
        )

    def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> Iterator[str]:
        return self._run(lambda m: m.stream_chat(messages, options), None)

    def _run(
        self,
        request: Callable[[ChatModel], Iterator[str]],
        resume: Callable[[ChatModel, str], Iterator[str]] | None,
    ) -> Iterator[str]:
        if self._skips_left > 0:
            self._skips_left -= 1
            yield from self._secondary(request(self.secondary))
            return
        if self._failed_before:
            self._failed_before = False
            self._record("llm_primary_back", f"trying {self.primary.name} again")
        partial = ""
        try:
            for chunk in request(self.primary):
                partial += chunk
                yield chunk
            return
        except LLMError as exc:
            self._failed_before = True
            self._skips_left = self.skip_primary_for
            partial = partial or exc.partial_text
            if partial and resume is None:
                self._record("llm_fallback", f"{exc.message}; chat reply cut after {partial!r}")
                raise
            how = f"continuing after {partial!r}" if partial else "same request"
            self._record(
                "llm_fallback",
                f"{self.primary.name} failed: {exc.message}; "
                f"{self.secondary.name} takes over ({how})",
            )
            if partial and resume is not None:
                stream = resume(self.secondary, partial)
            else:
                stream = request(self.secondary)
        yield from self._secondary(stream)

    def _secondary(self, stream: Iterator[str]) -> Iterator[str]:
        try:
            yield from stream
        except LLMError as exc:
            self._record("llm_fallback_failed", f"{self.secondary.name} failed too: {exc.message}")
            raise

    def _record(self, kind: str, detail: str) -> None:
        self.events.append(SessionEvent(at=round(self._clock(), 3), kind=kind, detail=detail))
