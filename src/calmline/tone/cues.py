"""The tone cue data (``prompts/tone_cues.yaml``): loading, validation and compiled patterns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calmline.errors import CalmlineError
from calmline.files import read_text
from calmline.models import TONE_TAGS
from calmline.paths import prompts_dir
from calmline.yaml_input import YamlProblem, load_yaml

CUES_FILE = "tone_cues.yaml"


@dataclass(frozen=True)
class CuePattern:
    """One lexical rule: a regex over normalised text and the confidence a hit gives."""

    regex: re.Pattern[str]
    conf: float
    negatable: bool


@dataclass(frozen=True)
class TagCues:
    """Everything that says one tag is present in a sentence."""

    tag: str
    weight: float
    patterns: tuple[CuePattern, ...]
    unless: tuple[re.Pattern[str], ...]
    prototypes: tuple[str, ...]
    sim_low: float
    sim_high: float
    emb_max: float


@dataclass(frozen=True)
class ParaphraseOptions:
    """How a restatement of the customer's previous line is recognised.

    Attributes:
        weight: contribution to the turn's direction, as for the tags.
        sim_low / sim_high: sentence-to-context cosine ramp giving 0 -> 1.
        sim_weight: the most confidence similarity alone can give.
        min_shared_content: content words the learner must share with the context.
        parrot_overlap: share of the learner's content words copied verbatim from the
            context above which the turn is parroting, not paraphrasing.
        marker_bonus: added when a paraphrase marker ("so what you're saying") is present.
        second_person_bonus: added when the sentence is about "you/your".
        markers: regexes of paraphrase openers.
        not_restating: regexes of sentences that offer or speak for the learner; without
            a marker they halve the confidence.
        marker_alone: the confidence a marker gives a turn read with no customer line
            (nothing to compare against, so the opener is the evidence left).
    """

    weight: float = 0.8
    sim_low: float = 0.30
    sim_high: float = 0.70
    sim_weight: float = 0.5
    min_shared_content: int = 1
    parrot_overlap: float = 0.85
    marker_bonus: float = 0.35
    second_person_bonus: float = 0.15
    marker_alone: float = 0.6
    markers: tuple[re.Pattern[str], ...] = ()
    not_restating: tuple[re.Pattern[str], ...] = ()


@dataclass(frozen=True)
class VoiceOptions:
    """Thresholds for cues heard rather than read (z-scores against the learner's baseline)."""

    raised_low_z: float = 1.0
    raised_high_z: float = 2.5
    raised_min_loudness_z: float = 0.8  # below this, speed and pitch alone never read as raised
    overlap_min_s: float = 0.3
    overlap_full_s: float = 1.5


@dataclass(frozen=True)
class DirectionOptions:
    """How the weighted tag balance becomes escalating / neutral / de-escalating."""

    floor: float = 0.35
    de_escalating_at: float = 0.45
    escalating_at: float = -0.35


@dataclass(frozen=True)
class ToneCues:
    """All cue data, compiled."""

    tags: dict[str, TagCues]
    negators: frozenset[str]
    clause_breaks: frozenset[str]
    paraphrase: ParaphraseOptions = field(default_factory=ParaphraseOptions)
    voice: VoiceOptions = field(default_factory=VoiceOptions)
    direction: DirectionOptions = field(default_factory=DirectionOptions)


def _compile(pattern: object, where: str) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise CalmlineError(f"{where}: expected a regex string, got {pattern!r}")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise CalmlineError(f"{where}: bad regex {pattern!r}: {exc}", "fix the pattern") from exc


def _tag_cues(tag: str, raw: dict[str, Any], defaults: dict[str, Any], where: str) -> TagCues:
    negatable = bool(raw.get("negatable", False))
    patterns: list[CuePattern] = []
    for i, item in enumerate(raw.get("patterns") or []):
        spot = f"{where}.patterns[{i}]"
        if isinstance(item, dict):
            regex = _compile(item.get("re"), spot)
            conf = float(item.get("conf", defaults.get("conf", 0.9)))
            patterns.append(CuePattern(regex, conf, bool(item.get("negatable", negatable))))
        else:
            patterns.append(
                CuePattern(_compile(item, spot), float(defaults.get("conf", 0.9)), negatable)
            )
    unless = tuple(
        _compile(p, f"{where}.unless[{i}]") for i, p in enumerate(raw.get("unless") or [])
    )
    prototypes = tuple(str(p) for p in raw.get("prototypes") or [])
    if "weight" not in raw:
        raise CalmlineError(f"{where}: missing 'weight'", "give each tag a signed weight")
    return TagCues(
        tag=tag,
        weight=float(raw["weight"]),
        patterns=tuple(patterns),
        unless=unless,
        prototypes=prototypes,
        sim_low=float(raw.get("sim_low", defaults.get("sim_low", 0.5))),
        sim_high=float(raw.get("sim_high", defaults.get("sim_high", 0.8))),
        emb_max=float(raw.get("emb_max", defaults.get("emb_max", 0.85))),
    )


def parse_cues(data: dict[str, Any], source: str = CUES_FILE) -> ToneCues:
    """Validate and compile cue data already read from YAML."""
    if not isinstance(data, dict) or not isinstance(data.get("tags"), dict):
        raise CalmlineError(f"{source}: expected a mapping with a 'tags' section")
    defaults = data.get("defaults") or {}
    tags: dict[str, TagCues] = {}
    for tag, raw in data["tags"].items():
        if tag not in TONE_TAGS:
            raise CalmlineError(
                f"{source}: unknown tag {tag!r}", f"known tags: {', '.join(TONE_TAGS)}"
            )
        tags[tag] = _tag_cues(tag, raw or {}, defaults, f"{source}: tags.{tag}")
    para = dict(data.get("paraphrase") or {})
    markers = tuple(
        _compile(p, f"{source}: paraphrase.markers[{i}]")
        for i, p in enumerate(para.pop("markers", []) or [])
    )
    not_restating = tuple(
        _compile(p, f"{source}: paraphrase.not_restating[{i}]")
        for i, p in enumerate(para.pop("not_restating", []) or [])
    )
    try:
        paraphrase = ParaphraseOptions(**para, markers=markers, not_restating=not_restating)
        voice = VoiceOptions(**(data.get("voice") or {}))
        direction = DirectionOptions(**(data.get("direction") or {}))
    except TypeError as exc:
        raise CalmlineError(f"{source}: {exc}", "check the option names") from exc
    return ToneCues(
        tags=tags,
        negators=frozenset(data.get("negators") or []),
        clause_breaks=frozenset(data.get("clause_breaks") or []),
        paraphrase=paraphrase,
        voice=voice,
        direction=direction,
    )


def load_cues(path: Path | None = None) -> ToneCues:
    """Read ``prompts/tone_cues.yaml`` (or ``path``) into compiled cues."""
    path = path or prompts_dir() / CUES_FILE
    if not path.exists():
        raise CalmlineError(f"cannot read tone cues {path}: no such file", "set CALMLINE_HOME")
    try:
        data, _ = load_yaml(read_text(path, "a tone cues file"))
    except YamlProblem as exc:
        raise CalmlineError(f"{path}: {exc}") from exc
    return parse_cues(data, str(path))
