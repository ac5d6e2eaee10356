"""Fitting per-concept thresholds to labelled transcripts, by coordinate ascent.

Pure: the caller supplies how to mark under a set of thresholds (``MarkFn``), so this
module knows nothing of models or files. The objective is the mean linear-weighted
kappa over marking points, less a penalty when the machine is kinder than the labels
on more than ``max_leniency`` of them (a lenient marker is the worse error in an exam).
Concepts are fitted in groups sharing one threshold (a family whose concepts are
counted together, such as the indicators of a difficult customer, has one threshold:
fewer numbers fitted on few transcripts generalise better). Each group's threshold moves
through ``grid`` in turn, re-marking only the points that use it; a move is kept only
when it gains more than ``min_gain``, so thresholds stay at their start unless the labels
give a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from calmline.evaluate.agreement import LEVELS, cohen_kappa

Pairs = list[tuple[str, str]]  # (gold, machine)
MarkFn = Callable[[Mapping[str, float], Collection[str]], Mapping[str, Pairs]]

DEFAULT_GRID: tuple[float, ...] = tuple(round(0.30 + 0.05 * i, 2) for i in range(14))  # .30-.95


@dataclass(frozen=True)
class FitOptions:
    """How thresholds are searched.

    grid          candidate thresholds for every concept
    passes        rounds over all concepts
    min_gain      smallest objective gain that moves a threshold
    max_leniency  share of labels the machine may exceed before the penalty starts
    leniency_weight  objective lost per unit of leniency above ``max_leniency``
    """

    grid: Sequence[float] = DEFAULT_GRID
    passes: int = 2
    min_gain: float = 0.002
    max_leniency: float = 0.10
    leniency_weight: float = 2.0


def leniency(pairs: Sequence[tuple[str, str]]) -> float:
    """Share of (gold, machine) pairs where the machine gave the higher verdict."""
    rank = {v: i for i, v in enumerate(LEVELS)}
    if not pairs:
        return 0.0
    return sum(rank[m] > rank[g] for g, m in pairs) / len(pairs)


def objective(by_point: Mapping[str, Pairs], options: FitOptions = FitOptions()) -> float:
    kappas = [cohen_kappa(p) or 0.0 for p in by_point.values()]
    every = [pair for p in by_point.values() for pair in p]
    excess = max(0.0, leniency(every) - options.max_leniency)
    return sum(kappas) / max(1, len(kappas)) - options.leniency_weight * excess


@dataclass
class FitResult:
    thresholds: dict[str, float]
    objective: float
    history: list[str] = field(default_factory=list)


def fit_thresholds(
    groups: Mapping[str, Collection[str]],
    uses: Mapping[str, Collection[str]],
    mark: MarkFn,
    start: Mapping[str, float],
    options: FitOptions = FitOptions(),
) -> FitResult:
    """Thresholds for the concepts of ``groups`` (group -> its concepts, which share one
    threshold); ``uses`` says which points each group can change."""
    thresholds = dict(start)
    every_point = {p for points in uses.values() for p in points}
    current = dict(mark(thresholds, every_point))
    best = objective(current, options)
    history = [f"start {best:.4f}"]
    for _ in range(options.passes):
        moved = False
        for group, members in groups.items():
            points = uses.get(group, ())
            if not points or not members:
                continue
            here = thresholds.get(next(iter(members)))
            choice, choice_obj, choice_pairs = here, best, None
            for value in options.grid:
                if value == here:
                    continue
                trial = {**thresholds, **{c: value for c in members}}
                pairs = mark(trial, points)
                obj = objective({**current, **pairs}, options)
                if obj > choice_obj + options.min_gain:
                    choice, choice_obj, choice_pairs = value, obj, pairs
            if choice_pairs is not None and choice is not None:
                thresholds.update({c: choice for c in members})
                current.update(choice_pairs)
                history.append(f"{group} {here} -> {choice}: {best:.4f} -> {choice_obj:.4f}")
                best = choice_obj
                moved = True
        if not moved:
            break
    return FitResult(thresholds, best, history)
