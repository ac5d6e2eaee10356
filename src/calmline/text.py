"""Text the way every stage reads it: normalising, word tokens, and sentence splitting.

``normalise`` and ``words`` are the one implementation behind tone reading, evidence
quotes and phrase matching, the customer's line checks and the clause splitter; the
options name the few places where a caller needs something different (ASCII folding
for quotes, apostrophes kept inside words, "£12.50" kept whole).

A sentence ends at whitespace after ``.``, ``!`` or ``?``. Speech synthesis
(``speech.tts.split_sentences``: abbreviations, closing quotes, line breaks), tone
reading (``tone.text.sentences``: dashes too) and evidence quotes
(``evaluate.evidence.sentence_spans``: character offsets) need more and keep their own
rules, documented there.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "`": "'"}
_QUOTES = str.maketrans({**_APOSTROPHES, "\u201c": '"', "\u201d": '"'})
# the acute accent too ("don´t", typed on some keyboards); normalise() keeps it unless folding
_ANY_APOSTROPHE = str.maketrans({**_APOSTROPHES, "\u00b4": "'"})
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


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


def sentence_parts(text: str) -> list[str]:
    """``text`` split after each ``.``, ``!`` or ``?`` followed by whitespace (the last
    part may be unfinished; no part is dropped)."""
    return _SENTENCE_END.split(text)


def sentences_and_rest(text: str) -> tuple[list[str], str]:
    """Complete sentences in ``text`` and the unfinished rest."""
    parts = sentence_parts(text)
    if len(parts) == 1:
        return [], text
    return [p for p in parts[:-1] if p], parts[-1]
