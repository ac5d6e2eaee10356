"""A real headless Chromium for tests (Debian's chromium + chromium-driver, driven by selenium)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

# Without the background-networking flags Chromium keeps dialling Google's hosts, which
# this machine's closed network refuses.
BASE_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1400,1000",
)


def fake_microphone_flags(wav: Path) -> tuple[str, ...]:
    """Grant the microphone without asking and feed it ``wav`` (Chromium loops the file,
    so give it a long silence at the end)."""
    return (
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
    )


def start_chromium(profile: Path, *extra: str) -> object:
    """A selenium driver on a new headless Chromium with its own empty profile."""
    from selenium import webdriver

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail(
            "chromium and chromium-driver are not installed (apt-get install chromium "
            "chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (*BASE_FLAGS, f"--user-data-dir={profile}", *extra):
        options.add_argument(arg)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(20)
    return driver


@contextmanager
def chromium(profile: Path, *extra: str) -> Iterator[object]:
    """``start_chromium`` until the block ends; the browser is always closed."""
    driver = start_chromium(profile, *extra)
    try:
        yield driver
    finally:
        driver.quit()  # type: ignore[attr-defined]
