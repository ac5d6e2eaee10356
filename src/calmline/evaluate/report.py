"""Written and spoken feedback: Markdown, standalone HTML, JSON and the spoken summary.

The HTML has no scripts and fetches nothing: inline CSS, the anger timeline as inline
SVG, evidence highlighted in the transcript with an anchor per turn. Everything the
learner said is escaped by Jinja2's autoescape (a learner who says ``<script>`` sees text).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from calmline.evaluate.evidence import locate
from calmline.io_errors import os_error
from calmline.models import Assessment, Evidence, PointVerdict, SessionRecord, Turn
from calmline.text_decode import strip_controls

SUMMARY_MAX_WORDS = 110
VERDICT_LABEL = {"met": "met", "partly": "partly met", "not_met": "not met"}


@dataclass(frozen=True)
class Piece:
    text: str
    mark: str = ""  # point ids this stretch is evidence for; empty = plain text


@dataclass(frozen=True)
class TimelinePoint:
    x: float
    y: float
    turn: int
    anger: float


def _md_safe(value: object) -> object:
    """Markdown output: angle brackets become entities so no viewer runs learner HTML."""
    if isinstance(value, str):
        value = strip_controls(value)
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


def _html_safe(value: object) -> object:
    """HTML output: no control characters (a NUL from an old session.json, say)."""
    return strip_controls(value) if isinstance(value, str) else value


def _env(markdown: bool = False) -> Environment:
    env = Environment(
        loader=PackageLoader("calmline.evaluate", "report_templates"),
        autoescape=False if markdown else select_autoescape(["html", "j2"], default=True),
        finalize=_md_safe if markdown else _html_safe,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["verdict"] = lambda v: VERDICT_LABEL.get(v, v)
    env.filters["clock"] = lambda s: "" if s is None else f"{int(s // 60)}:{int(s % 60):02d}"
    return env


def highlight(turn: Turn, evidence: Sequence[tuple[str, Evidence]]) -> list[Piece]:
    """The turn's text split into plain and evidence pieces (point id, quote)."""
    spans: list[tuple[int, int, str]] = []
    for point_id, ev in evidence:
        if ev.turn_index != turn.index:
            continue
        span = locate(ev.quote, turn.text)
        if span and not any(s < span[1] and span[0] < e for s, e, _ in spans):
            spans.append((span[0], span[1], point_id))
        elif span:
            spans = [
                (s, e, p + (" " + point_id if s < span[1] and span[0] < e else ""))
                for s, e, p in spans
            ]
    pieces: list[Piece] = []
    last = 0
    for start, end, point_id in sorted(spans):
        if start > last:
            pieces.append(Piece(turn.text[last:start]))
        pieces.append(Piece(turn.text[start:end], point_id))
        last = end
    if last < len(turn.text):
        pieces.append(Piece(turn.text[last:]))
    return pieces


def anger_timeline(
    session: SessionRecord, width: int = 640, height: int = 160
) -> list[TimelinePoint]:
    steps = [(t.index, t.anger) for t in session.turns if t.anger is not None]
    if not steps:
        return []
    values = [(steps[0][0], steps[0][1].before)] + [(i, a.after) for i, a in steps]
    n = max(1, len(values) - 1)
    pad = 24
    return [
        TimelinePoint(
            x=round(pad + k * (width - 2 * pad) / n, 1),
            y=round(height - pad - anger / 100 * (height - 2 * pad), 1),
            turn=turn,
            anger=round(anger, 1),
        )
        for k, (turn, anger) in enumerate(values)
    ]


def _context(session: SessionRecord, assessments: Sequence[Assessment]) -> dict[str, object]:
    all_evidence = [(v.point_id, e) for a in assessments for v in a.verdicts for e in v.evidence]
    turns = [(t, highlight(t, all_evidence)) for t in session.turns]
    return {
        "session": session,
        "assessments": assessments,
        "turns": turns,
        "timeline": anger_timeline(session),
        "summary": spoken_summary(assessments),
    }


def render_markdown(session: SessionRecord, assessments: Sequence[Assessment]) -> str:
    return _env(markdown=True).get_template("report.md.j2").render(**_context(session, assessments))


def render_html(session: SessionRecord, assessments: Sequence[Assessment]) -> str:
    return _env().get_template("report.html.j2").render(**_context(session, assessments))


def assessment_json(assessments: Sequence[Assessment]) -> str:
    return json.dumps([a.model_dump(mode="json") for a in assessments], indent=2)


def write_reports(
    session: SessionRecord, assessments: Sequence[Assessment], out_dir: Path
) -> dict[str, Path]:
    """Write report.md, report.html and assessment.json into ``out_dir``."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(exc, out_dir) from exc
    files = {
        "markdown": (out_dir / "report.md", render_markdown(session, assessments)),
        "html": (out_dir / "report.html", render_html(session, assessments)),
        "json": (out_dir / "assessment.json", assessment_json(assessments)),
    }
    for path, text in files.values():
        tmp = path.with_suffix(path.suffix + ".tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)  # atomic: a crash never leaves half a report
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise os_error(exc, path) from exc
    return {k: p for k, (p, _) in files.items()}


# --------------------------------------------------------------------------- spoken


def _clip(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + ("..." if len(parts) > words else "")


_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)[.;]\s")


def _first_sentence(text: str) -> str:
    """The first sentence, never cut inside a quotation: advice often ends with an
    example in quotes that has sentences of its own."""
    for match in _SENTENCE_END.finditer(text):
        head = text[: match.start()]
        if head.count('"') % 2 == 0:
            return head.rstrip(".") + "."
    return text.rstrip(".") + ("" if text.rstrip().endswith(('"', "?", "!")) else ".")


def spoken_summary(assessments: Sequence[Assessment]) -> str:
    """At most ~110 words (under 45 s spoken): the result, the best moment quoted, and
    the one thing to change and how."""
    if not assessments:
        return "There was nothing to assess."
    verdicts = [v for a in assessments for v in a.verdicts]
    score = sum(a.score for a in assessments) / len(assessments)
    passed = all(a.passed for a in assessments)
    met = sum(v.verdict == "met" for v in verdicts)
    parts = [
        f"You scored {round(score * 100)} percent and "
        f"{'passed' if passed else 'did not pass yet'}: "
        f"{met} of {len(verdicts)} marking points met."
    ]
    best = _best_moment(verdicts)
    if best is not None:
        parts.append(f'Your best moment was when you said: "{_clip(best.quote, 22)}"')
    change = _one_change(verdicts)
    if change is not None:
        parts.append(f"The one thing to change: {_clip(_first_sentence(change.improvement), 45)}")
    text = " ".join(parts)
    words = text.split()
    return text if len(words) <= SUMMARY_MAX_WORDS else " ".join(words[:SUMMARY_MAX_WORDS])


def _best_moment(verdicts: Sequence[PointVerdict]) -> Evidence | None:
    """A call quote from a met point: the surest points first, then the fullest quote
    (a check-back like "Is that right?" is evidence, but not a moment worth replaying)."""
    candidates = [
        (round(v.confidence, 1), min(len(e.quote.split()), 20), e.phase == "call", e)
        for v in verdicts
        if v.verdict == "met"
        for e in v.evidence
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c[2], c[0], c[1]))[3]


def _one_change(verdicts: Sequence[PointVerdict]) -> PointVerdict | None:
    order = {"not_met": 0, "partly": 1}
    candidates = [v for v in verdicts if v.verdict in order and v.improvement]
    if not candidates:
        return None
    return min(candidates, key=lambda v: (order[v.verdict], -v.confidence))
