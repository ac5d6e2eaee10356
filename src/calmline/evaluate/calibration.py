"""Agreement between the machine and human examiners on ordinal verdicts.

Pure statistics: accuracy, linear-weighted Cohen's kappa (not_met < partly < met) and
the confusion matrix (both ``evaluate.agreement``'s), leniency (share of items where
the machine is kinder than the human) and the precision of "met".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from calmline.evaluate.agreement import cohen_kappa, confusion
from calmline.models import Verdict

LEVELS: tuple[Verdict, ...] = ("not_met", "partly", "met")
_INDEX: dict[str, int] = {v: i for i, v in enumerate(LEVELS)}


@dataclass
class Agreement:
    """Agreement over ``n`` (human, machine) pairs; ``confusion[h][m]`` counts pairs."""

    n: int
    accuracy: float
    kappa: float | None  # linear-weighted; None with no pairs (evaluate.agreement.cohen_kappa)
    leniency: float  # share where machine > human
    severity: float  # share where machine < human
    met_precision: float | None  # of machine "met", share the human also marked met
    met_predicted: int
    confusion: list[list[int]] = field(default_factory=list)


def agreement(pairs: Sequence[tuple[str, str]]) -> Agreement:
    n = len(pairs)
    predicted_met = [h for h, m in pairs if m == "met"]
    return Agreement(
        n=n,
        accuracy=sum(h == m for h, m in pairs) / n if n else 0.0,
        kappa=cohen_kappa(pairs, weighted=True, levels=LEVELS),
        leniency=sum(_INDEX[m] > _INDEX[h] for h, m in pairs) / n if n else 0.0,
        severity=sum(_INDEX[m] < _INDEX[h] for h, m in pairs) / n if n else 0.0,
        met_precision=(sum(h == "met" for h in predicted_met) / len(predicted_met))
        if predicted_met
        else None,
        met_predicted=len(predicted_met),
        confusion=confusion(pairs, LEVELS),
    )
