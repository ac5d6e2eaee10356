"""A scripted ``ChatModel`` for unit tests of pure logic (and ``--llm fake`` demos).

It behaves like a real backend where callers can notice: replies stream in several
chunks, stop sequences cut the text (and are not returned), ``max_tokens`` is ignored
(the script is the script). It records every prompt so tests can assert what the
customer or judge was asked, and it can fail on chosen calls to exercise fallbacks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from calmline.llm.errors import LLMError, LLMStreamInterrupted, LLMUnavailable
from calmline.protocols import ChatMessage, GenerationOptions

Reply = str | Callable[[str], str]  # a fixed line, or a function of the prompt text


@dataclass
class FakeCall:
    """One request the fake received."""

    kind: Literal["chat", "complete"]
    prompt: str  # the completion prompt, or the chat messages joined as "role: content"
    messages: list[ChatMessage]
    options: GenerationOptions


@dataclass
class FakeChatModel:
    """Answers from a script.

    Attributes:
        replies: answers in order; a callable gets the prompt text and returns the line.
        prompt_style: what this fake claims to prefer.
        cycle: start again at the first reply when the script runs out (else fail).
        fail_on: 0-based call numbers that fail before any text (``LLMUnavailable``).
        break_on: call number -> characters streamed before the stream dies
            (``LLMStreamInterrupted`` carrying that partial text).
        calls: every request received, in order.
    """

    replies: list[Reply] = field(default_factory=list)
    prompt_style: Literal["completion", "chat"] = "completion"
    name: str = "fake"
    cycle: bool = False
    fail_on: set[int] = field(default_factory=set)
    break_on: dict[int, int] = field(default_factory=dict)
    calls: list[FakeCall] = field(default_factory=list)
    _next_reply: int = 0

    @property
    def prompts(self) -> list[str]:
        """The prompt text of every call, in order."""
        return [c.prompt for c in self.calls]

    def stream_complete(self, prompt: str, options: GenerationOptions) -> Iterator[str]:
        call = FakeCall("complete", prompt, [], options)
        return self._answer(call)

    def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> Iterator[str]:
        text = "\n".join(f"{m.role}: {m.content}" for m in messages)
        return self._answer(FakeCall("chat", text, list(messages), options))

    def _answer(self, call: FakeCall) -> Iterator[str]:
        # Record at call time (not first iteration) so a test sees the prompt even if
        # the caller never consumes the stream.
        index = len(self.calls)
        self.calls.append(call)
        return self.reply_stream(index, call)

    def reply_stream(self, index: int, call: FakeCall) -> Iterator[str]:
        """The chunks answering ``call``, the ``index``-th request (0-based).

        A subclass may override it to change how the answer arrives (delay it, hold a
        chunk back), calling ``super().reply_stream`` for the scripted text.
        """
        if index in self.fail_on:
            raise LLMUnavailable(
                "fake model: scripted failure", "this is a test double", retryable=True
            )
        text = _apply_stop(self._take_reply(call.prompt), call.options.stop)
        cut = self.break_on.get(index)
        chunks = _chunks(text if cut is None else text[:cut])
        yield from chunks
        if cut is not None:
            raise LLMStreamInterrupted(
                "fake model: scripted broken stream",
                "this is a test double",
                retryable=True,
                partial_text="".join(chunks),
            )

    def _take_reply(self, prompt: str) -> str:
        if self._next_reply >= len(self.replies):
            if not (self.cycle and self.replies):
                raise LLMError("fake model: the script ran out of replies", "add more replies")
            self._next_reply = 0
        reply = self.replies[self._next_reply]
        self._next_reply += 1
        return reply(prompt) if callable(reply) else reply


def _apply_stop(text: str, stop: list[str]) -> str:
    cuts = [text.find(s) for s in stop if s and s in text]
    return text[: min(cuts)] if cuts else text


def _chunks(text: str) -> list[str]:
    # Word-sized pieces, keeping the leading space as real tokenisers do.
    return re.findall(r"\s*\S+|\s+$", text) or ([text] if text else [])
