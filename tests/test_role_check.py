"""The role check: a customer line must sound like the customer, in the customer's mood.

Unit tests use the hashing fake embedder for the arithmetic (fit, cache, thresholds,
wiring into ``Customer``); the ``models`` tests use the bundled MiniLM on lines a user
would recognise as the agent talking.
"""

from __future__ import annotations

import numpy as np
import pytest

from calmline.customer.character import Customer
from calmline.customer.role_check import (
    STAFF_VOICE,
    TOO_SETTLED,
    ReferenceLines,
    RoleCheck,
    RoleVerdict,
    fit_direction,
    load_role_check,
    reference_lines,
    score,
)
from calmline.customer.scenario import Scenario, load_scenario
from calmline.embed import FakeEmbedder
from calmline.models import AngerState, AngerStep, Turn
from calmline.testing.fake_llm import FakeChatModel
from support.words import letter_words

TOY = ReferenceLines(
    customer=["my kettle leaks", "i want my money back", "my parcel never came"],
    staff=["your refund is booked", "let me check your order", "your engineer is booked"],
    aggrieved=["this is ridiculous", "i am furious", "not good enough"],
    settled=["thank you lovely", "that is fine thanks", "lovely thank you"],
)


@pytest.fixture(scope="module")
def kettle() -> Scenario:
    return load_scenario("kettle-counter")


def test_a_fitted_direction_separates_its_training_sets() -> None:
    emb = FakeEmbedder()
    direction = fit_direction(emb.embed(TOY.customer), emb.embed(TOY.staff))
    assert (score(direction, emb.embed(TOY.customer)) > 0).all()
    assert (score(direction, emb.embed(TOY.staff)) < 0).all()


def test_the_mood_test_applies_only_when_the_customer_is_angry() -> None:
    content = RoleVerdict(role=0.5, mood=-0.9)
    assert content.problems("calm") == [] and content.problems("irritated") == []
    assert content.problems("angry") == [TOO_SETTLED] == content.problems("furious")
    assert RoleVerdict(role=-0.5, mood=0.5).problems("calm") == [STAFF_VOICE]


