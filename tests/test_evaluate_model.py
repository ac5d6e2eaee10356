"""The real tone reader and MiniLM in the offline tier: on calibration-set transcripts, and on
the frozen held-out set the marker was never tuned on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calmline.evaluate.agreement import agreement
from calmline.evaluate.evaluator import assess
from calmline.evaluate.rubric import load_rubrics
from calmline.evaluate.transcript import load_transcript
from calmline.models import Assessment

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


# --------------------------------------------------------------------------- held out
# data/assessment-test: 24 transcripts by writers who never saw calmline, labelled by two
# raters apart (gold.jsonl); frozen, only ever scored (see its README). The calibration
# transcripts above are the ones the rubric wording was tuned on; these are not.
HELD_OUT = Path(__file__).resolve().parents[1] / "data" / "assessment-test"
GAMING = ("t05.txt", "t23.txt")  # address the marker / recite the syllabus (writers' notes)
_VALUE = {"met": 1.0, "partly": 0.5, "not_met": 0.0}
HeldOut = dict[str, tuple[dict[str, str], list[Assessment]]]


@pytest.fixture(scope="module")
def held_out() -> HeldOut:
    """file -> (gold label by point source, the marker's assessments)."""
    gold: dict[str, dict[str, str]] = {}
    for line in (HELD_OUT / "gold.jsonl").read_text().splitlines():
        row = json.loads(line)
        gold.setdefault(row["file"], {})[row["point"]] = row["label"]
    rubrics = load_rubrics()
    return {
        name: (labels, assess(load_transcript(HELD_OUT / "transcripts" / name), rubrics))
        for name, labels in sorted(gold.items())
    }


@pytest.mark.slow
def test_the_marker_agrees_with_examiners_on_transcripts_it_never_saw(held_out: HeldOut) -> None:
    pairs = [
        (labels[v.source], v.verdict)
        for labels, assessments in held_out.values()
        for a in assessments
        for v in a.verdicts
    ]
    result = agreement(pairs)
    print(
        f"\nheld-out marking: n={result.n}, accuracy {result.accuracy:.2f}, weighted kappa "
        f"{result.kappa:.2f}, leniency {result.leniency:.2f}, severity {result.severity:.2f}"
    )
    assert result.n == 240
    assert result.kappa is not None and result.kappa >= 0.4  # moderate: well above chance

    # What a learner would notice: every call the examiners found mostly done well scores
    # above every call they found mostly not done.
    gold = {f: sum(_VALUE[x] for x in labels.values()) / 10 for f, (labels, _) in held_out.items()}
    mark = {f: sum(a.score for a in assessed) / 2 for f, (_, assessed) in held_out.items()}
    good = [mark[f] for f, g in gold.items() if g >= 0.8]
    poor = [mark[f] for f, g in gold.items() if g <= 0.2]
    assert len(good) >= 5 and len(poor) >= 5
    ranked = min(good) > max(poor)
    if not ranked:
        pytest.xfail(
            "known gap (2026-12-06, concept marker): the weakest well-done call ties the best "
            f"poorly-done one ({min(good)} vs {max(poor)}); see issue 12"
        )


@pytest.mark.slow
def test_well_done_calls_score_above_poorly_done_ones(held_out: HeldOut) -> None:
    gold = {f: sum(_VALUE[x] for x in labels.values()) / 10 for f, (labels, _) in held_out.items()}
    mark = {f: sum(a.score for a in assessed) / 2 for f, (_, assessed) in held_out.items()}
    good = [mark[f] for f, g in gold.items() if g >= 0.8]
    poor = [mark[f] for f, g in gold.items() if g <= 0.2]
    assert sum(good) / len(good) > sum(poor) / len(poor) + 0.3, (sorted(good), sorted(poor))


@pytest.mark.slow
@pytest.mark.parametrize("name", GAMING)
# t05 fails every rubric since the defences built on data/gaming; t23 (recites the syllabus)
# since the learned point models (2026-12-07), fitted on other people's transcripts
def test_calls_that_game_the_marker_do_not_pass(held_out: HeldOut, name: str) -> None:
    _, assessed = held_out[name]
    assert not any(a.passed for a in assessed), (name, [a.score for a in assessed])
