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
from calmline.customer.scenario import Scenario

# What frames an option and is not part of it: "you can have", "do you want me to", "either".
_FRAME = re.compile(
    r"^\W*((so|and|or|um|er|erm|uh|well|right|okay|ok|either|then)\W+)*"
    r"(((do|would) you (want|like|prefer)( me)?( to)?|shall i|should i|i can|we can|i could"
    r"|we could|you can (have|choose|pick)|you could have|how about|whether)\W+)?"
    r"((either)\W+)?",
    re.IGNORECASE,
)
_TAIL = re.compile(
    r"\W*(,|\s)\s*(it's |its |it is )?(your choice|up to you|your call|either's|either is"
    r"|whichever)\b.*$|\W+$",
    re.IGNORECASE,
)
_SWAP = {"you": "me", "your": "my", "yours": "mine", "yourself": "myself"}
MAX_OPTION_WORDS = 14


def _in_own_words(option: str) -> str:
    words = [_SWAP.get(w.lower(), w) for w in option.split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def options(turn: str) -> list[str]:
    """The options of the choice in ``turn`` ("a new one", "the money back on your card"),
    or [] when it puts no choice."""
    for sentence in re.split(r"(?<=[.!?])\s+", turn.replace("’", "'")):
        parts = re.split(r"\s*,?\s+\bor\b\s+", sentence, flags=re.IGNORECASE)
        if len(parts) != 2:
            continue
        # the clause of the first option starts after its last comma ("..., so you can have")
        first = re.split(r",\s*|\bso\b\s+", parts[0])[-1]
        out = [_TAIL.sub("", _FRAME.sub("", p)).strip() for p in (first, parts[1])]
        if all(out) and all(len(o.split()) <= MAX_OPTION_WORDS for o in out):
            return out
    return []


def chosen(turn: str, scenario: Scenario) -> str | None:
    """The customer's pick, said as they would ("A new one, please."), when ``turn`` puts a
    choice between two of the pack's acceptable resolutions; else None."""
    opts = options(turn)
    if not opts:
        return None
    ranked = []
    for option in opts:
        rank = next(
            (
                i
                for i, resolution in enumerate(scenario.will_accept)
                if any(affirmed_phrase_in(option, p) for p in resolution.phrases)
            ),
            None,
        )
        ranked.append((len(scenario.will_accept) if rank is None else rank, option))
    if all(rank == len(scenario.will_accept) for rank, _ in ranked):
        return None  # neither option is something this customer asked for
    _, best = min(ranked, key=lambda r: r[0])
    return f"{_in_own_words(best)}, please."
