"""A practice call in a real headless Chromium: a learner talks to the customer through the
page (a fake microphone playing espeak-ng speech), answers the debrief, is marked, and the
session reaches the trainer's dashboard; a trainer's browser can follow the call live.

Everything runs on the embedded defaults: the bundled Whisper tiny.en, the packs' authored
customer lines, espeak-ng; no LLM server. Waits are on what the pages show, never on time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from calmline.speech.audio import write_wav
from calmline.web.sample import SAMPLE_PASSWORD
from support.browser import chromium, fake_microphone_flags
from support.speech import RATE, say, silence
from support.web import Server, ids_of, running_server

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.models, pytest.mark.slow]

webdriver = pytest.importorskip("selenium.webdriver", reason="pip install -e '.[test]'")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

LEARNER_TURN = "I am so sorry the kettle leaks. I will replace it for you today."
# Model loading, the opening line played in real time, Whisper and the marking on a
# shared 2-core machine: generous, as each wait ends as soon as the page shows the state.
LONG = 240


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    extra = ("--practice-minutes", "30", "--practice-origin", "https://proxy.example")
    with running_server(tmp_path_factory.mktemp("practice"), *extra) as running:
        yield running


@pytest.fixture(scope="module")
def learner_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One learner turn after a second of quiet, then long silence: Chromium loops the
    file, and the rest of the call is typed."""
    audio = np.concatenate([silence(1.0), say(LEARNER_TURN), silence(600.0)])
    path = tmp_path_factory.mktemp("mic") / "learner.wav"
    write_wav(path, audio, RATE)
    return path


@pytest.fixture
def learner_browser(tmp_path: Path, learner_wav: Path) -> Iterator[object]:
    with chromium(tmp_path / "learner-profile", *fake_microphone_flags(learner_wav)) as driver:
        yield driver


@pytest.fixture
def trainer_browser(tmp_path: Path) -> Iterator[object]:
    with chromium(tmp_path / "trainer-profile") as driver:
        yield driver


def log_in(driver, server: Server, name: str) -> None:  # type: ignore[no-untyped-def]
    driver.get(server.url + "/login")
    driver.find_element(By.NAME, "username").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(SAMPLE_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 20).until(lambda d: "/sessions" in d.current_url)


def data(driver, key: str) -> str | None:  # type: ignore[no-untyped-def]
    return driver.execute_script(f"return document.body.dataset.{key} || null;")


def start_call(driver, server: Server, **ticked: bool) -> str:  # type: ignore[no-untyped-def]
    """Open the practice page, start the kettle call; returns the session id.

    ``ticked``: the page's check boxes to tick (``exam``, ``ptt``).
    """
    driver.get(server.url + "/practice")
    Select(driver.find_element(By.ID, "scenario")).select_by_value("kettle-counter")
    for box, on in ticked.items():
        if on:
            driver.find_element(By.ID, box).click()
    driver.find_element(By.ID, "start").click()
    WebDriverWait(driver, LONG).until(lambda d: data(d, "sessionId"))
    return str(data(driver, "sessionId"))


def spoken_turn_heard(driver) -> str:  # type: ignore[no-untyped-def]
    """Waits until the fake microphone's turn is in the transcript; returns its text."""
    WebDriverWait(driver, LONG).until(lambda d: d.find_elements(By.CSS_SELECTOR, "li.learner"))
    return str(driver.find_elements(By.CSS_SELECTOR, "li.learner")[0].text)


def heard_the_learner(text: str) -> bool:
    """Whisper tiny heard some of ``LEARNER_TURN`` (it may write "cattle", or split the turn)."""
    return any(word in text.lower() for word in ("kettle", "replace", "sorry", "leak"))


def type_turn(driver, text: str) -> None:  # type: ignore[no-untyped-def]
    box = driver.find_element(By.ID, "typed-text")
    box.send_keys(text)
    driver.find_element(By.CSS_SELECTOR, "#typed button[type=submit]").click()


def finish_call(driver) -> None:  # type: ignore[no-untyped-def]
    """Say goodbye if the call is still on, answer the first debrief question by typing,
    skip the rest with "End call", and wait for the marking."""
    answered: set[int] = set()
    debrief_answered = False

    def step(d) -> bool:  # type: ignore[no-untyped-def]
        nonlocal debrief_answered
        if data(d, "state") in {"marked", "closed"}:
            return True
        turns = d.find_elements(By.CSS_SELECTOR, "#transcript li")
        if data(d, "whose") != "learner" or len(turns) in answered:
            return False
        answered.add(len(turns))
        if "examiner" not in (turns[-1].get_attribute("class") or ""):
            type_turn(d, "Thank you for bearing with me, goodbye.")
        elif not debrief_answered:
            type_turn(d, "She raised her voice and repeated that it leaked every time.")
            debrief_answered = True
        else:
            d.find_element(By.ID, "end").click()
        return False

    WebDriverWait(driver, LONG * 2, poll_frequency=0.5).until(step)
    assert data(driver, "state") == "marked", driver.find_element(By.ID, "problem").text
    assert driver.find_elements(By.CSS_SELECTOR, "#marks tbody tr")


def check_dashboard(driver, server: Server, sid: str) -> None:  # type: ignore[no-untyped-def]
    """The trainer's dashboard lists the session, plays its audio, shows anger and marking."""
    driver.get(server.url + "/sessions")
    assert sid in driver.page_source
    driver.get(f"{server.url}/sessions/{sid}")
    learner = driver.find_element(By.CSS_SELECTOR, "article.turn.learner audio")
    ready = WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "const a = arguments[0]; return a.readyState >= 1 ? a.duration : false;", learner
        )
    )
    assert ready > 1.0  # the learner's own recorded turn, from the browser's microphone
    assert driver.find_elements(By.CSS_SELECTOR, "svg.chart circle")  # anger timeline
    assert driver.find_elements(By.CSS_SELECTOR, "tr[id^='point-difficult_customers-']")


