"""A reference read back wrong (``customer/references.py``): pure logic on the packs' facts."""

from __future__ import annotations

import pytest

from calmline.customer.references import misread_reference, references
from calmline.customer.scenario import load_scenario


def test_the_packs_references_are_found() -> None:
    assert references(load_scenario("late-parcel").facts) == ["ND-558213", "07700 900412"]
    assert "7781 2290" in references(load_scenario("broadband-outages").facts)


@pytest.mark.parametrize(
    ("pack", "turn", "wrong"),
    [
        ("late-parcel", "okay ND-558231 sir", "ND-558213"),  # two digits swapped
        ("late-parcel", "ND-558213, one moment", None),  # right
        ("broadband-outages", "account 7781 2920", "7781 2290"),
        ("kettle-counter", "receipt 40271?", "40217"),
        ("kettle-counter", "£34.99 on your card", None),  # an amount, not a reference
        ("late-parcel", "ND-912345", None),  # another reference altogether
    ],
)
def test_a_misread_reference_is_named(pack: str, turn: str, wrong: str | None) -> None:
    assert misread_reference(turn, load_scenario(pack).facts) == wrong


def test_a_reference_spelled_out_by_the_recogniser_is_read() -> None:
    """ "sorry was that j b three oh four eight one" is JB-30481, read back wrong; a booking
    code with two digits ("K7PQ2N" for K7PQ2M) is a reference too (realism round 8)."""
    boiler = load_scenario("boiler-repair-sla").facts
    assert misread_reference("sorry was that j b three oh four eight one", boiler) == "JB-30418"
    assert misread_reference("j b three oh four one eight aye", boiler) is None
    flight = load_scenario("cancelled-flight").facts
    assert misread_reference("Okay, K7PQ2N, four passengers, correct?", flight) == "K7PQ2M"
    assert misread_reference("k seven p q two m thank you", flight) is None
    # "that's" is a word, not the letter s at the front of the code (realism round 9)
    assert misread_reference("so that's k seven p q two n yeah", flight) == "K7PQ2M"
    assert misread_reference("so that's k seven p q two m yeah", flight) is None
    # the spelt run runs on into the next number: "... two n four passengers" (realism round 13)
    line = "thank you thats k seven p q two n four passengers on the n w four one eight"
    assert misread_reference(line, flight) == "K7PQ2M"
    assert misread_reference(line.replace(" n four", " m four"), flight) is None


def test_a_reference_put_right_in_the_same_turn_is_left() -> None:
    benefits = load_scenario("benefits-counter-safety").facts
    assert misread_reference("Right, HB-662091... no, sorry, 662019.", benefits) is None
