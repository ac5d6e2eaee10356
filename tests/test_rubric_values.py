"""Rubric values are checked when the rubric loads, with file, field and line: a value
that cannot work is never found out at marking time (an internal error) or in a
learner's feedback ("You scored 100 percent and did not pass yet")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from calmline.errors import CalmlineError
from calmline.evaluate.rubric import load_rubric_file

RUBRIC = "difficult_customers.yaml"


def _load_changed(repo: Path, tmp_path: Path, old: str, new: str) -> str:
    text = (repo / "rubrics" / RUBRIC).read_text()
    assert re.search(old, text), old
    path = tmp_path / RUBRIC
    path.write_text(re.sub(old, new, text, count=1))
    with pytest.raises(CalmlineError) as caught:
        load_rubric_file(path, seeds=repo / "rubrics" / "seeds")
    message = caught.value.message
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


@pytest.mark.parametrize(
    ("old", "new", "field", "says"),
    [
        (r"threshold: [0-9.]+", "threshold: banana", "points[1].checks[0] (line ", "threshold"),
        (r"threshold: [0-9.]+", "threshold: 7.2", "points[1].checks[0] (line ", "from 0 to 1"),
        (r"threshold: [0-9.]+", "threshold: -1", ".checks[0] (line ", "threshold"),
        (r"min: \d+", "min: two", ".checks[0] (line ", "whole number"),
        (r"pass_mark: [0-9.]+", "pass_mark: 7", "pass_mark (line ", "0.7 is 70 %"),
        (r"weight: 1\.0", "weight: -3", "points[0].weight (line 38)", "more than 0"),
        (r"weight: 1\.0", "weight: 0", "points[0].weight (line 38)", "more than 0"),
        (r"weight: 1\.0", "weight: .inf", "points[0].weight (line 38)", "more than 0"),
    ],
)
def test_numbers_out_of_range_name_the_field_and_line(
    repo: Path, tmp_path: Path, old: str, new: str, field: str, says: str
) -> None:
    message = _load_changed(repo, tmp_path, old, new)
    assert field in message and says in message


def test_a_rule_needing_more_checks_than_the_point_has_is_refused(
    repo: Path, tmp_path: Path
) -> None:
    """``99+`` with two checks can never hold: the point could never be met."""
    message = _load_changed(
        repo,
        tmp_path,
        r'rule: "two_indicators => met; one_indicator \| vague_only => partly; else => not_met"',
        'rule: "99+ => met; one_indicator => partly; else => not_met"',
    )
    assert "points[0] (line " in message
    assert "99+ needs 99 checks to pass, but the point has 3" in message
