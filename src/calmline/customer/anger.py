"""The anger model: how one learner turn moves the customer's anger, with the reasons.

Pure: no I/O, clock or globals. ``step`` takes the anger state, the tone reading of
the learner's turn and the persona, and returns the new state and an ``AngerStep``
whose reasons add up exactly to the change.

The shape of it, and why:

- Anger is 0..100 in four bands: calm < 25 <= irritated < 50 <= angry < 75 <= furious.
- Rises are stronger than falls (``RISE_GAIN`` > ``FALL_GAIN``): one dismissive remark
  undoes more than one kind one, as with real customers.
- Anger drifts a fraction of the way back to the persona's baseline, downwards only
  with a turn that itself calms: a turn that does nothing leaves an aggrieved customer
  where they were.
- It cannot drop into calm until a concrete resolution has been offered: empathy
  alone lowers anger but does not fix the problem (seed 000: listen, apologise,
  *resolve*).
- Apologies without action give diminishing returns and, repeated, start to grate.
- When the original failure is repeated (a second missed promise) anger jumps and
  any resolution on the table stops counting until it is offered again.
- ``persona.sensitivity`` scales tone effects both ways; ``reactive`` customers flare
  more at provocation, ``proactive`` ones are moved less by feelings talk and more by
  action (seed 002: adapt to the customer's style).

What the turn *does* (``TurnMeaning``, read by ``customer.meaning``) weighs beside how
it sounds, so that anger follows meaning rather than politeness:

- A concrete action (what and when) calms; a promise without a when calms a little
  the first time and grates after that ("I've heard promises before").
- A brush-off, a policy wall, a flat refusal, a transfer elsewhere, a repeat of the failure already
  reported, or asking again for what the customer already said never lowers anger
  (unless the same turn also acts): whatever the politeness around it, the turn
  ends at least ``MIN_RISE`` up.
- Feelings with nothing done (an apology, empathy, a vague promise) calm once; the
  second such turn in a row and after never lowers anger, and soon grates.
- Drift to the baseline happens only when nothing in the turn pushes the other way,
  and downwards only with a turn that calms.
- A recovery move (a paraphrase together with ownership or a concrete action) is
  credited in full at any anger, so a furious customer can be brought back.
- ``Temper`` (the difficulty) scales rises, falls and the customer's patience.
"""

from __future__ import annotations

from collections.abc import Sequence

from calmline.customer.difficulty import Temper
from calmline.customer.direction import DirectionJudge, features
from calmline.customer.misreads import MISREAD_CAUSE
from calmline.customer.scenario import Persona
from calmline.models import AngerBand, AngerReason, AngerState, AngerStep, ToneReading, TurnMeaning

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
# The most one turn's words add (times the customer's and the difficulty's sensitivity),
# abuse and the failure happening again aside: a turn read as blame, a wall and a pack
# trigger at once would otherwise take an angry customer to the top in one step, after
# which no later turn can be heard to anger them further.
MAX_RISE = 18.0
RESOLUTION_FIRST = 20.0
RESOLUTION_AGAIN = 6.0
ACTION_INTO_CALM = 10.0  # how far into calm a concrete action takes anger before a resolution

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