def test_learner_practises_in_chromium_and_the_trainer_sees_the_session(
    learner_browser, trainer_browser, server: Server
) -> None:  # type: ignore[no-untyped-def]
    log_in(learner_browser, server, "alice")
    sid = start_call(learner_browser, server)
    heard = spoken_turn_heard(learner_browser).lower()
    assert learner_browser.find_elements(By.CSS_SELECTOR, "li.customer .stage")  # face to face
    assert heard_the_learner(heard), heard
    assert data(learner_browser, "mic") == "on"
    finish_call(learner_browser)
    assert int(data(learner_browser, "audioChunks") or 0) >= 1  # the customer was heard
    assert sid in ids_of(server, "alice")

    log_in(trainer_browser, server, "tina")
    check_dashboard(trainer_browser, server, sid)


def test_trainer_watches_a_call_live(learner_browser, trainer_browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    log_in(learner_browser, server, "alice")
    log_in(trainer_browser, server, "tina")
    sid = start_call(learner_browser, server, exam=True)

    trainer_browser.get(server.url + "/room")
    assert sid in trainer_browser.page_source  # the room lists the call in progress
    trainer_browser.find_element(By.CSS_SELECTOR, f"#call-{sid} a").click()
    WebDriverWait(trainer_browser, 20).until(lambda d: f"/room/{sid}" in d.current_url)
    # the opening line, then the learner's spoken turn and the anger it caused
    WebDriverWait(trainer_browser, LONG).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "#transcript li.learner")
            and int(data(d, "angerPoints") or 0) >= 2  # the start, and after the learner's turn
        )
    )
    spoken_turn_heard(learner_browser)
    # an exam: the learner sees no anger meter, the trainer follows the anger all the same
    assert not learner_browser.find_element(By.ID, "meter").is_displayed()
    assert trainer_browser.find_element(By.ID, "meter").is_displayed()
    shots = os.environ.get("CALMLINE_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        learner_browser.save_screenshot(str(Path(shots) / "practice.png"))
        trainer_browser.save_screenshot(str(Path(shots) / "live.png"))
    finish_call(learner_browser)
    # what the learner typed after the trainer started watching arrived live
    WebDriverWait(trainer_browser, LONG).until(lambda d: data(d, "ended") == "1")
    shown = trainer_browser.find_element(By.ID, "transcript").text
    assert "She raised her voice" in shown
    trainer_browser.find_element(By.ID, "session-link").click()
    check_dashboard(trainer_browser, server, sid)


@pytest.fixture
def browser_without_microphone(tmp_path: Path) -> Iterator[object]:
    with chromium(tmp_path / "no-mic-profile") as driver:  # no fake device: nothing to capture
        yield driver


def test_without_a_microphone_the_page_says_so_and_typed_turns_work(
    browser_without_microphone, server: Server
) -> None:  # type: ignore[no-untyped-def]
    driver = browser_without_microphone
    log_in(driver, server, "bob")
    start_call(driver, server)
    WebDriverWait(driver, LONG).until(lambda d: data(d, "mic") == "none")
    message = driver.find_element(By.ID, "mic-state").text
    assert "type your turns" in message, message
    finish_call(driver)  # every turn typed: goodbye, one debrief answer, End call
    learner = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#transcript li.learner")]
    assert any("goodbye" in text for text in learner), learner
    assert (
        driver.find_element(By.ID, "session-link")
        .get_attribute("href")
        .endswith(data(driver, "sessionId") or "?")
    )


@pytest.fixture
def looping_speech_browser(tmp_path: Path) -> Iterator[object]:
    """A fake microphone that never stops talking: one sentence, looped by Chromium."""
    wav = tmp_path / "talking.wav"
    write_wav(wav, np.concatenate([say(LEARNER_TURN), silence(0.2)]), RATE)
    with chromium(tmp_path / "ptt-profile", *fake_microphone_flags(wav)) as driver:
        yield driver


def test_push_to_talk_sends_sound_only_while_the_button_is_held(
    looping_speech_browser, server: Server
) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.action_chains import ActionChains

    log_in(looping_speech_browser, server, "bob")
    start_call(looping_speech_browser, server, ptt=True)
    frames = WebDriverWait(looping_speech_browser, LONG)
    frames.until(lambda d: int(data(d, "framesSent") or 0) >= 150)
    # 3 s of frames while the microphone hears speech all along: every one silent
    driver = looping_speech_browser
    assert data(driver, "framesVoiced") == "0"
    assert not driver.find_elements(By.CSS_SELECTOR, "li.learner")
    talk = driver.find_element(By.ID, "talk")
    ActionChains(driver).click_and_hold(talk).perform()
    WebDriverWait(driver, LONG).until(lambda d: int(data(d, "framesVoiced") or 0) >= 100)
    ActionChains(driver).release(talk).perform()  # released: silence ends the turn
    WebDriverWait(driver, LONG).until(lambda d: d.find_elements(By.CSS_SELECTOR, "li.learner"))
    heard = driver.find_element(By.CSS_SELECTOR, "li.learner").text.lower()
    assert heard_the_learner(heard), heard
    driver.find_element(By.ID, "end").click()  # ends the call; the debrief follows
