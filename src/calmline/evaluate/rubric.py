"""Loading and validating marking schemes (``rubrics/*.yaml``), traceable to the seeds.

Errors name the file, the field path and the YAML line, e.g.
``rubrics/x.yaml: points[2].checks[0].kind (line 41): unknown check kind 'tagg'``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError

from calmline.config import environment
from calmline.errors import CalmlineError
from calmline.evaluate.concepts import BANK_FILE, THRESHOLDS_FILE, known_concept_ids
from calmline.evaluate.hollow import HOLLOW_FILE
from calmline.evaluate.rules import RuleError, parse_rule
from calmline.files import read_text
from calmline.models import (
    CHECK_KINDS,
    Check,
    ConceptsParams,
    MatchSpec,
    PrecedesParams,
    Rubric,
    SequenceParams,
)
from calmline.paths import project_root, rubrics_dir
from calmline.yaml_input import YamlProblem, load_yaml

_SOURCE = re.compile(r"^(?P<seed>[^#]+)#(?P<n>\d+)$")


def seeds_dir() -> Path:
    """Where the seed documents live: ``CALMLINE_SEEDS``, else the copies shipped in
    ``rubrics/seeds/``, else the project's shared ``../shared/seeds``."""
    env = environment().seeds
    if env is not None:
        return env
    shipped = rubrics_dir() / "seeds"
    return shipped if shipped.is_dir() else project_root().parent / "shared" / "seeds"


