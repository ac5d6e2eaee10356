"""The realism benchmark of the difficult customer: learner scripts by someone else, every
customer line and every learner move labelled blind by a third person.

    .venv/bin/python benchmarks/realism_eval.py run      # play the calls, write blind batches
    .venv/bin/python benchmarks/realism_eval.py score    # figures from the labels
    .venv/bin/python benchmarks/realism_eval.py score --json docs/realism_eval.json
    .venv/bin/python benchmarks/realism_eval.py --set data/realism/round2 run   # another set

Each set is played once, after the models it measures were last changed: its labels are
of the lines as played, so a set is never played again into its own folder.

Files under ``data/realism/`` (its README says who wrote and labelled what):
- ``calls.yaml``: the learner scripts (scenario, difficulty, 5-8 learner turns each), written
  by someone who wrote none of the packs and never saw calmline's code;
- ``runs.jsonl``: each call as played offline (the packs' authored lines, the real tone and
  meaning readers, no LLM), with every customer line, stage direction and anger step;
- ``labelling/lines.jsonl`` and ``labelling/moves.jsonl``: what the labeller sees (no
  anger figures, no machine notes);
- ``labels/lines.jsonl`` (``in_character``, ``answers``, ``contradicts_facts``) and
  ``labels/moves.jsonl`` (``should``: rise / hold / fall, ``kind``: what the move is);
  ``labels/moves_second.jsonl``, where a second labeller labelled the same moves apart: how
  far two people agree on the direction, the ceiling for any anger model.

Anger "moved" up or down when the turn's step is more than ``HOLD`` points; otherwise it held.
Each script is also replayed at the two other difficulties, to show whether difficulty
changes what the same learner gets.
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
sys.path.insert(0, str(REPO / "benchmarks"))  # customer_eval beside this script
HOLD = 1.0  # an anger step within +-1 point is "held"
PUSHING = ("brush_off", "policy_wall", "transfer", "repeat_failure", "calm_down", "blame")
DIFFICULTIES = ("easy", "standard", "hard")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _play(call: dict[str, Any], difficulty: str, work: Path) -> dict[str, Any]:
    from customer_eval import run_call_authored  # the same offline call as the pairs

    result = run_call_authored(
        call["scenario"], call["turns"], work / f"{call['id']}-{difficulty}", difficulty=difficulty
    )
    session = json.loads((Path(result.session) / "session.json").read_text())
    turns = [
        {
            "speaker": t["speaker"],
            "text": t["text"],
            "stage_direction": t.get("stage_direction"),
            "anger": t.get("anger"),
        }
        for t in session["turns"]
        if t.get("phase", "call") == "call"
    ]
    return {"outcome": result.outcome, "final_anger": result.final_anger, "turns": turns}


def run(root: Path) -> int:
    from calmline.customer.scenario import load_scenario

    calls = yaml.safe_load((root / "calls.yaml").read_text())["calls"]
    runs, lines, moves = [], [], []
    with tempfile.TemporaryDirectory(prefix="calmline-realism-") as tmp:
        for call in calls:
            played = _play(call, call["difficulty"], Path(tmp))
            others = {
                d: {k: v for k, v in _play(call, d, Path(tmp)).items() if k != "turns"}
                for d in DIFFICULTIES
                if d != call["difficulty"]
            }
            runs.append({**call, **played, "other_difficulties": others})
            elsewhere = "  ".join(
                f"{d} {o['outcome']} {o['final_anger']:.0f}" for d, o in others.items()
            )
            print(f"{call['id']:18s} {call['difficulty']:8s} {played['outcome']:14s} "
                  f"final anger {played['final_anger']:5.1f}  {elsewhere}", flush=True)  # fmt: skip
            pack = load_scenario(call["scenario"])
            situation = {
                "setting": pack.setting,
                "summary": pack.summary,
                "customer": f"{pack.persona.name}: {pack.persona.description}",
                "facts": pack.facts,
                "wants": pack.wants,
            }
            so_far: list[str] = []
            last_learner = ""
            n_line = n_move = 0
            for turn in played["turns"]:
                if turn["speaker"] == "customer":
                    n_line += 1
                    lines.append({
                        "id": f"{call['id']}/c{n_line}", "situation": situation,
                        "conversation": list(so_far), "learner_just_said": last_learner,
                        "customer_line": turn["text"],
                        "stage_direction": turn["stage_direction"],
                    })  # fmt: skip
                    so_far.append(f"CUSTOMER: {turn['text']}")
                elif turn["speaker"] == "learner":
                    n_move += 1
                    moves.append({
                        "id": f"{call['id']}/l{n_move}", "situation": situation,
                        "conversation": list(so_far), "learner_turn": turn["text"],
                    })  # fmt: skip
                    so_far.append(f"LEARNER: {turn['text']}")
                    last_learner = turn["text"]
    write_jsonl(root / "runs.jsonl", runs)
    write_jsonl(root / "labelling" / "lines.jsonl", lines)
    write_jsonl(root / "labelling" / "moves.jsonl", moves)
    print(f"{len(runs)} calls, {len(lines)} customer lines, {len(moves)} learner moves")
    return 0


def _steps(run: dict[str, Any]) -> dict[str, float]:
    """Learner move id -> its anger step (after - before)."""
    out, n = {}, 0
    for turn in run["turns"]:
        if turn["speaker"] == "learner":
            n += 1
            step = turn.get("anger")
            if step is not None:
                out[f"{run['id']}/l{n}"] = float(step["after"]) - float(step["before"])
    return out


def direction_of(delta: float) -> str:
    return "rise" if delta > HOLD else "fall" if delta < -HOLD else "hold"


def _kappa(pairs: list[tuple[str, str]]) -> float:
    """Cohen's kappa of two labellers' directions."""
    n = len(pairs)
    seen = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    chance = sum(first[k] * second[k] for k in first) / (n * n)
    return (seen - chance) / (1 - chance) if chance < 1 else 1.0


def _second_labeller(
    path: Path, first: dict[str, dict[str, Any]], steps: dict[str, float]
) -> dict[str, Any] | None:
    """How far two blind labellers agree on which way anger should go (the ceiling of any
    anger model measured against one of them), and the machine against each and both."""
    if not path.exists():
        return None
    other = {r["id"]: r for r in read_jsonl(path)}
    ids = [i for i in other if i in first and i in steps]
    if not ids:
        return None
    pairs = [(first[i]["should"], other[i]["should"]) for i in ids]
    both = [i for i in ids if first[i]["should"] == other[i]["should"]]
    return {
        "moves": len(ids),
        "labellers_agree": len(both),
        "kappa": round(_kappa(pairs), 3),
        "machine_agrees_second": sum(direction_of(steps[i]) == other[i]["should"] for i in ids),
        "machine_agrees_both": sum(direction_of(steps[i]) == first[i]["should"] for i in both),
        "confusion_first_vs_second": {
            f"{a}->{b}": c for (a, b), c in sorted(Counter(pairs).items())
        },
    }


def score(root: Path, json_out: Path | None) -> int:
    runs = read_jsonl(root / "runs.jsonl")
    line_labels = {r["id"]: r for r in read_jsonl(root / "labels" / "lines.jsonl")}
    move_labels = {r["id"]: r for r in read_jsonl(root / "labels" / "moves.jsonl")}
    n_lines = len(line_labels)
    in_char = sum(bool(r["in_character"]) for r in line_labels.values())
    answers = sum(bool(r["answers"]) for r in line_labels.values())
    both = sum(bool(r["in_character"]) and bool(r["answers"]) for r in line_labels.values())
    contradicts = [i for i, r in line_labels.items() if r["contradicts_facts"]]
    steps = {k: v for r in runs for k, v in _steps(r).items()}
    judged = [
        (i, lab["should"], direction_of(steps[i])) for i, lab in move_labels.items() if i in steps
    ]
    agree = sum(should == got for _, should, got in judged)
    confusion = Counter((should, got) for _, should, got in judged)
    pushing = [(i, steps[i]) for i, lab in move_labels.items()
               if lab.get("kind") in PUSHING and i in steps]  # fmt: skip
    fell_on_push = [i for i, d in pushing if d < -HOLD]
    repeats = 0
    for r in runs:
        seen = [t["stage_direction"] for t in r["turns"] if t["stage_direction"]]
        repeats += len(seen) - len(set(seen))
    by_difficulty = [
        {
            "id": r["id"],
            "played_at": r["difficulty"],
            "final_anger": round(r["final_anger"], 1),
            "outcome": r["outcome"],
            **{
                d: f"{o['outcome']} {o['final_anger']:.0f}"
                for d, o in r["other_difficulties"].items()
            },
        }
        for r in runs
    ]
    changed = sum(
        len({r["outcome"], *(o["outcome"] for o in r["other_difficulties"].values())}) > 1
        or max(abs(r["final_anger"] - o["final_anger"]) for o in r["other_difficulties"].values())
        > 5
        for r in runs
    )
    second = _second_labeller(root / "labels" / "moves_second.jsonl", move_labels, steps)
    report = {
        "calls": len(runs),
        "customer_lines": n_lines,
        "in_character": in_char,
        "answers_last_turn": answers,
        "in_character_and_answers": both,
        "contradicting_facts": contradicts,
        "learner_moves": len(judged),
        "anger_direction_agrees": agree,
        "confusion_should_vs_machine": {f"{a}->{b}": c for (a, b), c in sorted(confusion.items())},
        "pushing_moves": len(pushing),
        "anger_fell_on_pushing_move": fell_on_push,
        "stage_direction_repeats": repeats,
        "difficulty_changed_outcome_or_anger": changed,
        "by_difficulty": by_difficulty,
        **({"second_labeller": second} if second else {}),
    }
    pct = lambda a, b: f"{a}/{b} = {100 * a / b:.0f}%" if b else "n/a"  # noqa: E731
    print(f"calls {len(runs)}, customer lines {n_lines}, learner moves {len(judged)}")
    print(f"in character: {pct(in_char, n_lines)}; answers the learner's last turn: "
          f"{pct(answers, n_lines)}; both: {pct(both, n_lines)}")  # fmt: skip
    print(f"lines contradicting the facts: {len(contradicts)} {contradicts}")
    print(f"anger moves in the labelled direction: {pct(agree, len(judged))}")
    print("  should -> machine:", report["confusion_should_vs_machine"])
    print(f"pushing moves (brush-off, policy wall, transfer, repeat, calm down, blame): "
          f"{len(pushing)}; anger fell on {len(fell_on_push)} {fell_on_push}")  # fmt: skip
    print(f"stage directions repeated within a call: {repeats}")
    print(f"scripts whose outcome or final anger (>5) changes with difficulty: "
          f"{pct(changed, len(runs))}")  # fmt: skip
    if second:
        print(f"a second blind labeller on {second['moves']} moves: agrees with the first on "
              f"{pct(second['labellers_agree'], second['moves'])} (Cohen's kappa "
              f"{second['kappa']:.2f}); anger agrees with the second on "
              f"{pct(second['machine_agrees_second'], second['moves'])}, and where the two "
              f"labellers agree, with both on "
              f"{pct(second['machine_agrees_both'], second['labellers_agree'])}")  # fmt: skip
    for row in by_difficulty:
        print("  ", row)
    if json_out:
        json_out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("run", "score"))
    ap.add_argument("--json", type=Path, help="with score: write the figures here")
    ap.add_argument(
        "--set", type=Path, default=ROOT, metavar="DIR",
        help="the folder of calls.yaml, runs.jsonl, labelling/ and labels/ (default data/realism)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    if args.step == "run":
        if (args.set / "labels").exists():
            print(f"{args.set} is labelled already: its labels are of the lines as played, so "
                  "it is not played again (copy it elsewhere to replay it)")  # fmt: skip
            return 2
        return run(args.set)
    return score(args.set, args.json)


if __name__ == "__main__":
    sys.exit(main())
