"""Agreement between the machine and the assessors: agreement rate and Cohen's kappa (pure).

Verdicts are ordinal, ``not_met < partly < met``. The headline kappa is
**linear-weighted** (a ``partly`` against a ``met`` counts as half a disagreement);
the unweighted kappa is reported beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CATEGORIES: tuple[str, ...] = ("not_met", "partly", "met")

Pair = tuple[str, str]  # (machine verdict, assessor verdict)


@dataclass(frozen=True)
class Agreement:
    n: int
    rate: float | None  # share of exact agreement
    kappa_linear: float | None
    kappa_unweighted: float | None


def _weight(i: int, j: int, weighted: bool) -> float:
    if not weighted:
        return 1.0 if i == j else 0.0
    return 1.0 - abs(i - j) / (len(CATEGORIES) - 1)


def cohen_kappa(pairs: Sequence[Pair], weighted: bool = True) -> float | None:
    """Cohen's kappa of two raters over ``CATEGORIES``; ``None`` with no pairs.

    When chance agreement is already perfect (both raters always gave the same single
    category) kappa is undefined; it is reported as 1.0 if they agreed, else 0.0.
    """
    k = len(CATEGORIES)
    index = {c: n for n, c in enumerate(CATEGORIES)}
    counts = [[0.0] * k for _ in range(k)]
    for a, b in pairs:
        counts[index[a]][index[b]] += 1
    n = len(pairs)
    if n == 0:
        return None
    rows = [sum(counts[i]) / n for i in range(k)]
    cols = [sum(counts[i][j] for i in range(k)) / n for j in range(k)]
    observed = sum(_weight(i, j, weighted) * counts[i][j] / n for i in range(k) for j in range(k))
    expected = sum(_weight(i, j, weighted) * rows[i] * cols[j] for i in range(k) for j in range(k))
    if abs(1.0 - expected) < 1e-12:
        return 1.0 if abs(1.0 - observed) < 1e-12 else 0.0
    return (observed - expected) / (1.0 - expected)


def agreement(pairs: Sequence[Pair]) -> Agreement:
    clean = [(a, b) for a, b in pairs if a in CATEGORIES and b in CATEGORIES]
    n = len(clean)
    return Agreement(
        n=n,
        rate=(sum(a == b for a, b in clean) / n) if n else None,
        kappa_linear=cohen_kappa(clean, weighted=True),
        kappa_unweighted=cohen_kappa(clean, weighted=False),
    )


def confusion(pairs: Sequence[Pair]) -> list[list[int]]:
    """Counts, machine verdict by row and assessor verdict by column, in ``CATEGORIES`` order."""
    index = {c: n for n, c in enumerate(CATEGORIES)}
    table = [[0] * len(CATEGORIES) for _ in CATEGORIES]
    for a, b in pairs:
        if a in index and b in index:
            table[index[a]][index[b]] += 1
    return table
