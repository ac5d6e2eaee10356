"""The anger model: how one learner turn moves the customer's anger, with the reasons.

Pure: no I/O, clock or globals. ``step`` takes the anger state, the tone reading of
the learner's turn and the persona, and returns the new state and an ``AngerStep``
whose reasons add up exactly to the change.

The shape of it, and why:

- Anger is 0..100 in four bands: calm < 25 <= irritated < 50 <= angry < 75 <= furious.
- Rises are stronger than falls (``RISE_GAIN`` > ``FALL_GAIN``): one dismissive remark
  undoes more than one kind one, as with real customers.
- Between cues anger drifts a fraction of the way back to the persona's baseline.
- It cannot drop into calm until a concrete resolution has been offered: empathy
  alone lowers anger but does not fix the problem (seed 000: listen, apologise,
  *resolve*).
- Apologies without action give diminishing returns and, repeated, start to grate.
- When the original failure is repeated (a second missed promise) anger jumps and
  any resolution on the table stops counting until it is offered again.
- ``persona.sensitivity`` scales tone effects both ways; ``reactive`` customers flare
  more at provocation, ``proactive`` ones are moved less by feelings talk and more by
  action (seed 002: adapt to the customer's style).
"""

from __future__ import annotations

from collections.abc import Sequence

from calmline.customer.scenario import Persona
from calmline.models import AngerBand, AngerReason, AngerState, AngerStep, ToneReading

CALM_BELOW = 25.0
IRRITATED_BELOW = 50.0
ANGRY_BELOW = 75.0

RISE_GAIN = 1.0
FALL_GAIN = 0.6
DECAY = 0.1  # share of the distance to baseline covered each turn
MIN_CONFIDENCE = 0.3  # tags below this are ignored as noise
APOLOGY_DECAY = 0.5  # each apology without action is worth half the one before
EMPTY_APOLOGY_PENALTY = 3.0  # from the third apology without action on, it grates
REPEATED_FAILURE = 15.0
RESOLUTION_FIRST = 20.0
RESOLUTION_AGAIN = 6.0

# Raw effect of each tone tag at confidence 1 (negative calms, positive angers).
TAG_WEIGHTS: dict[str, float] = {
    "empathy": -7.0,
    "apology": -6.0,
    "paraphrase": -6.0,
    "question": -3.0,
    "solution": -9.0,
    "ownership": -7.0,
    "summary": -5.0,
    "blame": 12.0,
    "dismissive": 12.0,
    "policy_shield": 9.0,
    "defensive": 9.0,
    "sarcasm": 14.0,
    "calm_down": 15.0,
    "interrupting": 9.0,
    "raised_voice": 12.0,
}
FEELING_TAGS = frozenset({"empathy", "apology", "paraphrase"})
ACTION_TAGS = frozenset({"solution", "ownership"})
REACTIVE_RISE = 1.25  # reactive aggression: provocation bites harder
PROACTIVE_FEELING = 0.5  # proactive aggression: feelings talk counts for less
PROACTIVE_ACTION = 1.2  # ... and action for more
DIRECTION_WEIGHT = 3.0  # used only when no tag fired


def band(anger: float) -> AngerBand:
    """The band an anger value falls in."""
    if anger < CALM_BELOW:
        return "calm"
    if anger < IRRITATED_BELOW:
        return "irritated"
    if anger < ANGRY_BELOW:
        return "angry"
    return "furious"


def initial_state(persona: Persona) -> AngerState:
    return AngerState(anger=persona.start_anger)


