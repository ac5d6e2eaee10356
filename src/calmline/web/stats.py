"""The dashboard's agreement figures: agreement rate and Cohen's kappa, machine against assessor.

Verdicts are ordinal, ``not_met < partly < met``. The headline kappa is
**linear-weighted** (a ``partly`` against a ``met`` counts as half a disagreement);
the unweighted kappa is reported beside it. The statistics themselves are
``evaluate.agreement``'s, shared with the calibration report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from calmline.evaluate.agreement import LEVELS, cohen_kappa

CATEGORIES: tuple[str, ...] = LEVELS

Pair = tuple[str, str]  # (assessor verdict, machine verdict): the reference first


@dataclass(frozen=True)
class Agreement:
    n: int
    rate: float | None  # share of exact agreement
    kappa_linear: float | None
    kappa_unweighted: float | None


def agreement(pairs: Sequence[Pair]) -> Agreement:
    clean = [(a, b) for a, b in pairs if a in CATEGORIES and b in CATEGORIES]
    n = len(clean)
    return Agreement(
        n=n,
        rate=(sum(a == b for a, b in clean) / n) if n else None,
        kappa_linear=cohen_kappa(clean, weighted=True),
        kappa_unweighted=cohen_kappa(clean, weighted=False),
    )
