"""Matching learner turns: the context every check reads, and where a match spec fires.

A match spec (``models.MatchSpec``) fires in a turn on a phrase, on a concept shown by
one of the turn's clauses (``evaluate/concepts.py``), on a tone tag at its threshold,
or on seconds spent talking over the customer. Pure: no models are loaded here beyond
the concept classifiers a context builds from the embedder it was given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from calmline.evaluate.concepts import ConceptReader, ConceptScorer, concept_scorer
from calmline.evaluate.evidence import evidence_for, sentence_spans, window
from calmline.models import Evidence, MatchSpec, Phase, SessionRecord, ToneReading, Turn
from calmline.protocols import Embedder
from calmline.text import normalise
from calmline.tone.text import content_words


@dataclass
class CheckContext:
    """What every check may look at. ``tones`` maps learner call turn index -> reading.

    Concepts are read with ``scorer`` when given, else with the bank's classifiers on
    ``embedder``; with neither, match specs fall back to tags and phrases.
    """

    session: SessionRecord
    tones: Mapping[int, ToneReading] = field(default_factory=dict)
    embedder: Embedder | None = None
    scorer: ConceptScorer | None = None
    concepts_folder: Path | None = None
    _reader: ConceptReader | None = None

    def learner_turns(self, phase: Phase) -> list[Turn]:
        return [t for t in self.session.learner_turns(phase) if t.text.strip()]

    @property
    def reader(self) -> ConceptReader | None:
        if self._reader is None:
            scorer = self.scorer
            if scorer is None and self.embedder is not None:
                scorer = concept_scorer(self.embedder, self.concepts_folder)
            if scorer is not None:
                self._reader = ConceptReader(scorer)
        return self._reader


@lru_cache(maxsize=512)
def phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = sorted(
        {normalise(p, fold=True) for p in phrases if normalise(p, fold=True)}, key=len, reverse=True
    )
    if not cleaned:
        return None
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, cleaned)) + r")(?![a-z0-9])")


@dataclass(frozen=True)
class Hit:
    """Where a matcher fired: the turn, the character offset in it, and a verbatim quote."""

    turn: Turn
    offset: int
    quote: str
    via: str  # "phrase 'im sorry'", "concept apology 0.91" or "tone tag apology 0.82"

    @property
    def position(self) -> tuple[int, int]:
        return (self.turn.index, self.offset)


def _quote(text: str, start: int, end: int) -> str:
    sentence = text[start:end]
    return (sentence if len(sentence) <= 220 else window(text, start, end)).strip()


def _echoes(sentence: str, said_before: str, need: int) -> bool:
    return need <= 0 or len(content_words(sentence) & content_words(said_before)) >= need


def _concept_hit(
    spec: MatchSpec, turn: Turn, reader: ConceptReader, said_before: str = ""
) -> Hit | None:
    """The first sentence of ``turn`` showing one of ``spec.concepts`` (and, in the same
    sentence, every one of ``spec.with_concepts``), unless an ``unless`` phrase is in it."""
    unless = phrase_pattern(tuple(spec.unless))
    readings = reader.read(turn, [*spec.concepts, *spec.with_concepts])
    by_sentence: dict[tuple[int, int], set[str]] = {}
    for r in readings:
        by_sentence.setdefault((r.sentence.start, r.sentence.end), set()).update(r.scores)
    for r in readings:
        shown = [c for c in spec.concepts if c in r.scores]
        if not shown:
            continue
        together = by_sentence[(r.sentence.start, r.sentence.end)]
        if any(c not in together for c in spec.with_concepts):
            continue
        if unless is not None and unless.search(normalise(r.sentence_text, fold=True)):
            continue
        if not _echoes(r.sentence_text, said_before, spec.echoes_customer):
            continue
        best = max(shown, key=lambda c: r.scores[c])
        quote = _quote(turn.text, r.sentence.start, r.sentence.end)
        return Hit(turn, r.clause.start, quote, f"concept {best} {r.scores[best]:.2f}")
    return None


def _turn_concepts(turn: Turn, concepts: list[str], reader: ConceptReader | None) -> set[str]:
    if reader is None:
        return set()
    return {c for r in reader.read(turn, concepts) for c in r.scores}


def match_turn(
    spec: MatchSpec,
    turn: Turn,
    tone: ToneReading | None,
    reader: ConceptReader | None = None,
    said_before: str = "",
) -> Hit | None:
    """Does one learner turn show ``spec``: a phrase, a concept, a tone tag or overlap?

    Phrases and concepts win over tags because they say *where* in the turn, which
    makes a better quote.
    """
    pattern = phrase_pattern(tuple(spec.phrases))
    unless = phrase_pattern(tuple(spec.unless))
    if pattern is not None:
        for start, end in sentence_spans(turn.text):
            sentence = turn.text[start:end]
            found = pattern.search(normalise(sentence, fold=True))
            if found and unless is not None and unless.search(normalise(sentence, fold=True)):
                continue
            if found:
                return Hit(turn, start, _quote(turn.text, start, end), f"phrase '{found.group(0)}'")
    if spec.concepts and reader is not None:
        hit = _concept_hit(spec, turn, reader, said_before)
        if hit is not None:
            return hit
    if unless is not None and unless.search(normalise(turn.text, fold=True)):
        tone = None  # the tone tag may have fired on the very phrase ``unless`` rules out
    if tone is not None and (spec.with_concepts or spec.unless_concepts):
        shown = _turn_concepts(turn, [*spec.with_concepts, *spec.unless_concepts], reader)
        if any(c not in shown for c in spec.with_concepts) or shown & set(spec.unless_concepts):
            tone = None
    if tone is not None:
        for tag in spec.tags:
            conf = tone.tags.get(tag, 0.0)
            if conf >= spec.threshold:
                spans = sentence_spans(turn.text) or [(0, len(turn.text))]
                start, end = spans[0]
                quote = turn.text if len(turn.text) <= 220 else window(turn.text, start, end)
                return Hit(turn, 0, quote.strip(), f"tone tag {tag} {conf:.2f}")
        if (
            spec.overlap_s is not None
            and tone.voice is not None
            and tone.voice.overlap_s >= spec.overlap_s
        ):
            return Hit(
                turn,
                0,
                turn.text[:220].strip(),
                f"talked over the customer {tone.voice.overlap_s:.1f}s",
            )
    return None


def customer_before(session: SessionRecord, turn: Turn, lines: int = 2) -> str:
    """The customer's last ``lines`` lines before ``turn``, joined."""
    said = [t.text for t in session.turns if t.index < turn.index and t.speaker == "customer"]
    return " ".join(said[-lines:])


def hits(spec: MatchSpec, ctx: CheckContext, phase: Phase = "call") -> list[Hit]:
    out = []
    for turn in ctx.learner_turns(phase):
        before = customer_before(ctx.session, turn) if spec.echoes_customer else ""
        hit = match_turn(spec, turn, ctx.tones.get(turn.index), ctx.reader, before)
        if hit is not None:
            out.append(hit)
    return out


def hit_evidence(hit: Hit) -> Evidence:
    return evidence_for(hit.turn, hit.quote)
