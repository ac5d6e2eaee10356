"""Train the learned direction of the anger model (``customer/direction_model.json``).

    .venv/bin/python benchmarks/train_direction.py                      # figures, then the model
    .venv/bin/python benchmarks/train_direction.py --rows /tmp/rows.jsonl --dry-run

What it learns from, all labelled by people who wrote none of it (``data/realism/README.md``,
``data/tone/README.md``):
- every labelled realism round (``data/realism``), replayed with the anger model's rules
  alone: each learner move with the blind labeller's rise / hold / fall (and the second
  labeller's, as a second example, where a round has one);
- the ``train`` split of ``data/tone``'s direction labels, each turn stepped from anger 60
  as ``anger_direction.py`` does. Its ``dev`` split is only measured, its ``test`` split never
  touched here. Nothing under ``../shared/data`` is read.

The features are ``customer.direction.features``, what the pipeline read of the turn and of
the call and customer it is said in; the model is scikit-learn's gradient-boosted trees over
them (200 rounds, shallow trees), exported to plain arrays that ``customer.direction`` reads
with numpy. The step it makes is
``customer.anger.taken_as``: the learned direction when it is sure and the call's facts
allow it, the rules' size otherwise.

Figures printed, before the model is written (development figures: the rounds were read to
fix the rules before):
- leave one round out: each realism round scored by a model fitted on the others (and
  ``data/tone`` train), the rules alone against the rules with the learned direction, against
  the first labeller and, where there is one, the second;
- ``data/tone`` dev, by a model fitted on every round and ``data/tone`` train.
The grid (tree depth, the weight of ``data/tone`` rows, the ``sure`` probability) is chosen
on the leave-one-round-out figure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from anger_direction import steps  # noqa: E402
from realism_eval import direction_of  # noqa: E402
from realism_replay import Recorder, labelled_rounds, replay  # noqa: E402

Row = dict[str, Any]
MIN_ROWS = 5  # a feature must be non-zero in this many training rows to be kept
ROUNDS = 200  # boosting rounds
RATE = 0.05  # learning rate
GRID_DEPTH = (2, 3)
GRID_TONE = (0.5,)
GRID_SURE = (0.4, 0.5)


def tone_rows(split: str) -> list[Row]:
    """``data/tone`` turns of one split with a direction label, stepped by the rules alone."""
    recorder = Recorder()
    stepped = steps(split, recorder)
    return [
        {
            "round": f"tone-{split}",
            "should": r["direction"],
            "second": None,
            "features": named,
            "step": s.after - s.before,
            "reasons": [x.model_dump() for x in s.reasons],
            "sensitivity": 1.0,
            "difficulty": "standard",
        }
        for (r, s), named in zip(stepped, recorder.seen, strict=True)
    ]


def collect() -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="calmline-direction-") as tmp:
        for root in labelled_rounds():
            print(f"replaying {root.relative_to(REPO)} (rules alone)…", file=sys.stderr)
            rows += replay(root, Path(tmp), direction="record")
    for split in ("train", "dev"):
        print(f"stepping data/tone {split}…", file=sys.stderr)
        rows += tone_rows(split)
    return rows


def examples(rows: list[Row], tone_weight: float) -> tuple[list[Row], list[str], np.ndarray]:
    """Training examples: each label once (a second labeller's as a second example)."""
    out, labels, weights = [], [], []
    for r in rows:
        w = tone_weight if r["round"].startswith("tone") else 1.0
        for label in (r["should"], r.get("second")):
            if label and w > 0:
                out.append(r)
                labels.append(label)
                weights.append(w)
    return out, labels, np.array(weights)


def fit(rows: list[Row], depth: int, tone_weight: float, sure: float, meta: dict[str, object]):
    """Gradient-boosted trees (scikit-learn's), exported to ``DirectionModel``'s arrays."""
    from sklearn.ensemble import GradientBoostingClassifier

    from calmline.customer.direction import DirectionModel, Tree

    train, labels, weights = examples(rows, tone_weight)
    counts: dict[str, int] = {}
    for r in train:
        for name, value in r["features"].items():
            counts[name] = counts.get(name, 0) + (value != 0)
    names = tuple(sorted(n for n, k in counts.items() if k >= MIN_ROWS))
    x = np.array([[r["features"].get(n, 0.0) for n in names] for r in train])
    gbm = GradientBoostingClassifier(
        max_depth=depth, learning_rate=RATE, n_estimators=ROUNDS, min_samples_leaf=20,
        random_state=0,
    )  # fmt: skip
    gbm.fit(x, labels, sample_weight=weights)

    def tree(t) -> Tree:  # a fitted regression tree's public arrays, its leaves scaled
        return Tree(
            feature=np.maximum(t.feature, 0).astype(np.int64),
            threshold=t.threshold.astype(np.float64),
            left=t.children_left.astype(np.int64),
            right=t.children_right.astype(np.int64),
            leaf=t.children_left < 0,
            value=RATE * t.value[:, 0, 0].astype(np.float64),
            missing_left=np.ones(t.node_count, dtype=bool),
        )

    trees = tuple(tuple(tree(e.tree_) for e in round_) for round_ in gbm.estimators_)
    unbiased = DirectionModel(names, tuple(str(k) for k in gbm.classes_), np.zeros(3), trees,
                              sure, meta)  # fmt: skip
    # the prior each class starts from: scikit-learn's raw score less what the trees add
    sums = np.array([sum(t.score(x[0]) for t in col) for col in zip(*trees, strict=True)])
    model = DirectionModel(
        names=names,
        classes=unbiased.classes,
        baseline=gbm.decision_function(x[:1])[0] - sums,
        trees=trees,
        sure=sure,
        meta=meta,
    )
    # the exported trees must give what scikit-learn gives
    for row in x[:: max(1, len(x) // 50)]:
        probe = model.probabilities(dict(zip(names, row, strict=True)))
        expected = gbm.predict_proba(row[None, :])[0]
        got = [probe[c] for c in model.classes]
        assert np.allclose(got, expected, atol=1e-5), (got, expected)
    return model


def decided(model, row: Row) -> str:
    """The direction of the step the product takes on this row with the model."""
    from calmline.customer.anger import MIN_FALL, MIN_RISE, TAKEN_LEAST, taken_as
    from calmline.customer.difficulty import temper_for
    from calmline.models import AngerReason

    temper = temper_for(row["difficulty"])
    reasons = [AngerReason.model_validate(x) for x in row["reasons"]]
    taken = taken_as(
        model.probabilities(row["features"]), model.sure, row["step"], reasons,
        rise=max(TAKEN_LEAST, MIN_RISE * row["sensitivity"] * temper.sensitivity),
        fall=max(TAKEN_LEAST, MIN_FALL * row["sensitivity"] * temper.recovery),
        owned=bool(row["features"].get("owns")),
    )  # fmt: skip
    return direction_of(row["step"] + (taken.delta if taken else 0.0))


def loro(rows: list[Row], c: int, tone_weight: float, sure: float, show: bool = False):
    """Leave one realism round out: (rules hits, learned hits, n) against the first labeller,
    and the same against the second where there is one."""
    realism = [r for r in rows if not r["round"].startswith("tone")]
    tone_train = [r for r in rows if r["round"] == "tone-train"]
    first = [0, 0, 0]
    second = [0, 0, 0]
    for name in dict.fromkeys(r["round"] for r in realism):
        held = [r for r in realism if r["round"] == name]
        model = fit([r for r in realism if r["round"] != name] + tone_train, c, tone_weight,
                    sure, {})  # fmt: skip
        a = b = 0
        for r in held:
            rule, got = direction_of(r["step"]), decided(model, r)
            a, b = a + (rule == r["should"]), b + (got == r["should"])
            if r.get("second"):
                second[0] += rule == r["second"]
                second[1] += got == r["second"]
                second[2] += 1
        first = [first[0] + a, first[1] + b, first[2] + len(held)]
        if show:
            print(f"  {name:8s} n={len(held):3d}  rules {a / len(held):.3f}  "
                  f"learned {b / len(held):.3f}")  # fmt: skip
    return first, second


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=Path, help="cache of the replayed rows (read if it exists)")
    ap.add_argument("--dry-run", action="store_true", help="figures only, write no model")
    ap.add_argument("--out", type=Path, default=None, help="where to write the model")
    args = ap.parse_args(argv)
    if args.rows and args.rows.exists():
        rows = [json.loads(x) for x in args.rows.read_text().splitlines() if x.strip()]
    else:
        rows = collect()
        if args.rows:
            args.rows.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} rows: " + ", ".join(
        f"{k} {sum(r['round'] == k for r in rows)}" for k in dict.fromkeys(r["round"] for r in rows)
    ))  # fmt: skip
    best = None
    for c, tw, sure in itertools.product(GRID_DEPTH, GRID_TONE, GRID_SURE):
        first, second = loro(rows, c, tw, sure)
        print(f"depth={c} tone weight={tw:<4} sure={sure:<4} leave-one-round-out "
              f"rules {first[0] / first[2]:.3f} learned {first[1] / first[2]:.3f}"
              f"  (second labeller: rules {second[0] / max(second[2], 1):.3f} "
              f"learned {second[1] / max(second[2], 1):.3f})")  # fmt: skip
        if best is None or first[1] > best[0]:
            best = (first[1], c, tw, sure)
    assert best is not None
    _, c, tw, sure = best
    print(f"chosen: depth={c} tone weight={tw} sure={sure}")
    first, second = loro(rows, c, tw, sure, show=True)
    n = first[2]
    print(f"  all      n={n}  rules {first[0] / n:.3f}  learned {first[1] / n:.3f};  second "
          f"labeller n={second[2]}: rules {second[0] / max(second[2], 1):.3f} "
          f"learned {second[1] / max(second[2], 1):.3f}")  # fmt: skip
    train = [r for r in rows if r["round"] != "tone-dev"]
    dev = [r for r in rows if r["round"] == "tone-dev"]
    rounds = sorted({r["round"] for r in train if not r["round"].startswith("tone")})
    meta = {
        "trained": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "benchmarks/train_direction.py",
        "data": f"data/realism {', '.join(rounds)} (first and second labellers); "
        "data/tone train split (direction labels)",
        "depth": c,
        "rounds": ROUNDS,
        "tone_weight": tw,
        "loro_rules": round(first[0] / n, 3),
        "loro_learned": round(first[1] / n, 3),
        "moves": n,
    }
    model = fit(train, c, tw, sure, meta)
    if dev:
        rule = sum(direction_of(r["step"]) == r["should"] for r in dev)
        got = sum(decided(model, r) == r["should"] for r in dev)
        print(f"data/tone dev n={len(dev)}: rules {rule / len(dev):.3f}  learned "
              f"{got / len(dev):.3f}")  # fmt: skip
        meta["tone_dev_rules"], meta["tone_dev_learned"] = (
            round(rule / len(dev), 3), round(got / len(dev), 3)
        )  # fmt: skip
    if not args.dry_run:
        from calmline.customer.direction import MODEL_FILE

        out = args.out or MODEL_FILE
        out.write_text(model.to_json() + "\n")
        print(f"wrote {out} ({len(model.names)} features)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