# What the turn does (TurnMeaning), at confidence 1.
CONCRETE_ACTION = -8.0  # says what will be done and when
VAGUE_FIRST = -2.0  # the first promise without a when: a little hope
VAGUE_AGAIN = 3.0  # every later one: "I've heard promises before"
VAGUE_TAG_SHARE = 0.35  # what solution/ownership tags are worth in a promise without a when
SIGNAL_WEIGHTS: dict[
    str, float
] = {  # moves that push anger up, beside the tags that sound like them
    "brush_off": 8.0,
    "transfer": 7.0,
    "policy_wall": 7.0,
    "refusal": 7.0,
    "reasks_given": 6.0,
    "blames": 7.0,
    "monologue": 4.0,  # only at angry and above (see MONOLOGUE_FROM), as the live cut-in
    "abusive": 16.0,
}
SIGNAL_TAGS: dict[
    str, tuple[str, ...]
] = {  # a move already heard in these tags is not counted twice
    "brush_off": ("dismissive",),
    "policy_wall": ("policy_shield",),
    "refusal": ("policy_shield", "dismissive"),
    "transfer": ("policy_shield", "dismissive"),
    "reasks_given": (),
    "blames": ("blame",),
    "monologue": ("interrupting",),
    "abusive": ("sarcasm", "blame", "raised_voice"),
}
PUSHING_TAGS = frozenset(
    {"dismissive", "policy_shield", "blame", "calm_down", "sarcasm", "defensive"}
)
MIN_RISE = 2.0  # the least a brush-off (etc.) adds when nothing in the turn acts
EMPTY_AGAIN = 1.5  # feelings with nothing done, the second time in a row and after
RECOVERY = -6.0  # paraphrase plus ownership or a concrete action
RECOVERED = "recovery: heard and owned"
SIGNAL_AT = 0.5  # meaning and tag confidence that counts as the move
# The learned reader's view of which way an upset customer's anger goes (TurnMeaning
# .direction): "rise" as the likeliest, at this probability or more, pushes like a
# brush-off unless the turn acts; "hold" as the likeliest caps what a turn that does
# nothing for the problem can take off.
DIRECTION_AT = 0.5
HOLD_CAP = 1.0
# The tone encoder's uptake (ToneReading.uptake: how an upset customer would take the turn,
# learned from people's labels of which way anger should go) decides the direction when it
# is sure: a "rise" pushes as a brush-off does, a "hold" keeps the step within HOLD_CAP
# either way, a "fall" brings anger down at least MIN_FALL, unless the call's own facts
# say otherwise (the failure repeated, a pack trigger, feelings-only talk again and again).
# It replaces the linear moves model's direction, which it reads better (docs/judgement.md).
UPTAKE_AT = 0.5
UPTAKE_FALL_AT = 0.8  # a fall must be surer: warm words with nothing done read close to one
MIN_FALL = 3.0
TAKEN_BACK = frozenset({"blame", "policy_shield", "defensive", "dismissive"})
NEUTRAL_HOLD = 0.9  # the most a neutral turn moves anger either way (customer/neutral.py)
GENTLE_PRIMARY = frozenset({"question", "paraphrase", "empathy", "apology"})
LISTEN_CAP = 0.9  # the most listening, sympathy and questions take off with nothing done
FIRST_PROMISE = "a promise without a when"
# the calming causes that being heard is made of (the tone tags, a first promise)
HEARING = frozenset({*TAG_WEIGHTS, FIRST_PROMISE})
LEARNED_SURE = 0.75  # beside apology or empathy, a learned move must be this sure
# An angry customer on a live line cuts a monologue off (call/practice.py CUT_IN_AFTER_S);
# typed or scripted, the long explanation itself is what grates, from the same band.
MONOLOGUE_FROM = 50.0


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


def _gain(persona: Persona, temper: Temper, rising: bool, tag: str | None = None) -> float:
    """What a raw effect is multiplied by: rise or fall gain, aggression style, temper."""
    if rising:
        reactive = REACTIVE_RISE if persona.aggression == "reactive" else 1.0
        return RISE_GAIN * reactive * persona.sensitivity * temper.sensitivity
    gain = FALL_GAIN * persona.sensitivity * temper.recovery
    if persona.aggression == "proactive" and tag is not None:
        gain *= PROACTIVE_FEELING if tag in FEELING_TAGS else 1.0
        gain *= PROACTIVE_ACTION if tag in ACTION_TAGS else 1.0
    return gain


