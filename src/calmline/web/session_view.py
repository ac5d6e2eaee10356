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


def turn_views(record: SessionRecord, assessments: Sequence[Assessment]) -> list[TurnView]:
    quoted: dict[int, list[str]] = {}
    for a in assessments:
        for v in a.verdicts:
            for ev in v.evidence:
                quoted.setdefault(ev.turn_index, []).append(v.point_id)
    views = []
    for turn in record.turns:
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
