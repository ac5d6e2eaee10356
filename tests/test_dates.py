"""A date of the customer's story read back wrong is corrected (``customer/dates.py``)."""

from __future__ import annotations

import pytest

from calmline.customer.dates import misread_date
from calmline.customer.scenario import load_scenario


@pytest.mark.parametrize(
    ("pack", "turn", "correction"),
    [
        # realism round 12: answered "Yes, that's it exactly"
        (
            "boiler-repair-sla",
            "okay so i see the engineer attended on um wednesday the twelfth and the diverted "
            "valve part was ordered is that correct",
            "Tuesday 11 March",
        ),
        (
            "cra-right-to-reject",
            "I can see the Hallam WM8, delivered on the 14th of March.",
            "Tuesday 4 March",
        ),
        ("kettle-counter", "You bought it on Saturday the 8th, is that right?", "Saturday 1 March"),
        # told back right, put right in the same turn, or a booking: nothing to correct
        (
            "boiler-repair-sla",
            "He came on Tuesday the 11th at 16:40, the repair was promised "
            "for yesterday, and nobody came.",
            None,
        ),
        (
            "cra-right-to-reject",
            "Right, so delivered on the 14th of March... no, hang on, sorry, the 4th.",
            None,
        ),
        ("broadband-outages", "I've booked a senior engineer for Thursday, eight till ten.", None),
        ("late-parcel", "The tracking shows it delivered to a safe place on Saturday.", None),
        ("broadband-outages", "A fourth outage and an engineer who never showed.", None),
        # two events in one sentence, each with its date (realism round 13)
        (
            "late-parcel",
            "ok so thats the sonar headphones in black ordered on the sixth and marked "
            "delivered saturday the eighth at two fifty two",
            "Wednesday 5 March",
        ),
        # when nothing happened is no date of it (realism round 13)
        ("boiler-repair-sla", "You've had no heat since Monday and nobody came yesterday.", None),
    ],
)
def test_a_date_read_back_wrong_is_found(pack: str, turn: str, correction: str | None) -> None:
    assert misread_date(turn, load_scenario(pack).facts) == correction
