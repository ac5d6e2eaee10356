"""A reference read back wrong: the customer corrects it.

"okay ND-558231, one minute" to a customer whose order is ND-558213 is answered "No, it's
ND-558213." by any real customer, before anything else: the learner is about to look up
somebody else's order. A reference is a fact of the pack that looks like one (letters and
at least four digits, or a long run of digits: ``ND-558213``, ``7781 2290``); it is read
back wrong when the learner says one of the same shape that differs in one or two
characters, or by two characters swapped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_REFERENCE = re.compile(r"\b[A-Za-z]{0,4}[- ]?\d[\d -]{2,}\d\b")
MAX_WRONG = 2


def _plain(ref: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", ref).upper()


def references(facts: Mapping[str, str]) -> list[str]:
    """The pack's facts that look like references (at least four digits in a run, not a
    year): an order number, an account, a phone number."""
    out = []
    for value in facts.values():
        for match in _REFERENCE.finditer(str(value)):
            ref = match.group(0).strip(" -")
            year = re.fullmatch(r"(19|20)\d\d", ref)  # "born 30 September 1980"
            if (
                sum(ch.isdigit() for ch in ref) >= 4
                and not re.search(r"[£$€.:,]", ref)
                and not year
            ):
                out.append(ref)
    return out


def _misread(said: str, ref: str) -> bool:
    if said == ref or len(said) != len(ref):
        return False
    # two characters swapped differ in two places: within MAX_WRONG
    wrong = sum(a != b for a, b in zip(said, ref, strict=True))
    return 0 < wrong <= MAX_WRONG


def misread_reference(
    learner_text: str, facts: Mapping[str, str], said: Iterable[str] = ()
) -> str | None:
    """The pack's reference the learner just read back wrong, if any (not one the learner
    read back right in the same turn, nor a number that is somewhere else in the call)."""
    refs = references(facts)
    if not refs:
        return None
    spoken = {_plain(m.group(0)) for m in _REFERENCE.finditer(learner_text)}
    elsewhere = {_plain(m.group(0)) for text in said for m in _REFERENCE.finditer(text)}
    for ref in refs:
        plain = _plain(ref)
        if plain in spoken:
            continue
        digits = re.sub(r"\D", "", plain)
        for got in spoken - elsewhere:
            if _misread(got, plain) or (got.isdigit() and _misread(got, digits)):
                return ref
    return None
