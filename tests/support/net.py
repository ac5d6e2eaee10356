"""Loopback ports for servers started by the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    """A loopback port that nothing listens on at the moment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port_url() -> str:
    """A loopback ``/v1`` URL where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}/v1"


def listening(port: int) -> bool:
    """Something accepts connections on loopback ``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


@contextmanager
def server_process(
    cmd: list[str], log: Path, ready: Callable[[], bool], *, seconds: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd`` (output to ``log``) until the block ends, once ``ready()``; always stopped.

    Fails the test, with the end of the log, if it exits early or is not ready in time.
    """
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
    try:
        deadline = time.monotonic() + seconds
        while not ready():
            if proc.poll() is not None:
                pytest.fail(f"{cmd[1:3]} exited early:\n{log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"{cmd[1:3]} was not ready in {seconds} s:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
