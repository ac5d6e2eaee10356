"""Loopback ports for servers started by the tests."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback port that nothing listens on at the moment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port_url() -> str:
    """A loopback ``/v1`` URL where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}/v1"
