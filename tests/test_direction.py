"""The learned direction of the anger model: how people say a turn moves an upset customer.

The shipped read-out loads and reads real turns; the step it makes stays inside the call's
facts (a brush-off never calms, the failure repeated always angers, a resolution offered
keeps the rules' step).
"""

from __future__ import annotations

import pytest

from calmline.customer.anger import TAKEN, step, taken_as
from calmline.customer.difficulty import Temper
from calmline.customer.direction import DIRECTIONS, DirectionModel, features, load_direction_model
from calmline.customer.meaning import load_meaning_reader
from calmline.customer.scenario import load_scenario
from calmline.models import AngerReason, AngerState
from calmline.tone.reader import ToneInput, load_tone_reader

SURE = {"rise": 0.1, "hold": 0.1, "fall": 0.8}


def test_a_sure_fall_brings_anger_down_at_least_the_least_fall() -> None:
    taken = taken_as(SURE, 0.5, 0.0, [AngerReason(cause="question", delta=-0.4)], rise=2, fall=3)
    assert taken is not None and taken.cause == TAKEN and 0.0 + taken.delta == pytest.approx(-3)


def test_a_turn_heard_pushing_never_calms_whatever_the_model_says() -> None:
    pushed = [AngerReason(cause="brush-off", delta=2.0)]
    assert taken_as(SURE, 0.5, 2.0, pushed, rise=2, fall=3) is None


@pytest.mark.parametrize("cause", ["failure repeated", "trigger: no-refund", "resolution offered"])
def test_the_calls_facts_keep_the_rules_step(cause: str) -> None:
    hold = {"rise": 0.05, "hold": 0.9, "fall": 0.05}
    assert taken_as(hold, 0.5, 9.0, [AngerReason(cause=cause, delta=9.0)], rise=2, fall=3) is None


def test_a_pack_trigger_the_rules_let_calm_is_taken_as_a_rise() -> None:
    # "For changes you can use the app": an apology outweighed the trigger (round 8)
    reasons = [AngerReason(cause="apology", delta=-10), AngerReason(cause="trigger: app", delta=7)]
    rise = {"rise": 0.8, "hold": 0.1, "fall": 0.1}
    taken = taken_as(rise, 0.5, -3.0, reasons, rise=2, fall=3)
    assert taken is not None and -3.0 + taken.delta == pytest.approx(2.0)


def test_a_sure_hold_keeps_the_step_small_and_an_unsure_model_changes_nothing() -> None:
    hold = {"rise": 0.1, "hold": 0.8, "fall": 0.1}
    taken = taken_as(hold, 0.5, -4.0, [AngerReason(cause="empathy", delta=-4.0)], rise=2, fall=3)
    assert taken is not None and -4.0 + taken.delta == pytest.approx(-1.0)
    unsure = {"rise": 0.34, "hold": 0.33, "fall": 0.33}
    assert taken_as(unsure, 0.5, -4.0, [], rise=2, fall=3) is None


@pytest.mark.models
def test_the_shipped_model_reads_real_turns() -> None:
    model = load_direction_model()
    assert set(model.classes) == set(DIRECTIONS) and model.names
    assert DirectionModel.from_json(model.to_json()).names == model.names
    pack = load_scenario("late-parcel")
    tone, meanings = load_tone_reader(), load_meaning_reader()
    turns = {
        "rise": "It says delivered, so it should be there. Not much I can do.",
        "fall": "I'm sending a replacement pair out today on next-day delivery, so they'll be "
        "with you tomorrow, and I've refunded the £4.99 delivery charge.",
    }
    seen = {}
    for way, text in turns.items():
        reading = tone.read_batch([ToneInput(text, pack.opening_line)])[0]
        meaning = meanings.read(text, pack, [pack.opening_line])
        _, s = step(
            AngerState(anger=60.0), reading, pack.persona,
            resolution_offered=False, repeated_failure=False, meaning=meaning,
        )  # fmt: skip
        state = AngerState(anger=60.0)
        named = features(state, s.reasons, reading, meaning, pack.persona, Temper())
        probs = model.probabilities(named)
        assert sum(probs.values()) == pytest.approx(1.0)
        seen[way] = probs
    assert seen["rise"]["rise"] > seen["fall"]["rise"]
    assert seen["fall"]["fall"] > seen["rise"]["fall"]
