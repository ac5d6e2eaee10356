"""The offline tier: tone-read the learner's call turns, run every check, apply each rule.

Runs with the bundled MiniLM only (no LLM). Turns that already carry a tone reading
from the live session keep it; the rest are read in one batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from calmline.evaluate.checks import CheckContext, run_check
from calmline.evaluate.hollow import sanitise
from calmline.evaluate.point_model import (
    CallProfile,
    PointModel,
    call_profile,
    features,
    load_point_models,
    model_for,
)
from calmline.evaluate.rules import SCORES, apply_rule, parse_rule
from calmline.models import (
    Assessment,
    CheckResult,
    Evidence,
    MarkingPoint,
    Phase,
    PointVerdict,
    Rubric,
    SessionRecord,
    ToneReading,
    Verdict,
)
from calmline.protocols import Embedder


class ToneReaderLike(Protocol):
    def read_batch(self, items: Sequence[Any]) -> list[ToneReading]: ...


def read_tones(session: SessionRecord, reader: ToneReaderLike | None) -> dict[int, ToneReading]:
    """A reading per learner call turn: the session's own where present, else read now."""
    tones: dict[int, ToneReading] = {}
    todo = []
    previous_customer: str | None = None
    for turn in session.turns:
        if turn.speaker == "customer":
            previous_customer = turn.text
        elif turn.speaker == "learner" and turn.phase == "call":
            if turn.tone is not None:
                tones[turn.index] = turn.tone
            else:
                todo.append((turn, previous_customer))
    if todo and reader is not None:
        from calmline.tone.reader import ToneInput

        voice = [t.tone.voice if t.tone else None for t, _ in todo]
        items = [ToneInput(t.text, ctx, v) for (t, ctx), v in zip(todo, voice, strict=True)]
        for (turn, _), reading in zip(todo, reader.read_batch(items), strict=True):
            tones[turn.index] = reading
    return tones


def evidence_phases(point: MarkingPoint) -> tuple[Phase, ...]:
    """Where a point's quotes may come from. A point shown in the call needs call quotes
    (saying "I paraphrased" in the debrief is not paraphrasing); a point shown by
    explaining may also be explained in so many words during the call."""
    if point.shown_by == "call":
        return ("call",)
    return ("call", "debrief")


def point_evidence(point: MarkingPoint, results: Sequence[CheckResult]) -> list[Evidence]:
    """Quotes from passed positive checks, in the phases this point may be shown in."""
    by_id = {c.id: c for c in point.checks}
    phases = evidence_phases(point)
    out: list[Evidence] = []
    for result in results:
        if not result.passed or by_id[result.check_id].negative:
            continue
        for ev in result.evidence:
            if ev.phase in phases and all(
                (e.turn_index, e.quote) != (ev.turn_index, ev.quote) for e in out
            ):
                out.append(ev)
    return out


def improvement_text(point: MarkingPoint, results: Sequence[CheckResult], verdict: Verdict) -> str:
    if verdict == "met":
        return ""
    by_id = {c.id: c for c in point.checks}
    notes = []
    for result in results:
        check = by_id[result.check_id]
        if result.passed:
            continue
        if check.negative and result.evidence:
            ev = result.evidence[0]
            notes.append(f'Avoid: "{ev.quote}" (turn {ev.turn_index}).')
    return " ".join([*notes, point.improvement]).strip()


def point_features(
    point: MarkingPoint, results: Sequence[CheckResult], profile: CallProfile
) -> Any:
    """What a learned point model reads (``point_model.features``) for one point."""
    passed = {r.check_id: r.passed for r in results}
    verdict = apply_rule(parse_rule(point.rule, [c.id for c in point.checks]), passed)
    return features(point, results, verdict, bool(point_evidence(point, results)), profile)


def verdict_for_point(
    point: MarkingPoint,
    results: Sequence[CheckResult],
    session: SessionRecord,
    model: PointModel | None = None,
    profile: CallProfile | None = None,
) -> PointVerdict:
    """Rule -> verdict (or the point's learned weighing of its checks and the call, where
    one was trained), then the evidence rule: never met (nor partly) without a quote."""
    passed = {r.check_id: r.passed for r in results}
    verdict = apply_rule(parse_rule(point.rule, [c.id for c in point.checks]), passed)
    evidence = point_evidence(point, results)
    if model is not None and profile is not None:
        verdict = model.verdict(point_features(point, results, profile))
    flag_reason = ""
    if verdict != "not_met" and not evidence:
        verdict, flag_reason = "not_met", "no verified learner quote supports this point"
    agreeing = sum(passed.values()) if verdict == "met" else len(passed) - sum(passed.values())
    share = agreeing / max(1, len(passed))
    confidence = 0.55 if verdict == "partly" else 0.5 + 0.4 * share
    if point.shown_by == "debrief" and not session.learner_turns("debrief"):
        confidence = 0.9  # nothing was said in a debrief: certain it was not explained
    return PointVerdict(
        point_id=point.id,
        source=point.source,
        text=point.text,
        verdict=verdict,
        score=SCORES[verdict],
        confidence=round(confidence, 2),
        evidence=evidence,
        checks=list(results),
        improvement=improvement_text(point, results, verdict),
        tier="offline",
        flag_reason=flag_reason,
    )


def score_of(rubric: Rubric, verdicts: Sequence[PointVerdict]) -> float:
    weights = {p.id: p.weight for p in rubric.points}
    total = sum(weights.values()) or 1.0
    return round(sum(weights[v.point_id] * v.score for v in verdicts) / total, 4)


def mark_points(
    ctx: CheckContext, rubric: Rubric, models: Mapping[str, PointModel] | None = None
) -> list[PointVerdict]:
    """Every point of ``rubric`` on a prepared context (its session already sanitised),
    with the learned point ``models`` (None: the shipped ones; empty: rules only).

    A context caches its clause readings, so calibration can mark the same sessions
    many times with different concept thresholds for the price of the checks alone.
    """
    models = load_point_models() if models is None else models
    profile = call_profile(ctx.session, ctx.tones)
    verdicts = []
    for point in rubric.points:
        results = [run_check(check, ctx) for check in point.checks]
        verdicts.append(
            verdict_for_point(point, results, ctx.session, model_for(point, models), profile)
        )
    return verdicts


def assess_offline(
    session: SessionRecord,
    rubric: Rubric,
    tone_reader: ToneReaderLike | None,
    embedder: Embedder | None,
    tones: dict[int, ToneReading] | None = None,
) -> Assessment:
    """One rubric on one session with the offline tier."""
    clean, ignored = sanitise(session)
    if tones is None:
        tones = read_tones(clean, tone_reader)
    ctx = CheckContext(session=clean, tones=tones, embedder=embedder)
    verdicts = mark_points(ctx, rubric)
    score = score_of(rubric, verdicts)
    return Assessment(
        session_id=session.id,
        rubric_id=rubric.id,
        rubric_title=rubric.title,
        judge="offline",
        verdicts=verdicts,
        score=score,
        passed=score >= rubric.pass_mark,
        ignored_instructions=ignored,
    )
