"""The concept classifiers that ship (rubrics/concept_model.npz) are the ones the bank
trains, and they are what marking uses: a stale file would mark with yesterday's bank."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calmline.embed import MiniLMEmbedder, load_embedder
from calmline.evaluate import concepts
from calmline.evaluate.concepts import MODEL_FILE, concept_scorer, model_key

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return load_embedder()


def test_shipped_classifiers_were_trained_on_this_bank(repo: Path, minilm: MiniLMEmbedder) -> None:
    with np.load(repo / "rubrics" / MODEL_FILE) as saved:
        stamped = str(saved["key"])
    assert stamped == model_key(minilm, repo / "rubrics"), (
        "rubrics/concepts.yaml changed since the classifiers were trained: run "
        ".venv/bin/python benchmarks/train_concepts.py"
    )


def test_marking_loads_the_shipped_classifiers_without_training(
    repo: Path, minilm: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(concepts, "SCORERS", {})

    def no_training(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("trained at run time although the shipped file fits")

    monkeypatch.setattr(concepts.ConceptScorer, "train", no_training)
    scorer = concept_scorer(minilm, repo / "rubrics")
    scores = scorer.scores(["he raised his voice and kept interrupting me"])
    shown = {cid for cid, s in zip(scorer.ids, scores[0], strict=True) if s >= 0.5}
    assert {"raised_voice", "interrupting"} <= shown


def test_an_edited_bank_is_trained_once_and_cached(
    repo: Path, tmp_path: Path, minilm: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trainer's own bank (no shipped classifiers for it) trains at first use and is
    kept in the cache folder, so the next process starts at once."""
    own = tmp_path / "rubrics"
    own.mkdir()
    bank = (repo / "rubrics" / "concepts.yaml").read_text(encoding="utf-8")
    (own / "concepts.yaml").write_text(bank + "\n# a trainer's edit\n", encoding="utf-8")
    monkeypatch.setenv("CALMLINE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(concepts, "SCORERS", {})
    first = concept_scorer(minilm, own)
    cached = list((tmp_path / "cache").rglob("*.npz"))
    assert len(cached) == 1
    monkeypatch.setattr(concepts, "SCORERS", {})
    monkeypatch.setattr(concepts.ConceptScorer, "train", None)  # must not be called
    again = concept_scorer(minilm, own)
    text = ["she said she would go to the ombudsman"]
    assert np.allclose(first.scores(text), again.scores(text), atol=1e-4)
