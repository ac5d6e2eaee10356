"""A practice call on scripted parts: the set-up shared by the call-level tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from calmline.call.inputs import LearnerInput
from calmline.call.practice import Collaborators, PracticeCall, PracticeOptions
from calmline.call.view import CallView
from calmline.customer.character import Customer, CustomerOptions
from calmline.customer.scenario import Scenario, load_scenario
from calmline.embed import FakeEmbedder
from calmline.protocols import ChatModel
from calmline.testing.fake_llm import FakeChatModel
from calmline.testing.fakes import FakeSpeaker
from calmline.tone.cues import load_cues
from calmline.tone.reader import ToneReader

SCENARIO = "kettle-counter"
CUSTOMER_LINES = ["It leaks every single time I boil it.", "Right. And what are you going to do?"]


def scripted_model(**kwargs: Any) -> FakeChatModel:
    """The kettle customer's two lines, over and over."""
    return FakeChatModel(replies=list(CUSTOMER_LINES), cycle=True, **kwargs)


def fake_parts(
    model: ChatModel,
    *,
    scenario: str | Scenario = SCENARIO,
    customer_options: CustomerOptions | None = None,
    seed: int | None = 1,
    speaker: FakeSpeaker | None = None,
    **extra: Any,
) -> Collaborators:
    """A customer on ``model``, tone read with the fake embedder, speech by ``FakeSpeaker``."""
    pack = load_scenario(scenario) if isinstance(scenario, str) else scenario
    return Collaborators(
        customer=Customer(pack, model, customer_options, seed=seed),
        tone=ToneReader(FakeEmbedder(), load_cues()),
        speaker=speaker or FakeSpeaker(),
        **extra,
    )


def practice_call(
    view_file: Path,
    learner: LearnerInput,
    parts: Collaborators,
    *,
    scenario: str | Scenario = SCENARIO,
    exam: bool = False,
    **options: Any,
) -> PracticeCall:
    """A call as ``calmline practice`` builds it; what it shows is written to ``view_file``."""
    pack = load_scenario(scenario) if isinstance(scenario, str) else scenario
    console = Console(file=view_file.open("a", encoding="utf-8"), width=120)
    view = CallView(exam=exam, console=console)
    return PracticeCall(pack, parts, learner, PracticeOptions(exam=exam, **options), view)


def scripted_call(
    tmp_path: Path, learner: LearnerInput, parts: Collaborators | None = None, **options: Any
) -> PracticeCall:
    """A kettle call on ``scripted_model``: saved under ``tmp_path/rec``, shown in
    ``tmp_path/view.txt``."""
    parts = parts or fake_parts(scripted_model())
    return practice_call(tmp_path / "view.txt", learner, parts, out=tmp_path / "rec", **options)
