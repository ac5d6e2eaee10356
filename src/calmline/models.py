"""The data that flows through calmline: turns, tone readings, anger steps, sessions, verdicts.

Every JSON file calmline writes is a dump of one of these models, carrying
``schema_version`` so that older files can still be read. Modules add behaviour
around these types; they do not define parallel ones.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION = 1

# --------------------------------------------------------------------------- speech


class WordTiming(BaseModel):
    """One recognised word with its time in the utterance's audio, in seconds."""

    word: str
    start: float
    end: float
    probability: float | None = None


class Segment(BaseModel):
    """A stretch of recognised speech as Whisper returns it."""

    start: float
    end: float
    text: str


class Transcription(BaseModel):
    """What speech-to-text made of one utterance or file."""

    text: str
    language: str = "en"
    duration: float = 0.0
    segments: list[Segment] = Field(default_factory=list)
    words: list[WordTiming] = Field(default_factory=list)
    model: str = ""
    # Speech (by the VAD) that gave no words even when read again: what may be missing.
    unrecovered: list[Segment] = Field(default_factory=list)


# --------------------------------------------------------------------------- tone

ToneTag = Literal[
    "empathy",
    "apology",
    "paraphrase",
    "question",
    "solution",
    "ownership",
    "summary",
    "blame",
    "dismissive",
    "policy_shield",
    "defensive",
    "sarcasm",
    "calm_down",
    "interrupting",
    "raised_voice",
]
TONE_TAGS: tuple[ToneTag, ...] = ToneTag.__args__  # type: ignore[attr-defined]  # Literal args
POSITIVE_TAGS: frozenset[str] = frozenset(
    {"empathy", "apology", "paraphrase", "question", "solution", "ownership", "summary"}
)
NEGATIVE_TAGS: frozenset[str] = frozenset(TONE_TAGS) - POSITIVE_TAGS

Direction = Literal["escalating", "neutral", "de-escalating"]


class VoiceFeatures(BaseModel):
    """Acoustic cues of one learner turn, relative to the learner's own running baseline.

    ``*_z`` fields are how many baseline standard deviations the turn sits above the
    learner's norm; they are ``None`` until the baseline has enough turns.
    """

    loudness_db: float
    speech_rate_wps: float
    pitch_hz: float | None = None
    loudness_z: float | None = None
    rate_z: float | None = None
    pitch_z: float | None = None
    overlap_s: float = 0.0  # seconds spent talking over the customer


class ToneReading(BaseModel):
    """How one learner turn sounded: tags with confidences and an overall direction."""

    tags: dict[str, float] = Field(default_factory=dict)
    direction: Direction = "neutral"
    voice: VoiceFeatures | None = None
    cues: list[str] = Field(default_factory=list)  # human-readable reasons for the tags
    # The one move the turn is mainly there to do (question, paraphrase, empathy,
    # solution, information, reassurance, self_disclosure, apology, other), when known.
    primary: str | None = None
    # How an upset customer would most likely take the turn, from the tone encoder's
    # uptake head: probabilities of their anger falling, holding or rising (empty when
    # the reader has no such model, e.g. on a fake embedder in unit tests).
    uptake: dict[str, float] = Field(default_factory=dict)

    def has(self, tag: str, threshold: float = 0.5) -> bool:
        return self.tags.get(tag, 0.0) >= threshold


# --------------------------------------------------------------------------- anger

AngerBand = Literal["calm", "irritated", "angry", "furious"]


class AngerReason(BaseModel):
    """One contribution to an anger change, e.g. ``calm_down`` +12."""

    cause: str
    delta: float


Move = Literal[
    "concrete_action",
    "vague_action",
    "brush_off",
    "transfer",
    "policy_wall",
    "refusal",
    "repeats_failure",
    "reasks_given",
    "blames",
    "monologue",
    "abusive",
]
MOVES: tuple[Move, ...] = Move.__args__  # type: ignore[attr-defined]  # Literal args
Given = Literal["time", "action", "contact", "confirmation"]


