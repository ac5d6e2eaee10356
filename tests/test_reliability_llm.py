"""A practice call against failing LLM endpoints: the call goes on, the session says why.

``calmline practice --llm openai`` is pointed at ``support.openai_server.FakeOpenAIServer``
on loopback in each failure mode (and at a closed port). Every run must exit 0 with the call
finished, the failed customer turns spoken from the scenario's authored lines, the
cause noted on the turn and as a session event, and later turns must not wait
through the whole retry backoff again.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from calmline.customer.character import Customer, CustomerOptions
from calmline.customer.scenario import load_scenario
from calmline.llm import collect, load_chat_model
from calmline.llm.fallback import FallbackChatModel
from calmline.llm.openai_backend import OpenAIChatModel
from calmline.models import AngerState, Turn
from calmline.protocols import GenerationOptions
from support.cli import practice_args
from support.net import closed_port_url
from support.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.server

# Two learner turns that the customer must answer with generated lines, then an offer
# the kettle customer accepts (a scripted, authored ending).
SCRIPT = (
    "Okay. Let me just have a look at that for you.\n"
    "Right, and when did you buy it?\n"
    "I can offer you a full refund today.\n"
)
TIMEOUT_S = 1.0  # CALMLINE_LLM_TIMEOUT for the run: a hanging endpoint costs this per try

# mode -> (what the session records, requests the endpoint sees over the two turns)
EXPECTED: dict[str, tuple[str, int | None]] = {
    "refuse": ("cannot reach the LLM endpoint", None),
    "hang": ("timed out", 3 + 1),  # three tries on the first turn, one on the second
    "429": ("HTTP 429", 3 + 1),
    "500": ("HTTP 500", 3 + 1),
    "empty": ("empty reply", 2),  # an answer, not a transport failure: never retried
    "malformed": ("broke off", 2),
    "die": ("ended without finishing", 2),
}


def run_practice(base_url: str, out: Path, script: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``calmline practice`` on the endpoint; return (JSON summary, session.json)."""
    env = {**os.environ, "CALMLINE_LLM_TIMEOUT": str(TIMEOUT_S)}
    # --no-fallback: the authored-line path; the bundled-model fallback is tested below.
    cmd = practice_args(base_url, out, script, "--no-fallback")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    record = json.loads((Path(summary["session"]) / "session.json").read_text())
    return summary, record


@pytest.mark.parametrize("mode", list(EXPECTED))
def test_a_failing_endpoint_never_ends_the_call(mode: str, tmp_path: Path) -> None:
    script = tmp_path / "turns.txt"
    script.write_text(SCRIPT)
    cause, requests = EXPECTED[mode]
    if mode == "refuse":
        summary, record = run_practice(closed_port_url(), tmp_path / "rec", script)
        seen = None
    else:
        with FakeOpenAIServer.fault(mode, hang_s=10) as server:  # type: ignore[arg-type]
            summary, record = run_practice(server.base_url, tmp_path / "rec", script)
        seen = len(server.requests)

    assert summary["outcome"] == "satisfied" and summary["learner_turns"] == 3
    customer = [t for t in record["turns"] if t["speaker"] == "customer"]
    failed = customer[1:3]  # the two generated turns; the opening and ending are authored
    kettle = load_scenario("kettle-counter")
    authored = {text for _, text in kettle.authored_texts()}  # band lines, replies...
    for turn in failed:
        assert turn["source"] == "authored" and turn["text"] in authored
        assert any(cause in note for note in turn["notes"]), turn["notes"]
    events = [e for e in record["events"] if e["kind"] == "customer_line"]
    assert sum(cause in e["detail"] for e in events) == 2
    if requests is not None:
        assert seen == requests
    # The second failing turn does not wait through the backoff again: a retrying mode
    # sees three tries on the first turn and one on the second (``EXPECTED``), counted
    # above rather than timed, so a loaded machine cannot blur the difference.


def test_an_endpoint_that_recovers_is_used_again(tmp_path: Path) -> None:
    with FakeOpenAIServer.fault("500") as server:
        model = OpenAIChatModel("m", base_url=server.base_url, timeout=2, sleep=lambda s: None)
        with pytest.raises(Exception, match="HTTP 500"):
            collect(model.stream_chat([], GenerationOptions()))
        assert model.down
        server.script = [server.step_for("ok")]
        assert collect(model.stream_chat([], GenerationOptions())).strip() == "It still leaks."
        assert not model.down and model.last_attempts == 1


ANGRY = AngerState(anger=45.0, turns=1)


def _call(text: str) -> list[Turn]:
    opening = "It leaks all over the worktop."
    return [
        Turn(index=0, speaker="customer", text=opening),
        Turn(index=1, speaker="learner", text=text),
    ]


@pytest.mark.models
def test_fallback_to_the_bundled_model_keeps_generating() -> None:
    """``load_chat_model(..., fallback=True)``: the local Gemma takes over and says so."""
    with FakeOpenAIServer.fault("500") as server:
        chat = load_chat_model(
            "openai", "m", base_url=server.base_url, fallback=True, max_attempts=2, timeout=2
        )
        assert isinstance(chat, FallbackChatModel)
        customer = Customer(load_scenario("kettle-counter"), chat, CustomerOptions(max_tokens=24))
        line = customer.respond(_call("Okay. Let me just have a look at that."), ANGRY)
    assert line.text
    # The endpoint's failure was absorbed by the fallback, not by the authored lines.
    assert not any("model error" in n for n in line.notes)
    assert chat.events[0].kind == "llm_fallback" and "HTTP 500" in chat.events[0].detail
    assert len(server.requests) == 2  # its own two tries, then the local model


@pytest.mark.models
def test_practice_on_a_dead_endpoint_switches_to_the_bundled_model(tmp_path: Path) -> None:
    """The command's default: the bundled model answers, and session.json says why."""
    script = tmp_path / "turns.txt"
    script.write_text(SCRIPT)
    with FakeOpenAIServer.fault("500") as server:
        cmd = practice_args(server.base_url, tmp_path / "rec", script)
        env = {**os.environ, "CALMLINE_LLM_TIMEOUT": str(TIMEOUT_S)}
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    record = json.loads((Path(summary["session"]) / "session.json").read_text())
    assert any(e["kind"] == "llm_fallback" and "HTTP 500" in e["detail"] for e in record["events"])
    generated = [
        t for t in record["turns"] if t["speaker"] == "customer" and t["source"] != "authored"
    ]
    assert generated, "the bundled model should have generated at least one customer line"
