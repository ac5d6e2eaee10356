"""How an upset customer takes a learner's turn, learned from people: rise, hold or fall.

The anger model's rules (``customer.anger``) give every turn a size and a first direction.
People reading the same calls often disagree with that direction where the rules meet
(warm listening that fixes nothing yet, a re-ask, a look-up said brusquely), so this
read-out, fitted to what people who wrote none of it said, decides the direction when it is
sure; the rules keep the size and the call's facts (a brush-off never calms, the failure
repeated always angers).

Its features are what the pipeline already read of the turn (``features``): the rules' own
step and its reasons by cause, the tone tags and the encoder's uptake, the meaning reader's
moves, whether the turn is neutral or acts, the anger before it and the difficulty. A
gradient-boosted tree ensemble over them ships as ``direction_model.json`` (plain arrays,
read with numpy), trained by ``benchmarks/train_direction.py`` on the blind labels of the
realism rounds (``data/realism``) and the train split of ``data/tone`` (never on
``../shared/data``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from calmline.customer.difficulty import Temper
from calmline.customer.scenario import Persona
from calmline.errors import CalmlineError
from calmline.models import AngerReason, AngerState, ToneReading, TurnMeaning

MODEL_FILE = Path(__file__).parent / "direction_model.json"
DIRECTIONS = ("fall", "hold", "rise")


def cause_kind(cause: str) -> str:
    """A reason's cause without its detail ("trigger: no-refund" -> "trigger")."""
    return cause.split(":")[0].strip()


# what the learner's turn is mainly made of, each crossed with the moment and the customer:
# people take a restatement early in a call as being believed and late as a stall, a
# re-ask from a warm customer in their stride and from a touchy one badly
KINDS = ("tag:paraphrase", "tag:empathy", "tag:apology", "tag:question", "neutral", "owns")


def features(
    before: AngerState,
    reasons: Sequence[AngerReason],
    reading: ToneReading,
    meaning: TurnMeaning | None,
    persona: Persona,
    temper: Temper,
) -> dict[str, float]:
    """What the pipeline read of one turn, and of the call and customer it is said in, by
    name (absent names are 0)."""
    out: dict[str, float] = {
        "step": sum(r.delta for r in reasons) / 10,
        "before": before.anger / 100,
        "difficulty": (temper.sensitivity - 0.8) / 0.4,  # easy 0, standard 0.5, hard 1
        "turn": min(before.turns, 10) / 10,
        "on_table": 1.0 if before.resolution_offered else 0.0,
        "empty_turns": min(before.empty_turns, 3) / 3,
        "apologies": min(before.apologies_without_action, 3) / 3,
        "promises": min(before.vague_promises, 3) / 3,
        "sensitivity": persona.sensitivity,
        "reactive": 1.0 if persona.aggression == "reactive" else 0.0,
        "baseline": persona.baseline_anger / 100,
        f"style:{persona.style}": 1.0,
    }
    for r in reasons:
        key = f"cause:{cause_kind(r.cause)}"
        out[key] = out.get(key, 0.0) + r.delta / 10
    for tag, confidence in reading.tags.items():
        out[f"tag:{tag}"] = confidence
    for way, p in reading.uptake.items():
        out[f"uptake:{way}"] = p
    if meaning is not None:
        for move, confidence in {**meaning.learned, **meaning.moves}.items():
            out[f"move:{move}"] = confidence
        out["acts"] = meaning.acts or 0.0
        out["neutral"] = 1.0 if meaning.neutral else 0.0
        out["owns"] = 1.0 if meaning.owns else 0.0
    for kind in KINDS:
        if out.get(kind):
            for context in ("turn", "sensitivity", "before", "reactive", "on_table"):
                out[f"{kind}*{context}"] = out[kind] * out[context]
    return out


class DirectionJudge(Protocol):
    """What the anger model asks of a learned direction (``DirectionModel``; a recorder of
    the features in ``benchmarks/train_direction.py``)."""

    @property
    def sure(self) -> float:
        """The probability at which the learned direction decides."""
        ...

    def probabilities(self, named: Mapping[str, float]) -> dict[str, float]: ...


@dataclass(frozen=True)
class Tree:
    """One regression tree of the ensemble, as flat arrays (node 0 is the root)."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray  # bool
    value: np.ndarray
    missing_left: np.ndarray  # bool

    def score(self, x: np.ndarray) -> float:
        node = 0
        while not self.leaf[node]:
            v = x[self.feature[node]]
            go_left = bool(self.missing_left[node]) if np.isnan(v) else v <= self.threshold[node]
            node = int(self.left[node] if go_left else self.right[node])
        return float(self.value[node])

    def to_dict(self) -> dict[str, list[float | int | bool]]:
        return {
            "feature": self.feature.tolist(),
            "threshold": self.threshold.round(6).tolist(),
            "left": self.left.tolist(),
            "right": self.right.tolist(),
            "leaf": self.leaf.tolist(),
            "value": self.value.round(6).tolist(),
            "missing_left": self.missing_left.tolist(),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, list[float]]) -> Tree:
        return cls(
            feature=np.array(raw["feature"], dtype=np.int64),
            threshold=np.array(raw["threshold"], dtype=np.float64),
            left=np.array(raw["left"], dtype=np.int64),
            right=np.array(raw["right"], dtype=np.int64),
            leaf=np.array(raw["leaf"], dtype=bool),
            value=np.array(raw["value"], dtype=np.float64),
            missing_left=np.array(raw["missing_left"], dtype=bool),
        )


@dataclass(frozen=True)
class DirectionModel:
    """Gradient-boosted trees over named features: one tree per class and round, summed
    with the class's baseline, then a softmax over rise, hold and fall."""

    names: tuple[str, ...]
    classes: tuple[str, ...]
    baseline: np.ndarray  # (classes,)
    trees: tuple[tuple[Tree, ...], ...]  # rounds x classes
    sure: float  # the probability at which the learned direction decides
    meta: dict[str, object]

    def probabilities(self, named: Mapping[str, float]) -> dict[str, float]:
        x = np.array([named.get(n, 0.0) for n in self.names], dtype=np.float64)
        z = self.baseline.astype(np.float64).copy()
        for round_ in self.trees:
            z += np.array([tree.score(x) for tree in round_])
        p = np.exp(z - z.max())
        p /= p.sum()
        return {c: float(v) for c, v in zip(self.classes, p, strict=True)}

    def to_json(self) -> str:
        return json.dumps(
            {
                "names": list(self.names),
                "classes": list(self.classes),
                "baseline": self.baseline.round(6).tolist(),
                "trees": [[t.to_dict() for t in round_] for round_ in self.trees],
                "sure": self.sure,
                "meta": self.meta,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> DirectionModel:
        raw = json.loads(text)
        model = cls(
            names=tuple(raw["names"]),
            classes=tuple(raw["classes"]),
            baseline=np.array(raw["baseline"], dtype=np.float64),
            trees=tuple(tuple(Tree.from_dict(t) for t in r) for r in raw["trees"]),
            sure=float(raw["sure"]),
            meta=dict(raw.get("meta") or {}),
        )
        if set(model.classes) != set(DIRECTIONS) or any(
            len(r) != len(model.classes) for r in model.trees
        ):
            raise ValueError("classes or trees do not match")
        return model


@lru_cache(maxsize=1)
def load_direction_model(path: Path = MODEL_FILE) -> DirectionModel:
    """The shipped direction model (cached)."""
    try:
        return DirectionModel.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError) as err:
        raise CalmlineError(
            f"the direction model {path} could not be read ({err})",
            "reinstall calmline, or retrain it with benchmarks/train_direction.py",
        ) from err
