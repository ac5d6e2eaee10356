"""Lines from the language model: streamed, cleaned, checked sentence by sentence, retried once.

Every sentence goes through ``line_check.check_line`` (and the role check, when there
is one) before it is yielded, and never asks for what the learner has just given. A
rejected line gets one retry with a different seed, a little hotter; when both fail
the caller falls back to an authored line.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass

from calmline.customer.authored import LineContext
from calmline.customer.line import CustomerLine, Source
from calmline.customer.line_check import check_line
from calmline.customer.meaning import asks_for
from calmline.customer.prompt import COMPLETION_STOPS
from calmline.customer.role_check import RoleCheck
from calmline.customer.scenario import Scenario
from calmline.protocols import ChatMessage, ChatModel, GenerationOptions
from calmline.text import sentences_and_rest


@dataclass(frozen=True)
class GenerationSettings:
    """The part of ``CustomerOptions`` that generation reads (see there)."""

    max_tokens: int
    temperature: float
    max_words: int
    stream_early: bool


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


def _drain(gen: Generator[str, None, list[str]]) -> list[str]:
    """Run a generator to the end and return its return value."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return list(stop.value)


class LineGenerator:
    """Asks the model for the customer's line and keeps only sentences that pass the checks."""

    def __init__(
        self,
        scenario: Scenario,
        model: ChatModel,
        settings: GenerationSettings,
        role_check: RoleCheck | None = None,
    ) -> None:
        self.scenario = scenario
        self.model = model
        self.settings = settings
        self.role_check = role_check

    def generate(
        self,
        request: str | list[ChatMessage],
        context: LineContext,
        base_seed: int,
        notes: Sequence[str] = (),
    ) -> Generator[str, None, tuple[CustomerLine | None, list[str]]]:
        """Yield the line's sentences as they pass; return the line (None: both attempts
        failed) and the notes (``notes`` first, then what was rejected or cut)."""
        settings = self.settings
        notes = list(notes)
        sources: tuple[Source, Source] = ("llm", "retry")
        for attempt, source in enumerate(sources):
            opts = GenerationOptions(
                max_tokens=settings.max_tokens,
                # the retry runs a little hotter: a small model's usual failure is a loop;
                # much hotter and its lines turn to nonsense (docs/customer_eval.md)
                temperature=settings.temperature + 0.1 * attempt,
                stop=list(COMPLETION_STOPS) if isinstance(request, str) else [],
                seed=base_seed + attempt * 7919,
            )
            spoken: list[str] = []
            attempt_stream = self._attempt(request, opts, context, spoken)
            try:
                if settings.stream_early:
                    problems = yield from attempt_stream
                else:
                    problems = _drain(attempt_stream)
                    if not all(p.startswith("too long") for p in problems):
                        spoken.clear()  # a failing sentence rejects the line; length only cuts it
            except Exception as exc:  # a dead endpoint must not end the call: fall back
                notes.append(f"model error: {type(exc).__name__}: {exc}")
                if spoken and settings.stream_early:
                    return CustomerLine(" ".join(spoken), source=source, notes=notes), notes
                break
            if spoken:
                if problems:
                    notes.append(f"{source} line truncated ({'; '.join(problems)})")
                if not settings.stream_early:
                    yield from spoken
                return CustomerLine(" ".join(spoken), source=source, notes=notes), notes
            notes.append(f"{source} line rejected ({'; '.join(problems)})")
        return None, notes

    def _attempt(
        self,
        request: str | list[ChatMessage],
        opts: GenerationOptions,
        context: LineContext,
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
        context: LineContext,
        spoken: list[str],
    ) -> Generator[str, None, list[str]]:
        raw = ""
        done = False
        for piece in pieces:
            raw += piece
            if "\n" in raw.lstrip("\n"):
                done = True
            sentences, _ = sentences_and_rest(clean_generation(raw))
            for sentence in sentences[len(spoken) :]:
                problems = self._check(spoken, sentence, context)
                if problems:
                    return problems
                spoken.append(sentence)
                yield sentence
            if done:
                break
        sentences, rest = sentences_and_rest(clean_generation(raw))
        for sentence in [*sentences[len(spoken) :], rest]:
            if not sentence.strip():
                continue
            problems = self._check(spoken, sentence, context)
            if problems:
                return problems
            spoken.append(sentence)
            yield sentence
        return [] if spoken else ["empty or garbage"]

    def _check(self, spoken: list[str], sentence: str, context: LineContext) -> list[str]:
        text = " ".join([*spoken, sentence])
        problems = check_line(
            text,
            self.scenario,
            context.said,
            earlier=context.earlier,
            agent_lines=context.agent,
            max_words=self.settings.max_words,
        )
        asked = asks_for(text) & context.given
        if asked:
            problems.append(f"asks for what the agent has told ({', '.join(sorted(asked))})")
        if problems or self.role_check is None:
            return problems
        # the meaning check costs one embedding (~5 ms); only lines the rules pass get it
        return self.role_check.problems(text, context.band)
