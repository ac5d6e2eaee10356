"""The OpenAI backend against real HTTP servers on loopback: llama-cpp-python's own
OpenAI-compatible server with a bundled model, and a tiny scripted server that
fails in the ways real endpoints do (5xx, 429, refused, cut streams)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Callable, Mapping

import pytest

from calmline.errors import CalmlineError
from calmline.llm import LLMStreamInterrupted, LLMUnavailable, collect
from calmline.llm.fallback import FallbackChatModel
from calmline.llm.openai_backend import UNREACHABLE_HINT, OpenAIChatModel
from calmline.protocols import ChatMessage, GenerationOptions
from calmline.testing.fake_llm import FakeChatModel

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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

Respond = Callable[[http.server.BaseHTTPRequestHandler], None]


def _json(status: int, body: Mapping[str, object]) -> Respond:
    def respond(h: http.server.BaseHTTPRequestHandler) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    return respond


def _chunk(kind: str, text: str, finish: str | None = None) -> bytes:
    choice: dict[str, object] = {"index": 0, "finish_reason": finish}
    if kind == "chat":
        choice["delta"] = {"content": text}
        obj = "chat.completion.chunk"
    else:
        choice["text"] = text
        obj = "text_completion"
    payload = {"id": "x", "object": obj, "created": 0, "model": "m", "choices": [choice]}
    return f"data: {json.dumps(payload)}\n\n".encode()


def _sse(kind: str, parts: list[str], *, complete: bool = True) -> Respond:
    """An SSE stream; ``complete=False`` stops after the parts without a finish_reason
    or [DONE] and closes the connection, as a crashing server does."""

    def respond(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        for part in parts:
            h.wfile.write(_chunk(kind, part))
            h.wfile.flush()
        if complete:
            h.wfile.write(_chunk(kind, "", "stop") + b"data: [DONE]\n\n")

    return respond


def _chunked_then_cut(kind: str, parts: list[str]) -> Respond:
    """HTTP/1.1 chunked body whose connection drops before the final chunk."""

    def respond(h: http.server.BaseHTTPRequestHandler) -> None:
        h.protocol_version = "HTTP/1.1"
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for part in parts:
            data = _chunk(kind, part)
            h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        h.wfile.flush()
        h.close_connection = True

    return respond


class ScriptedServer:
    """Answers successive POSTs from a script; the last step repeats."""

    def __init__(self, script: list[Respond]) -> None:
        self.script = script
        self.paths: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.paths.append(self.path)
                step = outer.script[min(len(outer.paths), len(outer.script)) - 1]
                step(self)

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        # A short poll interval so that shutdown() returns at once, not after 0.5 s.
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def _model(base_url: str, sleeps: list[float], **kwargs: object) -> OpenAIChatModel:
    return OpenAIChatModel("m", base_url=base_url, timeout=5, sleep=sleeps.append, **kwargs)  # type: ignore[arg-type]


SERVER_ERROR = {"error": {"message": "boom", "type": "server_error"}}
RATE_LIMITED = {"error": {"message": "slow down", "type": "rate_limit"}}


@pytest.mark.parametrize("kind", ["chat", "complete"])
def test_retries_500_then_429_then_succeeds(kind: str) -> None:
    script = [_json(500, SERVER_ERROR), _json(429, RATE_LIMITED), _sse(kind, ["Where", " is it?"])]
    sleeps: list[float] = []
    with ScriptedServer(script) as server:
        model = _model(server.base_url, sleeps)
        if kind == "chat":
            text = collect(model.stream_chat(CHAT, GenerationOptions()))
        else:
            text = collect(model.stream_complete(TRANSCRIPT, GenerationOptions()))
    assert text == "Where is it?"
    assert (model.retries, model.last_attempts) == (2, 3)
    assert sleeps == [0.5, 1.0]  # exponential backoff
    assert server.paths == ["/v1/chat/completions" if kind == "chat" else "/v1/completions"] * 3


def test_gives_up_after_the_last_attempt() -> None:
    sleeps: list[float] = []
    with ScriptedServer([_json(503, SERVER_ERROR)]) as server:
        model = _model(server.base_url, sleeps, max_attempts=3)
        with pytest.raises(LLMUnavailable, match="HTTP 503"):
            collect(model.stream_chat(CHAT, GenerationOptions()))
    assert len(server.paths) == 3 and model.retries == 2


def test_a_client_error_is_not_retried() -> None:
    with ScriptedServer([_json(401, {"error": {"message": "bad key"}})]) as server:
        model = _model(server.base_url, [])
        with pytest.raises(CalmlineError, match="refused the API key") as caught:
            collect(model.stream_chat(CHAT, GenerationOptions()))
    assert "OPENAI_API_KEY" in caught.value.hint
    assert len(server.paths) == 1


def test_connection_refused_says_where_and_what_to_do() -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
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
        _sse("complete", ["I want", " my money"], complete=False),
        _chunked_then_cut("complete", ["I want", " my money"]),
    ],
    ids=["no-finish-reason", "broken-chunked-body"],
)
def test_a_stream_that_dies_halfway_keeps_the_partial_text(cut: Respond) -> None:
    with ScriptedServer([cut]) as server:
        model = _model(server.base_url, [])
        received: list[str] = []
        with pytest.raises(LLMStreamInterrupted) as caught:
            for chunk in model.stream_complete(TRANSCRIPT, GenerationOptions()):
                received.append(chunk)
    assert caught.value.partial_text == "".join(received) == "I want my money"
    assert len(server.paths) == 1  # never retried once text reached the caller


def test_an_empty_reply_is_a_failure() -> None:
    with ScriptedServer([_sse("chat", ["", "  "])]) as server:
        model = _model(server.base_url, [])
        with pytest.raises(CalmlineError, match="empty reply"):
            collect(model.stream_chat(CHAT, GenerationOptions()))


def test_fallback_switches_to_the_secondary_when_the_endpoint_fails() -> None:
    with ScriptedServer([_json(500, SERVER_ERROR)]) as server:
        primary = _model(server.base_url, [], max_attempts=2)
        secondary = FakeChatModel(replies=["This is ridiculous, I want a refund."], name="local")
        model = FallbackChatModel(primary, secondary)
        text = collect(model.stream_complete(TRANSCRIPT, GenerationOptions(stop=["\n"])))
    assert text == "This is ridiculous, I want a refund."
    assert len(server.paths) == 2  # the primary used its retries first
    assert secondary.prompts == [TRANSCRIPT]
    [event] = model.events
    assert event.kind == "llm_fallback" and "HTTP 500" in event.detail


def test_fallback_finishes_a_line_cut_mid_stream() -> None:
    with ScriptedServer([_sse("complete", ["I want", " my"], complete=False)]) as server:
        primary = _model(server.base_url, [])
        secondary = FakeChatModel(replies=[" money back!"])
        model = FallbackChatModel(primary, secondary)
        text = collect(model.stream_complete(TRANSCRIPT, GenerationOptions()))
    assert text == "I want my money back!"
    assert secondary.prompts == [TRANSCRIPT + "I want my"]
