"""Size and depth budgets for everything calmline reads, and the one way it refuses.

Every input is measured against its budget *before* it is parsed, so an oversized or
hostile file costs a ``stat`` call, not gigabytes: marking an 80 000-turn transcript
once ran past 24 GB, and a 13 MB scenario pack took 623 MB to accept.

| budget | default | applies to (raise with) |
| --- | --- | --- |
| ``file_bytes`` | 2 MB | transcripts, ``--script`` files, scenario packs, rubrics, tone |
| | | cues, JSONL (``CALMLINE_MAX_FILE_MB``) |
| ``session_bytes`` | 64 MB | ``session.json``, ``assessment.json`` (``CALMLINE_MAX_SESSION_MB``) |
| ``turns`` | 5 000 | turns in what ``assess`` marks (``CALMLINE_MAX_TURNS``) |
| ``audio_s`` | 6 h | a recording for ``transcribe`` (``CALMLINE_MAX_AUDIO_HOURS``) |
| ``turn_audio_s`` | 10 min | one learner turn given as an audio file |
| ``yaml_depth`` | 40 | nesting of mappings and lists in a YAML file |
| ``yaml_nodes`` | 1 000 000 | values in a YAML file, an ``*alias`` counted as what it repeats |
| ``query_bytes`` | 4 KB | a dashboard request's query string |
| ``form_bytes`` | 256 KB | a dashboard form post's body |
| ``field_chars`` | 200 | one filter value shown back on the session list |
| ``page_turns`` | 200 | turns shown on one page of a session (the page links the rest) |

Only the first four are settable: they are the ones a trainer with an unusual but
honest input might need to move. Memory of ``assess`` is about 300 MB with the models
and grows by about 0.01 MB a turn (``docs/reliability.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from calmline.config import environment
from calmline.errors import CalmlineError

MB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """The budgets above; see the module docstring for what each one covers."""

    file_bytes: int = 2 * MB
    session_bytes: int = 64 * MB
    turns: int = 5_000
    audio_s: float = 6 * 3600.0
    turn_audio_s: float = 600.0
    yaml_depth: int = 40
    yaml_nodes: int = 1_000_000
    query_bytes: int = 4096
    form_bytes: int = 256 * 1024
    field_chars: int = 200
    page_turns: int = 200


def limits() -> Limits:
    """The budgets in force: the defaults, with any ``CALMLINE_MAX_*`` variable applied."""
    env = environment()
    default = Limits()
    return Limits(
        file_bytes=int(env.max_file_mb * MB) if env.max_file_mb else default.file_bytes,
        session_bytes=(
            int(env.max_session_mb * MB) if env.max_session_mb else default.session_bytes
        ),
        turns=int(env.max_turns) if env.max_turns else default.turns,
        audio_s=env.max_audio_hours * 3600 if env.max_audio_hours else default.audio_s,
    )


def _mb(size: float) -> str:
    return f"{size / MB:.1f} MB" if size < 10 * MB else f"{size / MB:.0f} MB"


def file_too_large(path: Path, what: str, size: int, limit: int, variable: str) -> CalmlineError:
    """``x.txt is 5.2 MB; calmline reads transcripts of up to 2.0 MB`` + how to raise it."""
    wanted = -(-size // MB) + 1
    return CalmlineError(
        f"{path} is {_mb(size)}; calmline reads {what} of up to {_mb(limit)}",
        f"if the file is right, raise the limit: {variable}={wanted}",
    )


def too_many_turns(source: Path | str, count: int, limit: int) -> CalmlineError:
    return CalmlineError(
        f"{source} has more than {limit:,} turns ({count:,} or more); "
        f"calmline marks at most {limit:,}",
        f"split it into calls, or raise the limit: CALMLINE_MAX_TURNS={max(count, limit + 1)}",
    )


def audio_too_long(
    path: Path, seconds: float, limit_s: float, what: str, hint: str
) -> CalmlineError:
    def fmt(s: float) -> str:
        if s >= 3600:
            return f"{s / 3600:.1f} hours"
        return f"{s / 60:.0f} minutes" if s >= 120 else f"{s:.0f} seconds"

    return CalmlineError(f"{path} is {fmt(seconds)} long; {what} is at most {fmt(limit_s)}", hint)
