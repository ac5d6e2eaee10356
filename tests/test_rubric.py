"""Both rubrics load, trace to their seeds in order, and every point is checkable."""

from __future__ import annotations

from pathlib import Path

import pytest

from calmline.errors import CalmlineError
from calmline.evaluate.rubric import load_rubric_file, load_rubrics, seed_marking_points, seeds_dir


def test_both_rubrics_load_in_seed_order() -> None:
    rubrics = load_rubrics()
    assert [r.seed for r in rubrics] == ["000_1d3fdee3de4d81c6.txt", "002_a8dbda1b1014a581.txt"]


def test_sources_map_to_seed_positions_in_order() -> None:
    for rubric in load_rubrics():
        seed_points = seed_marking_points(seeds_dir() / rubric.seed)
        assert len(seed_points) == len(rubric.points) == 5
        for n, point in enumerate(rubric.points, start=1):
            assert point.source == f"{rubric.seed}#{n}"
            assert " ".join(point.text.split()) == " ".join(seed_points[n - 1].split())


def test_every_point_has_checks_rule_and_advice() -> None:
    for rubric in load_rubrics():
        for point in rubric.points:
            assert point.checks and point.rule and point.improvement
            if point.shown_by in ("debrief", "both"):
                assert point.debrief_questions


def test_common_mistakes_are_negative_checks() -> None:
    """The seeds' common mistakes (solving before understanding, losing calm, blaming) are
    checks that pass only when the mistake was not made."""
    checks = {c.id: c for r in load_rubrics() for p in r.points for c in p.checks}
    for mistake in ("understands_before_solving", "stays_calm", "no_lapse", "no_blame"):
        assert checks[mistake].negative
    assert checks["understands_before_solving"].kind == "precedes"


def test_errors_name_file_field_and_line(tmp_path: Path, repo: Path) -> None:
    text = (repo / "rubrics" / "difficult_customers.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("kind: concepts", "kind: concept", 1), encoding="utf-8")
    with pytest.raises(CalmlineError) as info:
        load_rubric_file(bad)
    message = info.value.message
    assert "bad.yaml" in message and ".kind" in message and "(line " in message


def test_wrong_source_order_is_rejected(tmp_path: Path, repo: Path) -> None:
    text = (repo / "rubrics" / "difficult_customers.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        text.replace("000_1d3fdee3de4d81c6.txt#2", "000_1d3fdee3de4d81c6.txt#3", 1),
        encoding="utf-8",
    )
    with pytest.raises(CalmlineError, match="source"):
        load_rubric_file(bad)


def test_unknown_rubric_id() -> None:
    with pytest.raises(CalmlineError, match="unknown rubric"):
        load_rubrics(["nope"])


def test_shipped_seeds_match_the_shared_seeds() -> None:
    """rubrics/seeds/ are verbatim copies; when the shared folder is beside the checkout,
    a changed seed must be copied in again before the rubrics can claim to trace to it."""
    from calmline.paths import project_root, rubrics_dir

    shared = project_root().parent / "shared" / "seeds"
    shipped = sorted((rubrics_dir() / "seeds").glob("*.txt"))
    assert [p.name for p in shipped] == ["000_1d3fdee3de4d81c6.txt", "002_a8dbda1b1014a581.txt"]
    if shared.is_dir():
        for path in shipped:
            assert path.read_bytes() == (shared / path.name).read_bytes(), path.name
