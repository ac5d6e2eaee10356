"""Evidence: verifying quotes against learner turns, and finding
instructions addressed to the marker (which are ignored and listed, never obeyed).

A quote counts only if it appears verbatim (after normalisation) in a LEARNER turn of
the right phase: what the learner *says* they did in the debrief ("I paraphrased") is
not evidence of what they did in the call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from calmline.models import Evidence, Phase, SessionRecord, Turn
from calmline.text import EVIDENCE, normalise, straight_apostrophes
from calmline.text import sentence_spans as _spans

# A full stop between digits ("£7.99", "room 3.14") does not end a sentence.
MAX_QUOTE = 220

# Instructions addressed to whoever marks the transcript. Learner speech is untrusted
# input: these are detected, removed before any check runs, and listed in the report.
_MARKER_PATTERNS = [
    r"\b(note|message|instructions?|memo)\s+(to|for)\s+the\s+(examiner|marker|assessor|grader"
    r"|evaluator|judge|ai|model|system)\b",
    r"\b(examiner|marker|assessor|grader|evaluator|judge)s?\s*[,:]\s*(please\s+)?(award|give|mark"
    r"|score|grade|ignore|pass)\b",
    r"\b(award|give)\s+(me|the learner|this (call|learner|transcript|candidate))?\s*(full|maximum"
    r"|top|all( the)?)\s+(marks|points|credit|scores?)\b",
    r"\bmark\s+(all|every|each|this)\b[^.!?]{0,40}\bas\s+met\b",
    r"\b(all|every)\s+(of\s+the\s+)?(marking\s+)?points?\s+(are|is|were)\s+met\b",
    r"\bignore\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier|your)\s+(instructions"
    r"|rules|criteria|rubric)\b",
    # a lookbehind, not ``^``: searches start at each sentence, where ``^`` never matches
    r"(?<!\w)(system|assistant|developer|instruction)\s*:",
    r"\bverdict\s*[:=]\s*[\"']?met\b",
]
_MARKER = re.compile("|".join(f"(?:{p})" for p in _MARKER_PATTERNS), re.IGNORECASE)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence in ``text``, whitespace trimmed (``text.EVIDENCE``)."""
    return _spans(text, EVIDENCE)


def locate(quote: str, text: str) -> tuple[int, int] | None:
    """Where ``quote`` sits in ``text`` ignoring case, punctuation and apostrophes."""
    words = normalise(quote, fold=True).split()
    if not words:
        return None
    parts = ["'?".join(re.escape(c) for c in word) for word in words]
    folded = straight_apostrophes(text)
    match = re.search(
        r"(?<![a-z0-9])" + r"[^a-z0-9]+".join(parts) + r"(?![a-z0-9])", folded, re.IGNORECASE
    )
    return (match.start(), match.end()) if match else None


def window(text: str, start: int, end: int, limit: int = MAX_QUOTE) -> str:
    """A verbatim stretch of ``text`` around [start, end), at most about ``limit`` chars."""
    if len(text) <= limit:
        return text.strip()
    pad = max(0, (limit - (end - start)) // 2)
    lo, hi = max(0, start - pad), min(len(text), end + pad)
    while lo > 0 and not text[lo - 1].isspace():
        lo -= 1
    while hi < len(text) and not text[hi].isspace():
        hi += 1
    return text[lo:hi].strip()


def evidence_for(turn: Turn, quote: str) -> Evidence:
    has_time = turn.ended_at > 0 or turn.audio is not None
    return Evidence(
        turn_index=turn.index,
        quote=quote,
        start=turn.started_at if has_time else None,
        end=turn.ended_at if has_time else None,
        phase=turn.phase,
    )


def verify_quote(
    quote: str, session: SessionRecord, phases: Sequence[Phase] = ("call",), min_words: int = 2
) -> Evidence | None:
    """The learner turn holding ``quote`` verbatim (normalised), or ``None``.

    Quotes shorter than ``min_words`` words do not count: "yes" is in every call.
    """
    wanted = normalise(quote, fold=True)
    if len(wanted.split()) < min_words:
        return None
    for turn in session.turns:
        if turn.speaker != "learner" or turn.phase not in phases:
            continue
        span = locate(quote, turn.text)
        if span is not None:
            return evidence_for(turn, turn.text[span[0] : span[1]])
    return None


def verified(
    quotes: Iterable[str], session: SessionRecord, phases: Sequence[Phase] = ("call",)
) -> list[Evidence]:
    out: list[Evidence] = []
    for quote in quotes:
        ev = verify_quote(quote, session, phases)
        if ev is not None and all(
            (e.turn_index, e.quote) != (ev.turn_index, ev.quote) for e in out
        ):
            out.append(ev)
    return out


def marker_instructions(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` addressed to the marker: the sentence holding each match, and
    for a fake role line (``SYSTEM: ...``) everything from it to the end of the turn."""
    spans: list[tuple[int, int]] = []
    for start, end in sentence_spans(text):
        match = _MARKER.search(text, start, end)
        if match is None:
            continue
        if re.match(r"\W*(system|assistant|developer|instruction)\s*:", match.group(0), re.I):
            spans.append((start, len(text)))
            break
        spans.append((start, end))
    return spans


def strip_marker_instructions(session: SessionRecord) -> tuple[SessionRecord, list[Evidence]]:
    """A copy of ``session`` with marker-addressed text removed from learner turns, and
    that text as a list of ignored instructions."""
    ignored: list[Evidence] = []
    turns: list[Turn] = []
    for turn in session.turns:
        spans = marker_instructions(turn.text) if turn.speaker == "learner" else []
        if not spans:
            turns.append(turn)
            continue
        kept, last = [], 0
        for start, end in spans:
            ignored.append(evidence_for(turn, turn.text[start:end].strip()))
            kept.append(turn.text[last:start])
            last = end
        kept.append(turn.text[last:])
        turns.append(turn.model_copy(update={"text": " ".join("".join(kept).split())}))
    return session.model_copy(update={"turns": turns}), ignored
