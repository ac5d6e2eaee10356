"""Shared fixtures. Test tiers are markers (see pyproject): unit tests need nothing,
``models`` tests run the bundled models on real audio, ``server`` tests start real
HTTP servers on loopback, ``browser`` tests drive headless Chromium.

Helpers live in ``tests/support/`` (the CLI runner, free ports and server processes,
espeak-ng speech at 16 kHz, the practice-call set-up, the fake OpenAI server, the
dashboard's sample data, a throwaway PostgreSQL server); fixtures live here. Test
modules never import from one another. No test waits for time to pass or asserts a
wall-clock duration: they use ``calmline.speech.clock.VirtualClock``, events, or a
point they can observe."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import settings

from support.net import free_port, server_process
from support.postgres import running_postgres
from support.speech import espeak_path
from support.web import app_from_template, build_template

REPO = Path(__file__).resolve().parents[1]

# Property tests draw the same examples on every run (a rare example found one day and
# missed the next is luck, not a test) and have no per-example time limit (a loaded
# machine is not a failure).
settings.register_profile("calmline-ci", derandomize=True, deadline=None)
settings.load_profile("calmline-ci")


def pytest_collection_finish(session: pytest.Session) -> None:
    # An empty run must fail loudly, never pass as "no tests collected".
    if not session.items and not session.config.option.collectonly:
        raise pytest.UsageError("no tests were collected: check testpaths and markers")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def espeak() -> str:
    return espeak_path()


@pytest.fixture(scope="module")
def web_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample recordings, index and accounts, built once a module (argon2 is slow)."""
    return build_template(tmp_path_factory.mktemp("web"))


@pytest.fixture
def app(web_template: Path, tmp_path: Path) -> FastAPI:
    """The dashboard on a fresh copy of the sample data, for each test."""
    return app_from_template(web_template, tmp_path)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server with an empty database, for the session; its URL.

    Fails (never skips) when PostgreSQL is not installed: ``make test`` installs it.
    """
    with running_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's OpenAI server on a free port, serving SmolLM2; always stopped.

    Started through ``calmline.llm.llama_server``, which runs the unmodified
    ``llama_cpp.server`` module with weight repacking off: plain
    ``python -m llama_cpp.server`` segfaults on its first request on AMX CPUs.
    """
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    cmd = [
        sys.executable, "-m", "calmline.llm.llama_server",
        "--model", str(_smollm_path()),
        "--host", "127.0.0.1", "--port", str(port),
        "--n_threads", "2", "--n_ctx", "1024",
    ]  # fmt: skip
    base_url = f"http://127.0.0.1:{port}/v1"

    def answers() -> bool:
        try:
            return httpx.get(f"{base_url}/models", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    with server_process(cmd, log_path, answers, seconds=90):
        yield base_url


def _smollm_path() -> Path:
    from calmline.llm.bundled import smollm_path

    return smollm_path()
