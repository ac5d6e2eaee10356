"""Session folders on disk: ``recordings/<id>/session.json`` plus one WAV per turn.

Every write is atomic (write a temporary file, fsync, ``os.replace``) and happens as
soon as a turn exists, so a crash, Ctrl-C or ``kill -9`` loses at most the turn in
progress and always leaves a readable ``session.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from calmline.errors import CalmlineError
from calmline.files import read_bytes
from calmline.io_errors import os_error
from calmline.models import Outcome, SessionEvent, SessionRecord, Turn
from calmline.protocols import AudioArray
from calmline.speech.audio import write_wav

SESSION_FILE = "session.json"


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never half.

    A failure (full disk, read-only mount...) is a ``CalmlineError`` naming ``path``.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise os_error(exc, path) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise os_error(exc, path) from exc
        raise


def new_session_id(scenario: str, now: datetime | None = None) -> str:
    """A sortable, collision-free id: ``20261122-131500-retail-kettle-7f3a``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{scenario}-{secrets.token_hex(2)}"


class SessionWriter:
    """Owns one session folder while a call runs; each method leaves the folder consistent."""

    def __init__(self, root: Path, record: SessionRecord) -> None:
        self.record = record
        if root.exists() and not root.is_dir():
            raise CalmlineError(
                f"--out {root} is a file, not a folder", "give --out a folder (it is created)"
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
            # mkdir without exist_ok makes concurrent sessions with the same id impossible:
            # the loser of a race draws a new suffix instead of sharing a folder.
            for _ in range(20):
                try:
                    (root / record.id).mkdir()
                    break
                except FileExistsError:
                    record.id = new_session_id(record.scenario)
            else:  # pragma: no cover - would need 20 random collisions
                raise CalmlineError(f"could not create a session folder under {root}")
        except OSError as exc:
            raise os_error(exc, root) from exc
        self.folder = root / record.id
        self._t0 = datetime.now(UTC)
        self.save()

    def elapsed(self) -> float:
        """Seconds since the session started (turn times are relative to this)."""
        return (datetime.now(UTC) - self._t0).total_seconds()

    def save(self) -> None:
        atomic_write_text(self.folder / SESSION_FILE, self.record.model_dump_json(indent=2))

    def audio_name(self, turn: Turn) -> str:
        return f"turn-{turn.index:03d}-{turn.speaker}.wav"

    def add_turn(
        self, turn: Turn, audio: AudioArray | None = None, sample_rate: int = 16_000
    ) -> Turn:
        """Write the turn's audio (if any), then the updated session.json."""
        if audio is not None and audio.size:
            name = self.audio_name(turn)
            write_wav(self.folder / name, audio, sample_rate)
            turn.audio = name
        self.record.turns.append(turn)
        self.save()
        return turn

    def keep_unheard(self, audio: AudioArray, problem: str) -> str:
        """Save a learner turn that speech to text could not read (``turn-NNN-learner-
        unheard.wav``) and note it in the session; returns the file name."""
        name = f"turn-{self.next_index():03d}-learner-unheard.wav"
        write_wav(self.folder / name, audio, 16_000)
        self.record.events.append(
            SessionEvent(at=self.elapsed(), kind="stt_failed", detail=f"{name}: {problem}")
        )
        self.save()
        return name

    def next_index(self) -> int:
        return len(self.record.turns)

    def event(self, kind: str, detail: str = "") -> None:
        self.record.events.append(SessionEvent(at=self.elapsed(), kind=kind, detail=detail))
        self.save()

    def finish(self, outcome: Outcome, final_anger: float | None) -> None:
        self.record.outcome = outcome
        self.record.final_anger = final_anger
        self.record.ended_at = datetime.now(UTC)
        self.save()

    def mark_incomplete(self, problem: str) -> bool:
        """Record that the session could not be written in full; ``False`` if even that
        failed (then ``session.json`` still says ``in_progress``: never finished either)."""
        self.record.outcome = "incomplete"
        self.record.ended_at = datetime.now(UTC)
        self.record.events.append(
            SessionEvent(at=self.elapsed(), kind="incomplete", detail=problem)
        )
        try:
            self.save()
        except CalmlineError:
            return False
        return True

    def write_json(self, name: str, text: str) -> Path:
        path = self.folder / name
        atomic_write_text(path, text)
        return path


def load_session(folder: Path) -> SessionRecord:
    """Read a session folder written by :class:`SessionWriter`, even one left by a crash."""
    path = folder / SESSION_FILE if folder.is_dir() else folder
    if not path.exists():
        raise CalmlineError(
            f"{folder}: no {SESSION_FILE} here",
            "pass a folder under recordings/ made by `calmline practice`, or a transcript .txt",
        )
    data = read_bytes(path, "a session file", "session")
    try:
        return SessionRecord.model_validate_json(data)
    except (ValidationError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CalmlineError(f"{path}: not a readable calmline session ({first})") from exc
