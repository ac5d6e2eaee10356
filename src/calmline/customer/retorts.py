"""Customer lines that retort something particular: said only when the learner said it.

"Please don't tell me you understand" answers a turn that claimed to understand, "I don't
find that amusing" a joke, "You're calling me a liar now?" a doubt about the customer's
word. A pack's replies are grouped by tag, so such a line can be picked for a turn that
did none of these (a brush-off, a plain question), and the learner hears the customer
answer something nobody said. The table is data (``prompts/retorts.yaml``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from calmline.errors import CalmlineError
from calmline.paths import prompts_dir


@dataclass(frozen=True)
class Retort:
    name: str
    line: re.Pattern[str]
    turn: re.Pattern[str]
    tags: frozenset[str]
    unless: re.Pattern[str] | None = None  # the turn takes it back ("sorry, that policy was wrong")

    def answers(self, learner_text: str, tags: Iterable[str]) -> bool:
        text = learner_text.replace("’", "'")
        if self.unless is not None and self.unless.search(text):
            return False
        return bool(self.turn.search(text)) or bool(self.tags & set(tags))


def load_retorts(path: Path | None = None) -> tuple[Retort, ...]:
    """``prompts/retorts.yaml`` (or ``path``), compiled."""
    path = path or prompts_dir() / "retorts.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return tuple(
            Retort(
                name=str(r["name"]),
                line=re.compile(r["line"], re.IGNORECASE),
                turn=re.compile(r["turn"], re.IGNORECASE),
                tags=frozenset(r.get("tags") or ()),
                unless=re.compile(r["unless"], re.IGNORECASE) if r.get("unless") else None,
            )
            for r in data["retorts"]
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, re.error) as exc:
        raise CalmlineError(f"cannot read {path}: {exc}", "reinstall calmline") from exc


@lru_cache(maxsize=1)
def retorts() -> tuple[Retort, ...]:
    return load_retorts()


def retort_fits(line: str, learner_text: str, tags: Iterable[str] = ()) -> bool:
    """May ``line`` follow this learner turn? Yes unless it retorts something the turn did
    not say (and none of its tone ``tags`` is what the retort answers)."""
    text = line.replace("’", "'")
    tags = tuple(tags)
    if not _echo_fits(text, learner_text):
        return False
    return all(r.answers(learner_text, tags) for r in retorts() if r.line.search(text))


# "Try? Don't try.", "Soon? ...", "Policy? ...": a line that opens by throwing one of the
# learner's words back needs the learner to have said it (realism round 13: "Try? Don't
# try." to "I'll look wider"). Interjections are not echoes.
_ECHO = re.compile(r"^\W*([A-Za-z']{3,})\?\s")
_NOT_ECHO = frozenset({"yeah", "yes", "really", "right", "sorry", "what", "pardon", "okay", "and"})


def _echo_fits(line: str, learner_text: str) -> bool:
    echo = _ECHO.match(line)
    if echo is None or echo.group(1).lower() in _NOT_ECHO:
        return True
    stem = echo.group(1).lower()[:4]
    return any(w.startswith(stem) for w in re.findall(r"[a-z']+", learner_text.lower()))
