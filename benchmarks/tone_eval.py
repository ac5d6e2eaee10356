"""Tone-tag accuracy and speed of the real ToneReader on ``data/tone_labels.jsonl``.

Prints per-tag precision / recall / F1 with micro and macro averages, for the dev
split (which the cues were tuned on), the held-out test split, and all items; then
writes the same tables to ``docs/tone_eval.md`` with the machine and the command.

    .venv/bin/python benchmarks/tone_eval.py            # tables + docs/tone_eval.md
    .venv/bin/python benchmarks/tone_eval.py --errors dev   # list dev-split mistakes
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from calmline.models import TONE_TAGS
from calmline.tone.reader import ToneInput, load_tone_reader

REPO = Path(__file__).resolve().parents[1]
SPLITS = ("dev", "test", "all")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def scores(gold: list[set[str]], pred: list[set[str]]) -> dict[str, tuple[float, ...]]:
    """Per tag (precision, recall, F1, support), plus 'micro' and 'macro' rows."""
    rows: dict[str, tuple[float, ...]] = {}
    tp_all = fp_all = fn_all = 0
    f1s = []
    for tag in TONE_TAGS:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if tag in g and tag in p)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if tag not in g and tag in p)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if tag in g and tag not in p)
        support = tp + fn
        if support == 0 and fp == 0:
            continue
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / support if support else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        rows[tag] = (prec, rec, f1, support)
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        if support:
            f1s.append(f1)
    prec = tp_all / (tp_all + fp_all) if tp_all + fp_all else 0.0
    rec = tp_all / (tp_all + fn_all) if tp_all + fn_all else 0.0
    micro = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    rows["micro"] = (prec, rec, micro, tp_all + fn_all)
    rows["macro"] = (float("nan"), float("nan"), statistics.mean(f1s), len(f1s))
    return rows


def table(split_rows: dict[str, dict[str, tuple[float, ...]]]) -> list[str]:
    head = "| tag | " + " | ".join(f"{s} P | {s} R | {s} F1 | {s} n" for s in SPLITS) + " |"
    lines = [head, "|---" * (1 + 4 * len(SPLITS)) + "|"]
    tags = [t for t in (*TONE_TAGS, "micro", "macro") if any(t in r for r in split_rows.values())]
    for tag in tags:
        cells = []
        for split in SPLITS:
            p, r, f, n = split_rows[split].get(tag, (0.0, 0.0, 0.0, 0))
            fmt = [("-" if v != v else f"{v:.2f}") for v in (p, r, f)]  # nan -> "-"
            cells.append(" | ".join([*fmt, str(int(n))]))
        name = f"**{tag}**" if tag in ("micro", "macro") else tag
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "data" / "tone_labels.jsonl")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "tone_eval.md")
    parser.add_argument("--errors", choices=SPLITS, help="print the mistakes on a split")
    parser.add_argument("--no-write", action="store_true", help="do not write --out")
    args = parser.parse_args()

    items = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    t0 = time.perf_counter()
    reader = load_tone_reader()
    load_s = time.perf_counter() - t0
    inputs = [ToneInput(it["text"], it.get("context")) for it in items]
    t0 = time.perf_counter()
    readings = reader.read_batch(inputs)
    all_s = time.perf_counter() - t0
    batch20 = []
    for start in range(0, 200, 20):
        t0 = time.perf_counter()
        reader.read_batch(inputs[start : start + 20])
        batch20.append(time.perf_counter() - t0)
    one = []
    for inp in inputs[:20]:
        t0 = time.perf_counter()
        reader.read_batch([inp])
        one.append(time.perf_counter() - t0)

    gold = [set(it["tags"]) for it in items]
    pred = [{t for t, c in r.tags.items() if c >= args.threshold} for r in readings]
    split_rows = {}
    dir_acc = {}
    for split in SPLITS:
        idx = [i for i, it in enumerate(items) if split == "all" or it.get("split") == split]
        split_rows[split] = scores([gold[i] for i in idx], [pred[i] for i in idx])
        dir_acc[split] = sum(readings[i].direction == items[i]["direction"] for i in idx) / len(idx)

    lines = table(split_rows)
    lines.append("")
    lines.append(
        "Direction accuracy (escalating / neutral / de-escalating): "
        + ", ".join(f"{s} {dir_acc[s]:.2f}" for s in SPLITS)
    )
    speed = [
        f"- model + cue prototypes load: {load_s:.2f} s",
        f"- read_batch of 20 turns: median {statistics.median(batch20) * 1000:.0f} ms "
        f"(min {min(batch20) * 1000:.0f}, max {max(batch20) * 1000:.0f}; 10 batches)",
        f"- one turn at a time: median {statistics.median(one) * 1000:.1f} ms",
        f"- all {len(items)} turns in one batch: {all_s:.2f} s",
        f"- load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(shared machine: speeds vary with other work)",
    ]
    print("\n".join(lines))
    print("\n".join(speed))

    if args.errors:
        for i, it in enumerate(items):
            if args.errors != "all" and it.get("split") != args.errors:
                continue
            g, p = gold[i], pred[i]
            wrong_dir = readings[i].direction != it["direction"]
            if g != p or wrong_dir:
                print(f"\n{it['id']}: {it['text']}")
                print(f"   missed {sorted(g - p)} extra {sorted(p - g)}", end="")
                print(
                    f"  dir {readings[i].direction} (gold {it['direction']})" if wrong_dir else ""
                )
                for cue in readings[i].cues:
                    print(f"   . {cue}")

    if not args.no_write:
        cmd = "make setup && .venv/bin/python benchmarks/tone_eval.py"
        doc = [
            "# Tone tag accuracy",
            "",
            f"Measured {date.today().isoformat()} on {os.cpu_count()} cores "
            f"({cpu_model()}), Python {platform.python_version()}, "
            f"embedder {reader.embedder.name}, threshold {args.threshold}.",
            "",
            f"Reproduce: `{cmd}`",
            "",
            f"Data: `data/tone_labels.jsonl`, {len(items)} hand-written learner turns with the "
            "previous customer line as context, across retail, broadband, hotel, bank, airline, "
            "utilities, online orders, consumer-rights refunds and a personal-safety case; about "
            "30% are written as speech recognition returns them (lower case, no punctuation). "
            "Items alternate between a **dev** split and a held-out **test** split. The cue "
            "file `prompts/tone_cues.yaml` and the thresholds were tuned by reading the dev "
            "split's mistakes only; the test columns are the honest estimate.",
            "",
            *lines,
            "",
            "## Speed",
            "",
            *speed,
            "",
        ]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(doc), encoding="utf-8")
        print(
            f"\nwrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
