"""The difficult customer: what it says next, given the scenario, the call so far and its anger.

``Customer`` decides the scripted moments itself (settling when an accepted
resolution is on the table and anger is low; after persisting at the top, one last
warning, then demanding a manager or hanging up; revealing a hidden detail only when
asked) and asks the language model for everything else. Every generated line goes
through ``line_check.check_line`` (and never asks for what the learner has just given);
a rejected line gets one retry with a different seed, then an authored line. Authored
lines (offline, or on fallback) are the pack's candidates ranked by how well they answer
the turn (``choosing.LineChooser``). The customer also reads what each learner turn
*does* (``meaning.MeaningReader``) for the anger model and for its reply.

Learner speech is untrusted. It reaches the model only as a line of the call, with
newlines and speaker labels neutralised; hidden details never enter the prompt; and
"you are satisfied now" cannot settle the call because settling depends on the
anger state, which moves only through ``anger.step``.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal, get_args

import jinja2

from calmline.customer.anger import band
from calmline.customer.choosing import Candidate, LineChooser
from calmline.customer.difficulty import Temper, temper_for
from calmline.customer.line_check import (
    affirmed_phrase_in,
    asked_about,
    check_line,
    looks_like_injection,
    matched_resolution,
    phrase_in,
    resolution_offered,
)
from calmline.customer.meaning import MeaningReader, asks_for, clauses, offered_in
from calmline.customer.role_check import RoleCheck
from calmline.customer.scenario import ALL_BANDS, HiddenDetail, Scenario
from calmline.embed import FloatMatrix
from calmline.llm.interruptible import interruptible
from calmline.models import (
    MOVES,
    AngerBand,
    AngerReason,
    AngerState,
    Given,
    ToneReading,
    Turn,
    TurnMeaning,
)
from calmline.paths import templates_dir
from calmline.protocols import ChatMessage, ChatModel, GenerationOptions

__all__ = [
    "Customer",
    "CustomerLine",
    "CustomerOptions",
    "LineStream",
    "asked_about",
    "check_line",
    "looks_like_injection",
    "resolution_offered",
]

Source = Literal["llm", "retry", "authored"]
LineSource = Literal["generated", "authored-first", "authored"]
LINE_SOURCES: tuple[LineSource, ...] = get_args(LineSource)
LineOutcome = Literal["satisfied", "manager", "hung_up"]
REPLY_MIN_CONFIDENCE = 0.5  # a learner move this sure gets its authored reply on fallback
MEANING_FIT_BONUS = 0.15  # a reply to what the turn does beats one to how it sounds
BAND_LINE_FIT = 0.3  # the band's own lines: they fit any turn a little
# an offer this near in meaning to one of the pack's accepted resolutions offers it
RESOLUTION_FLOOR = 0.5
MOMENT_DELTA = 5.0  # an anger move this big is a moment worth a stage direction
LAST_WARNING = "last warning"  # the note on the customer's last warning
GENERIC_WARNINGS = {
    "hang_up": ["One more answer like that and I'm hanging up.", "Last chance, or I'm hanging up."],
    "manager": [
        "One more answer like that and I want your manager.",
        "Last chance, or I'm asking for a manager.",
    ],
}
COMPLETION_STOPS = ["\n", "AGENT:", "CUSTOMER:", "Agent:", "Customer:", "("]


@dataclass(frozen=True)
class CustomerLine:
    """One customer turn.

    Attributes:
        text: what the customer says (spoken).
        stage_direction: face-to-face non-verbal cues, shown not spoken.
        source: ``llm`` (first try passed the check), ``retry``, or ``authored``.
        outcome: set when this line ends the call.
        notes: why generated lines were rejected, which hidden detail was revealed...
    """

    text: str
    stage_direction: str | None = None
    source: Source = "llm"
    outcome: LineOutcome | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class CustomerOptions:
    """How the customer generates.

    Attributes:
        max_tokens: generation budget per line; lines are short.
        temperature: sampling temperature.
        seed: base seed; each turn and the retry use a different one.
        max_words: longer lines are rejected as too long to speak.
        limit_turns: learner turns in a row at the top before the customer's last
            warning (one more and they demand a manager or hang up); None: the
            difficulty's patience (``difficulty.Temper``).
        stream_early: yield each sentence as soon as it passes the check, before
            the rest is generated (lower latency to the first spoken word). If a
            later sentence then fails, the line ends at the last good sentence, so
            a model that starts in character and then breaks it ("Sure! As an AI...")
            gets its first sentence spoken. Off by default: the whole line is
            checked first, then yielded sentence by sentence.
        lines: where the customer's lines come from. ``generated``: the model says
            every line the checks pass, authored lines only when both attempts fail.
            ``authored-first``: when the learner's turn is a move the pack has replies
            for ("calm down", blame, a question...), the pack's reply while it has
            lines not yet said, the model otherwise. ``authored``: never the model;
            the reply to the move, else the band's lines. The bundled 135M-270M models'
            lines are mostly out of character even after the checks
            (docs/customer_eval.md); a capable endpoint generates every line.
    """

    max_tokens: int = 48
    temperature: float = 0.6
    seed: int = 0
    max_words: int = 20
    limit_turns: int | None = None
    stream_early: bool = False
    lines: LineSource = "generated"


@dataclass(frozen=True)
class _Context:
    """What a candidate line is checked against."""

    said: list[str]  # everything said in the call: numbers and dates may be repeated
    earlier: list[str]  # the customer's own lines: no loops
    agent: list[str]  # the learner's lines: no echoes
    band: AngerBand  # the customer's anger now: the role check's mood test
    given: frozenset[Given] = frozenset()  # what the learner has told: not to be asked for


class LineStream:
    """Text pieces (sentences) of a customer line as they pass the check; ``line`` at the end."""

    def __init__(self, gen: Generator[str, None, CustomerLine]) -> None:
        self._gen = gen
        self.line: CustomerLine | None = None

    def __iter__(self) -> Iterator[str]:
        self.line = yield from self._gen


@lru_cache(maxsize=4)
def _environment(folder: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


def render(template: str, **values: object) -> str:
    """Render a prompt template from ``prompts/templates``."""
    return _environment(str(templates_dir())).get_template(template).render(**values)


def sanitize_learner(text: str) -> str:
    """Learner words as one line of the call: no newlines, speaker labels or stage notes."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"(?i)\b(customer|agent|assistant|user|system)\s*:", r"\1 -", text)
    return text.replace("(", "").replace(")", "").replace("[", "").replace("]", "")


