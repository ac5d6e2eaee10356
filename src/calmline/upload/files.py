"""What an uploaded session folder may hold: the file names, the id, the sizes.

Both sides use these rules: the client sends only these files, the server refuses
anything else. A name is a plain file name from a short list or a fixed pattern, so
no upload can reach outside its own folder (no ``/``, no ``..``, no hidden files).
"""

from __future__ import annotations

import re

from calmline.call.session import SESSION_FILE
from calmline.config import environment

UPLOAD_PATH = "/api/upload"
TOKEN_HEADER = "Authorization"  # "Bearer <token>"
ASSESSMENT_FILE = "assessment.json"
FIXED_NAMES = frozenset(
    {
        SESSION_FILE,
        ASSESSMENT_FILE,
        "report.md",
        "report.html",
        "feedback-summary.wav",
        "feedback-summary.txt",
    }
)
# turn-001-learner.wav, turn-002-customer.wav, turn-003-learner-unheard.wav (speech to
# text failed on it: see speech.remote_stt), debrief turns likewise
TURN_AUDIO = re.compile(r"turn-\d{3,5}-(?:learner|customer|examiner)(?:-unheard)?\.wav")
# what SessionWriter makes: 20261122-131500-kettle-counter-7f3a (and ids of older sessions)
SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
MAX_FILES = 1_000  # a call of 200 turns with its debrief holds about 450
MB = 1 << 20
DEFAULT_MAX_UPLOAD_MB = 200.0  # an hour's call is about 115 MB of 16 kHz WAV


def allowed_name(name: str) -> bool:
    """True for a file an upload may carry (and the client sends)."""
    return name in FIXED_NAMES or TURN_AUDIO.fullmatch(name) is not None


def safe_session_id(session_id: str) -> bool:
    """True when ``session_id`` can name a folder under recordings/ and nothing else."""
    return SESSION_ID.fullmatch(session_id) is not None and set(session_id) != {"."}


def max_upload_bytes() -> int:
    """The largest upload the server takes (``CALMLINE_MAX_UPLOAD_MB``, default 200 MB)."""
    return int((environment().max_upload_mb or DEFAULT_MAX_UPLOAD_MB) * MB)
