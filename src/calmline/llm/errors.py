"""The ways a language model call fails, as one typed family.

They subclass ``CalmlineError`` so that an uncaught one still reaches the user as one
line with a hint; code that can recover (``FallbackChatModel``, the customer's
authored fallback lines) catches ``LLMError`` and looks at ``retryable`` and
``partial_text``.
"""

from __future__ import annotations

from calmline.errors import CalmlineError


class LLMError(CalmlineError):
    """A language model call failed.

    Attributes:
        retryable: a later attempt may succeed (connection, time-out, 429, 5xx).
        partial_text: what was streamed before the failure ("" if nothing was).
    """

    def __init__(
        self, message: str, hint: str = "", *, retryable: bool = False, partial_text: str = ""
    ) -> None:
        super().__init__(message, hint)
        self.retryable = retryable
        self.partial_text = partial_text


class LLMUnavailable(LLMError):
    """The endpoint could not be reached or kept failing (after retries)."""


class LLMStreamInterrupted(LLMError):
    """The stream started and then died; ``partial_text`` holds what arrived."""


class LLMBadResponse(LLMError):
    """The endpoint answered, but with empty or malformed content."""
