"""The fine-tuned tone encoder: all-MiniLM-L6-v2 trained on the tone data, as int8 ONNX.

A turn is read together with the line it answers (a sentence pair: the customer's line,
then the learner's), so whether a turn restates or acknowledges *what the customer said*
is learned from both, not from the turn's wording alone. One forward pass gives a
probability per tag (sigmoid) and a distribution over the move the turn is mainly there
to do (softmax) and, in encoders trained since 2026-12-07, the *uptake*: how an upset
customer would most likely take the turn, as probabilities of their anger falling, holding
or rising (softmax). Trained by ``benchmarks/train_tone_encoder.py`` on the train split of
``data/tone``; each tag's threshold was chosen on dev with this quantised file, and the
reader takes from it only the tags where it read dev better than the linear read-outs
and rules did (``use`` in ``tone_encoder.json``).

This module owns the encoder's onnxruntime session; it shares the tokenizer file with
``calmline.embed``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from calmline.embed import tokenizer_json
from calmline.errors import CalmlineError

MODEL_FILE = Path(__file__).parent / "tone_encoder.onnx"
META_FILE = Path(__file__).parent / "tone_encoder.json"
MAX_LENGTH = 128
UPTAKE = ("fall", "hold", "rise")  # the uptake head's columns, as trained

Matrix = npt.NDArray[np.float32]


class ToneEncoder:
    """Tag probabilities and move shares for (previous line, turn) pairs."""

    def __init__(
        self,
        path: Path,
        tags: Sequence[str],
        moves: Sequence[str],
        thresholds: dict[str, float],
        use: Sequence[str],
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tags = tuple(tags)
        self.moves = tuple(moves)
        self.use = tuple(use)
        self.thresholds = np.array([thresholds.get(t, 0.5) for t in self.tags], dtype=np.float32)
        self._tokenizer = Tokenizer.from_str(tokenizer_json())
        self._tokenizer.enable_truncation(max_length=MAX_LENGTH)
        self._tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise CalmlineError(
                f"cannot load the tone encoder {path}: {exc}",
                "reinstall calmline, or retrain it with benchmarks/train_tone_encoder.py",
            ) from exc
        self.has_uptake = "uptake" in {o.name for o in self._session.get_outputs()}

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> tuple[Matrix, Matrix]:
        """(tag probabilities, move shares), one row per (previous line, turn) pair; an
        empty previous line means it is unknown."""
        tags, moves, _ = self.outputs(pairs)
        return tags, moves

    def outputs(self, pairs: Sequence[tuple[str, str]]) -> tuple[Matrix, Matrix, Matrix]:
        """(tag probabilities, move shares, uptake probabilities over ``UPTAKE``), one row
        per pair; the uptake has no columns for an encoder trained without that head.

        One turn per run: the int8 graph quantises each run's activations with a scale
        taken from the whole run, so a turn read in a batch beside longer ones would get a
        (slightly) different reading than the same turn read alone in a call. A turn is a
        few milliseconds here, so nothing is lost by reading them one at a time.
        """
        n = len(pairs)
        tags = np.zeros((n, len(self.tags)), dtype=np.float32)
        moves = np.zeros((n, len(self.moves)), dtype=np.float32)
        names = ["tags", "moves"] + (["uptake"] if self.has_uptake else [])
        uptake = np.zeros((n, len(UPTAKE) if self.has_uptake else 0), dtype=np.float32)
        for i, (ctx, text) in enumerate(pairs):
            text = text if text.strip() else "."
            e = (
                self._tokenizer.encode(ctx.strip(), text)
                if ctx.strip()
                else self._tokenizer.encode(text)
            )
            feeds: dict[str, Any] = {
                "input_ids": np.array([e.ids], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids], dtype=np.int64),
            }
            got = self._session.run(names, feeds)
            tags[i] = got[0][0]
            moves[i] = got[1][0]
            if self.has_uptake:
                uptake[i] = got[2][0]
        return tags, moves, uptake

    def confidences(self, pairs: Sequence[tuple[str, str]]) -> tuple[Matrix, Matrix, Matrix]:
        """Tag probabilities mapped so each tag's dev threshold sits at 0.5 (present at
        0.5 or more, as the reader's other read-outs), the move shares and the uptake."""
        from calmline.tone.model import at_half

        p, moves, uptake = self.outputs(pairs)
        return at_half(p, self.thresholds), moves, uptake


def load_meta(path: Path = META_FILE) -> dict[str, Any]:
    try:
        meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CalmlineError(
            f"cannot read the tone encoder's description {path}: {exc}",
            "reinstall calmline, or retrain it with benchmarks/train_tone_encoder.py",
        ) from exc
    return meta


@lru_cache(maxsize=1)
def load_tone_encoder() -> ToneEncoder | None:
    """The shipped encoder, loaded once per process; None when this install has none (the
    reader then uses its linear read-outs alone)."""
    if not MODEL_FILE.exists():
        return None
    meta = load_meta()
    return ToneEncoder(
        MODEL_FILE,
        tags=meta["tags"],
        moves=meta["moves"],
        thresholds=meta["thresholds"],
        use=meta.get("use", ()),
    )
