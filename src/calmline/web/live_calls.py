"""The calls in progress on this server: what a trainer's room view lists and follows live.

Each running browser call has a ``LiveCall``: its learner, scenario, transcript so far,
anger timeline and the watchers following it. The call thread publishes to it; each
watcher is an asyncio queue on the server's event loop, fed thread-safely. The registry
also counts each user's open practice connections (one of the limits).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from calmline.web.practice_messages import AngerShown, CallEnded, Status, TurnShown, WatchMessage

Watcher = tuple[asyncio.AbstractEventLoop, "asyncio.Queue[WatchMessage]"]


@dataclass
class LiveCall:
    """One call in progress, as trainers see it."""

    id: str
    learner: str
    group: str
    scenario: str
    title: str
    exam: bool = False  # the learner's own view shows no anger, as in the call itself
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    history: list[WatchMessage] = field(default_factory=list)
    anger: float | None = None
    learner_turns: int = 0
    ended: bool = False
    _watchers: list[Watcher] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, message: WatchMessage) -> None:
        """Record ``message`` and pass it to every watcher (from any thread)."""
        with self._lock:
            if isinstance(message, TurnShown) and message.speaker == "learner":
                self.learner_turns += message.phase == "call"
            if isinstance(message, AngerShown):
                self.anger = message.anger
            if isinstance(message, CallEnded):
                self.ended = True
            if not isinstance(message, Status):
                self.history.append(message)
            watchers = list(self._watchers)
        for loop, queue in watchers:
            if not loop.is_closed():
                loop.call_soon_threadsafe(queue.put_nowait, message)

    def watch(self) -> tuple[list[WatchMessage], asyncio.Queue[WatchMessage]]:
        """What has happened so far, and a queue of what happens next (call on the loop)."""
        queue: asyncio.Queue[WatchMessage] = asyncio.Queue()
        with self._lock:
            self._watchers.append((asyncio.get_running_loop(), queue))
            return list(self.history), queue

    def unwatch(self, queue: asyncio.Queue[WatchMessage]) -> None:
        with self._lock:
            self._watchers = [w for w in self._watchers if w[1] is not queue]


class LiveCalls:
    """Every call in progress, and every user's open practice connections."""

    def __init__(self) -> None:
        self._calls: dict[str, LiveCall] = {}
        self._connections: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, call: LiveCall) -> None:
        with self._lock:
            self._calls[call.id] = call

    def remove(self, call_id: str) -> None:
        with self._lock:
            self._calls.pop(call_id, None)

    def get(self, call_id: str) -> LiveCall | None:
        with self._lock:
            return self._calls.get(call_id)

    def visible(self, role: str, name: str, groups: list[str]) -> list[LiveCall]:
        """The calls a viewer may follow: admins all, trainers their groups', learners their own."""
        with self._lock:
            calls = sorted(self._calls.values(), key=lambda c: c.started)
        return [c for c in calls if may_watch(c, role, name, groups)]

    def connect(self, user: str, limit: int) -> bool:
        """Count a new connection of ``user``; False (and not counted) over ``limit``."""
        with self._lock:
            if self._connections.get(user, 0) >= limit:
                return False
            self._connections[user] = self._connections.get(user, 0) + 1
            return True

    def disconnect(self, user: str) -> None:
        with self._lock:
            left = self._connections.get(user, 0) - 1
            if left > 0:
                self._connections[user] = left
            else:
                self._connections.pop(user, None)


def shows_anger(call: LiveCall, role: str) -> bool:
    """Trainers always see the anger; a learner following their own exam call does not."""
    return not (call.exam and role == "learner")


def may_watch(call: LiveCall, role: str, name: str, groups: list[str]) -> bool:
    """The same rule as the session list (``access.visible_condition``), for live calls."""
    if role == "admin":
        return True
    if role == "trainer":
        return call.learner == name or (bool(call.group) and call.group in groups)
    return call.learner == name
