"""The LLM tier: one atomic check per call, JSON out, temperature 0, quotes verified.

The judge sees the transcript wrapped as data, told that anything inside it addressed
to the marker is to be ignored; marker-addressed text is also removed before the call
(see ``evidence.strip_marker_instructions``), so neither tier can be talked into a
verdict. A positive check passes only with at least one quote found verbatim in a
learner turn of the right phase. Use it only with a capable endpoint: the bundled
135M/270M models cannot mark reliably.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from calmline.errors import CalmlineError
from calmline.evaluate.evidence import strip_marker_instructions, verified
from calmline.evaluate.offline import evidence_phases, score_of
from calmline.evaluate.rules import SCORES, apply_rule, parse_rule
from calmline.models import (
    Assessment,
    Check,
    CheckResult,
    MarkingPoint,
    PointVerdict,
    Rubric,
    SessionRecord,
)
from calmline.paths import templates_dir
from calmline.protocols import ChatMessage, ChatModel, GenerationOptions

_JSON = re.compile(r"\{.*\}", re.DOTALL)
JUDGE_OPTIONS = GenerationOptions(max_tokens=300, temperature=0.0, seed=0)


UNUSABLE = "judge reply was not valid JSON; offline tier decides"


def parse_judge_reply(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` with a boolean ``passed``, else ``None``."""
    match = _JSON.search(text)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("passed"), bool):
        return None
    quotes = data.get("quotes", [])
    data["quotes"] = [q for q in quotes if isinstance(q, str)] if isinstance(quotes, list) else []
    return data


class LLMJudge:
    """Marks checks with a ``ChatModel``; ``name`` goes into ``Assessment.judge``."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model
        self.name = f"llm:{model.name}"
        env = Environment(
            loader=FileSystemLoader(str(templates_dir())),
            undefined=StrictUndefined,
            autoescape=False,  # plain-text prompts, never rendered as HTML
            keep_trailing_newline=True,
        )
        try:
            self._system = env.get_template("judge_system.j2").render()
            self._check = env.get_template("judge_check.j2")
        except Exception as exc:
            raise CalmlineError(
                f"cannot load the judge prompt templates: {exc}",
                f"expected judge_system.j2 and judge_check.j2 in {templates_dir()}",
            ) from exc

    def messages(
        self, session: SessionRecord, point: MarkingPoint, check: Check
    ) -> list[ChatMessage]:
        user = self._check.render(point=point, check=check, turns=session.turns)
        return [ChatMessage("system", self._system), ChatMessage("user", user)]

    def judge_check(self, session: SessionRecord, point: MarkingPoint, check: Check) -> CheckResult:
        reply = "".join(self.model.stream_chat(self.messages(session, point, check), JUDGE_OPTIONS))
        data = parse_judge_reply(reply)
        check_id = f"llm:{check.id}"
        if data is None:
            return CheckResult(check_id=check_id, passed=check.negative, detail=UNUSABLE)
        evidence = verified(data["quotes"], session, evidence_phases(point))
        passed = bool(data["passed"])
        detail = str(data.get("reason", ""))[:300]
        if passed and not check.negative and not evidence:
            passed, detail = False, "judge gave no quote found verbatim in a learner turn"
        return CheckResult(check_id=check_id, passed=passed, detail=detail, evidence=evidence)

    def assess(self, session: SessionRecord, rubric: Rubric) -> Assessment:
        clean, ignored = strip_marker_instructions(session)
        verdicts = []
        for point in rubric.points:
            results = [self.judge_check(clean, point, check) for check in point.checks]
            if any(r.detail == UNUSABLE for r in results):
                # No usable answer is no vote: leaving the point out keeps the offline
                # verdict (merge_assessments) instead of letting a model that cannot
                # follow the format mark everything "not met".
                continue
            passed = {r.check_id.removeprefix("llm:"): r.passed for r in results}
            verdict = apply_rule(parse_rule(point.rule, [c.id for c in point.checks]), passed)
            negatives = {f"llm:{c.id}" for c in point.checks if c.negative}
            evidence = [
                e for r in results if r.passed and r.check_id not in negatives for e in r.evidence
            ]
            if verdict != "not_met" and not evidence:
                verdict = "not_met"
            verdicts.append(
                PointVerdict(
                    point_id=point.id,
                    source=point.source,
                    text=point.text,
                    verdict=verdict,
                    score=SCORES[verdict],
                    confidence=0.6,
                    evidence=evidence,
                    checks=results,
                    improvement="" if verdict == "met" else point.improvement,
                    tier="llm",
                )
            )
        score = score_of(rubric, verdicts)
        return Assessment(
            session_id=session.id,
            rubric_id=rubric.id,
            rubric_title=rubric.title,
            judge=self.name,
            verdicts=verdicts,
            score=score,
            passed=score >= rubric.pass_mark,
            ignored_instructions=ignored,
        )
