"""The examiner's spoken debrief: 3-5 questions from the points shown by explaining.

Questions are data (``debrief_questions`` in the rubric YAML) with optional
placeholders filled from the call; a question whose placeholder cannot be filled is
skipped in favour of the point's next one. Points shown only in the debrief come first,
then those shown in both; call-only points top up when there are too few.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

from calmline.evaluate.match import match_turn
from calmline.models import MarkingPoint, NegativeTagParams, Rubric, SessionRecord

MAX_QUOTE_WORDS = 14


def _short(text: str, words: int = MAX_QUOTE_WORDS) -> str:
    parts = text.replace('"', "'").split()
    return " ".join(parts[:words]) + ("..." if len(parts) > words else "")


def _peak_customer_line(session: SessionRecord) -> str | None:
    lines = [t for t in session.turns if t.speaker == "customer" and t.phase == "call" and t.text]
    if not lines:
        return None
    with_anger = [t for t in lines if t.anger is not None]
    if with_anger:
        peak = max(with_anger, key=lambda t: t.anger.after if t.anger else 0.0)
    else:  # a typed transcript: the most emphatic line stands in for the angriest
        peak = max(lines, key=lambda t: (t.text.count("!"), len(t.text)))
    return _short(peak.text)


def _learner_slip(session: SessionRecord, point: MarkingPoint) -> str | None:
    """The first call turn where this point's common mistakes showed, if any."""
    for check in point.checks:
        params = check.params
        if check.kind != "negative_tag" or not isinstance(params, NegativeTagParams):
            continue
        for turn in session.learner_turns("call"):
            hit = match_turn(params, turn, turn.tone)
            if hit is not None:
                return _short(hit.quote)
    return None


def placeholders(session: SessionRecord, point: MarkingPoint) -> dict[str, str]:
    values = {
        "scenario_title": session.scenario_title or None,
        "peak_customer_line": _peak_customer_line(session),
        "learner_slip_quote": _learner_slip(session, point),
    }
    return {k: v for k, v in values.items() if v}


def _fill(question: str, values: dict[str, str], used: set[str]) -> str | None:
    """``question`` with its placeholders filled, or ``None`` when one is unknown or its
    value was already quoted in an earlier question (the learner hears each quote once)."""
    names = [f for _, f, _, _ in string.Formatter().parse(question) if f]
    if any(n not in values or values[n] in used for n in names):
        return None
    return question.format(**{n: values[n] for n in names})


def build_debrief_questions(
    session: SessionRecord,
    rubrics: Sequence[Rubric],
    min_questions: int = 3,
    max_questions: int = 5,
) -> list[str]:
    """The questions the examiner asks after the call, in asking order."""
    points = [p for r in rubrics for p in r.points]
    tiers = [
        [p for p in points if p.shown_by == "debrief"],
        [p for p in points if p.shown_by == "both"],
        [p for p in points if p.shown_by == "call"],
    ]
    chosen: list[str] = []
    spare: list[str] = []
    used: set[str] = set()
    for tier_no, tier in enumerate(tiers):
        for point in tier:
            values = placeholders(session, point)
            filled = [q for q in (_fill(q, values, used) for q in point.debrief_questions) if q]
            if not filled:
                continue
            if tier_no < 2:
                used.update(v for v in values.values() if v in filled[0])
                chosen.append(filled[0])
                spare.extend(filled[1:2])
            else:
                spare.append(filled[0])
    for question in spare:
        if len(chosen) >= min_questions:
            break
        if question not in chosen:
            chosen.append(question)
    return chosen[:max_questions]
