"""Tone reader figures on every labelled set, with 95% bootstrap intervals.

    .venv/bin/python benchmarks/judgement_tone.py [--json OUT]

Sets (who wrote and who labelled each is in ``data/tone/README.md``):
- ``dev``, ``test`` (round 1), ``test-rounds2-4``, ``test-round5`` and ``test-round6`` of
  ``data/tone/items.jsonl``: round 1 written by three writers, rounds 2-4 by six more,
  round 5 by two more (typed peer-support chat, helplines, counselling, spoken service
  calls), round 6 by one more (restatements put as check-backs, near misses of empathy
  and advice), all labelled by people who did not write them. Each round's test split is frozen
  (hashed) and never used to fit or tune; ``test-rounds2-4-primary`` and
  ``test-round5-primary`` score those test items against the one primary move their
  labeller chose, as ESConv is scored.
- ``esconv-dev``: ``../shared/data/tone-dev/esconv_dev.jsonl``, 480 real supporter
  utterances labelled by the ESConv annotators with one strategy each, mapped onto four
  tags (CC BY-NC 4.0: measured on, never trained on, never copied here).

Beside the reader, a one-line regular expression per tag is scored on the same items,
the baseline the judgement issue compares with.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ITEMS = REPO / "data" / "tone" / "items.jsonl"
ESCONV = REPO.parent / "shared" / "data" / "tone-dev" / "esconv_dev.jsonl"
ESCONV_TAGS = {
    "Restatement or Paraphrasing": "paraphrase",
    "Reflection of feelings": "empathy",
    "Questions": "question",
    "Providing Suggestions": "solution",
}
FOUR = ("paraphrase", "empathy", "question", "solution")
BASELINE = {
    "paraphrase": re.compile(r"\b(so you|sounds like|you'?re saying|you mean|you said)\b", re.I),
    "empathy": re.compile(
        r"\b(understand|must (be|have)|sounds (hard|difficult|tough)|feel)", re.I
    ),
    "question": re.compile(r"\?"),
    "solution": re.compile(r"\b(you (could|should|can|might)|try|maybe|suggest|how about)\b", re.I),
    "apology": re.compile(r"\b(sorry|apologi[sz]e)", re.I),
}


def load_items(split: str) -> list[dict]:
    rows = [json.loads(line) for line in ITEMS.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["split"] == split]


def load_esconv() -> list[dict]:
    rows = [json.loads(line) for line in ESCONV.read_text().splitlines() if line.strip()]
    return [
        {"id": r["id"], "text": r["text"], "context": r.get("context", ""),
         "tags": [ESCONV_TAGS[r["gold"]]] if r["gold"] in ESCONV_TAGS else []}
        for r in rows
    ]  # fmt: skip


def predict(rows: Sequence[dict]) -> tuple[list[set[str]], list[set[str]]]:
    """The reader's tags per row, and its primary move (as a one-tag set, empty when the
    primary move is none of the tags)."""
    from calmline.tone.reader import ToneInput, load_tone_reader

    reader = load_tone_reader()
    readings = reader.read_batch([ToneInput(r["text"], r.get("context") or None) for r in rows])
    return [set(x.tags) for x in readings], [{x.primary} if x.primary else set() for x in readings]


def baseline(rows: Sequence[dict]) -> list[set[str]]:
    return [{t for t, rx in BASELINE.items() if rx.search(r["text"])} for r in rows]


def tag_table(rows: Sequence[dict], got: Sequence[set[str]], tags: Sequence[str]) -> dict:
    from calmline.evaluate.agreement import binary_scores, bootstrap

    pairs = list(zip([set(r["tags"]) for r in rows], got, strict=True))
    out: dict[str, dict] = {}
    for tag in tags:

        def f1(sample: Sequence[tuple[set[str], set[str]]], tag: str = tag) -> float:
            return binary_scores([(tag in g, tag in m) for g, m in sample]).f1

        s = binary_scores([(tag in g, tag in m) for g, m in pairs])
        est = bootstrap(pairs, f1, rounds=500)
        out[tag] = {"precision": round(s.precision, 3), "recall": round(s.recall, 3),
                    "f1": round(s.f1, 3), "ci": [round(est.low, 3), round(est.high, 3)],
                    "support": s.tp + s.fn}  # fmt: skip

    def macro(sample: Sequence[tuple[set[str], set[str]]]) -> float:
        return sum(binary_scores([(t in g, t in m) for g, m in sample]).f1 for t in tags) / len(
            tags
        )

    est = bootstrap(pairs, macro, rounds=500)
    out["macro"] = {"f1": round(est.value, 3), "ci": [round(est.low, 3), round(est.high, 3)]}
    return out


ROUND1 = ("writer_a", "writer_b", "writer_c")
ROUND5 = ("writer_j", "writer_k")  # written and frozen on 2026-12-07, after the first encoder
ROUND6 = ("writer_l",)  # the gaps ESConv showed (restatements as check-backs, near misses)


def run() -> dict:
    sets: dict[str, list[dict]] = {}
    if ITEMS.exists():
        dev, test = load_items("dev"), load_items("test")
        sets["dev"] = dev
        sets["test"] = [r for r in test if r["writer"] in ROUND1]
        sets["test-rounds2-4"] = [r for r in test if r["writer"] not in (*ROUND1, *ROUND5, *ROUND6)]
        sets["test-round5"] = [r for r in test if r["writer"] in ROUND5]
        sets["test-round6"] = [r for r in test if r["writer"] in ROUND6]
        # rounds 2-5's labellers also gave the one primary move: scored as one tag per turn,
        # as ESConv's annotators label
        for name in ("test-rounds2-4", "test-round5", "test-round6"):
            sets[f"{name}-primary"] = [
                {**r, "tags": [r["primary"]] if r["primary"] in FOUR else []}
                for r in sets[name]
                if r.get("primary")
            ]
    if ESCONV.exists():
        sets["esconv-dev"] = load_esconv()
    report: dict[str, dict] = {}
    for name, rows in sets.items():
        if not rows:
            continue
        single = name == "esconv-dev" or name.endswith("-primary")
        tags: Sequence[str] = FOUR if single else sorted({t for r in rows for t in r["tags"]})
        got, primary = predict(rows)
        report[name] = {
            "n": len(rows),
            "reader": tag_table(rows, got, tags),
            "regex": tag_table(rows, baseline(rows), [t for t in tags if t in BASELINE]),
        }
        if single:
            report[name]["reader_primary_only"] = tag_table(rows, primary, FOUR)
        else:
            report[name]["reader_four"] = tag_table(rows, got, FOUR)
    return report


def print_report(report: dict) -> None:
    for name, block in report.items():
        print(f"\n## {name} (n={block['n']})")
        print("| tag | P | R | F1 [95% CI] | support | regex F1 |")
        print("|---|---|---|---|---|---|")
        for tag, row in block["reader"].items():
            if tag == "macro":
                continue
            rx = block["regex"].get(tag, {}).get("f1")
            print(f"| {tag} | {row['precision']:.2f} | {row['recall']:.2f} | {row['f1']:.2f} "
                  f"[{row['ci'][0]:.2f}, {row['ci'][1]:.2f}] | {row['support']} | "
                  f"{'' if rx is None else f'{rx:.2f}'} |")  # fmt: skip
        m = block["reader"]["macro"]
        print(f"| **macro** | | | {m['f1']:.2f} [{m['ci'][0]:.2f}, {m['ci'][1]:.2f}] | | "
              f"{block['regex']['macro']['f1']:.2f} |")  # fmt: skip
        if "reader_four" in block:
            m4 = block["reader_four"]["macro"]
            print(f"\nmacro over paraphrase/empathy/question/solution: {m4['f1']:.2f} "
                  f"[{m4['ci'][0]:.2f}, {m4['ci'][1]:.2f}]")  # fmt: skip
        if "reader_primary_only" in block:
            p = block["reader_primary_only"]
            per = ", ".join(f"{t} {p[t]['f1']:.2f}" for t in FOUR)
            print(f"\nthe reader's primary move alone: macro {p['macro']['f1']:.2f} "
                  f"[{p['macro']['ci'][0]:.2f}, {p['macro']['ci'][1]:.2f}] ({per})")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write every figure to this file")
    args = ap.parse_args(argv)
    report = run()
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
