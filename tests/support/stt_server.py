"""A real OpenAI-compatible transcription server on loopback: ``faster-whisper-server``
(PyPI) serving the bundled Whisper tiny.en from its folder on disk, never from a hub."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from calmline.speech.stt import resolve_whisper_model
from support.net import free_port, listening, server_process


def server_program() -> str:
    """The ``faster-whisper-server`` program beside the test interpreter (test extras)."""
    exe = Path(sys.executable).with_name("faster-whisper-server")
    if exe.is_file():
        return str(exe)
    found = shutil.which("faster-whisper-server")
    if found is None:
        pytest.fail("faster-whisper-server is not installed: pip install 'calmline[test]'")
    return found


@contextmanager
def whisper_server(log: Path) -> Iterator[str]:
    """``faster-whisper-server <bundled tiny.en folder>`` until the block ends; its ``/v1`` URL.

    The model argument is a directory, which the server loads as it is; HF_HUB_OFFLINE
    makes any reach for a model hub fail at once instead of downloading.
    """
    port = free_port()
    cmd = [
        "/usr/bin/env", "HF_HUB_OFFLINE=1", server_program(),
        str(resolve_whisper_model("tiny.en")), "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    with server_process(cmd, log, lambda: listening(port), seconds=60):
        yield f"http://127.0.0.1:{port}/v1"
