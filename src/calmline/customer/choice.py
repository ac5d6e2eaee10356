"""A choice put to the customer, and the option they take.

"You can have the £34.99 back or a new one, your choice" is answered by any real customer
with their pick before anything else ("A new one, please."), not with a general thank-you
that leaves the learner guessing (realism round 9: two such lines labelled as not
answering). The options are the parts of the offering clause either side of "or"; each is
matched to the pack's acceptable resolutions by their phrases, and the customer takes the
option of the resolution the pack lists first (the packs list what the customer wants most
first), said back in their own words: "you" becomes "me".
"""

from __future__ import annotations

import re

from calmline.customer.line_check import affirmed_phrase_in
from calmline.customer.meaning import OFFER
from calmline.customer.scenario import Scenario

# Words that lead into an option and frame nothing: "so", "um", "well", "either"...
_LEAD = r"^\W*((so|and|or|um|er|erm|uh|well|right|okay|ok|either|then)\W+)*"
_FILLERS = re.compile(_LEAD, re.IGNORECASE)
# What frames an option and is not part of it: "you can have", "do you want me to", "either".
_FRAME = re.compile(
    _LEAD
    + r"(((you're|you are) (entitled|owed) to( have)?|(do|would) you (want|like|prefer|rather)"
    r"( me| we| us| i)?( to)?|shall i|should i"
    r"|(i|we) (can|could)( do| offer( you)?| book( you)?( in)?( for)?| give you)?"
    r"|you can (have|choose|pick)|you could have|how about|whether)\W+)?"
    r"((either)\W+)?",
    re.IGNORECASE,
)
_TAIL = re.compile(
    r"\W*(,|\s)\s*(it's |its |it is )?(your choice|up to you|your call|either's|either is"
    r"|whichever|which (suits|works|is|would|do|one|of))\b.*$|\W+$",
    re.IGNORECASE,
)
_SWAP = {"you": "me", "your": "my", "yours": "mine", "yourself": "myself"}
MAX_OPTION_WORDS = 14


_CONDITION = re.compile(r"^\W*(if|in case|should)\b[^,]*,\s*", re.IGNORECASE)
SAID_BACK_WORDS = 8  # a longer option is taken by its place: "The first one, please."
_PLACE = ("The first one", "The second one")


