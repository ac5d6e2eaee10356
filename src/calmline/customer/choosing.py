"""Which authored line answers the learner's turn: the pack's candidates, ranked.

With authored lines (the offline default) every customer line after the opening is
one of the pack's: an answer to a question, a reply to the learner's move, or a line
for the customer's anger. Picking by tag alone answers "I'll have an engineer with
you by two" with "And when will that be?". Here each candidate is

- *filtered*: never a line already said, never one that asks for something the
  learner has just given or already gave (a time, an action, a contact, a
  confirmation: ``meaning.asks_for``), never one that takes up an offer ("Will that be
  today?") after a turn that offered nothing, nor one that grants a request ("Go ahead")
  after a turn that asked nothing (``meaning.fits_turn``), never a retort of something
  the turn did not say ("I don't find that amusing" after no joke: ``retorts.py``), never one
  near-identical in meaning to a line the customer has said;
- *scored*: how directly it answers the turn's move (``fit``: a reply to a meaning
  move such as a concrete action or a brush-off, then a reply to a tone tag, then the
  band's own lines), minus the distance of its band from the customer's anger, plus
  how well it follows what the learner just said (MiniLM cosine between the line and
  the learner's turn), minus how much it repeats the customer's earlier lines.

Pure given the embedder: same candidates, same call, same choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from calmline.customer.meaning import asks_for, fits_turn
from calmline.customer.retorts import retort_fits
from calmline.customer.scenario import spoken_numbers
from calmline.embed import FloatMatrix
from calmline.models import Given
from calmline.protocols import Embedder

FIT_WEIGHT = 1.0
BAND_WEIGHT = 0.35  # per band away from the customer's anger
FOLLOW_WEIGHT = 0.6  # cosine with the learner's turn
ECHO_FROM = 0.75  # cosine with one of the customer's own lines above which it repeats
ECHO_WEIGHT = 2.0


@dataclass(frozen=True)
class Candidate:
    """A line the customer could say now.

    Attributes:
        text: the line.
        key: where it comes from, for the notes (``reply:3``, ``line:angry``...).
        fit: how directly it answers the learner's move, 0..1.5.
        band_steps: how many bands its anger is from the customer's.
    """

    text: str
    key: str
    fit: float
    band_steps: int = 0


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    score: float
    why: str


def read_back(line: str, learner_text: str) -> bool:
    """Does ``line`` only give the learner references they have just read out themselves
    ("The receipt's right here, number 40217" after "40217, that all matches up")?"""
    refs = {n for n in spoken_numbers(line) if sum(ch.isdigit() for ch in n) >= 4}
    return bool(refs) and refs <= spoken_numbers(learner_text)


def _said(text: str, said: Iterable[str]) -> bool:
    key = text.strip().lower()
    return any(key == s.strip().lower() for s in said)


class LineChooser:
    """Ranks candidate lines; line embeddings are cached (a pack has a few hundred)."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self.embedder = embedder
        self._cache: dict[str, FloatMatrix] = {}

    def _vectors(self, texts: Sequence[str]) -> FloatMatrix:
        assert self.embedder is not None
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vector in zip(missing, self.embedder.embed(missing), strict=True):
                self._cache[text] = vector
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts]).astype(np.float32)

    def rank(
        self,
        candidates: Sequence[Candidate],
        learner_text: str,
        customer_said: Sequence[str],
        given: Iterable[Given] = (),
        offered: bool = True,
        asked: bool = True,
        tags: Iterable[str] = (),
    ) -> list[Scored]:
        """The candidates that may be said, best first; ``offered``: the learner's turn
        offered or promised something a line may take up; ``asked``: it asked something of
        the customer that a line may grant; ``tags``: its tone tags, which a retort such as
        "I don't find that amusing" may answer (``customer/retorts.py``)."""
        given_set = set(given)
        tags = tuple(tags)
        allowed = [
            c
            for c in candidates
            if not _said(c.text, customer_said)
            and not (asks_for(c.text) & given_set)
            and fits_turn(c.text, offered, asked)
            and retort_fits(c.text, learner_text, tags)
            and not read_back(c.text, learner_text)
        ]
        if not allowed:
            return []
        follow = np.zeros(len(allowed))
        echo = np.zeros(len(allowed))
        if self.embedder is not None:
            lines = self._vectors([c.text for c in allowed])
            if learner_text.strip():
                follow = lines @ self.embedder.embed([learner_text])[0]
            earlier = [t for t in customer_said if t.strip()]
            if earlier:
                echo = (lines @ self._vectors(list(earlier)).T).max(axis=1)
        out = []
        for i, c in enumerate(allowed):
            repeat = max(0.0, float(echo[i]) - ECHO_FROM)
            score = (
                FIT_WEIGHT * c.fit
                - BAND_WEIGHT * c.band_steps
                + FOLLOW_WEIGHT * float(follow[i])
                - ECHO_WEIGHT * repeat
            )
            why = f"{c.key} fit {c.fit:.2f} follows {float(follow[i]):.2f} repeats {repeat:.2f}"
            out.append(Scored(c, score, why))
        # stable: equal scores keep the candidates' order (the pack's order)
        return sorted(out, key=lambda s: -s.score)

    def choose(
        self,
        candidates: Sequence[Candidate],
        learner_text: str,
        customer_said: Sequence[str],
        given: Iterable[Given] = (),
        offered: bool = True,
        asked: bool = True,
        tags: Iterable[str] = (),
    ) -> Scored | None:
        ranked = self.rank(candidates, learner_text, customer_said, given, offered, asked, tags)
        return ranked[0] if ranked else None
