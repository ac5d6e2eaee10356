"""Settings of the web dashboard: where the recordings and the index database live, and policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from calmline.config import environment
from calmline.paths import recordings_dir
from calmline.web.login_limit import LoginLimits

INDEX_FILE = "index.sqlite3"


def default_db_url(recordings: Path) -> str:
    """``CALMLINE_DB_URL`` if set, else a SQLite file beside the session folders."""
    return environment().db_url or f"sqlite:///{recordings / INDEX_FILE}"


@dataclass
class WebSettings:
    """How the dashboard behaves.

    Attributes:
        recordings: the folder of session folders (``recordings/<id>/session.json``).
        db_url: SQLAlchemy URL of the index; SQLite by default, PostgreSQL works the same.
        secure_cookies: the cookie ``Secure`` flag; ``None`` means on, except for plain
            http on a loopback host (a trainer trying it on their laptop).
        assessors_see_all: assessors see every session, not only those assigned to them.
        login_failures: login attempts allowed per user name and client address ...
        login_failures_per_address: ... and per client address, whatever the user name ...
        login_window_s: ... within this many seconds, before logins are refused (429).
        session_hours: how long a login lasts.
        resync_s: the session list re-reads ``recordings/`` at most this often.
        practice_frame_bytes: the largest audio frame a practice page may send (the page
            sends 20 ms, 640 bytes; 1 s is 32 000).
        practice_call_s: a browser call is stopped (and marked) after this many seconds.
        practice_connections: practice connections one user may have open at once.
        practice_origins: origins besides the server's own allowed to open a practice
            socket (a reverse proxy's public address, say).
    """

    recordings: Path = field(default_factory=recordings_dir)
    db_url: str = ""
    secure_cookies: bool | None = None
    assessors_see_all: bool = False
    login_failures: int = 5
    login_failures_per_address: int = 20
    login_window_s: int = 300
    session_hours: int = 12
    resync_s: float = 10.0
    practice_frame_bytes: int = 32_000
    practice_call_s: float = 900.0
    practice_connections: int = 2
    practice_origins: tuple[str, ...] = ()
    db_is_default: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.recordings = Path(self.recordings)
        # Only the default index file's folder is created; a --db URL (or CALMLINE_DB_URL)
        # naming a folder that does not exist is a typo to report, not a folder to make.
        self.db_is_default = not self.db_url and not environment().db_url
        if not self.db_url:
            self.db_url = default_db_url(self.recordings)

    def login_limits(self) -> LoginLimits:
        return LoginLimits(
            self.login_failures, self.login_failures_per_address, self.login_window_s
        )