def _in_own_words(option: str) -> str:
    words = [_SWAP.get(w.lower(), w) for w in option.split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _said(option: str, choice: list[tuple[str, str, bool]]) -> str:
    """The pick as the customer says it: a short option in their own words ("A new one,
    please."), a long one, or one said amid a longer offer ("room 307, bags up within twenty
    minutes"), by its place ("The first one, please.")."""
    at = next((i for i, (said, _, _) in enumerate(choice) if said == option), None)
    if at is None or (len(option.split()) <= SAID_BACK_WORDS and choice[at][2]):
        return f"{_in_own_words(option)}, please."
    return f"{_PLACE[at]}, please."


def _choice(turn: str) -> list[tuple[str, str, bool]]:
    """The two options of the choice in ``turn``, each as (said, whole, entire): the option's
    own words; for the first, everything before "or" in its sentence (which names it: "Room
    305, a sea-view double, free now" is said "free now" but is the sea-view room); and
    whether the words said are the entire option."""
    # "...room 307, bags up in twenty minutes. Or if you'd rather stay put, I'll refund..."
    text = re.sub(r"[.!]\s+(?=or\b)", ", ", turn.replace("’", "'"), flags=re.IGNORECASE)
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        parts = re.split(r"\s*,?\s+\bor\b\s+", sentence, flags=re.IGNORECASE)
        if len(parts) != 2:
            continue
        # the clause of the first option starts after its last comma ("..., so you can have")
        first = re.split(r",\s*|:\s+|\bso\b\s+", parts[0])[-1]
        # the second may come with its condition first: "or if you'd rather stay put, I refund"
        second = _CONDITION.sub("", parts[1])
        out = [_TAIL.sub("", _FRAME.sub("", p)).strip() for p in (first, second)]
        if all(out) and all(len(o.split()) <= MAX_OPTION_WORDS for o in out):
            # cut from a longer offer with no frame of its own ("room 307, bags up within
            # twenty minutes"), the first option is not what it says
            whole = (
                first == parts[0]
                or _FRAME.sub("", first) != _FILLERS.sub("", first)  # "well" frames nothing
                or bool(re.search(r":\s+[^,]*$", parts[0]))  # a list after a colon
            )
            return [(out[0], parts[0], whole), (out[1], out[1], True)]
    return []


def options(turn: str) -> list[str]:
    """The options of the choice in ``turn`` ("a new one", "the money back on your card"),
    or [] when it puts no choice."""
    return [said for said, _, _ in _choice(turn)]


def chosen(turn: str, scenario: Scenario) -> str | None:
    """The customer's pick, said as they would ("A new one, please."), when ``turn`` puts a
    choice between two of the pack's acceptable resolutions; else None."""
    choice = _choice(turn)
    if not choice:
        return None
    ranked = []
    for option, whole, _ in choice:
        rank = next(
            (
                i
                for i, resolution in enumerate(scenario.will_accept)
                if any(affirmed_phrase_in(whole, p) for p in resolution.phrases)
            ),
            None,
        )
        ranked.append((len(scenario.will_accept) if rank is None else rank, option))
    if all(rank == len(scenario.will_accept) for rank, _ in ranked):
        return None  # neither option is something this customer asked for
    _, best = min(ranked, key=lambda r: r[0])
    return _said(best, choice)


# A choice put as an offer ("I can do Thursday morning or Friday afternoon", "would you
# rather we ring first or just knock?"), not a question about the customer's case ("did you
# book direct or through a comparison site?"), which the pack's answers take.
_OFFERS = re.compile(
    r"\b((i|we) can (do|book|offer|send|give|get|arrange|put|move|have)"
    r"|(would|do) you (rather|prefer)|which (would|do) you (want|like|prefer)|whichever|either"
    r"|suits?( you)?( better| best)?|works? (better |best )?for you)\b",
    re.IGNORECASE,
)
_PUT = re.compile(r"\b(you're|you are) (entitled|owed) to\b[^.!?]*\bor\b", re.IGNORECASE)
# the sooner option, which a customer who has waited takes
_SOONER = re.compile(
    r"\b(now|today|tonight|this (morning|afternoon|evening)|first thing|earliest|earlier|asap"
    r"|as soon as|straight away|right away|morning)\b",
    re.IGNORECASE,
)


def picked(turn: str, scenario: Scenario) -> str | None:
    """The customer's pick when ``turn`` offers a choice: the resolution they want most
    (``chosen``), else the sooner option, else the first ("Thursday morning, please.").
    None when the turn offers no choice."""
    # put to them: an offer ("which would you prefer?") or their right stated
    # ("you're entitled to a new one or your money back"); not an account with "or" in it
    # ("nobody came or called you") nor a list of rights ("a hotel, or a refund if you'd rather")
    offered = bool(OFFER.search(turn) or _OFFERS.search(turn))
    if not (offered or _PUT.search(turn)):
        return None
    best = chosen(turn, scenario)
    # rights told, not put as a choice, are picked from only when an option can be said
    # back: "The first one, please." to "you're entitled to be rerouted..., or a full
    # refund" answers a question nobody asked (realism round 14)
    if best is not None and (offered or not best.startswith(_PLACE)):
        return best
    choice = _choice(turn)
    if not choice:
        return None
    opts = [said for said, _, _ in choice]
    sooner = [o for o in opts if _SOONER.search(o)]
    said = _said((sooner or opts)[0], choice)
    return said if offered or not said.startswith(_PLACE) else None


# A yes/no offer to do something: "Shall I book that for you now?", "Do you want me to go
# ahead?". A customer who wants it says so first (realism round 14: "Don't tell me to
# wait" and "You cancelled on us" to offers of a replacement tomorrow and seats at 09:40).
_YES_NO_OFFER = re.compile(
    r"\b(shall i|should i|shall we|do you want me to|would you like me to|want me to"
    r"|is it ok(ay)? if i|are you happy for me to|can i go ahead|should i go ahead)\b[^.!?]*\?",
    re.IGNORECASE,
)
AGREED = "Yes, please."


def agreed(turn: str) -> str | None:
    """ "Yes, please." when ``turn`` ends by offering, yes or no, to do something."""
    return AGREED if _YES_NO_OFFER.search(turn.replace("’", "'")) else None