class TurnMeaning(BaseModel):
    """What a learner turn *does* for this customer, beyond how it sounds.

    Read by ``customer.meaning.MeaningReader`` from the turn, the scenario and the call
    so far; the anger model weighs it beside the tone reading, and the customer answers
    it (``Move`` names the moves a pack may write replies for).

    Attributes:
        moves: each move found, with a confidence 0..1: ``concrete_action`` (says what
            will be done and when, or does it now), ``vague_action`` (a promise with no
            what or when: "I'll look into it"), ``brush_off`` (deflects: a script
            question, "these things happen"), ``transfer`` (sends the customer
            elsewhere), ``policy_wall`` (process as the answer), ``refusal`` (a flat
            "I can't" with nothing offered instead), ``repeats_failure``
            (suggests what the customer already did or reported), ``reasks_given``
            (asks for something the customer already said), ``monologue`` (a long turn
            that neither offers, asks nor restates: explaining at the customer),
            ``abusive`` (insults), ``blames`` (puts the fault on the customer or a
            third party).
        learned: the escalating moves the learned reader (``customer.moves``) finds
            (brush-off, policy wall, refusal, transfer, blame), kept apart from ``moves``:
            the anger model weighs them when the turn is not mainly a question, a
            restatement or empathy; the customer's lines never answer them.
        direction: which way an upset customer's anger would most likely go on hearing
            the turn (``rise``, ``hold``, ``fall``: probabilities from the learned reader);
            empty without it.
        acts: the learned reader's confidence that the turn does something about the
            problem (an action, a refund, a booking), None without it.
        gives: what the turn tells the customer, so that the reply does not ask for it.
        reasked: ids of the pack answers asked for again.
        cues: the clause and exemplar behind each move, for people.
        neutral: when every clause of the turn is a question, a look-up, a hold, a
            read-back of the customer's account, an identity check or an acknowledgement,
            what it is made of ("question, look-up"); None otherwise
            (``customer.neutral``). An upset customer is left where they were.
        owns: the turn takes the fault on or takes back what it said before ("that's on
            us, not you", "I shouldn't have pushed you to the app"): the tone's *blame* or
            *policy* in its words is the thing it takes back.
    """

    moves: dict[str, float] = Field(default_factory=dict)
    learned: dict[str, float] = Field(default_factory=dict)
    direction: dict[str, float] = Field(default_factory=dict)
    acts: float | None = None
    gives: list[Given] = Field(default_factory=list)
    reasked: list[str] = Field(default_factory=list)
    cues: list[str] = Field(default_factory=list)
    neutral: str | None = None
    owns: bool = False

    def has(self, move: Move, threshold: float = 0.5) -> bool:
        return self.moves.get(move, 0.0) >= threshold


class AngerState(BaseModel):
    """The customer's anger between turns, plus the memory the anger model needs.

    ``empty_turns`` counts turns in a row that offered feelings (apology, empathy) or a
    promise without a when, and nothing that moved the problem on; ``vague_promises``
    counts promises without a when since the last concrete action.
    """

    anger: float = Field(ge=0, le=100)
    apologies_without_action: int = 0
    resolution_offered: bool = False
    turns: int = 0
    empty_turns: int = 0
    vague_promises: int = 0


class AngerStep(BaseModel):
    """The change in anger caused by one learner turn, with its reasons."""

    before: float
    after: float
    band: AngerBand
    reasons: list[AngerReason] = Field(default_factory=list)

    @property
    def delta(self) -> float:
        return self.after - self.before


# --------------------------------------------------------------------------- session

Speaker = Literal["learner", "customer", "examiner"]
Phase = Literal["call", "debrief"]
Outcome = Literal[
    "in_progress",
    "satisfied",
    "hung_up",
    "manager",
    "learner_ended",
    "max_turns",
    "interrupted",  # Ctrl-C or SIGTERM: everything said so far is saved
    "incomplete",  # a turn could not be written (full disk...): the record has gaps
    "error",
]


