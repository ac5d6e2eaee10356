"""Every judgement figure, on dev and test, with 95% intervals: one command.

    .venv/bin/python benchmarks/judgement.py            # runs all, writes docs/judgement.md
    .venv/bin/python benchmarks/judgement.py --only tone anger

Runs, each writing its JSON into ``docs/``:

- tone (``judgement_tone.py``): per-tag F1 on the dev and frozen test splits of
  ``data/tone`` and on ESConv dev (``../shared/data/tone-dev``, measured on, never trained on);
- marking (``judgement_marking.py``): linear-weighted kappa per marking point on
  ``../shared/data/assessment-dev`` and ``data/assessment-train`` together (5-fold
  cross-validated: the shipped concept thresholds, fitted on assessment-dev, and the learned
  point models refitted inside each fold; and in-sample), and on the frozen
  ``data/assessment-test``;
- anger (``anger_direction.py``): one turn's anger step against the labelled direction on the
  dev and frozen test splits of rounds 3-4 of ``data/tone``;

then ``docs/judgement.md``: one table of the headline figures with who wrote and who
labelled each set, the date, the machine and this command. Takes about 25 minutes on
two cores.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from train_point_model import dev_folder  # noqa: E402  (beside this script)

DOCS = REPO / "docs"
BENCH = REPO / "benchmarks"
TEST_MARKING = REPO / "data" / "assessment-test"
TRAIN_MARKING = REPO / "data" / "assessment-train"
DEV_MARKING = dev_folder()

RUNS: dict[str, list[tuple[str, list[str]]]] = {
    "tone": [("judgement_tone.json", ["judgement_tone.py", "--json"])],
    "marking": [
        (
            "judgement_marking_dev.json",
            [
                "judgement_marking.py",
                "--labels",
                str(DEV_MARKING / "gold.jsonl"),
                "--labels",
                str(TRAIN_MARKING / "gold.jsonl"),
                "--fixed-thresholds",
                "--json",
            ],
        ),
        (
            "judgement_marking_test.json",
            [
                "judgement_marking.py",
                "--labels",
                str(TEST_MARKING / "gold.jsonl"),
                "--transcripts",
                str(TEST_MARKING / "transcripts"),
                "--no-cv",
                "--json",
            ],
        ),
    ],
    "anger": [
        ("anger_direction_dev.json", ["anger_direction.py", "--json"]),
        ("anger_direction_test.json", ["anger_direction.py", "--split", "test", "--json"]),
    ],
}

WHO = {
    "tone dev/test": "data/tone rounds 1-5: eleven writers (writer_a..k), labelled by twelve "
    "labellers who wrote none of them",
    "ESConv dev": "real supporter chat (Liu et al. 2021), labelled by the ESConv annotators",
    "assessment-dev": "two outside writers, two raters apart (agreement 0.92), adjudicated",
    "assessment-train": "four more writers in two rounds of 48, each round rated by two more "
    "raters apart (kappa 0.97 both times), a third adjudicating",
    "assessment-test": "two writers apart, two raters apart (kappa 0.94), a third "
    "adjudicated; frozen",
    "anger dev/test": "data/tone rounds 3-5: writers f-i and k, labellers 7-10 and 12 (direction)",
}


def run(name: str, args: list[str], out: Path) -> None:
    cmd = [sys.executable, str(BENCH / args[0]), *args[1:], str(out)]
    print(
        f"[{name}] {' '.join(Path(c).name if c.startswith(str(REPO)) else c for c in cmd[1:])}",
        flush=True,
    )
    started = time.time()
    subprocess.run(cmd, check=True, cwd=REPO)
    print(f"[{name}] done in {time.time() - started:.0f} s", flush=True)


def ci(v: dict[str, Any], key: str = "ci") -> str:
    lo, hi = v.get(key) or (None, None)
    return f"[{lo:.2f}, {hi:.2f}]" if lo is not None else ""


def tone_rows(data: dict[str, Any]) -> list[str]:
    rows = []
    four = ("paraphrase", "empathy", "question", "solution")
    for split, label in (
        ("dev", "tone dev/test"),
        ("test", "tone dev/test"),
        ("test-rounds2-4", "tone dev/test"),
        ("test-round5", "tone dev/test"),
        ("esconv-dev", "ESConv dev"),
    ):
        s = data.get(split)
        if not s:
            continue
        per = s.get("reader_four") or s["reader"]
        tags = ", ".join(f"{t} {per[t]['f1']:.2f}" for t in four if t in per)
        macro = per.get("macro") or {}
        rows.append(
            f"| tone | {split} (n={s['n']}) | macro F1 over the four: "
            f"{macro.get('f1', float('nan')):.2f} "
            f"{ci(macro)}; {tags} | >= 0.60, each >= 0.50 | {WHO[label]} |"
        )
    return rows


def who(name: str) -> str:
    sets = [k for k in ("assessment-dev", "assessment-train", "assessment-test") if k in name]
    return "; ".join(f"{k}: {WHO[k]}" for k in sets)


def marking_rows(dev: dict[str, Any] | None, test: dict[str, Any] | None) -> list[str]:
    rows = []
    by_set = (dev or {}).get("cross_validated_by_set", {})
    for name, data, key in (
        ("assessment-dev + assessment-train, 5-fold CV", dev, "cross_validated"),
        ("assessment-dev (its folds of that CV)", by_set, "assessment-dev"),
        ("assessment-train (its folds of that CV)", by_set, "assessment-train"),
        ("assessment-test (frozen)", test, "in_sample"),
    ):
        if not data or key not in data:
            continue
        fig = data[key]
        points = fig["points"]
        weakest = min(points, key=lambda p: points[p]["kappa"])
        rows.append(
            f"| marking | {name} | mean kappa {fig['mean_kappa']:.2f} "
            f"{ci(fig, 'mean_kappa_ci95')}, "
            f"leniency {fig['leniency']:.2f}, weakest {weakest} {points[weakest]['kappa']:.2f} "
            f"| >= 0.80, each >= 0.65, leniency <= 0.10 "
            f"| {who(name)} |"
        )
    return rows


def anger_rows(dev: dict[str, Any] | None, test: dict[str, Any] | None) -> list[str]:
    return [
        f"| anger direction | {d['split']} (n={d['items']}) | {d['agrees']:.2f} {ci(d)}; fell on "
        f"{d['fell_on_rise']} of {d['rise_items']} labelled rise | >= 0.90 "
        f"| {WHO['anger dev/test']} |"
        for d in (dev, test)
        if d
    ]


def load(name: str) -> dict[str, Any] | None:
    path = DOCS / name
    return json.loads(path.read_text()) if path.exists() else None


def write_summary(command: str) -> Path:
    lines = [
        "# Judgement figures: tone, marking, anger",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"Python {platform.python_version()}, with `{command}` (details: the JSON files beside "
        "this page and `docs/tone_eval.md`, `docs/calibration.md`, `docs/customer_eval.md`).",
        "",
        "| judgement | set | figure [95% CI] | target | written and labelled by |",
        "|---|---|---|---|---|",
        *tone_rows(load("judgement_tone.json") or {}),
        *marking_rows(load("judgement_marking_dev.json"), load("judgement_marking_test.json")),
        *anger_rows(load("anger_direction_dev.json"), load("anger_direction_test.json")),
        "",
    ]
    out = DOCS / "judgement.md"
    out.write_text("\n".join(lines))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(RUNS), help="run only these judgements")
    parser.add_argument(
        "--summary-only", action="store_true", help="rewrite docs/judgement.md from the JSON files"
    )
    args = parser.parse_args(argv)
    if not args.summary_only:
        for name in args.only or RUNS:
            for out, cmd in RUNS[name]:
                run(name, cmd, DOCS / out)
    command = "python benchmarks/judgement.py" + (
        f" --only {' '.join(args.only)}" if args.only else ""
    )
    print(f"wrote {write_summary(command)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
