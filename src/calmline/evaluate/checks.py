"""Pure check functions, one per ``Check.kind``: each returns a ``CheckResult`` with evidence.

Inputs are a ``CheckContext`` (the sanitised session, a ``ToneReading`` per learner call
turn, an optional embedder); nothing here loads models or touches files.

* ``tag``: learner turns showing any of ``tags`` (tone reading) or ``phrases``.
* ``negative_tag``: a common mistake; passes when at most ``max_turns`` turns show it.
* ``sequence``: steps first occur in order across the call; ``calm`` steps need no
  escalating turn between their neighbours.
* ``precedes``: ``first`` occurs no later than ``then`` (or ``then`` never occurs).
* ``count_distinct``: distinct concepts named in the debrief, by keyword sets and
  embedding similarity (each debrief sentence counts for one concept at most).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from calmline.evaluate.evidence import evidence_for, normalise, sentence_spans, window
from calmline.models import Check, CheckResult, Evidence, Phase, SessionRecord, ToneReading, Turn
from calmline.protocols import Embedder

DEFAULT_THRESHOLD = 0.5
# What breaks "staying calm" inside a sequence, unless a step names its own.
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


@dataclass
class CheckContext:
    """What every check may look at. ``tones`` maps learner call turn index -> reading."""

    session: SessionRecord
    tones: Mapping[int, ToneReading] = field(default_factory=dict)
    embedder: Embedder | None = None
    _sentence_cache: dict[Phase, list[tuple[Turn, str]]] = field(default_factory=dict)
    _vector_cache: dict[str, npt.NDArray[np.float32]] = field(default_factory=dict)

    def learner_turns(self, phase: Phase) -> list[Turn]:
        return [t for t in self.session.learner_turns(phase) if t.text.strip()]

    def sentences(self, phase: Phase) -> list[tuple[Turn, str]]:
        if phase not in self._sentence_cache:
            self._sentence_cache[phase] = [
                (turn, turn.text[s:e])
                for turn in self.learner_turns(phase)
                for s, e in sentence_spans(turn.text)
            ]
        return self._sentence_cache[phase]

    def vectors(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embeddings of ``texts``, each computed once per context."""
        assert self.embedder is not None
        missing = [t for t in dict.fromkeys(texts) if t not in self._vector_cache]
        if missing:
            for text, vec in zip(missing, self.embedder.embed(missing), strict=True):
                self._vector_cache[text] = vec
        return np.stack([self._vector_cache[t] for t in texts])


# --------------------------------------------------------------------------- matching


@lru_cache(maxsize=512)
def _phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = sorted({normalise(p) for p in phrases if normalise(p)}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, cleaned)) + r")(?![a-z0-9])")