def _tone_reasons(
    reading: ToneReading,
    persona: Persona,
    apologies: int,
    temper: Temper,
    promise_only: bool,
) -> list[AngerReason]:
    reasons = []
    acted = any(reading.tags.get(t, 0.0) >= MIN_CONFIDENCE for t in ACTION_TAGS)
    for tag, confidence in sorted(reading.tags.items()):
        weight = TAG_WEIGHTS.get(tag)
        if weight is None or confidence < MIN_CONFIDENCE:
            continue
        raw = weight * min(confidence, 1.0)
        if tag == "apology" and (not acted or promise_only):
            raw *= APOLOGY_DECAY**apologies
        if tag in ACTION_TAGS and promise_only:
            raw *= VAGUE_TAG_SHARE  # "I'll look into it" sounds like ownership, does nothing
        reasons.append(AngerReason(cause=tag, delta=raw * _gain(persona, temper, raw > 0, tag)))
    if not reasons and reading.direction != "neutral":
        rising = reading.direction == "escalating"
        delta = DIRECTION_WEIGHT * (1.0 if rising else -1.0) * _gain(persona, temper, rising)
        reasons.append(AngerReason(cause=f"tone {reading.direction}", delta=delta))
    return reasons


def _meaning_reasons(
    meaning: TurnMeaning,
    reading: ToneReading,
    state: AngerState,
    persona: Persona,
    temper: Temper,
    tone: list[AngerReason],
    resolution_offered: bool,
) -> list[AngerReason]:
    reasons = []
    concrete = meaning.moves.get("concrete_action", 0.0)
    if concrete:
        size = CONCRETE_ACTION * concrete * (0.5 if resolution_offered else 1.0)
        reasons.append(
            AngerReason(
                cause="concrete action", delta=size * _gain(persona, temper, False, "solution")
            )
        )
    elif meaning.has("vague_action") and not resolution_offered:
        if state.vague_promises == 0:
            delta = VAGUE_FIRST * _gain(persona, temper, False)
            reasons.append(AngerReason(cause=FIRST_PROMISE, delta=delta))
        else:
            delta = VAGUE_AGAIN * _gain(persona, temper, True)
            reasons.append(AngerReason(cause="another promise without a when", delta=delta))
    heard = {r.cause: r.delta for r in tone}
    for move, weight in SIGNAL_WEIGHTS.items():
        confidence = meaning.moves.get(move, 0.0)
        if confidence < SIGNAL_AT or (move == "monologue" and state.anger < MONOLOGUE_FROM):
            continue
        full = weight * min(confidence, 1.0) * _gain(persona, temper, True)
        already = sum(max(0.0, heard.get(tag, 0.0)) for tag in SIGNAL_TAGS[move])
        cause = {
            "brush_off": "brush-off",
            "transfer": "sent elsewhere",
            "policy_wall": "policy as the answer",
            "refusal": "a flat no",
            "reasks_given": "asked again for what was already said",
            "blames": "the fault put elsewhere",
            "monologue": "a long explanation, nothing done",
            "abusive": "abuse",
        }[move]
        if full - already > 0.05:
            reasons.append(AngerReason(cause=cause, delta=full - already))
    paraphrased = reading.tags.get("paraphrase", 0.0) >= SIGNAL_AT
    owned = reading.tags.get("ownership", 0.0) >= SIGNAL_AT or concrete >= SIGNAL_AT
    if paraphrased and owned:
        reasons.append(AngerReason(cause=RECOVERED, delta=RECOVERY * _gain(persona, temper, False)))
    return reasons


def _pushes_up(reading: ToneReading, meaning: TurnMeaning | None, repeated_failure: bool) -> bool:
    """Does the turn brush the customer off, wall, deflect, repeat or re-ask?"""
    if repeated_failure:
        return True
    if any(reading.tags.get(t, 0.0) >= SIGNAL_AT for t in PUSHING_TAGS):
        return True
    return meaning is not None and any(
        meaning.moves.get(m, 0.0) >= SIGNAL_AT for m in SIGNAL_WEIGHTS if m != "monologue"
    )


