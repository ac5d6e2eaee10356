"""Any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama.cpp's server): the only
module that imports ``openai``.

Retries are ours, not the SDK's (``max_retries=0``), for two reasons: a retry is only
safe before the first token reaches the caller (after that the learner has heard
half a line), and the session record wants to know how many retries happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

import httpx
import openai

from calmline.llm.errors import LLMBadResponse, LLMError, LLMStreamInterrupted, LLMUnavailable
from calmline.protocols import ChatMessage, GenerationOptions

UNREACHABLE_HINT = "start your server or set OPENAI_BASE_URL / use --llm local"
DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIChatModel:
    """A model behind the OpenAI HTTP API; implements ``ChatModel``.

    Attributes:
        retries: retries made so far by this instance (for reports and tests).
        last_attempts: attempts the last call needed (1 = no retry).
        down: the last request failed after all its retries; the next gets one try.
    """

    def __init__(
        self,
        model: str | None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        max_attempts: int = 3,
        backoff_s: float = 0.5,
        prompt_style: Literal["completion", "chat"] = "chat",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._model = model
        self.name = f"openai:{model or 'auto'}"  # updated once "auto" is resolved
        self.prompt_style: Literal["completion", "chat"] = prompt_style
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self._sleep = sleep  # injectable so retry tests do not wait
        self.retries = 0
        self.last_attempts = 0
        # Set when the last request used up its retries; cleared by the next success.
        # While set, a request gets one attempt: a dead endpoint then costs each later
        # turn one refused connection (or one time-out), not the whole backoff again.
        self.down = False
        self._client = openai.OpenAI(
            base_url=self.base_url,
            # Local servers ignore the key but the SDK refuses to start without one.
            api_key=api_key or "not-needed",
            # The read time-out bounds the gap between two streamed chunks, so a
            # stalled server fails in `timeout` seconds instead of hanging the call.
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            max_retries=0,
        )

    @property
    def model(self) -> str:
        """The model name; if none was given, the first one the server lists.

        llama.cpp's server and Ollama serve whatever they were started with, so
        asking saves the user from typing a name the server already knows.
        """
        if self._model is None:
            listing = self._with_retries(lambda: self._client.models.list())
            ids = [m.id for m in listing.data]
            if not ids:
                raise LLMBadResponse(
                    f"the LLM endpoint at {self.base_url} lists no models",
                    "pass --model or set CALMLINE_MODEL",
                )
            self._model = ids[0]
            self.name = f"openai:{self._model}"
        return self._model

    # ------------------------------------------------------------------ ChatModel

    def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> Iterator[str]:
        payload = [{"role": m.role, "content": m.content} for m in messages]

        def start() -> Any:
            return self._client.chat.completions.create(
                model=self.model,
                messages=payload,  # type: ignore[arg-type]  # plain dicts are accepted
                stream=True,
                **_sampling(options),
            )

        return self._stream(start, _chat_delta)

    def stream_complete(self, prompt: str, options: GenerationOptions) -> Iterator[str]:
        """Continue ``prompt`` through ``/v1/completions`` (base models, transcripts)."""

        def start() -> Any:
            return self._client.completions.create(
                model=self.model, prompt=prompt, stream=True, **_sampling(options)
            )

        return self._stream(start, _completion_text)

    # ------------------------------------------------------------------ internals

    def _stream(
        self, start: Callable[[], Any], text_of: Callable[[Any], str | None]
    ) -> Iterator[str]:
        stream = self._with_retries(start)
        parts: list[str] = []
        finished = False
        try:
            for chunk in stream:
                choices = getattr(chunk, "choices", None)
                if not choices:  # e.g. the final usage-only chunk some servers send
                    continue
                text = text_of(choices[0])
                if text is not None and not isinstance(text, str):
                    raise LLMBadResponse(
                        f"the LLM endpoint at {self.base_url} sent malformed content",
                        "check that the server speaks the OpenAI streaming format",
                        partial_text="".join(parts),
                    )
                if getattr(choices[0], "finish_reason", None):
                    finished = True
                if text:
                    parts.append(text)
                    yield text
        except LLMError:
            raise
        except (openai.APIError, httpx.HTTPError, ValueError) as exc:
            # ValueError covers a chunk that is not JSON.
            raise LLMStreamInterrupted(
                f"the LLM stream from {self.base_url} broke off: {exc}",
                "the partial reply was kept; check the server's log",
                retryable=True,
                partial_text="".join(parts),
            ) from exc
        finally:
            stream.close()
        # Every OpenAI-compatible server ends a complete choice with a finish_reason;
        # a stream that just stops without one was cut (server crash, proxy time-out).
        if not finished:
            raise LLMStreamInterrupted(
                f"the LLM stream from {self.base_url} ended without finishing",
                "the partial reply was kept; check the server's log",
                retryable=True,
                partial_text="".join(parts),
            )
        if not "".join(parts).strip():
            raise LLMBadResponse(
                f"the LLM endpoint at {self.base_url} returned an empty reply",
                "try a different --model or a higher max_tokens",
            )

    def _with_retries(self, call: Callable[[], Any]) -> Any:
        """Run ``call``, retrying connection errors, time-outs, 429 and 5xx with
        exponential backoff; map the final failure to an ``LLMError``."""
        attempts = 1 if self.down else self.max_attempts
        for attempt in range(1, attempts + 1):
            self.last_attempts = attempt
            try:
                result = call()
            except openai.APIStatusError as exc:
                error = _status_error(exc, self.base_url)
            except openai.APIConnectionError as exc:  # includes APITimeoutError
                error = _connection_error(exc, self.base_url)
            else:
                self.down = False
                return result
            if not error.retryable or attempt == attempts:
                self.down = self.down or error.retryable
                raise error
            self.retries += 1
            self._sleep(self.backoff_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # the loop returns or raises


def _sampling(options: GenerationOptions) -> dict[str, Any]:
    params: dict[str, Any] = {"max_tokens": options.max_tokens, "temperature": options.temperature}
    if options.stop:
        params["stop"] = options.stop[:4]  # the OpenAI API accepts at most four
    if options.seed is not None:
        params["seed"] = options.seed
    return params


def _chat_delta(choice: Any) -> str | None:
    delta = getattr(choice, "delta", None)
    return getattr(delta, "content", None) if delta is not None else None


def _completion_text(choice: Any) -> str | None:
    return getattr(choice, "text", None)


def _connection_error(exc: openai.APIConnectionError, base_url: str) -> LLMError:
    if isinstance(exc, openai.APITimeoutError):
        return LLMUnavailable(
            f"the LLM endpoint at {base_url} timed out",
            "the server may be overloaded; raise --timeout or use --llm local",
            retryable=True,
        )
    return LLMUnavailable(
        f"cannot reach the LLM endpoint at {base_url}", UNREACHABLE_HINT, retryable=True
    )


def _status_error(exc: openai.APIStatusError, base_url: str) -> LLMError:
    status = exc.status_code
    if status == 429 or status >= 500:
        return LLMUnavailable(
            f"the LLM endpoint at {base_url} answered HTTP {status}",
            "the server is busy or failing; try again later or use --llm local",
            retryable=True,
        )
    if status in (401, 403):
        return LLMError(
            f"the LLM endpoint at {base_url} refused the API key (HTTP {status})",
            "set OPENAI_API_KEY or pass --api-key",
        )
    if status == 404:
        return LLMError(
            f"the LLM endpoint at {base_url} does not know this model or route (HTTP 404)",
            "check --model / CALMLINE_MODEL and that the URL ends in /v1",
        )
    return LLMError(
        f"the LLM endpoint at {base_url} rejected the request (HTTP {status}): {exc.message}",
        "check --model and the server's log",
    )
