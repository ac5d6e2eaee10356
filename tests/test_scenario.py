"""Scenario packs: shipped ones load and cover the syllabus; broken ones say where they break."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from calmline.customer.line_check import asked_about, matched_resolution
from calmline.customer.scenario import list_scenarios, load_scenario, scenario_files, validate_file
from calmline.errors import CalmlineError
from support.cli import calmline

REPO = Path(__file__).resolve().parents[1]
PACKS = sorted((REPO / "prompts" / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", PACKS, ids=[p.stem for p in PACKS])
def test_every_shipped_pack_is_valid(path: Path) -> None:
    assert validate_file(path) == []
    assert load_scenario(path.stem).id == path.stem


def test_the_shipped_packs_cover_styles_aggression_difficulty_and_safety() -> None:
    packs = list_scenarios()
    assert len(packs) >= 8
    assert {p.persona.style for p in packs} == {"assertive", "analytical", "amiable"}
    assert {p.persona.aggression for p in packs} == {"reactive", "proactive"}
    assert {p.difficulty for p in packs} == {"easy", "standard", "hard"}
    assert {p.setting for p in packs} == {"phone", "face_to_face"}
    safety = [p for p in packs if p.risk_indicators]
    assert safety and all(p.setting == "face_to_face" for p in safety)


@pytest.mark.parametrize("path", PACKS, ids=[p.stem for p in PACKS])
def test_good_scripts_offer_a_resolution_and_poor_ones_never_do(path: Path) -> None:
    pack = load_scenario(path)
    assert any(matched_resolution(t, pack) for t in pack.learner_script_good)
    assert not any(matched_resolution(t, pack) for t in pack.learner_script_poor)
    # a good learner asks the question that brings out at least one hidden detail
    if pack.hidden_details:
        assert any(
            asked_about(t, d.topics) for t in pack.learner_script_good for d in pack.hidden_details
        )


def _pack(tmp_path: Path, name: str, **changes: object) -> Path:
    data = yaml.safe_load((REPO / "prompts/scenarios/kettle-counter.yaml").read_text())
    data["id"] = name
    for dotted, value in changes.items():
        target = data
        *parents, leaf = dotted.split("__")
        for key in parents:
            target = target[key]
        if value is None:
            del target[leaf]
        else:
            target[leaf] = value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_broken_pack_names_file_and_field(tmp_path: Path) -> None:
    path = _pack(tmp_path, "broken", persona__baseline_anger=120, persona__mood="grumpy")
    problems = validate_file(path)
    assert any(p.endswith("broken.yaml: persona.baseline_anger: must be <= 100") for p in problems)
    assert any("persona.mood: unknown field" in p for p in problems)
    with pytest.raises(CalmlineError) as err:
        load_scenario(path)
    assert "broken.yaml: persona" in err.value.message
    assert "scenarios check" in err.value.hint


def test_nested_list_fields_are_named_with_their_index(tmp_path: Path) -> None:
    path = _pack(tmp_path, "bad-trigger")
    data = yaml.safe_load(path.read_text())
    data["triggers"][1]["tags"] = ["shouting"]
    data["lines"]["angry"] = ["only one line"]
    path.write_text(yaml.safe_dump(data))
    problems = validate_file(path)
    assert any("triggers[1].tags[0]: must be one of" in p for p in problems)
    assert any("lines.angry: needs at least 2 item(s)" in p for p in problems)


def test_a_number_not_in_the_facts_is_reported(tmp_path: Path) -> None:
    path = _pack(tmp_path, "made-up", opening_line="My order 99999 leaks.")
    assert validate_file(path) == [f"{path}: opening_line: says 99999, which is not in facts"]


def test_face_to_face_needs_stage_directions_and_id_must_match_the_file(tmp_path: Path) -> None:
    path = _pack(tmp_path, "no-directions", stage_directions=None)
    assert any("stage_directions: required" in p for p in validate_file(path))
    renamed = tmp_path / "other-name.yaml"
    _pack(tmp_path, "no-directions").rename(renamed)
    assert any("must match the file name 'other-name'" in p for p in validate_file(renamed))


def test_a_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "syntax.yaml"
    path.write_text("id: syntax\ntitle: ok\nsetting: phone\npersona:\n  name: [unclosed\n")
    (problem,) = validate_file(path)
    assert problem.startswith(f"{path}: line ")
    assert "YAML syntax error" in problem
    line = int(problem.split("line ")[1].split(",")[0])
    assert 5 <= line <= 6


def test_unknown_scenario_lists_the_available_names() -> None:
    with pytest.raises(CalmlineError) as err:
        load_scenario("no-such-pack")
    assert "unknown scenario 'no-such-pack'" in err.value.message
    assert "kettle-counter" in err.value.hint


def test_listing_skips_invalid_packs(tmp_path: Path) -> None:
    _pack(tmp_path, "fine")
    _pack(tmp_path, "bad", difficulty="impossible")
    assert [p.stem for p in scenario_files(tmp_path)] == ["bad", "fine"]
    assert [s.id for s in list_scenarios(tmp_path)] == ["fine"]


# ----------------------------------------------------------------------------- CLI


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return calmline(*args, timeout=120)


def test_cli_lists_the_packs() -> None:
    done = _run("scenarios")
    assert done.returncode == 0, done.stderr
    for pack in list_scenarios():
        assert pack.id in done.stdout
    assert "analytical" in done.stdout and "face to face" in done.stdout


def test_cli_check_reports_ok_and_problems(tmp_path: Path) -> None:
    good = REPO / "prompts/scenarios/late-parcel.yaml"
    bad = _pack(tmp_path, "broken", persona__baseline_anger=120)
    done = _run("scenarios", "check", str(good), str(bad))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == f"OK {good}"
    assert f"{bad}: persona.baseline_anger: must be <= 100" in lines
    assert "Traceback" not in done.stderr
    assert _run("scenarios", "check", str(good)).returncode == 0


def test_cli_check_a_missing_file(tmp_path: Path) -> None:
    done = _run("scenarios", "check", str(tmp_path / "nope.yaml"))
    assert done.returncode == 1
    assert "nope.yaml: file not found" in done.stdout


def test_numbers_in_words_and_days_not_in_the_facts_are_reported(tmp_path: Path) -> None:
    """The customer's lines are checked by the same rules at run time: a pack must pass them."""
    path = _pack(tmp_path, "made-up-days", opening_line="It broke on Friday, five times.")
    assert validate_file(path) == [
        f"{path}: opening_line: says 5, which is not in facts",
        f"{path}: opening_line: says Friday, which is not in facts",
    ]


def test_replies_are_validated_and_checked_against_the_facts(tmp_path: Path) -> None:
    path = _pack(tmp_path, "replies")
    data = yaml.safe_load(path.read_text())
    data["replies"] = [
        {"when": ["calm_down"], "bands": ["angry"], "lines": ["Don't tell me to calm down."]},
        {"when": ["shouting"], "lines": ["Receipt 99999."]},
    ]
    path.write_text(yaml.safe_dump(data))
    problems = validate_file(path)
    assert any("replies[1].when[0]: must be one of" in p for p in problems), problems