class Turn(BaseModel):
    """One utterance in a session, by any party, saved as soon as it exists."""

    index: int
    speaker: Speaker
    phase: Phase = "call"
    text: str
    stage_direction: str | None = None  # face-to-face non-verbal cues, shown not spoken
    started_at: float = 0.0  # seconds since the session started
    ended_at: float = 0.0
    audio: str | None = None  # WAV file name relative to the session folder
    words: list[WordTiming] = Field(default_factory=list)  # times relative to the turn audio
    source: str = ""  # "mic", "audio", "typed", "script", "llm", "authored", ...
    latency: dict[str, float] = Field(default_factory=dict)  # named stage -> seconds
    tone: ToneReading | None = None
    meaning: TurnMeaning | None = None  # learner call turns: what the turn did for the customer
    anger: AngerStep | None = None
    notes: list[str] = Field(default_factory=list)  # e.g. "line check failed: assistant-speak"


class ModelsUsed(BaseModel):
    stt: str = ""
    llm: str = ""
    tts: str = ""
    embedder: str = ""


class SessionEvent(BaseModel):
    """Something that happened outside the turns: an endpoint failure, a fallback, a hang-up."""

    at: float
    kind: str
    detail: str = ""


class SessionRecord(BaseModel):
    """Everything about one practice session; ``recordings/<id>/session.json``."""

    model_config = ConfigDict(extra="ignore")

    schema_version: int = SCHEMA_VERSION
    id: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    learner: str | None = None
    scenario: str
    scenario_title: str = ""
    setting: Literal["phone", "face_to_face"] = "phone"
    difficulty: str = ""
    exam_mode: bool = False
    models: ModelsUsed = Field(default_factory=ModelsUsed)
    turns: list[Turn] = Field(default_factory=list)
    events: list[SessionEvent] = Field(default_factory=list)
    outcome: Outcome = "in_progress"
    start_anger: float | None = None
    final_anger: float | None = None
    ended_at: datetime | None = None

    def learner_turns(self, phase: Phase | None = None) -> list[Turn]:
        return [
            t for t in self.turns if t.speaker == "learner" and (phase is None or t.phase == phase)
        ]


# --------------------------------------------------------------------------- rubric

ShownBy = Literal["call", "debrief", "both"]
Verdict = Literal["met", "partly", "not_met"]


class MatchSpec(BaseModel):
    """What one learner turn must show: any tone tag at ``threshold``, any phrase, or any
    concept of ``rubrics/concepts.yaml`` (found by meaning in one of its clauses)."""

    model_config = ConfigDict(extra="forbid")

    tags: list[str] = Field(default_factory=list)
    phrases: list[str] = Field(default_factory=list)
    # Phrases that undo a match in the same sentence ("sorry, but it's policy").
    unless: list[str] = Field(default_factory=list)
    concepts: list[str] = Field(default_factory=list)
    # Concepts that must ALSO be shown: in the same sentence as a concept match, in the
    # same turn as a tag match (an action and a time: "I'll ring you back at two").
    with_concepts: list[str] = Field(default_factory=list)
    # A tone tag does not count in a turn showing one of these concepts (a "question"
    # that is only a security check).
    unless_concepts: list[str] = Field(default_factory=list)
    # A concept match counts only in a sentence sharing at least this many content words
    # with the customer's two lines before the turn (a restatement restates something).
    echoes_customer: int = Field(default=0, ge=0)
    threshold: float = 0.5  # for tone tags
    overlap_s: float | None = None  # seconds talking over the customer that count


class TagParams(MatchSpec):
    """``tag``: passes when at least ``min_turns`` learner turns of ``phase`` match."""

    kind: Literal["tag"] = "tag"
    phase: Phase = "call"
    min_turns: int = Field(default=1, ge=1)


class NegativeTagParams(MatchSpec):
    """``negative_tag``: a common mistake; passes when at most ``max_turns`` turns show it."""

    kind: Literal["negative_tag"] = "negative_tag"
    max_turns: int = Field(default=0, ge=0)


