"""Pure check functions, one per ``Check.kind``: each returns a ``CheckResult`` with evidence.

Inputs are a ``CheckContext`` (the sanitised session, a ``ToneReading`` per learner call
turn, an optional embedder); nothing here loads models or touches files.

* ``tag``: learner turns showing any of ``tags`` (tone reading) or ``phrases``.
* ``negative_tag``: a common mistake; passes when at most ``max_turns`` turns show it.
* ``sequence``: steps first occur in order across the call; ``calm`` steps need no
  escalating turn between their neighbours.
* ``precedes``: ``first`` occurs no later than ``then`` (or ``then`` never occurs).
* ``concepts``: distinct concepts of ``rubrics/concepts.yaml`` named, clause by clause
  (``evaluate/concept_check.py``).

Every match spec (``tag``, ``negative_tag``, sequence steps, ``precedes``) may also name
concepts: a turn matches when one of its clauses shows one of them.
"""

from __future__ import annotations

from collections.abc import Callable

from calmline.evaluate.concept_check import check_concepts
from calmline.evaluate.match import CheckContext, Hit, hit_evidence, hits, match_turn
from calmline.models import (
    Check,
    CheckResult,
    MatchSpec,
    NegativeTagParams,
    PrecedesParams,
    SequenceParams,
    SequenceStep,
    TagParams,
)

__all__ = ["CHECKS", "CheckContext", "match_turn", "run_check"]

CALM_BREAKERS = ("raised_voice", "sarcasm", "calm_down", "defensive", "dismissive", "blame")
CALM_BREAKER_PHRASES = (
    "calm down",
    "not my fault",
    "no need to shout",
    "stop shouting",
    "dont take it out on me",
    "youre wrong",
    "thats not my problem",
)


# --------------------------------------------------------------------------- kinds


def check_tag(check: Check, ctx: CheckContext) -> CheckResult:
    params = check.params
    assert isinstance(params, TagParams)
    found = hits(params, ctx, params.phase)
    need = params.min_turns
    detail = f"{len(found)} turn(s) matched, need {need}"
    if found:
        detail += ": " + "; ".join(f"turn {h.turn.index} by {h.via}" for h in found[:3])
    return CheckResult(
        check_id=check.id,
        passed=len(found) >= need,
        detail=detail,
        evidence=[hit_evidence(h) for h in found[:3]],
    )


def check_negative_tag(check: Check, ctx: CheckContext) -> CheckResult:
    params = check.params
    assert isinstance(params, NegativeTagParams)
    found = hits(params, ctx, "call")
    passed = len(found) <= params.max_turns
    detail = (
        "mistake not seen"
        if not found
        else f"seen in {len(found)} turn(s): "
        + "; ".join(f"turn {h.turn.index} ({h.via})" for h in found[:3])
    )
    # Evidence on a negative check is evidence *of the mistake*; reports show it as such.
    return CheckResult(
        check_id=check.id,
        passed=passed,
        detail=detail,
        evidence=[hit_evidence(h) for h in found[:3]],
    )


def _first(spec: MatchSpec, ctx: CheckContext) -> Hit | None:
    found = hits(spec, ctx, "call")
    return min(found, key=lambda h: h.position) if found else None


def _calm_between(ctx: CheckContext, lo: int, hi: int, step: SequenceStep) -> Hit | None:
    """The first escalating learner turn with index in [lo, hi], if any."""
    breakers = MatchSpec(
        tags=list(CALM_BREAKERS) if step.breakers is None else step.breakers,
        phrases=list(CALM_BREAKER_PHRASES)
        if step.breaker_phrases is None
        else step.breaker_phrases,
        concepts=step.breaker_concepts,
        threshold=step.threshold if step.threshold != 0.5 else 0.6,
    )
    for turn in ctx.learner_turns("call"):
        if lo <= turn.index <= hi:
            hit = match_turn(breakers, turn, ctx.tones.get(turn.index), ctx.reader)
            if hit is not None:
                return hit
    return None


def check_sequence(check: Check, ctx: CheckContext) -> CheckResult:
    params = check.params
    assert isinstance(params, SequenceParams)
    steps = params.steps
    firsts: list[Hit | None] = [None if s.calm else _first(s, ctx) for s in steps]
    notes: list[str] = []
    missing = [s.name for s, h in zip(steps, firsts, strict=True) if not s.calm and h is None]
    in_order = True
    last = -1
    for step, hit in zip(steps, firsts, strict=True):
        if hit is None:
            continue
        notes.append(f"{step.name}@turn {hit.turn.index}")
        # Order across turns: two steps in the same turn count as in order.
        if hit.turn.index < last:
            in_order = False
        last = max(last, hit.turn.index)
    calm_ok = True
    for i, step in enumerate(steps):
        if not step.calm:
            continue
        before = [h for h in firsts[:i] if h is not None]
        after = [h for h in firsts[i + 1 :] if h is not None]
        lo = before[-1].turn.index if before else 0
        hi = after[0].turn.index if after else 10**9
        breaker = _calm_between(ctx, lo, hi, step)
        if breaker is not None:
            calm_ok = False
            notes.append(f"{step.name} broken at turn {breaker.turn.index} ({breaker.via})")
    passed = not missing and in_order and calm_ok
    detail = " -> ".join(notes) or "no step seen"
    if missing:
        detail += f"; missing: {', '.join(missing)}"
    if not in_order:
        detail += "; steps out of order"
    return CheckResult(
        check_id=check.id,
        passed=passed,
        detail=detail,
        evidence=[hit_evidence(h) for h in firsts if h is not None] if passed else [],
    )


def check_precedes(check: Check, ctx: CheckContext) -> CheckResult:
    params = check.params
    assert isinstance(params, PrecedesParams)
    first, then = _first(params.first, ctx), _first(params.then, ctx)
    if then is None:
        return CheckResult(check_id=check.id, passed=True, detail="the later step never occurs")
    if first is not None and first.position <= then.position:
        return CheckResult(
            check_id=check.id,
            passed=True,
            detail=f"turn {first.turn.index} before turn {then.turn.index}",
            evidence=[hit_evidence(first)],
        )
    where = "never" if first is None else f"only at turn {first.turn.index}"
    return CheckResult(
        check_id=check.id,
        passed=False,
        detail=f"turn {then.turn.index} came first ({then.via}); the earlier step {where}",
        evidence=[hit_evidence(then)],
    )


CHECKS: dict[str, Callable[[Check, CheckContext], CheckResult]] = {
    "tag": check_tag,
    "negative_tag": check_negative_tag,
    "sequence": check_sequence,
    "precedes": check_precedes,
    "concepts": check_concepts,
}


def run_check(check: Check, ctx: CheckContext) -> CheckResult:
    return CHECKS[check.kind](check, ctx)
