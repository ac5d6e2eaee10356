"""One customer line as it leaves the customer: text, stage direction, where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Source = Literal["llm", "retry", "authored"]
LineOutcome = Literal["satisfied", "manager", "hung_up"]


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
