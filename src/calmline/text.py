"""Splitting text into sentences, the one way the customer and the meaning reader do it.

A sentence ends at whitespace after ``.``, ``!`` or ``?``. Speech synthesis
(``speech.tts.split_sentences``: abbreviations, closing quotes, line breaks), tone
reading (``tone.text.sentences``: dashes too) and evidence quotes
(``evaluate.evidence.sentence_spans``: character offsets) need more and keep their own
rules, documented there.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


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
