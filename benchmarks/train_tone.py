"""Train the tone reader's learned read-outs and write ``src/calmline/tone/tone_model.npz``.

    .venv/bin/python benchmarks/train_tone.py            # fit on train, thresholds on dev
    .venv/bin/python benchmarks/train_tone.py --check    # refit and compare, write nothing

Data: ``data/tone/items.jsonl`` (see ``data/tone/README.md``: who wrote each item, who
labelled it, and its split). Only the ``train`` split is fitted; each tag's decision
threshold and the regularisation strength are chosen on ``dev``; ``test`` is frozen
(its hash is in ``data/tone/README.md``) and never read here. ESConv
(``../shared/data/tone-dev``) is never read here either: its licence forbids training
shipped weights on it; ``benchmarks/judgement.py tone`` measures on it.

Each training turn is also shown without its previous line, so the reader works when
the context is unknown (a typed ``calmline tag`` without ``--context``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "tone" / "items.jsonl"
# Tags with enough labelled examples to learn; the rest stay with the narrow rules.
LEARNED_TAGS = (
    "empathy", "apology", "paraphrase", "question", "solution", "ownership", "summary",
    "blame", "dismissive", "policy_shield", "defensive",
)  # fmt: skip
MIN_POSITIVES = 25
MIN_DEV_F1 = 0.5  # a read-out weaker than this on dev is not trusted over the rules
# A tag that raises the customer's anger makes a polite learner's customer angrier when it
# fires wrongly ("Oh I'm so sorry about that" read as defensive), so its read-out must also
# be right at least this often when it fires on dev.
ESCALATING = frozenset({"blame", "dismissive", "policy_shield", "defensive"})
MIN_DEV_PRECISION_ESCALATING = 0.6
C_GRID = (0.05, 0.1, 0.25, 0.5, 1.0)


def load(split: str) -> list[dict]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["split"] == split]


def matrix(rows: list[dict], with_context: bool = True):
    from calmline.embed import load_embedder
    from calmline.tone.model import TurnText, feature_matrix

    turns = [TurnText(r["text"], r.get("context", "") if with_context else "") for r in rows]
    return feature_matrix(load_embedder(), turns)


def best_threshold(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The threshold on ``p`` with the best F1 on (p, y), and that F1."""
    best = (0.5, 0.0)
    for t in np.arange(0.1, 0.91, 0.025):
        pred = p >= t
        tp = float((pred & y).sum())
        fp = float((pred & ~y).sum())
        fn = float((~pred & y).sum())
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best[1] + 1e-9:
            best = (float(t), f1)
    return best


def rules_dev_f1(dev: list[dict], tags: list[str]) -> dict[str, float]:
    """Each tag's F1 on dev when read by the rules alone: a learned read-out replaces the
    rules for a tag only where it does better on dev."""
    from calmline.embed import load_embedder
    from calmline.tone.cues import load_cues
    from calmline.tone.reader import ToneInput, ToneReader

    reader = ToneReader(load_embedder(), load_cues())
    readings = reader.read_batch([ToneInput(d["text"], d["context"]) for d in dev])
    got = [set(r.tags) for r in readings]
    out = {}
    for tag in tags:
        tp = sum(tag in g and tag in d["tags"] for g, d in zip(got, dev, strict=True))
        fp = sum(tag in g and tag not in d["tags"] for g, d in zip(got, dev, strict=True))
        fn = sum(tag not in g and tag in d["tags"] for g, d in zip(got, dev, strict=True))
        out[tag] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return out


def fit_primary(train: list[dict], x_train: np.ndarray):
    """The primary-move head: multinomial logistic regression on the train items whose
    labeller gave a primary move (round 2 on), with and without context like the tags."""
    from sklearn.linear_model import LogisticRegression

    from calmline.tone.model import PrimaryHead

    keep = [i for i, r in enumerate(train) if r.get("primary")]
    if len(keep) < 100:
        return None
    n = len(train)
    rows = keep + [i + n for i in keep]  # x_train holds every item twice (context, none)
    y = [train[i]["primary"] for i in keep] * 2
    clf = LogisticRegression(C=0.25, max_iter=3000, class_weight="balanced")
    clf.fit(x_train[rows], y)
    print(f"primary head: {len(keep)} train items, moves {list(clf.classes_)}")
    return PrimaryHead(
        labels=tuple(str(c) for c in clf.classes_),
        weights=clf.coef_.astype(np.float32),
        bias=clf.intercept_.astype(np.float32),
    )


GATED = ("question", "paraphrase", "empathy", "solution")
SHARES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)