def _heard(meaning: TurnMeaning | None, reading: ToneReading) -> TurnMeaning | None:
    """The moves the customer hears: the learned reader's escalating moves and its
    direction count unless the turn is mainly a question, a restatement, empathy or an
    apology (which the apology rules weigh),
    which that reader, trained on a few hundred turns, confuses with stalling."""
    if meaning is None:
        return None
    if meaning.owns:
        # the turn takes the fault on ("it points at our network, not your kit"): the
        # words of blame or deflection the learned reader hears in it are what it takes back
        kept = meaning.direction if _likely(meaning)[0] != "rise" else {}
        return meaning.model_copy(update={"learned": {}, "direction": kept})
    if reading.primary in GENTLE_PRIMARY:
        # its "hold" is safe to hear (it only stops a fall); its "rise" and moves are not
        kept = meaning.direction if _likely(meaning)[0] != "rise" else {}
        return meaning.model_copy(update={"learned": {}, "direction": kept})
    learned, direction = meaning.learned, meaning.direction
    if any(reading.tags.get(t, 0.0) >= SIGNAL_AT for t in FEELING_TAGS):
        # a sorry or a kind word: the learned reader must be sure to call it stalling
        learned = {m: c for m, c in learned.items() if c >= LEARNED_SURE}
        if direction.get("rise", 0.0) < LEARNED_SURE:
            direction = {}
    merged = dict(meaning.moves)
    for move, conf in learned.items():
        merged[move] = max(conf, merged.get(move, 0.0))
    return meaning.model_copy(update={"moves": merged, "direction": direction})


def _top(probs: dict[str, float]) -> tuple[str, float]:
    """The likeliest direction and its probability ("", 0 when there are none)."""
    if not probs:
        return ("", 0.0)
    best = max(probs, key=probs.__getitem__)
    return best, probs[best]


def _likely(meaning: TurnMeaning | None) -> tuple[str, float]:
    return _top(meaning.direction) if meaning is not None else ("", 0.0)


def _empty(reading: ToneReading, meaning: TurnMeaning | None, acted: bool) -> bool:
    """Feelings (or a promise without a when) and nothing that moves the problem on."""
    if acted or meaning is None:
        return False
    progress = ("question", "paraphrase", "summary")
    if any(reading.tags.get(t, 0.0) >= SIGNAL_AT for t in progress):
        return False
    feelings = any(reading.tags.get(t, 0.0) >= MIN_CONFIDENCE for t in ("apology", "empathy"))
    return feelings or meaning.has("vague_action")


def _follow_uptake(
    uptake: str,
    p_uptake: float,
    moved: float,
    persona: Persona,
    temper: Temper,
    state: AngerState,
    rise_floor: float,
    *,
    resolution_offered: bool,
    facts_push: bool,
    grating: bool,
    pushing: bool,
) -> list[AngerReason]:
    """The step follows how an upset customer takes the turn, within the call's facts: the
    failure repeated or a pack trigger still angers, an accepted resolution still calms,
    feelings-only talk again and again never calms, and a turn heard as a brush-off, a
    wall or blame is not made to calm."""
    if uptake == "rise" and not resolution_offered and moved < rise_floor:
        return [AngerReason(cause="taken badly", delta=rise_floor - moved)]
    if grating and uptake != "rise":
        floor = EMPTY_AGAIN * min(max(state.empty_turns, 1), 2) * temper.sensitivity
        if moved < floor:
            return [AngerReason(cause="nothing done, again", delta=floor - moved)]
        return []
    if uptake == "hold":
        low = -HOLD_CAP * temper.recovery
        if moved < low and not resolution_offered:
            return [AngerReason(cause="nothing done for the problem", delta=low - moved)]
        if moved > HOLD_CAP and not facts_push:
            return [AngerReason(cause="taken in its stride", delta=HOLD_CAP - moved)]
    if uptake == "fall" and p_uptake >= UPTAKE_FALL_AT and not (facts_push or pushing):
        fall = -MIN_FALL * persona.sensitivity * temper.recovery
        if moved > fall:
            return [AngerReason(cause="taken well", delta=fall - moved)]
    return []


