"""What the session page shows, assembled from the folder on disk and the assessors' reviews.

Pure: it takes the ``SessionRecord``, the machine's ``Assessment``s and the review rows,
and returns plain data for the template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from calmline.models import Assessment, Evidence, PointVerdict, SessionRecord, Turn
from calmline.web.db import Review

TAG_THRESHOLD = 0.5


@dataclass(frozen=True)
class EvidenceLink:
    turn_index: int
    quote: str
    offset: float  # seconds into the turn's own audio where the quote starts


@dataclass
class TurnView:
    turn: Turn
    tags: list[tuple[str, float]]  # tone tags at or above the threshold, strongest first
    points: list[str] = field(default_factory=list)  # marking points quoting this turn


@dataclass
class PointRow:
    rubric_id: str
    rubric_title: str
    verdict: PointVerdict
    evidence: list[EvidenceLink]
    reviews: list[Review]  # every assessor's current verdict on this point
    mine: Review | None  # the viewer's own


def _offset(turn: Turn | None, ev: Evidence) -> float:
    if turn is None or ev.start is None:
        return 0.0
    return max(0.0, round(ev.start - turn.started_at, 2))


@dataclass(frozen=True)
class TurnPage:
    """Which turns one page of a session shows: ``size`` at a time (a 50 000-turn session
    rendered as one 40 MB page). ``href`` links any turn, on this page or another."""

    number: int  # 1-based
    pages: int
    start: int  # position of the first turn shown
    stop: int
    total: int
    size: int
    positions: dict[int, int]  # turn index -> position in the session

    @classmethod
    def of(cls, record: SessionRecord, requested: int, size: int) -> TurnPage:
        total = len(record.turns)
        pages = max(1, -(-total // size))
        number = min(max(1, requested), pages)
        start = (number - 1) * size
        positions = {t.index: pos for pos, t in enumerate(record.turns)}
        return cls(number, pages, start, min(total, start + size), total, size, positions)

    def href(self, turn_index: int) -> str:
        page = self.positions.get(turn_index, 0) // self.size + 1
        anchor = f"#turn-{turn_index}"
        return anchor if page == self.number else f"?page={page}{anchor}"


def turn_views(
    record: SessionRecord, assessments: Sequence[Assessment], page: TurnPage | None = None
) -> list[TurnView]:
    """The turns of ``page`` (every turn when ``None``) with their tags and quoting points."""
    quoted: dict[int, list[str]] = {}
    for a in assessments:
        for v in a.verdicts:
            for ev in v.evidence:
                quoted.setdefault(ev.turn_index, []).append(v.point_id)
    views = []
    shown = record.turns[page.start : page.stop] if page is not None else record.turns
    for turn in shown:
        tags = sorted(
            (
                (t, c)
                for t, c in (turn.tone.tags.items() if turn.tone else ())
                if c >= TAG_THRESHOLD
            ),
            key=lambda tc: -tc[1],
        )
        views.append(TurnView(turn, tags, sorted(set(quoted.get(turn.index, [])))))
    return views


def point_rows(
    record: SessionRecord,
    assessments: Sequence[Assessment],
    reviews: Sequence[Review],
    viewer_name: str,
) -> list[PointRow]:
    turns = {t.index: t for t in record.turns}
    rows = []
    for a in assessments:
        for v in a.verdicts:
            key = (a.rubric_id, v.point_id)
            mine_all = [r for r in reviews if (r.rubric_id, r.point_id) == key]
            rows.append(
                PointRow(
                    rubric_id=a.rubric_id,
                    rubric_title=a.rubric_title or a.rubric_id,
                    verdict=v,
                    evidence=[
                        EvidenceLink(e.turn_index, e.quote, _offset(turns.get(e.turn_index), e))
                        for e in v.evidence
                    ],
                    reviews=mine_all,
                    mine=next((r for r in mine_all if r.reviewer == viewer_name), None),
                )
            )
    return rows
