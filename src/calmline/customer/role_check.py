"""The role check: does a customer line sound like the customer, in the customer's mood?

``line_check`` rejects what a rule can name (assistant-speak, invented numbers, loops).
A 270M model's worst lines name nothing: "I'll be very careful with the machine, I
promise" has no forbidden phrase, yet it is the agent talking. This check reads meaning:
two linear read-outs on the MiniLM sentence embedding the tone reader already loads.

- *role*: customer voice (+) against staff voice (-), trained on every pack's authored
  customer lines against its learner scripts, plus ``prompts/role_reference.yaml``;
- *mood*: aggrieved (+) against settled (-), trained on the packs' angry and furious
  lines (with the manager and hang-up lines) against their calm lines and satisfied
  line, plus the reference file's; only used to refuse a contented line while the
  customer is angry or furious.

Each read-out is a ridge-regularised least-squares fit (closed form, deterministic) on
the reference embeddings. Fitting costs one embedding pass over a few hundred lines,
so the weights are cached on disk, keyed by a hash of the training lines and the
embedder. Thresholds were set on half of a hand-labelled pool of the bundled model's
lines and measured on the other half (``benchmarks/character_eval.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from calmline.customer.scenario import Scenario, list_scenarios
from calmline.errors import CalmlineError
from calmline.files import read_text
from calmline.models import AngerBand
from calmline.paths import cache_dir, prompts_dir
from calmline.protocols import Embedder
from calmline.yaml_input import YamlProblem, load_yaml

STAFF_VOICE = "sounds like the agent, not the customer"
TOO_SETTLED = "too settled for an angry customer"
ROLE_THRESHOLD = 0.0  # role score below this: staff voice
MOOD_THRESHOLD = -0.35  # mood score below this while angry or furious: too settled
RIDGE = 1.0
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ReferenceLines:
    """The training lines of both read-outs."""

    customer: list[str]
    staff: list[str]
    aggrieved: list[str]
    settled: list[str]

    def digest(self, embedder_name: str) -> str:
        blob = json.dumps([embedder_name, self.customer, self.staff, self.aggrieved, self.settled])
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def reference_lines(
    scenarios: Iterable[Scenario] | None = None, reference: Path | None = None
) -> ReferenceLines:
    """Training lines from the packs and ``prompts/role_reference.yaml``."""
    path = reference or prompts_dir() / "role_reference.yaml"
    try:
        data = load_yaml(read_text(path, "a reference-lines file"))[0] or {}
    except (CalmlineError, YamlProblem) as exc:
        raise CalmlineError(
            f"cannot read the role check's reference lines {path}: {exc}",
            "restore prompts/role_reference.yaml from the repository",
        ) from exc
    refs = ReferenceLines(
        customer=list(data.get("customer", [])),
        staff=list(data.get("staff", [])),
        aggrieved=list(data.get("aggrieved", [])),
        settled=list(data.get("settled", [])),
    )
    for sc in list_scenarios() if scenarios is None else scenarios:
        refs.customer.extend(text for _, text in sc.authored_texts())
        refs.customer.extend(d.detail for d in sc.hidden_details)
        refs.staff.extend([*sc.learner_script_good, *sc.learner_script_poor])
        refs.staff.extend(ex.text for ex in sc.few_shot if ex.speaker == "agent")
        refs.aggrieved.extend([*sc.lines.angry, *sc.lines.furious, sc.manager_line])
        refs.aggrieved.append(sc.hangup_line)
        refs.settled.extend([*sc.lines.calm, sc.satisfied_line])
    return refs


def fit_direction(positive: FloatArray, negative: FloatArray, ridge: float = RIDGE) -> FloatArray:
    """Weights (last entry the bias) of a ridge least-squares read-out: + for positive."""
    x = np.vstack([positive, negative]).astype(np.float64)
    x = np.hstack([x, np.ones((x.shape[0], 1))])
    y = np.concatenate([np.ones(len(positive)), -np.ones(len(negative))])
    # balance the classes so the larger set does not pull the bias its way
    weights = np.concatenate(
        [np.full(len(positive), 0.5 / len(positive)), np.full(len(negative), 0.5 / len(negative))]
    )
    xw = x * weights[:, None]
    penalty = ridge * np.eye(x.shape[1]) / x.shape[0]
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    solution = np.linalg.solve(x.T @ xw + penalty, xw.T @ y)
    return solution.astype(np.float32)


def score(direction: FloatArray, embeddings: FloatArray) -> FloatArray:
    """Read-out scores for rows of ``embeddings``."""
    return (embeddings @ direction[:-1] + direction[-1]).astype(np.float32)


@dataclass(frozen=True)
class RoleVerdict:
    role: float  # > 0 customer voice, < 0 staff voice
    mood: float  # > 0 aggrieved, < 0 settled

    def problems(self, band: AngerBand) -> list[str]:
        out = []
        if self.role < ROLE_THRESHOLD:
            out.append(STAFF_VOICE)
        if band in ("angry", "furious") and self.mood < MOOD_THRESHOLD:
            out.append(TOO_SETTLED)
        return out


class RoleCheck:
    """Scores customer lines with the two read-outs; ``problems`` is the check."""

    def __init__(self, embedder: Embedder, role: FloatArray, mood: FloatArray) -> None:
        self.embedder = embedder
        self.role = role
        self.mood = mood

    @classmethod
    def fit(cls, embedder: Embedder, refs: ReferenceLines) -> RoleCheck:
        def emb(texts: Sequence[str]) -> FloatArray:
            return np.asarray(embedder.embed(list(texts)), dtype=np.float32)

        role = fit_direction(emb(refs.customer), emb(refs.staff))
        mood = fit_direction(emb(refs.aggrieved), emb(refs.settled))
        return cls(embedder, role, mood)

    def verdicts(self, texts: Sequence[str]) -> list[RoleVerdict]:
        if not texts:
            return []
        vectors = np.asarray(self.embedder.embed(list(texts)), dtype=np.float32)
        roles, moods = score(self.role, vectors), score(self.mood, vectors)
        return [RoleVerdict(float(r), float(m)) for r, m in zip(roles, moods, strict=True)]

    def problems(self, text: str, band: AngerBand) -> list[str]:
        """What the role check finds wrong with ``text`` said at ``band``; empty if fine."""
        return self.verdicts([text])[0].problems(band)


def load_role_check(embedder: Embedder, refs: ReferenceLines | None = None) -> RoleCheck:
    """The role check for ``embedder``, fitted once and cached on disk."""
    refs = refs or reference_lines()
    path = cache_dir() / f"role-check-{refs.digest(embedder.name)}.npz"
    if path.exists():
        try:
            with np.load(path) as saved:
                return RoleCheck(embedder, saved["role"], saved["mood"])
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # a torn write: fit again
    check = RoleCheck.fit(embedder, refs)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, role=check.role, mood=check.mood)
    tmp.replace(path)
    return check


@lru_cache(maxsize=1)
def default_role_check() -> RoleCheck:
    """The role check on the bundled MiniLM embedder, once per process."""
    from calmline.embed import load_embedder

    return load_role_check(load_embedder())
