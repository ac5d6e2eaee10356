"""CSV exports: one row per session, or one row per marking point (machine and assessors).

Cells that a spreadsheet would run as a formula (starting with ``= + - @``) get a
leading apostrophe, so an exported comment cannot become a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from calmline.web.db import MachineVerdict, Review, SessionRow

SESSION_COLUMNS = (
    "session_id",
    "created_at",
    "learner",
    "scenario",
    "outcome",
    "turns",
    "start_anger",
    "final_anger",
    "score",
    "passed",
    "rubrics",
)
VERDICT_COLUMNS = (
    "session_id",
    "learner",
    "scenario",
    "rubric_id",
    "point_id",
    "source",
    "machine_verdict",
    "machine_score",
    "flagged",
    "reviewer",
    "assessor_verdict",
    "comment",
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def sessions_csv(rows: Iterable[SessionRow]) -> str:
    return _csv(
        SESSION_COLUMNS,
        (
            (
                r.id,
                r.created_at.isoformat(timespec="seconds"),
                r.learner,
                r.scenario,
                r.outcome,
                r.turns,
                r.start_anger,
                r.final_anger,
                r.score,
                r.passed,
                r.rubrics,
            )
            for r in rows
        ),
    )


def verdicts_csv(
    items: Iterable[tuple[SessionRow, MachineVerdict]], reviews: Sequence[Review]
) -> str:
    """One row per machine verdict and reviewer (an unreviewed point has one row, no reviewer)."""
    by_point: dict[tuple[str, str, str], list[Review]] = {}
    for review in reviews:
        key = (review.session_id, review.rubric_id, review.point_id)
        by_point.setdefault(key, []).append(review)

    def rows() -> Iterable[Sequence[object]]:
        for s, v in items:
            base = (
                s.id,
                s.learner,
                s.scenario,
                v.rubric_id,
                v.point_id,
                v.source,
                v.verdict,
                v.score,
                v.flagged,
            )
            found: list[Review | None] = [*by_point.get((s.id, v.rubric_id, v.point_id), [])]
            found = found or [None]
            for r in found:
                yield (
                    *base,
                    r.reviewer if r else "",
                    r.verdict if r else "",
                    r.comment if r else "",
                )

    return _csv(VERDICT_COLUMNS, rows())
