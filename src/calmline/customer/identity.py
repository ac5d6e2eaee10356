"""An identity or security check, and the customer's answer to it.

"Can I take your full name and postcode for security?" is answered by any real customer
with their name and postcode, however angry ("It's Jason Reid, postcode RG1 8DN. Now can we
get on?"). The pack's facts hold the details a call centre checks (``postcode``,
``date_of_birth``, ``address``, ``phone``, ``email``); the name is the persona's. A detail
the pack does not hold is not invented: it is left out, and with none known there is no
answer here (the pack's own lines answer instead).
"""

from __future__ import annotations

import re

from calmline.customer.line_check import is_question
from calmline.customer.scenario import Scenario
from calmline.models import AngerBand

# An identity or security check: what the customer is asked to confirm, by detail.
IDENTITY_DETAILS: dict[str, re.Pattern[str]] = {
    "name": re.compile(
        # "a hotel tonight in your name" books, it does not check
        r"\b(full name|(?<!\bin )(?<!under )your name|(the )?name (on|of|for) (the|your)"
        r"|account holder'?s? name"
        r"|name of the account holder|who (am i|i'm|i am) (speaking|talking) (to|with))\b",
        re.I,
    ),
    "postcode": re.compile(r"\bpost ?code\b", re.I),
    "date_of_birth": re.compile(r"\b(date of birth|d ?o ?b|birth date)\b", re.I),
    "address": re.compile(r"\b(first line of (your|the) address|your address|the address)\b", re.I),
    "phone": re.compile(
        r"\b(mobile|phone number|telephone number|contact number|number (we have )?on (the|your)"
        r" (account|order|file|booking))\b",
        re.I,
    ),
    "email": re.compile(r"\b(e-?mail( address)?)\b", re.I),
}
_CHECKING = re.compile(
    r"\b(confirm|verify|verification|check|take|have|get|give|tell|read|spell|what's|what is"
    r"|security|data protection|just need)\b",
    re.I,
)
# how each detail is said, from the pack's fact
_SAID = {
    "name": "{}",
    "postcode": "postcode {}",
    "date_of_birth": "born {}",
    "address": "{}",
    "phone": "mobile {}",
    "email": "email {}",
}
# what an angry customer adds once they have answered
_TAIL: dict[AngerBand, str] = {
    "calm": "",
    "irritated": "",
    "angry": " Now can we get on with it?",
    "furious": " Now sort this out.",
}


def identity_details(turn: str) -> list[str]:
    """The identity details the learner asks the customer to confirm ("can I take your full
    name and postcode for security?"), in the order of ``IDENTITY_DETAILS``; [] if none."""
    text = turn.replace("’", "'")
    asking = any(is_question(s.lower()) for s in re.split(r"(?<=[.!?])\s+", text))
    if not (asking or _CHECKING.search(text)):
        return []
    return [d for d, pattern in IDENTITY_DETAILS.items() if pattern.search(text)]


def identity_answer(turn: str, scenario: Scenario, band: AngerBand) -> str | None:
    """The customer's answer to an identity check in ``turn``: the details asked for that
    the pack holds, or None when the turn checks nothing or none is known."""
    known = {"name": scenario.persona.name, **scenario.facts}
    details = [d for d in identity_details(turn) if known.get(d)]
    # "It's 14 Larch Close, born 3 April 1967", never "It's born..."
    details.sort(key=lambda d: d == "date_of_birth")
    parts = [_SAID[d].format(known[d]) for d in details]
    if not parts:
        return None
    if details == ["date_of_birth"]:
        return f"I was born {known['date_of_birth']}." + _TAIL[band]
    line = "It's " + ", ".join(parts) + "."
    return line + _TAIL[band]
