"""Shared fixtures. Test tiers are markers (see pyproject): unit tests need nothing,
``models`` tests run the bundled models on real audio, ``server`` tests start real
HTTP servers on loopback, ``browser`` tests drive headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_collection_finish(session: pytest.Session) -> None:
    # An empty run must fail loudly, never pass as "no tests collected".
    if not session.items and not session.config.option.collectonly:
        raise pytest.UsageError("no tests were collected: check testpaths and markers")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail("espeak-ng is not installed: run `make test`, which installs it")
    return exe
