"""How well the offline marker agrees with human labels, per marking point.

For every point: linear-weighted Cohen's kappa with a 95% bootstrap interval (resampling
transcripts), exact agreement, leniency (share of labels the machine is kinder than)
and harshness (share it is harsher than); in-sample with the shipped concept thresholds
(``rubrics/concept_thresholds.yaml``) and, on the calibration set, k-fold cross-validated
by transcript with thresholds re-fitted on the training folds only, starting from the
default. The cross-validated figure is the honest one for a set the thresholds were
fitted on; on a set nobody fitted on (a frozen test set), the in-sample figure is the
honest one and cross-validation is pointless (``--no-cv``).

    .venv/bin/python benchmarks/judgement_marking.py                      # assessment-dev
    .venv/bin/python benchmarks/judgement_marking.py --json docs/judgement_marking.json
    .venv/bin/python benchmarks/judgement_marking.py --fit                # refit, write thresholds
    .venv/bin/python benchmarks/judgement_marking.py --labels GOLD.jsonl --transcripts DIR --no-cv

It also counts concept exemplars that share five consecutive words with a learner line
of the labelled transcripts: exemplars copied from a set inflate every figure on it.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from calmline.embed import load_embedder
from calmline.evaluate.agreement import LEVELS, bootstrap, cohen_kappa
from calmline.evaluate.concepts import (
    DEFAULT_THRESHOLD,
    THRESHOLDS_FILE,
    concept_scorer,
    load_thresholds,
)
from calmline.evaluate.labelled import Key, Prepared, mark, prepare, read_labels
from calmline.evaluate.rubric import concept_ids, load_rubrics
from calmline.evaluate.threshold_fit import FitOptions, fit_thresholds
from calmline.evaluate.transcript import load_transcript
from calmline.models import Rubric
from calmline.paths import rubrics_dir
from calmline.text import normalise
from calmline.tone.reader import load_tone_reader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_point_model import dev_folder, fit_models  # beside this script

REPO = Path(__file__).resolve().parents[1]
# The calibration set lives beside the checkouts, in the team's shared folder.
DEV = dev_folder()
RANK = {v: i for i, v in enumerate(LEVELS)}
Item = tuple[str, str]  # (gold, machine) for one transcript and point


def point_figures(items: Sequence[Item], rounds: int) -> dict[str, Any]:
    est = bootstrap(list(items), lambda xs: cohen_kappa(xs), rounds=rounds)
    n = len(items)
    return {
        "n": n,
        "kappa": round(est.value, 3),
        "kappa_ci95": [round(est.low, 3), round(est.high, 3)],
        "exact": round(sum(g == m for g, m in items) / n, 3) if n else 0.0,
        "leniency": round(sum(RANK[m] > RANK[g] for g, m in items) / n, 3) if n else 0.0,
        "harshness": round(sum(RANK[m] < RANK[g] for g, m in items) / n, 3) if n else 0.0,
    }


def figures(
    labels: Mapping[Key, str],
    machine: Mapping[Key, str],
    rubrics: Sequence[Rubric],
    files: Sequence[str],
    rounds: int,
) -> dict[str, Any]:
    points: dict[str, Any] = {}
    for rubric in rubrics:
        for p in rubric.points:
            items = [
                (labels[(f, p.source)], machine[(f, p.source)])
                for f in files
                if (f, p.source) in labels and (f, p.source) in machine
            ]
            if items:
                points[p.id] = {"source": p.source, **point_figures(items, rounds)}
    every = [(labels[k], machine[k]) for k in labels if k[0] in set(files) and k in machine]

    def mean_kappa(sample: Sequence[str]) -> float:
        # the mean over points of per-point kappa, on a resample of transcripts
        ks = []
        for rubric in rubrics:
            for p in rubric.points:
                items = [
                    (labels[(f, p.source)], machine[(f, p.source)])
                    for f in sample
                    if (f, p.source) in labels
                ]
                ks.append(cohen_kappa(items) or 0.0)
        return sum(ks) / len(ks)

    mean = bootstrap(list(files), mean_kappa, rounds=rounds)
    return {
        "points": points,
        "mean_kappa": round(mean.value, 3),
        "mean_kappa_ci95": [round(mean.low, 3), round(mean.high, 3)],
        "min_kappa": round(min(v["kappa"] for v in points.values()), 3),
        "exact": round(sum(g == m for g, m in every) / len(every), 3),
        "leniency": round(sum(RANK[m] > RANK[g] for g, m in every) / len(every), 3),
        "harshness": round(sum(RANK[m] < RANK[g] for g, m in every) / len(every), 3),
        "labels": len(every),
    }


def concept_uses(rubrics: Sequence[Rubric], cues_only: set[str]) -> dict[str, set[str]]:
    """concept -> the point sources whose verdict it can change (fitted thresholds only)."""
    uses: dict[str, set[str]] = {}
    for rubric in rubrics:
        for p in rubric.points:
            for check in p.checks:
                for cid in concept_ids(check):
                    if cid not in cues_only:
                        uses.setdefault(cid, set()).add(p.source)
    return dict(sorted(uses.items()))


def fit_on(
    prepared: Sequence[Prepared],
    rubrics: Sequence[Rubric],
    labels: Mapping[Key, str],
    uses: Mapping[str, set[str]],
    groups: Mapping[str, list[str]],
    options: FitOptions,
) -> dict[str, float]:
    def mark_fn(thresholds: Mapping[str, float], points: Any) -> dict[str, list[Item]]:
        out: dict[str, list[Item]] = {}
        for (f, src), verdict in mark(prepared, rubrics, thresholds, points, models={}).items():
            if (f, src) in labels:
                out.setdefault(src, []).append((labels[(f, src)], verdict))
        return out

    start = {c: DEFAULT_THRESHOLD for c in uses}
    group_uses = {g: set().union(*(uses[c] for c in members)) for g, members in groups.items()}
    return fit_thresholds(groups, group_uses, mark_fn, start, options).thresholds


def folds_of(files: Sequence[str], k: int, seed: int) -> list[list[str]]:
    order = sorted(files)
    random.Random(seed).shuffle(order)
    return [sorted(order[i::k]) for i in range(k)]


def copied_exemplars(transcripts: Path, files: Sequence[str], n: int = 5) -> list[str]:
    """Concept exemplars sharing ``n`` consecutive words with a labelled learner line."""
    grams: set[str] = set()
    for name in files:
        for turn in load_transcript(transcripts / name).turns:
            if turn.speaker == "learner":
                words = normalise(turn.text, fold=True).split()
                grams.update(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    bank = yaml.safe_load((rubrics_dir() / "concepts.yaml").read_text(encoding="utf-8"))
    texts = list(bank.get("background", []))
    for fam in bank["families"].values():
        texts += fam.get("negatives", [])
        for concept in fam["concepts"].values():
            texts += concept.get("examples", []) + concept.get("negatives", [])
    out = []
    for text in texts:
        words = normalise(text, fold=True).split()
        if any(" ".join(words[i : i + n]) in grams for i in range(len(words) - n + 1)):
            out.append(text)
    return out


def print_table(title: str, fig: Mapping[str, Any]) -> None:
    print(f"\n{title}")
    print(
        f"{'point':28s} {'kappa':>6s} {'95% CI':>14s} {'exact':>6s} {'lenient':>8s} {'harsh':>6s}"
    )
    for pid, v in fig["points"].items():
        lo, hi = v["kappa_ci95"]
        print(
            f"{pid:28s} {v['kappa']:6.2f} {f'[{lo:.2f}, {hi:.2f}]':>14s} {v['exact']:6.2f} "
            f"{v['leniency']:8.2f} {v['harshness']:6.2f}"
        )
    lo, hi = fig["mean_kappa_ci95"]
    print(
        f"{'mean':28s} {fig['mean_kappa']:6.2f} {f'[{lo:.2f}, {hi:.2f}]':>14s} "
        f"{fig['exact']:6.2f} {fig['leniency']:8.2f} {fig['harshness']:6.2f}"
        f"   (min point kappa {fig['min_kappa']:.2f}, {fig['labels']} labels)"
    )


def write_thresholds(thresholds: Mapping[str, float], source: str) -> Path:
    path = rubrics_dir() / THRESHOLDS_FILE
    header = (
        "# Per-concept thresholds for rubrics/concepts.yaml, fitted by\n"
        "#   python benchmarks/judgement_marking.py --fit\n"
        f"# on {source} ({datetime.now(UTC):%Y-%m-%d}). Concepts not listed use "
        f"{DEFAULT_THRESHOLD}.\n"
        "# Do not edit by hand: change the exemplars, then refit and report the\n"
        "# cross-validated figures (docs/calibration.md).\n"
    )
    body = yaml.safe_dump({"thresholds": dict(sorted(thresholds.items()))}, sort_keys=False)
    path.write_text(header + body, encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--labels",
        type=Path,
        action="append",
        help="a gold .jsonl (its transcripts in the folder beside it); give it again to mark "
        "several sets as one (default: assessment-dev)",
    )
    parser.add_argument(
        "--transcripts", type=Path, default=None, help="the transcripts of a single --labels"
    )
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--no-cv", action="store_true", help="in-sample figures only")
    parser.add_argument(
        "--fit", action="store_true", help="fit thresholds on all labels and write them"
    )
    parser.add_argument(
        "--fixed-thresholds",
        action="store_true",
        help="in cross-validation keep the shipped concept thresholds (refit only the learned "
        "point models in each fold)",
    )
    parser.add_argument(
        "--rules-only",
        action="store_true",
        help="mark every point by its rubric rule (no learned point models), for comparison",
    )
    args = parser.parse_args(argv)
    args.labels = args.labels or [DEV / "gold.jsonl"]
    if args.transcripts and len(args.labels) > 1:
        parser.error("--transcripts goes with a single --labels")
    folders = [args.transcripts or path.parent / "transcripts" for path in args.labels]
    started = time.time()

    sets = [read_labels(path) for path in args.labels]
    labels = {k: v for one in sets for k, v in one.items()}
    files = sorted({f for f, _ in labels})
    if len(files) != sum(len({f for f, _ in one}) for one in sets):
        parser.error("two label sets name the same transcript file")
    rubrics = load_rubrics()
    embedder = load_embedder()
    scorer = concept_scorer(embedder)
    cues_only = {c for c in scorer.ids if scorer.bank.concept(c).cues_only}
    uses = concept_uses(rubrics, cues_only)
    groups = scorer.bank.threshold_groups(uses)
    print(f"marking {len(files)} transcripts from {', '.join(map(str, folders))} ...",
          file=sys.stderr)  # fmt: skip
    prepared = [
        p
        for folder, one in zip(folders, sets, strict=True)
        for p in prepare(folder, sorted({f for f, _ in one}), scorer, load_tone_reader())
    ]
    options = FitOptions()

    if args.fit:
        fitted = fit_on(prepared, rubrics, labels, uses, groups, options)
        path = write_thresholds(fitted, " + ".join(map(str, args.labels)))
        print(f"wrote {path}", file=sys.stderr)
        shipped = fitted
    else:
        shipped = load_thresholds()
    report: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python benchmarks/judgement_marking.py " + " ".join(argv or sys.argv[1:]),
        "labels": [str(p) for p in args.labels],
        "transcripts": len(files),
        "machine": (
            f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
        ),
        "judge": "offline (tone reader + all-MiniLM-L6-v2 concepts + rubric checks"
        + (")" if args.rules_only else " + learned point models where they beat the rule)"),
    }
    insample = mark(
        prepared,
        rubrics,
        {c: shipped.get(c, DEFAULT_THRESHOLD) for c in uses},
        models={} if args.rules_only else None,
    )
    report["in_sample"] = figures(labels, insample, rubrics, files, args.rounds)
    print_table("in-sample (shipped thresholds)", report["in_sample"])

    if not args.no_cv:
        refit = (
            " and ".join(
                (["concept thresholds"] if not args.fixed_thresholds else [])
                + (["point models"] if not args.rules_only else [])
            )
            or "nothing"
        )
        pooled: dict[Key, str] = {}
        folds = folds_of(files, args.folds, args.seed)
        for i, test in enumerate(folds, start=1):
            train = [p for p in prepared if p.file not in set(test)]
            fitted = (
                dict(shipped)
                if args.fixed_thresholds
                else fit_on(train, rubrics, labels, uses, groups, options)
            )
            models = {} if args.rules_only else fit_models(train, rubrics, labels, fitted)[0]
            held_out = [p for p in prepared if p.file in set(test)]
            pooled.update(mark(held_out, rubrics, fitted, models=models))
            print(f"fold {i}/{len(folds)} done", file=sys.stderr)
        report["cross_validated"] = {
            "folds": args.folds,
            "seed": args.seed,
            "refitted_in_each_fold": refit,
            **figures(labels, pooled, rubrics, files, args.rounds),
        }
        print_table(
            f"{args.folds}-fold cross-validated ({refit} fitted on training folds only)",
            report["cross_validated"],
        )
        if len(sets) > 1:  # the same held-out verdicts, set by set
            report["cross_validated_by_set"] = {}
            for path, one in zip(args.labels, sets, strict=True):
                name = path.parent.name
                mine = sorted({f for f, _ in one})
                report["cross_validated_by_set"][name] = figures(
                    labels, pooled, rubrics, mine, args.rounds
                )
                print_table(f"  ... of which {name}", report["cross_validated_by_set"][name])

    copied = [
        c
        for folder, one in zip(folders, sets, strict=True)
        for c in copied_exemplars(folder, sorted({f for f, _ in one}))
    ]
    report["exemplars_copied_from_these_transcripts"] = copied
    print(f"\nconcept exemplars sharing 5 consecutive words with these transcripts: {len(copied)}")
    report["seconds"] = round(time.time() - started, 1)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