def _meaning_floors(
    reading: ToneReading,
    meaning: TurnMeaning | None,
    moved: float,
    persona: Persona,
    temper: Temper,
    state: AngerState,
    rise_floor: float,
    *,
    concrete: bool,
    resolution_offered: bool,
    repeated_failure: bool,
    empty: bool,
) -> list[AngerReason]:
    """Without a sure uptake: the meaning reader's and the moves model's floors."""
    likely, p_likely = _likely(meaning)
    heard_rise = likely == "rise" and p_likely >= DIRECTION_AT
    pushes = (_pushes_up(reading, meaning, repeated_failure) or heard_rise) and not (
        concrete or resolution_offered
    )
    if pushes and moved < rise_floor:
        return [AngerReason(cause="brushed off, nothing done", delta=rise_floor - moved)]
    if empty and state.empty_turns >= 1 and state.anger >= persona.baseline_anger:
        floor = EMPTY_AGAIN * min(state.empty_turns, 2) * temper.sensitivity
        if moved < floor:
            return [AngerReason(cause="nothing done, again", delta=floor - moved)]
        return []
    if (
        likely == "hold"
        and not (concrete or resolution_offered)
        and moved < -HOLD_CAP * temper.recovery
    ):
        cap = -HOLD_CAP * temper.recovery
        return [AngerReason(cause="nothing done for the problem", delta=cap - moved)]
    return []


# causes that are the call's facts or a push the rules are sure of: the learned direction
# never makes such a turn calm (and never holds one the facts push up)
FACT_CAUSES = frozenset({"failure repeated", "trigger", "abuse", "odd remark", MISREAD_CAUSE})
PUSH_CAUSES = frozenset(
    {
        "brush-off", "sent elsewhere", "policy as the answer", "a flat no",
        "asked again for what was already said", "the fault put elsewhere",
        "brushed off, nothing done", "taken badly", "nothing done, again",
        "apologies without action", "another promise without a when",
    }
)  # fmt: skip
TAKEN = "as people take it"
TAKEN_LEAST = 1.5  # the least a learned rise or fall moves anger (more than a hold)


def _bounded(anger: float, floor: float, reasons: list[AngerReason]) -> float:
    """Anger kept within [floor, 100], the clipping added to the reasons."""
    bounded = min(100.0, max(floor, anger))
    if bounded != anger:
        cause = "no resolution yet" if bounded == floor and floor > 0 else "limit"
        reasons.append(AngerReason(cause=cause, delta=bounded - anger))
    return bounded


def taken_as(
    probs: dict[str, float],
    sure: float,
    moved: float,
    reasons: Sequence[AngerReason],
    *,
    rise: float,
    fall: float,
    owned: bool = False,
) -> AngerReason | None:
    """The step moved towards the learned direction when it is sure and the call's facts
    allow it: the rules' size where they agree, ``rise`` or ``fall`` (at least) where not.
    A resolution offered or a recovery (heard and owned) keeps the rules' step; the failure
    repeated, a pack trigger or abuse is never held or calmed (only a rise is taken); a turn
    the rules hear pushing (a brush-off, a wall, a re-ask...) never calms; a turn that takes
    the fault on, takes a doubt back or grants the customer's right (``owned``) is never
    taken badly."""
    way = max(probs, key=probs.__getitem__)
    if probs[way] < sure:
        return None
    kinds = {r.cause.split(":")[0].strip() for r in reasons if r.delta > 0}
    if {r.cause for r in reasons} & {"resolution offered", RECOVERED}:
        return None
    if kinds & FACT_CAUSES and way != "rise":
        return None  # the failure repeated, a pack trigger, abuse: never held or calmed
    if way == "rise":
        if owned:
            return None
        target = max(moved, rise)
    elif way == "hold":
        target = min(HOLD_CAP, max(-HOLD_CAP, moved))
    elif kinds & PUSH_CAUSES:
        return None
    else:
        target = min(moved, -fall)
    return AngerReason(cause=TAKEN, delta=target - moved) if abs(target - moved) > 0.01 else None