def _macro(rows: list[dict], got: list[set[str]], gold_of) -> float:
    f1s = []
    for tag in GATED:
        tp = sum(tag in g and tag in gold_of(r) for g, r in zip(got, rows, strict=True))
        fp = sum(tag in g and tag not in gold_of(r) for g, r in zip(got, rows, strict=True))
        fn = sum(tag not in g and tag in gold_of(r) for g, r in zip(got, rows, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s)


def choose_gate(model, dev: list[dict]):
    """The gate share on dev: the mean of the four tags' macro-F1 against every tag the
    labeller gave (all dev items) and against the primary move alone (dev items with
    one), the way annotators of support dialogue label a turn with one strategy."""
    from dataclasses import replace

    from calmline.embed import load_embedder
    from calmline.tone.cues import load_cues
    from calmline.tone.reader import ToneInput, ToneReader

    single = [r for r in dev if r.get("primary")]
    best = None
    for share in SHARES:
        trial = replace(model, meta={**model.meta, "gate": {"share": share, "tags": GATED}})
        reader = ToneReader(load_embedder(), load_cues(), trial)
        got = [
            set(x.tags)
            for x in reader.read_batch([ToneInput(d["text"], d["context"]) for d in dev])
        ]
        multi = _macro(dev, got, lambda r: set(r["tags"]))
        by_id = {d["id"]: g for d, g in zip(dev, got, strict=True)}
        one = _macro(single, [by_id[r["id"]] for r in single], lambda r: {r["primary"]})
        score = (multi + one) / 2
        print(f"gate share {share:.2f}: dev macro-F1 all tags {multi:.3f}, primary only {one:.3f}")
        if best is None or score > best[0] + 1e-9:
            best = (score, share, multi, one)
    _, share, multi, one = best
    print(f"gate share chosen on dev: {share}")
    gate = {"share": share, "tags": GATED, "dev_macro_all_tags": round(multi, 3),
            "dev_macro_primary": round(one, 3)}  # fmt: skip
    return replace(model, meta={**model.meta, "gate": gate})


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression

    from calmline.embed import load_embedder
    from calmline.tone.model import MODEL_FILE, ToneModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fit and report; do not write the model")
    ap.add_argument("--out", type=Path, default=MODEL_FILE)
    args = ap.parse_args(argv)

    train, dev = load("train"), load("dev")
    x_train = np.vstack([matrix(train), matrix(train, with_context=False)])
    x_dev = matrix(dev)
    tags = [t for t in LEARNED_TAGS if sum(t in r["tags"] for r in train) >= MIN_POSITIVES]
    rules_f1 = rules_dev_f1(dev, tags)
    weights, bias, thresholds, report = [], [], [], {}
    for tag in tags:
        y = np.array([tag in r["tags"] for r in train] * 2)
        y_dev = np.array([tag in r["tags"] for r in dev])
        best = None
        for c in C_GRID:
            clf = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
            clf.fit(x_train, y)
            t, f1 = best_threshold(clf.predict_proba(x_dev)[:, 1], y_dev)
            if best is None or f1 > best[0] + 1e-9:
                best = (f1, c, t, clf)
        f1, c, t, clf = best
        fired = clf.predict_proba(x_dev)[:, 1] >= t
        precision = float((fired & y_dev).sum() / max(int(fired.sum()), 1))
        if tag in ESCALATING and precision < MIN_DEV_PRECISION_ESCALATING:
            print(f"{tag:14s} dev F1 {f1:.2f} learned, precision {precision:.2f}: rules kept")
            report[tag] = {"dev_f1": round(f1, 3), "dev_precision": round(precision, 3),
                           "kept": "rules"}  # fmt: skip
            continue
        if f1 <= rules_f1[tag] or f1 < MIN_DEV_F1:
            kept = f"{rules_f1[tag]:.2f} by the rules: rules kept"
            print(f"{tag:14s} dev F1 {f1:.2f} learned, {kept}")
            report[tag] = {"dev_f1": round(f1, 3), "rules_dev_f1": round(rules_f1[tag], 3),
                           "kept": "rules"}  # fmt: skip
            continue
        weights.append(clf.coef_[0])
        bias.append(clf.intercept_[0])
        thresholds.append(t)
        report[tag] = {"dev_f1": round(f1, 3), "C": c, "threshold": round(t, 3),
                       "train_pos": int(y.sum() // 2), "dev_pos": int(y_dev.sum())}  # fmt: skip
        counts = f"train+ {report[tag]['train_pos']:4d}  dev+ {report[tag]['dev_pos']:3d}"
        print(f"{tag:14s} dev F1 {f1:.2f}  C {c:<5} threshold {t:.2f}  {counts}")
    head = fit_primary(train, x_train)
    model = ToneModel(
        tags=tuple(t for t in tags if report[t].get("kept") != "rules"),
        weights=np.array(weights, dtype=np.float32),
        bias=np.array(bias, dtype=np.float32),
        thresholds=np.array(thresholds, dtype=np.float32),
        embedder_name=load_embedder().name,
        meta={"trained_on": "data/tone/items.jsonl split=train (with and without context)",
              "thresholds_on": "split=dev", "report": report},
        primary=head,
    )  # fmt: skip
    if head is not None:
        model = choose_gate(model, dev)
    if not args.check:
        model.save(args.out)
        print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
