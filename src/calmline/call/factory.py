"""Builds the real collaborators of a practice call from the user's choices.

The one place that knows which concrete class backs each protocol; commands call
this, and tests build :class:`~calmline.call.practice.Collaborators` from fakes instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from calmline.call.practice import Collaborators, Player
from calmline.config import environment
from calmline.customer.character import LineSource
from calmline.customer.scenario import Scenario
from calmline.models import Assessment, ModelsUsed, SessionRecord
from calmline.protocols import ChatModel, Synthesizer, Transcriber
from calmline.tone.reader import ToneReader

LinesChoice = Literal["auto", LineSource]  # --lines
# The sentence embedder the tone reader, meaning reader and role check share, as sessions
# record it (models.embedder).
EMBEDDER_LABEL = "all-MiniLM-L6-v2 int8"


@dataclass
class BackendChoice:
    """Which models back a call (from flags and environment variables).

    Attributes:
        llm: ``local`` (bundled GGUF in process) or ``openai`` (any compatible endpoint).
        llm_model: model name for the endpoint, or a bundled name / .gguf path for local.
        base_url, api_key: the OpenAI-compatible endpoint; default from the environment.
        stt: ``local`` (faster-whisper in process) or ``openai`` (an OpenAI-compatible
            ``/v1/audio/transcriptions`` endpoint at ``stt_url`` or ``CALMLINE_STT_URL``).
        stt_model: ``tiny.en`` (bundled), ``base``, ``small`` or a model directory; with
            ``openai``, the model name sent (default ``CALMLINE_STT_MODEL`` or whisper-1).
        stt_device: ``cpu`` or ``cuda``.
        stt_url: the speech-to-text endpoint for ``openai``.
        tts: ``espeak`` (espeak-ng directly) or ``pyttsx3``.
        fallback: with ``openai``, answer with the bundled model while the endpoint fails
            (before falling back to authored lines).
        llm_timeout: seconds before an endpoint request is given up and retried.
        lines: where the customer's lines come from (``customer.CustomerOptions.lines``),
            or ``auto``: authored with the bundled models, generated with an endpoint.
    """

    llm: Literal["local", "openai"] = "local"
    llm_model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    stt_model: str = "tiny.en"
    stt_device: str = "cpu"
    stt: Literal["local", "openai"] = "local"
    stt_url: str | None = None
    tts: str = "espeak"
    seed: int | None = None
    fallback: bool = True  # --llm openai: the bundled model answers when the endpoint fails
    llm_timeout: float = 30.0
    lines: LinesChoice = "auto"

    @property
    def customer_lines(self) -> LineSource:
        """``auto``: authored with the bundled models, generated with an endpoint.

        Hand-labelled over 8 calls of 15 turns, the bundled Gemma 270M's lines that
        passed every check were in character 20% of the time, the packs' authored
        lines 95% (docs/character_eval.md): offline, the pack speaks.
        """
        if self.lines == "auto":
            return "authored" if self.llm == "local" else "generated"
        return self.lines


def load_llm(choice: BackendChoice) -> ChatModel:
    from calmline.llm import load_chat_model

    return load_chat_model(
        backend=choice.llm,
        model=choice.llm_model,
        base_url=choice.base_url,
        api_key=choice.api_key,
        timeout=choice.llm_timeout,
        fallback=choice.fallback and choice.llm == "openai",
    )


def load_transcriber(choice: BackendChoice) -> Transcriber:
    if choice.stt == "openai":
        from calmline.speech.remote_stt import load_remote_transcriber

        model = None if choice.stt_model == "tiny.en" else choice.stt_model
        return load_remote_transcriber(choice.stt_url, model)
    from calmline.speech.stt import load_transcriber as _load

    return _load(choice.stt_model, device=choice.stt_device)


def stt_label(choice: BackendChoice) -> str:
    """The speech to text as a session records it (``models.stt``)."""
    if choice.stt != "openai":
        return choice.stt_model
    env = environment()
    model = None if choice.stt_model == "tiny.en" else choice.stt_model
    return f"openai:{model or env.stt_model or 'whisper-1'}@{choice.stt_url or env.stt_url}"


@runtime_checkable
class Warmable(Protocol):
    """A model that knows how to run itself once (the bundled llama.cpp model)."""

    def warm(self) -> None: ...


def warm_models(*models: Warmable | ChatModel | Transcriber | ToneReader | Synthesizer) -> None:
    """Run each loaded model once, so the learner's first turn does not pay for page-ins.

    The first Whisper encode, llama.cpp decode and ONNX run each cost several times a
    normal one (memory mapping, kernel selection); paying that at load time keeps the
    first reply as quick as the rest. A model with nothing to warm is left alone.
    """
    import numpy as np

    from calmline.protocols import SAMPLE_RATE

    for model in models:
        if isinstance(model, Warmable):
            model.warm()
        elif isinstance(model, Transcriber):
            t = np.arange(SAMPLE_RATE, dtype=np.float32) / SAMPLE_RATE
            model.transcribe((0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
        elif isinstance(model, ToneReader):
            model.read("Hello, how can I help?", context="It broke again.")
        elif isinstance(model, Synthesizer):
            model.synthesize("Hello.", "customer")


def build_collaborators(
    scenario: Scenario,
    choice: BackendChoice,
    *,
    player: Player | None,
    rubric_ids: list[str] | None = None,
    judge: str = "offline",
) -> Collaborators:
    """Load every model a call needs, once, and wire them together."""
    from calmline.customer.character import Customer, CustomerOptions
    from calmline.customer.direction import load_direction_model
    from calmline.customer.meaning import load_meaning_reader
    from calmline.customer.role_check import default_role_check
    from calmline.evaluate.debrief import build_debrief_questions
    from calmline.evaluate.evaluator import assess
    from calmline.evaluate.llm_judge import LLMJudge
    from calmline.evaluate.report import spoken_summary, write_reports
    from calmline.evaluate.rubric import load_rubrics
    from calmline.speech.tts import load_speaker
    from calmline.tone.reader import load_tone_reader

    chat = load_llm(choice)
    tone = load_tone_reader()
    # the same MiniLM as the tone reader; CALMLINE_ROLE_CHECK=0 turns it off (to compare,
    # or on a capable endpoint whose lines never need it)
    role_off = not environment().role_check
    role_off = role_off or choice.customer_lines == "authored"  # no model line to check
    role_check = None if role_off else default_role_check()
    speaker = load_speaker(choice.tts)
    rubrics = load_rubrics(rubric_ids)
    warm_models(chat, tone, speaker)

    def evaluate(record: SessionRecord) -> list[Assessment]:
        llm_judge = None if judge == "offline" else LLMJudge(chat)
        return assess(record, rubrics, llm_judge, tone_reader=tone)

    def questions(record: SessionRecord) -> list[str]:
        return build_debrief_questions(record, rubrics)

    def reports(record: SessionRecord, assessments: list[Assessment], folder: Path) -> list[Path]:
        return list(write_reports(record, assessments, folder).values())

    return Collaborators(
        # stream_early: the first checked sentence is spoken while the rest is generated.
        customer=Customer(
            scenario,
            chat,
            CustomerOptions(stream_early=True, lines=choice.customer_lines),
            seed=choice.seed,
            role_check=role_check,
            # the same MiniLM again: what each turn does, and which pack line answers it
            meanings=load_meaning_reader(),
            # which way people say such a turn moves an upset customer (learned)
            direction=load_direction_model(),
        ),
        tone=tone,
        speaker=speaker,
        player=player,
        models=ModelsUsed(
            stt=stt_label(choice),
            llm=chat.name,
            tts=speaker.name,
            embedder=EMBEDDER_LABEL,
        ),
        evaluate=evaluate,
        debrief_questions=questions,
        write_reports=reports,
        spoken_summary=spoken_summary,
    )
