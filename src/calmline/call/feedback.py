"""Feedback at the end of a call: the call marked, the reports written, the summary spoken.

The summary's text is ``evaluate.report.spoken_summary``'s; ``summary_audio`` voices it
here and for ``calmline assess --speak``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from calmline.call.announcer import Announcer
from calmline.call.session import SessionWriter
from calmline.call.view import CallView
from calmline.models import Assessment, SessionRecord
from calmline.protocols import AudioArray, Synthesizer
from calmline.speech.audio import write_wav

Evaluate = Callable[[SessionRecord], list[Assessment]]
WriteReports = Callable[[SessionRecord, list[Assessment], Path], list[Path]]


def summary_audio(summary: str, synthesizer: Synthesizer, wav: Path) -> tuple[AudioArray, int]:
    """The feedback summary in the coach's voice, saved as ``wav`` before it is played
    (after a practice call, and by ``calmline assess --speak``)."""
    audio, rate = synthesizer.synthesize(summary, "coach")
    write_wav(wav, audio, rate)
    return audio, rate


def give_feedback(
    evaluate: Evaluate,
    write_reports: WriteReports | None,
    spoken_summary: Callable[[list[Assessment]], str] | None,
    synthesizer: Synthesizer,
    announcer: Announcer,
    writer: SessionWriter,
    view: CallView,
) -> tuple[list[Assessment], list[Path]]:
    """Mark the call, write its reports, then say the summary (saved as a WAV and as text)."""
    with view.waiting("Marking the call against the rubrics…"):
        assessments = evaluate(writer.record)
    reports: list[Path] = []
    if write_reports is not None:
        reports = write_reports(writer.record, assessments, writer.folder)
    if spoken_summary is not None and assessments:
        summary = spoken_summary(assessments)
        audio, rate = summary_audio(summary, synthesizer, writer.folder / "feedback-summary.wav")
        writer.write_json("feedback-summary.txt", summary + "\n")
        view.console.rule("[bold]Feedback")
        view.console.print(summary)
        announcer.play(audio, rate)
    return assessments, reports
