"""Replay every labelled realism round with the code as it is now: how often anger moves
the way the blind labellers said, per round (seen data: the rounds played before were read
to find what to fix, so these are development figures; a round's own ``score`` of the lines
as played is its unseen figure).

    .venv/bin/python benchmarks/realism_replay.py                       # every labelled round
    .venv/bin/python benchmarks/realism_replay.py --rounds round9,round10 --errors
    .venv/bin/python benchmarks/realism_replay.py --learned             # + leave-one-round-out

``--learned`` asks whether a learned direction would do better than the anger model's own
step: a logistic regression over what the pipeline reads of each move (the step and its
reasons, the tone tags, the encoder's uptake, the meaning reader's moves), trained on all
rounds but one and scored on that one, for each round in turn. It is a measurement; nothing
it fits ships.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / "data" / "realism"
sys.path.insert(0, str(REPO / "benchmarks"))
from realism_eval import PUSHING, direction_of, read_jsonl  # noqa: E402

Move = dict[str, Any]


def labelled_rounds() -> list[Path]:
    """Every round with labels, round 1 (the folder itself) first."""
    found = [p for p in ROOT.glob("round*") if (p / "labels" / "moves.jsonl").exists()]
    found.sort(key=lambda p: int(p.name.removeprefix("round")))
    return ([ROOT] if (ROOT / "labels" / "moves.jsonl").exists() else []) + found


def replay(root: Path, work: Path) -> list[Move]:
    """Each labelled learner move of the round's scripts, played now: its label and what the
    pipeline read and did."""
    from customer_eval import run_call_authored

    calls = yaml.safe_load((root / "calls.yaml").read_text())["calls"]
    labels = {r["id"]: r for r in read_jsonl(root / "labels" / "moves.jsonl")}
    out: list[Move] = []
    for call in calls:
        result = run_call_authored(
            call["scenario"], call["turns"], work / call["id"], difficulty=call["difficulty"]
        )
        session = json.loads((Path(result.session) / "session.json").read_text())
        learner = [
            t for t in session["turns"] if t["speaker"] == "learner" and t.get("phase") == "call"
        ]
        for n, turn in enumerate(learner, start=1):
            label, anger = labels.get(f"{call['id']}/l{n}"), turn.get("anger")
            if label is None or anger is None:
                continue
            tone, meaning = turn.get("tone") or {}, turn.get("meaning") or {}
            out.append(
                {
                    "id": label["id"],
                    "round": "round1" if root == ROOT else root.name,
                    "difficulty": call["difficulty"],
                    "should": label["should"],
                    "kind": label.get("kind"),
                    "text": turn["text"],
                    "before": anger["before"],
                    "step": anger["after"] - anger["before"],
                    "reasons": anger.get("reasons") or [],
                    "tags": tone.get("tags") or {},
                    "uptake": tone.get("uptake") or {},
                    "moves": {**(meaning.get("learned") or {}), **(meaning.get("moves") or {})},
                    "neutral": meaning.get("neutral"),
                    "acts": meaning.get("acts") or 0.0,
                }
            )
    return out


def report(moves: list[Move], errors: bool) -> None:
    for name in dict.fromkeys(m["round"] for m in moves):
        mine = [m for m in moves if m["round"] == name]
        agree = sum(direction_of(m["step"]) == m["should"] for m in mine)
        fell = [m["id"] for m in mine if m["kind"] in PUSHING and m["step"] < -1]
        share = agree / len(mine)
        print(f"{name:10s} {agree:3d}/{len(mine):3d} = {share:.3f}  fell on a push: {fell}")
    agree = sum(direction_of(m["step"]) == m["should"] for m in moves)
    print(f"all        {agree}/{len(moves)} = {agree / len(moves):.3f}")
    confusion = Counter((m["should"], direction_of(m["step"])) for m in moves)
    print("  should -> machine:", {f"{a}->{b}": c for (a, b), c in sorted(confusion.items())})
    if errors:
        for m in moves:
            got = direction_of(m["step"])
            if got != m["should"]:
                print(f"  {m['id']:20s} {m['should']}->{got} {m['step']:+5.1f} [{m['kind']}] "
                      f"{m['text'][:90]!r}")  # fmt: skip


def learned_direction(moves: list[Move]) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    tags = sorted({t for m in moves for t in m["tags"]})
    kinds = sorted({k for m in moves for k in m["moves"]})
    causes = sorted({r["cause"].split(":")[0] for m in moves for r in m["reasons"]})

    def features(m: Move) -> list[float]:
        by_cause: Counter[str] = Counter()
        for r in m["reasons"]:
            by_cause[r["cause"].split(":")[0]] += r["delta"] / 10
        return [
            m["step"] / 10,
            m["before"] / 100,
            float(m["acts"]),
            *(m["uptake"].get(k, 0.0) for k in ("fall", "hold", "rise")),
            *(m["tags"].get(t, 0.0) for t in tags),
            *(m["moves"].get(k, 0.0) for k in kinds),
            *(by_cause[c] for c in causes),
            1.0 if m["neutral"] else 0.0,
            {"easy": 0.0, "standard": 0.5, "hard": 1.0}[m["difficulty"]],
        ]

    x = np.array([features(m) for m in moves])
    y = np.array([m["should"] for m in moves])
    rule = np.array([direction_of(m["step"]) for m in moves])
    rounds = np.array([m["round"] for m in moves])
    hits_rule = hits_learned = 0
    print("leave one round out: the anger model's step / a learned direction")
    for name in dict.fromkeys(rounds):
        test = rounds == name
        model = LogisticRegression(C=0.3, max_iter=3000).fit(x[~test], y[~test])
        got = model.predict(x[test])
        a, b = int((rule[test] == y[test]).sum()), int((got == y[test]).sum())
        hits_rule, hits_learned = hits_rule + a, hits_learned + b
        print(f"  {name:10s} n={int(test.sum()):3d}  step {a / test.sum():.3f}  "
              f"learned {b / test.sum():.3f}")  # fmt: skip
    print(f"  all          step {hits_rule / len(y):.3f}  learned {hits_learned / len(y):.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", help="comma-separated round folders (round1 is data/realism)")
    ap.add_argument("--errors", action="store_true", help="list every move it gets wrong")
    ap.add_argument(
        "--learned", action="store_true", help="also a learned direction, leave one round out"
    )
    ap.add_argument("--save", type=Path, help="write the replayed moves here (JSON lines)")
    args = ap.parse_args(argv)
    rounds = labelled_rounds()
    if args.rounds:
        wanted = {w.strip() for w in args.rounds.split(",")}
        rounds = [r for r in rounds if (r.name if r != ROOT else "round1") in wanted]
    if not rounds:
        print("no labelled realism rounds found under data/realism (or none of --rounds)")
        return 2
    moves: list[Move] = []
    with tempfile.TemporaryDirectory(prefix="calmline-replay-") as tmp:
        for root in rounds:
            print(f"replaying {root.relative_to(REPO)}…", file=sys.stderr, flush=True)
            moves += replay(root, Path(tmp))
    if args.save:
        args.save.write_text("".join(json.dumps(m) + "\n" for m in moves))
    report(moves, args.errors)
    if args.learned:
        learned_direction(moves)
    return 0


if __name__ == "__main__":
    sys.exit(main())