def _tone_reasons(reading: ToneReading, persona: Persona, apologies: int) -> list[AngerReason]:
    reasons = []
    acted = any(reading.tags.get(t, 0.0) >= MIN_CONFIDENCE for t in ACTION_TAGS)
    for tag, confidence in sorted(reading.tags.items()):
        weight = TAG_WEIGHTS.get(tag)
        if weight is None or confidence < MIN_CONFIDENCE:
            continue
        raw = weight * min(confidence, 1.0)
        if tag == "apology" and not acted:
            raw *= APOLOGY_DECAY**apologies
        if raw > 0:
            gain = RISE_GAIN * (REACTIVE_RISE if persona.aggression == "reactive" else 1.0)
        else:
            gain = FALL_GAIN
            if persona.aggression == "proactive":
                gain *= PROACTIVE_FEELING if tag in FEELING_TAGS else 1.0
                gain *= PROACTIVE_ACTION if tag in ACTION_TAGS else 1.0
        reasons.append(AngerReason(cause=tag, delta=raw * gain * persona.sensitivity))
    if not reasons and reading.direction != "neutral":
        rising = reading.direction == "escalating"
        delta = DIRECTION_WEIGHT * (RISE_GAIN if rising else -FALL_GAIN) * persona.sensitivity
        reasons.append(AngerReason(cause=f"tone {reading.direction}", delta=delta))
    return reasons


def step(
    state: AngerState,
    reading: ToneReading,
    persona: Persona,
    *,
    resolution_offered: bool,
    repeated_failure: bool,
    extra: Sequence[AngerReason] = (),
) -> tuple[AngerState, AngerStep]:
    """Apply one learner turn to the customer's anger.

    Args:
        state: anger and memory before the turn.
        reading: the tone reading of the learner's turn.
        persona: whose anger it is.
        resolution_offered: the turn offered a resolution the customer accepts
            (see ``customer.resolution_offered``).
        repeated_failure: the turn repeats the original failure (e.g. another missed
            promise); anger jumps and any resolution on the table lapses.
        extra: further causes found by the caller, e.g. the scenario's own triggers;
            rises are scaled by sensitivity like tone.
    """
    before = state.anger
    apology = reading.tags.get("apology", 0.0) >= MIN_CONFIDENCE
    acted = resolution_offered or any(
        reading.tags.get(t, 0.0) >= MIN_CONFIDENCE for t in ACTION_TAGS
    )
    reasons = _tone_reasons(reading, persona, state.apologies_without_action)
    if apology and not acted and state.apologies_without_action >= 2:
        reasons.append(AngerReason(cause="apologies without action", delta=EMPTY_APOLOGY_PENALTY))
    for reason in extra:
        scale = persona.sensitivity if reason.delta > 0 else FALL_GAIN
        reasons.append(AngerReason(cause=reason.cause, delta=reason.delta * scale))
    if repeated_failure:
        reasons.append(
            AngerReason(cause="failure repeated", delta=REPEATED_FAILURE * persona.sensitivity)
        )
    if resolution_offered:
        first = not state.resolution_offered or repeated_failure
        size = RESOLUTION_FIRST if first else RESOLUTION_AGAIN
        gain = FALL_GAIN * (PROACTIVE_ACTION if persona.aggression == "proactive" else 1.0)
        reasons.append(AngerReason(cause="resolution offered", delta=-size * gain))

    anger = before + sum(r.delta for r in reasons)
    decay = (persona.baseline_anger - anger) * DECAY
    if abs(decay) >= 0.05:
        reasons.append(AngerReason(cause="drift to baseline", delta=decay))
        anger += decay

    on_table = resolution_offered or (state.resolution_offered and not repeated_failure)
    floor = 0.0 if on_table else min(before, CALM_BELOW)
    bounded = min(100.0, max(floor, anger))
    if bounded != anger:
        cause = "no resolution yet" if bounded == floor and floor > 0 else "limit"
        reasons.append(AngerReason(cause=cause, delta=bounded - anger))

    new_state = AngerState(
        anger=bounded,
        apologies_without_action=(
            0 if acted else state.apologies_without_action + (1 if apology else 0)
        ),
        resolution_offered=on_table,
        turns=state.turns + 1,
    )
    rounded = [AngerReason(cause=r.cause, delta=round(r.delta, 2)) for r in reasons if r.delta]
    return new_state, AngerStep(before=before, after=bounded, band=band(bounded), reasons=rounded)