def test_the_fit_is_cached_on_disk_and_refitted_when_the_lines_change(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("CALMLINE_CACHE", str(tmp_path))
    first = load_role_check(FakeEmbedder(), TOY)
    cached = list((tmp_path / "calmline").glob("role-check-*.npz"))
    assert len(cached) == 1
    again = load_role_check(FakeEmbedder(), TOY)
    np.testing.assert_array_equal(first.role, again.role)
    changed = ReferenceLines(
        [*TOY.customer, "where is my order"], TOY.staff, TOY.aggrieved, TOY.settled
    )
    load_role_check(FakeEmbedder(), changed)
    assert len(list((tmp_path / "calmline").glob("role-check-*.npz"))) == 2


def test_a_torn_cache_file_is_refitted(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CALMLINE_CACHE", str(tmp_path))
    load_role_check(FakeEmbedder(), TOY)
    (path,) = (tmp_path / "calmline").glob("role-check-*.npz")
    path.write_bytes(b"not an npz")
    check = load_role_check(FakeEmbedder(), TOY)
    assert check.problems("your refund is booked", "calm") == [STAFF_VOICE]


def test_reference_lines_come_from_every_pack_and_the_reference_file() -> None:
    refs = reference_lines()
    kettle = load_scenario("kettle-counter")
    assert kettle.opening_line in refs.customer
    assert kettle.learner_script_poor[0] in refs.staff
    assert kettle.satisfied_line in refs.settled and kettle.manager_line in refs.aggrieved
    assert "I'll be very careful with it, I promise." in refs.staff
    assert min(len(refs.customer), len(refs.staff)) > 100


class _Rejects:
    """A role check that refuses lines containing a word, with a fixed problem."""

    def __init__(self, word: str) -> None:
        self.word = word
        self.seen: list[tuple[str, str]] = []

    def problems(self, text: str, band: str) -> list[str]:
        self.seen.append((text, band))
        return [STAFF_VOICE] if self.word in text else []


def _learner_turn(text: str, band: str = "angry") -> list[Turn]:
    step = AngerStep(before=60, after=62, band=band)  # type: ignore[arg-type]
    return [Turn(index=0, speaker="learner", text=text, anger=step)]


def test_a_line_in_the_agents_voice_is_retried_then_replaced(kettle: Scenario) -> None:
    check = _Rejects("careful")
    model = FakeChatModel(
        replies=[" I'll be very careful with the kettle.", " I'll be careful, honestly."]
    )
    line = Customer(kettle, model, role_check=check).respond(  # type: ignore[arg-type]
        _learner_turn("Did you drop it?"), AngerState(anger=62, turns=1)
    )
    assert line.source == "authored" and line.text in kettle.lines.angry
    assert all(STAFF_VOICE in note for note in line.notes)
    assert {band for _, band in check.seen} == {"angry"}


def test_the_role_check_sees_only_lines_the_text_rules_passed(kettle: Scenario) -> None:
    check = _Rejects("never")
    model = FakeChatModel(replies=[" As an AI I cannot.", " I did not drop it, it leaks."])
    line = Customer(kettle, model, role_check=check).respond(  # type: ignore[arg-type]
        _learner_turn("Did you drop it?"), AngerState(anger=62, turns=1)
    )
    assert line.text == "I did not drop it, it leaks." and line.source == "retry"
    assert [text for text, _ in check.seen] == ["I did not drop it, it leaks."]


# ----------------------------------------------------------------------------- real MiniLM


@pytest.fixture(scope="module")
def real_check() -> RoleCheck:
    from calmline.embed import load_embedder

    return RoleCheck.fit(load_embedder(), reference_lines())


@pytest.mark.models
@pytest.mark.parametrize(
    "line",
    [
        "I'll be very careful with the machine, I promise.",
        "Yes, I'll be in touch.",
        "Yes, we're sorry about that. I'll give you a call tomorrow.",
        "I'll let you know when I get a fix.",
    ],
)
def test_minilm_hears_the_agents_voice(real_check: RoleCheck, line: str) -> None:
    assert STAFF_VOICE in real_check.problems(line, "irritated")


# Agent-voice lines written for this test, after the reference lines and apart from
# them (the first line of the list above nearly copies one it was fitted on).
NEW_AGENT_LINES = [
    "Leave it with me and I'll ring the depot before lunch.",
    "I've made a note on your account so the next person sees it.",
    "Can I take a contact number in case the line drops?",
    "We'll send a courier to collect it on Thursday.",
    "Let me just pop you on hold while I speak to my supervisor.",
    "I can see the engineer's report here, give me one second.",
]


def test_the_new_agent_lines_are_not_near_copies_of_reference_lines() -> None:
    refs = reference_lines()
    for line in NEW_AGENT_LINES:
        mine = letter_words(line)
        closest = max(len(mine & letter_words(r)) / len(mine | letter_words(r)) for r in refs.staff)
        assert closest < 0.5, line


_MISSED = {  # new lines the role check takes for the customer today: known gaps
    "Let me just pop you on hold while I speak to my supervisor.": "gap (issue 15): putting "
    "the other party on hold to ask a supervisor is not heard as the agent's voice",
}


@pytest.mark.models
@pytest.mark.parametrize(
    "line",
    [
        pytest.param(
            line,
            marks=[pytest.mark.xfail(strict=True, reason=_MISSED[line])] if line in _MISSED else [],
        )
        for line in NEW_AGENT_LINES
    ],
)
def test_minilm_hears_the_agents_voice_in_lines_it_was_not_fitted_on(
    real_check: RoleCheck, line: str
) -> None:
    assert STAFF_VOICE in real_check.problems(line, "irritated")


@pytest.mark.models
def test_minilm_passes_the_packs_own_customer_lines_it_was_not_fitted_on(
    kettle: Scenario,
) -> None:
    """Fitted without the kettle pack, the check still hears its customer as the customer."""
    from calmline.customer.scenario import list_scenarios
    from calmline.embed import load_embedder

    others = [s for s in list_scenarios() if s.id != kettle.id]
    check = RoleCheck.fit(load_embedder(), reference_lines(others))
    lines = [kettle.opening_line, *kettle.lines.irritated, *kettle.lines.angry]
    verdicts = check.verdicts(lines)
    passed = [v.role >= 0 for v in verdicts]
    assert sum(passed) >= len(lines) - 1, list(zip(lines, verdicts, strict=True))
    # the learner's offers and promises are the agent's voice (a paraphrase of the
    # customer's own words is not: it is meant to sound like them)
    offers = check.verdicts(kettle.learner_script_good[-2:])
    assert all(v.role < 0 for v in offers), offers
