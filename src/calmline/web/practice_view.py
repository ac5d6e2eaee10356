"""The call as the page and its watchers see it: a ``CallView`` that sends messages.

``PracticeCall`` shows a call through its view (header, turns, anger, notes, whose
turn it is); this one turns each of those into a message for the learner's page and
one for the trainers following the call. In exam mode the learner's page gets no
anger, as the terminal shows no meter; trainers still see it.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator

from rich.console import Console

from calmline.call.view import CallView
from calmline.customer.anger import band
from calmline.models import AngerStep, Turn
from calmline.web.live_calls import LiveCall
from calmline.web.practice_messages import AngerShown, Note, ServerMessage, Status, TurnShown, Whose

SendMessage = Callable[[ServerMessage], None]


def whose_turn(message: str) -> Whose:
    """Whose turn a waiting message announces (the loop's own words, e.g. "Your turn: …")."""
    lowered = message.lower()
    if lowered.startswith("your"):
        return "learner"
    if "marking" in lowered:
        return "marking"
    return "customer"


class PageView(CallView):
    """Sends the call to the learner's page and to the live call that trainers watch."""

    def __init__(
        self, send: SendMessage, live: LiveCall, *, exam: bool, start_anger: float
    ) -> None:
        # Rules and printed summaries the loop writes to the console go nowhere.
        super().__init__(exam=exam, console=Console(file=io.StringIO(), width=100))
        self._send = send
        self._live = live
        self._last_turn = 0
        self._start_anger = start_anger

    def header(self, title: str, setting: str, persona: str) -> None:
        where = "face to face" if setting == "face_to_face" else "on the phone"
        self.note(f"You are speaking {where} with {persona}. Say goodbye to finish the call.")
        self._show_anger(0, self._start_anger, band(self._start_anger))  # the timeline's start

    def turn(self, turn: Turn) -> None:
        shown = TurnShown(
            index=turn.index,
            speaker=turn.speaker,
            phase=turn.phase,
            text=turn.text,
            stage_direction=turn.stage_direction or "",
        )
        self._send(shown)
        self._live.publish(shown)
        self._last_turn = turn.index
        if turn.speaker == "examiner":
            self._status("examiner", "The examiner asks a debrief question.")
        elif turn.speaker == "learner" and turn.phase == "call":
            self._status("customer", "The customer is answering…")

    def anger(self, step: AngerStep) -> None:
        self._show_anger(self._last_turn, step.after, step.band)

    def _show_anger(self, turn: int, anger: float, band_name: str) -> None:
        shown = AngerShown(turn=turn, anger=anger, band=band_name)
        if not self.exam:
            self._send(shown)
        self._live.publish(shown)

    def note(self, message: str) -> None:
        self._send(Note(text=message))

    def ask(self, prompt: str) -> str:  # pragma: no cover - the page never uses TypedInput
        raise EOFError

    @contextlib.contextmanager
    def waiting(self, message: str) -> Iterator[None]:
        self._status(whose_turn(message), message)
        yield

    def _status(self, whose: Whose, text: str) -> None:
        status = Status(whose=whose, text=text)
        self._send(status)
        self._live.publish(status)