def seed_marking_points(seed_file: Path) -> list[str]:
    """The bullet lines under a seed's "Examiner Marking Points" heading, in order."""
    points: list[str] = []
    inside = False
    for line in read_text(seed_file, "a seed document").splitlines():
        stripped = line.strip()
        if stripped.lower().startswith("examiner marking points"):
            inside = True
            continue
        if inside and stripped.startswith("- "):
            points.append(stripped[2:].strip())
        elif inside and stripped and not stripped.startswith("- "):
            # Seeds run straight into the next document; a non-bullet ends the list.
            break
    return points


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """The 1-based line of the YAML node at ``loc``, or of its deepest existing parent."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            found = node.value[key] if 0 <= key < len(node.value) else None
        else:
            found = None
        if found is None:
            break
        node, line = found, found.start_mark.line + 1
    return line


def _clean_loc(loc: Sequence[int | str]) -> list[int | str]:
    """Pydantic names the chosen params model in the error path (``params.sequence.steps``);
    the YAML has no such level, so it is left out."""
    out: list[int | str] = []
    for key in loc:
        if out and out[-1] == "params" and key in CHECK_KINDS:
            continue
        out.append(key)
    return out


def _field(loc: Sequence[int | str]) -> str:
    out = ""
    for key in loc:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "(top level)"


def _fail(path: Path, root: yaml.Node | None, loc: Sequence[int | str], msg: str) -> CalmlineError:
    line = _line_of(root, loc)
    where = f" (line {line})" if line else ""
    return CalmlineError(
        f"{path}: {_field(loc)}{where}: {msg}", "fix the rubric file; see rubrics/*.yaml headers"
    )


def _check_params(path: Path, root: yaml.Node, rubric: Rubric, concepts: set[str] | None) -> None:
    """What the schema cannot say: unique check ids, a parseable rule, known concepts."""
    for pi, point in enumerate(rubric.points):
        ids = [c.id for c in point.checks]
        if not ids:
            raise _fail(path, root, ["points", pi, "checks"], "a point needs at least one check")
        if len(set(ids)) != len(ids):
            raise _fail(path, root, ["points", pi, "checks"], "check ids must be unique")
        for ci, check in enumerate(point.checks):
            unknown = sorted(set(concept_ids(check)) - concepts) if concepts is not None else []
            if unknown:
                raise _fail(
                    path,
                    root,
                    ["points", pi, "checks", ci, "params"],
                    f"unknown concept(s) {', '.join(unknown)} (see rubrics/concepts.yaml)",
                )
        try:
            parse_rule(point.rule, ids)
        except RuleError as exc:
            raise _fail(path, root, ["points", pi, "rule"], str(exc)) from exc


def concept_ids(check: Check) -> list[str]:
    """Every concept id a check refers to, in any of its match specs."""
    p = check.params
    specs: list[MatchSpec] = []
    if isinstance(p, ConceptsParams):
        return [*p.concepts, *p.exclude]
    if isinstance(p, MatchSpec):
        specs = [p]
    elif isinstance(p, SequenceParams):
        specs = list(p.steps)
    elif isinstance(p, PrecedesParams):
        specs = [p.first, p.then]
    out = [c for s in specs for c in (*s.concepts, *s.with_concepts, *s.unless_concepts)]
    if isinstance(p, SequenceParams):
        out += [c for s in p.steps for c in s.breaker_concepts]
    return out


def _check_sources(path: Path, root: yaml.Node, rubric: Rubric, seeds: Path) -> None:
    seed_file = seeds / rubric.seed
    seed_points = seed_marking_points(seed_file) if seed_file.is_file() else None
    expected = len(seed_points) if seed_points is not None else None
    for pi, point in enumerate(rubric.points):
        match = _SOURCE.match(point.source)
        if not match or match.group("seed") != rubric.seed:
            raise _fail(
                path,
                root,
                ["points", pi, "source"],
                f"source must be '{rubric.seed}#<n>', got {point.source!r}",
            )
        if int(match.group("n")) != pi + 1:
            raise _fail(
                path,
                root,
                ["points", pi, "source"],
                f"points must follow the seed's order: expected #{pi + 1}",
            )
        n = int(match.group("n"))
        if (
            seed_points is not None
            and n <= len(seed_points)
            and " ".join(point.text.split()) != " ".join(seed_points[n - 1].split())
        ):
            raise _fail(
                path,
                root,
                ["points", pi, "text"],
                f"text must be verbatim from {rubric.seed}#{n}",
            )
    if expected is not None and expected != len(rubric.points):
        raise _fail(
            path,
            root,
            ["points"],
            f"seed {rubric.seed} has {expected} marking points, rubric has {len(rubric.points)}",
        )


def load_rubric_file(path: Path, seeds: Path | None = None) -> Rubric:
    """Load and validate one rubric file."""
    try:
        data, root = load_yaml(read_text(path, "a rubric"))
    except YamlProblem as exc:
        raise CalmlineError(f"{path}: {exc}", "check indentation and quotes") from exc
    if not isinstance(data, dict) or root is None:
        raise CalmlineError(f"{path}: a rubric must be a YAML mapping")
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        raise _fail(path, root, _clean_loc(first["loc"]), message) from exc
    known = known_concept_ids(path.parent)
    _check_params(path, root, rubric, known if known is not None else known_concept_ids())
    _check_sources(path, root, rubric, seeds or seeds_dir())
    return rubric


def rubric_files(folder: Path | None = None) -> list[Path]:
    """The marking schemes in ``folder``: every YAML file but the concept bank's and the
    hollow-text rules."""
    skip = {BANK_FILE, THRESHOLDS_FILE, HOLLOW_FILE}
    return sorted(p for p in (folder or rubrics_dir()).glob("*.yaml") if p.name not in skip)


def load_rubrics(ids: Sequence[str] | None = None, folder: Path | None = None) -> list[Rubric]:
    """All rubrics (or those with the given ids), in file-name order."""
    rubrics = sorted((load_rubric_file(p) for p in rubric_files(folder)), key=lambda r: r.seed)
    if not rubrics:
        raise CalmlineError(
            f"no rubrics found in {folder or rubrics_dir()}",
            "set CALMLINE_HOME to the calmline checkout",
        )
    if not ids:
        return rubrics
    by_id = {r.id: r for r in rubrics}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise CalmlineError(
            f"unknown rubric {unknown[0]!r}", f"choose from: {', '.join(sorted(by_id))}"
        )
    return [by_id[i] for i in ids]
