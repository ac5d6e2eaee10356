"""Fuzzing the loaders of user-written files: no input crashes them.

Scenario packs and rubrics are plain YAML that trainers write by hand, and transcripts
are pasted text. Whatever the bytes, each loader either returns a valid object or
raises ``CalmlineError`` (scenario validation returns problem lines instead), never
another exception. Structured strategies mutate the shipped files (drop a field,
swap a value for another type) to reach the validation code, not just the YAML parser.
(``tests/test_transcript.py`` already fuzzes the transcript parser with free text.)
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calmline.customer.scenario import load_scenario, validate_file
from calmline.errors import CalmlineError
from calmline.evaluate.rubric import load_rubric_file
from calmline.evaluate.transcript import parse_transcript
from calmline.paths import rubrics_dir, scenarios_dir

KETTLE = yaml.safe_load((scenarios_dir() / "kettle-counter.yaml").read_text())
RUBRIC_PATH = sorted(rubrics_dir().glob("*.yaml"))[0]
# Two points keep each example small (YAML parsing dominates the run time); the
# point-count check against the seed then fails last, after the checks were validated.
RUBRIC = {**yaml.safe_load(RUBRIC_PATH.read_text())}
RUBRIC["points"] = RUBRIC["points"][:2]
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
MUTATED = settings(SETTINGS, max_examples=80)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
yaml_ish = st.text(
    alphabet=st.sampled_from(list("abc:- \n\t'\"[]{}#&*!|>%@`,?0123456789é😀\x00")), max_size=300
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in nested dicts and lists."""
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, (*prefix, i))
    return out


def _mutate(base: Any, path: tuple[Any, ...], new: Any, delete: bool) -> Any:
    data = yaml.safe_load(yaml.safe_dump(base))  # a deep copy
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return data


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> str:
    paths = _paths(base)
    out = base
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        with contextlib.suppress(KeyError, IndexError, TypeError):
            out = _mutate(out, path, draw(values), draw(st.booleans()))
    return yaml.safe_dump(out, allow_unicode=True)


def _write(text: str, name: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="calmline-fuzz-"))
    path = folder / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


def _scenario_survives(text: str) -> None:
    path = _write(text, "kettle-counter.yaml")
    problems = validate_file(path)
    assert all(
        (isinstance(p, str) and p.startswith(str(path.name))) or path.name in p for p in problems
    )
    try:
        load_scenario(path)
    except CalmlineError as exc:
        assert problems and "kettle-counter.yaml" in exc.message
    else:
        assert not problems


def _rubric_survives(text: str) -> None:
    path = _write(text, RUBRIC_PATH.name)
    try:
        load_rubric_file(path)
    except CalmlineError as exc:
        assert RUBRIC_PATH.name in exc.message or "rubric" in exc.message


@SETTINGS
@given(yaml_ish)
def test_scenario_loader_survives_any_text(text: str) -> None:
    _scenario_survives(text)


@MUTATED
@given(mutated(KETTLE))
def test_scenario_loader_survives_mutated_packs(text: str) -> None:
    _scenario_survives(text)


@SETTINGS
@given(yaml_ish)
def test_rubric_loader_survives_any_text(text: str) -> None:
    _rubric_survives(text)


@MUTATED
@given(mutated(RUBRIC))
def test_rubric_loader_survives_mutated_rubrics(text: str) -> None:
    _rubric_survives(text)


labels = st.sampled_from(
    ["CUSTOMER", "LEARNER", "AGENT", "EXAMINER", "customer", "Learner", "SYSTEM", "", "NOTE"]
)
line = st.builds(
    lambda label, stage, text: f"{label}: {stage}{text}" if label else text,
    labels,
    st.sampled_from(["", "(sighs) ", "[stage] ", "((", "*"]),
    st.text(max_size=60),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(line | st.just("--- debrief ---"), max_size=15))
def test_transcript_parser_survives_labelled_lines(lines: list[str]) -> None:
    try:
        session = parse_transcript("\n".join(lines))
    except CalmlineError:
        return
    assert session.turns and all(
        t.speaker in ("learner", "customer", "examiner") for t in session.turns
    )
