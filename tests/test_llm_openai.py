"""The OpenAI backend against real HTTP servers on loopback: llama-cpp-python's own
OpenAI-compatible server with a bundled model, and a tiny scripted server that
fails in the ways real endpoints do (5xx, 429, refused, cut streams)."""

from __future__ import annotations

import pytest

from calmline.errors import CalmlineError
from calmline.llm import LLMStreamInterrupted, LLMUnavailable, collect
from calmline.llm.fallback import FallbackChatModel
from calmline.llm.openai_backend import UNREACHABLE_HINT, OpenAIChatModel
from calmline.protocols import ChatMessage, GenerationOptions
from calmline.testing.fake_llm import FakeChatModel
from support.net import free_port
from support.openai_server import FakeOpenAIServer, Step, chunked_then_cut, json_error, sse

pytestmark = pytest.mark.server

TRANSCRIPT = (
    "CUSTOMER: My new kettle stopped working after two days.\n"
    "AGENT: I'm sorry about that. What happens when you switch it on?\n"
    "CUSTOMER:"
)
CHAT = [
    ChatMessage("system", "You are a customer whose kettle broke. Answer in one sentence."),
    ChatMessage("user", "Hello, how can I help?"),
]


# --------------------------------------------------------------------------- real server
# (the `llama_server` fixture lives in conftest.py)


def test_streams_a_chat_completion_from_the_real_server(llama_server: str) -> None:
    model = OpenAIChatModel(None, base_url=llama_server, timeout=60)
    chunks = list(model.stream_chat(CHAT, GenerationOptions(max_tokens=30, seed=1)))
    assert "".join(chunks).strip()
    assert len(chunks) >= 2
    assert model.model.endswith(".gguf")  # picked from /v1/models when not given
    assert model.retries == 0


def test_streams_a_text_completion_from_the_real_server(llama_server: str) -> None:
    model = OpenAIChatModel(None, base_url=llama_server, timeout=60, prompt_style="completion")
    options = GenerationOptions(max_tokens=40, temperature=0.7, stop=["\nAGENT:"], seed=3)
    chunks = list(model.stream_complete(TRANSCRIPT, options))
    text = "".join(chunks)
    assert text.strip() and "AGENT:" not in text
    assert len(chunks) >= 2


# --------------------------------------------------------------------------- scripted server


def _model(base_url: str, sleeps: list[float], **kwargs: object) -> OpenAIChatModel:
    return OpenAIChatModel("m", base_url=base_url, timeout=5, sleep=sleeps.append, **kwargs)  # type: ignore[arg-type]


SERVER_ERROR = {"error": {"message": "boom", "type": "server_error"}}
RATE_LIMITED = {"error": {"message": "slow down", "type": "rate_limit"}}


@pytest.mark.parametrize("kind", ["chat", "complete"])
def test_retries_500_then_429_then_succeeds(kind: str) -> None:
    script = [
        json_error(500, SERVER_ERROR),
        json_error(429, RATE_LIMITED),
        sse(["Where", " is it?"]),
    ]
    sleeps: list[float] = []
    with FakeOpenAIServer(script) as server:
        model = _model(server.base_url, sleeps)
        if kind == "chat":
            text = collect(model.stream_chat(CHAT, GenerationOptions()))
        else:
            text = collect(model.stream_complete(TRANSCRIPT, GenerationOptions()))
    assert text == "Where is it?"
    assert (model.retries, model.last_attempts) == (2, 3)
    assert sleeps == [0.5, 1.0]  # exponential backoff
    assert server.requests == ["/v1/chat/completions" if kind == "chat" else "/v1/completions"] * 3


def test_gives_up_after_the_last_attempt() -> None:
    sleeps: list[float] = []
    with FakeOpenAIServer([json_error(503, SERVER_ERROR)]) as server:
        model = _model(server.base_url, sleeps, max_attempts=3)
        with pytest.raises(LLMUnavailable, match="HTTP 503"):
            collect(model.stream_chat(CHAT, GenerationOptions()))
    assert len(server.requests) == 3 and model.retries == 2


def test_a_client_error_is_not_retried() -> None:
    with FakeOpenAIServer([json_error(401, {"error": {"message": "bad key"}})]) as server:
        model = _model(server.base_url, [])
        with pytest.raises(CalmlineError, match="refused the API key") as caught:
            collect(model.stream_chat(CHAT, GenerationOptions()))
    assert "OPENAI_API_KEY" in caught.value.hint
    assert len(server.requests) == 1


def test_connection_refused_says_where_and_what_to_do() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    sleeps: list[float] = []
    model = _model(url, sleeps, max_attempts=2)
    with pytest.raises(CalmlineError) as caught:
        collect(model.stream_chat(CHAT, GenerationOptions()))
    assert caught.value.message == f"cannot reach the LLM endpoint at {url}"
    assert caught.value.hint == UNREACHABLE_HINT
    assert model.retries == 1 and sleeps == [0.5]


@pytest.mark.parametrize(
    "cut",
    [
        sse(["I want", " my money"], complete=False),
        chunked_then_cut(["I want", " my money"]),
    ],
    ids=["no-finish-reason", "broken-chunked-body"],
)
def test_a_stream_that_dies_halfway_keeps_the_partial_text(cut: Step) -> None:
    with FakeOpenAIServer([cut]) as server:
        model = _model(server.base_url, [])
        received: list[str] = []
        with pytest.raises(LLMStreamInterrupted) as caught:
            for chunk in model.stream_complete(TRANSCRIPT, GenerationOptions()):
                received.append(chunk)
    assert caught.value.partial_text == "".join(received) == "I want my money"
    assert len(server.requests) == 1  # never retried once text reached the caller


def test_an_empty_reply_is_a_failure() -> None:
    with FakeOpenAIServer([sse(["", "  "])]) as server:
        model = _model(server.base_url, [])
        with pytest.raises(CalmlineError, match="empty reply"):
            collect(model.stream_chat(CHAT, GenerationOptions()))


def test_fallback_switches_to_the_secondary_when_the_endpoint_fails() -> None:
    with FakeOpenAIServer([json_error(500, SERVER_ERROR)]) as server:
        primary = _model(server.base_url, [], max_attempts=2)
        secondary = FakeChatModel(replies=["This is ridiculous, I want a refund."], name="local")
        model = FallbackChatModel(primary, secondary)
        text = collect(model.stream_complete(TRANSCRIPT, GenerationOptions(stop=["\n"])))
    assert text == "This is ridiculous, I want a refund."
    assert len(server.requests) == 2  # the primary used its retries first
    assert secondary.prompts == [TRANSCRIPT]
    [event] = model.events
    assert event.kind == "llm_fallback" and "HTTP 500" in event.detail


def test_fallback_finishes_a_line_cut_mid_stream() -> None:
    with FakeOpenAIServer([sse(["I want", " my"], complete=False)]) as server:
        primary = _model(server.base_url, [])
        secondary = FakeChatModel(replies=[" money back!"])
        model = FallbackChatModel(primary, secondary)
        text = collect(model.stream_complete(TRANSCRIPT, GenerationOptions()))
    assert text == "I want my money back!"
    assert secondary.prompts == [TRANSCRIPT + "I want my"]
