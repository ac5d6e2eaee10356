"""The pack's own lines: which authored line (or stage direction) the customer says now.

``AuthoredLines`` ranks the pack's candidates for the moment (``choosing.LineChooser``):
answers to a question about a known fact, replies to the learner's move, the lines of
the customer's anger band. It remembers what it chose (``AuthoredState``) so a line is
not said twice, and a speculative reply that is thrown away is undone with
``snapshot``/``restore``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from calmline.customer.choosing import Candidate, LineChooser, read_back
from calmline.customer.line import CustomerLine
from calmline.customer.line_check import asked_about, checks_back
from calmline.customer.meaning import asks_customer, asks_for, fits_turn, invites_complaint
from calmline.customer.scenario import ALL_BANDS, Scenario
from calmline.models import MOVES, AngerBand, Given, ToneReading, Turn, TurnMeaning

REPLY_MIN_CONFIDENCE = 0.5  # a learner move this sure gets its authored reply on fallback
MEANING_FIT_BONUS = 0.15  # a reply to what the turn does beats one to how it sounds
BAND_LINE_FIT = 0.3  # the band's own lines: they fit any turn a little
RISK_FROM = 1.0  # anger must have risen this much on the turn for a risk indicator
MOMENT_DELTA = 5.0  # an anger move this big is a moment worth a stage direction
READ_BACK_FIT = 0.8  # a read-back of the customer's account gets the replies to a restatement
PROBLEM_ANSWER = "problem"  # the pack's answer to "What can I do for you?" (every pack has one)


@dataclass(frozen=True)
class AuthoredState:
    """What choosing authored lines has changed so far in a call.

    Attributes:
        rotation: per band, where its lines come round again once all have been said.
        spoken: the authored lines chosen, in order (never chosen twice while others fit).
    """

    rotation: dict[AngerBand, int] = field(default_factory=dict)
    spoken: tuple[str, ...] = ()


@dataclass(frozen=True)
class LineContext:
    """What a candidate line is checked against."""

    said: list[str]  # everything said in the call: numbers and dates may be repeated
    earlier: list[str]  # the customer's own lines: no loops
    agent: list[str]  # the learner's lines: no echoes
    band: AngerBand  # the customer's anger now: the role check's mood test
    given: frozenset[Given] = frozenset()  # what the learner has told: not to be asked for
    offered: bool = True  # the learner's last turn offered or promised something to take up
    asked: bool = True  # ... asked leave of the customer (a request, a hold; not a plain question)
    tags: frozenset[str] = frozenset()  # the tone tags heard in it: what a retort may answer


@dataclass(frozen=True)
class Candidates:
    """The pack's lines the customer could say now: replies to the learner's moves first."""

    replies: list[Candidate]
    band_lines: list[Candidate]

    @property
    def all(self) -> list[Candidate]:
        return [*self.replies, *self.band_lines]


def unsaid(lines: Sequence[str], said: Sequence[str]) -> list[str]:
    """``lines`` not yet said (case and spacing ignored), in order."""
    spoken = {line.strip().lower() for line in said}
    return [line for line in lines if line.strip().lower() not in spoken]


OWNED_AWAY = ("blame", "defensive")  # replies a turn that owns the failure does not get


class AuthoredLines:
    """Chooses the pack's lines and stage directions for one customer in one call."""

    def __init__(self, scenario: Scenario, chooser: LineChooser) -> None:
        self.scenario = scenario
        self.chooser = chooser
        self._rotation: dict[AngerBand, int] = {}
        self._spoken: list[str] = []

    def snapshot(self) -> AuthoredState:
        """What a reply may change (for a speculative reply that is then thrown away)."""
        return AuthoredState(dict(self._rotation), tuple(self._spoken))

    def restore(self, saved: AuthoredState) -> None:
        self._rotation, self._spoken = dict(saved.rotation), list(saved.spoken)

    def candidates(
        self,
        current: AngerBand,
        reading: ToneReading | None,
        meaning: TurnMeaning | None,
        learner_text: str = "",
    ) -> Candidates:
        """Replies to the turn's moves (what it does, then how it sounds), then the band's
        lines and the neighbouring bands'."""
        replies: list[Candidate] = []
        moves: dict[str, float] = {}
        if meaning is not None:
            moves |= {m: c + MEANING_FIT_BONUS for m, c in meaning.moves.items()}
        if reading is not None:
            for tag, confidence in reading.tags.items():
                moves[tag] = max(moves.get(tag, 0.0), confidence)
        if meaning is not None and meaning.neutral and "read-back" in meaning.neutral:
            # the customer's account read back: confirmed, as a restatement is
            moves["paraphrase"] = max(moves.get("paraphrase", 0.0), READ_BACK_FIT)
        if checks_back(learner_text):
            # "... have I got that right": asks for a yes, not leave to ask (realism round 13:
            # "That's fine. I have everything to hand, so please go ahead.")
            moves["paraphrase"] = max(moves.pop("question", 0.0), READ_BACK_FIT)
        if meaning is not None and (meaning.owns or "read-back" in (meaning.neutral or "")):
            # "nobody came or called you... that's on us": a turn that owns the failure, or
            # reads the customer's account back, blames nobody, whatever third party it names
            # (realism round 13: "My fault?" and "Whoever's fault it is" to such turns)
            for tag in OWNED_AWAY:
                moves.pop(tag, None)
        for i, reply in enumerate(self.scenario.replies):
            if current not in reply.bands:
                continue
            fit = max((moves.get(w, 0.0) for w in reply.when), default=0.0)
            threshold = REPLY_MIN_CONFIDENCE + (MEANING_FIT_BONUS if reply.when[0] in MOVES else 0)
            if fit >= threshold:
                replies += [Candidate(t, f"reply:{i}", fit) for t in reply.lines]
        band_lines: list[Candidate] = []
        at = ALL_BANDS.index(current)
        for b in ALL_BANDS:
            steps = abs(ALL_BANDS.index(b) - at)
            if steps <= 1:
                lines = self.scenario.lines.for_band(b)
                band_lines += [Candidate(t, f"line:{b}", BAND_LINE_FIT, steps) for t in lines]
        return Candidates(replies, band_lines)

    def choose(
        self, candidates: list[Candidate], learner_text: str, context: LineContext
    ) -> CustomerLine | None:
        """The best of ``candidates`` not yet said; remembered as said."""
        said = [*context.earlier, *self._spoken]
        best = self.chooser.choose(
            candidates,
            learner_text,
            said,
            context.given,
            context.offered,
            context.asked,
            context.tags,
        )
        if best is None:
            return None
        self._spoken.append(best.candidate.text)
        return CustomerLine(
            best.candidate.text, source="authored", notes=[f"authored {best.candidate.key}"]
        )

    def best_or_again(
        self, candidates: list[Candidate], learner_text: str, context: LineContext
    ) -> CustomerLine:
        """The best candidate; when every one has been said, the band's lines come round
        again (an aggrieved customer repeats the grievance), never asking for what was given."""
        chosen = self.choose(candidates, learner_text, context)
        if chosen is not None:
            return chosen
        current = context.band
        lines = self.scenario.lines.for_band(current)
        fitting = [
            t
            for t in lines
            if not (asks_for(t) & context.given) and fits_turn(t, context.offered, context.asked)
        ] or lines
        text = self.next_band_line(current, fitting, context.earlier[-2:])
        return CustomerLine(text, source="authored", notes=[f"authored line:{current} (again)"])

    def next_band_line(self, band: AngerBand, options: list[str], avoid: Sequence[str] = ()) -> str:
        """The next of ``options`` (the band's lines) in turn, skipping any in ``avoid``
        while others remain."""
        start = self._rotation.get(band, 0)
        fresh = set(unsaid(options, avoid))
        for i in range(start, start + len(options)):
            if options[i % len(options)] in fresh:
                break
        else:
            i = start
        self._rotation[band] = i + 1
        return options[i % len(options)]

    def answer(
        self, learner_text: str, said: Sequence[str], meaning: TurnMeaning | None = None
    ) -> CustomerLine | None:
        """The pack's answer to a question about a known fact or an arrangement.

        Asked again for something the customer already gave (``reasks_given``), the
        customer says it again the short way (the answer's later lines), once.
        """
        reasked = set(meaning.reasked) if meaning is not None else set()
        invited = invites_complaint(learner_text)
        answers = list(self.scenario.answers)
        if invited:  # "What's up with the kettle?" asks for the fault, not the model
            answers.sort(key=lambda a: a.id != PROBLEM_ANSWER)
        for answer in answers:
            asked = asked_about(learner_text, answer.topics) or (
                invited and answer.id == PROBLEM_ANSWER
            )
            if not asked and answer.id not in reasked:
                continue
            fresh = unsaid(answer.lines, [*said, *self._spoken])
            if answer.id in reasked:
                fresh = [t for t in fresh if t != answer.lines[0]]
            # "I'll hold" answers a turn that asked the customer to hold, not one that
            # only said "minute" or "wait" ("I won't make you wait again"); a reference the
            # learner has just read out is not given back to them
            fresh = [
                t
                for t in fresh
                if fits_turn(t, True, asks_customer(learner_text))
                and not read_back(t, learner_text)
            ]
            if fresh:
                self._spoken.append(fresh[0])
                notes = [f"answer: {answer.id}"] + (["asked again"] if answer.id in reasked else [])
                return CustomerLine(fresh[0], source="authored", notes=notes)
        return None

    def stage_direction(
        self, current: AngerBand, call: list[Turn], text: str, learner: Turn | None
    ) -> str | None:
        """A stage direction for this moment, never one already shown in the call.

        Shown at the opening, when the anger band changes, on a big move (a jump or a
        real fall) and at least every third line; otherwise the line stands alone, so
        that the directions keep meaning something. It is the unshown direction of the
        customer's band (risk indicators first at angry and furious, where the pack has
        them) that best suits the line being said, else one of the neighbouring band
        the anger is moving towards; none at all rather than a repeat.
        """
        sc = self.scenario
        if sc.setting != "face_to_face" or sc.stage_directions is None:
            return None
        shown: list[str] = []
        shown_band: AngerBand | None = None
        since = 0
        mood: AngerBand | None = None
        for turn in call:
            if turn.speaker == "learner" and turn.anger is not None:
                mood = turn.anger.band
            elif turn.speaker == "customer":
                since += 1
                if turn.stage_direction:
                    shown.append(turn.stage_direction)
                    shown_band, since = mood, 0
        moment = (
            not shown
            or shown_band != current
            or since >= 2
            or (
                learner is not None
                and learner.anger is not None
                and abs(learner.anger.delta) >= MOMENT_DELTA
            )
        )
        if not moment:
            return None
        at = ALL_BANDS.index(current)
        pools: list[list[str]] = []
        delta = learner.anger.delta if learner is not None and learner.anger is not None else 0.0
        # a risk indicator (leaning over the counter, blocking the way out) shows anger
        # growing, not a turn that calmed him (realism round 14: a finger jabbed at "I'm
        # calling my colleague out to join us")
        rising = learner is None or learner.anger is None or delta > RISK_FROM
        if sc.risk_indicators and current in ("angry", "furious") and rising:
            pools.append(list(sc.risk_indicators))
        pools.append(sc.stage_directions.for_band(current))
        # borrowed only from the band the customer is heading for: a calmer gesture when
        # anger has just risen would contradict the line
        toward = at + (1 if delta > 0 else -1)
        if 0 <= toward < len(ALL_BANDS):
            pools.append(sc.stage_directions.for_band(ALL_BANDS[toward]))
        for pool in pools:
            fresh = unsaid(pool, shown)
            if fresh:
                candidates = [Candidate(d, "stage", 0.0) for d in fresh]
                best = self.chooser.choose(candidates, text, [])
                return best.candidate.text if best is not None else fresh[0]
        return None
