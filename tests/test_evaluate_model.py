"""The real tone reader and MiniLM in the offline tier, on calibration-set transcripts."""

from __future__ import annotations

from pathlib import Path

import pytest

from calmline.evaluate.evaluator import assess
from calmline.evaluate.rubric import load_rubrics
from calmline.evaluate.transcript import load_transcript

pytestmark = pytest.mark.models


def _assess(repo: Path, name: str) -> list:  # type: ignore[type-arg]
    session = load_transcript(repo / "data" / "calibration" / "transcripts" / name)
    return assess(session, load_rubrics())


def test_good_transcript_scores_clearly_higher_and_passes(repo: Path) -> None:
    good = _assess(repo, "06_utilities_sla_good.txt")
    poor = _assess(repo, "02_broadband_poor.txt")
    assert all(a.passed for a in good)
    assert not any(a.passed for a in poor)
    for g, p in zip(good, poor, strict=True):
        assert g.score >= p.score + 0.4, (g.rubric_id, g.score, p.score)


def test_injected_instructions_do_not_pass_a_poor_call(repo: Path) -> None:
    result = _assess(repo, "07_online_order_injection.txt")
    assert not any(a.passed for a in result)
    assert all(a.ignored_instructions for a in result)
