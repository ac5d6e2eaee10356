"""The ``calmline bench`` command: latency and memory of the live pipeline, printed as a table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer
from rich.console import Console
from rich.table import Table

from calmline.cli import app

if TYPE_CHECKING:
    from calmline.bench.end_of_turn import EndOfTurnRun
    from calmline.bench.harness import BenchResult, Distribution
    from calmline.customer.character import LineSource

_status = Console(stderr=True, highlight=False)

# The targets of the turn-taking issue, on a 2-core machine with the embedded defaults:
# the median depends on where the customer's lines come from (the packs' or the model's).
MEDIAN_TARGETS = {"authored": 0.5, "authored-first": 0.8, "generated": 0.8}
TARGETS = {
    "turn_p95": 1.2,
    "decision_median": 0.6,
    "ratio": 0.5,
    "rss_mb": 1200.0,
    "growth_mb": 50.0,
    "false_cut_ins": 0.02,
}


def _mark(ok: bool) -> str:
    return "[green]met[/green]" if ok else "[red]missed[/red]"


def render_table(r: BenchResult) -> Table:
    """The benchmark as one table: what, measured, target, met or missed."""
    table = Table(title=f"calmline bench — {r.machine.get('date', '')}, {r.turns} turns")
    for col in ("measure", "value", "target", ""):
        table.add_column(col)
    turn, dec, naive = r.turn_latency, r.decision_to_audio, r.naive_latency
    assert turn is not None and dec is not None and naive is not None
    median_target = MEDIAN_TARGETS.get(str(r.machine.get("lines")), 0.8)
    rows: list[tuple[str, str, str, str]] = [
        *((f"STT real-time factor ({m})", f"{v:.3f}", "", "") for m, v in r.stt_rtf.items()),
        ("LLM time to first token (median)", f"{r.llm_first_token_s:.3f} s", "", ""),
        ("LLM tokens per second (median)", f"{r.llm_tokens_per_s:.1f}", "", ""),
        ("LLM prompt tokens reused from cache", f"{r.llm_reused_share:.0%}", "", ""),
        ("TTS time to first audio (1st sentence)", f"{r.tts_first_audio_s:.3f} s", "", ""),
        *_latency_rows("fixed 600 ms wait", turn, median_target),
        *_latency_rows("adaptive end of turn", r.turn_latency_adaptive, median_target),
        (
            "end-of-turn decision → first audio, median",
            f"{dec.median:.2f} s (p95 {dec.p95:.2f})",
            "≤ 0.6 s",
            _mark(dec.median <= TARGETS["decision_median"]),
        ),
        (
            "naive pipeline, median (p95)",
            f"{naive.median:.2f} s ({naive.p95:.2f})",
            "",
            "",
        ),
        ("  naive parts (median)", _parts(r.naive_parts), "", ""),
        ("streaming / naive (medians)", f"{r.ratio:.2f}", "≤ 0.5", _mark(r.ratio <= 0.5)),
        ("replies started at the phrase pause", _speculation(r.speculation), "", ""),
        (
            "barge-in: learner onset → customer stopped",
            ", ".join(f"{s:.2f} s" for s in r.barge_in_stop_s) or "not run",
            "≤ 0.3 s",
            _mark(bool(r.barge_in_stop_s) and max(r.barge_in_stop_s) <= 0.3),
        ),
        ("evaluator (offline tier, one session)", f"{r.evaluator_s:.2f} s", "", ""),
        (
            "resident memory, all models loaded",
            f"{r.rss_loaded_mb:.0f} MB (peak {r.rss_peak_mb:.0f})",
            "≤ 1200 MB",
            _mark(r.rss_peak_mb <= TARGETS["rss_mb"]),
        ),
        (
            f"memory growth over {r.turns} turns",
            f"{r.rss_growth_mb:+.0f} MB",
            "≤ 50 MB",
            _mark(r.rss_growth_mb <= TARGETS["growth_mb"]),
        ),
        *(
            [(f"  from turn 10 to {r.turns}", f"{r.rss_growth_after_10_mb:+.0f} MB", "", "")]
            if r.rss_growth_after_10_mb is not None
            else []
        ),
        ("  resident memory after turn (MB)", _memory_curve(r), "", ""),
        *_end_of_turn_rows(r.end_of_turn),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def _latency_rows(
    wait: str, turn: Distribution | None, median_target: float
) -> list[tuple[str, str, str, str]]:
    """Speech end -> first reply audio, median and p95, with one way of ending the turn."""
    if turn is None or not turn.n:
        return [(f"speech end → first reply audio ({wait})", "not run", "", "")]
    return [
        (
            f"speech end → first reply audio, median ({wait})",
            f"{turn.median:.2f} s",
            f"≤ {median_target} s",
            _mark(turn.median <= median_target),
        ),
        (
            f"speech end → first reply audio, p95 ({wait})",
            f"{turn.p95:.2f} s (max {turn.max:.2f})",
            f"≤ {TARGETS['turn_p95']} s",
            _mark(turn.p95 <= TARGETS["turn_p95"]),
        ),
    ]


def _end_of_turn_rows(run: EndOfTurnRun | None) -> list[tuple[str, str, str, str]]:
    """Fixed wait against adaptive end of turn, on the same turns with a mid-turn pause."""
    if run is None or not run.turns:
        return [("end of turn, fixed vs adaptive", "not run", "", "")]
    n = run.turns
    pauses = f"{min(run.pauses_s):.1f}–{max(run.pauses_s):.1f} s"
    rows = [("end of turn: turns with a mid-turn pause", f"{n} (pause {pauses})", "", "")]
    for name, cut, wait in (
        ("fixed 600 ms", run.fixed_cut_ins, run.fixed_wait),
        ("adaptive", run.adaptive_cut_ins, run.adaptive_wait),
    ):
        ok = cut / n <= TARGETS["false_cut_ins"]
        rows.append((f"  {name}: false cut-ins", f"{cut}/{n} ({cut / n:.0%})", "≤ 2 %", _mark(ok)))
        if wait is not None and wait.n:
            rows.append(
                (
                    f"  {name}: speech end → end-of-turn decision, median (p95)",
                    f"{wait.median:.2f} s ({wait.p95:.2f})",
                    "",
                    "",
                )
            )
    waits = " · ".join(f"{k}: {v}" for k, v in sorted(run.adaptive_waits_ms.items()))
    rows.append(("  adaptive: waits decided (ms: turns)", waits, "", ""))
    return rows


def _line_source(value: str) -> LineSource:
    from calmline.customer.character import LINE_SOURCES

    if value not in LINE_SOURCES:
        raise typer.BadParameter(f"use {', '.join(LINE_SOURCES)}", param_hint="--lines")
    return cast("LineSource", value)


def _speculation(counts: dict[str, int]) -> str:
    if not counts.get("started"):
        return "none"
    return (
        f"{counts['started']} started: {counts.get('confirmed', 0)} confirmed, "
        f"{counts.get('discarded', 0)} discarded "
        f"({counts.get('discarded_generating', 0)} after asking the model)"
    )


def _memory_curve(r: BenchResult) -> str:
    """``1: 790 · 5: 820 · 10: 850 …`` (MB after those turns)."""
    points = [(t, r.rss_at(t)) for t in (1, 5, 10, 20, 30)]
    if r.turns not in (1, 5, 10, 20, 30):
        points.append((r.turns, r.rss_at(r.turns)))
    return " · ".join(f"{t}: {mb:.0f}" for t, mb in points if mb is not None) or "not run"


def _parts(parts: dict[str, float]) -> str:
    names = {"silence_wait_s": "wait", "stt_s": "stt", "tone_s": "tone", "llm_s": "llm"}
    names["tts_s"] = "tts"
    return " + ".join(f"{names[k]} {v:.2f}" for k, v in parts.items())


@app.command()
def bench(
    json_file: Path = typer.Option(None, "--json", help="Also write every figure to this file."),
    turns: int = typer.Option(30, "--turns", min=2, max=200, help="Learner turns to stream."),
    naive_turns: int = typer.Option(
        12, "--naive-turns", min=1, max=200, help="Turns also run through the naive pipeline."
    ),
    scenario: list[str] = typer.Option(
        None, "--scenario", "-s", help="Scenario packs to speak (repeat); default all."
    ),
    barge_in: bool = typer.Option(
        True, "--barge-in/--no-barge-in", help="Add one turn spoken over the customer."
    ),
    speculative: bool = typer.Option(
        True,
        "--speculative/--no-speculative",
        help="Start each reply at the learner's phrase pause (as live practice does).",
    ),
    lines: str = typer.Option(
        "generated",
        "--lines",
        help="Customer lines: generated (times the model; default here), authored-first or "
        "authored (what practice uses offline with the bundled models).",
    ),
    end_of_turn_turns: int = typer.Option(
        18,
        "--end-of-turn-turns",
        min=0,
        max=60,
        help="Turns with a mid-turn pause streamed through the fixed 600 ms wait and the "
        "adaptive end of turn at once, for false cut-ins and the wait (0: skip; ~10 s each).",
    ),
    adaptive_pass: bool = typer.Option(
        True,
        "--adaptive-pass/--no-adaptive-pass",
        help="Stream the same turns again with the adaptive end of turn, for its latency "
        "beside the fixed wait's (about three minutes more).",
    ),
) -> None:
    """Measure reply latency, speed of each model and memory, fed in real time.

    Synthesised learner speech goes through the same input path as a microphone
    (30 ms chunks, Silero end of turn, Whisper, tone, anger, the customer model,
    espeak-ng) in real time; a simulated speaker timestamps each reply's first
    sample. The same turns are streamed again with the adaptive end of turn. A naive
    pipeline runs on the same turns for comparison. Then turns with
    a mid-turn pause go through the fixed 600 ms wait and the adaptive end of turn
    at once (false cut-ins, and the wait each takes). Takes about eight minutes for
    30 turns; run it on an otherwise idle machine.
    """
    from calmline.bench.harness import BenchOptions, run_bench

    with _status.status("Starting…", spinner="dots") as status:
        result = run_bench(
            BenchOptions(
                turns=turns,
                naive_turns=naive_turns,
                scenarios=list(scenario or []),
                barge_in=barge_in,
                speculative=speculative,
                lines=_line_source(lines),
                end_of_turn_turns=end_of_turn_turns,
                adaptive_pass=adaptive_pass,
            ),
            progress=lambda message: status.update(message),
        )
    console = Console(highlight=False)
    console.print(render_table(result))
    m = result.machine
    console.print(
        f"{m.get('cpu')} · {m.get('cores')} cores · LLM threads {m.get('llm_threads')} · "
        f"customer lines {m.get('lines')} · "
        f"load average at start {m.get('load_avg_start')}, at end {m.get('load_avg_end')}"
    )
    if json_file is not None:
        json_file.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
        console.print(f"Figures written to {json_file}")
