"""Geometry of the inline SVG charts: the anger timeline of a session and a learner's progress.

Pure functions returning points and labels; the templates draw them (Jinja2 escapes
every label, so the ``<title>`` tooltips are safe).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from calmline.models import SessionRecord

WIDTH, HEIGHT, PAD = 720, 180, 28
MAX_POINTS = 300  # a 50 000-turn session must not draw 25 000 dots (the page was 40 MB)
MAX_TICKS = 30


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    value: float
    title: str  # tooltip text
    href: str = ""  # where clicking the point goes


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    series: dict[str, list[ChartPoint]]
    ticks: list[Tick]
    gridlines: list[tuple[float, str]]  # (y, label) for 0, 25, 50, 75, 100

    def polyline(self, name: str) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.series.get(name, []))


def _y(value: float, height: int = HEIGHT) -> float:
    clamped = max(0.0, min(100.0, value))
    return round(height - PAD - clamped / 100 * (height - 2 * PAD), 1)


def _x(position: int, count: int, width: int = WIDTH) -> float:
    span = max(1, count - 1)
    return round(PAD + position * (width - 2 * PAD) / span, 1)


def _grid(height: int = HEIGHT) -> list[tuple[float, str]]:
    return [(_y(v, height), str(v)) for v in (0, 25, 50, 75, 100)]


def _every(count: int, most: int) -> int:
    """The stride that keeps at most ``most`` of ``count`` items."""
    return max(1, -(-count // most))


def anger_chart(
    session: SessionRecord, href: Callable[[int], str] = lambda index: f"#turn-{index}"
) -> Chart:
    """Anger after each learner turn, placed at that turn's position in the transcript.

    A long session shows at most ``MAX_POINTS`` points (evenly spread, the last one
    always kept) and ``MAX_TICKS`` turn numbers. ``href`` links a turn index to its place.
    """
    count = len(session.turns)
    stepped = [(pos, t) for pos, t in enumerate(session.turns) if t.anger is not None]
    stride = _every(len(stepped), MAX_POINTS)
    shown = {id(t) for i, (_, t) in enumerate(stepped) if i % stride == 0 or i == len(stepped) - 1}
    points: list[ChartPoint] = []
    for pos, turn in enumerate(session.turns):
        if id(turn) not in shown:
            continue
        step = turn.anger
        if step is None:
            continue
        if not points:
            points.append(
                ChartPoint(
                    _x(0, count),
                    _y(step.before),
                    round(step.before, 1),
                    f"Start: anger {step.before:.0f}",
                    href(session.turns[0].index),
                )
            )
        reasons = "; ".join(f"{r.cause} {r.delta:+.0f}" for r in step.reasons) or "no change"
        title = (
            f"Turn {turn.index} ({turn.speaker}): anger {step.before:.0f} → "
            f"{step.after:.0f} ({step.delta:+.0f}, {step.band}). Reasons: {reasons}"
        )
        points.append(
            ChartPoint(
                _x(pos, count), _y(step.after), round(step.after, 1), title, href(turn.index)
            )
        )
    every = _every(count, MAX_TICKS)
    ticks = [
        Tick(_x(pos, count), str(t.index))
        for pos, t in enumerate(session.turns)
        if pos % every == 0
    ]
    return Chart(WIDTH, HEIGHT, {"anger": points}, ticks, _grid())


@dataclass(frozen=True)
class ProgressItem:
    session_id: str
    label: str  # e.g. date and scenario
    score: float | None  # 0..1
    final_anger: float | None


def progress_chart(items: Sequence[ProgressItem]) -> Chart:
    """Score (percent) and final anger per session, oldest first, on one 0-100 scale."""
    count = len(items)
    score: list[ChartPoint] = []
    anger: list[ChartPoint] = []
    for pos, item in enumerate(items):
        x = _x(pos, count)
        href = f"/sessions/{item.session_id}"
        if item.score is not None:
            pct = item.score * 100
            score.append(
                ChartPoint(x, _y(pct), round(pct, 1), f"{item.label}: score {pct:.0f}%", href)
            )
        if item.final_anger is not None:
            anger.append(
                ChartPoint(
                    x,
                    _y(item.final_anger),
                    round(item.final_anger, 1),
                    f"{item.label}: final anger {item.final_anger:.0f}",
                    href,
                )
            )
    ticks = [Tick(_x(pos, count), str(pos + 1)) for pos in range(count)]
    return Chart(WIDTH, HEIGHT, {"score": score, "anger": anger}, ticks, _grid())
