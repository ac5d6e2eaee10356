"""Running ``calmline`` as a user does: the installed command, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# The console script installed beside the interpreter running the tests (``make test``
# installs it in .venv/bin); the child inherits PYTHONPATH, so it runs this checkout.
CALMLINE = str(Path(sys.executable).with_name("calmline"))


def calmline(*args: str, timeout: float = 180, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``calmline ARGS``: exit code, stdout and stderr as text; never raises on failure."""
    return subprocess.run(
        [CALMLINE, *args], capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


def practice_args(base_url: str, out: Path, script: Path, *extra: str) -> list[str]:
    """``calmline practice`` with a script, no speech and no marking, on an OpenAI endpoint."""
    return [
        CALMLINE, "practice", "--script", str(script), "--scenario", "kettle-counter",
        "--no-speak", "--no-debrief", "--no-assess", "--out", str(out), "--json",
        "--llm", "openai", "--base-url", base_url, "--api-key", "x", "--model", "m", *extra,
    ]  # fmt: skip


def assert_one_clear_line(
    proc: subprocess.CompletedProcess[str], *needles: str, after_output: bool = False
) -> None:
    """Exit code 2 and one ``calmline: error:`` line naming each of ``needles``.

    ``after_output``: the error line may follow what the command showed before it failed
    (a call's own view); otherwise stderr starts with it.
    """
    assert proc.returncode == 2, proc.stdout + proc.stderr
    for bug in ("Traceback", "internal error", "bug in calmline"):
        assert bug not in proc.stderr, proc.stderr
    if after_output:
        [line] = [x for x in proc.stderr.splitlines() if x.startswith("calmline: error:")]
    else:
        assert proc.stderr.startswith("calmline: error:"), proc.stderr
        line = proc.stderr.splitlines()[0]
    for needle in needles:
        assert needle in line, proc.stderr


def wait_until(predicate: Callable[[], object], what: str, seconds: float = 60) -> None:
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``seconds``.

    Only a hang guard: tests wait for a point they can observe (a request received, a
    file written), never for a time to pass.
    """
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextmanager
def call_waiting_for_the_customer(
    tmp_path: Path, script: str, **popen: Any
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """``calmline practice`` on ``script``'s lines, stopped where it has saved the learner's
    first turn and waits on an endpoint that never answers; (the process, its --out).

    The process is killed when the block ends, if it is still running.
    """
    from support.openai_server import FakeOpenAIServer

    lines = tmp_path / "turns.txt"
    lines.write_text(script)
    out = tmp_path / "rec"
    with FakeOpenAIServer.fault("hang", hang_s=60) as server:
        proc = subprocess.Popen(
            practice_args(server.base_url, out, lines),
            env={**os.environ, "CALMLINE_LLM_TIMEOUT": "60"},
            text=True,
            **popen,
        )
        try:
            wait_until(lambda: server.requests, "the customer's reply to be asked for")
            yield proc, out
        finally:
            proc.kill()
            proc.wait()
