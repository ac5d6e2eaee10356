"""Reading sessions for assessment: plain-text transcripts and ``recordings/<id>/`` folders.

Transcript format (one turn per labelled line; unlabelled lines continue the turn)::

    # a comment
    CUSTOMER: [slams the counter] This is the third time I've been in!
    LEARNER: I'm sorry, that must be really frustrating.
    --- debrief ---
    EXAMINER: What signs told you the customer was becoming difficult?
    LEARNER: He raised his voice and repeated the complaint.

``AGENT:`` counts as the learner. ``[...]`` in a customer line is a stage direction.
Any other ``WORD:`` line (a fake ``SYSTEM:`` line, say) is kept as text of the turn it
sits in: it is untrusted content, never a new speaker.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pydantic import ValidationError

from calmline.errors import CalmlineError
from calmline.files import read_bytes
from calmline.limits import limits, too_many_turns
from calmline.models import Phase, SessionRecord, Speaker, Turn
from calmline.text_decode import decode_text

EXAMPLE = "CUSTOMER: Where is my parcel?\\nLEARNER: I'm sorry, let me check that for you."
_LABELS: dict[str, Speaker] = {
    "customer": "customer",
    "learner": "learner",
    "agent": "learner",
    "examiner": "examiner",
}
_LABEL = re.compile(r"^\s*(customer|learner|agent|examiner)\s*:\s?(.*)$", re.IGNORECASE)
_DEBRIEF = re.compile(r"^\s*-{3,}\s*debrief\s*-{3,}\s*$", re.IGNORECASE)
_STAGE = re.compile(r"\[([^\]]*)\]")
_META = re.compile(r"^\s*#\s*(scenario|title|setting|learner)\s*:\s*(.+)$", re.IGNORECASE)


def _split_stage(text: str) -> tuple[str, str | None]:
    directions = [d.strip() for d in _STAGE.findall(text) if d.strip()]
    spoken = " ".join(_STAGE.sub(" ", text).split())
    return spoken, ("; ".join(directions) or None)


def parse_transcript(text: str, session_id: str = "transcript") -> SessionRecord:
    """Parse a plain-text transcript into a session; ``CalmlineError`` if it has no turns
    or more than the turn budget (``limits``)."""
    max_turns = limits().turns
    turns: list[Turn] = []
    phase: Phase = "call"
    meta: dict[str, str] = {}
    current: tuple[Speaker, Phase, list[str]] | None = None

    def flush() -> None:
        nonlocal current
        if current is None:
            return
        speaker, turn_phase, lines = current
        raw = " ".join(" ".join(lines).split())
        spoken, stage = _split_stage(raw) if speaker == "customer" else (raw, None)
        if spoken or stage:
            if len(turns) >= max_turns:
                raise too_many_turns("the transcript", len(turns) + 1, max_turns)
            turns.append(
                Turn(
                    index=len(turns),
                    speaker=speaker,
                    phase=turn_phase,
                    text=spoken,
                    stage_direction=stage,
                    source="script",
                )
            )
        current = None

    for lineno, line in enumerate(text.splitlines(), start=1):
        meta_match = _META.match(line)
        if meta_match:
            meta[meta_match.group(1).lower()] = meta_match.group(2).strip()
            continue
        if line.lstrip().startswith("#"):
            continue
        if _DEBRIEF.match(line):
            flush()
            phase = "debrief"
            continue
        label = _LABEL.match(line)
        if label:
            flush()
            speaker = _LABELS[label.group(1).lower()]
            if speaker == "examiner":
                phase = "debrief"  # the examiner only speaks in the debrief
            current = (speaker, phase, [label.group(2)])
        elif line.strip():
            if current is None:
                raise CalmlineError(
                    f"line {lineno}: text before the first speaker label: {line.strip()[:60]!r}",
                    f"start each turn with CUSTOMER:, LEARNER: (or AGENT:), e.g. {EXAMPLE}",
                )
            current[2].append(line.strip())
    flush()
    if not turns:
        raise CalmlineError(
            "the transcript has no speaker labels, so no turns were found",
            f"start each turn with CUSTOMER:, LEARNER: (or AGENT:), e.g. {EXAMPLE}",
        )
    if not any(t.speaker == "learner" for t in turns):
        raise CalmlineError(
            "the transcript has no LEARNER: (or AGENT:) turns",
            f"label the learner's lines, e.g. {EXAMPLE}",
        )
    setting = meta.get("setting", "phone").replace("-", "_").replace(" ", "_")
    return SessionRecord(
        id=session_id,
        scenario=meta.get("scenario", "transcript"),
        scenario_title=meta.get("title", ""),
        setting="face_to_face" if setting == "face_to_face" else "phone",
        learner=meta.get("learner"),
        turns=turns,
        outcome="learner_ended",
    )


def load_transcript(path: Path) -> SessionRecord:
    """A plain-text transcript file (any size within ``limits``; UTF-8 or UTF-16)."""
    raw = read_bytes(path, "a transcript")
    text = decode_text(raw, path)
    digest = hashlib.sha1(raw).hexdigest()[:8]
    try:
        return parse_transcript(text, session_id=f"{path.stem}-{digest}")
    except CalmlineError as exc:  # say which file: the user may have passed several
        raise CalmlineError(f"{path}: {exc.message}", exc.hint) from exc


def load_session_dir(folder: Path) -> SessionRecord:
    """``recordings/<id>/session.json`` as a ``SessionRecord``."""
    path = folder / "session.json"
    if not path.exists():
        raise CalmlineError(
            f"{folder} has no session.json",
            "pass a session folder under recordings/ or a .txt transcript",
        )
    try:
        record = SessionRecord.model_validate_json(read_bytes(path, "a session file", "session"))
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise CalmlineError(f"{path} is not valid JSON: {first['msg']}") from exc
        where = ".".join(str(p) for p in first["loc"])
        raise CalmlineError(f"{path}: {where}: {first['msg']}") from exc
    if len(record.turns) > limits().turns:
        raise too_many_turns(folder, len(record.turns), limits().turns)
    return record


def load_session(path: Path) -> SessionRecord:
    """A session folder, a ``session.json`` or a plain-text transcript."""
    if path.is_dir():
        return load_session_dir(path)
    if path.name == "session.json":
        return load_session_dir(path.parent)
    if not path.exists():
        raise CalmlineError(
            f"{path} does not exist", "pass a session folder (recordings/<id>) or a transcript .txt"
        )
    return load_transcript(path)
