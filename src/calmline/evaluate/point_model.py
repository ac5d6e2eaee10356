"""A learned verdict per marking point, from its checks and the call's tone profile.

The rubric's rule ("a & b => met; a | b => partly; else => not_met") is a hand-made
guess at how raters weigh a point's checks. Where people's labels show a better weighing,
``rubrics/point_model.json`` holds one for the point: a multinomial logistic regression
over

- each of the point's checks (passed or not),
- the rule's own verdict and whether any quote supports the point,
- whether there was a debrief,
- the share of the learner's call turns the tone reader heard each tag in, and the mean
  uptake (how an upset customer would take the turns: fall, hold, rise),
- for a point that counts a mistake (a negative check: a lapse, blame, solving before
  understanding), the call's worst moment: the highest probability the tone reader gave
  any single learner call turn for each negative tag (one sarcastic, blaming or
  dismissive line costs professionalism even when the rest of the call is warm, and a
  share over all the turns dilutes it),

trained by ``benchmarks/train_point_model.py`` on labelled transcripts written and rated by
people outside the marker's code (``assessment-dev`` and ``data/assessment-train``), and
kept only for the points where it agreed with the raters better than the rule did, in
cross-validation by transcript. A model is stamped with its point's checks and rule: a
trainer who edits a point gets the rule again until the model is retrained.

The evidence rule still holds afterwards (``offline.verdict_for_point``): no verdict above
not met without a verified learner quote.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from calmline.errors import CalmlineError
from calmline.models import (
    NEGATIVE_TAGS,
    TONE_TAGS,
    CheckResult,
    MarkingPoint,
    SessionRecord,
    ToneReading,
    Verdict,
)
from calmline.paths import rubrics_dir
from calmline.tone.encoder import UPTAKE

MODEL_FILE = "point_model.json"
LEVELS: tuple[Verdict, ...] = ("not_met", "partly", "met")
PROFILE_TAGS = TONE_TAGS  # every tag the tone reader gives
PEAK_TAGS = tuple(t for t in TONE_TAGS if t in NEGATIVE_TAGS)  # the mistakes, in tag order


@dataclass(frozen=True)
class CallProfile:
    """What the whole call looked like, the same for every point."""

    debrief: bool
    tag_share: tuple[float, ...]  # per PROFILE_TAGS: share of learner call turns with it
    uptake: tuple[float, ...]  # per UPTAKE: mean over learner call turns
    # per PEAK_TAGS: the highest probability any one learner call turn has it
    tone_peak: tuple[float, ...] = (0.0,) * len(PEAK_TAGS)


def call_profile(session: SessionRecord, tones: Mapping[int, ToneReading]) -> CallProfile:
    readings = list(tones.values())
    n = max(len(readings), 1)
    debrief = session.learner_turns("debrief")
    return CallProfile(
        debrief=bool(debrief),
        tag_share=tuple(sum(r.tags.get(t, 0.0) >= 0.5 for r in readings) / n for t in PROFILE_TAGS),
        uptake=tuple(sum(r.uptake.get(d, 0.0) for r in readings) / n for d in UPTAKE),
        tone_peak=tuple(
            max((r.tags.get(t, 0.0) for r in readings), default=0.0) for t in PEAK_TAGS
        ),
    )


def point_stamp(point: MarkingPoint) -> str:
    """A hash of what the model was trained against: the point's check ids, its rule and
    the layout of its features (with or without the tone peaks)."""
    layout = ["tone_peak", *PEAK_TAGS] if any(c.negative for c in point.checks) else []
    text = json.dumps([sorted(c.id for c in point.checks), " ".join(point.rule.split()), *layout])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def features(
    point: MarkingPoint,
    results: Sequence[CheckResult],
    rule_verdict: Verdict,
    evidenced: bool,
    profile: CallProfile,
) -> np.ndarray:
    by_id = {r.check_id: r for r in results}
    ids = sorted(c.id for c in point.checks)
    # Only what a learner cannot pad: which checks passed (not how many quotes they found),
    # whether there was a debrief (not how long it ran), and the call's tone profile read
    # after marker-addressed text is stripped. Text addressed to the marker must never
    # move a verdict (tests/test_injection.py).
    x = [float(by_id[i].passed) for i in ids]
    x += [float(evidenced), float(LEVELS.index(rule_verdict)), float(profile.debrief)]
    x += [*profile.tag_share, *profile.uptake]
    if any(c.negative for c in point.checks):
        # A point that counts a mistake reads the call's worst turn too. A peak can only
        # show a mistake: padding the call with good turns cannot lower it.
        x += [*profile.tone_peak]
    return np.array(x, dtype=np.float64)


@dataclass(frozen=True)
class PointModel:
    """One point's learned weighing: class scores = coef @ features + intercept."""

    point_id: str
    stamp: str
    classes: tuple[Verdict, ...]
    coef: np.ndarray  # (classes, features)
    intercept: np.ndarray  # (classes,)

    def verdict(self, x: np.ndarray) -> Verdict:
        if x.shape[0] != self.coef.shape[1]:
            raise CalmlineError(
                f"the learned model of {self.point_id} expects {self.coef.shape[1]} features, "
                f"got {x.shape[0]}",
                "retrain it with benchmarks/train_point_model.py",
            )
        return self.classes[int(np.argmax(self.coef @ x + self.intercept))]

    def to_json(self) -> dict[str, object]:
        return {
            "stamp": self.stamp,
            "classes": list(self.classes),
            "coef": np.round(self.coef, 6).tolist(),
            "intercept": np.round(self.intercept, 6).tolist(),
        }


def save_point_models(
    models: Mapping[str, PointModel], meta: dict[str, object], path: Path
) -> None:
    body = {"meta": meta, "points": {pid: m.to_json() for pid, m in sorted(models.items())}}
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")


def read_point_models(path: Path) -> dict[str, PointModel]:
    if not path.is_file():
        return {}
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return {
            pid: PointModel(
                point_id=pid,
                stamp=str(m["stamp"]),
                classes=tuple(m["classes"]),
                coef=np.array(m["coef"], dtype=np.float64),
                intercept=np.array(m["intercept"], dtype=np.float64),
            )
            for pid, m in body["points"].items()
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CalmlineError(
            f"cannot read the learned marking models {path}: {exc}",
            f"delete {path.name} to mark by the rubric rules alone, or retrain it with "
            "benchmarks/train_point_model.py",
        ) from exc


@lru_cache(maxsize=4)
def _shipped(folder: Path) -> dict[str, PointModel]:
    return read_point_models(folder / MODEL_FILE)


def load_point_models(folder: Path | None = None) -> dict[str, PointModel]:
    """The learned point models beside the rubrics (none: every point by its rule)."""
    return _shipped(folder or rubrics_dir())


def model_for(point: MarkingPoint, models: Mapping[str, PointModel]) -> PointModel | None:
    """The point's model, if it was trained on this very point (same checks and rule)."""
    model = models.get(point.id)
    return model if model is not None and model.stamp == point_stamp(point) else None
