"""Receiving a session folder from a learner's laptop: check it, store it, index it.

An upload is a list of (file name, file) pairs already spooled to disk by the web
framework. It is checked before anything under ``recordings/`` changes: every name
is one a session folder holds (``upload.files``), ``session.json`` is a valid
``SessionRecord`` whose learner is the token's owner (filled in when the laptop
had no ``--learner``), ``assessment.json`` (if any) is a valid assessment, every
WAV starts like one. It is then written to ``recordings/.uploads/<random>/`` and
renamed into ``recordings/<session id>/`` in one step, so the indexer never sees half
a folder. The same session sent twice changes nothing; sent again with more in it
(marked since), it replaces the first copy; a session id that is another learner's
is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError
from sqlalchemy.orm import Session

from calmline.call.session import SESSION_FILE, load_session
from calmline.errors import CalmlineError
from calmline.io_errors import os_error
from calmline.limits import limits
from calmline.models import SessionRecord
from calmline.upload.files import allowed_name, safe_session_id
from calmline.web.db import SessionRow, lock_index
from calmline.web.indexer import index_folder, load_assessments

STAGING = ".uploads"  # under recordings/: two levels down, so never taken for a session
# One rename-into-place at a time: in this process, and (``lock_index``) across the
# workers sharing the index and the recordings folder.
_commit_lock = threading.Lock()


class UploadRejected(Exception):
    """The upload is refused; ``status`` is the HTTP status, ``message`` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class UploadPart:
    name: str
    file: BinaryIO


@dataclass(frozen=True)
class UploadResult:
    session_id: str
    status: str  # "stored", "updated" or "unchanged"


def store_upload(
    db: Session, recordings: Path, owner: str, parts: list[UploadPart]
) -> UploadResult:
    """Check ``parts``, store them as ``recordings/<id>/`` and index the folder.

    Raises ``UploadRejected`` for anything wrong with the upload (nothing is kept),
    ``CalmlineError`` when the server cannot write its recordings folder.
    """
    names = [p.name for p in parts]
    for name in names:
        if not allowed_name(name):
            raise UploadRejected(
                400,
                f"{name[:100]!r} is not a file a session folder holds "
                "(session.json, assessment.json, report.md/.html, turn-NNN-*.wav, …)",
            )
    if len(set(names)) != len(names):
        raise UploadRejected(400, "the upload names a file twice")
    by_name = {p.name: p.file for p in parts}
    if SESSION_FILE not in by_name:
        raise UploadRejected(400, "the upload has no session.json")
    raw, record = _session_record(by_name[SESSION_FILE])
    if not safe_session_id(record.id):
        raise UploadRejected(400, f"session id {record.id[:100]!r} cannot name a folder")
    if record.learner and record.learner != owner:
        raise UploadRejected(
            403, f"this session is {record.learner}'s, and the upload token is {owner}'s"
        )
    if not record.learner:  # practised without --learner: the session is the token owner's
        record.learner = owner
        raw = record.model_dump_json(indent=2).encode()
    if not recordings.is_dir():
        raise CalmlineError(f"the recordings folder {recordings} does not exist")
    staged = _stage(recordings, raw, by_name)
    try:
        try:
            load_assessments(staged)
        except CalmlineError as exc:
            raise UploadRejected(400, f"assessment.json is not readable: {_tail(exc)}") from exc
        with _commit_lock:
            lock_index(db)
            status = _put_in_place(db, recordings, staged, record, owner)
            row = index_folder(db, recordings / record.id)
            db.commit()
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return UploadResult(row.id, status)


def _session_record(file: BinaryIO) -> tuple[bytes, SessionRecord]:
    budget = limits().session_bytes
    data = file.read(budget + 1)
    if len(data) > budget:
        raise UploadRejected(413, f"session.json is over {budget >> 20} MB")
    try:
        return data, SessionRecord.model_validate_json(data)
    except (ValidationError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UploadRejected(400, f"session.json is not a calmline session ({first})") from exc


def _stage(recordings: Path, session_json: bytes, files: dict[str, BinaryIO]) -> Path:
    staged = recordings / STAGING / secrets.token_hex(8)
    try:
        staged.mkdir(parents=True)
        for name, file in files.items():
            if name == SESSION_FILE:
                continue
            file.seek(0)
            head = file.read(12)
            if name.endswith(".wav") and not (head[:4] == b"RIFF" and head[8:12] == b"WAVE"):
                raise UploadRejected(400, f"{name} is not a WAV file")
            with (staged / name).open("wb") as out:
                out.write(head)
                shutil.copyfileobj(file, out, length=1 << 20)
        # last, so that a folder with a session.json is always complete
        (staged / SESSION_FILE).write_bytes(session_json)
    except OSError as exc:
        shutil.rmtree(staged, ignore_errors=True)
        raise os_error(exc, staged) from exc
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return staged


def _put_in_place(
    db: Session, recordings: Path, staged: Path, record: SessionRecord, owner: str
) -> str:
    target = recordings / record.id
    row = db.get(SessionRow, record.id)
    if row is not None and row.learner != owner:
        raise UploadRejected(409, f"session {record.id} is already on the server as another's")
    if row is not None and Path(row.folder) != target.resolve() and Path(row.folder).is_dir():
        return "unchanged"  # indexed from another folder (copied in by hand): not twice
    if not target.exists():
        _rename(staged, target)
        return "stored"
    try:
        existing = load_session(target)
    except CalmlineError:
        existing = None
    if existing is None or existing.learner != owner:
        raise UploadRejected(409, f"session {record.id} is already on the server as another's")
    if _digests(target) == _digests(staged):
        return "unchanged"
    old = recordings / STAGING / f"old-{secrets.token_hex(8)}"
    _rename(target, old)
    try:
        _rename(staged, target)
    except CalmlineError:
        _rename(old, target)  # put the first copy back
        raise
    shutil.rmtree(old, ignore_errors=True)
    return "updated"


def _rename(source: Path, target: Path) -> None:
    try:
        os.rename(source, target)
    except OSError as exc:
        raise os_error(exc, target) from exc


def _digests(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and allowed_name(path.name):
            with path.open("rb") as fh:
                out[path.name] = hashlib.file_digest(fh, "sha256").hexdigest()
    return out


def _tail(exc: CalmlineError) -> str:
    # the message names the staging path; the learner needs only what was wrong
    text = exc.message
    with contextlib.suppress(ValueError):
        text = text[text.index("(") :]
    return text
