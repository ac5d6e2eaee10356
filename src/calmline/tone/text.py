"""Text handling for tone reading: sentence windows, negation scope, content words.

Learner text often comes from speech recognition: lower case, no punctuation,
apostrophes dropped ("dont", "im"). Everything here is written to give the same
answer for typed and transcribed forms of a sentence. Normalising and word tokens
are `calmline.text`'s, shared with the other stages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from calmline.text import TONE, normalise, split_sentences, words

WINDOW_WORDS = 10  # unpunctuated speech is also read in overlapping windows of this size
LONG_SEGMENT = 14

_STOPWORD_TEXT = """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can cant could couldnt did didnt do does doesnt doing dont
    down during each few for from further get got had has have having he her here hers him his
    how i id ill im ive if in into is isnt it its itself just let lets like me more most my
    myself no nor not now of off on once only or other our ours out over own really right same
    she should so some still such than that thats the their them then there theres these they
    this those through to too under until up very was wasnt we well were weve what whats when
    where which while who why will with wont would you youd youll your youre youve yours yeah
    yes ok okay um uh erm oh sorry please thank thanks sir madam mr mrs ms just also going
    want one two"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
SECOND_PERSON = frozenset({"you", "your", "youre", "youve", "youd", "youll", "yours"})


def sentences(text: str) -> list[str]:
    """Split on sentence punctuation and dashes; unpunctuated speech stays one piece."""
    return split_sentences(text, TONE)


def segments(text: str) -> list[str]:
    """The pieces of a turn that are embedded: sentences, plus word windows of long ones.

    Speech recognition often returns a whole turn without punctuation; a cue said in
    three words is lost in the average of forty, so long pieces are also read as
    overlapping windows.
    """
    out: list[str] = []
    for sentence in sentences(text) or [text]:
        out.append(sentence)
        tokens = sentence.split()
        if len(tokens) > LONG_SEGMENT:
            step = WINDOW_WORDS // 2
            for start in range(0, len(tokens) - step, step):
                window = " ".join(tokens[start : start + WINDOW_WORDS])
                if window != sentence:
                    out.append(window)
    return out


def is_negated(
    norm_text: str,
    start: int,
    negators: frozenset[str],
    clause_breaks: frozenset[str],
    scope: int = 3,
) -> bool:
    """True when a negator sits within ``scope`` words before ``start`` in the same clause.

    ``norm_text`` is normalised text and ``start`` a character offset in it (the start
    of a pattern hit). "im not sorry" is negated; "no no im so sorry" is not ("no" as
    an interjection is not a negator, only "no" right before the cue), nor is
    "i cant help it but im sorry" (the clause breaks at "but").
    """
    before = words(norm_text[:start])[-scope:]
    for distance, word in enumerate(reversed(before)):
        if word in clause_breaks:
            return False
        if word in negators or (word == "no" and distance == 0):
            return True
    return False


def stem(word: str) -> str:
    """A crude suffix stripper, enough to match "charged" with "charge", "parcels" with "parcel"."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Stemmed words of normalised ``text`` that carry content (no stopwords)."""
    return {stem(w) for w in words(normalise(text)) if w not in STOPWORDS and len(w) > 1}


def share(part: Iterable[str], whole: set[str]) -> float:
    """The share of ``part`` that is in ``whole`` (0 when ``part`` is empty)."""
    items = list(part)
    return sum(1 for w in items if w in whole) / len(items) if items else 0.0


# Capitals that are names, not shouting: "OK", and the initialisms of service talk.
NOT_SHOUTED = frozenset(
    {"OK", "UK", "US", "EU", "ID", "TV", "PC", "GP", "BT", "NHS", "CEO", "ATM", "VAT", "PIN",
     "SMS", "DVD", "HMRC", "DWP", "UC", "PIP", "ESA", "ADR", "CCTV", "FAQ", "IT", "HR", "AM", "PM"}
)  # fmt: skip


def caps_words(original: str) -> int:
    """Words typed in capitals (two or more letters), a typed sign of shouting; a token with
    digits is a reference (K7PQ2N, EL-230947, NW418), not a shout, and neither are common
    initialisms."""
    return sum(
        1
        for token in re.findall(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*", original)
        if len(token) >= 2
        and token.replace("'", "").isalpha()
        and token.isupper()
        and token not in NOT_SHOUTED
    )
