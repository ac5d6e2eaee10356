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
    # a booking in the customer's name checks nothing (realism round 14: "It's Mark Brennan.")
    flight = load_scenario("cancelled-flight")
    booking = "Hotel at the airport tonight in your name. I'll have the team bring the bag back."
    assert identity_answer(booking, flight, "angry") is None
    # the date of birth is never said first: "It's 14 Larch Close, born 3 April 1967."
    boiler = load_scenario("boiler-repair-sla")
    both = "Can I just check the first line of the address and your date of birth, please?"
    assert identity_answer(both, boiler, "calm") == "It's 14 Larch Close, born 3 April 1967."


@pytest.mark.parametrize(
    ("turn", "kind"),
    [
        ("Can I just take the first line of your address for data protection?", "identity check"),
        ("Good afternoon.", "acknowledgement"),
        ("Customer relations, good morning.", "acknowledgement"),
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


def test_a_retort_of_an_apology_or_a_doubt_needs_one() -> None:
    """ "Sorry's cheap" after "K7PQ2N... sorry, K7PQ2M" (a slip corrected, not an apology),
    and "I'm not imagining it" after the learner took the doubt back, answer nothing said."""
    cheap = "I don't want sorry, I want seats. Sorry's cheap."
    assert not retort_fits(cheap, "Thanks, that's K7PQ2N... sorry, K7PQ2M, got it.")
    assert retort_fits(cheap, "I'm so sorry about this, sir.")
    line = "I'm not imagining it. The worktop's soaked every time."
    assert not retort_fits(
        line, "Sorry, I didn't mean it like that, I'm sure you've used it properly."
    )
    assert retort_fits(line, "Are you sure you haven't overfilled it?")


def test_a_statement_that_opens_with_what_is_not_a_question() -> None:
    from calmline.customer.line_check import is_question

    assert not is_question("what i can do is open an investigation with the courier")
    assert not is_question("so what normally happens is we raise a claim")
    assert is_question("what is the order number")
    assert is_question("what do you need from me")


def test_lines_about_monday_or_questions_need_the_turn_to_be_about_them() -> None:
    booked = "Four seats, tomorrow, 09:40 Manchester to Alicante on a partner airline. Booked."
    assert not retort_fits("Monday? That's 3 days. We've a villa paid for from Friday.", booked)
    assert retort_fits("Monday? That's 3 days.", "The earliest the app shows is Monday the 21st.")
    assert not retort_fits("Fine. Ask. But every minute counts.", "K7PQ2M. Give me one moment.")
    assert retort_fits("Fine. Ask.", "Can I ask you a few questions about the flight?")
