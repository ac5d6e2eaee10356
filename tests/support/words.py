"""Word sets for tests that compare a line with what was heard or said back.

Letters and apostrophes only: a transcript says "seven" where the line wrote "7", so
figures would only count against the match. (``calmline.text.words`` keeps figures.)
"""

from __future__ import annotations

import re

_LETTER_WORD = re.compile(r"[a-z']+")


def letter_words(text: str) -> set[str]:
    """The set of lower-case words of ``text``, figures left out."""
    return set(_LETTER_WORD.findall(text.lower()))
