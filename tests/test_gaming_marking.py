"""The real offline marker on data/gaming: 16 transcripts written to game it (gm01-gm10)
or honest (gm11-gm16), rated blind (labels.jsonl; see data/gaming/README.md). A guard
that the marker stays hard to game: it is tuned on this set, so it is not a measure."""

from __future__ import annotations

from pathlib import Path

import pytest

from calmline.evaluate.evaluator import assess
from calmline.evaluate.labelled import read_labels
from calmline.evaluate.rubric import load_rubrics
from calmline.evaluate.transcript import load_transcript
from calmline.models import Assessment

pytestmark = pytest.mark.models

GAMING = Path(__file__).resolve().parents[1] / "data" / "gaming"
RANK = {"not_met": 0, "partly": 1, "met": 2}
RECITALS = ("gm01.txt", "gm05.txt", "gm09.txt")  # lists, false claims, keyword stuffing
GOOD = ("gm11.txt", "gm12.txt")  # honest and good
MAX_LENIENCY = 0.34  # share of labels the machine is kinder than (0.36 before the defences)


@pytest.fixture(scope="module")
def marked() -> dict[str, list[Assessment]]:
    rubrics = load_rubrics()
    return {
        p.name: assess(load_transcript(p), rubrics)
        for p in sorted((GAMING / "transcripts").glob("*.txt"))
    }


def test_recited_and_stuffed_transcripts_fail_every_rubric(
    marked: dict[str, list[Assessment]],
) -> None:
    for name in RECITALS:
        assert not any(a.passed for a in marked[name]), name


def test_honest_good_transcripts_pass_every_rubric(marked: dict[str, list[Assessment]]) -> None:
    for name in GOOD:
        assert all(a.passed for a in marked[name]), name


def test_the_marker_is_not_more_lenient_than_it_was(marked: dict[str, list[Assessment]]) -> None:
    labels = read_labels(GAMING / "labels.jsonl")
    machine = {
        (f, v.source): v.verdict for f, res in marked.items() for a in res for v in a.verdicts
    }
    kinder = sum(RANK[machine[key]] > RANK[gold] for key, gold in labels.items())
    assert kinder / len(labels) <= MAX_LENIENCY
