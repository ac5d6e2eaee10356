"""Hollow text: learner sentences that name or copy a technique instead of showing it.

Two kinds are removed from learner turns before any check runs (``sanitise``), beside the
notes addressed to the marker (``evidence.strip_marker_instructions``):

* in the call, a sentence that announces a technique ("I acknowledge your feelings",
  "I am now paraphrasing", "the apology is noted on the system"): naming it is not doing it;
* anywhere, a sentence sharing ``copied_words`` consecutive words with the syllabus (the
  seed files the rubrics cite): reading the syllabus back is not an answer.

The phrases and the run length are data (``rubrics/hollow.yaml``).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from calmline.evaluate.evidence import evidence_for, sentence_spans, strip_marker_instructions
from calmline.evaluate.match import phrase_pattern
from calmline.models import Evidence, SessionRecord, Turn
from calmline.paths import rubrics_dir
from calmline.text import normalise

HOLLOW_FILE = "hollow.yaml"


class HollowRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    technique_names: list[str] = Field(default_factory=list)
    copied_words: int = Field(default=6, ge=3)


@lru_cache(maxsize=8)
def load_hollow_rules(folder: Path | None = None) -> HollowRules:
    path = (folder or rubrics_dir()) / HOLLOW_FILE
    if not path.is_file():
        return HollowRules()
    return HollowRules.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def shingles(text: str, n: int) -> set[tuple[str, ...]]:
    """Every run of ``n`` consecutive normalised words of ``text``."""
    words = normalise(text, fold=True).split()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@lru_cache(maxsize=8)
def syllabus_shingles(n: int, folder: Path | None = None) -> frozenset[tuple[str, ...]]:
    """Runs of ``n`` words in the seed files (empty when there are none)."""
    from calmline.evaluate.rubric import seeds_dir

    where = folder or seeds_dir()
    texts = [p.read_text(encoding="utf-8") for p in sorted(where.glob("*.txt"))]
    return frozenset(s for t in texts for s in shingles(t, n))


def hollow_spans(
    turn: Turn, rules: HollowRules, syllabus: Iterable[tuple[str, ...]] = frozenset()
) -> list[tuple[int, int]]:
    """Sentences of a learner ``turn`` that name a technique (call) or copy the syllabus."""
    naming = phrase_pattern(tuple(rules.technique_names)) if turn.phase == "call" else None
    copied = syllabus if isinstance(syllabus, (set, frozenset)) else set(syllabus)
    spans = []
    for start, end in sentence_spans(turn.text):
        sentence = turn.text[start:end]
        names = naming is not None and bool(naming.search(normalise(sentence, fold=True)))
        if names or (copied and shingles(sentence, rules.copied_words) & copied):
            spans.append((start, end))
    return spans


def strip_hollow(
    session: SessionRecord,
    rules: HollowRules | None = None,
    syllabus: frozenset[tuple[str, ...]] | None = None,
) -> tuple[SessionRecord, list[Evidence]]:
    """A copy of ``session`` without hollow learner sentences, and those sentences."""
    rules = rules or load_hollow_rules()
    if syllabus is None:
        syllabus = syllabus_shingles(rules.copied_words)
    removed: list[Evidence] = []
    turns: list[Turn] = []
    for turn in session.turns:
        spans = hollow_spans(turn, rules, syllabus) if turn.speaker == "learner" else []
        if not spans:
            turns.append(turn)
            continue
        kept, last = [], 0
        for start, end in spans:
            removed.append(evidence_for(turn, turn.text[start:end]))
            kept.append(turn.text[last:start])
            last = end
        kept.append(turn.text[last:])
        turns.append(turn.model_copy(update={"text": " ".join("".join(kept).split())}))
    return session.model_copy(update={"turns": turns}), removed


def sanitise(session: SessionRecord) -> tuple[SessionRecord, list[Evidence]]:
    """``session`` without marker instructions or hollow text; the instructions ignored."""
    clean, ignored = strip_marker_instructions(session)
    clean, _ = strip_hollow(clean)
    return clean, ignored
