"""A detail of the customer's case read back wrong: which, and how the customer puts it right.

A reference (``references.py``), a date of the story (``dates.py``) or an amount
(``amounts.py``) said wrong is corrected before anything else ("No, it's K7PQ2M."), and it
costs the learner a little: of 40 such turns in the labelled realism rounds, blind labellers
said the customer's anger should rise on 28 and hold on 11 ("gets the delivery date wrong to
an exact customer").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from calmline.customer.amounts import misread_amount
from calmline.customer.dates import misread_date
from calmline.customer.references import misread_reference

MISREAD_CAUSE = "a detail of the case read back wrong"
MISREAD_ANGER = 4.0  # before the persona's sensitivity


@dataclass(frozen=True)
class Misread:
    right: str  # the detail as the facts have it: "K7PQ2M", "Tuesday 11 March", "£350 per..."
    correction: str  # what the customer says: "No, it's K7PQ2M."


def misread(learner_text: str, facts: Mapping[str, str], earlier: Iterable[str]) -> Misread | None:
    """The first detail of the case the learner just read back wrong, if any; ``earlier``:
    what was said before in the call (a reference said there is not a misreading)."""
    reference = misread_reference(learner_text, facts, earlier)
    if reference is not None:
        return Misread(reference, f"No, it's {reference}.")
    date = misread_date(learner_text, facts)
    if date is not None:
        return Misread(date, f"No, it was {date}.")
    amount = misread_amount(learner_text, facts)
    if amount is not None:
        return Misread(amount, f"No, it's {amount}.")
    return None
