"""Choosing and building the language model: ``load_chat_model`` and its options.

Backends live in their own modules and are imported only when chosen, so importing
``calmline.llm`` costs nothing (``--help`` stays instant): ``local`` (llama.cpp in
process, bundled GGUFs), ``openai`` (any OpenAI-compatible endpoint), ``fake``
(scripted, for tests and demos). Every failure is an ``LLMError``, a
``CalmlineError`` the CLI prints as one line with a hint.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from calmline.config import environment
from calmline.errors import CalmlineError
from calmline.llm.bundled import BUNDLED_MODELS, DEFAULT_MODEL
from calmline.llm.errors import LLMBadResponse, LLMError, LLMStreamInterrupted, LLMUnavailable
from calmline.protocols import ChatModel

Backend = Literal["local", "openai", "fake"]
BACKENDS: tuple[Backend, ...] = ("local", "openai", "fake")

__all__ = [
    "BACKENDS",
    "BUNDLED_MODELS",
    "DEFAULT_MODEL",
    "LLMBadResponse",
    "LLMError",
    "LLMOptions",
    "LLMStreamInterrupted",
    "LLMUnavailable",
    "collect",
    "load_chat_model",
]


@dataclass
class LLMOptions:
    """Which LLM to use and how to reach it, as the CLI flags give it.

    ``None`` means "not given": the environment is read, then a default applies.

    Attributes:
        backend: ``local`` (default, offline), ``openai`` or ``fake``.
        model: a bundled short name (``gemma3-270m``, ``smollm2-135m``) or a
            ``.gguf`` path for ``local``; the server's model name for ``openai``
            (default: ``CALMLINE_MODEL``, else the first model the server lists).
        base_url: the endpoint, ending in ``/v1`` (default: ``OPENAI_BASE_URL``).
        api_key: default ``OPENAI_API_KEY``; local servers need none.
        timeout: seconds to wait for the next streamed chunk before failing.
        max_attempts: tries per request for connection errors, time-outs, 429, 5xx.
        prompt_style: force ``completion`` or ``chat``; default is the model's own
            (bundled base model -> completion) or ``chat`` for an endpoint.
        fallback: with ``openai``, continue on the local model if the endpoint fails.
        n_ctx: context size for ``local``.
        n_threads: threads for ``local`` (default: every core).
    """

    backend: Backend = "local"
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    timeout: float = 30.0
    max_attempts: int = 3
    prompt_style: Literal["completion", "chat"] | None = None
    fallback: bool = False
    n_ctx: int = 2048
    n_threads: int | None = None

    def load(self) -> ChatModel:
        """Build the model these options describe (see ``load_chat_model``)."""
        return load_chat_model(
            self.backend,
            self.model,
            base_url=self.base_url,
            api_key=self.api_key,
            timeout=self.timeout,
            max_attempts=self.max_attempts,
            prompt_style=self.prompt_style,
            fallback=self.fallback,
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
        )


def load_chat_model(
    backend: Backend = "local",
    model: str | None = None,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout: float = 30.0,
    max_attempts: int = 3,
    prompt_style: Literal["completion", "chat"] | None = None,
    fallback: bool = False,
    n_ctx: int = 2048,
    n_threads: int | None = None,
) -> ChatModel:
    """Build a ``ChatModel``; flags win over ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``
    and ``CALMLINE_MODEL``. Raises ``CalmlineError`` with a hint on bad input."""
    env = environment()
    model = model or env.model
    timeout = _timeout_from_env(timeout)
    if backend == "local":
        from calmline.llm.local import get_local_model

        return get_local_model(model, n_ctx=n_ctx, n_threads=n_threads, prompt_style=prompt_style)
    if backend == "openai":
        from calmline.llm.openai_backend import OpenAIChatModel

        remote = OpenAIChatModel(
            model,
            base_url=base_url or env.openai_base_url,
            api_key=api_key or env.openai_api_key,
            timeout=timeout,
            max_attempts=max_attempts,
            prompt_style=prompt_style or "chat",
        )
        if not fallback:
            return remote
        from calmline.llm.fallback import FallbackChatModel
        from calmline.llm.local import get_local_model

        # The endpoint's model name means nothing to llama.cpp: use the bundled default.
        return FallbackChatModel(remote, get_local_model(None, n_ctx=n_ctx, n_threads=n_threads))
    if backend == "fake":
        from calmline.testing.fake_llm import FakeChatModel

        return FakeChatModel(
            replies=["I've been waiting for ages and nobody has fixed this!"],
            prompt_style=prompt_style or "completion",
            cycle=True,
        )
    raise CalmlineError(f"unknown LLM backend {backend!r}", f"use one of {', '.join(BACKENDS)}")


def _timeout_from_env(timeout: float) -> float:
    """``CALMLINE_LLM_TIMEOUT`` (seconds) overrides the default endpoint time-out.

    A dead-but-listening endpoint costs ``timeout`` per attempt, so a training room
    with a flaky server may want 5 s rather than 30 s; tests use it to stay fast.
    """
    raw = environment().llm_timeout
    if not raw or timeout != 30.0:  # an explicit, non-default value wins
        return timeout
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise CalmlineError(
            f"CALMLINE_LLM_TIMEOUT={raw!r} is not a number of seconds",
            "e.g. CALMLINE_LLM_TIMEOUT=10",
        )
    return value


def collect(stream: Iterable[str]) -> str:
    """Join a streamed reply into one string (for callers that do not stream)."""
    return "".join(stream)
