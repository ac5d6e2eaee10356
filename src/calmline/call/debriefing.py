"""The debrief after the call: the examiner asks the rubric's reflective questions aloud and
the learner's answers are saved as debrief turns."""

from __future__ import annotations

from collections.abc import Callable

from calmline.call.announcer import Announcer
from calmline.call.learner_turns import LearnerTurns
from calmline.call.session import SessionWriter
from calmline.call.view import CallView
from calmline.models import SessionRecord
from calmline.protocols import LearnerInput


def run_debrief(
    questions_for: Callable[[SessionRecord], list[str]],
    learner_input: LearnerInput,
    announcer: Announcer,
    turns: LearnerTurns,
    writer: SessionWriter,
    view: CallView,
) -> None:
    """Ask each question, then take the learner's answer; stop at the first one not given."""
    questions = questions_for(writer.record)
    if not questions:
        return
    view.console.rule("[bold]Debrief")
    for question in questions:
        announcer.say("examiner", "coach", question, source="rubric")
        with view.waiting("Your answer: listening…"):
            utt = learner_input.next_utterance("debrief")
        if utt is None:
            writer.event("debrief", "no answer given")
            break
        turn = turns.debrief_turn(utt)
        writer.add_turn(turn, utt.audio, 16_000)
        view.turn(turn)
