"""Long repetitive speech loses nothing in silence (``speech/recovery.py``).

A 30-minute file of repeated sentences printed about 43 of its 370 sentences, without
a warning. The pure span arithmetic is tested on numbers; the whole path on a short
synthetic file (two espeak-ng sentences alternating 25 times, about 95 s, joined with
sox) with the bundled tiny.en, where a whole 30-second stretch used to come back empty.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from calmline.models import Segment, Transcription, WordTiming
from calmline.speech.recovery import pieces, splice, suspect_spans, wordless_speech
from support.cli import CALMLINE


def _words(*spans: tuple[float, float]) -> list[WordTiming]:
    return [WordTiming(word="sorry", start=s, end=e) for s, e in spans]


def test_speech_without_words_is_found() -> None:
    speech = [(0.0, 2.0), (2.3, 4.0), (10.0, 40.0), (41.0, 41.5)]
    words = _words((0.1, 0.5), (1.0, 1.8), (2.4, 3.9), (41.0, 41.4))
    assert wordless_speech(speech, words) == [(10.0, 40.0)]
    assert wordless_speech(speech, _words((0.1, 3.9), (10.0, 40.0), (41.0, 41.4))) == []


def test_runaway_segments_are_suspect() -> None:
    """A segment over a whole window, or with more words than time to say them."""
    result = Transcription(
        text="",
        segments=[
            Segment(start=0.0, end=3.0, text="I'm sorry your kettle leaks."),
            Segment(start=3.0, end=33.0, text="I'm sorry. " * 8),
            Segment(start=40.0, end=45.0, text="sorry " * 40),
        ],
        words=_words((0.2, 2.8), (3.5, 32.0), (40.0, 45.0)),
    )
    assert suspect_spans([(0.0, 33.0), (40.0, 45.0)], result) == [(3.0, 33.0), (40.0, 45.0)]


def test_pieces_cut_at_pauses_and_never_exceed_the_limit() -> None:
    speech = [(0.0, 1.5), (1.8, 3.5), (3.9, 5.0), (5.5, 9.0), (9.2, 31.0)]
    cut = pieces(speech, (0.0, 31.0), most_s=6.0)
    assert all(e - s <= 6.0 for s, e in cut)
    assert cut[0] == (0.0, 5.0) and cut[-1][1] == 31.0
    assert sum(e - s for s, e in cut) >= sum(e - s for s, e in speech) - 1e-9


def test_splice_replaces_what_was_in_the_span() -> None:
    old = Transcription(
        text="a b",
        segments=[Segment(start=0, end=2, text="a"), Segment(start=3, end=33, text="b b b")],
        words=_words((0.5, 1.0), (10.0, 11.0)),
    )
    new = Transcription(
        text="c", segments=[Segment(start=3, end=5, text="c")], words=_words((3, 4))
    )
    result = splice(old, (3.0, 33.0), [new])
    assert result.text == "a c" and [w.start for w in result.words] == [0.5, 3]


@pytest.mark.models
@pytest.mark.slow
def test_long_repetitive_speech_loses_no_stretch(tmp_path: Path, espeak: str) -> None:
    if shutil.which("sox") is None:
        pytest.fail("sox is not installed: run `make test`")
    one, two, gap = tmp_path / "1.wav", tmp_path / "2.wav", tmp_path / "gap.wav"
    subprocess.run(
        [espeak, "-v", "en-gb", "-w", str(one), "I am sorry your kettle leaks."], check=True
    )
    subprocess.run([espeak, "-v", "en-gb", "-w", str(two), "I can replace it today."], check=True)
    subprocess.run(
        ["sox", "-n", "-r", "22050", "-c", "1", str(gap), "trim", "0", "0.25"], check=True
    )
    repeated = tmp_path / "repeated.wav"
    parts = [str(p) for _ in range(25) for p in (one, gap, two, gap)]
    subprocess.run(["sox", *parts, str(repeated)], check=True)
    proc = subprocess.run(
        [CALMLINE, "transcribe", str(repeated), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    starts = [w["start"] for w in result["words"]]
    # No stretch of the file without words: today a whole 30-second window came back empty.
    edges = [0.0, *starts, result["duration"]]
    assert max(b - a for a, b in itertools.pairwise(edges)) < 5.0
    text = result["text"].lower()
    print(f"'sorry' {text.count('sorry')} of 25, 'replace' {text.count('replace')} of 25")
    assert 20 <= text.count("sorry") <= 30 and 20 <= text.count("replace") <= 30
    assert result["unrecovered"] == [] and "warning" not in proc.stderr
