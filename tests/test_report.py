"""Written and spoken feedback: escaping, the SVG timeline, evidence anchors, summary length."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from calmline.embed import FakeEmbedder
from calmline.evaluate.evaluator import assess
from calmline.evaluate.report import render_html, render_markdown, spoken_summary, write_reports
from calmline.evaluate.rubric import load_rubrics
from calmline.evaluate.transcript import parse_transcript
from calmline.models import AngerStep, ToneReading

TEXT = """CUSTOMER: My parcel never came and this is the third time I've called!
LEARNER: I'm really sorry, that must be so frustrating <script>alert('x')</script>.
Can you tell me when it was due?
CUSTOMER: Monday.
LEARNER: I'll send a replacement by courier today. Would that work for you?
--- debrief ---
EXAMINER: What signs told you the customer was becoming difficult?
LEARNER: He raised his voice and it was the third time he had called.
"""


class NeutralReader:
    def read_batch(self, items: Sequence[object]) -> list[ToneReading]:
        return [ToneReading() for _ in items]


def _session_and_assessments():  # type: ignore[no-untyped-def]
    session = parse_transcript(TEXT)
    session.turns[1].anger = AngerStep(before=70, after=55, band="angry")
    session.turns[3].anger = AngerStep(before=55, after=30, band="irritated")
    result = assess(session, load_rubrics(), tone_reader=NeutralReader(), embedder=FakeEmbedder())
    return session, result


def test_html_escapes_learner_text_and_has_timeline_and_anchors() -> None:
    session, result = _session_and_assessments()
    html = render_html(session, result)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<svg id="anger-timeline"' in html and "<polyline" in html
    assert 'id="turn-1"' in html and 'href="#turn-1"' in html
    assert "<mark" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_markdown_neutralises_html() -> None:
    session, result = _session_and_assessments()
    md = render_markdown(session, result)
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "000_1d3fdee3de4d81c6.txt#1" in md


def test_spoken_summary_is_short_and_quotes_the_learner() -> None:
    _, result = _session_and_assessments()
    summary = spoken_summary(result)
    assert len(summary.split()) <= 110
    assert "percent" in summary and "best moment" in summary and "one thing to change" in summary


def test_write_reports_writes_three_files(tmp_path: Path) -> None:
    session, result = _session_and_assessments()
    files = write_reports(session, result, tmp_path)
    assert {p.name for p in files.values()} == {"report.md", "report.html", "assessment.json"}
    assert '"rubric_id"' in (tmp_path / "assessment.json").read_text(encoding="utf-8")
