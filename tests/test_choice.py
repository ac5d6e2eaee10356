"""A choice put to the customer (``customer/choice.py``): the customer takes one, in their words."""

from __future__ import annotations

import pytest

from calmline.customer.choice import chosen, options, picked
from calmline.customer.scenario import load_scenario


@pytest.mark.parametrize(
    ("pack", "turn", "pick"),
    [
        # realism round 9: answered "Yes, that's it exactly. So what happens now?"
        (
            "kettle-counter",
            "It's well inside thirty days, so you can have the full £34.99 back or a new one, "
            "your choice entirely.",
            "A new one, please.",
        ),
        (
            "hotel-room",
            "Would you like me to move you to a sea view room tonight, or refund the difference?",
            "Move me to a sea view room tonight, please.",
        ),
        # a question with "or" in it is no offer
        ("kettle-counter", "Is it leaking from the base or the lid?", None),
        # nor is a choice between things the customer never asked for
        ("late-parcel", "Do you want a call or an email about it?", None),
    ],
)
def test_the_customer_takes_the_option_they_want_most(
    pack: str, turn: str, pick: str | None
) -> None:
    assert chosen(turn, load_scenario(pack)) == pick


def test_the_options_are_the_offer_itself_not_its_frame() -> None:
    turn = "so do you want me to grab you a new one now or put the money back on your card"
    assert options(turn) == ["grab you a new one now", "put the money back on your card"]


@pytest.mark.parametrize(
    ("turn", "pick"),
    [
        # realism round 12: two slots offered, the customer thanked them without a pick
        (
            "um so i can do thursday eight till ten or friday twelve till two which suits you "
            "better thursdays the earliest",
            "Thursday eight till ten, please.",
        ),
        ("I can send someone on Friday or this afternoon.", "This afternoon, please."),
        # a question about the customer's case with "or" in it is answered, not picked from
        ("Did you book direct or through a comparison site?", None),
        # an account or a list of rights with "or" in it is no choice put (realism round 13)
        (
            "I'm sorry about Friday, the engineer was booked eight to one and nobody came or "
            "called you.",
            None,
        ),
        ("Has it dropped out in the evening or during the day?", None),
    ],
)
def test_a_choice_of_times_is_answered_with_a_pick(turn: str, pick: str | None) -> None:
    assert picked(turn, load_scenario("broadband-outages")) == pick


def test_a_right_stated_as_a_choice_is_answered_with_the_pick_not_an_echo() -> None:
    # realism round 13: "You're entitled to a new one, please."
    turn = "It's faulty, and you're entitled to a new one or your money back."
    assert picked(turn, load_scenario("kettle-counter")) == "A new one, please."
    times = "I have four seats tomorrow: one at 07:05 with a partner airline, or ours at 11:40."
    assert picked(times + " Which would you prefer?", load_scenario("cancelled-flight")) == (
        "One at 07:05 with a partner airline, please."
    )


def test_an_option_cut_from_a_longer_offer_is_taken_by_its_place() -> None:
    """ "...so it's with you tomorrow, well before Saturday, or I can refund the £89 today":
    not "Before Saturday, please." (realism round 13)."""
    turn = (
        "I can send a replacement pair out today on tracked next-day, so it's with you "
        "tomorrow, well before Saturday, or I can refund the £89 today. Which would you rather?"
    )
    assert picked(turn, load_scenario("late-parcel")) == "The first one, please."


def test_rights_told_are_not_answered_by_place() -> None:
    """ "You're entitled to be rerouted..., or a full refund" tells rights; "The first one,
    please." answers a question nobody asked (realism round 14)."""
    turn = (
        "Your rights, plainly. You're entitled to be rerouted at the earliest opportunity, on "
        "another airline if needed, or a full refund. Meals and a hotel while you wait."
    )
    assert picked(turn, load_scenario("cancelled-flight")) is None
