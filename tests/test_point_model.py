"""The learned weighing of marking points (``rubrics/point_model.json``): used only for the
point it was trained on, never above the evidence rule, and loaded and used as shipped on
a real transcript."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calmline.evaluate.checks import run_check
from calmline.evaluate.concepts import concept_scorer
from calmline.evaluate.hollow import sanitise
from calmline.evaluate.match import CheckContext
from calmline.evaluate.offline import mark_points, point_features, verdict_for_point
from calmline.evaluate.point_model import (
    LEVELS,
    MODEL_FILE,
    PointModel,
    call_profile,
    load_point_models,
    model_for,
    point_stamp,
    read_point_models,
)
from calmline.evaluate.rubric import load_rubrics
from calmline.evaluate.transcript import load_transcript
from calmline.models import CheckResult
from calmline.paths import rubrics_dir


def _always(point, verdict: str, n_features: int) -> PointModel:
    coef = np.zeros((3, n_features))
    intercept = np.array([1.0 if v == verdict else 0.0 for v in LEVELS])
    return PointModel(point.id, point_stamp(point), LEVELS, coef, intercept)


def test_a_model_is_used_only_for_the_point_it_was_trained_on() -> None:
    point = load_rubrics()[0].points[0]
    model = _always(point, "met", 4)
    assert model_for(point, {point.id: model}) is model
    edited = point.model_copy(update={"rule": "else => not_met"})
    assert model_for(edited, {point.id: model}) is None, "an edited point falls back to its rule"


@pytest.mark.models
def test_shipped_models_load_and_mark_a_real_transcript(repo: Path) -> None:
    """Every shipped model matches a shipped rubric point, reads that point's features on
    a real transcript, and no model lifts a point above not met without a learner quote."""
    assert (rubrics_dir() / MODEL_FILE).is_file(), "point_model.json ships beside the rubrics"
    models = load_point_models()
    rubrics = load_rubrics()
    points = {p.id: p for r in rubrics for p in r.points}
    for pid in models:
        assert pid in points and model_for(points[pid], models) is not None, pid

    from calmline.embed import load_embedder
    from calmline.tone.reader import load_tone_reader

    path = repo / "data" / "calibration" / "transcripts" / "02_broadband_poor.txt"
    session, _ = sanitise(load_transcript(path))
    from calmline.evaluate.offline import read_tones

    tones = read_tones(session, load_tone_reader())
    ctx = CheckContext(session=session, tones=tones, scorer=concept_scorer(load_embedder()))
    profile = call_profile(session, tones)
    marked = {v.point_id: v for r in rubrics for v in mark_points(ctx, r)}
    for pid, model in models.items():
        point = points[pid]
        results = [run_check(c, ctx) for c in point.checks]
        want = model.verdict(point_features(point, results, profile))
        got = marked[pid]
        assert got.verdict == (want if got.evidence else "not_met"), pid
    # a model that always says "met" cannot pass a point nobody quoted
    for point in points.values():
        results = [run_check(c, ctx) for c in point.checks]
        n = point_features(point, results, profile).shape[0]
        verdict = verdict_for_point(point, results, session, _always(point, "met", n), profile)
        assert verdict.verdict == "not_met" or verdict.evidence, point.id


def test_a_damaged_model_file_is_one_clear_error(tmp_path: Path) -> None:
    from calmline.errors import CalmlineError

    bad = tmp_path / MODEL_FILE
    bad.write_text("{not json")
    with pytest.raises(CalmlineError, match="learned marking models"):
        read_point_models(bad)
    assert read_point_models(tmp_path / "missing.json") == {}


def _session(lines: list[str]):
    from calmline.models import SessionRecord, Turn

    turns = [Turn(index=i, speaker="learner", text=t) for i, t in enumerate(lines)]
    return SessionRecord(id="s", scenario="x", turns=turns)


def _tones(tags: list[dict[str, float]]):
    from calmline.models import ToneReading

    return {i: ToneReading(tags=t) for i, t in enumerate(tags)}


def test_the_worst_turn_is_read_by_points_that_count_a_mistake() -> None:
    """One sarcastic line in a warm call: its share over ten turns is small, its peak is
    not. Only points with a negative check (a lapse, blame) read the peak."""
    from calmline.evaluate.point_model import PEAK_TAGS, PROFILE_TAGS, features

    warm = [{"empathy": 0.9}] * 9
    session = _session(["I'm so sorry"] * 9 + ["oh well done, genius"])
    profile = call_profile(session, _tones([*warm, {"sarcasm": 0.95, "empathy": 0.1}]))
    clean = call_profile(session, _tones([*warm, {"empathy": 0.9}]))
    assert profile.tone_peak[PEAK_TAGS.index("sarcasm")] == pytest.approx(0.95)
    assert profile.tag_share[PROFILE_TAGS.index("sarcasm")] == pytest.approx(0.1)
    assert max(clean.tone_peak) == 0.0
    assert "empathy" not in PEAK_TAGS and "sarcasm" in PEAK_TAGS

    points = {p.id: p for r in load_rubrics() for p in r.points}
    lapses, indicators = points["dc5_professionalism"], points["dc1_indicators"]
    assert any(c.negative for c in lapses.checks)
    assert not any(c.negative for c in indicators.checks)
    for point, extra in ((lapses, len(PEAK_TAGS)), (indicators, 0)):
        results = [CheckResult(check_id=c.id, passed=True, detail="") for c in point.checks]
        with_peak = features(point, results, "met", True, profile)
        without = features(point, results, "met", True, clean)
        assert with_peak.shape == without.shape
        assert with_peak.shape[0] == len(point.checks) + 3 + len(PROFILE_TAGS) + 3 + extra
        if extra:
            assert list(with_peak[-extra:]) == list(profile.tone_peak), point.id
            assert not without[-extra:].any(), point.id


def test_more_good_turns_cannot_hide_the_worst_one() -> None:
    """Padding a call with warm lines dilutes a share but leaves the peak where it was."""
    bad = {"dismissive": 0.9}
    short = call_profile(_session(["a", "b"]), _tones([{"empathy": 0.9}, bad]))
    padded = call_profile(_session(["a"] * 21), _tones([{"empathy": 0.9}] * 20 + [bad]))
    assert padded.tone_peak == short.tone_peak


def test_a_model_stamp_covers_the_feature_layout() -> None:
    """A point that gained the tone peaks has a new stamp: a model trained on the old
    layout falls back to the rule instead of reading the wrong features."""
    point = next(p for r in load_rubrics() for p in r.points if p.id == "dc5_professionalism")
    import hashlib as _hashlib
    import json as _json

    old = _json.dumps([sorted(c.id for c in point.checks), " ".join(point.rule.split())])
    assert point_stamp(point) != _hashlib.sha256(old.encode()).hexdigest()[:16]
