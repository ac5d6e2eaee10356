"""The learned tone classifier: linear read-outs over MiniLM embeddings of a turn.

A turn is described by what the bundled MiniLM makes of it, with no phrase lists:

- the whole turn's embedding;
- the element-wise maximum over its sentences' embeddings (a question at the end of a
  long turn is not averaged away);
- the element-wise product of the turn with the line it answers (is this turn *about*
  what the customer just said?), and their cosine similarities;
- a few surface counts that an embedding smooths over (question marks, words, the share
  of "you" and "I" words, words shared with the previous line).

One logistic read-out per tag turns these into a probability; each tag has its own
decision threshold, set on the development split (``tone/training.py`` fits them, and
``benchmarks/judgement`` measures them). The weights ship with the package
(``tone_model.npz``): a few hundred kilobytes, loaded once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from calmline.errors import CalmlineError
from calmline.protocols import Embedder
from calmline.text import normalise, words
from calmline.tone.text import SECOND_PERSON, content_words, sentences

MODEL_FILE = Path(__file__).parent / "tone_model.npz"
FEATURE_VERSION = 2
FIRST_PERSON = frozenset({"i", "im", "ill", "ive", "id", "me", "my", "mine", "we", "well", "our"})

Vector = npt.NDArray[np.float32]
Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class TurnText:
    """One turn to classify: what was said, and the line it answers ("" when unknown)."""

    text: str
    context: str = ""


def turn_sentences(text: str) -> list[str]:
    """The sentences of a turn; unpunctuated speech is read in windows of 12 words."""
    out: list[str] = []
    for sentence in sentences(text) or [text]:
        tokens = sentence.split()
        if len(tokens) <= 16:
            out.append(sentence)
            continue
        for start in range(0, len(tokens), 8):
            out.append(" ".join(tokens[start : start + 12]))
            if start + 12 >= len(tokens):
                break
    return [s for s in out if s.strip()] or [text or "."]


def surface(text: str, context: str) -> Vector:
    """Counts an embedding smooths over; all roughly in 0..1."""
    norm = normalise(text)
    tokens = words(norm)
    n = max(len(tokens), 1)
    ctx_content = content_words(context) if context.strip() else set()
    own = content_words(text)
    shared = len(own & ctx_content) / max(len(own), 1) if ctx_content else 0.0
    last = (sentences(text) or [text])[-1].strip()
    return np.array(
        [
            min(text.count("?"), 3) / 3.0,
            1.0 if last.endswith("?") else 0.0,
            min(np.log1p(len(tokens)) / 4.0, 1.5),
            sum(t in SECOND_PERSON for t in tokens) / n,
            sum(t in FIRST_PERSON for t in tokens) / n,
            1.0 if context.strip() else 0.0,
            shared,
        ],
        dtype=np.float32,
    )


def embed_turns(
    embedder: Embedder, turns: Sequence[TurnText]
) -> list[tuple[Vector, Matrix, Vector | None]]:
    """(turn vector, sentence vectors, context vector or None) per turn, in one batch."""
    index: dict[str, int] = {}

    def slot(text: str) -> int:
        return index.setdefault(text, len(index))

    plans = []
    for t in turns:
        whole = slot(t.text if t.text.strip() else ".")
        parts = [slot(s) for s in turn_sentences(t.text)]
        ctx = slot(t.context.strip()) if t.context.strip() else None
        plans.append((whole, parts, ctx))
    vectors = embedder.embed(list(index)) if index else np.zeros((0, 1), dtype=np.float32)
    return [(vectors[w], vectors[p], vectors[c] if c is not None else None) for w, p, c in plans]


def features(turn: TurnText, turn_vec: Vector, sent_vecs: Matrix, ctx_vec: Vector | None) -> Vector:
    """The feature row of one turn (see the module docstring)."""
    dim = turn_vec.shape[0]
    pooled = sent_vecs.max(axis=0)
    if ctx_vec is None:
        product = np.zeros(dim, dtype=np.float32)
        sims = np.zeros(2, dtype=np.float32)
    else:
        product = turn_vec * ctx_vec * np.sqrt(dim)  # on the scale of the other blocks
        sims = np.array([float(turn_vec @ ctx_vec), float((sent_vecs @ ctx_vec).max())])
    return np.concatenate(
        [turn_vec, pooled, product, sims.astype(np.float32), surface(turn.text, turn.context)]
    ).astype(np.float32)


def feature_matrix(embedder: Embedder, turns: Sequence[TurnText]) -> Matrix:
    rows = [features(t, *vecs) for t, vecs in zip(turns, embed_turns(embedder, turns), strict=True)]
    return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)


def at_half(p: Matrix, thresholds: Matrix) -> Matrix:
    """Probabilities mapped so that each column's decision threshold sits at 0.5 (present
    at 0.5 or more), keeping the order within a column."""
    t = np.clip(thresholds, 1e-3, 1 - 1e-3)
    below = 0.5 * p / t
    above = 0.5 + 0.5 * (p - t) / (1.0 - t)
    return np.where(p >= t, above, below).astype(np.float32)


@dataclass(frozen=True)
class PrimaryHead:
    """The one move a turn is mainly there to do (a softmax over ``labels``): question,
    paraphrase, empathy, solution, information, reassurance, self_disclosure, apology or
    other, as annotators of support dialogue label a turn with one strategy."""

    labels: tuple[str, ...]
    weights: Matrix  # (labels, features)
    bias: Vector  # (labels,)

    def probabilities(self, x: Matrix) -> Matrix:
        z = x @ self.weights.T + self.bias
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


@dataclass(frozen=True)
class ToneModel:
    """Per-tag logistic read-outs: ``p = sigmoid(x @ weights[tag] + bias[tag])``, and
    optionally the primary-move head."""

    tags: tuple[str, ...]
    weights: Matrix  # (tags, features)
    bias: Vector  # (tags,)
    thresholds: Vector  # (tags,) decision threshold on p, set on the dev split
    embedder_name: str
    meta: dict[str, object]
    primary: PrimaryHead | None = None

    def probabilities(self, x: Matrix) -> Matrix:
        if x.shape[1] != self.weights.shape[1]:
            raise CalmlineError(
                f"the tone model expects {self.weights.shape[1]} features, got {x.shape[1]}",
                "retrain it with benchmarks/train_tone.py (the feature code changed)",
            )
        z = x @ self.weights.T + self.bias
        return (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).astype(np.float32)

    def confidences(self, x: Matrix) -> Matrix:
        """Probabilities mapped so that each tag's threshold sits at 0.5 (the tag is
        present at 0.5 or more), keeping the order within a tag."""
        return at_half(self.probabilities(x), self.thresholds)

    def save(self, path: Path) -> None:
        head = self.primary
        extra: dict[str, Any] = (
            {
                "primary_labels": np.array(head.labels),
                "primary_weights": head.weights.astype(np.float32),
                "primary_bias": head.bias.astype(np.float32),
            }
            if head is not None
            else {}
        )
        np.savez_compressed(
            path,
            tags=np.array(self.tags),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            thresholds=self.thresholds.astype(np.float32),
            meta=np.array(json.dumps({**self.meta, "embedder": self.embedder_name,
                                      "feature_version": FEATURE_VERSION})),
            **extra,
        )  # fmt: skip

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> ToneModel:
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                head = (
                    PrimaryHead(
                        labels=tuple(str(t) for t in data["primary_labels"]),
                        weights=data["primary_weights"],
                        bias=data["primary_bias"],
                    )
                    if "primary_labels" in data.files
                    else None
                )
                model = cls(
                    tags=tuple(str(t) for t in data["tags"]),
                    weights=data["weights"],
                    bias=data["bias"],
                    thresholds=data["thresholds"],
                    embedder_name=str(meta.get("embedder", "")),
                    meta=meta,
                    primary=head,
                )
        except (OSError, KeyError, ValueError) as exc:
            raise CalmlineError(
                f"cannot read the tone model {path}: {exc}",
                "reinstall calmline, or retrain it with benchmarks/train_tone.py",
            ) from exc
        if meta.get("feature_version") != FEATURE_VERSION:
            raise CalmlineError(
                f"the tone model {path} was trained on other features",
                "retrain it with benchmarks/train_tone.py",
            )
        return model


@lru_cache(maxsize=1)
def load_tone_model() -> ToneModel:
    """The shipped model, read once per process."""
    return ToneModel.load(MODEL_FILE)
