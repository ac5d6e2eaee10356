"""Does one learner turn move an upset customer's anger the way people say it would?

    .venv/bin/python benchmarks/anger_direction.py                 # dev
    .venv/bin/python benchmarks/anger_direction.py --split test    # the frozen test split
    .venv/bin/python benchmarks/anger_direction.py --split test --json docs/anger_direction.json

Items: the round-3 customer-service turns of ``data/tone/items.jsonl`` (written by
writer_f and writer_g; labelled by labeller_7 and labeller_8, who did not write them, with
``direction``: would an upset customer's anger rise, hold or fall on hearing the turn).
Each turn is read as in a call (the tone reader and the meaning reader with the customer's
line as the call so far) and stepped through the real anger model from anger 60 (angry)
for a customer with a baseline of 30, on a pack with no pack-specific answers or repeat
phrases, so only the turn's own words count. A step of more than 1 point either way is a
rise or a fall, as in ``realism_eval.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calmline.models import AngerStep

REPO = Path(__file__).resolve().parents[1]
ITEMS = REPO / "data" / "tone" / "items.jsonl"
START = 60.0
HOLD = 1.0


def generic_scenario():
    from calmline.customer.scenario import load_scenario

    pack = load_scenario("late-parcel")
    persona = pack.persona.model_copy(
        update={"baseline_anger": 30.0, "start_anger": START, "sensitivity": 1.0,
                "aggression": "reactive"}
    )  # fmt: skip
    return pack.model_copy(
        update={"persona": persona, "answers": [], "repeat_failure_phrases": [], "triggers": []}
    )


def steps(split: str, direction: Any = None) -> list[tuple[dict[str, Any], AngerStep]]:
    """Each labelled turn of one split and its anger step from anger 60 (``direction``: the
    anger model's learned direction, or None for its rules alone)."""
    from calmline.customer.anger import step
    from calmline.customer.meaning import load_meaning_reader
    from calmline.models import AngerState
    from calmline.tone.reader import ToneInput, load_tone_reader

    rows = [json.loads(x) for x in ITEMS.read_text().splitlines() if x.strip()]
    rows = [r for r in rows if r["split"] == split and r.get("direction")]
    scenario = generic_scenario()
    tone = load_tone_reader()
    meanings = load_meaning_reader()
    readings = tone.read_batch([ToneInput(r["text"], r["context"]) for r in rows])
    out = []
    for r, reading in zip(rows, readings, strict=True):
        meaning = meanings.read(r["text"], scenario, [r["context"]])
        _, s = step(
            AngerState(anger=START), reading, scenario.persona,
            resolution_offered=False, repeated_failure=False, meaning=meaning,
            direction=direction,
        )  # fmt: skip
        out.append((r, s))
    return out


def run(split: str, learned: bool = True) -> dict:
    from calmline.customer.direction import load_direction_model
    from calmline.evaluate.agreement import bootstrap

    pairs = []
    for r, s in steps(split, load_direction_model() if learned else None):
        delta = s.after - s.before
        got = "rise" if delta > HOLD else "fall" if delta < -HOLD else "hold"
        pairs.append((r["direction"], got))
    est = bootstrap(pairs, lambda p: sum(a == b for a, b in p) / max(len(p), 1), rounds=500)
    confusion = Counter(f"{a}->{b}" for a, b in pairs)
    rises = [p for p in pairs if p[0] == "rise"]
    report = {
        "split": split,
        "learned_direction": learned,
        "items": len(pairs),
        "agrees": round(est.value, 3),
        "ci": [round(est.low, 3), round(est.high, 3)],
        "confusion_should_vs_machine": dict(sorted(confusion.items())),
        "fell_on_rise": sum(b == "fall" for _, b in rises),
        "rise_items": len(rises),
    }
    print(f"{split}: {len(pairs)} turns; anger moves the labelled way on "
          f"{est.value:.2f} [{est.low:.2f}, {est.high:.2f}]")  # fmt: skip
    print("  should -> machine:", report["confusion_should_vs_machine"])
    print(f"  anger fell on {report['fell_on_rise']} of {len(rises)} turns labelled rise")
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("dev", "test"), default="dev")
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--rules", action="store_true", help="the anger model's rules alone (no learned direction)"
    )
    args = ap.parse_args(argv)
    report = run(args.split, learned=not args.rules)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
