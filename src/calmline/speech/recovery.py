"""Finding stretches of speech that Whisper lost, and splicing a second reading in.

On long, repetitive speech (the same few sentences again and again) Whisper loses its
timestamps: one "segment" then covers a whole 30-second window while its text repeats
one sentence or skips several, and sometimes a window gives no text at all. A
30-minute file of repeated sentences printed about 43 of its 370 sentences, with no
warning. Two signs give it away, both measured against the audio itself:

* speech (by the Silero VAD) with no recognised word in it for ``MIN_GAP_S`` or more;
* a runaway segment: longer than ``LONG_SEGMENT_S`` (normal segments are a sentence or
  two), or with more than ``MAX_WORDS_PER_S`` words a second (a loop repeating one
  sentence more often than it was said; people speak 2 to 4 words a second).

Each suspect span is read again in short pieces cut at the pauses (``PIECE_S`` at
most), so that no decode sees enough repetition to fall into a loop, and the new words
replace the old ones there. Speech still without words after that is reported
(``Transcription.unrecovered``), never dropped in silence. Pure functions over times
in seconds; ``stt.WhisperTranscriber`` runs the model.
"""

from __future__ import annotations

from collections.abc import Sequence

from calmline.models import Segment, Transcription, WordTiming

Span = tuple[float, float]
MIN_GAP_S = 2.0
LONG_SEGMENT_S = 20.0
MAX_WORDS_PER_S = 6.0
PIECE_S = 10.0
_WORD_PAD_S = 0.3  # a word's timing is approximate at its edges


def _merge(spans: Sequence[Span], join_s: float = 0.0) -> list[Span]:
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1] + join_s:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _minus(spans: Sequence[Span], holes: Sequence[Span]) -> list[Span]:
    """``spans`` with every part inside ``holes`` removed."""
    out: list[Span] = []
    for start, end in spans:
        pieces = [(start, end)]
        for h_start, h_end in holes:
            pieces = [
                part
                for s, e in pieces
                for part in ((s, min(e, h_start)), (max(s, h_end), e))
                if part[1] > part[0]
            ]
        out += pieces
    return out


def wordless_speech(speech: Sequence[Span], words: Sequence[WordTiming]) -> list[Span]:
    """Stretches of ``speech`` at least ``MIN_GAP_S`` long in which no word was recognised."""
    heard = _merge([(w.start - _WORD_PAD_S, w.end + _WORD_PAD_S) for w in words])
    return [(s, e) for s, e in _minus(_merge(speech, 0.5), heard) if e - s >= MIN_GAP_S]


def _runaway(segment: Segment) -> bool:
    seconds = segment.end - segment.start
    words = len(segment.text.split())
    return seconds > LONG_SEGMENT_S or words > MAX_WORDS_PER_S * max(seconds, 1.0)


def suspect_spans(speech: Sequence[Span], result: Transcription) -> list[Span]:
    """Where to read again: wordless speech, and runaway segments."""
    runaway = [(s.start, s.end) for s in result.segments if _runaway(s)]
    return _merge([*wordless_speech(speech, result.words), *runaway])


def pieces(speech: Sequence[Span], span: Span, most_s: float = PIECE_S) -> list[Span]:
    """The speech inside ``span`` grouped into pieces of at most ``most_s``, cut at pauses
    (a stretch of speech longer than ``most_s`` is cut every ``most_s``)."""
    inside = [(max(s, span[0]), min(e, span[1])) for s, e in speech if e > span[0] and s < span[1]]
    cut: list[Span] = []
    for start, end in inside:
        while end - start > most_s:
            cut.append((start, start + most_s))
            start += most_s
        cut.append((start, end))
    out: list[Span] = []
    for start, end in cut:
        if out and end - out[-1][0] <= most_s:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def splice(result: Transcription, span: Span, parts: Sequence[Transcription]) -> Transcription:
    """``result`` with its segments and words inside ``span`` replaced by ``parts`` (whose
    times are already in the same clock); a segment counts as inside by its middle."""

    def inside(start: float, end: float) -> bool:
        return span[0] <= (start + end) / 2 <= span[1]

    segments = [s for s in result.segments if not inside(s.start, s.end)]
    words = [w for w in result.words if not inside(w.start, w.end)]
    for part in parts:
        segments += part.segments
        words += part.words
    segments.sort(key=lambda s: s.start)
    words.sort(key=lambda w: w.start)
    return result.model_copy(
        update={
            "segments": segments,
            "words": words,
            "text": " ".join(s.text for s in segments if s.text).strip(),
        }
    )


def shifted(part: Transcription, offset: float) -> Transcription:
    """``part``'s segments and words moved ``offset`` seconds later."""
    return part.model_copy(
        update={
            "segments": [
                s.model_copy(update={"start": s.start + offset, "end": s.end + offset})
                for s in part.segments
            ],
            "words": [
                w.model_copy(update={"start": w.start + offset, "end": w.end + offset})
                for w in part.words
            ],
            "unrecovered": [
                s.model_copy(update={"start": s.start + offset, "end": s.end + offset})
                for s in part.unrecovered
            ],
        }
    )


def unrecovered(speech: Sequence[Span], result: Transcription) -> list[Segment]:
    """Speech still without words after the second reading, as empty segments."""
    return [Segment(start=s, end=e, text="") for s, e in wordless_speech(speech, result.words)]


def clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"
