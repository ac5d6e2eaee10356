"""The anger model's promises, as properties over any persona, state and tone reading."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calmline.customer import anger
from calmline.customer.scenario import Persona
from calmline.models import NEGATIVE_TAGS, POSITIVE_TAGS, TONE_TAGS, AngerState, ToneReading

settings.register_profile("calmline", max_examples=150, deadline=None)
settings.load_profile("calmline")


def persona(**overrides: object) -> Persona:
    values: dict[str, object] = {
        "name": "Pat",
        "description": "a test customer with a problem",
        "style": "assertive",
        "aggression": "reactive",
        "baseline_anger": 40.0,
        "start_anger": 60.0,
        "sensitivity": 1.0,
    }
    values.update(overrides)
    return Persona.model_validate(values)


personas = st.builds(
    persona,
    aggression=st.sampled_from(["reactive", "proactive"]),
    baseline_anger=st.floats(0, 100),
    sensitivity=st.floats(0.25, 3.0),
)
confidences = st.floats(0.0, 1.0)
readings = st.builds(
    ToneReading,
    tags=st.dictionaries(st.sampled_from(TONE_TAGS), confidences, max_size=6),
    direction=st.sampled_from(["escalating", "neutral", "de-escalating"]),
)
states = st.builds(
    AngerState,
    anger=st.floats(0, 100),
    apologies_without_action=st.integers(0, 6),
    resolution_offered=st.booleans(),
    turns=st.integers(0, 30),
)
NEUTRAL = ToneReading()


def run(state, reading, who, resolution=False, repeated=False):
    return anger.step(state, reading, who, resolution_offered=resolution, repeated_failure=repeated)


@given(states, readings, personas, st.booleans(), st.booleans())
def test_anger_stays_in_range_and_reasons_add_up(state, reading, who, resolution, repeated):
    new, step = run(state, reading, who, resolution, repeated)
    assert 0 <= new.anger <= 100
    assert step.before == state.anger and step.after == new.anger
    assert step.band == anger.band(new.anger)
    assert abs(sum(r.delta for r in step.reasons) - step.delta) < 0.01 * (len(step.reasons) + 1)
    assert new.turns == state.turns + 1


@given(
    st.sampled_from(sorted(NEGATIVE_TAGS)),
    st.sampled_from(sorted(POSITIVE_TAGS)),
    st.floats(0.3, 1.0),
    st.floats(35, 65),
    personas,
)
def test_a_bad_remark_moves_anger_more_than_a_kind_one(bad, good, confidence, level, who):
    who = who.model_copy(update={"baseline_anger": level})  # no drift
    state = AngerState(anger=level)
    _, rise = run(state, ToneReading(tags={bad: confidence}), who)
    _, fall = run(state, ToneReading(tags={good: confidence}), who)
    assert rise.delta > 0 > fall.delta
    assert rise.delta > -fall.delta


@given(st.floats(0, 100), st.floats(0, 100), personas)
def test_without_cues_anger_drifts_towards_the_baseline(level, baseline, who):
    who = who.model_copy(update={"baseline_anger": baseline})
    state = AngerState(anger=level, resolution_offered=True)
    new, _ = run(state, NEUTRAL, who)
    assert abs(new.anger - baseline) <= abs(level - baseline) + 1e-9
    assert min(level, baseline) - 1e-9 <= new.anger <= max(level, baseline) + 1e-9


@given(st.lists(readings, min_size=1, max_size=15), personas, st.floats(25, 100))
def test_cannot_reach_calm_until_a_resolution_is_offered(turns, who, start):
    state = AngerState(anger=start)
    for reading in turns:
        state, step = run(state, reading, who)
        assert step.band != "calm"
    state, _ = run(state, ToneReading(tags={"solution": 1, "empathy": 1}), who, resolution=True)
    for _ in range(30):
        state, _ = run(state, ToneReading(tags={"empathy": 1, "summary": 1}), who)
    if who.baseline_anger < anger.CALM_BELOW - 3:
        assert anger.band(state.anger) == "calm"


@given(personas, st.floats(50, 90), st.integers(0, 4))
def test_each_further_apology_without_action_calms_less(who, level, count):
    who = who.model_copy(update={"baseline_anger": level})
    sorry = ToneReading(tags={"apology": 1.0})
    _, this = run(AngerState(anger=level, apologies_without_action=count), sorry, who)
    _, next_ = run(AngerState(anger=level, apologies_without_action=count + 1), sorry, who)
    assert next_.delta > this.delta
    new, _ = run(AngerState(anger=level, apologies_without_action=count), sorry, who)
    assert new.apologies_without_action == count + 1


def test_an_apology_with_action_restores_its_value():
    who = persona()
    state = AngerState(anger=60, apologies_without_action=3)
    new, step = run(state, ToneReading(tags={"apology": 1, "solution": 1}), who)
    assert new.apologies_without_action == 0
    assert any(r.cause == "apology" and r.delta <= -3 for r in step.reasons)


@given(states, readings, personas)
def test_a_repeated_failure_raises_anger_and_lapses_the_resolution(state, reading, who):
    plain, _ = run(state, reading, who)
    again, step = run(state, reading, who, repeated=True)
    assert again.anger >= plain.anger
    if plain.anger < 100:
        assert again.anger > plain.anger
    assert not again.resolution_offered
    assert any(r.cause == "failure repeated" for r in step.reasons)


@given(st.sampled_from(sorted(NEGATIVE_TAGS)), st.floats(0.3, 1.0), st.floats(0.25, 2.9))
def test_sensitivity_scales_the_reaction(tag, confidence, sensitivity):
    low = persona(sensitivity=sensitivity, baseline_anger=50)
    high = persona(sensitivity=sensitivity + 0.1, baseline_anger=50)
    reading = ToneReading(tags={tag: confidence})
    _, a = run(AngerState(anger=50), reading, low)
    _, b = run(AngerState(anger=50), reading, high)
    assert b.delta > a.delta > 0


@given(states, readings, personas)
def test_reasons_name_the_tags_that_moved_it(state, reading, who):
    _, step = run(state, reading, who)
    causes = {r.cause for r in step.reasons}
    for tag, confidence in reading.tags.items():
        if confidence >= anger.MIN_CONFIDENCE and tag != "apology":
            assert tag in causes


def test_bands():
    assert [anger.band(x) for x in (0, 24.9, 25, 49.9, 50, 74.9, 75, 100)] == [
        "calm", "calm", "irritated", "irritated", "angry", "angry", "furious", "furious"
    ]  # fmt: skip


def test_proactive_customer_is_moved_more_by_action_than_by_feelings():
    reactive, proactive = persona(aggression="reactive"), persona(aggression="proactive")
    feelings = ToneReading(tags={"empathy": 1.0, "paraphrase": 1.0})
    action = ToneReading(tags={"solution": 1.0, "ownership": 1.0})
    state = AngerState(anger=60)
    assert run(state, feelings, proactive)[1].delta > run(state, feelings, reactive)[1].delta
    assert run(state, action, proactive)[1].delta < run(state, action, reactive)[1].delta


def test_a_typical_call_example():
    """A dismissive start, then listening, then a concrete offer: furious -> calm."""
    who = persona(baseline_anger=30, start_anger=60)
    state = anger.initial_state(who)
    state, s1 = run(state, ToneReading(tags={"calm_down": 0.9, "policy_shield": 0.8}), who)
    assert s1.band == "furious" and s1.delta > 15
    assert {r.cause for r in s1.reasons} >= {"calm_down", "policy_shield"}
    for _ in range(3):
        state, s = run(state, ToneReading(tags={"empathy": 0.9, "paraphrase": 0.8}), who)
    assert s.band in ("angry", "irritated") and state.anger >= anger.CALM_BELOW
    state, s = run(state, ToneReading(tags={"solution": 0.9, "ownership": 0.8}), who, True)
    assert any(r.cause == "resolution offered" for r in s.reasons)
    for _ in range(4):  # the "calm down" turn got no drift towards the baseline: one more
        state, s = run(state, ToneReading(tags={"summary": 0.9}), who)
    assert s.band == "calm"


@pytest.mark.parametrize("tag", sorted(NEGATIVE_TAGS))
def test_every_negative_tag_raises_anger(tag):
    _, s = run(AngerState(anger=50), ToneReading(tags={tag: 1.0}), persona(baseline_anger=50))
    assert s.delta > 0