def step(
    state: AngerState,
    reading: ToneReading,
    persona: Persona,
    *,
    resolution_offered: bool,
    repeated_failure: bool,
    extra: Sequence[AngerReason] = (),
    meaning: TurnMeaning | None = None,
    temper: Temper | None = None,
    direction: DirectionJudge | None = None,
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
        meaning: what the turn does (``customer.meaning``); without it, tone alone.
        temper: the difficulty's scaling (``customer.difficulty``); standard if None.
        direction: the learned direction (``customer.direction``): when it is sure, the
            step goes the way people said such turns go, within the call's facts.
    """
    temper = temper or Temper()
    before = state.anger
    read_as = (reading, meaning)  # as read, for the learned direction (its training data)
    reads_back = meaning is not None and "read-back" in (meaning.neutral or "")
    if meaning is not None and (meaning.owns or reads_back):
        # "that's on us, not you", "sorry, I shouldn't have quoted policy": the blame or the
        # policy the tone reader hears in it is what the turn takes back; in a neutral
        # read-back ("..., the engineer didn't get to you till Tuesday. Is that it?") it is
        # the customer's own account
        kept = {t: c for t, c in reading.tags.items() if t not in TAKEN_BACK}
        reading = reading.model_copy(update={"tags": kept})
    meaning = _heard(meaning, reading)
    concrete = meaning is not None and meaning.has("concrete_action")
    promise_only = meaning is not None and meaning.has("vague_action") and not concrete
    apology = reading.tags.get("apology", 0.0) >= MIN_CONFIDENCE
    tagged_action = any(reading.tags.get(t, 0.0) >= MIN_CONFIDENCE for t in ACTION_TAGS)
    acted = resolution_offered or concrete or (tagged_action and not promise_only)
    # does the turn do something about the problem? The tone tags of action alone often
    # hear it in explanations; the learned reader of what a turn does decides when present
    on_table = resolution_offered or (state.resolution_offered and not repeated_failure)
    for_problem = (
        on_table
        or concrete
        or (acted and (meaning is None or meaning.acts is None or meaning.acts >= SIGNAL_AT))
    )
    reasons = _tone_reasons(
        reading,
        persona,
        state.apologies_without_action,
        temper,
        promise_only and not resolution_offered,
    )
    if apology and not acted and state.apologies_without_action >= 2:
        reasons.append(AngerReason(cause="apologies without action", delta=EMPTY_APOLOGY_PENALTY))
    if meaning is not None:
        reasons += _meaning_reasons(
            meaning, reading, state, persona, temper, reasons, resolution_offered
        )
    for reason in extra:
        scale = (
            persona.sensitivity * temper.sensitivity
            if reason.delta > 0
            else FALL_GAIN * temper.recovery
        )
        reasons.append(AngerReason(cause=reason.cause, delta=reason.delta * scale))
    if repeated_failure:
        reasons.append(
            AngerReason(
                cause="failure repeated",
                delta=REPEATED_FAILURE * persona.sensitivity * temper.sensitivity,
            )
        )
    if resolution_offered:
        first = not state.resolution_offered or repeated_failure
        size = RESOLUTION_FIRST if first else RESOLUTION_AGAIN
        gain = FALL_GAIN * temper.recovery
        gain *= PROACTIVE_ACTION if persona.aggression == "proactive" else 1.0
        reasons.append(AngerReason(cause="resolution offered", delta=-size * gain))

    # Being heard stops the rise; only doing something about the problem brings anger
    # down (people who read turns without the model's numbers say so, data/tone/)
    if not for_problem:
        heard = sum(r.delta for r in reasons if r.delta < 0 and r.cause in HEARING)
        if heard < -LISTEN_CAP:
            reasons.append(AngerReason(cause="heard, nothing done yet", delta=-LISTEN_CAP - heard))

    # The direction: the tone encoder's uptake when it is sure (learned from people's
    # labels of which way anger goes), bounded by what the call itself says; else the
    # meaning floors: a brush-off (etc.) that does nothing else never lowers anger, nor
    # does feelings-only talk after the first time.
    moved = sum(r.delta for r in reasons)
    uptake, p_uptake = _top(reading.uptake)
    empty = _empty(reading, meaning, acted)
    # what the call itself says, whatever the words sound like
    abusive = meaning is not None and meaning.has("abusive")
    facts_push = repeated_failure or abusive or any(r.delta > 0 for r in extra)
    grating = (state.apologies_without_action >= 2 and apology and not acted) or (
        empty and state.empty_turns >= 1
    )
    rise_floor = MIN_RISE * persona.sensitivity * temper.sensitivity
    if uptake and p_uptake >= UPTAKE_AT:
        reasons += _follow_uptake(
            uptake, p_uptake, moved, persona, temper, state, rise_floor,
            resolution_offered=resolution_offered, facts_push=facts_push, grating=grating,
            pushing=_pushes_up(reading, meaning, repeated_failure) and not concrete,
        )  # fmt: skip
    else:
        reasons += _meaning_floors(
            reading, meaning, moved, persona, temper, state, rise_floor,
            concrete=concrete, resolution_offered=resolution_offered,
            repeated_failure=repeated_failure or facts_push, empty=empty,
        )  # fmt: skip
    settled = bool(uptake) and p_uptake >= UPTAKE_AT and uptake != "fall"
    most = MAX_RISE * persona.sensitivity * temper.sensitivity
    total = sum(r.delta for r in reasons if r.cause != "failure repeated")
    if total > most and not abusive:
        reasons.append(AngerReason(cause="one turn's worth", delta=most - total))

    anger = before + sum(r.delta for r in reasons)
    decay = (persona.baseline_anger - anger) * DECAY
    pushing_other_way = any(r.delta * decay < 0 for r in reasons)
    # An aggrieved customer does not cool off because a turn went by: drift down comes
    # only with a turn that itself calms (an action, a fair question, being heard) or once
    # a resolution is on the table; a turn that does nothing holds. Below the baseline the
    # customer drifts back up.
    if decay < 0 and (
        settled or not (for_problem or resolution_offered or state.resolution_offered)
    ):
        decay = 0.0  # (nor when the turn's uptake says it holds or angers)
    if abs(decay) >= 0.05 and not pushing_other_way:
        reasons.append(AngerReason(cause="drift to baseline", delta=decay))
        anger += decay

    # A question, a look-up, a hold, a read-back, an identity check: the customer is left
    # where they were, whatever the words sound like (customer/neutral.py), unless the call
    # itself says otherwise (a pack trigger, the failure repeated, abuse)
    # (a restatement the tone reader hears as listening may still bring anger down, but
    # never up)
    listened = any(reading.tags.get(t, 0.0) >= SIGNAL_AT for t in (*FEELING_TAGS, "ownership"))
    if meaning is not None and meaning.neutral and not (facts_push or resolution_offered):
        moved = anger - before
        low = moved if listened else -NEUTRAL_HOLD
        held = min(NEUTRAL_HOLD, max(low, moved))
        if held != moved:
            reasons.append(AngerReason(cause=f"neutral: {meaning.neutral}", delta=held - moved))
            anger = before + held

    floor = 0.0 if on_table else min(before, CALM_BELOW)
    if concrete and not on_table:
        floor = max(0.0, floor - ACTION_INTO_CALM)  # a real step, not yet what they want
    anger = _bounded(anger, floor, reasons)
    if direction is not None:
        taken = taken_as(
            direction.probabilities(features(state, reasons, *read_as, persona, temper)),
            direction.sure, anger - before, reasons,
            rise=max(TAKEN_LEAST, MIN_RISE * persona.sensitivity * temper.sensitivity),
            fall=max(TAKEN_LEAST, MIN_FALL * persona.sensitivity * temper.recovery),
            owned=read_as[1] is not None and read_as[1].owns,
        )  # fmt: skip
        if taken is not None:
            reasons.append(taken)
            anger = _bounded(anger + taken.delta, floor, reasons)
    bounded = anger

    new_state = AngerState(
        anger=bounded,
        apologies_without_action=(
            0 if acted else state.apologies_without_action + (1 if apology else 0)
        ),
        resolution_offered=on_table,
        turns=state.turns + 1,
        empty_turns=0 if acted else state.empty_turns + (1 if empty else 0),
        vague_promises=(
            0
            if concrete or resolution_offered
            else state.vague_promises + (1 if promise_only else 0)
        ),
    )
    rounded = [AngerReason(cause=r.cause, delta=round(r.delta, 2)) for r in reasons if r.delta]
    return new_state, AngerStep(before=before, after=bounded, band=band(bounded), reasons=rounded)
