"""A real headless Chromium against ``calmline serve``: log in, open a session, play audio,
follow an evidence link, override a marking point and see it persist after a reload.

Set ``CALMLINE_SCREENSHOTS=docs/img`` to also save the screenshots used in docs/dashboard.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.browser import chromium
from support.web import Server, ids_of, running_server

pytestmark = [pytest.mark.browser, pytest.mark.server]

webdriver = pytest.importorskip("selenium.webdriver", reason="pip install -e '.[test]'")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


def log_in(driver, server: Server, name: str, password: str) -> None:  # type: ignore[no-untyped-def]
    driver.get(server.url + "/login")
    driver.find_element(By.NAME, "username").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 10).until(lambda d: "/sessions" in d.current_url)


def override(driver, point: str, verdict: str, comment: str) -> None:  # type: ignore[no-untyped-def]
    row = driver.find_element(By.ID, f"point-difficult_customers-{point}")
    Select(row.find_element(By.NAME, "verdict")).select_by_value(verdict)
    box = row.find_element(By.NAME, "comment")
    box.clear()
    box.send_keys(comment)
    row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    anchor = f"#point-difficult_customers-{point}"
    WebDriverWait(driver, 10).until(lambda d: anchor in d.current_url)


def test_assessor_reviews_a_session_in_chromium(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    from calmline.web.sample import SAMPLE_PASSWORD

    driver = browser
    log_in(driver, server, "admin", SAMPLE_PASSWORD)
    assert "Sessions" in driver.page_source
    sid = ids_of(server, "alice")[1]
    driver.get(f"{server.url}/sessions/{sid}")

    # Audio served by the authorised route actually loads in the browser.
    ready = WebDriverWait(driver, 15).until(
        lambda d: d.execute_script(
            "const a = document.getElementById('audio-1');"
            "return a && (a.readyState >= 1 || a.duration > 0) ? a.readyState : false;"
        )
    )
    assert ready >= 1
    assert driver.execute_script("return document.getElementById('audio-1').duration") > 0.3
    # The anger timeline is inline SVG with a tooltip per point.
    assert driver.find_elements(By.CSS_SELECTOR, "svg.chart circle title")

    # An evidence quote scrolls to its turn and marks it.
    link = driver.find_element(By.CSS_SELECTOR, "a.evidence")
    turn = link.get_attribute("data-turn")
    link.click()
    WebDriverWait(driver, 5).until(
        lambda d: "current" in d.find_element(By.ID, f"turn-{turn}").get_attribute("class")
    )

    override(driver, "dc1_indicators", "not_met", "named only one indicator <b>really</b>")
    driver.refresh()
    row = driver.find_element(By.ID, "point-difficult_customers-dc1_indicators")
    assert "named only one indicator <b>really</b>" in row.text  # shown as text, not markup
    assert (
        Select(row.find_element(By.NAME, "verdict")).first_selected_option.get_attribute("value")
        == "not_met"
    )
    assert "named only one indicator" in driver.find_element(By.ID, "audit").text

    shots = os.environ.get("CALMLINE_SCREENSHOTS")
    if shots:
        save_screenshots(driver, server, Path(shots), sid)


def save_screenshots(driver, server: Server, folder: Path, sid: str) -> None:  # type: ignore[no-untyped-def]
    """The docs' screenshots: a reviewed session, and agreement over a few reviews."""
    folder.mkdir(parents=True, exist_ok=True)
    plan = {
        0: [("dc2_structured_approach", "agree", "")],
        2: [("dc1_indicators", "agree", ""), ("dc5_professionalism", "not_met", "blamed IT")],
        3: [("dc3_active_listening", "partly", "one clarifying question")],
    }
    alice, bob = ids_of(server, "alice"), ids_of(server, "bob")
    for n, reviews in plan.items():
        other = (alice + bob)[n]
        driver.get(f"{server.url}/sessions/{other}")
        for point, verdict, comment in reviews:
            override(driver, point, verdict, comment)
    driver.get(f"{server.url}/sessions/{sid}")
    override(driver, "dc1_indicators", "not_met", "named only one indicator")
    driver.get(f"{server.url}/sessions/{sid}")
    driver.set_window_size(1400, 1500)
    driver.save_screenshot(str(folder / "session.png"))
    driver.get(f"{server.url}/agreement")
    driver.set_window_size(1100, 900)
    driver.save_screenshot(str(folder / "agreement.png"))
