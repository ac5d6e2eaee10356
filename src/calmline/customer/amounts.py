"""An amount of the customer's story read back wrong, and the customer's correction.

"and for compensation on this distance it's um two fifty per passenger" to a customer who
has read up on UK261 (£350 per passenger) is answered "No, it's £350 per passenger.", not
"Yes. That's it." (realism round 11: a fact contradicted). An amount is checked only against
the facts that price the same thing: "per passenger", "a night", "for each missed target";
when several facts price it ("£145 per night" booked, "£105 per night" given) an amount that
is any of them is not corrected. Amounts are read as digits ("£350", "4.99") or as people say
them ("three hundred and fifty", "a hundred and five", "two fifty" for 250 or £2.50).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_PER = ("per", "a", "an", "each", "every")
_UNIT_STOP = frozenset({"missed", "the", "one", "single"})
_CUT = frozenset({
    "and", "so", "that", "thats", "which", "but", "or", "it", "you", "we", "i", "under", "in",
    "for", "on", "at", "with", "by", "to", "from", "of",
})  # fmt: skip
_MONEY = frozenset({"pound", "pounds", "quid", "p", "pence"})
UNIT_GAP = 3
ANY = "*"  # a bare "each"  # the most words between an amount and its "per night"


def _number_words(tokens: list[str]) -> tuple[set[float], int]:
    """The values of the spoken number at the start of ``tokens`` and how many tokens it
    takes: "a hundred and five" -> {105}; "two fifty" -> {250, 2.5}; ({}, 0) when none."""
    total, current, used, parts = 0, 0, 0, []
    for i, token in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in _SMALL or token in _TENS:
            current += _SMALL.get(token, 0) + _TENS.get(token, 0)
            parts.append(token)
        elif token == "hundred":  # "hundred and forty five a night": the "a" dropped
            current = max(current, 1) * 100
            parts.append(token)
        elif token == "thousand" and parts:
            total += max(current, 1) * 1000
            current = 0
            parts.append(token)
        elif token == "a" and nxt in ("hundred", "thousand") and not parts:
            parts.append(token)
        elif token == "and" and parts and parts[-1] in ("hundred", "thousand"):
            if not (nxt in _SMALL or nxt in _TENS):
                break
            parts.append(token)
        else:
            break
        used = i + 1
    if not used:
        return set(), 0
    plain = [p for p in parts if p != "a"]
    values = {float(total + current)}
    # "two fifty", "four ninety nine": hundreds or pounds and pence, said short
    if len(plain) >= 2 and plain[0] in _SMALL and 1 <= _SMALL[plain[0]] <= 9:
        rest = sum(_SMALL.get(p, 0) + _TENS.get(p, 0) for p in plain[1:])
        if "hundred" not in plain and "thousand" not in plain and 10 <= rest <= 99:
            values = {float(_SMALL[plain[0]] * 100 + rest), _SMALL[plain[0]] + rest / 100}
    return values, used


_TOKEN = re.compile(r"£?\d[\d,]*(?:\.\d+)?|[a-z]+")


def _amounts(text: str) -> list[tuple[set[float], list[str]]]:
    """Each amount in ``text`` with the words after it."""
    tokens = _TOKEN.findall(text.lower().replace("’", "'"))
    out: list[tuple[set[float], list[str]]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token[0] in "£0123456789":
            digits = token.lstrip("£").replace(",", "")
            try:
                after = tokens[i + 1 : i + 1 + UNIT_GAP + 2]
                out.append(({float(digits)}, ["pounds", *after] if token[0] == "£" else after))
            except ValueError:
                pass
            i += 1
            continue
        values, used = _number_words(tokens[i:])
        if used:
            out.append((values, tokens[i + used : i + used + UNIT_GAP + 2]))
            i += used
        else:
            i += 1
    return out


def _unit(after: list[str]) -> tuple[str, ...]:
    """What an amount prices, from the words after it: "per night" -> ("night",), "for each
    missed service target" -> ("service", "target"); () when it prices nothing named."""
    money = bool(after) and after[0] in _MONEY
    for i, word in enumerate(after[:UNIT_GAP]):
        # a count is not an amount: "four outages a month"; "£4", "four pounds a month",
        # "two fifty per passenger", "twenty five for each target" are
        if i and not money and after[i - 1] != "for":
            return ()
        if word in _PER:
            rest = []
            for w in after[i + 1 : i + 4]:
                if w in _PER or w in _CUT:
                    break
                if w not in _UNIT_STOP:
                    rest.append(w.rstrip("s"))
            # "two hundred and fifty pound each": each of whatever the one priced fact prices
            return tuple(rest) or ((ANY,) if money and word in ("each", "every") else ())
    return ()


def _priced(facts: Mapping[str, str]) -> list[tuple[tuple[str, ...], float, str]]:
    """(unit words, amount, how the fact says it) for every fact that prices a unit."""
    out = []
    for value in facts.values():
        for match in re.finditer(r"£\d[\d,]*(?:\.\d+)?(?:\s+[\w-]+){1,5}", value):
            said = match.group(0)
            amounts = _amounts(said)
            unit = _unit(amounts[0][1]) if amounts else ()
            if unit:
                words = said.split()
                end = max(i for i, w in enumerate(words) if w.lower().rstrip("s,.") in unit)
                out.append((unit, next(iter(amounts[0][0])), " ".join(words[: end + 1])))
    return out


def misread_amount(learner_text: str, facts: Mapping[str, str]) -> str | None:
    """The pack's amount the learner just said wrong ("£350 per passenger"), if any."""
    priced = _priced(facts)
    if not priced:
        return None
    for values, after in _amounts(learner_text):
        unit = _unit(after)
        if not unit:
            continue
        if unit == (ANY,):
            same = [(amount, said) for _, amount, said in priced] if len(priced) == 1 else []
        else:
            same = [(amount, said) for u, amount, said in priced if unit[0] in u]
        if same and not any(abs(v - amount) < 0.005 for v in values for amount, _ in same):
            return same[0][1]
    return None
