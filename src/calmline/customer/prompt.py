"""The customer's prompt: the call so far as a transcript to continue or as chat messages.

Templates are files (``prompts/templates``); this module only fills them. Learner
speech is untrusted: it enters as one line of the call, with newlines and speaker
labels neutralised (``sanitize_learner``), and hidden details never enter at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import jinja2

from calmline.customer.line_check import looks_like_injection
from calmline.customer.scenario import Scenario
from calmline.models import AngerBand, Turn
from calmline.paths import templates_dir
from calmline.protocols import ChatMessage

Trend = Literal["rising", "falling", "steady"]
# A transcript continuation ends at the end of the customer's line.
COMPLETION_STOPS = ["\n", "AGENT:", "CUSTOMER:", "Agent:", "Customer:", "("]


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


def trend_of(delta: float) -> Trend:
    """Which way an anger step went, as the prompt says it."""
    return "rising" if delta > 1 else "falling" if delta < -1 else "steady"


def build_request(
    scenario: Scenario,
    prompt_style: Literal["completion", "chat"],
    call: Sequence[Turn],
    current: AngerBand,
    trend: str,
    learner_text: str,
) -> str | list[ChatMessage]:
    """The prompt for the customer's next line: a transcript for a completion model,
    messages for a chat model. ``call`` holds the call's learner and customer turns."""
    sc = scenario
    odd = looks_like_injection(learner_text)
    common = {
        "scenario": sc,
        "persona": sc.persona,
        "facts": list(sc.facts.items()),
        "band": current,
        "trend": trend,
        "odd": odd,
    }
    if prompt_style == "chat":
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
                    "trend": trend_of(mood.delta) if mood is not None else "steady",
                    "odd": prior is not None and looks_like_injection(prior.text),
                }
            )
        prior = turn
    return render("customer_completion.j2", turns=turns, **common)
