"""Subcommands: ``assess`` (mark a session or transcript) and ``calibrate`` (machine vs human)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from calmline.cli import app
from calmline.errors import CalmlineError

if TYPE_CHECKING:
    from calmline.models import Assessment, Rubric, SessionRecord
    from calmline.protocols import Judge

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)
JUDGES = ("offline", "local", "openai")


def _judge(name: str) -> Judge | None:
    if name not in JUDGES:
        raise CalmlineError(f"unknown judge {name!r}", f"use one of: {', '.join(JUDGES)}")
    if name == "offline":
        return None
    from calmline.evaluate.llm_judge import LLMJudge
    from calmline.llm import load_chat_model

    if name == "local":
        err.print(
            "note: the bundled LLM is small; its verdicts are merged with the offline "
            "tier and disagreements are flagged",
            markup=False,
        )
    return LLMJudge(load_chat_model(name))  # type: ignore[arg-type]  # "local" | "openai"


def _assess(
    session: SessionRecord, rubrics: list[Rubric], judge: Judge | None, quiet: bool
) -> list[Assessment]:
    from calmline.evaluate.evaluator import assess

    if quiet:
        return assess(session, rubrics, judge)
    with err.status("loading the tone reader and embedder, then marking..."):
        return assess(session, rubrics, judge)


def _table(assessments: list[Assessment]) -> Table:
    table = Table(title="calmline assessment")
    for col in ("rubric", "point", "verdict", "conf.", "evidence"):
        table.add_column(col)
    colours = {"met": "green", "partly": "yellow", "not_met": "red"}
    for a in assessments:
        for v in a.verdicts:
            quote = (
                f'turn {v.evidence[0].turn_index}: "{v.evidence[0].quote[:60]}"'
                if v.evidence
                else ""
            )
            flag = " (flagged)" if v.flagged else ""
            table.add_row(
                a.rubric_id,
                v.point_id,
                f"[{colours[v.verdict]}]{v.verdict}[/]{flag}",
                f"{v.confidence:.2f}",
                quote.replace("[", r"\["),
            )
        table.add_row(
            a.rubric_id,
            "[b]total[/b]",
            "pass" if a.passed else "not yet",
            f"{a.score:.0%}",
            "",
            end_section=True,
        )
    return table


@app.command("assess")
def assess_command(
    source: Annotated[
        Path, typer.Argument(help="A session folder (recordings/<id>) or a transcript .txt.")
    ],
    rubric: Annotated[
        list[str] | None, typer.Option("--rubric", help="Rubric id(s); default all.")
    ] = None,
    judge: Annotated[str, typer.Option("--judge", help="offline | local | openai.")] = "offline",
    as_json: Annotated[bool, typer.Option("--json", help="Print the assessments as JSON.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the reports.")] = None,
    speak: Annotated[
        bool, typer.Option("--speak/--no-speak", help="Speak the summary aloud.")
    ] = False,
) -> None:
    """Mark a session against the rubrics; write report.md, report.html and assessment.json."""
    from calmline.evaluate.report import spoken_summary, write_reports
    from calmline.evaluate.rubric import load_rubrics
    from calmline.evaluate.transcript import load_session

    session = load_session(source)
    rubrics = load_rubrics(rubric or None)
    assessments = _assess(session, rubrics, _judge(judge), quiet=as_json)
    out_dir = out or (source if source.is_dir() else source.parent / f"{source.stem}-assessment")
    files = write_reports(session, assessments, out_dir)
    summary = spoken_summary(assessments)
    if as_json:
        print(json.dumps([a.model_dump(mode="json") for a in assessments], indent=2))
    else:
        console.print(_table(assessments))
        console.print(summary, markup=False)
        console.print(f"reports: {', '.join(str(p) for p in files.values())}", markup=False)
    if speak:
        _speak(summary, out_dir)


def _speak(text: str, out_dir: Path) -> None:
    """Speak the summary with the coach voice; the WAV is kept beside the reports."""
    from calmline.call.feedback import summary_audio
    from calmline.speech import devices
    from calmline.speech.tts import EspeakSpeaker

    audio, rate = summary_audio(text, EspeakSpeaker(), out_dir / "summary.wav")
    try:
        devices.play(audio, rate, block=True)
    except Exception as exc:  # no audio device is not a reason to fail: the WAV is written
        err.print(
            f"calmline: could not play the summary ({exc}); saved {out_dir / 'summary.wav'}",
            markup=False,
        )


# --------------------------------------------------------------------------- calibrate


def _read_labels(path: Path) -> list[dict[str, Any]]:
    from calmline.files import read_text

    if not path.exists():
        raise CalmlineError(f"{path} does not exist", "pass a labels .jsonl file")
    rows = []
    for lineno, line in enumerate(read_text(path, "a labels file").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CalmlineError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from exc
        except RecursionError:
            raise CalmlineError(f"{path}:{lineno}: JSON nested too deeply") from None
        if not isinstance(row, dict) or "transcript" not in row or "labels" not in row:
            raise CalmlineError(
                f"{path}:{lineno}: each line needs 'transcript' and 'labels'",
                '{"transcript": "transcripts/x.txt", "labels": {"dc1_...": "met"}}',
            )
        rows.append(row)
    if not rows:
        raise CalmlineError(f"{path} has no labelled transcripts")
    return rows


def calibration_report(labels_path: Path, judge: str = "offline") -> dict[str, Any]:
    """Run the evaluator on every labelled transcript and compare with the human verdicts."""
    from calmline.evaluate.agreement import LEVELS, agreement
    from calmline.evaluate.evaluator import assess
    from calmline.evaluate.rubric import load_rubrics
    from calmline.evaluate.transcript import load_transcript

    rows = _read_labels(labels_path)
    rubrics = load_rubrics()
    llm = _judge(judge)
    per_point: dict[str, list[tuple[str, str]]] = {p.id: [] for r in rubrics for p in r.points}
    disagreements = []
    for row in rows:
        session = load_transcript(labels_path.parent / row["transcript"])
        for a in assess(session, rubrics, llm):
            for v in a.verdicts:
                human = row["labels"].get(v.point_id)
                if human is None:
                    continue
                if human not in LEVELS:
                    raise CalmlineError(
                        f"{labels_path}: {row['transcript']}: {v.point_id}: bad label {human!r}",
                        f"use one of {', '.join(LEVELS)}",
                    )
                per_point[v.point_id].append((human, v.verdict))
                if human != v.verdict:
                    disagreements.append(
                        {
                            "transcript": row["transcript"],
                            "point": v.point_id,
                            "human": human,
                            "machine": v.verdict,
                        }
                    )
    every = [pair for pairs in per_point.values() for pair in pairs]
    return {
        "labels": str(labels_path),
        "judge": judge,
        "transcripts": len(rows),
        "overall": agreement(every).__dict__,
        "points": {pid: agreement(pairs).__dict__ for pid, pairs in per_point.items() if pairs},
        "disagreements": disagreements,
    }


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


@app.command("calibrate")
def calibrate_command(
    labels: Annotated[
        Path, typer.Argument(help="JSONL: one transcript and its human verdicts per line.")
    ],
    judge: Annotated[str, typer.Option("--judge", help="offline | local | openai.")] = "offline",
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Agreement of the evaluator with human examiners: accuracy, weighted kappa, leniency."""
    if as_json:
        report = calibration_report(labels, judge)
        print(json.dumps(report, indent=2))
        return
    with err.status("marking every labelled transcript..."):
        report = calibration_report(labels, judge)
    table = Table(title=f"calibration on {report['transcripts']} transcripts ({judge})")
    for col in (
        "point",
        "n",
        "accuracy",
        "kappa (linear)",
        "leniency",
        "met precision",
        "confusion (rows human nm/p/m)",
    ):
        table.add_column(col)
    for pid, a in [*report["points"].items(), ("overall", report["overall"])]:
        table.add_row(
            pid,
            str(a["n"]),
            _fmt(a["accuracy"]),
            _fmt(a["kappa"]),
            _fmt(a["leniency"]),
            f"{_fmt(a['met_precision'])} of {a['met_predicted']}",
            " | ".join(" ".join(str(c) for c in row) for row in a["confusion"]),
        )
    console.print(table)
