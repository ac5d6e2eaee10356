"""A reference read back wrong: the customer corrects it.

"okay ND-558231, one minute" to a customer whose order is ND-558213 is answered "No, it's
ND-558213." by any real customer, before anything else: the learner is about to look up
somebody else's order. A reference is a fact of the pack that looks like one (letters and
at least four digits, or a long run of digits: ``ND-558213``, ``7781 2290``); it is read
back wrong when the learner says one of the same shape that differs in one or two
characters, or by two characters swapped; spelled out as a speech recogniser writes it
("j b three oh four eight one") too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_REFERENCE = re.compile(r"\b[A-Za-z]{0,4}[- ]?\d[\d -]{2,}\d\b")
MAX_WRONG = 2
# A booking code of capitals and digits ("K7PQ2M"): a reference with fewer digits.
_CODE = re.compile(r"\b(?=[A-Z0-9]*\d[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z][A-Z0-9]*[A-Z])[A-Z0-9]{5,8}\b")


def _plain(ref: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", ref).upper()


def references(facts: Mapping[str, str]) -> list[str]:
    """The pack's facts that look like references (at least four digits in a run, not a
    year; or a code of capitals and digits): an order number, an account, a phone number,
    a booking code."""
    out: list[str] = []
    for value in facts.values():
        for match in _REFERENCE.finditer(str(value)):
            ref = match.group(0).strip(" -")
            digits = re.sub(r"\D", "", ref)
            year = re.fullmatch(r"(19|20)\d\d", digits)  # "born 30 September 1980", "Act 2015"
            amount = re.search(r"[£$€.:,]", ref)
            if len(digits) >= 4 and not amount and not year:
                out.append(ref)
        out += [c for c in _CODE.findall(str(value)) if c not in out]
    return out


def _misread(said: str, ref: str) -> bool:
    if said == ref or len(said) != len(ref):
        return False
    # two characters swapped differ in two places: within MAX_WRONG
    wrong = sum(a != b for a, b in zip(said, ref, strict=True))
    return 0 < wrong <= MAX_WRONG


_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "one": "1", "two": "2", "three": "3",
    "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip


def spelled_references(text: str) -> set[str]:
    """References spelled out as a speech recogniser writes them ("j b three oh four eight
    one" -> ``JB30481``, "double two" -> ``22``): runs of single letters and digit words, four
    characters or more with at least three digits, or five with two ("k seven p q two m")."""
    out: set[str] = set()
    run: list[str] = []
    double = False
    # "that's", "it's": a word, not the letter s before a spelt reference
    words = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower().replace("’", "'"))
    for token in [*words, ""]:
        if token == "double":
            double = True
            continue
        piece = _DIGIT_WORDS.get(token) or (token.upper() if len(token) == 1 else None)
        if piece is None and token.isdigit():
            piece = token
        if piece is not None:
            run.append(piece * 2 if double else piece)
            double = False
            continue
        joined = "".join(run)
        digits = sum(ch.isdigit() for ch in joined)
        if (len(joined) >= 4 and digits >= 3) or (len(joined) >= 5 and digits >= 2):
            out.add(joined)
        run, double = [], False
    return out


def _windows(got: str, size: int) -> list[str]:
    """``got`` itself, and when it is longer than a reference, its first and last ``size``
    characters."""
    return [got, got[:size], got[-size:]] if len(got) > size else [got]


def misread_reference(
    learner_text: str, facts: Mapping[str, str], said: Iterable[str] = ()
) -> str | None:
    """The pack's reference the learner just read back wrong, if any (not one the learner
    read back right in the same turn, nor a number that is somewhere else in the call)."""
    refs = references(facts)
    if not refs:
        return None
    spoken = {_plain(m.group(0)) for m in _REFERENCE.finditer(learner_text)}
    spoken |= spelled_references(learner_text) | set(_CODE.findall(learner_text.upper()))
    elsewhere = {_plain(m.group(0)) for text in said for m in _REFERENCE.finditer(text)}
    for ref in refs:
        plain = _plain(ref)
        if plain in spoken:
            continue
        digits = re.sub(r"\D", "", plain)
        # a spelt run may run on into the next number ("k seven p q two n four passengers")
        heard = {w for got in spoken - elsewhere for w in _windows(got, len(plain))}
        if plain in heard or digits in heard:  # "HB-662091... no, sorry, 662019"
            continue
        for got in heard:
            if _misread(got, plain) or (got.isdigit() and _misread(got, digits)):
                return ref
    return None
