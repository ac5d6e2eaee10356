"""Scenario packs: the YAML schema a trainer writes, its validation, and the loader.

A pack is one YAML file in ``prompts/scenarios/`` (or anywhere, given by path). It is
validated on load; every problem is reported as one line naming the file, the field
path and, for YAML syntax errors, the line, e.g.
``prompts/scenarios/x.yaml: persona.baseline_anger: must be <= 100``.

Beyond the schema, a pack is checked for consistency: every number said in an
authored line (opening, band lines, few-shot, hidden details...) must appear in
``facts``, because the customer's lines are later checked against the same facts.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from calmline.errors import CalmlineError
from calmline.files import read_text
from calmline.models import AngerBand, Move, ToneTag
from calmline.paths import project_root, scenarios_dir
from calmline.text import words
from calmline.yaml_input import YamlProblem, load_yaml

Setting = Literal["phone", "face_to_face"]
Difficulty = Literal["easy", "standard", "hard"]
Style = Literal["assertive", "analytical", "amiable"]
Aggression = Literal["reactive", "proactive"]

_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")


def line_words(text: str) -> list[str]:
    """The words of a customer line or a learner turn as the line checks read them:
    apostrophes kept (a model's typographic ones too), "£12.50" and "09:15" whole."""
    return words(text, apostrophes="'\u2019", amounts=True)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Persona(_Strict):
    """Who the customer is and how their anger behaves.

    Attributes:
        style: the communication style the learner should adapt to (seed 002).
        aggression: ``reactive`` flares at provocation and calms with empathy;
            ``proactive`` uses anger to get a result and calms mainly with action.
        baseline_anger: where anger drifts back to when nothing happens.
        start_anger: anger at the opening line; a complaint never starts calm (>= 25).
        sensitivity: multiplies how strongly tone moves anger (1.0 typical).
        at_limit: what the customer does after persisting at the top band.
    """

    name: str = Field(min_length=1)
    description: str = Field(min_length=10)
    style: Style
    aggression: Aggression
    baseline_anger: float = Field(ge=0, le=100)
    start_anger: float = Field(ge=25, le=100)
    sensitivity: float = Field(default=1.0, ge=0.25, le=3.0)
    may_interrupt: bool = False
    voice: str = "en-gb"
    at_limit: Literal["manager", "hang_up"] = "manager"


class Resolution(_Strict):
    """An outcome the customer will accept, and the phrases that show it was offered.

    A phrase matches when all its words occur in the learner's turn (any order) and
    it is not negated ("I can't refund you" offers nothing).
    """

    id: str = Field(min_length=1)
    description: str = Field(min_length=5)
    phrases: list[str] = Field(min_length=1)


class Trigger(_Strict):
    """A learner behaviour that makes this customer worse than the tone alone would."""

    id: str = Field(min_length=1)
    description: str = Field(min_length=5)
    tags: list[ToneTag] = Field(default_factory=list)
    phrases: list[str] = Field(default_factory=list)
    extra_anger: float = Field(ge=0, le=40)

    @model_validator(mode="after")
    def _needs_a_cue(self) -> Trigger:
        if not self.tags and not self.phrases:
            raise ValueError("a trigger needs tags or phrases")
        return self


class HiddenDetail(_Strict):
    """Something the customer only says when the learner asks about one of ``topics``."""

    id: str = Field(min_length=1)
    detail: str = Field(min_length=5)  # spoken by the customer when revealed
    topics: list[str] = Field(min_length=1)


class Answer(_Strict):
    """What the customer says when asked about a known fact or an arrangement.

    The packs' facts are notes for the model, not speech; an answer is the spoken
    reply ("Saturday the 1st. I've got the receipt here.") given when the learner asks
    a question about one of ``topics`` (see ``line_check.asked_about``). Used with
    authored lines (``--lines authored-first`` or ``authored``); a generating model
    answers from the facts itself. Each line is said once; asked again, the next.
    """

    id: str = Field(min_length=1)
    topics: list[str] = Field(min_length=1)
    lines: list[str] = Field(min_length=1)


class BandLines(_Strict):
    """Text per anger band (authored fallback lines, or stage directions)."""

    calm: list[str] = Field(min_length=2)
    irritated: list[str] = Field(min_length=2)
    angry: list[str] = Field(min_length=2)
    furious: list[str] = Field(min_length=2)

    def for_band(self, band: AngerBand) -> list[str]:
        return list(getattr(self, band))


ALL_BANDS: tuple[AngerBand, ...] = ("calm", "irritated", "angry", "furious")


class Reply(_Strict):
    """Authored lines answering a learner move: "calm down" gets a reply to "calm down".

    ``when`` names tone tags (how the turn sounds: ``calm_down``, ``apology``...) or
    meaning moves (what it does: ``concrete_action``, ``vague_action``, ``brush_off``,
    ``transfer``, ``policy_wall``, ``repeats_failure``, ``reasks_given``; see
    ``customer.meaning``). With authored lines, and when the model's line is rejected,
    the customer answers with a reply to a move the learner's turn carries (at
    ``bands``, default all) before the anger band's generic lines, so the line still
    answers what the learner just did.
    """

    when: list[Literal[ToneTag, Move]] = Field(min_length=1)
    bands: list[AngerBand] = Field(default_factory=lambda: list(ALL_BANDS))
    lines: list[str] = Field(min_length=1)


class ExampleLine(_Strict):
    speaker: Literal["customer", "agent"]
    text: str = Field(min_length=1)


class Scenario(_Strict):
    """One scenario pack, validated."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str = Field(min_length=3)
    setting: Setting
    difficulty: Difficulty
    sector: str = Field(min_length=2)
    summary: str = ""
    persona: Persona
    facts: dict[str, str] = Field(min_length=1)
    wants: str = Field(min_length=5)
    will_accept: list[Resolution] = Field(min_length=1)
    settle_below: float = Field(default=40, ge=25, le=75)
    triggers: list[Trigger] = Field(default_factory=list)
    repeat_failure_phrases: list[str] = Field(default_factory=list)
    hidden_details: list[HiddenDetail] = Field(default_factory=list)
    answers: list[Answer] = Field(default_factory=list)
    risk_indicators: list[str] = Field(default_factory=list)
    opening_line: str = Field(min_length=3)
    lines: BandLines
    replies: list[Reply] = Field(default_factory=list)
    few_shot: list[ExampleLine] = Field(min_length=2)
    manager_line: str = Field(min_length=3)
    hangup_line: str = Field(min_length=3)
    satisfied_line: str = Field(min_length=3)
    # the last warning before the manager or the hang-up (``customer.difficulty``)
    warning_lines: list[str] = Field(default_factory=list)
    stage_directions: BandLines | None = None
    learner_script_good: list[str] = Field(min_length=5, max_length=8)
    learner_script_poor: list[str] = Field(min_length=5, max_length=8)
    debrief_hints: list[str] = Field(default_factory=list)

    @field_validator("facts", mode="before")
    @classmethod
    def _facts_as_text(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, bool | int | float | dt.date):
                item = str(item)
            out[str(key)] = item  # lists/dicts fall through and fail as "must be a string"
        return out

    @model_validator(mode="after")
    def _face_to_face_has_directions(self) -> Scenario:
        if self.setting == "face_to_face" and self.stage_directions is None:
            raise ValueError("stage_directions: required when setting is face_to_face")
        return self

    def fact_numbers(self) -> set[str]:
        """Every number the customer may say without it being made up."""
        texts = [*self.facts.keys(), *self.facts.values(), self.wants, self.persona.description]
        return set().union(*(numbers_in(t) for t in texts))

    def authored_texts(self) -> list[tuple[str, str]]:
        """(field path, text) of every line the pack puts in the customer's mouth.

        Hidden details are left out: they are spoken verbatim, only when asked, and
        may carry numbers of their own (which then count as said).
        """
        out = [("opening_line", self.opening_line)]
        for band in ("calm", "irritated", "angry", "furious"):
            out += [(f"lines.{band}[{i}]", t) for i, t in enumerate(getattr(self.lines, band))]
        out += [
            (f"answers[{i}].lines[{j}]", text)
            for i, answer in enumerate(self.answers)
            for j, text in enumerate(answer.lines)
        ]
        out += [
            (f"replies[{i}].lines[{j}]", text)
            for i, reply in enumerate(self.replies)
            for j, text in enumerate(reply.lines)
        ]
        out += [
            (f"few_shot[{i}].text", ex.text)
            for i, ex in enumerate(self.few_shot)
            if ex.speaker == "customer"
        ]
        out += [(f"warning_lines[{i}]", t) for i, t in enumerate(self.warning_lines)]
        out += [
            ("manager_line", self.manager_line),
            ("hangup_line", self.hangup_line),
            ("satisfied_line", self.satisfied_line),
        ]
        return out


_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "fifteen": "15", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50",
    "hundred": "100", "second": "2", "third": "3", "fourth": "4", "fifth": "5",
    "sixth": "6", "seventh": "7", "eighth": "8", "ninth": "9", "tenth": "10",
}  # fmt: skip


def spoken_numbers(text: str) -> set[str]:
    """Numbers in ``text``, figures and words alike (\"five\" -> ``5``, \"third\" -> ``3``)."""
    lowered = text.lower()
    found = numbers_in(lowered)
    for word in line_words(lowered):
        if word in _NUMBER_WORDS:
            found.add(_NUMBER_WORDS[word])
    return found


def calendar_words(text: str) -> set[str]:
    """Weekdays and months named in ``text`` (\"may\" is left out: it is mostly a verb)."""
    tokens = set(line_words(text))
    out = {m for m in _MONTHS if m in tokens and m != "may"}
    return out | {d for d in _WEEKDAYS if d in tokens}


def numbers_in(text: str) -> set[str]:
    """Numbers in ``text``, normalised: ``£1,049.00`` -> ``1049``, ``09:15`` -> ``9.15``."""
    out: set[str] = set()
    for raw in _NUMBER.findall(text):
        if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw):
            raw = raw.replace(",", "")
        for part in re.split(r",", raw):
            pieces = re.split(r"[.:]", part)
            norm = ".".join(str(int(p)) if p.isdigit() else p for p in pieces if p)
            if norm.endswith(".0") and "." in norm:
                norm = norm.rsplit(".", 1)[0]
            out.add(norm)
    return out


# --------------------------------------------------------------------------- loading


def _display(path: Path) -> str:
    """The path as a user would type it: relative to the project or cwd when possible."""
    resolved = path.resolve()
    for base in (Path.cwd(), project_root()):
        try:
            return str(resolved.relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _num(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _message(err: Any) -> str:
    ctx = err.get("ctx") or {}
    kind = err["type"]
    simple = {
        "less_than_equal": f"must be <= {_num(ctx.get('le'))}",
        "greater_than_equal": f"must be >= {_num(ctx.get('ge'))}",
        "less_than": f"must be < {_num(ctx.get('lt'))}",
        "greater_than": f"must be > {_num(ctx.get('gt'))}",
        "missing": "required field is missing",
        "extra_forbidden": "unknown field (check the spelling)",
        "string_type": "must be a string",
        "too_short": f"needs at least {ctx.get('min_length')} item(s)",
        "too_long": f"has more than {ctx.get('max_length')} item(s)",
        "string_too_short": "must not be empty"
        if ctx.get("min_length") == 1
        else f"must be at least {ctx.get('min_length')} characters",
        "literal_error": f"must be one of {ctx.get('expected')}",
        "string_pattern_mismatch": "must be lower-case letters, digits, '-' or '_'",
    }.get(kind)
    if simple:
        return simple
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def _parse(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    name = _display(path)
    if not path.exists():
        return None, [f"{name}: file not found"]
    try:
        data, _ = load_yaml(read_text(path, "a scenario pack"))
    except CalmlineError as exc:  # not a regular file, too big, not UTF-8 text
        return None, [str(exc)]
    except YamlProblem as exc:
        return None, [f"{name}: {exc}"]
    if not isinstance(data, dict):
        return None, [f"{name}: must be a YAML mapping of fields (id, title, persona, ...)"]
    return data, []


def _consistency(scenario: Scenario, path: Path) -> list[str]:
    name = _display(path)
    problems = []
    if scenario.id != path.stem:
        problems.append(f"{name}: id: '{scenario.id}' must match the file name '{path.stem}'")
    known = scenario.fact_numbers()
    for key, value in scenario.facts.items():
        known |= spoken_numbers(f"{key} {value}")
    days = calendar_words(" ".join([*scenario.facts.values(), scenario.wants]))
    for where, text in scenario.authored_texts():
        for number in sorted(spoken_numbers(text) - known):
            problems.append(f"{name}: {where}: says {number}, which is not in facts")
        for day in sorted(calendar_words(text) - days):
            problems.append(f"{name}: {where}: says {day.title()}, which is not in facts")
    return problems


def _validate(path: Path) -> tuple[Scenario | None, list[str]]:
    data, problems = _parse(path)
    if data is None:
        return None, problems
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        name = _display(path)
        out = []
        for err in exc.errors():
            loc = _loc(tuple(err["loc"]))
            msg = _message(err)
            # A model-level check names its own field ("stage_directions: required ...").
            out.append(f"{name}: {loc}: {msg}" if loc else f"{name}: {msg}")
        return None, out
    problems = _consistency(scenario, path)
    return (None if problems else scenario), problems


def validate_file(path: str | Path) -> list[str]:
    """Every problem with the pack at ``path``, one line each; empty when it is valid."""
    return _validate(Path(path))[1]


def scenario_files(directory: Path | None = None) -> list[Path]:
    folder = directory or scenarios_dir()
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []


def list_scenarios(directory: Path | None = None) -> list[Scenario]:
    """The valid packs in ``directory`` (default ``prompts/scenarios``), by id.

    Invalid packs are left out here; ``validate_file`` says what is wrong with them.
    """
    out = []
    for path in scenario_files(directory):
        scenario, _ = _validate(path)
        if scenario is not None:
            out.append(scenario)
    return sorted(out, key=lambda s: s.id)


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a pack by name (``kettle-counter``) or by path; raise ``CalmlineError`` if bad."""
    text = str(name_or_path)
    candidate = Path(text)
    if candidate.suffix in {".yaml", ".yml"} or candidate.is_file() or "/" in text:
        path = candidate
    else:
        path = scenarios_dir() / f"{text}.yaml"
        if not path.is_file():
            names = ", ".join(p.stem for p in scenario_files()) or "none found"
            raise CalmlineError(
                f"unknown scenario '{text}'",
                f"available: {names}; or give the path of a .yaml pack",
            )
    scenario, problems = _validate(path)
    if scenario is None:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise CalmlineError(
            problems[0] + more, f"run `calmline scenarios check {_display(path)}` to see them all"
        )
    return scenario
