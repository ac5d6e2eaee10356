"""Train the concept classifiers on the bank's exemplars and ship them beside it.

    .venv/bin/python benchmarks/train_concepts.py            # writes rubrics/concept_model.npz

The classifiers learn only from ``rubrics/concepts.yaml`` (exemplar clauses written for
each concept, near misses and background clauses), never from labelled transcripts;
the per-concept thresholds are fitted apart by ``judgement_marking.py --fit``. Run this
after every edit of the bank: ``tests/test_concepts_model.py`` fails while the shipped
file is stale, and calmline would otherwise train at first use (about a minute).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from calmline.embed import load_embedder
from calmline.evaluate.concepts import MODEL_FILE, model_key, train_scorer
from calmline.paths import rubrics_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rubrics", type=Path, default=None, help="folder with concepts.yaml")
    args = parser.parse_args()
    folder = args.rubrics or rubrics_dir()
    embedder = load_embedder()
    started = time.monotonic()
    print(f"training concept classifiers on {folder / 'concepts.yaml'} ...", flush=True)
    scorer = train_scorer(embedder, folder)
    out = folder / MODEL_FILE
    scorer.save(out, model_key(embedder, folder))
    took = time.monotonic() - started
    print(
        f"{len(scorer.ids)} concepts, {len(scorer.vocabulary)} n-grams, {took:.0f} s: wrote {out}"
    )


if __name__ == "__main__":
    main()
