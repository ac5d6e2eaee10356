"""Neutral turns and identity checks (``customer/neutral.py``, ``customer/identity.py``):
pure logic on the packs' facts."""

from __future__ import annotations

import pytest

from calmline.customer.identity import identity_answer, identity_details
from calmline.customer.neutral import Account, neutral_kind, neutral_turn
from calmline.customer.retorts import retort_fits
from calmline.customer.scenario import load_scenario


def test_an_identity_check_is_answered_with_the_details_asked_for() -> None:
    parcel = load_scenario("late-parcel")
    turn = "For security, can I take your full name and postcode, please?"
    assert identity_details(turn) == ["name", "postcode"]
    assert identity_answer(turn, parcel, "irritated") == "It's Jason Reid, postcode RG1 8DN."
    # however angry, the customer answers, then pushes on
    angry = identity_answer("may I kindly confirm the mobile number on the order", parcel, "angry")
    assert angry is not None and angry.startswith("It's mobile 07700 900412.")
    assert identity_answer("I'll text your mobile at four.", parcel, "calm") is None


@pytest.mark.parametrize(
    ("turn", "kind"),
    [
        ("Can I just take the first line of your address for data protection?", "identity check"),
        ("Good afternoon.", "acknowledgement"),
        ("ND-558213, Sonara wireless headphones, black, ordered on the fifth", "read-back"),
        ("Bear with me one moment.", "hold"),
        ("let me just pull that order up", "look-up"),
        ("When do you actually need them by?", "question"),
        # not neutral: a doubt, a suggestion of what failed, an accusation
        ("Are you sure nobody at home took it in?", None),
        ("Would you check with your family, maybe?", None),
        ("You need to wait another 48 hours.", None),
    ],
)
def test_neutral_clauses_are_told_from_moves(turn: str, kind: str | None) -> None:
    parcel = load_scenario("late-parcel")
    assert neutral_kind(turn, Account(parcel, [parcel.opening_line])) == kind


def test_a_turn_is_neutral_only_when_every_clause_is() -> None:
    assert neutral_turn(["acknowledgement", "look-up"]) == "acknowledgement, look-up"
    assert neutral_turn(["question", None]) is None
    assert neutral_turn([]) is None


def test_a_retort_is_taken_back_by_an_apology_for_it() -> None:
    line = "Quoting policy at me again? The Act applies whatever your policy says."
    assert retort_fits(line, "Our policy is we repair faulty items first.")
    assert not retort_fits(
        line, "I can see you were told 'repair only, it's our policy'. I'm sorry, that was wrong."
    )
    assert not retort_fits("No. My contract is with you, not the manufacturer.", "Let me look.")
    assert not retort_fits("Don't tell me to wait. I've already waited.", "I'm opening it now.")
