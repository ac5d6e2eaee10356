"""Replay every labelled realism round with the code as it is now: how often anger moves
the way the blind labellers said, per round (seen data: the rounds played before were read
to find what to fix, so these are development figures; a round's own ``score`` of the lines
as played is its unseen figure).

    .venv/bin/python benchmarks/realism_replay.py                       # every labelled round
    .venv/bin/python benchmarks/realism_replay.py --rounds round9,round10 --errors
    .venv/bin/python benchmarks/realism_replay.py --rules               # rules alone

The shipped learned direction (``customer/direction.py``) was fitted on these rounds, so its
replay here is a training figure; ``benchmarks/train_direction.py`` prints the honest one
(each round scored by a model that never saw it).
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


class Recorder:
    """A learned direction that decides nothing and keeps the features the anger model
    gives it, one per learner turn: the training data of ``train_direction.py``, exactly
    as the product computes them."""

    sure = 2.0  # no probability reaches it

    def __init__(self) -> None:
        self.seen: list[dict[str, float]] = []

    def probabilities(self, named: Any) -> dict[str, float]:
        self.seen.append(dict(named))
        return {"fall": 1 / 3, "hold": 1 / 3, "rise": 1 / 3}


def replay(root: Path, work: Path, *, direction: Any = "shipped") -> list[Move]:
    """Each labelled learner move of the round's scripts, played now: its label (and the
    second labeller's, where there is one) and what the pipeline read and did.
    ``direction="record"``: played by the rules alone, each move with the direction model's
    features (``customer.direction.features``)."""
    from customer_eval import run_call_authored

    from calmline.customer.scenario import load_scenario

    calls = yaml.safe_load((root / "calls.yaml").read_text())["calls"]
    labels = {r["id"]: r for r in read_jsonl(root / "labels" / "moves.jsonl")}
    second_file = root / "labels" / "moves_second.jsonl"
    second = {r["id"]: r["should"] for r in read_jsonl(second_file)} if second_file.exists() else {}
    out: list[Move] = []
    for call in calls:
        recorder = Recorder() if direction == "record" else None
        result = run_call_authored(
            call["scenario"],
            call["turns"],
            work / call["id"],
            difficulty=call["difficulty"],
            direction=recorder or direction,
        )
        session = json.loads((Path(result.session) / "session.json").read_text())
        learner = [
            t for t in session["turns"] if t["speaker"] == "learner" and t.get("phase") == "call"
        ]
        stepped = [t for t in learner if t.get("anger") is not None]
        if recorder is not None and len(recorder.seen) != len(stepped):
            raise RuntimeError(f"{call['id']}: {len(recorder.seen)} features, {len(stepped)} steps")
        named = dict(zip((id(t) for t in stepped), recorder.seen, strict=True)) if recorder else {}
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
                    "sensitivity": load_scenario(call["scenario"]).persona.sensitivity,
                    "should": label["should"],
                    "second": second.get(label["id"]),
                    "features": named.get(id(turn)),
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", help="comma-separated round folders (round1 is data/realism)")
    ap.add_argument("--errors", action="store_true", help="list every move it gets wrong")
    ap.add_argument(
        "--rules", action="store_true", help="the anger model's rules alone (no learned direction)"
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
            moves += replay(root, Path(tmp), direction=None if args.rules else "shipped")
    if args.save:
        args.save.write_text("".join(json.dumps(m) + "\n" for m in moves))
    report(moves, args.errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
