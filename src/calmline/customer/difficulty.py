"""What a pack's difficulty does to its customer: how touchy, how forgiving, how patient.

A pack's persona sets the customer's own temperament (baseline, start, sensitivity);
the difficulty (``easy`` / ``standard`` / ``hard``, from the pack or ``calmline
practice --difficulty``) scales it for the learner's level, so that the same script
can settle an easy customer and lose a hard one:

- ``sensitivity`` multiplies every rise (a brush-off bites harder on hard);
- ``recovery`` multiplies every fall (good handling counts for more on easy);
- ``patience``: learner turns in a row at the top (furious, not falling) before the
  customer gives a last warning; one more such turn and they hang up or demand a
  manager (an abusive turn at the top ends it at once);
- ``settle_shift`` moves the anger under which an accepted resolution settles the call;
- ``top``: the anger from which a turn counts towards running out of patience.
"""

from __future__ import annotations

from dataclasses import dataclass

from calmline.customer.scenario import Difficulty


@dataclass(frozen=True)
class Temper:
    """How the difficulty changes the customer (see the module docstring for each field)."""

    sensitivity: float = 1.0
    recovery: float = 1.0
    patience: int = 2
    settle_shift: float = 0.0
    top: float = 75.0


TEMPERS: dict[Difficulty, Temper] = {
    "easy": Temper(sensitivity=0.8, recovery=1.25, patience=3, settle_shift=5.0, top=80.0),
    "standard": Temper(),
    "hard": Temper(sensitivity=1.2, recovery=0.8, patience=1, settle_shift=-5.0),
}


def temper_for(difficulty: Difficulty) -> Temper:
    """The temper of a difficulty level."""
    return TEMPERS[difficulty]
