"""Train the learned weighing of each marking point and write ``rubrics/point_model.json``.

    .venv/bin/python benchmarks/train_point_model.py            # fit on dev + train, write
    .venv/bin/python benchmarks/train_point_model.py --check    # report only, write nothing

Data: the adjudicated labels of ``../shared/data/assessment-dev`` (40 transcripts by two
outside writers, two raters) and ``data/assessment-train`` (96 transcripts by four more
writers; each round rated by two raters apart, a third adjudicating);
``data/assessment-test`` is frozen and never read here. Each transcript is marked with
the shipped concept thresholds; for each point, a multinomial logistic regression over
``calmline.evaluate.point_model.features`` is compared with the rubric's rule by 5-fold
cross-validation by transcript (linear-weighted kappa against the gold labels), over a few
regularisation strengths; the point keeps the learned weighing only where it beat the rule
there. ``judgement_marking.py`` measures the
whole (thresholds and these models refitted inside each of its folds).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "data" / "assessment-train"
C_GRID = (0.3, 1.0, 3.0, 10.0)
MARGIN = 0.02  # a learned weighing must beat the rule's CV kappa by this much
FOLDS = 5


@dataclass(frozen=True)
class Row:
    file: str
    point_id: str
    x: np.ndarray
    gold: str
    rule: str  # the rule's verdict after the evidence rule (what ships without a model)
    evidenced: bool  # a verified learner quote supports the point


def dev_folder() -> Path:
    """The shared assessment-dev set, in the team's folder beside the checkout."""
    return next(
        (a / "shared" / "data" / "assessment-dev" for a in REPO.parents if (a / "shared").is_dir()),
        REPO / "data" / "assessment-dev",
    )


def rows_of(prepared, rubrics, labels: Mapping[tuple[str, str], str], thresholds=None) -> list[Row]:
    """One row per labelled (transcript, point), marked under ``thresholds``."""
    from calmline.evaluate.checks import run_check
    from calmline.evaluate.concepts import ConceptReader
    from calmline.evaluate.offline import point_features, verdict_for_point
    from calmline.evaluate.point_model import call_profile

    out = []
    for item in prepared:
        ctx = item.ctx
        if thresholds is not None and isinstance(ctx.reader, ConceptReader):
            ctx.reader.scorer = ctx.reader.scorer.with_thresholds(thresholds)
        profile = call_profile(ctx.session, ctx.tones)
        for rubric in rubrics:
            for point in rubric.points:
                gold = labels.get((item.file, point.source))
                if gold is None:
                    continue
                results = [run_check(c, ctx) for c in point.checks]
                ruled = verdict_for_point(point, results, ctx.session)
                x = point_features(point, results, profile)
                out.append(Row(item.file, point.id, x, gold, ruled.verdict, bool(ruled.evidence)))
    return out


def _kappa(pairs: Sequence[tuple[str, str]]) -> float:
    from calmline.evaluate.agreement import cohen_kappa

    k = cohen_kappa(pairs)
    return -1.0 if k is None else float(k)


def _fit(x: np.ndarray, y: Sequence[str], c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=5000).fit(x, list(y))


def _evidenced(row: Row, verdict: str) -> str:
    """The evidence rule, as ``offline.verdict_for_point`` applies it after any model."""
    return verdict if row.evidenced or verdict == "not_met" else "not_met"


