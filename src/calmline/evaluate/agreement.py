"""Agreement statistics, one implementation for the marker, the tone reader and the dashboard.

Pure functions over label pairs: Cohen's kappa (linear-weighted over the ordinal verdicts
``not_met < partly < met``, or unweighted), the confusion matrix, the ``Agreement``
summary (exact agreement, both kappas, leniency, precision of "met") that the
calibration report (``calmline calibrate``) and the dashboard's agreement page both
show, precision / recall / F1 of a binary tag, and a percentile bootstrap confidence
interval for any of them. Pairs are always ``(reference, machine)``: the human (gold)
label first.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

LEVELS: tuple[str, ...] = ("not_met", "partly", "met")
T = TypeVar("T")


def cohen_kappa(
    pairs: Sequence[tuple[str, str]],
    weighted: bool = True,
    levels: Sequence[str] = LEVELS,
) -> float | None:
    """Cohen's kappa of (reference, machine) pairs; linear weights over ``levels`` order.

    ``None`` with no pairs. When chance agreement is perfect (both sides always gave the
    same single label) kappa is undefined: 1.0 is returned if they agreed, else 0.0.
    """
    k = len(levels)
    index = {c: i for i, c in enumerate(levels)}
    clean = [(a, b) for a, b in pairs if a in index and b in index]
    n = len(clean)
    if n == 0:
        return None
    counts = [[0.0] * k for _ in range(k)]
    for a, b in clean:
        counts[index[a]][index[b]] += 1

    def agree(i: int, j: int) -> float:
        if not weighted:
            return 1.0 if i == j else 0.0
        return 1.0 - abs(i - j) / (k - 1)

    rows = [sum(counts[i]) / n for i in range(k)]
    cols = [sum(counts[i][j] for i in range(k)) / n for j in range(k)]
    observed = sum(agree(i, j) * counts[i][j] / n for i in range(k) for j in range(k))
    expected = sum(agree(i, j) * rows[i] * cols[j] for i in range(k) for j in range(k))
    if abs(1.0 - expected) < 1e-12:
        return 1.0 if abs(1.0 - observed) < 1e-12 else 0.0
    return (observed - expected) / (1.0 - expected)


def confusion(pairs: Sequence[tuple[str, str]], levels: Sequence[str] = LEVELS) -> list[list[int]]:
    """Counts of (reference, machine) pairs: reference by row, machine by column, in
    ``levels`` order; pairs with a label outside ``levels`` are left out."""
    index = {c: i for i, c in enumerate(levels)}
    table = [[0] * len(levels) for _ in levels]
    for a, b in pairs:
        if a in index and b in index:
            table[index[a]][index[b]] += 1
    return table


@dataclass(frozen=True)
class Agreement:
    """Machine against reference over ``n`` pairs (labels outside ``LEVELS`` left out).

    Each share is ``None`` with no pairs. ``confusion[reference][machine]`` counts pairs.
    """

    n: int
    accuracy: float | None  # share of exact agreement
    kappa: float | None  # linear-weighted (the headline figure)
    kappa_unweighted: float | None
    leniency: float | None  # share where the machine is kinder (machine > reference)
    severity: float | None  # share where the machine is harsher
    met_precision: float | None  # of the machine's "met", the share the reference also met
    met_predicted: int
    confusion: list[list[int]] = field(default_factory=list)


def agreement(pairs: Sequence[tuple[str, str]]) -> Agreement:
    """The ``Agreement`` of (reference, machine) verdict pairs."""
    index = {c: i for i, c in enumerate(LEVELS)}
    clean = [(a, b) for a, b in pairs if a in index and b in index]
    n = len(clean)

    def share(count: int) -> float | None:
        return count / n if n else None

    predicted_met = [a for a, b in clean if b == "met"]
    return Agreement(
        n=n,
        accuracy=share(sum(a == b for a, b in clean)),
        kappa=cohen_kappa(clean, weighted=True),
        kappa_unweighted=cohen_kappa(clean, weighted=False),
        leniency=share(sum(index[b] > index[a] for a, b in clean)),
        severity=share(sum(index[b] < index[a] for a, b in clean)),
        met_precision=(sum(a == "met" for a in predicted_met) / len(predicted_met))
        if predicted_met
        else None,
        met_predicted=len(predicted_met),
        confusion=confusion(clean),
    )


@dataclass(frozen=True)
class BinaryScores:
    """Precision, recall and F1 of a binary decision against a reference."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def binary_scores(pairs: Sequence[tuple[bool, bool]]) -> BinaryScores:
    """(reference, machine) booleans -> counts."""
    return BinaryScores(
        tp=sum(1 for g, m in pairs if g and m),
        fp=sum(1 for g, m in pairs if not g and m),
        fn=sum(1 for g, m in pairs if g and not m),
    )


@dataclass(frozen=True)
class Estimate:
    """A figure with its 95% percentile-bootstrap interval (resampling items)."""

    value: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.value:.2f} [{self.low:.2f}, {self.high:.2f}]"


def bootstrap(
    items: Sequence[T],
    statistic: Callable[[Sequence[T]], float | None],
    rounds: int = 1000,
    seed: int = 0,
) -> Estimate:
    """``statistic`` on ``items`` with a 95% interval from ``rounds`` resamples of items."""
    value = statistic(items)
    rng = random.Random(seed)
    samples: list[float] = []
    n = len(items)
    for _ in range(rounds if n else 0):
        resample = [items[rng.randrange(n)] for _ in range(n)]
        s = statistic(resample)
        if s is not None:
            samples.append(s)
    samples.sort()
    if not samples or value is None:
        return Estimate(value or 0.0, 0.0, 0.0, n)
    low = samples[int(0.025 * (len(samples) - 1))]
    high = samples[int(0.975 * (len(samples) - 1))]
    return Estimate(value, low, high, n)
