"""Which source says the customer's next line: a scripted moment, the pack, or the model.

First the scripted moments (``ScriptedMoments``): settling when an accepted
resolution is on the table and anger is low; correcting a reference read back wrong;
after persisting at the top, one last warning, then demanding a manager or hanging up;
revealing a hidden detail only when asked. Otherwise ``SourcePolicy`` says, for
``CustomerOptions.lines``, whether the pack answers questions and moves itself and whether
the model is asked at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from calmline.customer.authored import unsaid
from calmline.customer.choice import agreed, picked
from calmline.customer.difficulty import Temper
from calmline.customer.identity import identity_details
from calmline.customer.line import CustomerLine
from calmline.customer.line_check import asked_about
from calmline.customer.misreads import misread
from calmline.customer.scenario import HiddenDetail, Scenario
from calmline.models import AngerState, AngerStep, Turn
from calmline.text import sentence_parts

LineSource = Literal["generated", "authored-first", "authored"]
LINE_SOURCES: tuple[LineSource, ...] = get_args(LineSource)
LAST_WARNING = "last warning"  # the note on the customer's last warning
GENERIC_WARNINGS = {
    "hang_up": ["One more answer like that and I'm hanging up.", "Last chance, or I'm hanging up."],
    "manager": [
        "One more answer like that and I want your manager.",
        "Last chance, or I'm asking for a manager.",
    ],
}

# A customer line that already demands a manager ("I want to speak to the manager, please"):
# after it, a warning that threatens to ask for one contradicts the customer's own words.
DEMANDS_MANAGER = re.compile(
    r"\b(want|get|fetch|speak to|talk to|see|asking for|bring|call)\b[^.?!]{0,30}"
    r"\b(manager|supervisor|someone senior|(whoever|someone)('s| is) in charge)\b",
    re.IGNORECASE,
)


# A customer line that is itself a last warning ("Last chance.", "I'm warning you"), said
# as a band line: a second warning after it would give the learner one chance too many.
WARNS = re.compile(
    r"\b(last chance|one more (chance|answer like that|opportunity)|i'm warning you"
    r"|final warning)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SourcePolicy:
    """Where an unscripted line comes from, for one ``LineSource``.

    Attributes:
        pack_answers: a question about a known fact or arrangement gets the pack's answer.
        move_replies_first: a learner move the pack has replies for ("calm down", blame,
            a question...) gets the pack's reply while it has lines not yet said.
        model: the model says the line (authored lines only when both attempts fail);
            without it, the reply to the move, else the band's lines.
    """

    pack_answers: bool
    move_replies_first: bool
    model: bool

    @classmethod
    def for_lines(cls, lines: LineSource) -> SourcePolicy:
        if lines == "generated":
            return cls(pack_answers=False, move_replies_first=False, model=True)
        if lines == "authored-first":
            return cls(pack_answers=True, move_replies_first=True, model=True)
        return cls(pack_answers=True, move_replies_first=False, model=False)


HELD = 1.0  # a step of at most this either way holds the anger (as realism_eval.py reads it)


def _pushed(step: AngerStep) -> bool:
    """Did the turn push the customer further: anger rose by more than ``HELD``, or would
    have but for the ceiling?"""
    raw = sum(r.delta for r in step.reasons if r.cause != "limit")
    return step.delta > HELD or raw > HELD


class ScriptedMoments:
    """The moments the customer's line is fixed by the pack, not chosen or generated."""

    def __init__(self, scenario: Scenario, temper: Temper, limit_turns: int | None) -> None:
        self.scenario = scenario
        self.temper = temper
        self.limit_turns = limit_turns

    def line(self, call: list[Turn], state: AngerState, learner_text: str) -> CustomerLine | None:
        """The scripted line for this moment, if it is one: the call ends (manager, hang-up,
        satisfied), the last warning, or a hidden detail the learner asked about."""
        sc = self.scenario
        streak = self._top_streak(call, state)
        last = next((t for t in reversed(call) if t.speaker == "learner"), None)
        abusive = last is not None and last.meaning is not None and last.meaning.has("abusive")
        patience = self.limit_turns or self.temper.patience
        at_top = state.anger >= self.temper.top
        if (at_top and abusive) or (streak >= patience and self._warned(call)):
            if sc.persona.at_limit == "hang_up":
                return CustomerLine(sc.hangup_line, source="authored", outcome="hung_up")
            return CustomerLine(sc.manager_line, source="authored", outcome="manager")
        earlier = [sc.opening_line, *(t.text for t in call[:-1])]
        # a reference, date or amount of the story read back wrong is corrected first, even
        # in the last warning
        wrong = misread(learner_text, sc.facts, earlier)
        correction = wrong.correction if wrong is not None else None
        corrects = [f"corrects a misread {wrong.right}"] if wrong is not None else []
        if streak >= patience:
            lines = sc.warning_lines or GENERIC_WARNINGS[sc.persona.at_limit]
            said = [t.text for t in call if t.speaker == "customer"]
            text = next(iter(unsaid(lines, said)), lines[-1])
            text = f"{correction} {text}" if correction else text
            return CustomerLine(text, source="authored", notes=[LAST_WARNING, *corrects])
        if correction is not None:
            return CustomerLine(correction, source="authored", notes=corrects)
        settle_below = sc.settle_below + self.temper.settle_shift
        if state.resolution_offered and state.anger < settle_below:
            # "A new one, please." to "a refund or a new one"; "Yes, please." to "shall I?"
            pick = picked(learner_text, sc) or agreed(learner_text)
            text = sc.satisfied_line if pick is None else f"{pick} {sc.satisfied_line}"
            return CustomerLine(text, source="authored", outcome="satisfied")
        detail = self._asked_detail(call, learner_text)
        if detail is not None:
            return CustomerLine(
                detail.detail, source="authored", notes=[f"revealed hidden detail: {detail.id}"]
            )
        return None

    def _top_streak(self, call: list[Turn], state: AngerState) -> int:
        """Learner turns (the last one included) that pushed the customer further while at
        the top: a turn that lowers the anger, even at the top, resets the count; one that
        holds it (reading back a reference, "one moment while it loads") neither counts nor
        resets, and when it is the last turn there is no moment: a customer never warns or
        walks out on a neutral turn."""
        if state.anger < self.temper.top:
            return 0
        learner = [t for t in call if t.speaker == "learner"]
        streak = 0
        for i, turn in enumerate(reversed(learner)):
            step = turn.anger
            if step is None:
                if i == 0:  # the turn being answered, weighed by the caller: ``state``
                    streak += 1
                    continue
                break
            if step.after < self.temper.top or step.delta < 0:
                break
            if _pushed(step):
                streak += 1
            elif i == 0:
                return 0  # a warning or the end answers a push, never a neutral turn
        return streak

    def _warned(self, call: list[Turn]) -> bool:
        """Has the customer already given the last warning in this call (scripted, or in a line
        of their own)? It is given once:
        back at the top after it, the customer ends the call. A customer who ends calls by
        asking for a manager and has already demanded one has warned the learner too."""
        manager = self.scenario.persona.at_limit == "manager"
        return any(
            t.speaker == "customer"
            and (
                LAST_WARNING in t.notes
                or WARNS.search(t.text)
                or (manager and DEMANDS_MANAGER.search(t.text))
            )
            for t in call
        )

    def _asked_detail(self, call: list[Turn], learner_text: str) -> HiddenDetail | None:
        said = " ".join(t.text for t in call if t.speaker == "customer")
        # a security check ("the postcode and the email on the order") asks for identity
        # details, which the customer gives (customer.identity), not for the pack's story
        asked = " ".join(s for s in sentence_parts(learner_text) if not identity_details(s))
        for detail in self.scenario.hidden_details:
            if detail.detail not in said and asked_about(asked, detail.topics):
                return detail
        return None
