"""A pool of raw customer lines from the bundled model, for labelling by hand.

For every scenario pack, the pack's own learner scripts (good and poor) are played
turn by turn against the real customer prompt (the same ``prompt.build_request`` the
call uses) at each anger band, and the model's raw reply is kept *without* the line
check: the pool is what the check and the role check are measured on, so it must
hold the bad lines as well as the good. Each line is written with its context (the
learner's last line, the band) and the verdict of the text check, which the labeller
must not see (``--blind`` writes a copy without it).

    .venv/bin/python benchmarks/line_pool.py --out data/customer_lines.jsonl
    .venv/bin/python benchmarks/line_pool.py --from data/customer_lines.jsonl \
        --out /tmp/blind.jsonl --blind

Labels live apart, in ``data/customer_line_labels.jsonl`` (``{"id", "in_character",
"why"}``), written by a person reading the blind file: would a real customer in this
situation, at this anger, say this line to the member of staff?
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from calmline.customer.character import Customer  # noqa: E402
from calmline.customer.generation import clean_generation  # noqa: E402
from calmline.customer.line_check import check_line  # noqa: E402
from calmline.customer.prompt import COMPLETION_STOPS, build_request  # noqa: E402
from calmline.customer.scenario import Scenario, line_words, list_scenarios  # noqa: E402
from calmline.models import Turn  # noqa: E402
from calmline.protocols import GenerationOptions  # noqa: E402
from calmline.text import sentences_and_rest  # noqa: E402

BANDS = ["calm", "irritated", "angry", "furious"]


def generate(
    seed: int, samples: int, temperature: float, max_words: int | None
) -> list[dict[str, object]]:
    from calmline.llm import load_chat_model

    model = load_chat_model("local")
    rows: list[dict[str, object]] = []
    for scenario in list_scenarios():
        customer = Customer(scenario, model, seed=seed)
        scripts = {"good": scenario.learner_script_good, "poor": scenario.learner_script_poor}
        for kind, script in scripts.items():
            history: list[Turn] = []
            for i, learner in enumerate(script):
                band = BANDS[(i + (kind == "poor")) % len(BANDS)]
                history.append(Turn(index=len(history), speaker="learner", text=learner))
                request = build_request(
                    scenario, customer.model.prompt_style, history, band, "steady", learner
                )
                for sample in range(samples):
                    options = GenerationOptions(
                        max_tokens=48,
                        temperature=temperature,
                        stop=list(COMPLETION_STOPS),
                        seed=seed + 101 * i + 13 * sample + (kind == "poor"),
                    )
                    raw = "".join(model.stream_complete(str(request), options))
                    text = clean_generation(raw)
                    if max_words is not None:
                        text = _cut(text, max_words)
                    rows.append(_row(scenario, history, band, kind, i, sample, text))
                # the call goes on with the pack's authored line for the band, as a
                # rejected line would, so the next prompt stays in character
                reply = customer.authored.next_band_line(band, scenario.lines.for_band(band))
                history.append(Turn(index=len(history), speaker="customer", text=reply))
    return rows


def _cut(text: str, max_words: int) -> str:
    """The whole sentences of ``text`` that fit in ``max_words``, as the customer speaks them."""
    sentences, rest = sentences_and_rest(text)
    kept: list[str] = []
    for sentence in [*sentences, rest]:
        if sentence.strip() and len(line_words(" ".join([*kept, sentence]))) > max_words:
            break
        if sentence.strip():
            kept.append(sentence)
    return " ".join(kept) if kept else text


def _row(
    scenario: Scenario, history: list[Turn], band: str, kind: str, i: int, sample: int, text: str
) -> dict[str, object]:
    learner = history[-1].text
    said = [scenario.opening_line, *(t.text for t in history)]
    earlier = [scenario.opening_line, *(t.text for t in history if t.speaker == "customer")]
    agent = [t.text for t in history if t.speaker == "learner"]
    problems = check_line(text, scenario, said, earlier=earlier, agent_lines=agent)
    row_id = f"{scenario.id}:{kind}:{i}:{sample}"
    print(f"{row_id:34} {band:9} {'ok ' if not problems else 'BAD'} {text}", flush=True)
    return {
        "id": row_id,
        "scenario": scenario.id,
        "persona": scenario.persona.name,
        "band": band,
        "learner": learner,
        "text": text,
        "text_check": problems,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--samples", type=int, default=2, help="replies per learner turn")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--max-words", type=int, help="keep the whole sentences that fit")
    parser.add_argument("--prefix", default="", help="prefix for the line ids")
    parser.add_argument("--blind", action="store_true", help="drop the check's verdict")
    parser.add_argument("--from", dest="source", type=Path, help="reuse an existing pool")
    args = parser.parse_args()
    os.environ.setdefault("CALMLINE_LLM_THREADS", "1")
    if args.source:
        rows = [json.loads(line) for line in args.source.read_text().splitlines() if line]
    else:
        rows = generate(args.seed, args.samples, args.temperature, args.max_words)
        for row in rows:
            row["id"] = args.prefix + str(row["id"])
    with args.out.open("w", encoding="utf-8") as out:
        for row in rows:
            if args.blind:
                row = {k: v for k, v in row.items() if k != "text_check"}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} lines -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
