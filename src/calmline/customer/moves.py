"""What a turn does for the customer's problem, learned: brush-off, transfer, action...

The meaning reader (``customer.meaning``) finds moves by grammar and cue patterns; this is
its learned half. Linear read-outs over the tone reader's MiniLM features of the turn and
the customer's line it answers (``tone.model.features``), trained on customer-service
turns that people other than their writers labelled with what the turn does and which
way an upset customer's anger would go (``data/tone``, round 3;
``benchmarks/train_moves.py``):

- ``does``: one logistic read-out per move (``acts``, ``promises``, ``brush_off``,
  ``policy_wall``, ``refusal``, ``transfer``, ``reasks``, ``blames``), each with its
  decision threshold set on the development split;
- ``direction``: a softmax over ``rise``, ``hold`` and ``fall``.

The weights ship with the package (``moves_model.npz``) and load with numpy alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from calmline.errors import CalmlineError
from calmline.protocols import Embedder
from calmline.tone.model import (
    FEATURE_VERSION,
    Matrix,
    PrimaryHead,
    TurnText,
    at_half,
    feature_matrix,
)

MODEL_FILE = Path(__file__).parent / "moves_model.npz"
DIRECTIONS = ("fall", "hold", "rise")


@dataclass(frozen=True)
class MovesReading:
    """One turn's learned reading: each move's confidence (0.5 = its dev threshold) and
    the probability of each anger direction."""

    does: dict[str, float]
    direction: dict[str, float]

    @property
    def likely(self) -> str:
        return max(self.direction, key=lambda d: self.direction[d])


@dataclass(frozen=True)
class MovesModel:
    labels: tuple[str, ...]
    weights: Matrix  # (labels, features)
    bias: Matrix  # (labels,)
    thresholds: Matrix  # (labels,)
    direction: PrimaryHead
    embedder_name: str
    meta: dict[str, object]

    def confidences(self, x: Matrix) -> Matrix:
        """Each move's probability mapped so that its dev threshold sits at 0.5."""
        z = x @ self.weights.T + self.bias
        return at_half(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))), self.thresholds)

    def read(self, embedder: Embedder, turns: Sequence[TurnText]) -> list[MovesReading]:
        if embedder.name != self.embedder_name:
            raise CalmlineError(
                f"the moves model was trained on {self.embedder_name} features, "
                f"not {embedder.name}",
                "use the bundled MiniLM embedder, or retrain with benchmarks/train_moves.py",
            )
        if not turns:
            return []
        x = feature_matrix(embedder, turns)
        conf = self.confidences(x)
        direction = self.direction.probabilities(x)
        out = []
        for row, drow in zip(conf, direction, strict=True):
            does = {m: round(float(c), 3) for m, c in zip(self.labels, row, strict=True)}
            labels = self.direction.labels
            probs = {d: round(float(p), 3) for d, p in zip(labels, drow, strict=True)}
            out.append(MovesReading(does=does, direction=probs))
        return out

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            labels=np.array(self.labels),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            thresholds=self.thresholds.astype(np.float32),
            direction_labels=np.array(self.direction.labels),
            direction_weights=self.direction.weights.astype(np.float32),
            direction_bias=self.direction.bias.astype(np.float32),
            meta=np.array(json.dumps({**self.meta, "embedder": self.embedder_name,
                                      "feature_version": FEATURE_VERSION})),
        )  # fmt: skip

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> MovesModel:
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                model = cls(
                    labels=tuple(str(t) for t in data["labels"]),
                    weights=data["weights"],
                    bias=data["bias"],
                    thresholds=data["thresholds"],
                    direction=PrimaryHead(
                        labels=tuple(str(t) for t in data["direction_labels"]),
                        weights=data["direction_weights"],
                        bias=data["direction_bias"],
                    ),
                    embedder_name=str(meta.get("embedder", "")),
                    meta=meta,
                )
        except (OSError, KeyError, ValueError) as exc:
            raise CalmlineError(
                f"cannot read the moves model {path}: {exc}",
                "reinstall calmline, or retrain it with benchmarks/train_moves.py",
            ) from exc
        if meta.get("feature_version") != FEATURE_VERSION:
            raise CalmlineError(
                f"the moves model {path} was trained on other features",
                "retrain it with benchmarks/train_moves.py",
            )
        return model


@lru_cache(maxsize=1)
def load_moves_model() -> MovesModel | None:
    """The shipped model, read once per process; None when it is not there."""
    return MovesModel.load(MODEL_FILE) if MODEL_FILE.exists() else None
