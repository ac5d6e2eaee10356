"""Cutting learner turns into clauses: the unit a concept is found in.

A debrief sentence often names several things at once ("she slammed the box down, her
voice was raised and she was talking quickly"), so concepts are looked for clause by
clause: sentences first, then at ``;`` ``,`` dashes and the connectives below, wherever
both sides keep at least ``MIN_WORDS`` words; a sentence of fewer than
``MIN_SENTENCE_WORDS`` is read with the next one. Unpunctuated speech-recognition text
("he was shouting and he said two hours twice so i knew") is cut the same way, on its
connectives. Offsets are kept, so a clause can be quoted verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from calmline.evaluate.evidence import sentence_spans
from calmline.text import words

MIN_WORDS = 3  # a side shorter than this stays with its neighbour ("sorry and thanks")
MIN_SENTENCE_WORDS = 4  # a shorter sentence is read with its neighbour ("Oh no, okay.")
CONNECTIVES = ("and", "then", "so", "because", "but", "cos", "cause", "which", "plus", "while")
_BOUNDARY = re.compile(
    r"\s*[;,]\s*|\s+[-\u2013\u2014]+\s+|\s*\u2026\s*|(?<=\s)(?=(?:"
    + "|".join(CONNECTIVES)
    + r")\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Span:
    """A stretch ``text[start:end]`` of one turn."""

    start: int
    end: int


def word_count(text: str) -> int:
    """Words in ``text``, "don't" one word."""
    return len(words(text, apostrophes="'"))


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and not (text[start].isalnum() or text[start] in "'\"£$"):
        start += 1
    while end > start and not (text[end - 1].isalnum() or text[end - 1] in "'\"%?!."):
        end -= 1
    return Span(start, end) if end > start else None


def clause_spans_in(text: str, start: int, end: int) -> list[Span]:
    """The clauses of the sentence ``text[start:end]``."""
    cuts = [m.start() for m in _BOUNDARY.finditer(text, start, end) if start < m.start() < end]
    ends = {m.start(): m.end() for m in _BOUNDARY.finditer(text, start, end)}
    spans: list[Span] = []
    seg_start = start
    for cut in cuts:
        left = text[seg_start:cut]
        right = text[ends.get(cut, cut) : end]
        if word_count(left) >= MIN_WORDS and word_count(right) >= MIN_WORDS:
            span = _trim(text, seg_start, cut)
            if span is not None:
                spans.append(span)
            seg_start = ends.get(cut, cut)
    last = _trim(text, seg_start, end)
    if last is not None:
        spans.append(last)
    return spans


@dataclass(frozen=True)
class SentenceClauses:
    """One sentence of a turn and the clauses it was cut into."""

    sentence: Span
    clauses: list[Span]


def _merged_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans, a sentence of fewer than ``MIN_SENTENCE_WORDS`` words joined to the next
    (or, last in the turn, to the one before): "Oh no, okay." or "Will do." means
    little alone, and a classifier reading it alone guesses."""
    spans = sentence_spans(text)
    out: list[tuple[int, int]] = []
    pending: int | None = None
    for start, end in spans:
        if pending is not None:
            start, pending = pending, None
        if word_count(text[start:end]) < MIN_SENTENCE_WORDS:
            pending = start
            continue
        out.append((start, end))
    if pending is not None:
        if out:
            out[-1] = (out[-1][0], spans[-1][1])
        else:
            out.append((pending, spans[-1][1]))
    return out


def split_turn(text: str) -> list[SentenceClauses]:
    """Every sentence of ``text`` with its clauses (a one-clause sentence has one)."""
    out = []
    for start, end in _merged_sentences(text):
        clauses = clause_spans_in(text, start, end)
        if clauses:
            out.append(SentenceClauses(Span(start, end), clauses))
    return out


def clauses(text: str) -> list[str]:
    """The clause texts of ``text``, in order (a convenience for tests and tools)."""
    return [text[c.start : c.end] for s in split_turn(text) for c in s.clauses]
