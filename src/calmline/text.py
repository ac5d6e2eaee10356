"""Text the way every stage reads it: normalising, word tokens, and sentence splitting.

``normalise`` and ``words`` are the one implementation behind tone reading, evidence
quotes and phrase matching, the customer's line checks and the clause splitter; the
options name the few places where a caller needs something different (ASCII folding
for quotes, apostrophes kept inside words, "£12.50" kept whole).

Sentence splitting is one grammar too (``SentenceRules``): a sentence ends at whitespace
after ``.``, ``!`` or ``?`` (``PLAIN``); speech synthesis (``SPOKEN``: abbreviations,
closing quotes, line breaks), tone reading (``TONE``: semicolons and spaced dashes) and
evidence quotes (``EVIDENCE``: character offsets, no space needed, decimals kept whole)
name their differences as rules, not as their own splitters.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from functools import cache

_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "`": "'"}
_QUOTES = str.maketrans({**_APOSTROPHES, "\u201c": '"', "\u201d": '"'})
# the acute accent too ("don´t", typed on some keyboards); normalise() keeps it unless folding
_ANY_APOSTROPHE = str.maketrans({**_APOSTROPHES, "\u00b4": "'"})


def normalise(text: str, *, fold: bool = False) -> str:
    """Lower case, straight quotes, apostrophes removed ("don't" -> "dont"), whitespace
    collapsed; other punctuation and accents are kept (tone cues read them).

    ``fold``: also fold accents to ASCII ("café" -> "cafe") and turn every other
    character into a single space, so only words remain ("£12.50," -> "12 50"). For
    comparing quotes and phrases regardless of punctuation (evidence, rubric phrases,
    concept cues).
    """
    text = text.translate(_QUOTES)
    if fold:
        text = _fold_ascii(straight_apostrophes(text))
    text = text.lower().replace("'", "")
    if fold:
        return " ".join(words(text))
    return " ".join(text.split())


def straight_apostrophes(text: str) -> str:
    """``’ ‘ ` ´`` as a straight ``'``, character for character (offsets still hold)."""
    return text.translate(_ANY_APOSTROPHE)


def _fold_ascii(text: str) -> str:
    """Accents dropped, characters other than letters, digits and ``'`` as spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(
        ch if ch.isalnum() or ch == "'" or unicodedata.combining(ch) else " " for ch in decomposed
    )
    return kept.encode("ascii", "ignore").decode("ascii")


def words(text: str, *, apostrophes: str = "", amounts: bool = False) -> list[str]:
    """Lower-case word tokens: runs of ASCII letters and digits.

    Anything else separates words: "well-known" is two words, so is "don't" unless
    ``apostrophes`` says otherwise, and "résumé" is "r", "sum" unless the text was
    folded first (``normalise(text, fold=True)``).

    ``apostrophes``: the apostrophe characters that stay inside a word, each returned
    as a straight ``'``: ``"'"`` keeps "don't" whole (word counts, the fake embedder);
    ``"'\u2019"`` also the typographic one a model writes (the customer's lines).
    ``amounts``: a ``£`` sign and a decimal, thousands or time part stay with their
    number ("£12.50", "£1,049.00", "09:15"), for checking the figures a line names.
    """
    lowered = text.lower()
    for mark in apostrophes:
        if mark != "'":
            lowered = lowered.replace(mark, "'")
    return _word_pattern(bool(apostrophes), amounts).findall(lowered)


@cache
def _word_pattern(apostrophes: bool, amounts: bool) -> re.Pattern[str]:
    inside = "a-z0-9" + ("£" if amounts else "") + ("'" if apostrophes else "")
    tail = r"(?:[.,:][0-9]+)*" if amounts else ""
    return re.compile(f"[{inside}]+{tail}")


@dataclass(frozen=True)
class SentenceRules:
    """Where one sentence ends and the next begins."""

    marks: str = ".!?"  # characters that end a sentence
    # a mark ends a sentence only where whitespace follows ("e.g." stays whole); without
    # it a sentence ends after any run of marks ("3.5" stays whole with ``decimals``)
    before_space: bool = True
    closers: str = ""  # one closing quote or bracket after the mark stays with its sentence
    dashes: bool = False  # a dash with spaces round it ends one too
    line_breaks: bool = False  # so does a line break
    abbreviations: tuple[str, ...] = ()  # "Mr." and the like do not end one
    decimals: bool = False  # "3.5" is one number, not two sentences


PLAIN = SentenceRules()
SPOKEN = SentenceRules(
    marks=".!?…",
    closers="\"'”’)]",
    line_breaks=True,
    abbreviations=("Mr.", "Mrs.", "Ms.", "Dr.", "St.", "e.g.", "i.e.", "etc."),
)
TONE = SentenceRules(marks=".!?;", dashes=True)
EVIDENCE = SentenceRules(marks=".!?…", before_space=False, decimals=True)


@cache
def _boundary(rules: SentenceRules) -> re.Pattern[str]:
    marks = f"[{re.escape(rules.marks)}]"
    if rules.before_space:
        keep = "".join(rf"(?<!\b{re.escape(a)})" for a in rules.abbreviations)
        ends = [keep + rf"(?<={marks})\s+"]
        if rules.closers:
            ends.append(rf"(?<={marks}[{re.escape(rules.closers)}])\s+")
    else:
        number = r"(?!(?<=\d\.)\d)" if rules.decimals else ""
        ends = [rf"(?<={marks})(?!{marks}){number}"]
    if rules.dashes:
        ends.append(r"\s+[-\u2013\u2014]+\s+")
    if rules.line_breaks:
        ends.append(r"\n+")
    return re.compile("|".join(ends))


def sentence_parts(text: str, rules: SentenceRules = PLAIN) -> list[str]:
    """``text`` cut at each sentence end, as it is: the last part may be unfinished, and no
    part is dropped or trimmed (joining them with the ends gives ``text`` back)."""
    return _boundary(rules).split(text)


def sentence_spans(text: str, rules: SentenceRules = PLAIN) -> list[tuple[int, int]]:
    """(start, end) of each sentence in ``text``, whitespace trimmed; a piece with nothing
    but whitespace and marks (the "..." a transcript opens with) is not a sentence."""
    spans: list[tuple[int, int]] = []
    start, last = len(text) - len(text.lstrip()), len(text.rstrip())
    for end_match in [*_boundary(rules).finditer(text, start, last), None]:
        stop = last if end_match is None else end_match.start()
        piece = text[start:stop]
        if piece.strip(rules.marks + string.whitespace):
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + len(piece.rstrip())))
        if end_match is not None:
            start = end_match.end()
    return spans


def split_sentences(text: str, rules: SentenceRules = PLAIN) -> list[str]:
    """The sentences of ``text``, trimmed, empty ones dropped."""
    return [text[start:end] for start, end in sentence_spans(text, rules)]


def sentences_and_rest(text: str) -> tuple[list[str], str]:
    """Complete sentences in ``text`` and the unfinished rest."""
    parts = sentence_parts(text)
    if len(parts) == 1:
        return [], text
    return [p for p in parts[:-1] if p], parts[-1]
