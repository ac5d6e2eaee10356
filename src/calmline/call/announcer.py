"""Whole lines said aloud (the opening, the examiner, a reply without speakers): synthesised,
saved with their WAV, shown, then played to the end."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from calmline.call.session import SessionWriter
from calmline.call.view import CallView
from calmline.customer.character import CustomerLine
from calmline.models import Turn
from calmline.protocols import AudioArray, Synthesizer
from calmline.speech.output import AudioSink

# A player may return a handle with wait()/stop() (devices.Playback) so barge-in can cut it.
Player = Callable[[AudioArray, int], object]


class Announcer:
    """Says whole lines: each is synthesised, saved as a turn with its audio, then played."""

    def __init__(
        self,
        writer: SessionWriter,
        view: CallView,
        synthesizer: Synthesizer,
        sink: AudioSink | None,
        player: Player | None,
    ) -> None:
        self.writer = writer
        self.view = view
        self.synthesizer = synthesizer
        self.sink = sink
        self.player = player

    def say(self, speaker: str, voice: str, text: str, **turn_fields: object) -> Turn:
        """Synthesise ``text``, save the turn and its WAV, then play it."""
        started = self.writer.elapsed()
        t0 = time.perf_counter()
        audio, rate = (
            self.synthesizer.synthesize(text, voice) if text else (np.zeros(0, np.float32), 16_000)
        )
        tts_s = time.perf_counter() - t0
        latency = dict(turn_fields.pop("latency", {}) or {})  # type: ignore[call-overload]
        latency["tts"] = tts_s
        turn = Turn(
            index=self.writer.next_index(),
            speaker=speaker,  # type: ignore[arg-type]
            phase="debrief" if speaker == "examiner" else "call",
            text=text,
            started_at=started,
            ended_at=started + (audio.size / rate if rate else 0.0),
            latency=latency,
            **turn_fields,  # type: ignore[arg-type]
        )
        self.writer.add_turn(turn, audio, rate)
        self.view.turn(turn)
        self.play(audio, rate)
        return turn

    def customer_says(self, line: CustomerLine, latency: dict[str, float]) -> Turn:
        return self.say(
            "customer",
            "customer",
            line.text,
            stage_direction=line.stage_direction,
            source=line.source,
            notes=list(line.notes),
            latency=latency,
        )

    def play(self, audio: AudioArray, rate: int) -> None:
        """Play ``audio`` to the end (lines that are not streamed: opening, examiner, summary)."""
        if not audio.size:
            return
        if self.sink is not None:
            self.sink.begin()
            self.sink.play(audio, rate)
            self.sink.wait()
        elif self.player is not None:
            self.player(audio, rate)