def choose(rows: Sequence[Row], seed: int = 0) -> dict[str, dict]:
    """Per point: the CV kappa of the rule and of each C; the choice and the fitted model."""
    from calmline.evaluate.point_model import LEVELS, PointModel

    by_point: dict[str, list[Row]] = {}
    for r in rows:
        by_point.setdefault(r.point_id, []).append(r)
    out = {}
    for pid, rs in sorted(by_point.items()):
        files = sorted({r.file for r in rs})
        random.Random(seed).shuffle(files)
        folds = [set(files[i::FOLDS]) for i in range(FOLDS)]
        x = np.stack([r.x for r in rs])
        y = [r.gold for r in rs]
        report = {"rule": round(_kappa([(r.gold, r.rule) for r in rs]), 3)}
        best = ("rule", report["rule"] + MARGIN)
        for c in C_GRID:
            pred = [""] * len(rs)
            for fold in folds:
                train = [i for i, r in enumerate(rs) if r.file not in fold]
                test = [i for i, r in enumerate(rs) if r.file in fold]
                if len({y[i] for i in train}) < 2:
                    for i in test:
                        pred[i] = y[train[0]]
                    continue
                model = _fit(x[train], [y[i] for i in train], c)
                for i, p in zip(test, model.predict(x[test]), strict=True):
                    pred[i] = _evidenced(rs[i], str(p))
            report[f"C={c}"] = round(_kappa(list(zip(y, pred, strict=True))), 3)
            if report[f"C={c}"] > best[1]:
                best = (f"C={c}", report[f"C={c}"])
        chosen = None
        if best[0] != "rule" and len(set(y)) >= 2:
            fitted = _fit(x, y, float(best[0][2:]))
            classes = tuple(str(c) for c in fitted.classes_)
            coef, intercept = fitted.coef_, fitted.intercept_
            if len(classes) == 2:  # sklearn's binary form: one row for the second class
                coef = np.vstack([-coef[0] / 2, coef[0] / 2])
                intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
            assert set(classes) <= set(LEVELS)
            chosen = PointModel(pid, "", classes, coef, intercept)  # stamped by the caller
        out[pid] = {"cv_kappa": report, "chosen": best[0], "model": chosen}
    return out


def fit_models(prepared, rubrics, labels, thresholds=None) -> dict:
    """The chosen point models (stamped), fitted on ``prepared`` under ``thresholds``."""
    from calmline.evaluate.point_model import PointModel, point_stamp

    points = {p.id: p for r in rubrics for p in r.points}
    chosen = choose(rows_of(prepared, rubrics, labels, thresholds))
    models = {}
    for pid, c in chosen.items():
        m = c["model"]
        if m is not None:
            models[pid] = PointModel(pid, point_stamp(points[pid]), m.classes, m.coef, m.intercept)
    return models, chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report only; write nothing")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "src"))
    from calmline.embed import load_embedder
    from calmline.evaluate.concepts import concept_scorer
    from calmline.evaluate.labelled import prepare, read_labels
    from calmline.evaluate.point_model import MODEL_FILE, save_point_models
    from calmline.evaluate.rubric import load_rubrics
    from calmline.paths import rubrics_dir
    from calmline.tone.reader import load_tone_reader

    rubrics = load_rubrics()
    scorer = concept_scorer(load_embedder())
    tone = load_tone_reader()
    labels, prepared = {}, []
    for folder in (dev_folder(), TRAIN):
        one = read_labels(folder / "gold.jsonl")
        labels.update(one)
        files = sorted({f for f, _ in one})
        print(f"preparing {len(files)} transcripts from {folder} ...", file=sys.stderr)
        prepared += prepare(folder / "transcripts", files, scorer, tone)
    models, chosen = fit_models(prepared, rubrics, labels)
    for pid, c in chosen.items():
        cells = "  ".join(f"{k} {v:.2f}" for k, v in c["cv_kappa"].items())
        print(f"{pid:26s} {cells}  -> {c['chosen']}")
    if args.check:
        return 0
    meta = {
        "trained_on": ["assessment-dev (shared)", "data/assessment-train"],
        "transcripts": len(prepared),
        "chosen_by": f"{FOLDS}-fold CV by transcript, linear-weighted kappa, margin {MARGIN}",
        "cv_kappa": {pid: c["cv_kappa"] for pid, c in chosen.items()},
        "date": date.today().isoformat(),
    }
    path = rubrics_dir() / MODEL_FILE
    save_point_models(models, meta, path)
    print(f"wrote {path}: learned weighing for {', '.join(sorted(models)) or 'no point'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
