"""The difficult customer, measured: does good handling end calmer, and does the LLM stay in line?

Every pair in ``data/anger_pairs.yaml`` and ``data/anger/new_pairs.yaml`` (and, unless
``--no-pack-pairs``, each scenario pack's own ``learner_script_good`` /
``learner_script_poor``) is played twice through the real CLI (``calmline practice
--script ... --json``) in a subprocess: the real tone reader, anger model and customer,
with the bundled LLM in process (``local``) and/or the same GGUF served by llama.cpp's
OpenAI-compatible server on loopback (``served``; the client then uses the chat code path
any capable endpoint would). Each call's ``session.json`` is read back for the final
anger, the outcome and every customer turn's ``source`` and ``notes``.

``--lines authored`` is the fast mode: no LLM at all, the pack speaks (the offline
default), and every call runs in this process through the same ``PracticeCall`` the CLI
uses, with the real tone reader and MiniLM loaded once and a silent speaker: all pairs
in about a minute instead of a subprocess (and model load) per call.

Figures:

- pair-win rate: share of pairs whose good script ends with the lower final anger
  (a tie is a loss);
- line-check pass share: of the generation attempts (first try and retry), the share
  whose line passed ``line_check`` (a line cut short at a later failing sentence counts
  as passed: its first sentences were spoken);
- fallback rate: of the customer turns after the opening that went to the model, the
  share that ended as an authored line (both attempts rejected, or the model failed).
  Scripted turns (hidden-detail reveals, the satisfied / manager / hang-up lines) never
  go to the model and are counted apart.

CALMLINE_LLM_THREADS=1 is set for every call and the server gets ``--n_threads 1``: on a
shared 2-core machine llama.cpp with 2 threads slows badly under contention.

    .venv/bin/python benchmarks/customer_eval.py --backend both --json docs/customer_eval.json
    .venv/bin/python benchmarks/customer_eval.py --backend local --pairs parcel-plain-asr
    .venv/bin/python benchmarks/customer_eval.py --lines authored \
        --json docs/customer_eval_authored.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
PAIRS_FILE = REPO / "data" / "anger_pairs.yaml"
# Written by a helper apart from the anger model's tuner and judged blind by another
# (data/anger/new_pairs_judgement.jsonl: the judge agreed with the writer's good side 24/24).
NEW_PAIRS_FILE = REPO / "data" / "anger" / "new_pairs.yaml"
PAIRS_FILES = (PAIRS_FILE, NEW_PAIRS_FILE)
SCENARIOS_DIR = REPO / "prompts" / "scenarios"
VENV_BIN = Path(sys.executable).parent
CALMLINE = VENV_BIN / "calmline"
SEED = 7
CALL_TIMEOUT_S = 600
SERVER_START_TIMEOUT_S = 180


# ---------------------------------------------------------------------- data


@dataclass(frozen=True)
class Pair:
    id: str
    scenario: str
    kind: str
    good: list[str]
    poor: list[str]
    note: str = ""
    contrast: str = ""
    file: str = ""  # where the pair was written (``pack`` for the packs' own scripts)


@dataclass
class CallResult:
    script: str  # good | poor
    final_anger: float
    start_anger: float
    outcome: str
    session: str
    learner_turns: int
    customer_turns: list[dict[str, Any]] = field(default_factory=list)
    angers: list[float] = field(default_factory=list)  # after each learner turn
    listening: dict[str, int] = field(default_factory=dict)  # see ``listening``


@dataclass
class PairResult:
    pair: str
    scenario: str
    kind: str
    backend: str
    good: CallResult
    poor: CallResult
    file: str = ""

    @property
    def won(self) -> bool:
        return self.good.final_anger < self.poor.final_anger


def load_pairs(
    paths: Path | tuple[Path, ...] = PAIRS_FILES, *, pack_pairs: bool = True
) -> list[Pair]:
    """The authored pairs of each file, then (optionally) one pair per scenario pack."""
    pairs: list[Pair] = []
    for path in (paths,) if isinstance(paths, Path) else paths:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        pairs += [
            Pair(
                id=p["id"],
                scenario=p["scenario"],
                kind=p["kind"],
                good=list(p["good"]),
                poor=list(p["poor"]),
                note=" ".join(str(p.get("note", "")).split()),
                contrast=p.get("contrast", ""),
                file=str(path.relative_to(REPO)),
            )
            for p in raw["pairs"]
        ]
    if pack_pairs:
        for file in sorted(SCENARIOS_DIR.glob("*.yaml")):
            pack = yaml.safe_load(file.read_text(encoding="utf-8"))
            pairs.append(
                Pair(
                    id=f"pack:{pack['id']}",
                    scenario=pack["id"],
                    kind="pack",
                    good=list(pack["learner_script_good"]),
                    poor=list(pack["learner_script_poor"]),
                    note="the pack's own learner_script_good / learner_script_poor",
                    file="pack",
                )
            )
    return pairs


# ---------------------------------------------------------------------- backends


@dataclass(frozen=True)
class Backend:
    """How the customer's LLM is reached: ``local`` or an OpenAI-compatible ``served`` URL."""

    label: str
    cli_args: tuple[str, ...] = ()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["CALMLINE_LLM_THREADS"] = "1"
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def llama_server(model: str, log_dir: Path) -> Iterator[Backend]:
    """Start ``calmline.llm.llama_server`` on loopback, yield its backend, always stop it."""
    port = _free_port()
    log = (log_dir / f"llama_server-{model}.log").open("wb")
    cmd = [
        str(VENV_BIN / "python"),
        "-m",
        "calmline.llm.llama_server",
        "--model",
        model,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_threads",
        "1",
        "--n_threads_batch",
        "1",
        "--n_ctx",
        "4096",
    ]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=_env())
    base = f"http://127.0.0.1:{port}/v1"
    try:
        name = _wait_for_models(base, proc)
        yield Backend(
            label=f"served:{model}",
            cli_args=("--llm", "openai", "--base-url", base, "--api-key", "none", "--model", name),
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        log.close()


def _wait_for_models(base: str, proc: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama server exited with {proc.returncode}; see its log")
        try:
            with urllib.request.urlopen(f"{base}/models", timeout=5) as resp:
                data = json.load(resp)
            return str(data["data"][0]["id"])
        except OSError:
            time.sleep(1.0)
    raise RuntimeError(f"llama server at {base} did not answer within {SERVER_START_TIMEOUT_S}s")


# ---------------------------------------------------------------------- running calls


def run_call(
    scenario: str, lines: list[str], backend: Backend, out: Path, *, seed: int = SEED
) -> CallResult:
    """One practice call through the real CLI; returns what its session.json records."""
    out.mkdir(parents=True, exist_ok=True)
    script = out / "script.txt"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cmd = [
        str(CALMLINE),
        "practice",
        "--script",
        str(script),
        "--scenario",
        scenario,
        "--no-speak",
        "--no-debrief",
        "--no-assess",
        "--json",
        "--out",
        str(out),
        "--seed",
        str(seed),
        "--max-turns",
        str(max(12, len(lines))),
        *backend.cli_args,
    ]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=_env(), timeout=CALL_TIMEOUT_S, check=False
    )
    summary = _last_json(proc.stdout)
    if proc.returncode != 0 or summary is None:
        raise RuntimeError(
            f"calmline practice failed ({proc.returncode}) for {scenario}:\n{proc.stderr[-2000:]}"
        )
    session = json.loads((Path(summary["session"]) / "session.json").read_text("utf-8"))
    customer = [t for t in session["turns"] if t["speaker"] == "customer"]
    return CallResult(
        script=out.name,
        final_anger=float(session["final_anger"]),
        start_anger=float(session["start_anger"]),
        outcome=str(session.get("outcome") or summary.get("outcome")),
        session=str(summary["session"]),
        learner_turns=sum(1 for t in session["turns"] if t["speaker"] == "learner"),
        customer_turns=[
            {"text": t["text"], "source": t.get("source"), "notes": list(t.get("notes") or [])}
            for t in customer
        ],
        listening=listening(session),
    )


PUSHING_MOVES = (
    "brush_off",
    "transfer",
    "policy_wall",
    "refusal",
    "repeats_failure",
    "reasks_given",
)


def listening(session: dict[str, Any]) -> dict[str, int]:
    """Counts of the issue's symptoms in one saved call (``session.json`` as a dict).

    - ``pushing_turns`` / ``pushing_lowered``: learner turns that brush off, wall, refuse,
      send elsewhere, repeat the failure or re-ask (by the turn's meaning) with no
      concrete action, and how many of them lowered anger;
    - ``empty_again`` / ``empty_again_lowered``: second and later turns in a row of
      apology or empathy with no action, question or paraphrase, and how many lowered it;
    - ``asks_given``: customer lines asking for something the learner had told them;
    - ``direction_repeats``, ``line_repeats``: stage directions and customer lines said
      twice in the call.
    """
    from calmline.customer.meaning import asks_for

    out = dict.fromkeys(
        (
            "pushing_turns", "pushing_lowered", "empty_again", "empty_again_lowered",
            "asks_given", "direction_repeats", "line_repeats",
        ),
        0,
    )  # fmt: skip
    given: set[str] = set()
    empty_run = 0
    directions: list[str] = []
    lines: list[str] = []
    for turn in session["turns"]:
        if turn.get("phase", "call") != "call":
            continue
        if turn["speaker"] == "customer":
            if turn.get("stage_direction"):
                directions.append(turn["stage_direction"])
            lines.append(turn["text"].strip().lower())
            out["asks_given"] += bool(asks_for(turn["text"]) & given)
            continue
        moves = (turn.get("meaning") or {}).get("moves") or {}
        tags = (turn.get("tone") or {}).get("tags") or {}
        step = turn.get("anger") or {}
        lowered = step.get("after", 0.0) < step.get("before", 0.0)
        concrete = moves.get("concrete_action", 0.0) >= 0.5
        if moves.get("repeats_failure", 0.0) >= 0.5:
            given.clear()
        given |= set((turn.get("meaning") or {}).get("gives") or [])
        if not concrete and any(moves.get(m, 0.0) >= 0.5 for m in PUSHING_MOVES):
            out["pushing_turns"] += 1
            out["pushing_lowered"] += lowered
        progress = concrete or any(
            tags.get(t, 0.0) >= 0.5 for t in ("question", "paraphrase", "summary", "solution")
        )
        feelings = any(tags.get(t, 0.0) >= 0.3 for t in ("apology", "empathy"))
        empty_run = 0 if progress or not feelings else empty_run + 1
        if empty_run >= 2:
            out["empty_again"] += 1
            out["empty_again_lowered"] += lowered
    out["direction_repeats"] = len(directions) - len(set(directions))
    out["line_repeats"] = len(lines) - len(set(lines))
    return out


def _last_json(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return dict(json.loads(line))
            except json.JSONDecodeError:
                continue
    return None


class AblatedTone:
    """The real tone reader with its tags blanked (``none``) or each moved by up to 0.3
    (``jitter``, seeded by the text): how much do the results lean on the tone reader?"""

    def __init__(self, inner: Any, mode: str) -> None:
        self.inner, self.mode = inner, mode

    def read(self, text: str, context: str | None = None, voice: Any = None) -> Any:
        import random
        import zlib

        from calmline.models import ToneReading

        reading = self.inner.read(text, context=context, voice=voice)
        if self.mode == "none":
            return ToneReading(voice=reading.voice)
        rnd = random.Random(zlib.crc32(text.encode("utf-8")))
        tags = {k: min(1.0, max(0.0, v + rnd.uniform(-0.3, 0.3))) for k, v in reading.tags.items()}
        return reading.model_copy(update={"tags": tags})


TONE_MODE = "reader"  # --tone: reader, none or jitter (authored mode only)


def run_call_authored(
    scenario: str,
    lines: list[str],
    out: Path,
    *,
    difficulty: str | None = None,
    direction: Any = "shipped",
) -> CallResult:
    """One call in this process with the pack's lines (no LLM): what ``calmline practice
    --lines authored --no-speak`` does, minus the model load and the subprocess.
    ``direction``: the shipped learned direction of the anger model, None for its rules
    alone, or another ``DirectionJudge`` (the training script's recorder)."""
    from rich.console import Console

    from calmline.call.inputs import ScriptInput
    from calmline.call.practice import Collaborators, PracticeCall, PracticeOptions
    from calmline.call.view import CallView
    from calmline.customer.character import Customer, CustomerOptions
    from calmline.customer.direction import load_direction_model
    from calmline.customer.meaning import load_meaning_reader
    from calmline.customer.scenario import load_scenario
    from calmline.testing.fake_llm import FakeChatModel
    from calmline.testing.fakes import FakeSpeaker
    from calmline.tone.reader import load_tone_reader

    pack = load_scenario(scenario)
    if difficulty is not None:
        pack = pack.model_copy(update={"difficulty": difficulty})
    out.mkdir(parents=True, exist_ok=True)
    parts = Collaborators(
        # the customer never asks the model with authored lines; the fake proves it by failing
        customer=Customer(
            pack,
            FakeChatModel(),
            CustomerOptions(lines="authored"),
            seed=SEED,
            meanings=load_meaning_reader(),
            direction=load_direction_model() if direction == "shipped" else direction,
        ),
        tone=load_tone_reader()
        if TONE_MODE == "reader"
        else AblatedTone(load_tone_reader(), TONE_MODE),  # type: ignore[arg-type]
        speaker=FakeSpeaker(),
    )
    with (out / "view.txt").open("w", encoding="utf-8") as sink:
        view = CallView(console=Console(file=sink, width=120))
        options = PracticeOptions(
            out=out, max_turns=max(12, len(lines)), debrief=False, assess=False
        )
        result = PracticeCall(pack, parts, ScriptInput(lines), options, view).run()
    record = result.record
    return CallResult(
        script=out.name,
        final_anger=float(record.final_anger or 0.0),
        start_anger=float(record.start_anger),
        outcome=str(record.outcome),
        session=str(result.folder),
        learner_turns=len(record.learner_turns("call")),
        customer_turns=[
            {
                "text": t.text,
                "source": t.source,
                "notes": list(t.notes),
                "stage_direction": t.stage_direction,
            }
            for t in record.turns
            if t.speaker == "customer"
        ],
        angers=[t.anger.after for t in record.turns if t.anger is not None],
        listening=listening(record.model_dump(mode="json")),
    )


def run_pair(pair: Pair, backend: Backend, work: Path) -> PairResult:
    folder = work / backend.label.replace(":", "_") / pair.id.replace(":", "_")
    if backend.label == "authored":
        good = run_call_authored(pair.scenario, pair.good, folder / "good")
        poor = run_call_authored(pair.scenario, pair.poor, folder / "poor")
    else:
        good = run_call(pair.scenario, pair.good, backend, folder / "good")
        poor = run_call(pair.scenario, pair.poor, backend, folder / "poor")
    return PairResult(pair.id, pair.scenario, pair.kind, backend.label, good, poor, pair.file)


# ---------------------------------------------------------------------- line statistics


def classify_turn(turn: dict[str, Any]) -> str:
    """``scripted`` (never went to the model), ``llm``, ``retry`` or ``fallback``."""
    notes = turn["notes"]
    if turn["source"] in ("llm", "retry"):
        return str(turn["source"])
    if any("rejected" in n or "model error" in n for n in notes):
        return "fallback"
    return "scripted"


@dataclass
class LineStats:
    generated_turns: int = 0  # customer turns after the opening that went to the model
    first_try: int = 0
    retry: int = 0
    fallback: int = 0
    scripted: int = 0
    truncated: int = 0
    attempts: int = 0
    passed: int = 0
    rejections: dict[str, int] = field(default_factory=dict)

    def add(self, turns: list[dict[str, Any]]) -> None:
        for turn in turns[1:]:  # the opening line is authored by design
            kind = classify_turn(turn)
            if kind == "scripted":
                self.scripted += 1
                continue
            self.generated_turns += 1
            rejected = [n for n in turn["notes"] if "line rejected" in n]
            errors = [n for n in turn["notes"] if "model error" in n]
            self.truncated += sum("line truncated" in n for n in turn["notes"])
            self.attempts += len(rejected) + len(errors) + (kind != "fallback")
            self.passed += kind != "fallback"
            self.first_try += kind == "llm"
            self.retry += kind == "retry"
            self.fallback += kind == "fallback"
            for note in rejected:
                for problem in note.split("(", 1)[-1].rstrip(")").split("; "):
                    key = problem.split(":")[0].split(" (")[0].strip()
                    self.rejections[key] = self.rejections.get(key, 0) + 1
            for _ in errors:
                self.rejections["model error"] = self.rejections.get("model error", 0) + 1

    @property
    def pass_share(self) -> float:
        return self.passed / self.attempts if self.attempts else float("nan")

    @property
    def whole_line_share(self) -> float:
        """Attempts whose whole line passed (a line cut short at a later sentence does not)."""
        return (self.passed - self.truncated) / self.attempts if self.attempts else float("nan")

    @property
    def fallback_rate(self) -> float:
        return self.fallback / self.generated_turns if self.generated_turns else float("nan")

    @property
    def first_try_share(self) -> float:
        return self.first_try / self.generated_turns if self.generated_turns else float("nan")


def line_stats(results: list[PairResult]) -> LineStats:
    stats = LineStats()
    for r in results:
        stats.add(r.good.customer_turns)
        stats.add(r.poor.customer_turns)
    return stats


# ---------------------------------------------------------------------- reporting


def pair_table(results: list[PairResult]) -> str:
    rows = [
        "| pair | scenario | kind | good final | poor final | margin "
        "| outcome (good / poor) | result |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for r in results:
        rows.append(
            f"| {r.pair} | {r.scenario} | {r.kind} | {r.good.final_anger:.1f} | "
            f"{r.poor.final_anger:.1f} | {r.poor.final_anger - r.good.final_anger:+.1f} | "
            f"{r.good.outcome} / {r.poor.outcome} | {'pass' if r.won else 'FAIL'} |"
        )
    return "\n".join(rows)


def stats_table(by_backend: dict[str, LineStats]) -> str:
    rows = [
        "| backend | model turns | first try passed | retry passed | fallback (authored) "
        "| line-check pass share | whole line passed | fallback rate | truncated "
        "| scripted turns |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, s in by_backend.items():
        rows.append(
            f"| {label} | {s.generated_turns} | {s.first_try} | {s.retry} | {s.fallback} | "
            f"{s.passed}/{s.attempts} = {s.pass_share:.0%} | "
            f"{s.passed - s.truncated}/{s.attempts} = {s.whole_line_share:.0%} | "
            f"{s.fallback}/{s.generated_turns} = {s.fallback_rate:.0%} | {s.truncated} | "
            f"{s.scripted} |"
        )
    return "\n".join(rows)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = "unknown"
    with contextlib.suppress(OSError):
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return {"nproc": os.cpu_count(), "cpu": cpu, "loadavg": load, "python": sys.version.split()[0]}


def report(results: dict[str, list[PairResult]], meta: dict[str, Any]) -> dict[str, Any]:
    """Print the tables per backend and return the JSON summary."""
    summary: dict[str, Any] = {**meta, "backends": {}}
    stats: dict[str, LineStats] = {}
    print(f"date {meta.get('date')}  machine {meta.get('machine_before')}")
    for label, out in results.items():
        wins = sum(r.won for r in out)
        print(f"\n### {label}")
        for file in dict.fromkeys(r.file for r in out):
            print(f"\n#### {file or 'pairs'}\n\n{pair_table([r for r in out if r.file == file])}")
        print()
        print(f"pair-win rate: {wins}/{len(out)} = {wins / len(out):.0%}")
        failing = [r.pair for r in out if not r.won]
        if failing:
            print("failing pairs:", ", ".join(failing))
        for kind in ("subtle", "plain", "pack"):
            some = [r for r in out if r.kind == kind]
            if some:
                print(f"  {kind}: {sum(r.won for r in some)}/{len(some)}")
        for file in dict.fromkeys(r.file for r in out):
            some = [r for r in out if r.file == file]
            print(f"  {file or '?'}: {sum(r.won for r in some)}/{len(some)}")
        totals: dict[str, int] = {}
        for r in out:
            for call in (r.good, r.poor):
                for key, value in call.listening.items():
                    totals[key] = totals.get(key, 0) + value
        if totals:
            print(
                "listening, all calls: brush-offs etc. that lowered anger "
                f"{totals['pushing_lowered']}/{totals['pushing_turns']}; "
                f"feelings-only turns after the first that lowered it "
                f"{totals['empty_again_lowered']}/{totals['empty_again']}; "
                f"customer lines asking for what they were told {totals['asks_given']}; "
                f"repeated stage directions {totals['direction_repeats']}; "
                f"repeated customer lines {totals['line_repeats']}"
            )
        stats[label] = line_stats(out)
        summary["backends"][label] = {
            "listening": totals,
            "by_file": {
                file: [sum(r.won for r in out if r.file == file), sum(r.file == file for r in out)]
                for file in dict.fromkeys(r.file for r in out)
            },
            "wins": wins,
            "pairs": len(out),
            "win_rate": wins / len(out),
            "failing": failing,
            "line_stats": {
                **asdict(stats[label]),
                "pass_share": stats[label].pass_share,
                "whole_line_share": stats[label].whole_line_share,
                "fallback_rate": stats[label].fallback_rate,
                "first_try_share": stats[label].first_try_share,
            },
            "results": [{**asdict(r), "won": r.won} for r in out],
        }
    print()
    print(stats_table(stats))
    for label, st in stats.items():
        ranked = sorted(st.rejections.items(), key=lambda kv: -kv[1])
        reasons = ", ".join(f"{k} {v}" for k, v in ranked)
        print(f"  {label} rejections: {reasons or 'none'}")
    return summary


def load_results(path: Path) -> tuple[dict[str, list[PairResult]], dict[str, Any]]:
    """Results saved by ``--json``, to print the tables again without running anything."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    results = {
        label: [
            PairResult(
                pair=r["pair"],
                scenario=r["scenario"],
                kind=r["kind"],
                backend=r["backend"],
                good=CallResult(**r["good"]),
                poor=CallResult(**r["poor"]),
                file=r.get("file", ""),
            )
            for r in data["results"]
        ]
        for label, data in saved["backends"].items()
    }
    meta = {k: v for k, v in saved.items() if k != "backends"}
    return results, meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["local", "served", "both"], default="local")
    parser.add_argument(
        "--lines",
        choices=["authored"],
        help="authored: no LLM, the pack speaks; every call in this process (fast)",
    )
    parser.add_argument("--pairs", nargs="+", metavar="ID", help="only these pair ids")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write all results here")
    parser.add_argument(
        "--tone",
        choices=["reader", "none", "jitter"],
        default="reader",
        help="with --lines authored: the tone reader as is, its tags blanked, or jittered by 0.3",
    )
    parser.add_argument(
        "--served-models",
        nargs="+",
        default=["gemma3-270m", "smollm2-135m"],
        help="bundled models to serve with llama.cpp's server (each gets its own server)",
    )
    parser.add_argument(
        "--no-pack-pairs", action="store_true", help="only the pairs files, not the packs' scripts"
    )
    parser.add_argument("--out", type=Path, help="keep the session folders here")
    parser.add_argument(
        "--from-json", type=Path, metavar="FILE", help="print the tables of a saved --json run"
    )
    args = parser.parse_args(argv)

    if args.from_json:
        report(*load_results(args.from_json))
        return 0

    global TONE_MODE
    TONE_MODE = args.tone
    pairs = load_pairs(pack_pairs=not args.no_pack_pairs)
    if args.pairs:
        unknown = set(args.pairs) - {p.id for p in pairs}
        if unknown:
            parser.error(f"unknown pair ids: {', '.join(sorted(unknown))}")
        pairs = [p for p in pairs if p.id in args.pairs]

    started = datetime.now(UTC)
    before = machine()
    results: dict[str, list[PairResult]] = {}
    with contextlib.ExitStack() as stack:
        work = args.out or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        work.mkdir(parents=True, exist_ok=True)
        backends: list[tuple[str, str | None]] = []
        if args.lines == "authored":
            backends.append(("authored", None))
        elif args.backend in ("local", "both"):
            backends.append(("local", None))
        if args.lines is None and args.backend in ("served", "both"):
            backends += [("served", m) for m in args.served_models]
        for kind, model in backends:
            with contextlib.ExitStack() as server:
                backend = (
                    Backend(kind)
                    if kind in ("local", "authored")
                    else server.enter_context(llama_server(str(model), work))
                )
                print(f"\n## {backend.label}  (CALMLINE_LLM_THREADS=1)", flush=True)
                out: list[PairResult] = []
                for pair in pairs:
                    t0 = time.monotonic()
                    r = run_pair(pair, backend, work)
                    out.append(r)
                    print(
                        f"  {pair.id:34s} good {r.good.final_anger:5.1f}  "
                        f"poor {r.poor.final_anger:5.1f}  {'pass' if r.won else 'FAIL'}  "
                        f"({time.monotonic() - t0:.0f}s)",
                        flush=True,
                    )
                results[backend.label] = out

    print()
    meta = {
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join(
            [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]
        ),
        "machine_before": before,
        "machine_after": machine(),
        "llm_threads": 1,
        "seed": SEED,
        "tone": args.tone,
    }
    summary = report(results, meta)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
