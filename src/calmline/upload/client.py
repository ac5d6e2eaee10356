"""Sending session folders to ``calmline serve``, and the queue of the ones not sent yet.

The queue is a small ``upload.json`` in each session folder: the server's address,
``pending`` / ``sent`` / ``refused``, the attempts made and the last problem. A
session whose upload failed for a reason that may pass (the server down, a time-out,
a 5xx, a token not accepted yet) stays ``pending`` and is sent by the next
``calmline upload URL`` run, which looks through the recordings folder for them. A
session the server refused on its merits (too large, not a valid session, another
learner's) is ``refused`` and sent again only when named. Nothing here ever deletes
or changes a session's own files.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx

from calmline.call.session import SESSION_FILE, atomic_write_text, load_session
from calmline.errors import CalmlineError
from calmline.upload.files import MAX_FILES, UPLOAD_PATH, allowed_name

PENDING_FILE = "upload.json"
State = Literal["pending", "sent", "refused"]
# answers that may pass by themselves, or once the learner has a working token
_RETRY_STATUSES = frozenset({401, 408, 429})


@dataclass
class UploadOutcome:
    """What became of one folder: ``state`` as recorded in its ``upload.json``."""

    folder: Path
    session_id: str
    state: State
    message: str
    url: str = ""  # the session's page on the dashboard, once sent


def server_url(url: str) -> str:
    """The dashboard's address without a trailing slash; an error for anything not http(s)."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url) < 10:
        raise CalmlineError(
            f"{url!r} is not the address of a calmline server",
            "give the dashboard's address, e.g. calmline upload http://trainer-pc:8000",
        )
    return url


def pending_folders(root: Path, url: str) -> list[Path]:
    """Session folders under ``root`` queued for ``url`` by an earlier run."""
    if not root.is_dir():
        return []
    found = []
    for marker in sorted(root.glob(f"*/{PENDING_FILE}")):
        note = read_note(marker.parent)
        if note.get("state") == "pending" and note.get("url") == url:
            found.append(marker.parent)
    return found


def read_note(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / PENDING_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_note(folder: Path, url: str, state: State, message: str) -> None:
    note = read_note(folder)
    attempts = int(note.get("attempts", 0)) + 1 if isinstance(note.get("attempts"), int) else 1
    now = datetime.now(UTC).isoformat(timespec="seconds")
    note.update(url=url, state=state, attempts=attempts, last_try=now, message=message)
    if state == "sent":
        note["sent_at"] = now
    atomic_write_text(folder / PENDING_FILE, json.dumps(note, indent=2))


class UploadClient:
    """Talks to one server's ``/api/upload`` with one learner's token."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout_s: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = server_url(url)
        self._client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout_s, connect=10.0),
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def max_bytes(self) -> int:
        """The server's size limit (``GET /api/upload``); ``CalmlineError`` if it has none."""
        answer = self._call(lambda: self._client.get(UPLOAD_PATH))
        body = _json(answer)
        if answer.status_code == 401 and isinstance(body.get("error"), str):
            raise CalmlineError(body["error"][:300])  # the token: every folder waits for a new one
        if answer.status_code != 200 or not isinstance(body.get("max_bytes"), int):
            raise CalmlineError(
                f"{self.url} does not take session uploads (HTTP {answer.status_code})",
                "is it the address of `calmline serve` (version with uploads)?",
            )
        return int(body["max_bytes"])

    def send(self, folder: Path, max_bytes: int) -> UploadOutcome:
        """Send one folder; never raises for a failure of the upload itself."""
        try:
            record = load_session(folder)
        except CalmlineError as exc:
            return UploadOutcome(folder, folder.name, "refused", exc.message)
        if record.outcome == "in_progress":
            return UploadOutcome(
                folder,
                record.id,
                "refused",
                "the session is still in progress (a call running, or one that crashed); not sent",
            )
        files = [p for p in sorted(folder.iterdir()) if p.is_file() and allowed_name(p.name)]
        size = sum(p.stat().st_size for p in files)
        if size > max_bytes or len(files) > MAX_FILES:
            return UploadOutcome(
                folder,
                record.id,
                "refused",
                f"the session is {size / (1 << 20):.0f} MB in {len(files)} files; the server "
                f"takes up to {max_bytes / (1 << 20):.0f} MB (its admin can raise "
                "CALMLINE_MAX_UPLOAD_MB)",
            )
        with contextlib.ExitStack() as stack:
            parts = [
                ("files", (p.name, stack.enter_context(p.open("rb")), _content_type(p.name)))
                for p in files
            ]
            try:
                answer = self._call(lambda: self._client.post(UPLOAD_PATH, files=parts))
            except CalmlineError as exc:
                return UploadOutcome(folder, record.id, "pending", exc.message)
        body = _json(answer)
        if answer.status_code in (200, 201):
            page = f"{self.url}{body.get('url', '')}"
            return UploadOutcome(folder, record.id, "sent", str(body.get("status", "sent")), page)
        reason = str(body.get("error") or f"HTTP {answer.status_code}")[:300]
        retry = answer.status_code in _RETRY_STATUSES or answer.status_code >= 500
        return UploadOutcome(folder, record.id, "pending" if retry else "refused", reason)

    def _call(self, request: Callable[[], httpx.Response]) -> httpx.Response:
        try:
            return request()
        except httpx.TimeoutException as exc:
            raise CalmlineError(f"{self.url} did not answer in time") from exc
        except httpx.ConnectError as exc:
            raise CalmlineError(f"cannot reach {self.url} (is `calmline serve` running?)") from exc
        except httpx.HTTPError as exc:
            raise CalmlineError(f"the connection to {self.url} broke off ({exc})") from exc


def upload_folders(client: UploadClient, folders: Iterable[Path]) -> list[UploadOutcome]:
    """Send each folder and record the outcome in its ``upload.json``.

    When the server cannot be reached at all, every folder is queued without trying it.
    """
    folders = list(dict.fromkeys(f.resolve() for f in folders))
    try:
        max_bytes = client.max_bytes()
    except CalmlineError as exc:
        outcomes = [UploadOutcome(f, f.name, "pending", exc.message) for f in folders]
    else:
        outcomes = [client.send(f, max_bytes) for f in folders]
    for outcome in outcomes:
        if (outcome.folder / SESSION_FILE).is_file():
            write_note(outcome.folder, client.url, outcome.state, outcome.message)
    return outcomes


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        data = answer.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _content_type(name: str) -> str:
    return {"json": "application/json", "wav": "audio/wav", "html": "text/html"}.get(
        name.rsplit(".", 1)[-1], "text/plain"
    )
