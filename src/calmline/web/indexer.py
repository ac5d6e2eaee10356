"""Keeping the index in step with ``recordings/``: import new and changed folders, drop gone ones.

A folder is re-read only when the modification times of its ``session.json`` or
``assessment.json`` changed. A folder that cannot be read is reported, never fatal:
one broken session must not keep the dashboard from starting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from calmline.call.session import SESSION_FILE, load_session
from calmline.errors import CalmlineError
from calmline.files import read_bytes
from calmline.models import Assessment, SessionRecord
from calmline.web.db import MachineVerdict, SessionRow, lock_index, naive_utc

ASSESSMENT_FILE = "assessment.json"
REPORT_FILE = "report.html"


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # one session id, two folders
    kept_elsewhere: list[str] = field(default_factory=list)  # rows from another root, kept

    def summary(self) -> str:
        text = (
            f"{self.added} added, {self.updated} updated, {self.removed} removed, "
            f"{self.unchanged} unchanged"
        )
        if self.duplicates:
            text += f", {len(self.duplicates)} duplicate id(s) not indexed"
        if self.kept_elsewhere:
            text += f", {len(self.kept_elsewhere)} kept (indexed from another folder)"
        return text + (f", {len(self.errors)} unreadable" if self.errors else "")


def load_assessments(folder: Path) -> list[Assessment]:
    """The machine's assessments of a session: ``assessment.json`` as a list, one object,
    or ``{"assessments": [...]}``; an empty list when there is none yet."""
    path = folder / ASSESSMENT_FILE
    if not path.exists():
        return []
    raw = read_bytes(path, "an assessment file", "session")
    try:
        data: Any = json.loads(raw)
        if isinstance(data, dict) and isinstance(data.get("assessments"), list):
            data = data["assessments"]
        items = data if isinstance(data, list) else [data]
        return [Assessment.model_validate(item) for item in items]
    except (ValidationError, ValueError, RecursionError) as exc:  # RecursionError: deep nesting
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CalmlineError(f"{path}: not a readable assessment ({first})") from exc


def _stamp(folder: Path) -> str:
    parts = []
    for name in (SESSION_FILE, ASSESSMENT_FILE, REPORT_FILE):
        path = folder / name
        parts.append(str(path.stat().st_mtime_ns) if path.exists() else "-")
    return ":".join(parts)


def _fill(row: SessionRow, record: SessionRecord, assessments: list[Assessment]) -> None:
    row.learner = record.learner or ""
    row.scenario = record.scenario
    row.scenario_title = record.scenario_title
    row.created_at = naive_utc(record.created_at)
    row.outcome = record.outcome
    row.turns = len(record.turns)
    row.start_anger = record.start_anger
    row.final_anger = record.final_anger
    if assessments:
        row.score = sum(a.score for a in assessments) / len(assessments)
        row.passed = all(a.passed for a in assessments)
    else:
        row.score = None
        row.passed = None
    row.rubrics = ",".join(a.rubric_id for a in assessments)


def index_folder(
    db: Session, folder: Path, stamp: str | None = None, record: SessionRecord | None = None
) -> SessionRow:
    """Read one session folder into the index (insert or replace its rows)."""
    record = record or load_session(folder)
    assessments = load_assessments(folder)
    lock_index(db)
    row = db.get(SessionRow, record.id)
    if row is None:
        row = SessionRow(id=record.id, folder=str(folder.resolve()))
        db.add(row)
    row.folder = str(folder.resolve())
    _fill(row, record, assessments)
    row.has_report = (folder / REPORT_FILE).is_file()
    row.stamp = stamp if stamp is not None else _stamp(folder)
    db.execute(delete(MachineVerdict).where(MachineVerdict.session_id == record.id))
    db.flush()
    for assessment in assessments:
        for v in assessment.verdicts:
            db.add(
                MachineVerdict(
                    session_id=record.id,
                    rubric_id=assessment.rubric_id,
                    point_id=v.point_id,
                    source=v.source,
                    text=v.text,
                    verdict=v.verdict,
                    score=v.score,
                    flagged=v.flagged,
                )
            )
    return row


def session_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p.parent for p in root.glob(f"*/{SESSION_FILE}"))


def sync(db: Session, root: Path, rebuild: bool = False) -> IndexReport:
    """Bring the session rows in line with the folders under ``root``.

    ``rebuild`` re-reads every folder. Reviews, assignments and the audit trail are
    keyed by session id and survive both a rebuild and a folder that goes missing.
    A ``root`` that is not a folder is an error, not an empty folder: a mistyped
    ``--recordings`` (or an unmounted drive) once emptied the dashboard. Two folders
    holding the same session id are reported (``duplicates``); the folder already
    indexed keeps the id, and the other is not indexed, so no learner's session is
    ever shown as another's.
    """
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise CalmlineError(
            f"the recordings folder {root} {what}; the index was left as it was",
            "check --recordings (or CALMLINE_RECORDINGS)",
        )
    report = IndexReport()
    lock_index(db)  # before reading the rows: another worker may be adding some
    known = {row.id: row for row in db.scalars(select(SessionRow))}
    by_folder = {row.folder: row for row in known.values()}
    owner: dict[str, str] = {}  # session id -> the folder that has it in this run
    changed: list[tuple[Path, str]] = []
    # Unchanged folders first: they keep their ids against a newcomer with the same one.
    for folder in session_folders(root):
        stamp = _stamp(folder)
        old = by_folder.get(str(folder.resolve()))
        if old is not None and old.stamp == stamp and not rebuild:
            owner[old.id] = old.folder
            report.unchanged += 1
        else:
            changed.append((folder, stamp))
    here = root.resolve()
    for folder, stamp in changed:
        try:
            record = load_session(folder)
            first = owner.get(record.id)
            if first is None and record.id in known:
                # indexed from another folder of this root that is still there
                other = Path(known[record.id].folder)
                if other.parent == here and (other / SESSION_FILE).is_file():
                    first = str(other)
            if first is not None and first != str(folder.resolve()):
                report.duplicates.append(
                    f"session id {record.id} is in two folders: {first} and {folder}; "
                    f"only {first} is indexed"
                )
                continue
            with db.begin_nested():
                row = index_folder(db, folder, stamp, record)
        except CalmlineError as exc:
            report.errors.append(exc.message)
            continue
        owner[row.id] = row.folder
        if row.id in known:
            report.updated += 1
        else:
            report.added += 1
    elsewhere: list[str] = []
    for session_id in sorted(set(known) - set(owner)):
        folder = Path(known[session_id].folder)
        if folder.parent != here and (folder / SESSION_FILE).is_file():
            elsewhere.append(str(folder.parent))  # not gone: indexed from another folder
            continue
        db.execute(delete(MachineVerdict).where(MachineVerdict.session_id == session_id))
        db.execute(delete(SessionRow).where(SessionRow.id == session_id))
        report.removed += 1
    report.kept_elsewhere = sorted(set(elsewhere))
    return report
