"""Agreement between the machine and human examiners on ordinal verdicts.

Pure statistics: accuracy, linear-weighted Cohen's kappa (not_met < partly < met),
the confusion matrix, leniency (share of items where the machine is kinder than the
human) and the precision of "met".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from calmline.models import Verdict

LEVELS: tuple[Verdict, ...] = ("not_met", "partly", "met")
_INDEX: dict[str, int] = {v: i for i, v in enumerate(LEVELS)}


@dataclass
class Agreement:
    """Agreement over ``n`` (human, machine) pairs; ``confusion[h][m]`` counts pairs."""

    n: int
    accuracy: float
    kappa: float | None  # None when undefined (every rating identical on both sides)
    leniency: float  # share where machine > human
    severity: float  # share where machine < human
    met_precision: float | None  # of machine "met", share the human also marked met
    met_predicted: int
    confusion: list[list[int]] = field(default_factory=list)


def weighted_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Linear-weighted Cohen's kappa over (human, machine) ordinal verdicts."""
    k = len(LEVELS)
    n = len(pairs)
    if n == 0:
        return None
    observed = [[0.0] * k for _ in range(k)]
    for human, machine in pairs:
        observed[_INDEX[human]][_INDEX[machine]] += 1
    rows = [sum(r) for r in observed]
    cols = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    weight = [[abs(i - j) / (k - 1) for j in range(k)] for i in range(k)]
    obs = sum(weight[i][j] * observed[i][j] for i in range(k) for j in range(k)) / n
    exp = sum(weight[i][j] * rows[i] * cols[j] for i in range(k) for j in range(k)) / (n * n)
    if exp == 0:
        return 1.0 if obs == 0 else None
    return 1.0 - obs / exp


def agreement(pairs: Sequence[tuple[str, str]]) -> Agreement:
    n = len(pairs)
    confusion = [[0] * len(LEVELS) for _ in LEVELS]
    for human, machine in pairs:
        confusion[_INDEX[human]][_INDEX[machine]] += 1
    predicted_met = [h for h, m in pairs if m == "met"]
    return Agreement(
        n=n,
        accuracy=sum(h == m for h, m in pairs) / n if n else 0.0,
        kappa=weighted_kappa(pairs),
        leniency=sum(_INDEX[m] > _INDEX[h] for h, m in pairs) / n if n else 0.0,
        severity=sum(_INDEX[m] < _INDEX[h] for h, m in pairs) / n if n else 0.0,
        met_precision=(sum(h == "met" for h in predicted_met) / len(predicted_met))
        if predicted_met
        else None,
        met_predicted=len(predicted_met),
        confusion=confusion,
    )