def clean_generation(raw: str) -> str:
    """The spoken part of raw model output: first line, no labels, notes or quotes."""
    text = raw.replace("\r", "")
    text = re.split(r"\n", text.lstrip("\n"), maxsplit=1)[0]
    text = re.sub(r"^\s*(customer|[A-Z][a-z]+)\s*:\s*", "", text, flags=re.IGNORECASE)
    text = re.split(r"(?i)\b(agent|customer|assistant|user)\s*:", text, maxsplit=1)[0]
    text = re.split(r"\s/\s|\s-\s(?=[A-Z])", text, maxsplit=1)[0]  # list-style run-ons
    text = re.sub(r"\([^)]*\)?|\[[^\]]*\]?|\*[^*]*\*?", " ", text)
    text = text.strip().strip("\"'“”‘’`").strip()
    return re.sub(r"\s+", " ", text)


def _unsaid(lines: Sequence[str], said: Sequence[str]) -> list[str]:
    """``lines`` not yet said (case and spacing ignored), in order."""
    spoken = {line.strip().lower() for line in said}
    return [line for line in lines if line.strip().lower() not in spoken]


def _drain(gen: Generator[str, None, list[str]]) -> list[str]:
    """Run a generator to the end and return its return value."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return list(stop.value)


def _sentences(text: str) -> tuple[list[str], str]:
    """Complete sentences in ``text`` and the unfinished rest."""
    parts = re.split(r"(?<=[.!?])\s+", text)
    if len(parts) == 1:
        return [], text
    return [p for p in parts[:-1] if p], parts[-1]


class Customer:
    """The scenario's customer, speaking through a ``ChatModel``."""

    def __init__(
        self,
        scenario: Scenario,
        model: ChatModel,
        options: CustomerOptions | None = None,
        *,
        seed: int | None = None,
        role_check: RoleCheck | None = None,
        meanings: MeaningReader | None = None,
        temper: Temper | None = None,
    ) -> None:
        self.scenario = scenario
        # A reply started at the learner's pause and then thrown away stops its model at
        # the next token (calmline.call.speculation); elsewhere the model is untouched.
        self.model = interruptible(model)
        self.role_check = role_check
        self.meanings = meanings
        self.temper = temper or temper_for(scenario.difficulty)
        self.chooser = LineChooser(meanings.embedder if meanings is not None else None)
        self.options = options or CustomerOptions()
        if seed is not None:
            self.options = replace(self.options, seed=seed)
        self._cycle: dict[str, int] = {}
        self._spoken: list[str] = []  # authored lines this customer chose (speculation undoes)
        self._resolutions: FloatMatrix | None = None  # will_accept descriptions, embedded

    # ------------------------------------------------------------------ reading the learner

    def read_meaning(self, text: str, history: Sequence[Turn] = ()) -> TurnMeaning | None:
        """What the learner's turn does for this customer (None without a meaning reader)."""
        if self.meanings is None:
            return None
        said = [self.scenario.opening_line]
        said += [t.text for t in history if t.speaker == "customer" and t.phase == "call"]
        return self.meanings.read(text, self.scenario, said)

    def resolution_offered(self, text: str) -> bool:
        """Does the learner's turn offer a resolution this customer accepts?

        With a meaning reader, the resolution's words must be in a clause that offers it
        (a pledge or a proposal: not "the regulation says we reroute passengers") and is
        not hedged ("I'll see if I can get you a refund", "there might be a room
        tomorrow": a promise, not an offer).
        """
        match = matched_resolution(text, self.scenario)
        if self.meanings is None or looks_like_injection(text):
            return match is not None
        hedges = [*self.meanings.cues.hedges, *self.meanings.cues.kinds["vague_promise"].patterns]
        unhedged = [c for c in clauses(text) if not any(h.search(c.lower()) for h in hedges)]
        offers = [c for c in unhedged if offered_in(c)]
        if not offers:
            return False
        if match is not None:
            for resolution in self.scenario.will_accept:
                for clause in offers:
                    if any(affirmed_phrase_in(clause, p) for p in resolution.phrases):
                        return True
        # the pack's words missed it ("£34.99 back on your card"): its meaning may not
        wanted = self._resolution_vectors()
        said = self.meanings.embedder.embed(offers)
        return bool((said @ wanted.T).max() >= RESOLUTION_FLOOR)

    def _resolution_vectors(self) -> FloatMatrix:
        if self._resolutions is None:
            texts = [r.description for r in self.scenario.will_accept]
            assert self.meanings is not None
            self._resolutions = self.meanings.embedder.embed(texts)
        return self._resolutions

    def repeats_failure(self, text: str, meaning: TurnMeaning | None = None) -> bool:
        """Does the learner's turn repeat the original failure (another missed promise)?"""
        if meaning is not None:
            return meaning.has("repeats_failure")
        return any(phrase_in(text, p) for p in self.scenario.repeat_failure_phrases)

    def trigger_reasons(self, text: str, reading: ToneReading | None) -> list[AngerReason]:
        """The scenario's own triggers hit by this turn, for ``anger.step(extra=...)``."""
        out = []
        for trigger in self.scenario.triggers:
            by_tag = reading is not None and any(reading.has(t) for t in trigger.tags)
            if by_tag or any(affirmed_phrase_in(text, p) for p in trigger.phrases):
                out.append(AngerReason(cause=f"trigger: {trigger.id}", delta=trigger.extra_anger))
        return out

    # ------------------------------------------------------------------ speaking

    def opening(self) -> CustomerLine:
        """The pack's opening line, with the stage direction for the start anger."""
        start = band(self.scenario.persona.start_anger)
        return CustomerLine(
            text=self.scenario.opening_line,
            stage_direction=self._stage_direction(start, [], self.scenario.opening_line, None),
            source="authored",
        )

    def respond(
        self, history: Sequence[Turn], state: AngerState, last_reading: ToneReading | None = None
    ) -> CustomerLine:
        """The customer's reply to the learner's last turn (``state`` is after that turn)."""
        stream = self.stream(history, state, last_reading)
        for _ in stream:
            pass
        assert stream.line is not None  # set when the generator returns
        return stream.line

    def stream(
        self, history: Sequence[Turn], state: AngerState, last_reading: ToneReading | None = None
    ) -> LineStream:
        """Like ``respond``, yielding each sentence as soon as it has passed the check.

        Iterate it for text pieces (for sentence-by-sentence TTS); afterwards
        ``.line`` holds the whole ``CustomerLine``.
        """
        return LineStream(self._respond(list(history), state, last_reading))

    def prime(self, history: Sequence[Turn], state: AngerState) -> None:
        """Evaluate the prompt of the call so far, so the next reply reuses it from the cache.

        Run while the learner is speaking: the first reply of a call would otherwise
        pay for the whole header (persona, facts, examples), over a second here.
        Only for completion prompts, which are append-only; a no-op for chat models
        and for a customer that never asks the model (``lines="authored"``), which would
        only take a core from Whisper while the learner speaks.
        """
        if self.model.prompt_style != "completion" or self.options.lines == "authored":
            return
        call = [t for t in history if t.phase == "call" and t.speaker in ("learner", "customer")]
        request = self._request(call, band(state.anger), "steady", "")
        options = GenerationOptions(max_tokens=1, temperature=0.0, stop=list(COMPLETION_STOPS))
        for _ in self.model.stream_complete(str(request), options):
            pass

    # ------------------------------------------------------------------ decisions

    def _respond(
        self, history: list[Turn], state: AngerState, reading: ToneReading | None
    ) -> Generator[str, None, CustomerLine]:
        call = [t for t in history if t.phase == "call" and t.speaker in ("learner", "customer")]
        learner = next((t for t in reversed(call) if t.speaker == "learner"), None)
        learner_text = learner.text if learner is not None else ""
        current = band(state.anger)
        scripted = self._scripted(call, state, learner_text, current)
        if scripted is not None:
            direction = self._stage_direction(current, call, scripted.text, learner)
            line = replace(scripted, stage_direction=direction)
            yield line.text
            return line
        line = yield from self._generated(call, state, reading, learner_text, current)
        return replace(
            line, stage_direction=self._stage_direction(current, call, line.text, learner)
        )

    def _scripted(
        self, call: list[Turn], state: AngerState, learner_text: str, current: AngerBand
    ) -> CustomerLine | None:
        sc = self.scenario
        streak = self._top_streak(call, state)
        last = next((t for t in reversed(call) if t.speaker == "learner"), None)
        abusive = last is not None and last.meaning is not None and last.meaning.has("abusive")
        patience = self.options.limit_turns or self.temper.patience
        if streak and (abusive or (streak >= patience and self._warned(call))):
            if sc.persona.at_limit == "hang_up":
                return CustomerLine(sc.hangup_line, source="authored", outcome="hung_up")
            return CustomerLine(sc.manager_line, source="authored", outcome="manager")
        if streak >= patience:
            lines = sc.warning_lines or GENERIC_WARNINGS[sc.persona.at_limit]
            said = [t.text for t in call if t.speaker == "customer"]
            text = next(iter(_unsaid(lines, said)), lines[-1])
            return CustomerLine(text, source="authored", notes=[LAST_WARNING])
        settle_below = sc.settle_below + self.temper.settle_shift
        if state.resolution_offered and state.anger < settle_below:
            return CustomerLine(sc.satisfied_line, source="authored", outcome="satisfied")
        detail = self._asked_detail(call, learner_text)
        if detail is not None:
            return CustomerLine(
                detail.detail, source="authored", notes=[f"revealed hidden detail: {detail.id}"]
            )
        return None

    def _top_streak(self, call: list[Turn], state: AngerState) -> int:
        """Learner turns in a row (the last one included) that left the customer at the top
        and did not bring the anger down: a turn that lowers it, even at the top, resets it."""
        if state.anger < self.temper.top:
            return 0
        learner = [t for t in call if t.speaker == "learner"]
        streak = 0
        for i, turn in enumerate(reversed(learner)):
            step = turn.anger
            if step is None:
                if i == 0:  # the turn being answered, weighed by the caller: ``state``
                    streak += 1
                    continue
                break
            if step.after < self.temper.top or step.delta < 0:
                break
            streak += 1
        return streak

    def _warned(self, call: list[Turn]) -> bool:
        """Has the customer already given the last warning in this call? It is given once:
        back at the top after it, the customer ends the call."""
        return any(t.speaker == "customer" and LAST_WARNING in t.notes for t in call)

    def _asked_detail(self, call: list[Turn], learner_text: str) -> HiddenDetail | None:
        said = " ".join(t.text for t in call if t.speaker == "customer")
        for detail in self.scenario.hidden_details:
            if detail.detail not in said and asked_about(learner_text, detail.topics):
                return detail
        return None

    def _stage_direction(
        self, current: AngerBand, call: list[Turn], text: str, learner: Turn | None
    ) -> str | None:
        """A stage direction for this moment, never one already shown in the call.

        Shown at the opening, when the anger band changes, on a big move (a jump or a
        real fall) and at least every third line; otherwise the line stands alone, so
        that the directions keep meaning something. It is the unshown direction of the
        customer's band (risk indicators first at angry and furious, where the pack has
        them) that best suits the line being said, else one of the neighbouring band
        the anger is moving towards; none at all rather than a repeat.
        """
        sc = self.scenario
        if sc.setting != "face_to_face" or sc.stage_directions is None:
            return None
        shown: list[str] = []
        shown_band: AngerBand | None = None
        since = 0
        mood: AngerBand | None = None
        for turn in call:
            if turn.speaker == "learner" and turn.anger is not None:
                mood = turn.anger.band
            elif turn.speaker == "customer":
                since += 1
                if turn.stage_direction:
                    shown.append(turn.stage_direction)
                    shown_band, since = mood, 0
        moment = (
            not shown
            or shown_band != current
            or since >= 2
            or (
                learner is not None
                and learner.anger is not None
                and abs(learner.anger.delta) >= MOMENT_DELTA
            )
        )
        if not moment:
            return None
        at = ALL_BANDS.index(current)
        pools: list[list[str]] = []
        if sc.risk_indicators and current in ("angry", "furious"):
            pools.append(list(sc.risk_indicators))
        pools.append(sc.stage_directions.for_band(current))
        # borrowed only from the band the customer is heading for: a calmer gesture when
        # anger has just risen would contradict the line
        delta = learner.anger.delta if learner is not None and learner.anger is not None else 0.0
        toward = at + (1 if delta > 0 else -1)
        if 0 <= toward < len(ALL_BANDS):
            pools.append(sc.stage_directions.for_band(ALL_BANDS[toward]))
        for pool in pools:
            fresh = _unsaid(pool, shown)
            if fresh:
                candidates = [Candidate(d, "stage", 0.0) for d in fresh]
                best = self.chooser.choose(candidates, text, [])
                return best.candidate.text if best is not None else fresh[0]
        return None

    def _next(self, key: str, options: list[str], avoid: Sequence[str] = ()) -> str:
        """The next of ``options`` in turn, skipping any in ``avoid`` while others remain."""
        start = self._cycle.get(key, 0)
        fresh = set(_unsaid(options, avoid))
        for i in range(start, start + len(options)):
            if options[i % len(options)] in fresh:
                break
        else:
            i = start
        self._cycle[key] = i + 1
        return options[i % len(options)]

    # ------------------------------------------------------------------ generation

    def _generated(
        self,
        call: list[Turn],
        state: AngerState,
        reading: ToneReading | None,
        learner_text: str,
        current: AngerBand,
    ) -> Generator[str, None, CustomerLine]:
        opening = self.scenario.opening_line
        learner = next((t for t in reversed(call) if t.speaker == "learner"), None)
        meaning = learner.meaning if learner is not None else None
        context = _Context(
            said=[opening, *(t.text for t in call)],
            earlier=[opening, *(t.text for t in call if t.speaker == "customer")],
            agent=[t.text for t in call if t.speaker == "learner"],
            band=current,
            given=frozenset(self._given(call)),
        )
        request = self._request(call, current, self._trend(call, reading), learner_text)
        if self.options.lines != "generated":
            answer = self._answer(learner_text, context.earlier, meaning)
            if answer is not None:
                yield answer.text
                return answer
        candidates = self._candidates(current, reading, meaning)
        if self.options.lines == "authored-first":
            moves = [c for c in candidates if c.key.startswith("reply:")]
            chosen = self._choose(moves, learner_text, context)
            if chosen is not None:
                yield chosen.text
                return chosen
        if self.options.lines == "authored":
            line = self._authored(candidates, learner_text, context, current)
            yield line.text
            return line
        notes: list[str] = []
        if looks_like_injection(learner_text):
            notes.append("learner turn reads as an instruction to the model: treated as odd")
        base_seed = self.options.seed + 1009 * state.turns
        sources: tuple[Source, Source] = ("llm", "retry")
        for attempt, source in enumerate(sources):
            opts = GenerationOptions(
                max_tokens=self.options.max_tokens,
                # the retry runs a little hotter: a small model's usual failure is a loop;
                # much hotter and its lines turn to nonsense (docs/customer_eval.md)
                temperature=self.options.temperature + 0.1 * attempt,
                stop=list(COMPLETION_STOPS) if isinstance(request, str) else [],
                seed=base_seed + attempt * 7919,
            )
            spoken: list[str] = []
            attempt_stream = self._attempt(request, opts, context, spoken)
            try:
                if self.options.stream_early:
                    problems = yield from attempt_stream
                else:
                    problems = _drain(attempt_stream)
                    if not all(p.startswith("too long") for p in problems):
                        spoken.clear()  # a failing sentence rejects the line; length only cuts it
            except Exception as exc:  # a dead endpoint must not end the call: fall back
                notes.append(f"model error: {type(exc).__name__}: {exc}")
                if spoken and self.options.stream_early:
                    return CustomerLine(" ".join(spoken), source=source, notes=notes)
                break
            if spoken:
                if problems:
                    notes.append(f"{source} line truncated ({'; '.join(problems)})")
                if not self.options.stream_early:
                    yield from spoken
                return CustomerLine(" ".join(spoken), source=source, notes=notes)
            notes.append(f"{source} line rejected ({'; '.join(problems)})")
        line = self._authored(
            self._candidates(current, reading, meaning), learner_text, context, current
        )
        yield line.text
        return replace(line, notes=notes)

    # ------------------------------------------------------------------ authored lines

    def snapshot(self) -> tuple[dict[str, int], list[str]]:
        """What a reply may change (for a speculative reply that is then thrown away)."""
        return dict(self._cycle), list(self._spoken)

    def restore(self, saved: tuple[dict[str, int], list[str]]) -> None:
        self._cycle, self._spoken = dict(saved[0]), list(saved[1])

    def _given(self, call: list[Turn]) -> set[Given]:
        """What the learner has told the customer (a time, an action...) that still stands:
        a repeat of the failure takes back everything promised before it."""
        given: set[Given] = set()
        for turn in call:
            if turn.speaker != "learner" or turn.meaning is None:
                continue
            if turn.meaning.has("repeats_failure"):
                given.clear()
            given |= set(turn.meaning.gives)
        return given

    def _candidates(
        self, current: AngerBand, reading: ToneReading | None, meaning: TurnMeaning | None
    ) -> list[Candidate]:
        """The pack's lines the customer could say now: replies to the turn's moves (what it
        does, then how it sounds), then the band's lines and the neighbouring bands'."""
        out: list[Candidate] = []
        moves: dict[str, float] = {}
        if meaning is not None:
            moves |= {m: c + MEANING_FIT_BONUS for m, c in meaning.moves.items()}
        if reading is not None:
            for tag, confidence in reading.tags.items():
                moves[tag] = max(moves.get(tag, 0.0), confidence)
        for i, reply in enumerate(self.scenario.replies):
            if current not in reply.bands:
                continue
            fit = max((moves.get(w, 0.0) for w in reply.when), default=0.0)
            threshold = REPLY_MIN_CONFIDENCE + (MEANING_FIT_BONUS if reply.when[0] in MOVES else 0)
            if fit >= threshold:
                out += [Candidate(t, f"reply:{i}", fit) for t in reply.lines]
        at = ALL_BANDS.index(current)
        for b in ALL_BANDS:
            steps = abs(ALL_BANDS.index(b) - at)
            if steps <= 1:
                lines = self.scenario.lines.for_band(b)
                out += [Candidate(t, f"line:{b}", BAND_LINE_FIT, steps) for t in lines]
        return out

    def _choose(
        self, candidates: list[Candidate], learner_text: str, context: _Context
    ) -> CustomerLine | None:
        said = [*context.earlier, *self._spoken]
        best = self.chooser.choose(candidates, learner_text, said, context.given)
        if best is None:
            return None
        self._spoken.append(best.candidate.text)
        return CustomerLine(
            best.candidate.text, source="authored", notes=[f"authored {best.candidate.key}"]
        )

    def _authored(
        self, candidates: list[Candidate], learner_text: str, context: _Context, current: AngerBand
    ) -> CustomerLine:
        """The best candidate; when every one has been said, the band's lines come round
        again (an aggrieved customer repeats the grievance), never asking for what was given."""
        chosen = self._choose(candidates, learner_text, context)
        if chosen is not None:
            return chosen
        lines = self.scenario.lines.for_band(current)
        fitting = [t for t in lines if not (asks_for(t) & context.given)] or lines
        text = self._next(f"line:{current}", fitting, context.earlier[-2:])
        return CustomerLine(text, source="authored", notes=[f"authored line:{current} (again)"])

    def _answer(
        self, learner_text: str, said: Sequence[str], meaning: TurnMeaning | None = None
    ) -> CustomerLine | None:
        """The pack's answer to a question about a known fact or an arrangement.

        Asked again for something the customer already gave (``reasks_given``), the
        customer says it again the short way (the answer's later lines), once.
        """
        reasked = set(meaning.reasked) if meaning is not None else set()
        for answer in self.scenario.answers:
            if not asked_about(learner_text, answer.topics) and answer.id not in reasked:
                continue
            fresh = _unsaid(answer.lines, [*said, *self._spoken])
            if answer.id in reasked:
                fresh = [t for t in fresh if t != answer.lines[0]]
            if fresh:
                self._spoken.append(fresh[0])
                notes = [f"answer: {answer.id}"] + (["asked again"] if answer.id in reasked else [])
                return CustomerLine(fresh[0], source="authored", notes=notes)
        return None

    def _attempt(
        self,
        request: str | list[ChatMessage],
        opts: GenerationOptions,
        context: _Context,
        spoken: list[str],
    ) -> Generator[str, None, list[str]]:
        """Stream one generation; yield sentences that pass; return the last problems."""
        pieces = (
            self.model.stream_complete(request, opts)
            if isinstance(request, str)
            else self.model.stream_chat(request, opts)
        )
        try:
            return (yield from self._checked_sentences(pieces, context, spoken))
        finally:
            # Stop the backend now: a local model holds its lock until its stream is closed.
            close = getattr(pieces, "close", None)
            if close is not None:
                close()

    def _checked_sentences(
        self,
        pieces: Iterator[str],
        context: _Context,
        spoken: list[str],
    ) -> Generator[str, None, list[str]]:
        raw = ""
        done = False
        for piece in pieces:
            raw += piece
            if "\n" in raw.lstrip("\n"):
                done = True
            sentences, _ = _sentences(clean_generation(raw))
            for sentence in sentences[len(spoken) :]:
                problems = self._check(spoken, sentence, context)
                if problems:
                    return problems
                spoken.append(sentence)
                yield sentence
            if done:
                break
        sentences, rest = _sentences(clean_generation(raw))
        for sentence in [*sentences[len(spoken) :], rest]:
            if not sentence.strip():
                continue
            problems = self._check(spoken, sentence, context)
            if problems:
                return problems
            spoken.append(sentence)
            yield sentence
        return [] if spoken else ["empty or garbage"]

    def _check(self, spoken: list[str], sentence: str, context: _Context) -> list[str]:
        text = " ".join([*spoken, sentence])
        problems = check_line(
            text,
            self.scenario,
            context.said,
            earlier=context.earlier,
            agent_lines=context.agent,
            max_words=self.options.max_words,
        )
        asked = asks_for(text) & context.given
        if asked:
            problems.append(f"asks for what the agent has told ({', '.join(sorted(asked))})")
        if problems or self.role_check is None:
            return problems
        # the meaning check costs one embedding (~5 ms); only lines the rules pass get it
        return self.role_check.problems(text, context.band)

    def _trend(self, call: list[Turn], reading: ToneReading | None) -> str:
        last = next((t for t in reversed(call) if t.speaker == "learner"), None)
        if last is not None and last.anger is not None:
            return self._trend_of(last.anger.delta)
        if reading is not None:
            return {"escalating": "rising", "de-escalating": "falling"}.get(
                reading.direction, "steady"
            )
        return "steady"

    @staticmethod
    def _trend_of(delta: float) -> str:
        return "rising" if delta > 1 else "falling" if delta < -1 else "steady"

    def _request(
        self, call: list[Turn], current: AngerBand, trend: str, learner_text: str
    ) -> str | list[ChatMessage]:
        sc = self.scenario
        odd = looks_like_injection(learner_text)
        common = {
            "scenario": sc,
            "persona": sc.persona,
            "facts": list(sc.facts.items()),
            "band": current,
            "trend": trend,
            "odd": odd,
        }
        if self.model.prompt_style == "chat":
            messages = [ChatMessage("system", render("customer_chat.j2", **common))]
            if not call or call[0].speaker != "customer":
                messages.append(ChatMessage("assistant", sc.opening_line))
            for turn in call:
                if turn.speaker == "learner":
                    messages.append(ChatMessage("user", sanitize_learner(turn.text)))
                else:
                    messages.append(ChatMessage("assistant", turn.text))
            return messages
        turns: list[dict[str, object]] = []
        if not call or call[0].speaker != "customer":
            turns.append({"speaker": "CUSTOMER", "text": sc.opening_line, "band": None})
        prior: Turn | None = None
        for turn in call:
            if turn.speaker == "learner":
                turns.append({"speaker": "AGENT", "text": sanitize_learner(turn.text)})
            else:
                mood = prior.anger if prior is not None else None
                turns.append(
                    {
                        "speaker": "CUSTOMER",
                        "text": turn.text,
                        "band": mood.band if mood is not None else None,
                        "trend": self._trend_of(mood.delta) if mood is not None else "steady",
                        "odd": prior is not None and looks_like_injection(prior.text),
                    }
                )
            prior = turn
        return render("customer_completion.j2", turns=turns, **common)
