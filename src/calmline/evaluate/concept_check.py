"""The ``concepts`` check: how many distinct concepts the learner names, clause by clause.

Each clause may show several concepts and each concept counts once, wherever it is
said, so "she slammed the box down, her voice was raised and she was talking quickly"
names three indicators. Three guards keep a list of rubric words from earning credit:
clauses showing an ``exclude`` concept count for nothing (a claim such as "I explained
the complaints process to her" is not an explanation), a sentence that names two or
more of the ``generic_labels`` word for word counts as one concept at most, and with
``grounded_words`` a debrief sentence counts only when it shares content words with what
the customer said or did in the call (a trigger of some other customer is not this one's).
"""

from __future__ import annotations

from dataclasses import dataclass

from calmline.evaluate.concepts import ClauseReading
from calmline.evaluate.evidence import evidence_for
from calmline.evaluate.match import CheckContext, phrase_pattern
from calmline.models import Check, CheckResult, ConceptsParams, Evidence, SessionRecord, Turn
from calmline.text import normalise
from calmline.tone.text import content_words


@dataclass(frozen=True)
class Found:
    """Where a concept was first named."""

    concept: str
    score: float
    reading: ClauseReading


def answers_to(ctx: CheckContext, keywords: list[str]) -> list[Turn]:
    """Learner debrief turns; with ``keywords``, only answers to examiner questions holding
    one of them (every answer when no question holds one)."""
    turns = ctx.learner_turns("debrief")
    pattern = phrase_pattern(tuple(keywords))
    if pattern is None:
        return turns
    answering: set[int] = set()
    asked = current = False
    for turn in ctx.session.turns:
        if turn.speaker == "examiner":
            current = bool(pattern.search(normalise(turn.text, fold=True)))
            asked |= current
        elif turn.speaker == "learner" and current:
            answering.add(turn.index)
    return [t for t in turns if t.index in answering] if asked else turns


def turns_to_read(ctx: CheckContext, params: ConceptsParams) -> list[Turn]:
    turns: list[Turn] = []
    if params.phase in ("call", "both"):
        gate = phrase_pattern(tuple(params.call_turns_with))
        turns += [
            t
            for t in ctx.learner_turns("call")
            if gate is None or gate.search(normalise(t.text, fold=True))
        ]
    if params.phase in ("debrief", "both"):
        turns += answers_to(ctx, params.after_question)
    return turns


def _generic(sentence: str, labels: list[str]) -> bool:
    """Does the sentence read two or more rubric labels back word for word?"""
    pattern = phrase_pattern(tuple(labels))
    if pattern is None:
        return False
    return len({m.group(0) for m in pattern.finditer(normalise(sentence, fold=True))}) >= 2


def call_words(session: SessionRecord) -> set[str]:
    """Content words of what the customer said and did in the call, and of the scenario."""
    said = [t.text for t in session.turns if t.speaker == "customer" and t.phase == "call"]
    return content_words(" ".join([session.scenario_title, *said]))


def grounded(r: ClauseReading, params: ConceptsParams, grounds: set[str]) -> bool:
    """Is this clause's debrief sentence borne out by the call (or grounding off)?"""
    if not params.grounded_words or r.turn.phase != "debrief":
        return True
    return len(content_words(r.sentence_text) & grounds) >= params.grounded_words


def found_concepts(ctx: CheckContext, params: ConceptsParams) -> dict[str, Found]:
    """Each concept of ``params.concepts`` named in the turns read, where first named."""
    reader = ctx.reader
    if reader is None:
        return {}
    excluded = set(params.exclude)
    grounds = call_words(ctx.session) if params.grounded_words else set()
    found: dict[str, Found] = {}
    for turn in turns_to_read(ctx, params):
        readings = reader.read(turn, [*params.concepts, *params.exclude])
        generic_used: set[tuple[int, int]] = set()
        for r in readings:
            if excluded & set(r.scores) or not grounded(r, params, grounds):
                continue
            shown = sorted(
                (c for c in params.concepts if c in r.scores and c not in found),
                key=lambda c: -r.scores[c],
            )
            key = (r.sentence.start, r.sentence.end)
            if shown and _generic(r.sentence_text, params.generic_labels):
                if key in generic_used:
                    continue
                generic_used.add(key)
                shown = shown[:1]
            for c in shown:
                found[c] = Found(c, r.scores[c], r)
    return found


def check_concepts(check: Check, ctx: CheckContext) -> CheckResult:
    params = check.params
    assert isinstance(params, ConceptsParams)
    if ctx.reader is None:
        return CheckResult(
            check_id=check.id, passed=False, detail="no embedder: concepts cannot be read"
        )
    if not turns_to_read(ctx, params):
        return CheckResult(
            check_id=check.id, passed=False, detail=f"no learner {params.phase} turns to look in"
        )
    found = found_concepts(ctx, params)
    names = list(found)
    detail = (
        f"{len(names)} distinct: "
        + ", ".join(f"{n} {found[n].score:.2f} (turn {found[n].reading.turn.index})" for n in names)
        if names
        else "none named"
    ) + f"; need {params.min}"
    evidence: list[Evidence] = []
    for n in names:
        r = found[n].reading
        ev = evidence_for(r.turn, r.sentence_text.strip())
        if all((e.turn_index, e.quote) != (ev.turn_index, ev.quote) for e in evidence):
            evidence.append(ev)
    return CheckResult(
        check_id=check.id, passed=len(names) >= params.min, detail=detail, evidence=evidence
    )
