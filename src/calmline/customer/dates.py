"""A date of the customer's own story read back wrong, and the customer's correction.

"So I see the engineer attended on Wednesday the twelfth, is that correct?" to a customer whose
engineer came on Tuesday 11 March (Wednesday was the day nobody came) is answered "No, it was
Tuesday 11 March.", not "Yes, that's it exactly" (realism round 12: a fact contradicted). The
event is found by the words of a fact's key ("engineer_arrived": the engineer), the date by
its weekday and day of the month; only the past is checked back ("the engineer will come on
Friday" is a booking, not a read-back).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from calmline.customer.scenario import line_words

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_MONTHS = "january|february|march|april|june|july|august|september|october|november|december"
_DAY = re.compile(
    rf"\b(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?(?=\s+(?:of\s+)?(?:{_MONTHS})\b)"
    r"|\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b",
    re.IGNORECASE,
)
_COMPOUND = re.compile(
    r"\b(?:the\s+)?(twenty|thirty)[\s-]"
    r"(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)\b"
)
_DAY_WORDS = "|".join(o for o in _ORDINALS if o not in ("first", "second"))  # "the first pair"
_ORDINAL_DAY = re.compile(
    rf"\bthe\s+({_DAY_WORDS})\b|\b({'|'.join(_ORDINALS)})\s+of\s+(?:{_MONTHS})\b"
)
# the past, told back: not a booking or a promise
_PAST = re.compile(
    r"\b(attended|came|arrived|visited|turned up|showed|was|were|delivered|reported|rang|called"
    r"|rejected|booked|ordered|paid|bought|stopped|handed|cancelled|happened|went|got)\b",
    re.IGNORECASE,
)
_FUTURE = re.compile(
    r"\b(will|'ll|going to|gonna|shall|booked (for|in)|slot|appointment|earliest)\b"
    r"|\bfor (this |next )?(monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow)\b"
    r"|\b(i|we)('ve| have) (just )?(booked|arranged|scheduled)\b|\bill\b|\bbackdat"
    r"|\b(i|we) (can|could) (book|send|get|arrange|have|do|offer)\b",
    re.IGNORECASE,
)
_KEY_STOP = frozenset({"the", "of", "on", "at", "date", "day", "time", "when", "first", "last"})
# words that name the same event as a fact's key
_SAME = {
    "arrived": ("arrived", "attended", "came", "visited", "turned", "showed"),
    "delivered": ("delivered", "delivery", "arrived"),
    "reported": ("reported", "rang", "called", "logged"),
    "promised": ("promised", "supposed", "due"),
}


def _dates(text: str) -> list[tuple[str | None, int | None]]:
    """(weekday, day of the month) of the dates in ``text`` (either part may be None): one
    when the text names one date, [] when none, two when it names more (ambiguous)."""
    lowered = text.lower()
    days = [int(a or b) for a, b in _DAY.findall(lowered)]
    for tens, unit in _COMPOUND.findall(lowered):  # "the twenty-fourth"
        days.append((20 if tens == "twenty" else 30) + _ORDINALS[unit])
    rest = _COMPOUND.sub(" ", lowered)
    weekdays = list(dict.fromkeys(w for w in line_words(rest) if w in _WEEKDAYS))
    # an ordinal is a day only as "the eighth" or "eighth of March" ("a fourth outage" is not)
    days += [_ORDINALS[a or b] for a, b in _ORDINAL_DAY.findall(rest)]
    days = list(dict.fromkeys(days))
    if not weekdays and not days:
        return []
    if len(weekdays) > 1 or len(days) > 1:
        return [(weekdays[0] if weekdays else None, days[0] if days else None)] * 2
    return [(weekdays[0] if weekdays else None, days[0] if days else None)]


def _agrees(told: tuple[str | None, int | None], fact: tuple[str | None, int | None]) -> bool:
    (weekday, day), (fact_weekday, fact_day) = told, fact
    if weekday and fact_weekday and weekday != fact_weekday:
        return False
    return not (day and fact_day and day != fact_day)


_NOT = frozenset({"nobody", "never", "didn't", "not", "hasn't", "haven't", "wasn't", "no"})
NEAR = 5  # the most words between the event ("engineer attended") and its date


def _names_event(key: str, clause_words: list[str]) -> bool:
    """Does the clause name the event of this fact's key, near the date it tells?"""
    parts = [p for p in key.lower().split("_") if p not in _KEY_STOP]
    at = [
        i
        for i, w in enumerate(clause_words)
        if _DATE_WORD.fullmatch(w) or (w in _ORDINALS and i and clause_words[i - 1] == "the")
    ]
    for part in parts:
        forms = _SAME.get(part, (part,))
        for i, w in enumerate(clause_words):
            # "nobody came", "never turned up": when it did not happen is no date of it
            if (
                any(w.startswith(f[:6]) for f in forms)
                and any(abs(i - j) <= NEAR for j in at)
                and not _NOT.intersection(clause_words[max(0, i - 2) : i])
            ):
                return True
    return False


_DATE_WORD = re.compile(rf"{'|'.join(_WEEKDAYS)}|{_MONTHS}|\d{{1,2}}(st|nd|rd|th)?")


def misread_date(learner_text: str, facts: Mapping[str, str]) -> str | None:
    """The date of the customer's story the learner just read back wrong ("Tuesday 11 March"),
    if any; None when every date told back agrees with the facts or nothing was told back."""
    text = learner_text.replace("’", "'")
    # each clause apart: "He came on Tuesday the 11th, the repair was promised for yesterday"
    # and each side of "and": "ordered on the sixth and marked delivered Saturday the eighth"
    for sentence in re.split(r"(?<=[.!?,;])\s+|\s+and\s+", text):
        told = _dates(sentence)
        if len(told) != 1 or not _PAST.search(sentence) or _FUTURE.search(sentence):
            continue
        words = line_words(sentence.lower())
        named = [(key, value) for key, value in facts.items() if _names_event(key, words)]
        dated = [(value, d[0]) for _, value in named if len(d := _dates(value)) == 1]
        # a fact that tells the same event in its words ("tracking_says: delivered ... on
        # Saturday 8 March") may hold the date the learner means
        also = [d[0] for v in facts.values() if _shares_word(v, words) and (d := _dates(v))]
        if not dated or any(_agrees(told[0], f) for f in [*(f for _, f in dated), *also]):
            continue
        right = dated[0][1]
        if any(_agrees(d, right) for d in _all_dates(text)):
            continue  # put right in the same turn ("the 14th... no, sorry, the 4th")
        return _spoken(dated[0][0])
    return None


def _shares_word(value: str, words: list[str]) -> bool:
    """Does a fact's value use one of the clause's longer words ("delivered")?"""

    def long(ws: list[str]) -> set[str]:  # longer words, not the names of days and months
        return {w[:7] for w in ws if len(w) >= 7 and w not in _WEEKDAYS and w not in _MONTHS}

    return bool(long(words) & long(line_words(value.lower())))


def _all_dates(text: str) -> list[tuple[str | None, int | None]]:
    return [d for part in re.split(r"[.!?,;]|\.\.\.", text) for d in _dates(part)[:1]]


def _spoken(value: str) -> str:
    """The date part of a fact's value: "16:40 on Tuesday 11 March, 31 hours after" ->
    "Tuesday 11 March"."""
    found = re.search(
        rf"\b(?:(?:{'|'.join(_WEEKDAYS)})\s+)?\d{{1,2}}\s+(?:{_MONTHS})\b", value, re.IGNORECASE
    )
    return found.group(0) if found else value.split(",")[0]
