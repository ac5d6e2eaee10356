"""A fault-injecting OpenAI-compatible HTTP server for reliability tests (loopback only).

Each mode fails the way real endpoints do: ``hang`` (accepts, never answers),
``429``, ``500``, ``empty`` (a well-formed stream with no text), ``malformed``
(an SSE event that is not JSON), ``die`` (a stream cut halfway, no finish_reason),
``ok`` (a normal short reply). ``refuse`` needs no server: ``closed_port_url()``.

Bounded on purpose: it binds 127.0.0.1 only, a hanging request waits at most
``hang_s`` seconds (or until the server stops), and ``stop()`` always returns.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from typing import Literal

Mode = Literal["ok", "hang", "429", "500", "empty", "malformed", "die"]
MODES: tuple[Mode, ...] = ("hang", "429", "500", "empty", "malformed", "die")


def closed_port_url() -> str:
    """A loopback ``/v1`` URL where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    return f"http://127.0.0.1:{port}/v1"


def _event(kind: str, text: str, finish: str | None = None) -> bytes:
    choice: dict[str, object] = {"index": 0, "finish_reason": finish}
    if kind == "chat":
        choice["delta"] = {"content": text}
    else:
        choice["text"] = text
    body = {"id": "x", "object": "chunk", "created": 0, "model": "m", "choices": [choice]}
    return f"data: {json.dumps(body)}\n\n".encode()


class FaultServer:
    """Serves ``mode`` on a free loopback port; use as a context manager.

    Attributes:
        requests: paths of the POSTs received, in order.
        base_url: ``http://127.0.0.1:PORT/v1``.
    """

    def __init__(self, mode: Mode, *, hang_s: float = 20.0, reply: str = "It still leaks.") -> None:
        self.mode = mode
        self.hang_s = hang_s
        self.reply = reply
        self.requests: list[str] = []
        self._stopping = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # /v1/models
                outer._json(self, 200, {"object": "list", "data": [{"id": "m", "object": "model"}]})

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append(self.path)
                outer._answer(self, "chat" if "chat" in self.path else "complete")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()  # releases hanging handlers
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------ answers

    @staticmethod
    def _json(h: http.server.BaseHTTPRequestHandler, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _sse_start(self, h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()

    def _answer(self, h: http.server.BaseHTTPRequestHandler, kind: str) -> None:
        mode = self.mode
        if mode == "hang":
            deadline = time.monotonic() + self.hang_s
            while not self._stopping.is_set() and time.monotonic() < deadline:
                time.sleep(0.05)
            h.close_connection = True
            return
        if mode in ("429", "500"):
            err = {"error": {"message": f"injected {mode}", "type": "server_error"}}
            self._json(h, int(mode), err)
            return
        self._sse_start(h)
        if mode == "ok":
            for word in self.reply.split(" "):
                h.wfile.write(_event(kind, word + " "))
            h.wfile.write(_event(kind, "", "stop") + b"data: [DONE]\n\n")
        elif mode == "empty":
            h.wfile.write(_event(kind, "") + _event(kind, "", "stop") + b"data: [DONE]\n\n")
        elif mode == "malformed":
            h.wfile.write(b"data: {this is not json\n\n")
        elif mode == "die":
            h.wfile.write(_event(kind, "I want") + _event(kind, " my money"))
            h.wfile.flush()
            h.close_connection = True  # no finish_reason, no [DONE]: the server "crashed"
        h.wfile.flush()