def _strs(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return ()


@dataclass(frozen=True)
class Hit:
    """Where a matcher fired: the turn, the character offset in it, and a verbatim quote."""

    turn: Turn
    offset: int
    quote: str
    via: str  # "phrase 'im sorry'" or "tone tag apology 0.82"

    @property
    def position(self) -> tuple[int, int]:
        return (self.turn.index, self.offset)


def match_turn(spec: Mapping[str, Any], turn: Turn, tone: ToneReading | None) -> Hit | None:
    """Does one learner turn show ``spec`` (``tags``/``phrases``/``threshold``/``overlap_s``)?

    Phrases win over tags because they say *where* in the turn, which makes a better quote.
    """
    pattern = _phrase_pattern(_strs(spec.get("phrases")))
    # ``unless``: phrases that undo a match in the same sentence ("sorry, but it's policy").
    unless = _phrase_pattern(_strs(spec.get("unless")))
    if pattern is not None:
        for start, end in sentence_spans(turn.text):
            sentence = turn.text[start:end]
            found = pattern.search(normalise(sentence))
            if found and unless is not None and unless.search(normalise(sentence)):
                continue
            if found:
                quote = sentence if len(sentence) <= 220 else window(turn.text, start, end)
                return Hit(turn, start, quote.strip(), f"phrase '{found.group(0)}'")
    threshold = float(spec.get("threshold", DEFAULT_THRESHOLD))
    if unless is not None and unless.search(normalise(turn.text)):
        tone = None  # the tone tag may have fired on the very phrase ``unless`` rules out
    if tone is not None:
        for tag in _strs(spec.get("tags")):
            conf = tone.tags.get(tag, 0.0)
            if conf >= threshold:
                spans = sentence_spans(turn.text) or [(0, len(turn.text))]
                start, end = spans[0]
                quote = turn.text if len(turn.text) <= 220 else window(turn.text, start, end)
                return Hit(turn, 0, quote.strip(), f"tone tag {tag} {conf:.2f}")
        overlap = spec.get("overlap_s")
        if (
            overlap is not None
            and tone.voice is not None
            and tone.voice.overlap_s >= float(overlap)
        ):
            return Hit(
                turn,
                0,
                turn.text[:220].strip(),
                f"talked over the customer {tone.voice.overlap_s:.1f}s",
            )
    return None


def hits(spec: Mapping[str, Any], ctx: CheckContext, phase: Phase = "call") -> list[Hit]:
    out = []
    for turn in ctx.learner_turns(phase):
        hit = match_turn(spec, turn, ctx.tones.get(turn.index))
        if hit is not None:
            out.append(hit)
    return out


def _ev(hit: Hit) -> Evidence:
    return evidence_for(hit.turn, hit.quote)


# --------------------------------------------------------------------------- kinds


def check_tag(check: Check, ctx: CheckContext) -> CheckResult:
    phase: Phase = "debrief" if check.params.get("phase") == "debrief" else "call"
    found = hits(check.params, ctx, phase)
    need = int(check.params.get("min_turns", 1))  # type: ignore[call-overload]
    detail = f"{len(found)} turn(s) matched, need {need}"
    if found:
        detail += ": " + "; ".join(f"turn {h.turn.index} by {h.via}" for h in found[:3])
    return CheckResult(
        check_id=check.id,
        passed=len(found) >= need,
        detail=detail,
        evidence=[_ev(h) for h in found[:3]],
    )


def check_negative_tag(check: Check, ctx: CheckContext) -> CheckResult:
    found = hits(check.params, ctx, "call")
    allowed = int(check.params.get("max_turns", 0))  # type: ignore[call-overload]
    passed = len(found) <= allowed
    detail = (
        "mistake not seen"
        if not found
        else "seen in " + "; ".join(f"turn {h.turn.index} ({h.via})" for h in found[:3])
    )
    # Evidence on a negative check is evidence *of the mistake*; reports show it as such.
    return CheckResult(
        check_id=check.id, passed=passed, detail=detail, evidence=[_ev(h) for h in found[:3]]
    )


def _first(spec: Mapping[str, Any], ctx: CheckContext) -> Hit | None:
    found = hits(spec, ctx, "call")
    return min(found, key=lambda h: h.position) if found else None


def _calm_between(ctx: CheckContext, lo: int, hi: int, spec: Mapping[str, Any]) -> Hit | None:
    """The first escalating learner turn with index in [lo, hi], if any."""
    breakers = {
        "tags": spec.get("breakers", list(CALM_BREAKERS)),
        "phrases": spec.get("breaker_phrases", list(CALM_BREAKER_PHRASES)),
        "threshold": spec.get("threshold", 0.6),
    }
    for turn in ctx.learner_turns("call"):
        if lo <= turn.index <= hi:
            hit = match_turn(breakers, turn, ctx.tones.get(turn.index))
            if hit is not None:
                return hit
    return None


def check_sequence(check: Check, ctx: CheckContext) -> CheckResult:
    steps = [s for s in check.params.get("steps", []) if isinstance(s, dict)]  # type: ignore[attr-defined]
    firsts: list[Hit | None] = [None if s.get("calm") else _first(s, ctx) for s in steps]
    notes: list[str] = []
    missing = [
        s["name"] for s, h in zip(steps, firsts, strict=True) if not s.get("calm") and h is None
    ]
    in_order = True
    last = -1
    for step, hit in zip(steps, firsts, strict=True):
        if hit is None:
            continue
        notes.append(f"{step['name']}@turn {hit.turn.index}")
        # Order across turns: two steps in the same turn count as in order.
        if hit.turn.index < last:
            in_order = False
        last = max(last, hit.turn.index)
    calm_ok = True
    for i, step in enumerate(steps):
        if not step.get("calm"):
            continue
        before = [h for h in firsts[:i] if h is not None]
        after = [h for h in firsts[i + 1 :] if h is not None]
        lo = before[-1].turn.index if before else 0
        hi = after[0].turn.index if after else 10**9
        breaker = _calm_between(ctx, lo, hi, step)
        if breaker is not None:
            calm_ok = False
            notes.append(f"{step['name']} broken at turn {breaker.turn.index} ({breaker.via})")
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
        evidence=[_ev(h) for h in firsts if h is not None] if passed else [],
    )


def check_precedes(check: Check, ctx: CheckContext) -> CheckResult:
    first_spec = check.params.get("first", {})
    then_spec = check.params.get("then", {})
    assert isinstance(first_spec, dict) and isinstance(then_spec, dict)
    first, then = _first(first_spec, ctx), _first(then_spec, ctx)
    if then is None:
        return CheckResult(check_id=check.id, passed=True, detail="the later step never occurs")
    if first is not None and first.position <= then.position:
        return CheckResult(
            check_id=check.id,
            passed=True,
            detail=f"turn {first.turn.index} before turn {then.turn.index}",
            evidence=[_ev(first)],
        )
    where = "never" if first is None else f"only at turn {first.turn.index}"
    return CheckResult(
        check_id=check.id,
        passed=False,
        detail=f"turn {then.turn.index} came first ({then.via}); the earlier step {where}",
        evidence=[_ev(then)],
    )


