"""The session list's filter, sort and page, parsed from the query string; shared with export."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from sqlalchemy import Select, and_, true
from sqlalchemy.sql.elements import ColumnElement

from calmline.limits import limits
from calmline.web.db import SessionRow

SORTS = {
    "date": SessionRow.created_at,
    "learner": SessionRow.learner,
    "scenario": SessionRow.scenario,
    "score": SessionRow.score,
    "anger": SessionRow.final_anger,
    "outcome": SessionRow.outcome,
}
PAGE_SIZE = 25
S = TypeVar("S", bound="Select[*tuple[Any, ...]]")  # a string: SQLAlchemy 2.0 is not variadic


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _day_after(day: date) -> datetime | None:
    """Midnight after ``day``; ``None`` for 9999-12-31, which has no day after
    (adding one raised OverflowError: HTTP 500 for the list and both CSV exports)."""
    return datetime.combine(day + timedelta(days=1), time.min) if day < date.max else None


def _percent(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return min(100.0, max(0.0, value))


@dataclass
class SessionFilter:
    learner: str = ""
    scenario: str = ""
    date_from: str = ""  # YYYY-MM-DD, inclusive
    date_to: str = ""  # YYYY-MM-DD, inclusive
    min_score: str = ""  # percent
    max_score: str = ""
    result: str = ""  # "pass", "fail", "unmarked" or ""
    sort: str = "date"
    order: str = "desc"
    page: int = 1

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> SessionFilter:
        f = cls()
        longest = limits().field_chars  # every value is echoed into the page's links
        for k in fields(cls):
            if k.name != "page":
                setattr(f, k.name, query.get(k.name, "").strip()[:longest])
        try:
            f.page = max(1, int(query.get("page", "1")))
        except ValueError:
            f.page = 1
        if f.sort not in SORTS:
            f.sort = "date"
        if f.order not in ("asc", "desc"):
            f.order = "desc"
        if f.result not in ("pass", "fail", "unmarked"):
            f.result = ""
        return f

    def condition(self) -> ColumnElement[bool]:
        parts: list[ColumnElement[bool]] = []
        if self.learner:
            parts.append(SessionRow.learner == self.learner)
        if self.scenario:
            parts.append(SessionRow.scenario == self.scenario)
        start, end = _date(self.date_from), _date(self.date_to)
        if start:
            parts.append(SessionRow.created_at >= datetime.combine(start, time.min))
        after = _day_after(end) if end else None
        if after is not None:
            parts.append(SessionRow.created_at < after)
        low, high = _percent(self.min_score), _percent(self.max_score)
        if low is not None:
            parts.append(SessionRow.score >= low / 100 - 1e-9)
        if high is not None:
            parts.append(SessionRow.score <= high / 100 + 1e-9)
        if self.result == "pass":
            parts.append(SessionRow.passed.is_(True))
        elif self.result == "fail":
            parts.append(SessionRow.passed.is_(False))
        elif self.result == "unmarked":
            parts.append(SessionRow.passed.is_(None))
        return and_(true(), *parts)

    def ordered(self, stmt: S) -> S:
        column = SORTS[self.sort]
        key = column.asc() if self.order == "asc" else column.desc()
        return stmt.order_by(key.nulls_last(), SessionRow.id)

    def query(self, **changes: object) -> str:
        """This filter as a query string, with ``changes`` applied (for links)."""
        values = {k.name: getattr(self, k.name) for k in fields(self)}
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})
