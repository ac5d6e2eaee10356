"""The learner's terminal view of a call: the transcript, whose turn it is, and the anger meter.

Lines are printed as they happen rather than redrawn in a full-screen Live layout, so
typed input, screen readers and piped output all keep working; a spinner shows whose
turn it is while the slow steps (listening, transcribing, the customer thinking) run.
In exam mode the anger meter is hidden.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from calmline.models import AngerStep, Turn

_BAND_STYLE = {"calm": "green", "irritated": "yellow", "angry": "dark_orange", "furious": "red"}
_SPEAKER_STYLE = {"customer": "bold magenta", "learner": "bold cyan", "examiner": "bold blue"}


def anger_meter(anger: float, band: str, width: int = 20) -> Text:
    """``anger ███████░░░░░  62 angry`` as styled text."""
    filled = round(max(0.0, min(100.0, anger)) / 100 * width)
    style = _BAND_STYLE.get(band, "white")
    meter = Text("anger ")
    meter.append("█" * filled, style=style)
    meter.append("░" * (width - filled), style="grey50")
    meter.append(f" {anger:3.0f} {band}", style=style)
    return meter


class CallView:
    """Prints a call as it happens. ``quiet`` sends everything to stderr (for ``--json``)."""

    def __init__(self, *, exam: bool = False, quiet: bool = False, console: Console | None = None):
        self.exam = exam
        self.console = console or Console(stderr=quiet, highlight=False)

    def header(self, title: str, setting: str, persona: str) -> None:
        self.console.rule(f"[bold]{escape(title)}")
        where = "face to face" if setting == "face_to_face" else "on the phone"
        self.console.print(f"You are speaking {where} with {escape(persona)}.")
        self.console.print("[dim]Type /end or say goodbye to finish the call.[/dim]")

    def turn(self, turn: Turn) -> None:
        label = {"learner": "YOU", "customer": "CUSTOMER", "examiner": "EXAMINER"}[turn.speaker]
        line = Text(f"{label}: ", style=_SPEAKER_STYLE[turn.speaker])
        if turn.stage_direction:
            line.append(f"[{turn.stage_direction}] ", style="italic grey62")
        line.append(turn.text)
        self.console.print(line)
        if turn.tone and not self.exam and turn.speaker == "learner":
            tags = ", ".join(
                t for t, c in sorted(turn.tone.tags.items(), key=lambda x: -x[1]) if c >= 0.5
            )
            if tags:
                self.console.print(Text(f"      tone: {tags}", style="grey50"))

    def anger(self, step: AngerStep) -> None:
        if not self.exam:
            self.console.print(anger_meter(step.after, step.band))

    def note(self, message: str) -> None:
        self.console.print(f"[dim]{escape(message)}[/dim]")

    def ask(self, prompt: str) -> str:
        return self.console.input(f"[bold cyan]{escape(prompt)}> [/bold cyan]")

    @contextlib.contextmanager
    def waiting(self, message: str) -> Iterator[None]:
        with self.console.status(message, spinner="dots"):
            yield