def check_count_distinct(check: Check, ctx: CheckContext) -> CheckResult:
    params = check.params
    phase: Phase = "call" if params.get("phase") == "call" else "debrief"
    concepts_raw = params.get("concepts", {})
    assert isinstance(concepts_raw, dict)
    concepts = {str(k): _strs(v) for k, v in concepts_raw.items()}
    sentences = _answers_to(ctx, phase, _strs(params.get("after_question")))
    need = int(params.get("min", 1))  # type: ignore[call-overload]
    required = list(_strs(params.get("required")))
    if not sentences:
        return CheckResult(
            check_id=check.id, passed=False, detail=f"no learner {phase} answers to look in"
        )
    found: dict[str, tuple[Turn, str, str]] = {}
    used: set[int] = set()
    for name, phrases in concepts.items():
        pattern = _phrase_pattern(phrases)
        for i, (turn, sentence) in enumerate(sentences):
            m = pattern.search(normalise(sentence)) if pattern else None
            if m:
                found[name] = (turn, sentence, f"'{m.group(0)}'")
                used.add(i)
                break
    if ctx.embedder is not None:
        similarity = float(str(params.get("similarity", 0.72)))
        _embed_concepts(ctx, concepts, sentences, found, used, similarity)
    names = sorted(found)
    passed = len(names) >= need and all(r in found for r in required)
    detail = (
        f"{len(names)} distinct ({', '.join(f'{n} via {found[n][2]}' for n in names)})"
        if names
        else "none named"
    )
    detail += f"; need {need}"
    missing_required = [r for r in required if r not in found]
    if missing_required:
        detail += f"; missing required: {', '.join(missing_required)}"
    evidence: list[Evidence] = []
    for name in names:
        turn, sentence, _ = found[name]
        ev = evidence_for(turn, sentence.strip())
        if all((e.turn_index, e.quote) != (ev.turn_index, ev.quote) for e in evidence):
            evidence.append(ev)
    return CheckResult(check_id=check.id, passed=passed, detail=detail, evidence=evidence)


def _answers_to(
    ctx: CheckContext, phase: Phase, keywords: tuple[str, ...]
) -> list[tuple[Turn, str]]:
    """Learner sentences of ``phase``; with ``keywords``, only the answers to examiner
    questions containing one of them (all answers when no question matches)."""
    sentences = ctx.sentences(phase)
    pattern = _phrase_pattern(keywords)
    if pattern is None:
        return sentences
    answering: set[int] = set()
    current = False
    for turn in ctx.session.turns:
        if turn.speaker == "examiner":
            current = bool(pattern.search(normalise(turn.text)))
        elif turn.speaker == "learner" and current:
            answering.add(turn.index)
    asked = any(
        t.speaker == "examiner" and pattern.search(normalise(t.text)) for t in ctx.session.turns
    )
    return [(t, s) for t, s in sentences if t.index in answering] if asked else sentences


def _embed_concepts(
    ctx: CheckContext,
    concepts: Mapping[str, tuple[str, ...]],
    sentences: Sequence[tuple[Turn, str]],
    found: dict[str, tuple[Turn, str, str]],
    used: set[int],
    threshold: float,
) -> None:
    """Concepts not found by keyword, matched by similarity; one concept per sentence."""
    todo = [n for n in concepts if n not in found and concepts[n]]
    free = [i for i in range(len(sentences)) if i not in used]
    if not todo or not free:
        return
    sent_vecs = ctx.vectors([sentences[i][1] for i in free])
    best: list[tuple[float, str, int]] = []
    for name in todo:
        protos = ctx.vectors(list(concepts[name]))
        sims = sent_vecs @ protos.T  # (free sentences, prototypes)
        row = int(np.argmax(sims.max(axis=1)))
        best.append((float(sims[row].max()), name, free[row]))
    for score, name, idx in sorted(best, reverse=True):
        if score >= threshold and idx not in used:
            turn, sentence = sentences[idx]
            found[name] = (turn, sentence, f"similarity {score:.2f}")
            used.add(idx)


CHECKS: dict[str, Callable[[Check, CheckContext], CheckResult]] = {
    "tag": check_tag,
    "negative_tag": check_negative_tag,
    "sequence": check_sequence,
    "precedes": check_precedes,
    "count_distinct": check_count_distinct,
}


def run_check(check: Check, ctx: CheckContext) -> CheckResult:
    return CHECKS[check.kind](check, ctx)
