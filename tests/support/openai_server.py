"""A fake OpenAI-compatible HTTP server on loopback, answering from a script.

Each POST is answered by the next step of ``script`` (the last step repeats); a step
is a function of the request handler and the request's kind (``"chat"`` or
``"complete"``). Steps for what real endpoints do: ``reply`` (a normal stream),
``sse`` (chosen chunks, optionally cut off), ``json_error`` (an HTTP error),
``chunked_then_cut``, ``malformed``, ``hang``. ``FakeOpenAIServer.fault(mode)``
serves one of the failure modes of ``MODES`` on every request.

Bounded on purpose: it binds 127.0.0.1 only, a hanging request waits at most its
``seconds`` (or until the server stops), and ``stop()`` always returns.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Mapping
from typing import Literal

Handler = http.server.BaseHTTPRequestHandler
Step = Callable[[Handler, str], None]
Mode = Literal["ok", "hang", "429", "500", "empty", "malformed", "die"]
MODES: tuple[Mode, ...] = ("hang", "429", "500", "empty", "malformed", "die")


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


def _send_json(h: Handler, status: int, body: object) -> None:
    data = json.dumps(body).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)


def json_error(status: int, body: Mapping[str, object] | None = None) -> Step:
    """An HTTP error with an OpenAI-style JSON body."""
    payload = body or {"error": {"message": f"injected {status}", "type": "server_error"}}
    return lambda h, _kind: _send_json(h, status, payload)


def answer(body: object, status: int = 200) -> Step:
    """A JSON answer (a transcription server's ``{"text": ...}``, or anything else)."""
    return lambda h, _kind: _send_json(h, status, body)


def raw(data: bytes, content_type: str = "text/plain") -> Step:
    """An HTTP 200 with ``data`` as it is (a body that is not what the client asked for)."""

    def step(h: Handler, _kind: str) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    return step


def sse(parts: list[str], *, complete: bool = True) -> Step:
    """An SSE stream of ``parts``; ``complete=False`` stops after them without a
    finish_reason or [DONE] and closes the connection, as a crashing server does."""

    def step(h: Handler, kind: str) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        for part in parts:
            h.wfile.write(_chunk(kind, part))
            h.wfile.flush()
        if complete:
            h.wfile.write(_chunk(kind, "", "stop") + b"data: [DONE]\n\n")
        else:
            h.close_connection = True
        h.wfile.flush()

    return step


def reply(text: str) -> Step:
    """A normal streamed answer, a word a chunk."""
    return sse([word + " " for word in text.split(" ")])


def chunked_then_cut(parts: list[str]) -> Step:
    """HTTP/1.1 chunked body whose connection drops before the final chunk."""

    def step(h: Handler, kind: str) -> None:
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

    return step


def malformed() -> Step:
    """An SSE event that is not JSON."""

    def step(h: Handler, _kind: str) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        h.wfile.write(b"data: {this is not json\n\n")
        h.wfile.flush()

    return step


class FakeOpenAIServer:
    """Serves ``script`` on a free loopback port; use as a context manager.

    Attributes:
        script: the steps, in order; the last one repeats. May be replaced while running.
        requests: paths of the POSTs received, in order.
        base_url: ``http://127.0.0.1:PORT/v1``.
    """

    def __init__(self, script: list[Step]) -> None:
        self.script = script
        self.requests: list[str] = []
        self._stopping = threading.Event()
        outer = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # /v1/models
                _send_json(self, 200, {"object": "list", "data": [{"id": "m", "object": "model"}]})

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append(self.path)
                step = outer.script[min(len(outer.requests), len(outer.script)) - 1]
                step(self, "chat" if "chat" in self.path else "complete")

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        # A short poll interval so that shutdown() returns at once, not after 0.5 s.
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @classmethod
    def fault(
        cls, mode: Mode, *, hang_s: float = 20.0, text: str = "It still leaks."
    ) -> FakeOpenAIServer:
        """A server that answers every request the way ``mode`` names (``ok``: ``text``)."""
        server = cls([])
        server.script = [server.step_for(mode, hang_s=hang_s, text=text)]
        return server

    def step_for(self, mode: Mode, *, hang_s: float = 20.0, text: str = "It still leaks.") -> Step:
        if mode == "hang":
            return self.hang(hang_s)
        if mode in ("429", "500"):
            return json_error(int(mode))
        return {
            "ok": reply(text),
            "empty": sse([""]),
            "malformed": malformed(),
            "die": sse(["I want", " my money"], complete=False),
        }[mode]

    def hang(self, seconds: float) -> Step:
        """Accepts and never answers: until ``seconds`` have passed or the server stops."""

        def step(h: Handler, _kind: str) -> None:
            self._stopping.wait(seconds)
            h.close_connection = True

        return step

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()  # releases hanging handlers
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
