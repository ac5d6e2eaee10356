"""An amount of the customer's story said wrong is corrected (``customer/amounts.py``)."""

from __future__ import annotations

import pytest

from calmline.customer.amounts import misread_amount
from calmline.customer.scenario import load_scenario


@pytest.mark.parametrize(
    ("pack", "turn", "correction"),
    [
        # realism rounds 11 and 13: agreed to with "Yes. That's it."
        (
            "cancelled-flight",
            "and for compensation on this distance its um two fifty per passenger",
            "£350 per passenger",
        ),
        (
            "cancelled-flight",
            "and on the compensation side youd be due two hundred and fifty pound each",
            "£350 per passenger",
        ),
        (
            "boiler-repair-sla",
            "that's twenty for each missed target",
            "£25 for each missed service target",
        ),
        ("broadband-outages", "you pay 40 pounds a month for it", "£42.00 a month"),
        # said right, in words or figures
        ("cancelled-flight", "compensation is three hundred and fifty per passenger", None),
        ("boiler-repair-sla", "thats twenty five for each target we missed", None),
        ("hotel-room", "three nights friday to monday hundred and forty five a night", None),
        # a count is not an amount; an amount of something the pack does not price is left
        ("broadband-outages", "so that's four outages a month", None),
        ("cancelled-flight", "four each", None),
        ("late-parcel", "I've refunded the £4.99 delivery as well", None),
    ],
)
def test_an_amount_said_wrong_is_found(pack: str, turn: str, correction: str | None) -> None:
    assert misread_amount(turn, load_scenario(pack).facts) == correction
