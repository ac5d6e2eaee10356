"""The difficult customer: what it says next, given the scenario, the call so far and its anger.

``Customer`` reads what each learner turn does (``meaning.MeaningReader``) and which
of the scenario's triggers it hits, for the anger model; then it answers. Which
source says the line is ``policy``'s: a scripted moment, the pack's answer or reply
(``authored.AuthoredLines``), or the language model (``generation.LineGenerator``,
prompted by ``prompt.build_request``), falling back to an authored line when both of
the model's attempts fail the line check.

Learner speech is untrusted. It reaches the model only as a line of the call, with
newlines and speaker labels neutralised; hidden details never enter the prompt; and
"you are satisfied now" cannot settle the call because settling depends on the
anger state, which moves only through ``anger.step``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, replace

from calmline.customer.anger import band
from calmline.customer.authored import AuthoredLines, AuthoredState, LineContext
from calmline.customer.choice import AGREED, agreed, picked
from calmline.customer.choosing import Candidate, LineChooser
from calmline.customer.difficulty import Temper, temper_for
from calmline.customer.direction import DirectionJudge
from calmline.customer.generation import GenerationSettings, LineGenerator, clean_generation
from calmline.customer.identity import identity_answer, identity_details
from calmline.customer.line import CustomerLine, LineOutcome, Source
from calmline.customer.line_check import (
    affirmed_phrase_in,
    asked_about,
    check_line,
    looks_like_injection,
    matched_resolution,
    phrase_in,
    resolution_offered,
)
from calmline.customer.meaning import (
    REPORTED,
    RETRACTS,
    MeaningReader,
    asks_customer,
    clauses,
    offered_in,
)
from calmline.customer.misreads import MISREAD_ANGER, MISREAD_CAUSE, misread
from calmline.customer.neutral import READS_RECORD, Account
from calmline.customer.policy import (
    LAST_WARNING,
    LINE_SOURCES,
    LineSource,
    ScriptedMoments,
    SourcePolicy,
)
from calmline.customer.prompt import (
    COMPLETION_STOPS,
    build_request,
    sanitize_learner,
    trend_of,
)
from calmline.customer.role_check import RoleCheck
from calmline.customer.scenario import Scenario
from calmline.embed import FloatMatrix
from calmline.llm.interruptible import interruptible
from calmline.models import (
    AngerBand,
    AngerReason,
    AngerState,
    Given,
    Move,
    ToneReading,
    Turn,
    TurnMeaning,
)
from calmline.protocols import ChatMessage, ChatModel, GenerationOptions
from calmline.text import sentence_parts

__all__ = [
    "COMPLETION_STOPS",
    "LAST_WARNING",
    "LINE_SOURCES",
    "Customer",
    "CustomerLine",
    "CustomerOptions",
    "LineOutcome",
    "LineSource",
    "LineStream",
    "Source",
    "asked_about",
    "check_line",
    "clean_generation",
    "looks_like_injection",
    "resolution_offered",
    "sanitize_learner",
]

# an offer this near in meaning to one of the pack's accepted resolutions offers it
RESOLUTION_FLOOR = 0.5
BRISK_WORDS = 3  # a clause this short ("Booked.", "Swapped now.") is about the one before it


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


class LineStream:
    """Text pieces (sentences) of a customer line as they pass the check; ``line`` at the end."""

    def __init__(self, gen: Generator[str, None, CustomerLine]) -> None:
        self._gen = gen
        self.line: CustomerLine | None = None

    def __iter__(self) -> Iterator[str]:
        self.line = yield from self._gen


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
        direction: DirectionJudge | None = None,
    ) -> None:
        self.scenario = scenario
        self.meanings = meanings
        # how people take a turn (rise, hold, fall), for the anger step; None: rules alone
        self.direction = direction
        self.temper = temper or temper_for(scenario.difficulty)
        self.options = options or CustomerOptions()
        if seed is not None:
            self.options = replace(self.options, seed=seed)
        opts = self.options
        self.policy = SourcePolicy.for_lines(opts.lines)
        self.moments = ScriptedMoments(scenario, self.temper, opts.limit_turns)
        self.authored = AuthoredLines(
            scenario, LineChooser(meanings.embedder if meanings is not None else None)
        )
        # A reply started at the learner's pause and then thrown away stops its model at
        # the next token (calmline.call.speculation); elsewhere the model is untouched.
        settings = GenerationSettings(
            opts.max_tokens, opts.temperature, opts.max_words, opts.stream_early
        )
        self.generator = LineGenerator(scenario, interruptible(model), settings, role_check)
        self._resolutions: FloatMatrix | None = None  # will_accept descriptions, embedded
        self._facts: Account | None = None  # the pack's facts, for read-backs

    @property
    def model(self) -> ChatModel:
        """The model the customer's lines are generated with."""
        return self.generator.model

    @property
    def role_check(self) -> RoleCheck | None:
        return self.generator.role_check

    def snapshot(self) -> AuthoredState:
        """What a reply may change (for a speculative reply that is then thrown away)."""
        return self.authored.snapshot()

    def restore(self, saved: AuthoredState) -> None:
        """Undo a reply: the customer as it was at ``snapshot``."""
        self.authored.restore(saved)

    # ------------------------------------------------------------------ reading the learner

    def read_meaning(self, text: str, history: Sequence[Turn] = ()) -> TurnMeaning | None:
        """What the learner's turn does for this customer (None without a meaning reader)."""
        if self.meanings is None:
            return None
        said = [self.scenario.opening_line]
        said += [t.text for t in history if t.speaker == "customer" and t.phase == "call"]
        learner = [t for t in history if t.speaker == "learner" and t.phase == "call"]
        settled = any(
            r.cause == "resolution offered" for t in learner if t.anger for r in t.anger.reasons
        )
        return self.meanings.read(
            text, self.scenario, said, first_turn=not learner, settled=settled
        )

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
        parts = clauses(text)
        unhedged = [
            (i, c) for i, c in enumerate(parts) if not any(h.search(c.lower()) for h in hedges)
        ]
        # reading back what was done before ("engineer attended Tuesday") offers nothing;
        # "Four seats, tomorrow, 09:40. Booked.": the brisk "Booked." offers what was before it
        account = self._account()
        offers = [
            f"{parts[i - 1]} {c}" if i and len(c.split()) <= BRISK_WORDS else c
            for i, c in unhedged
            if offered_in(c) and not account.read_back(c, strict=True)
        ]
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

    def _account(self) -> Account:
        if self._facts is None:
            self._facts = Account(self.scenario, [self.scenario.opening_line])
        return self._facts

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

    def trigger_reasons(
        self, text: str, reading: ToneReading | None, meaning: TurnMeaning | None = None
    ) -> list[AngerReason]:
        """The scenario's own triggers hit by this turn, for ``anger.step(extra=...)``.

        A trigger heard only in the tone (blame, a policy shield) needs the meaning reader
        to agree that the turn pushes, or the tone to be sure: "You checked the porch and
        numbers 12 and 16" reads the customer's account back, and the tone encoder's
        *blame* on it is the "you" at its start, not an accusation.
        """
        out = []
        for trigger in self.scenario.triggers:
            by_tag = reading is not None and any(
                reading.has(t) and _heard_push(reading.tags.get(t, 0.0), meaning)
                for t in trigger.tags
            )
            # "I apologise for quoting our policy at you" names the trigger to take it back;
            # "you were told repair only" reports it; in a turn that owns the failure, "I
            # can see the router was reset on every call" reads it back
            owned = meaning is not None and meaning.owns
            said = [
                c
                for c in clauses(text)
                if not (RETRACTS.search(c) or REPORTED.search(c))
                and not (owned and READS_RECORD.search(c))
            ]
            by_words = any(affirmed_phrase_in(c, p) for c in said for p in trigger.phrases)
            if by_tag or by_words:
                out.append(AngerReason(cause=f"trigger: {trigger.id}", delta=trigger.extra_anger))
        return out

    def misread_reasons(self, text: str, history: Sequence[Turn]) -> list[AngerReason]:
        """A detail of the case read back wrong, for ``anger.step(extra=...)``."""
        said = [t.text for t in history if t.phase == "call" and t.text != text]
        if misread(text, self.scenario.facts, [self.scenario.opening_line, *said]) is None:
            return []
        return [AngerReason(cause=MISREAD_CAUSE, delta=MISREAD_ANGER)]

    # ------------------------------------------------------------------ speaking

    def opening(self) -> CustomerLine:
        """The pack's opening line, with the stage direction for the start anger."""
        start = band(self.scenario.persona.start_anger)
        return CustomerLine(
            text=self.scenario.opening_line,
            stage_direction=self.authored.stage_direction(
                start, [], self.scenario.opening_line, None
            ),
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
        scripted = self.moments.line(call, state, learner_text)
        if scripted is not None:
            direction = self.authored.stage_direction(current, call, scripted.text, learner)
            line = replace(scripted, stage_direction=direction)
            yield line.text
            return line
        line = yield from self._unscripted(call, state, reading, learner_text, current)
        return replace(
            line, stage_direction=self.authored.stage_direction(current, call, line.text, learner)
        )

    def _unscripted(
        self,
        call: list[Turn],
        state: AngerState,
        reading: ToneReading | None,
        learner_text: str,
        current: AngerBand,
    ) -> Generator[str, None, CustomerLine]:
        """The pack's answer or reply, or the model's line, as ``self.policy`` says."""
        opening = self.scenario.opening_line
        learner = next((t for t in reversed(call) if t.speaker == "learner"), None)
        meaning = learner.meaning if learner is not None else None
        context = LineContext(
            said=[opening, *(t.text for t in call)],
            earlier=[opening, *(t.text for t in call if t.speaker == "customer")],
            agent=[t.text for t in call if t.speaker == "learner"],
            band=current,
            given=frozenset(_given(call)),
            offered=meaning is not None
            and (meaning.has("concrete_action") or meaning.has("vague_action"))
            # a look-up ("let me just pull up that order, one sec") promises nothing to take up
            and any(offered_in(c) for c in clauses(learner_text)),
            asked=asks_customer(learner_text),
            tags=frozenset(reading.tags) if reading is not None else frozenset(),
        )
        policy, authored = self.policy, self.authored
        # offered a choice, the customer says their pick first ("Thursday morning, please.")
        pick = picked(learner_text, self.scenario)
        if pick is None and meaning is not None and not _pushes(meaning):
            pick = agreed(learner_text)  # "Shall I book that for you now?" "Yes, please."
        # "Are you sure it was installed properly?" hits the pack's blame trigger: the
        # customer rebuts it, not answers it ("Tuesday 4 March": realism round 11)
        accused = self._accused(learner_text, reading, meaning)
        if accused and reading is not None:
            reading = reading.model_copy(update={"tags": {**reading.tags, "blame": 1.0}})
        # the pick answers "which suits you better?": no pack answer after it ("Eight till
        # ten, please. Any time, love" contradicts itself; realism round 13)
        if policy.pack_answers and pick is None and not accused:
            answer = self._answer(learner_text, context.earlier, meaning, current)
            if answer is not None:
                answer = _with_pick(answer, pick)
                yield answer.text
                return answer
        candidates = authored.candidates(current, reading, meaning, learner_text)
        if pick == AGREED:
            # having said yes, the customer takes the action up, nothing else ("Yes, please.
            # Right. Now we're getting somewhere."), or says no more than yes
            taking = self._taking_up(current)
            line = authored.choose(taking, learner_text, context) if taking else None
            line = _with_pick(line or CustomerLine("Go ahead.", source="authored"), pick)
            yield line.text
            return line
        if policy.move_replies_first:
            chosen = authored.choose(candidates.replies, learner_text, context)
            if chosen is not None:
                chosen = _with_pick(chosen, pick)
                yield chosen.text
                return chosen
        if not policy.model:
            line = _with_pick(authored.best_or_again(candidates.all, learner_text, context), pick)
            yield line.text
            return line
        notes: list[str] = []
        if looks_like_injection(learner_text):
            notes.append("learner turn reads as an instruction to the model: treated as odd")
        request = self._request(call, current, self._trend(call, reading), learner_text)
        base_seed = self.options.seed + 1009 * state.turns
        generated, notes = yield from self.generator.generate(request, context, base_seed, notes)
        if generated is not None:
            return generated
        fallback = authored.candidates(current, reading, meaning, learner_text).all
        line = authored.best_or_again(fallback, learner_text, context)
        yield line.text
        return replace(line, notes=notes)

    def _taking_up(self, current: AngerBand) -> list[Candidate]:
        """The pack's replies to a concrete action, for this band."""
        return [
            Candidate(text, f"reply:{i}", 1.0)
            for i, reply in enumerate(self.scenario.replies)
            if "concrete_action" in reply.when and current in reply.bands
            for text in reply.lines
        ]

    def _accused(
        self, learner_text: str, reading: ToneReading | None, meaning: TurnMeaning | None
    ) -> bool:
        """Does the turn put the fault on the customer: the meaning reader hears it, or it
        hits one of the pack's triggers that blame?"""
        if meaning is not None and (
            meaning.has("blames") or meaning.learned.get("blames", 0.0) >= ACCUSED_LEARNED
        ):
            return True
        hit = {
            r.cause.removeprefix("trigger: ")
            for r in self.trigger_reasons(learner_text, reading, meaning)
        }
        return any("blame" in t.tags for t in self.scenario.triggers if t.id in hit)

    def _answer(
        self, learner_text: str, said: list[str], meaning: TurnMeaning | None, current: AngerBand
    ) -> CustomerLine | None:
        """The answer to an identity check (``customer.identity``), then the pack's answer
        to any other question in the turn (``AuthoredLines.answer``)."""
        identity = identity_answer(learner_text, self.scenario, current)
        if identity is None:
            return self.authored.answer(learner_text, said, meaning)
        rest = " ".join(s for s in sentence_parts(learner_text) if not identity_details(s))
        answer = self.authored.answer(rest, said, meaning) if rest.strip() else None
        text = identity if answer is None else f"{identity} {answer.text}"
        notes = ["answer: identity check"] + (answer.notes if answer is not None else [])
        return CustomerLine(text, source="authored", notes=notes)

    def _trend(self, call: list[Turn], reading: ToneReading | None) -> str:
        last = next((t for t in reversed(call) if t.speaker == "learner"), None)
        if last is not None and last.anger is not None:
            return trend_of(last.anger.delta)
        if reading is not None:
            return {"escalating": "rising", "de-escalating": "falling"}.get(
                reading.direction, "steady"
            )
        return "steady"

    def _request(
        self, call: list[Turn], current: AngerBand, trend: str, learner_text: str
    ) -> str | list[ChatMessage]:
        return build_request(
            self.scenario, self.model.prompt_style, call, current, trend, learner_text
        )


# the escalating moves of the meaning reader that agree with a pushing tone tag
PUSHING_MOVES: tuple[Move, ...] = (
    "brush_off",
    "transfer",
    "policy_wall",
    "refusal",
    "blames",
    "abusive",
)
TAG_TRIGGER_SURE = 0.8  # a tone tag alone this sure hits a trigger


def _heard_push(confidence: float, meaning: TurnMeaning | None) -> bool:
    """Does a pushing tone tag of this confidence count, given what the turn does?"""
    if meaning is None:
        return True
    if meaning.neutral is not None or meaning.owns:
        return False
    agrees = any(meaning.has(m) for m in PUSHING_MOVES) or bool(meaning.learned)
    return agrees or confidence >= TAG_TRIGGER_SURE


# what the customer does not say yes to: "Shall I pass you to the manufacturer?"
PUSHES: tuple[Move, ...] = (
    "transfer",
    "brush_off",
    "policy_wall",
    "refusal",
    "repeats_failure",
    "blames",
)
ACCUSED_LEARNED = 0.8  # the learned reader's blame this sure is a rebuttal's cue


def _pushes(meaning: TurnMeaning) -> bool:
    return any(meaning.has(m) or meaning.learned.get(m, 0.0) >= 0.5 for m in PUSHES)


def _with_pick(line: CustomerLine, pick: str | None) -> CustomerLine:
    """``line`` with the customer's pick of the choice they were offered said first."""
    if pick is None or line.text.lower().startswith(pick.lower().rstrip(".")):
        return line
    return replace(line, text=f"{pick} {line.text}", notes=[*line.notes, "picks an option"])


def _given(call: list[Turn]) -> set[Given]:
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
