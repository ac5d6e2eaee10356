"""Train the learned reader of what a turn does and write ``src/calmline/customer/moves_model.npz``.

    .venv/bin/python benchmarks/train_moves.py            # fit on train, thresholds on dev
    .venv/bin/python benchmarks/train_moves.py --check    # fit and report; write nothing
    .venv/bin/python benchmarks/train_moves.py --test     # also score the frozen test split

Data: the round-3 items of ``data/tone/items.jsonl`` (customer-service turns by
writer_f and writer_g, labelled by labeller_7 and labeller_8 with ``does`` and
``direction``; see ``data/tone/README.md``). Only ``train`` is fitted; each move's
threshold and the regularisation are chosen on ``dev``. ``--test`` scores the frozen test
split once the model is chosen (never used to choose anything). Each training turn is
also shown without its customer line, as in ``train_tone.py``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_tone import best_threshold, load, matrix

MOVES = ("acts", "promises", "brush_off", "policy_wall", "refusal", "transfer", "reasks", "blames")
MIN_POSITIVES = 20
C_GRID = (0.05, 0.1, 0.25, 0.5, 1.0)


def labelled(split: str) -> list[dict]:
    return [r for r in load(split) if "direction" in r]


def fit_moves(train: list[dict], dev: list[dict], x_train: np.ndarray, x_dev: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    rows, report = [], {}
    for move in MOVES:
        y = np.array([move in r.get("does", []) for r in train] * 2)
        y_dev = np.array([move in r.get("does", []) for r in dev])
        if y.sum() // 2 < MIN_POSITIVES:
            print(f"{move:12s} {int(y.sum() // 2)} train positives: not learned")
            continue
        best = None
        for c in C_GRID:
            clf = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
            clf.fit(x_train, y)
            t, f1 = best_threshold(clf.predict_proba(x_dev)[:, 1], y_dev)
            if best is None or f1 > best[0] + 1e-9:
                best = (f1, c, t, clf)
        f1, c, t, clf = best
        rows.append((move, clf.coef_[0], clf.intercept_[0], t))
        report[move] = {"dev_f1": round(f1, 3), "C": c, "threshold": round(t, 3),
                        "train_pos": int(y.sum() // 2), "dev_pos": int(y_dev.sum())}  # fmt: skip
        counts = f"train+ {report[move]['train_pos']:3d}  dev+ {report[move]['dev_pos']:3d}"
        print(f"{move:12s} dev F1 {f1:.2f}  C {c:<5} threshold {t:.2f}  {counts}")
    return rows, report


def fit_direction(train: list[dict], dev: list[dict], x_train: np.ndarray, x_dev: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    from calmline.tone.model import PrimaryHead

    y = [r["direction"] for r in train] * 2
    best = None
    for c in C_GRID:
        clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        clf.fit(x_train, y)
        acc = float(np.mean(clf.predict(x_dev) == np.array([r["direction"] for r in dev])))
        if best is None or acc > best[0] + 1e-9:
            best = (acc, c, clf)
    acc, c, clf = best
    print(f"direction    dev accuracy {acc:.2f}  C {c}  classes {list(clf.classes_)}")
    head = PrimaryHead(
        labels=tuple(str(k) for k in clf.classes_),
        weights=clf.coef_.astype(np.float32),
        bias=clf.intercept_.astype(np.float32),
    )
    return head, {"dev_accuracy": round(acc, 3), "C": c}


def score(model, rows: Sequence[dict], name: str) -> dict:
    """Per-move F1 and direction accuracy, with 95% bootstrap intervals."""
    from calmline.embed import load_embedder
    from calmline.evaluate.agreement import binary_scores, bootstrap
    from calmline.tone.model import TurnText

    readings = model.read(load_embedder(), [TurnText(r["text"], r["context"]) for r in rows])
    out: dict[str, dict] = {}
    pairs = [(set(r.get("does", [])), {m for m, c in x.does.items() if c >= 0.5})
             for r, x in zip(rows, readings, strict=True)]  # fmt: skip
    for move in model.labels:

        def f1(sample, move: str = move) -> float:
            return binary_scores([(move in g, move in m) for g, m in sample]).f1

        s = binary_scores([(move in g, move in m) for g, m in pairs])
        est = bootstrap(pairs, f1, rounds=500)
        out[move] = {"precision": round(s.precision, 3), "recall": round(s.recall, 3),
                     "f1": round(s.f1, 3), "ci": [round(est.low, 3), round(est.high, 3)],
                     "support": s.tp + s.fn}  # fmt: skip
    hits = [(r["direction"], x.likely) for r, x in zip(rows, readings, strict=True)]
    est = bootstrap(hits, lambda s: sum(a == b for a, b in s) / max(len(s), 1), rounds=500)
    ci = [round(est.low, 3), round(est.high, 3)]
    out["direction_accuracy"] = {"value": round(est.value, 3), "ci": ci, "n": len(hits)}
    rise = [(a == "rise", b == "rise") for a, b in hits]
    s = binary_scores(rise)
    out["direction_rise"] = {"precision": round(s.precision, 3), "recall": round(s.recall, 3)}
    print(f"\n{name}: {len(rows)} items")
    for k, v in out.items():
        print(f"  {k:18s} {v}")
    return out


def main(argv: list[str] | None = None) -> int:
    from calmline.customer.moves import MODEL_FILE, MovesModel
    from calmline.embed import load_embedder

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fit and report; do not write")
    ap.add_argument("--test", action="store_true", help="also score the frozen test split")
    ap.add_argument("--out", type=Path, default=MODEL_FILE)
    args = ap.parse_args(argv)

    train, dev = labelled("train"), labelled("dev")
    print(f"round-3 items: train {len(train)}, dev {len(dev)}")
    x_train = np.vstack([matrix(train), matrix(train, with_context=False)])
    x_dev = matrix(dev)
    rows, report = fit_moves(train, dev, x_train, x_dev)
    head, direction_report = fit_direction(train, dev, x_train, x_dev)
    model = MovesModel(
        labels=tuple(r[0] for r in rows),
        weights=np.array([r[1] for r in rows], dtype=np.float32),
        bias=np.array([r[2] for r in rows], dtype=np.float32),
        thresholds=np.array([r[3] for r in rows], dtype=np.float32),
        direction=head,
        embedder_name=load_embedder().name,
        meta={"trained_on": "data/tone/items.jsonl round 3 split=train (with and without context)",
              "thresholds_on": "split=dev", "report": report, "direction": direction_report},
    )  # fmt: skip
    score(model, dev, "dev")
    if args.test:
        score(model, labelled("test"), "test (frozen)")
    if not args.check:
        model.save(args.out)
        print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
