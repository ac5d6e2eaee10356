"""The difficult customer: what it says next, given the scenario, the call so far and its anger.

``Customer`` decides the scripted moments itself (settling when an accepted
resolution is on the table and anger is low, demanding a manager or hanging up after
persisting at the top band, revealing a hidden detail only when asked) and asks the
language model for everything else. Every generated line goes through
``line_check.check_line``; a rejected line gets one retry with a different seed, then
an authored line for the current anger band (cycled so it does not repeat).

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
from calmline.customer.line_check import (
    affirmed_phrase_in,
    asked_about,
    check_line,
    looks_like_injection,
    phrase_in,
    resolution_offered,
)
from calmline.customer.role_check import RoleCheck
from calmline.customer.scenario import ALL_BANDS, HiddenDetail, Scenario
from calmline.models import AngerBand, AngerReason, AngerState, ToneReading, Turn
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
        limit_turns: consecutive learner turns at ``furious`` before the customer
            demands a manager or hangs up.
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
    limit_turns: int = 2
    stream_early: bool = False
    lines: LineSource = "generated"


@dataclass(frozen=True)
class _Context:
    """What a candidate line is checked against."""

    said: list[str]  # everything said in the call: numbers and dates may be repeated
    earlier: list[str]  # the customer's own lines: no loops
    agent: list[str]  # the learner's lines: no echoes
    band: AngerBand  # the customer's anger now: the role check's mood test


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
    ) -> None:
        self.scenario = scenario
        self.model = model
        self.role_check = role_check
        self.options = options or CustomerOptions()
        if seed is not None:
            self.options = replace(self.options, seed=seed)
        self._cycle: dict[str, int] = {}

    # ------------------------------------------------------------------ reading the learner

    def resolution_offered(self, text: str) -> bool:
        """Does the learner's turn offer a resolution this customer accepts?"""
        return resolution_offered(text, self.scenario)

    def repeats_failure(self, text: str) -> bool:
        """Does the learner's turn repeat the original failure (another missed promise)?"""
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
            stage_direction=self._stage_direction(start),
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
        learner_text = next((t.text for t in reversed(call) if t.speaker == "learner"), "")
        current = band(state.anger)
        direction = self._stage_direction(current)
        scripted = self._scripted(call, state, learner_text, current)
        if scripted is not None:
            line = replace(scripted, stage_direction=direction)
            yield line.text
            return line
        line = yield from self._generated(call, state, reading, learner_text, current)
        return replace(line, stage_direction=direction)

    def _scripted(
        self, call: list[Turn], state: AngerState, learner_text: str, current: AngerBand
    ) -> CustomerLine | None:
        sc = self.scenario
        if self._furious_streak(call, current) >= self.options.limit_turns:
            if sc.persona.at_limit == "hang_up":
                return CustomerLine(sc.hangup_line, source="authored", outcome="hung_up")
            return CustomerLine(sc.manager_line, source="authored", outcome="manager")
        if state.resolution_offered and state.anger < sc.settle_below:
            return CustomerLine(sc.satisfied_line, source="authored", outcome="satisfied")
        detail = self._asked_detail(call, learner_text)
        if detail is not None:
            return CustomerLine(
                detail.detail, source="authored", notes=[f"revealed hidden detail: {detail.id}"]
            )
        return None

    def _furious_streak(self, call: list[Turn], current: AngerBand) -> int:
        if current != "furious":
            return 0
        learner = [t for t in call if t.speaker == "learner"]
        streak = 1
        for turn in reversed(learner[:-1]):
            if turn.anger is None or turn.anger.band != "furious":
                break
            streak += 1
        return streak

    def _asked_detail(self, call: list[Turn], learner_text: str) -> HiddenDetail | None:
        said = " ".join(t.text for t in call if t.speaker == "customer")
        for detail in self.scenario.hidden_details:
            if detail.detail not in said and asked_about(learner_text, detail.topics):
                return detail
        return None

    def _stage_direction(self, current: AngerBand) -> str | None:
        sc = self.scenario
        if sc.setting != "face_to_face" or sc.stage_directions is None:
            return None
        if sc.risk_indicators and current in ("angry", "furious"):
            return self._next("risk", sc.risk_indicators)
        return self._next(f"stage:{current}", sc.stage_directions.for_band(current))

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
        context = _Context(
            said=[opening, *(t.text for t in call)],
            earlier=[opening, *(t.text for t in call if t.speaker == "customer")],
            agent=[t.text for t in call if t.speaker == "learner"],
            band=current,
        )
        request = self._request(call, current, self._trend(call, reading), learner_text)
        if self.options.lines != "generated":
            answer = self._answer(learner_text, context.earlier)
            if answer is not None:
                yield answer.text
                return answer
        reply = self._reply_key(current, reading, context.earlier)
        if self.options.lines == "authored-first" and reply is not None:
            text = self._next(reply, self._reply_lines(reply), context.earlier)
            yield text
            return CustomerLine(text, source="authored", notes=[f"authored {reply}"])
        if self.options.lines == "authored":
            key, lines = self._fallback(current, reply, context.earlier)
            text = self._next(key, lines, context.earlier)
            yield text
            return CustomerLine(text, source="authored", notes=[f"authored {key}"])
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
        key, lines = self._fallback(current, reply, context.earlier)
        text = self._next(key, lines, context.earlier)
        yield text
        return CustomerLine(text, source="authored", notes=notes)

    def _answer(self, learner_text: str, said: Sequence[str]) -> CustomerLine | None:
        """The pack's answer to a question about a known fact or an arrangement."""
        for answer in self.scenario.answers:
            if not asked_about(learner_text, answer.topics):
                continue
            fresh = _unsaid(answer.lines, said)
            if fresh:
                return CustomerLine(fresh[0], source="authored", notes=[f"answer: {answer.id}"])
        return None

    def _fallback(
        self, current: AngerBand, reply: str | None, said: Sequence[str]
    ) -> tuple[str, list[str]]:
        """The authored lines to fall back on, as (cycle key, lines): the first with a
        line not yet said of the reply to the learner's move, the band's own lines,
        then the neighbouring bands' lines. Replies to other moves are never fillers
        ("Don't tell me to calm down" when nobody did). Only when all are used up does
        a band line come round again: an aggrieved customer repeats the grievance."""
        options: list[tuple[str, list[str]]] = []
        if reply is not None:
            options.append((reply, self._reply_lines(reply)))
        options.append((f"line:{current}", self.scenario.lines.for_band(current)))
        at = ALL_BANDS.index(current)
        options += [
            (f"line:{b}", self.scenario.lines.for_band(b))
            for b in ALL_BANDS[max(0, at - 1) : at + 2]
            if b != current
        ]
        for key, lines in options:
            if _unsaid(lines, said):
                return key, lines
        return f"line:{current}", self.scenario.lines.for_band(current)

    def _reply_lines(self, key: str) -> list[str]:
        return list(self.scenario.replies[int(key.split(":")[1])].lines)

    def _reply_key(
        self, current: AngerBand, reading: ToneReading | None, said: Sequence[str]
    ) -> str | None:
        """The cycle key of the pack's reply to the learner's most confident move.

        Only an entry with a line not yet said in this call counts, so a used-up
        entry leaves the turn to the model (or to the band's lines).
        """
        if reading is None:
            return None
        moves = sorted(reading.tags.items(), key=lambda item: -item[1])
        for tag, confidence in moves:
            if confidence < REPLY_MIN_CONFIDENCE:
                break
            for i, reply in enumerate(self.scenario.replies):
                fits = tag in reply.when and current in reply.bands
                if fits and _unsaid(reply.lines, said):
                    return f"reply:{i}"
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
