"""Merging the offline and LLM tiers: one verdict per point, with confidence and a flag.

Agreement raises confidence. Disagreement takes the lower verdict (a learner is never
credited on one tier's word alone) and flags the point for an assessor.
"""

from __future__ import annotations

from calmline.evaluate.rules import SCORES
from calmline.models import Assessment, PointVerdict, Rubric

_RANK = {"not_met": 0, "partly": 1, "met": 2}


def merge_point(offline: PointVerdict, llm: PointVerdict) -> PointVerdict:
    if offline.verdict == llm.verdict:
        confidence = min(0.98, max(offline.confidence, llm.confidence) + 0.1)
        verdict, flagged, reason = offline.verdict, False, ""
    else:
        low, high = sorted((offline, llm), key=lambda v: _RANK[v.verdict])
        verdict, flagged = low.verdict, True
        reason = f"offline said {offline.verdict}, LLM said {llm.verdict}; kept the lower"
        confidence = 0.35 if abs(_RANK[high.verdict] - _RANK[low.verdict]) > 1 else 0.45
    evidence = list(offline.evidence)
    for ev in llm.evidence:
        if all((e.turn_index, e.quote) != (ev.turn_index, ev.quote) for e in evidence):
            evidence.append(ev)
    if verdict == "not_met":
        evidence = evidence if flagged else []
    return offline.model_copy(
        update={
            "verdict": verdict,
            "score": SCORES[verdict],
            "confidence": round(confidence, 2),
            "evidence": evidence,
            "checks": [*offline.checks, *llm.checks],
            "improvement": offline.improvement or llm.improvement if verdict != "met" else "",
            "tier": "merged",
            "flagged": flagged or offline.flagged or llm.flagged,
            "flag_reason": reason or offline.flag_reason or llm.flag_reason,
        }
    )


def merge_assessments(rubric: Rubric, offline: Assessment, llm: Assessment) -> Assessment:
    from calmline.evaluate.offline import score_of

    llm_by_id = {v.point_id: v for v in llm.verdicts}
    verdicts = [
        merge_point(v, llm_by_id[v.point_id]) if v.point_id in llm_by_id else v
        for v in offline.verdicts
    ]
    score = score_of(rubric, verdicts)
    return offline.model_copy(
        update={
            "judge": f"merged(offline+{llm.judge})",
            "verdicts": verdicts,
            "score": score,
            "passed": score >= rubric.pass_mark,
        }
    )
