"""Does the customer stay in character and on the facts? Two measurements.

**lines**: the pool of the bundled model's raw customer lines (``data/customer_lines.jsonl``,
made by ``benchmarks/line_pool.py``), each labelled by hand, blind to every check
(``data/customer_line_labels.jsonl``). For the text rules alone (``line_check``), the
role check alone and both: how many off-character lines each catches, how many
in-character lines it wrongly refuses, and, of the lines that get through, the share in
character. Two pools: A sampled as the customer did before (temperature 0.8, lines up to
30 words), B as it does now (0.6, cut to the whole sentences within 20 words). The role
check's threshold is its fit's own decision boundary (0), not tuned on these labels.

**calls**: the 15-turn learner script of every pack (``data/long_calls.yaml``) played
through the real CLI (``calmline practice --script``, bundled model in process), with
each chosen way of making lines (``--variants``: generated with the text rules only,
generated with the role check too, authored-first, the default for the bundled model). Per call: the
turns played, the outcome, where each customer line came from (first try, retry,
authored fallback, scripted), the rejections, and a facts audit of every customer line
(each number and date said must be in the pack's facts or already said in the call).
The spoken lines are written out (``--lines-out``) for labelling by hand the same way.

    .venv/bin/python benchmarks/character_eval.py lines
    .venv/bin/python benchmarks/character_eval.py calls \
        --variants generated-no-role-check,generated,authored-first \
        --json docs/character_eval.json --lines-out /tmp/long_call_lines.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from customer_eval import Backend, classify_turn, machine, run_call  # noqa: E402

from calmline.customer.line_check import check_line  # noqa: E402
from calmline.customer.scenario import Scenario, load_scenario  # noqa: E402

DATA = REPO / "data"
POOLS = {
    "A (temperature 0.8, up to 30 words)": (
        DATA / "customer_lines.jsonl",
        DATA / "customer_line_labels.jsonl",
    ),
    "B (temperature 0.6, cut to 20 words)": (
        DATA / "customer_lines_b.jsonl",
        DATA / "customer_line_labels_b.jsonl",
    ),
}
LONG_CALLS = REPO / "data" / "long_calls.yaml"
CALL_LABELS = REPO / "data" / "long_call_line_labels.jsonl"
CALL_LINES = REPO / "data" / "long_call_lines.jsonl"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


# ---------------------------------------------------------------------------- lines


@dataclass
class Confusion:
    """Rejections against the labels: positive = the line is out of character."""

    caught: int = 0  # out of character, rejected
    missed: int = 0  # out of character, passed
    refused: int = 0  # in character, rejected
    kept: int = 0  # in character, passed

    def add(self, rejected: bool, in_character: bool) -> None:
        if in_character:
            self.refused += rejected
            self.kept += not rejected
        else:
            self.caught += rejected
            self.missed += not rejected

    def row(self, name: str) -> str:
        off = self.caught + self.missed
        good = self.refused + self.kept
        through = self.kept + self.missed
        return (
            f"| {name} | {self.caught}/{off} = {_pct(self.caught, off)} "
            f"| {self.refused}/{good} = {_pct(self.refused, good)} "
            f"| {self.kept}/{through} = {_pct(self.kept, through)} |"
        )


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f}%" if b else "-"


def eval_lines() -> dict[str, Any]:
    from calmline.customer.role_check import default_role_check

    check = default_role_check()
    out: dict[str, Any] = {}
    for name, (pool, label_file) in POOLS.items():
        rows = _jsonl(pool)
        labels = {r["id"]: r for r in _jsonl(label_file)}
        missing = [r["id"] for r in rows if r["id"] not in labels]
        if missing:
            raise SystemExit(f"{len(missing)} lines of {pool} have no label, e.g. {missing[0]}")
        verdicts = check.verdicts([r["text"] or "." for r in rows])
        tables = {"text rules": Confusion(), "role check": Confusion(), "both": Confusion()}
        for row, verdict in zip(rows, verdicts, strict=True):
            good = bool(labels[row["id"]]["in_character"])
            text_bad = bool(row["text_check"])
            role_bad = bool(verdict.problems(row["band"]))
            tables["text rules"].add(text_bad, good)
            tables["role check"].add(role_bad, good)
            tables["both"].add(text_bad or role_bad, good)
        why = Counter(labels[r["id"]]["why"] for r in rows)
        good = why["ok"]
        out[name] = {
            "lines": len(rows),
            "why": dict(why),
            "tables": {k: vars(v) for k, v in tables.items()},
        }
        print(f"\npool {name}: {len(rows)} lines, {good} in character ({_pct(good, len(rows))})")
        print("labels: " + ", ".join(f"{k} {v}" for k, v in why.most_common()))
        print(
            "| check | off-character lines caught | in-character lines refused "
            "| lines let through that are in character |"
        )
        print("|---|---:|---:|---:|")
        for check_name, table in tables.items():
            print(table.row(check_name))
    return out


# ---------------------------------------------------------------------------- calls


def facts_audit(turns: list[dict[str, Any]], scenario: Scenario) -> list[str]:
    """Customer lines that say a number or date neither in the facts nor said before.

    The hidden details count as facts: they are the customer's own, said when asked.
    """
    said: list[str] = [d.detail for d in scenario.hidden_details]
    bad = []
    for turn in turns:
        if turn["speaker"] == "customer":
            problems = [
                p
                for p in check_line(turn["text"], scenario, said)
                if p.startswith(("number not in the facts", "date not in the facts"))
            ]
            if problems:
                bad.append(f"{turn['text']} ({'; '.join(problems)})")
        said.append(turn["text"])
    return bad


def _kind(turn: dict[str, Any]) -> str:
    """llm, retry, fallback, reply (the pack's reply to the move), answer, scripted."""
    notes = turn.get("notes") or []
    if turn.get("source") == "authored" and any(n.startswith("authored reply") for n in notes):
        return "reply"
    if turn.get("source") == "authored" and any(n.startswith("answer:") for n in notes):
        return "answer"
    return classify_turn({"source": turn.get("source"), "notes": notes})


def _repeats(lines: list[dict[str, Any]]) -> int:
    """Customer lines said word for word earlier in the same call."""
    seen: set[str] = set()
    count = 0
    for line in lines:
        key = line["text"].strip().lower()
        count += key in seen
        seen.add(key)
    return count


def _spoken_lines(turns: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """Each customer line with the learner line before it and the band it was said at."""
    out = []
    before: dict[str, Any] = {}
    for turn in turns:
        if turn["speaker"] == "customer":
            out.append(
                {
                    "id": f"{prefix}:{len(out)}",
                    "band": (before.get("anger") or {}).get("band"),
                    "learner": before.get("text", ""),
                    "text": turn["text"],
                    "kind": _kind(turn),
                }
            )
        before = turn
    return out


@dataclass(frozen=True)
class Variant:
    """One way of making the customer's lines."""

    label: str
    lines: str  # --lines
    role_check: bool


VARIANTS = {
    "generated-no-role-check": Variant("generated, text rules only", "generated", False),
    "generated": Variant("generated, text rules + role check", "generated", True),
    "authored-first": Variant("authored-first + role check (default)", "authored-first", True),
    "authored": Variant("authored only (no model)", "authored", True),
}


def play_calls(variant: Variant, work: Path) -> list[dict[str, Any]]:
    calls = yaml.safe_load(LONG_CALLS.read_text(encoding="utf-8"))["calls"]
    os.environ["CALMLINE_ROLE_CHECK"] = "1" if variant.role_check else "0"
    label = variant.lines + ("" if variant.role_check else "-norole")
    backend = Backend("local", ("--lines", variant.lines))
    results = []
    for spec in calls:
        scenario = load_scenario(spec["scenario"])
        print(f"[{label}] {scenario.id}: {len(spec['turns'])} turns", flush=True)
        result = run_call(scenario.id, spec["turns"], backend, work / label / scenario.id)
        session = json.loads((Path(result.session) / "session.json").read_text("utf-8"))
        turns = [t for t in session["turns"] if t.get("phase", "call") == "call"]
        customer = [t for t in turns if t["speaker"] == "customer"]
        kinds = Counter(_kind(t) for t in customer[1:])
        rejections = Counter(
            problem.split(":")[0].split(" (")[0].strip()
            for t in customer
            for note in t.get("notes") or []
            if "line rejected" in note
            for problem in note.split("(", 1)[-1].rstrip(")").split("; ")
        )
        results.append(
            {
                "scenario": scenario.id,
                "learner_turns": result.learner_turns,
                "outcome": result.outcome,
                "sources": dict(kinds),
                "rejections": dict(rejections),
                "facts_audit": facts_audit(turns, scenario),
                "customer_lines": _spoken_lines(turns, f"{label}:{scenario.id}"),
            }
        )
        print(f"    outcome {result.outcome}, sources {dict(kinds)}", flush=True)
    return results


def calls_table(results: dict[str, list[dict[str, Any]]]) -> None:
    labels = {r["id"]: r for r in _jsonl(CALL_LABELS)} if CALL_LABELS.exists() else {}
    print(
        "| lines | calls | learner turns | customer lines | model, first try | model, retry "
        "| authored fallback | authored reply to the move | authored answer | scripted "
        "| said twice "
        "| facts audit failures | in character (hand-labelled, blind) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, calls in results.items():
        kinds: Counter[str] = Counter()
        for call in calls:
            kinds.update(call["sources"])
        lines = [line for call in calls for line in call["customer_lines"]]
        judged = [labels[line["id"]] for line in lines if line["id"] in labels]
        good = sum(bool(j["in_character"]) for j in judged)
        turns = sum(c["learner_turns"] for c in calls)
        audit = sum(len(c["facts_audit"]) for c in calls)
        print(
            f"| {label} | {len(calls)} | {turns} | {len(lines)} | {kinds['llm']} "
            f"| {kinds['retry']} | {kinds['fallback']} | {kinds['reply']} | {kinds['answer']} "
            f"| {kinds['scripted']} "
            f"| {sum(_repeats(c['customer_lines']) for c in calls)} | {audit} | "
            f"{good}/{len(judged)} = {_pct(good, len(judged))} |"
        )
    if labels:
        print("\nin character by where the line came from (hand-labelled, blind):")
        for label, calls in results.items():
            lines = [line for call in calls for line in call["customer_lines"]]
            parts = []
            for name, kinds_ in (("model", {"llm", "retry"}), ("authored", None)):
                chosen = [
                    labels[x["id"]]
                    for x in lines
                    if x["id"] in labels
                    and ((x["kind"] in kinds_) if kinds_ else x["kind"] not in {"llm", "retry"})
                ]
                good = sum(bool(j["in_character"]) for j in chosen)
                parts.append(f"{name} {good}/{len(chosen)} = {_pct(good, len(chosen))}")
            print(f"- {label}: " + "; ".join(parts))
    for label, calls in results.items():
        total: Counter[str] = Counter()
        for call in calls:
            total.update(call["rejections"])
        print(f"\n{label} rejections: " + ", ".join(f"{k} {v}" for k, v in total.most_common()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("lines", help="the checks against the hand-labelled pool")
    calls = sub.add_parser("calls", help="8 calls of 15 turns through the real CLI")
    calls.add_argument(
        "--variants",
        default="authored-first",
        help=f"comma-separated, of: {', '.join(VARIANTS)}",
    )
    calls.add_argument("--json", type=Path, help="write every figure here")
    calls.add_argument("--from-json", type=Path, help="print the tables of an earlier run")
    calls.add_argument("--lines-out", type=Path, help="spoken customer lines, for labelling")
    args = parser.parse_args(argv)
    if args.what == "lines":
        eval_lines()
        return 0
    if args.from_json:
        data = json.loads(args.from_json.read_text(encoding="utf-8"))
        calls_table(data["results"])
        return 0
    meta = {"machine_before": machine()}
    with tempfile.TemporaryDirectory(prefix="calmline-character-") as tmp:
        results = {}
        for name in args.variants.split(","):
            variant = VARIANTS[name.strip()]
            results[variant.label] = play_calls(variant, Path(tmp))
    meta["machine_after"] = machine()
    calls_table(results)
    if args.json:
        args.json.write_text(json.dumps({**meta, "results": results}, indent=1) + "\n", "utf-8")
    if args.lines_out:
        with args.lines_out.open("w", encoding="utf-8") as out:
            for calls_ in results.values():
                for call in calls_:
                    for line in call["customer_lines"]:
                        out.write(json.dumps({"scenario": call["scenario"], **line}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
