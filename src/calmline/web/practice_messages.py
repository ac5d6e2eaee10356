"""The messages of a browser practice call: what the page sends, what the server answers,
and what a trainer watching the call receives.

Text messages are these models' JSON; each has a ``type``. Binary messages carry audio:
from the page, 16 kHz 16-bit little-endian mono PCM frames; to the page, one WAV file
per synthesised sentence of the customer or the examiner.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

MAX_TYPED_CHARS = 2000

# --------------------------------------------------------------------------- page -> server


class StartCall(BaseModel):
    """The first message: which scenario, and whether the call is an exam."""

    type: Literal["start"] = "start"
    scenario: str = Field(min_length=1, max_length=100)
    exam: bool = False


class TypedTurn(BaseModel):
    """A turn typed in the page (no microphone, or the learner prefers to type)."""

    type: Literal["text"] = "text"
    text: str = Field(min_length=1, max_length=MAX_TYPED_CHARS)


class EndCall(BaseModel):
    """The learner pressed "End call" (ends the call, or the rest of the debrief)."""

    type: Literal["end"] = "end"


ClientMessage = Annotated[StartCall | TypedTurn | EndCall, Field(discriminator="type")]
client_message = TypeAdapter(ClientMessage)

# --------------------------------------------------------------------------- server -> page

Speaker = Literal["learner", "customer", "examiner"]
Whose = Literal["learner", "customer", "examiner", "marking", "ended"]


class Ready(BaseModel):
    """The models are loaded and the call has started; the page may open the microphone."""

    type: Literal["ready"] = "ready"
    session_id: str
    title: str
    persona: str
    face_to_face: bool
    exam: bool


class Status(BaseModel):
    """Whose turn it is, in words for the page."""

    type: Literal["status"] = "status"
    whose: Whose
    text: str


class TurnShown(BaseModel):
    """One saved turn of the transcript (stage directions for face-to-face packs)."""

    type: Literal["turn"] = "turn"
    index: int
    speaker: Speaker
    phase: Literal["call", "debrief"]
    text: str
    stage_direction: str = ""


class AngerShown(BaseModel):
    """The customer's anger after a learner turn (not sent to the learner in exam mode)."""

    type: Literal["anger"] = "anger"
    turn: int
    anger: float
    band: str


class Note(BaseModel):
    type: Literal["note"] = "note"
    text: str


class AudioStop(BaseModel):
    """The learner talked over the customer: drop the audio still queued."""

    type: Literal["audio_stop"] = "audio_stop"


class PointMark(BaseModel):
    point: str
    verdict: str


class RubricMark(BaseModel):
    title: str
    score: float
    passed: bool
    points: list[PointMark]


class Marking(BaseModel):
    """The call is over and marked: the outcome, each rubric's mark and the summary."""

    type: Literal["marking"] = "marking"
    session_id: str
    outcome: str
    rubrics: list[RubricMark]
    summary: str
    session_url: str
    report_url: str | None = None


ProblemCode = Literal[
    "origin",
    "login",
    "forbidden",
    "too_many_connections",
    "frame_too_large",
    "call_too_long",
    "bad_message",
    "unknown_scenario",
    "server_error",
]


class Problem(BaseModel):
    """Something the learner (or their browser) must be told in words."""

    type: Literal["error"] = "error"
    code: ProblemCode
    message: str


class CallEnded(BaseModel):
    """For watchers: the call is over; its session page is at ``session_url``."""

    type: Literal["ended"] = "ended"
    outcome: str
    session_url: str


ServerMessage = Ready | Status | TurnShown | AngerShown | Note | AudioStop | Marking | Problem
WatchMessage = TurnShown | AngerShown | Status | CallEnded