class SequenceStep(MatchSpec):
    """One step of a ``sequence``; ``calm`` steps match nothing but forbid escalation."""

    name: str
    calm: bool = False
    breakers: list[str] | None = None  # tone tags that break a calm step
    breaker_phrases: list[str] | None = None
    breaker_concepts: list[str] = Field(default_factory=list)


class SequenceParams(BaseModel):
    """``sequence``: steps first occur in this order across the call."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["sequence"] = "sequence"
    steps: list[SequenceStep] = Field(min_length=2)


class PrecedesParams(BaseModel):
    """``precedes``: ``first`` occurs no later than ``then`` (or ``then`` never occurs)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["precedes"] = "precedes"
    first: MatchSpec
    then: MatchSpec


class ConceptsParams(BaseModel):
    """``concepts``: distinct concepts of ``rubrics/concepts.yaml`` the learner names.

    Every learner turn of ``phase`` is cut into clauses and each clause may show several
    concepts, so "he slammed the box down and raised his voice" names two.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["concepts"] = "concepts"
    phase: ShownBy = "debrief"
    concepts: list[str] = Field(min_length=1)
    min: int = Field(default=1, ge=1)
    # Debrief answers only to examiner questions with one of these words (all answers
    # when no question has one).
    after_question: list[str] = Field(default_factory=list)
    # Call turns only when they hold one of these words ("complaint", "appeal").
    call_turns_with: list[str] = Field(default_factory=list)
    # A clause showing one of these concepts counts for nothing ("I explained the
    # process to her" claims an explanation; it is not one).
    exclude: list[str] = Field(default_factory=list)
    # A sentence naming two or more of these labels word for word is the rubric read
    # back, not a description: it counts as one mention at most.
    generic_labels: list[str] = Field(default_factory=list)
    # A debrief sentence counts only when grounded in the call: it shares at least this
    # many content words with the customer's call lines, stage cues and the scenario (0:
    # off). A claim about this customer that nothing the customer said or did bears out
    # describes someone else.
    grounded_words: int = Field(default=0, ge=0)


CheckParams = Annotated[
    TagParams | NegativeTagParams | SequenceParams | PrecedesParams | ConceptsParams,
    Field(discriminator="kind"),
]
CheckKind = Literal["tag", "negative_tag", "sequence", "precedes", "concepts"]
CHECK_KINDS: tuple[str, ...] = CheckKind.__args__  # type: ignore[attr-defined]  # Literal args


class Check(BaseModel):
    """One atomic check a marking point is made of (see rubrics/*.yaml).

    ``params`` is typed by ``kind`` (one params model per kind, above); in YAML the
    params need not repeat the kind.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    description: str
    kind: CheckKind
    params: CheckParams
    negative: bool = False  # a common mistake: passing means the mistake was *not* made

    @model_validator(mode="before")
    @classmethod
    def _params_know_their_kind(cls, data: Any) -> Any:
        """Copy ``kind`` into ``params`` so the params union can pick its model, after
        checking the numbers in them (a plain message rather than the schema's)."""
        if isinstance(data, dict) and isinstance(data.get("kind"), str):
            params = data.get("params")
            if params is None:
                params = {}
            problems = _numeric_problems(params)
            if problems:
                raise ValueError(f"check {data.get('id')!r}: {problems[0]}")
            if isinstance(params, dict):
                data = {**data, "params": {**params, "kind": data["kind"]}}
        return data


# Numeric check parameters, wherever they sit in ``params`` (steps, first/then...):
# a share from 0 to 1, a count of turns or concepts, a duration in seconds.
_SHARES = frozenset({"similarity", "threshold"})
_COUNTS = frozenset({"min", "min_turns", "max_turns"})
_SECONDS = frozenset({"overlap_s"})
_AT_LEAST = re.compile(r"(?<![\w+])(\d+)\+")


def _bad_number(key: str, value: object) -> str | None:
    """Why ``value`` cannot be the check parameter ``key``, or None when it can."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if key in _SHARES and not (number and 0 <= value <= 1):  # type: ignore[operator]
        return f"{key} must be a number from 0 to 1, not {value!r}"
    if key in _COUNTS and not (isinstance(value, int) and not isinstance(value, bool)):
        return f"{key} must be a whole number, not {value!r}"
    if key in _COUNTS and value < 0:  # type: ignore[operator]
        return f"{key} must not be negative, not {value!r}"
    if key in _SECONDS and not (number and value >= 0):  # type: ignore[operator]
        return f"{key} must be a number of seconds (0 or more), not {value!r}"
    return None


def _numeric_problems(params: object) -> list[str]:
    if isinstance(params, Mapping):
        found = [_bad_number(str(k), v) for k, v in params.items()]
        nested = [p for v in params.values() for p in _numeric_problems(v)]
        return [p for p in found if p] + nested
    if isinstance(params, list):
        return [p for v in params for p in _numeric_problems(v)]
    return []


class MarkingPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    source: str  # "<seed file name>#<n>"
    text: str  # the examiner marking point, verbatim from the seed
    shown_by: ShownBy
    checks: list[Check]
    rule: str  # how checks become met / partly / not met, e.g. "all:met; any:partly"
    weight: float = 1.0  # more than 0: a negative weight made scores like -150 %
    debrief_questions: list[str] = Field(default_factory=list)
    improvement: str = ""  # default advice when the point is not met

    @field_validator("weight")
    @classmethod
    def _positive_weight(cls, weight: float) -> float:
        if not (weight > 0 and math.isfinite(weight)):  # inf made every score NaN
            raise ValueError(f"weight must be a number more than 0, not {weight:g}")
        return weight

    @model_validator(mode="after")
    def _rule_can_hold(self) -> MarkingPoint:
        """``3+`` with two checks can never be true: the point could never be met."""
        for match in _AT_LEAST.finditer(self.rule):
            if int(match.group(1)) > len(self.checks):
                raise ValueError(
                    f"rule: {match.group(0)} needs {match.group(1)} checks to pass, "
                    f"but the point has {len(self.checks)}"
                )
        return self


class Rubric(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    seed: str  # seed file name
    pass_mark: float  # share of weighted score, 0..1
    points: list[MarkingPoint]

    @field_validator("pass_mark")
    @classmethod
    def _share(cls, pass_mark: float) -> float:
        if not 0 <= pass_mark <= 1:  # 7 passed nobody: "You scored 100 percent and did not pass"
            raise ValueError(
                f"pass_mark must be a share from 0 to 1 (0.7 is 70 %), not {pass_mark:g}"
            )
        return pass_mark


class Evidence(BaseModel):
    """A verbatim learner quote, verified against the transcript."""

    turn_index: int
    quote: str
    start: float | None = None  # seconds since session start, where there is audio
    end: float | None = None
    phase: Phase = "call"


class CheckResult(BaseModel):
    check_id: str
    passed: bool
    detail: str = ""
    evidence: list[Evidence] = Field(default_factory=list)


class PointVerdict(BaseModel):
    point_id: str
    source: str
    text: str = ""
    verdict: Verdict
    score: float  # 1.0 met, 0.5 partly, 0.0 not met
    confidence: float = 0.5
    evidence: list[Evidence] = Field(default_factory=list)
    checks: list[CheckResult] = Field(default_factory=list)
    improvement: str = ""
    tier: Literal["offline", "llm", "merged"] = "offline"
    flagged: bool = False  # tiers disagreed: the assessor should look
    flag_reason: str = ""


class Assessment(BaseModel):
    """The evaluator's verdicts on one session against one rubric."""

    schema_version: int = SCHEMA_VERSION
    session_id: str
    rubric_id: str
    rubric_title: str = ""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    judge: str = "offline"
    verdicts: list[PointVerdict]
    score: float  # weighted share 0..1
    passed: bool
    ignored_instructions: list[Evidence] = Field(default_factory=list)
