"""The customer listens: anger follows what a turn does, replies answer it, the scene moves on.

Scripted calls through the real practice loop with the real tone reader, the real
MiniLM (meaning and line ranking) and the packs' authored lines, so no LLM is needed.
Each test asserts something a learner would notice: being brushed off calms nobody,
"sorry" six times is not a fix, the customer warns before hanging up, the same gesture
is not described twice, nobody is asked for what they just said, and a hard customer
is harder than an easy one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from calmline.call.inputs import ScriptInput
from calmline.call.practice import Collaborators
from calmline.customer.character import LAST_WARNING, Customer, CustomerOptions
from calmline.customer.direction import load_direction_model
from calmline.customer.meaning import asks_for, load_meaning_reader
from calmline.customer.scenario import load_scenario
from calmline.models import SessionRecord, Turn
from calmline.testing.fake_llm import FakeChatModel
from calmline.testing.fakes import FakeSpeaker
from calmline.tone.reader import load_tone_reader
from support.practice import practice_call

pytestmark = pytest.mark.models


def play(tmp_path: Path, scenario: str, lines: list[str], difficulty: str | None = None):
    """One call with the pack's lines; the model is a fake that fails if ever asked."""
    pack = load_scenario(scenario)
    if difficulty is not None:
        pack = pack.model_copy(update={"difficulty": difficulty})
    customer = Customer(
        pack,
        FakeChatModel(),
        CustomerOptions(lines="authored"),
        meanings=load_meaning_reader(),
        direction=load_direction_model(),  # as calmline practice plays it
    )
    parts = Collaborators(customer=customer, tone=load_tone_reader(), speaker=FakeSpeaker())
    out = tmp_path / f"{scenario}-{difficulty or pack.difficulty}-{len(list(tmp_path.iterdir()))}"
    options = {"out": out, "max_turns": 20, "debrief": False, "assess": False}
    learner = ScriptInput(lines)
    return (
        practice_call(tmp_path / "view.txt", learner, parts, scenario=pack, **options).run().record
    )


def learner(record: SessionRecord) -> list[Turn]:
    return record.learner_turns("call")


def replies(record: SessionRecord) -> list[Turn]:
    return [t for t in record.turns if t.speaker == "customer"][1:]  # after the opening


BRUSH_OFFS = {
    "broadband-outages": [
        "Have you tried turning the router off and on again?",
        "Sorry, that's what the system tells me to ask.",
        "I'm afraid I can't book an engineer today.",
        "You'd need to ring the engineering team about that.",
    ],
    "late-parcel": [
        "It says delivered, so it should be there.",
        "You'll need to give it another 48 hours, that's the process.",
        "There's nothing more I can do, I'm afraid.",
        "These things happen with couriers, unfortunately.",
        # closing the call with nothing settled (realism round 10)
        "Is there anything else I can help you with today? Have a great rest of your day!",
    ],
}


@pytest.mark.parametrize("scenario", sorted(BRUSH_OFFS))
def test_a_brush_off_never_lowers_anger(tmp_path: Path, scenario: str) -> None:
    # each as the first turn, where drift towards the baseline used to win...
    for line in BRUSH_OFFS[scenario]:
        (turn,) = learner(play(tmp_path, scenario, [line], "easy"))
        assert turn.anger is not None and turn.anger.delta >= 0, (line, turn.anger)
    # ... and one after another, however high the anger already is
    record = play(tmp_path, scenario, BRUSH_OFFS[scenario], "easy")
    for turn in learner(record):
        assert turn.anger is not None and turn.anger.delta >= 0, (turn.text, turn.anger)


def test_apologies_without_action_after_the_first_never_lower_anger(tmp_path: Path) -> None:
    sorry = [
        "Oh I'm so sorry about that, Mr Reid.",
        "I really am sorry, that's not what we want to happen at all.",
        "I do apologise, I understand how frustrating this must be.",
        "Again, I'm really sorry for all the trouble this has caused.",
        "I'm so sorry, I can only apologise.",
        "I'm really sorry, I do understand how you feel.",
    ]
    record = play(tmp_path, "late-parcel", sorry)
    turns = learner(record)
    assert turns[0].anger is not None and turns[0].anger.delta < 0  # the first one is heard
    for turn in turns[1:]:
        assert turn.anger is not None and turn.anger.delta >= 0, (turn.text, turn.anger)
    assert record.final_anger is not None and record.final_anger > record.start_anger - 10


def test_polite_but_useless_ends_angrier_than_plain_but_effective(tmp_path: Path) -> None:
    polite = [
        "Oh no, I'm so sorry to hear that, how annoying for you.",
        "Thank you ever so much for being so patient with us.",
        "I'll make sure the right people look into it for you.",
        "We really do value you as a customer.",
    ]
    plain = [
        "ok let me look at the order",
        "right it went to the wrong address that's on us",
        "i'm sending a replacement out today by tracked next day and refunding the 4.99",
    ]
    useless = play(tmp_path, "late-parcel", polite).final_anger
    effective = play(tmp_path, "late-parcel", plain).final_anger
    assert useless is not None and effective is not None and useless > effective + 10


def test_the_customer_warns_once_before_hanging_up(tmp_path: Path) -> None:
    record = play(tmp_path, "late-parcel", BRUSH_OFFS["late-parcel"] * 2)
    assert record.outcome == "hung_up"
    spoken = replies(record)
    warnings = [t for t in spoken if LAST_WARNING in t.notes]
    assert len(warnings) == 1
    assert spoken[-1].text == load_scenario("late-parcel").hangup_line
    assert spoken.index(warnings[0]) == len(spoken) - 2  # the line right before the hang-up


def test_abuse_at_the_top_ends_the_call_without_a_warning(tmp_path: Path) -> None:
    lines = [
        "You'll need to wait another 48 hours, that's our policy.",
        "Oh shut up and stop whining, you're being ridiculous.",
    ]
    record = play(tmp_path, "late-parcel", lines)
    assert record.outcome == "hung_up"
    assert not any(LAST_WARNING in t.notes for t in replies(record))


def test_a_recovery_move_is_credited_at_the_top_and_keeps_the_customer_on_the_line(
    tmp_path: Path,
) -> None:
    lines = [
        "Have you tried turning the router off and on again?",
        "So you've had four outages in three weeks, you've reset the router every time and "
        "nobody came on Friday. That's our failure, and I'm taking this on myself.",
    ]
    record = play(tmp_path, "broadband-outages", lines)
    first, second = learner(record)
    assert first.anger is not None and first.anger.after >= 75  # at the top
    assert second.anger is not None and second.anger.delta < -5
    assert record.outcome != "hung_up"


def test_no_stage_direction_repeats_within_a_call(tmp_path: Path) -> None:
    kettle = [
        "Hello.", "Did you overfill it?", "Calm down, please.", "I'm sorry.", "Right.",
        "So it leaks from the base every time you boil it?", "Has it done anything else?",
        "I'm sorry to hear that.", "Okay.", "We don't do refunds on kettles.", "Right.",
        "I can swap it for a new one right now.",
    ]  # fmt: skip
    benefits = [
        "Take a ticket and wait.", "You'll need to reapply online.", "Calm down.",
        "We've got no record of your payslip.", "I can't do anything from here.",
        "So you handed it in on the 24th and you've been in twice since?",
        "I'm getting my team leader out now and we'll backdate it today.",
    ]  # fmt: skip
    for scenario, lines in (("kettle-counter", kettle), ("benefits-counter-safety", benefits)):
        record = play(tmp_path, scenario, lines)
        shown = [t.stage_direction for t in record.turns if t.stage_direction]
        assert len(shown) >= 3, scenario
        assert len(shown) == len(set(shown)), shown


def test_a_reply_never_asks_for_what_it_was_just_told(tmp_path: Path) -> None:
    record = play(
        tmp_path,
        "boiler-repair-sla",
        [
            "I'm so sorry. An engineer will be with you by two o'clock today with the part.",
            "And I'll ring you at four to check he's been.",
            "Is there anything else you need from me?",
        ],
    )
    for turn in replies(record):
        assert "time" not in asks_for(turn.text), turn.text


def test_asked_again_for_what_the_customer_opened_with_he_says_so_but_holds(
    tmp_path: Path,
) -> None:
    """Taking the reference first is how calls start: he says he gave it, anger holds.

    Asked later in the call, it is a re-ask that counts against the learner (below)."""
    record = play(tmp_path, "late-parcel", ["Can I take the order number, please?"])
    (turn,) = learner(record)
    assert turn.meaning is not None and turn.meaning.reasked
    assert not turn.meaning.has("reasks_given")
    assert turn.anger is not None and abs(turn.anger.delta) <= 1
    (reply,) = replies(record)
    assert (
        "ND-558213" in reply.text and reply.text != load_scenario("late-parcel").answers[2].lines[0]
    )
    later = play(
        tmp_path,
        "late-parcel",
        ["I'm sorry it hasn't come.", "Can I take the order number, please?"],
    )
    asked = learner(later)[1]
    assert asked.meaning is not None and asked.meaning.has("reasks_given")
    assert asked.anger is not None and asked.anger.delta > 1


def test_difficulty_changes_the_outcome_of_the_same_script(tmp_path: Path) -> None:
    script = [
        "It says delivered, so it should be there somewhere.",
        "You'll need to wait another 48 hours while we investigate.",
        "There's nothing else I can do, I'm afraid.",
        "Okay. I'm sending a replacement out today by tracked next-day delivery, and refunding "
        "the £4.99.",
    ]
    easy = play(tmp_path, "late-parcel", script, "easy")
    hard = play(tmp_path, "late-parcel", script, "hard")
    assert hard.outcome == "hung_up" and easy.outcome != "hung_up"
    assert easy.final_anger is not None and hard.final_anger is not None
    assert easy.final_anger < hard.final_anger

    # the same turn pushes a hard customer harder than an easy one (before the 0-100 limit
    # clips it: a hard customer may already be near the top)
    def push(record) -> float:  # type: ignore[no-untyped-def]
        step = learner(record)[1].anger
        assert step is not None
        return sum(r.delta for r in step.reasons if r.cause != "limit")

    assert push(hard) > push(easy)


def test_the_customer_agrees_to_hold_only_when_asked_to() -> None:
    """The parcel pack's "I'll hold, briefly" answers a request to hold, not a turn that only
    says "wait" (realism round 6: said after "you'll need to wait 48 hours")."""
    from calmline.customer.authored import AuthoredLines
    from calmline.customer.choosing import LineChooser
    from calmline.customer.scenario import load_scenario

    pack = load_scenario("late-parcel")
    asked = AuthoredLines(pack, LineChooser()).answer(
        "Could you bear with me one minute while I pull up the order?", []
    )
    assert asked is not None and "hold" in asked.text.lower()
    promised = AuthoredLines(pack, LineChooser()).answer(
        "What I can do is open an investigation with the courier; you'll need to wait 48 hours.", []
    )
    agrees = ("i'll hold", "i'll wait")
    assert promised is None or not any(a in promised.text.lower() for a in agrees), promised


@pytest.mark.parametrize(
    ("scenario", "opening"),
    [
        ("hotel-room", "What can I do for you?"),
        ("hotel-room", "hiya whats the problem"),
        # realism round 13: "Any time, love, I'm not going anywhere" (a greeting is no time)
        (
            "boiler-repair-sla",
            "Good morning, thank you for calling HeatSure home cover, my name is Callum, how "
            "may I help you today?",
        ),
        # realism round 13: the kettle's model number, not its fault
        ("kettle-counter", "Hey, how's it going? What's up with the kettle?"),
        # realism round 14: "That's fine. I have the confirmation here if you need it."
        ("hotel-room", "Good evening, madam. How may I be of assistance?"),
    ],
)
def test_an_open_invitation_is_answered_with_the_problem(
    tmp_path: Path, scenario: str, opening: str
) -> None:
    """ "What can I do for you?" (with or without a question mark) is answered by saying
    what is wrong, not "Ask away" (realism round 6)."""
    pack = load_scenario(scenario)
    record = play(tmp_path, scenario, [opening])
    first = replies(record)[0]
    problem = next(a for a in pack.answers if a.id == "problem")
    assert first.text in problem.lines


def test_an_amount_said_wrong_is_corrected_not_confirmed(tmp_path: Path) -> None:
    """ "two fifty per passenger" to a customer owed £350 each under UK261 (realism round
    11: "Yes. That's it.")."""
    lines = ["and for compensation on this distance its um two fifty per passenger"]
    record = play(tmp_path, "cancelled-flight", lines)
    assert replies(record)[0].text.startswith("No, it's £350 per passenger.")


def test_a_turn_that_owns_the_failure_is_not_answered_as_blame(tmp_path: Path) -> None:
    """Reading the customer's account back, or owning it, names the engineer who never came
    but blames nobody: no "My fault?" (realism round 13)."""
    lines = [
        "Thank you, that is very useful. If it always drops in the evening and comes back "
        "after midnight, that points to our network, not your router. And I am sorry about "
        "Friday, the engineer was booked eight to one and nobody came or called you.",
    ]
    reply = replies(play(tmp_path, "broadband-outages", lines))[0].text
    assert "fault" not in reply.lower()
    lines = [
        "lovely thank you so no heating or hot water since quarter past nine monday the "
        "engineer didnt get to you till twenty to five tuesday and nobody came yesterday is "
        "that right"
    ]
    reply = replies(play(tmp_path, "boiler-repair-sla", lines))[0].text
    assert "fault" not in reply.lower()


def test_a_read_back_ending_in_a_check_is_confirmed(tmp_path: Path) -> None:
    """ "... stopping with an e twenty one error have i got that right", no question mark:
    the customer confirms it, not "please go ahead" (realism round 13)."""
    pack = load_scenario("cra-right-to-reject")
    lines = [
        "okay i have it here the hallam w m eight delivered tuesday the fourth of march four "
        "forty nine including installation leaking at the door seal and stopping with an e "
        "twenty one error have i got that right"
    ]
    confirming = next(r for r in pack.replies if "paraphrase" in r.when).lines
    assert replies(play(tmp_path, "cra-right-to-reject", lines))[0].text in confirming


@pytest.mark.parametrize(
    ("scenario", "turn"),
    [
        ("cancelled-flight", "Four seats together tomorrow, 09:40, Manchester to Alicante with "
         "another carrier. Shall I book them now?"),
        ("late-parcel", "I have approval to send a replacement pair out today by tracked "
         "next-day delivery, so it reaches you tomorrow. Shall I go ahead with that?"),
    ],
)  # fmt: skip
def test_a_yes_or_no_offer_of_a_fix_is_taken_up(tmp_path: Path, scenario: str, turn: str):
    """ "Shall I book them now?" gets "Yes, please." and a line that takes the action up,
    not "You cancelled on us" (realism round 14)."""
    pack = load_scenario(scenario)
    reply = replies(play(tmp_path, scenario, [turn]))[0].text
    assert reply.startswith("Yes, please. ")
    taking = [t for r in pack.replies if "concrete_action" in r.when for t in r.lines]
    assert reply.removeprefix("Yes, please. ") in taking


def test_a_transfer_offered_yes_or_no_is_not_accepted(tmp_path: Path) -> None:
    turn = "Shall I pass you over to the courier so you can chase them?"
    assert not replies(play(tmp_path, "late-parcel", [turn]))[0].text.startswith("Yes")


def test_a_question_that_blames_the_customer_is_rebutted_not_answered(tmp_path: Path) -> None:
    """ "Are you sure it was installed proper?" got the delivery date (realism round 11)."""
    pack = load_scenario("cra-right-to-reject")
    lines = [
        "Can I take the order number please?",
        "Are you sure it was installed proper? Overloading 'em can make the door seal go.",
    ]
    reply = replies(play(tmp_path, "cra-right-to-reject", lines))[1].text
    assert reply in [t for r in pack.replies if "blame" in r.when for t in r.lines]


def test_two_options_put_in_two_sentences_get_a_pick(tmp_path: Path) -> None:
    """ "...room 307, bags up within twenty minutes. Or if you'd rather stay put, I'll refund
    the £120 difference. Which would you prefer?" (realism round 12: no choice made)."""
    lines = [
        "I can move you tonight to a sea-view double with a balcony, room 307, bags up within "
        "twenty minutes. Or if you'd rather stay put, I'll refund the £120 difference. Which "
        "would you prefer?",
    ]
    record = play(tmp_path, "hotel-room", lines)
    assert replies(record)[0].text.startswith("The first one, please.")


def test_a_resolution_in_speech_recogniser_style_settles_the_customer(tmp_path: Path) -> None:
    """No apostrophes ("im accepting the rejection ... well collect it"), no digits: still
    the full refund the customer asked for, and the call ends satisfied."""
    lines = [
        "so its leaking from the door seal and stopping on e21 and you want your money back",
        "ok youre well within the thirty days so im accepting the rejection full refund of "
        "four hundred and forty nine pounds and well collect it free of charge",
    ]
    record = play(tmp_path, "cra-right-to-reject", lines)
    second = learner(record)[1]
    assert second.anger is not None and second.anger.delta < -10
    assert any(r.cause == "resolution offered" for r in second.anger.reasons)


def test_a_reference_read_back_wrong_is_corrected(tmp_path: Path) -> None:
    """ "ND-558231" for order ND-558213: the customer corrects it before anything else."""
    record = play(tmp_path, "late-parcel", ["okay ND-558231 sir just one minute i am checking"])
    assert replies(record)[0].text == "No, it's ND-558213."


def test_a_reference_spelt_out_wrong_is_corrected_not_confirmed(tmp_path: Path) -> None:
    """ "so that's k seven p q two n yeah" for booking K7PQ2M is corrected (realism round 9:
    "Yes. That's it."); read back right, it is not."""
    lines = ["Can I take the booking reference?", "so that's k seven p q two n yeah"]
    record = play(tmp_path, "cancelled-flight", lines)
    assert replies(record)[1].text.startswith("No, it's K7PQ2M")
    right = play(tmp_path, "cancelled-flight", [lines[0], "so that's k seven p q two m yeah"])
    assert not replies(right)[1].text.startswith("No")
    # and the slip costs a little: blind labellers said anger rises on 28 of 40 such turns
    slip, read_right = learner(record)[1].anger, learner(right)[1].anger
    assert slip is not None and read_right is not None
    assert slip.delta > 1 and slip.delta > read_right.delta


def test_fetching_a_colleague_to_the_desk_is_no_transfer_or_blame() -> None:
    """ "I'm asking my colleague to come through and join us" brings help here (realism
    round 9: read as blame at 0.79 and +9.9); with the customer's name before it, "Dean, I
    can see how serious this is" is sympathy, which no learned brush-off below 0.7 undoes."""
    pack = load_scenario("benefits-counter-safety")
    reader = load_meaning_reader()
    said = [pack.opening_line]
    fetch = "I'm asking my colleague to come through from the back office and join us now."
    meaning = reader.read(fetch, pack, said)
    assert not {"transfer", "blames", "brush_off"} & {*meaning.moves, *meaning.learned}, meaning
    named = "Dean, I can see how serious this is for you. I'm going to step back a bit."
    assert "brush_off" not in reader.read(named, pack, said).learned


def test_a_choice_put_to_the_customer_is_answered_with_a_pick(tmp_path: Path) -> None:
    """ "the £34.99 back or a new one, your choice" settles the customer, who says which
    (realism round 9: a thank-you that left the learner guessing)."""
    lines = [
        "Oh no, that's not right after nine days, I'm sorry. That's on us, not you.",
        "It's well inside thirty days, so you can have the full £34.99 back or a new one, "
        "your choice entirely.",
    ]
    record = play(tmp_path, "kettle-counter", lines, "easy")
    assert record.outcome == "satisfied"
    assert replies(record)[-1].text.startswith("A new one, please.")


def test_a_reference_the_learner_read_out_is_not_given_back(tmp_path: Path) -> None:
    """ "Is that the receipt? 40217, that all matches up" is not answered with "The
    receipt's right here, number 40217" (realism round 6)."""
    lines = ["Is that the receipt? Lovely. 40217, the Brightway BK-170. That all matches up."]
    record = play(tmp_path, "kettle-counter", lines)
    assert "40217" not in replies(record)[0].text


def test_a_look_up_is_not_taken_as_a_promise(tmp_path: Path) -> None:
    """ "let me just pull up that order, one sec" promises nothing: no "By when? I'll hold
    you to it" (realism rounds 6 and 7)."""
    lines = [
        "so the machine is leaking and stopping on e21",
        "let me just pull up that order one sec",
    ]
    record = play(tmp_path, "cra-right-to-reject", lines)
    assert not asks_for(replies(record)[1].text) & {"time"}
    assert "hold you to" not in replies(record)[1].text.lower()


def test_an_identity_check_is_answered_and_leaves_anger_where_it_was(tmp_path: Path) -> None:
    """ "Can I confirm the name on the order?" gets the customer's name, not the order
    number, and neither calms nor angers a customer who has not been asked it before
    (realism round 7: "EL-230947. A Hallam WM8" to a request for the name)."""
    lines = ["For security, can I just confirm your full name and postcode, please?"]
    record = play(tmp_path, "cra-right-to-reject", lines)
    assert replies(record)[0].text.startswith("It's Tomasz Kowalski, postcode LS6 2QT.")
    step = learner(record)[0].anger
    assert step is not None and abs(step.delta) <= 1.0


def test_a_security_check_gets_identity_details_not_the_packs_story(tmp_path: Path) -> None:
    """ "the postcode and the email address on the order" asks for identity details; the
    pack's hidden detail about the rejection email waits until it is asked about (realism
    round 10)."""
    lines = ["Can I just check the postcode and the email address on the order for security?"]
    record = play(tmp_path, "cra-right-to-reject", lines)
    assert replies(record)[0].text.startswith("It's postcode LS6 2QT, email t.kowalski@")


def test_a_doubt_about_the_booking_is_not_confirmed(tmp_path: Path) -> None:
    """ "Are you sure you didn't book the twin?" is never answered "That's accurate"."""
    lines = [
        "Okay, room 112, the system's got you down in a twin there. Are you sure you didn't "
        "book the standard twin? Might be worth checking your booking."
    ]
    record = play(tmp_path, "hotel-room", lines, "easy")
    text = replies(record)[0].text.lower()
    assert not text.startswith(("that's accurate", "correct", "that's right", "yes"))


def test_a_date_of_the_story_read_back_wrong_is_corrected(tmp_path: Path) -> None:
    """Realism round 12: "Yes, that's it exactly" to the wrong day of the engineer's visit."""
    lines = [
        "okay so i see the engineer attended on um wednesday the twelfth and the diverted "
        "valve part was ordered is that correct"
    ]
    record = play(tmp_path, "boiler-repair-sla", lines)
    assert replies(record)[0].text.startswith("No, it was Tuesday 11 March.")


def test_a_choice_of_slots_is_answered_with_a_pick(tmp_path: Path) -> None:
    """Realism round 12: two engineer slots offered, a thank-you without a pick."""
    lines = ["I can do Thursday eight till ten or Friday twelve till two, which suits you better?"]
    record = play(tmp_path, "broadband-outages", lines)
    assert replies(record)[0].text.startswith("Thursday eight till ten, please.")


def test_a_request_to_show_is_answered(tmp_path: Path) -> None:
    lines = ["Don't apologise at all. Pop it down here and show me whereabouts it's leaking."]
    record = play(tmp_path, "kettle-counter", lines)
    assert "answer: where_leaks" in replies(record)[0].notes


def test_reading_back_what_was_offered_is_not_offering_it_again(tmp_path: Path) -> None:
    """Reading the customer's account back ("the app's only offering you Monday the 21st")
    is not the learner repeating the failure, and the customer is not angered by it."""
    lines = [
        "Can I take the booking reference, please?",
        "So the text came through at 11:05, and the app's only offering you Monday the 21st.",
    ]
    record = play(tmp_path, "cancelled-flight", lines)
    step = learner(record)[1].anger
    assert step is not None
    assert all(r.cause != "failure repeated" for r in step.reasons)
    assert step.delta <= 1.0


def test_taking_back_a_policy_line_is_not_quoting_it_again(tmp_path: Path) -> None:
    """ "I want to apologise for quoting our policy at you" names the policy to take it back:
    no pack trigger, no wall, and the customer is not angered (realism round 8)."""
    lines = [
        "Our policy is we repair faulty items first.",
        "Sir, I want to apologise for quoting our policy at you just now. You are right, "
        "it is 18 days since delivery, and under section 22 you can reject it.",
    ]
    record = play(tmp_path, "cra-right-to-reject", lines)
    first, second = learner(record)[:2]
    assert first.anger is not None and first.anger.delta > 1.0
    assert second.anger is not None and second.anger.delta <= 1.0
    assert not any(r.cause.startswith("trigger") for r in second.anger.reasons)


def test_a_brisk_booked_settles_the_customer(tmp_path: Path) -> None:
    """ "Four seats, tomorrow, 09:40 ... Booked." is the rerouting the customer wants."""
    lines = [
        "Four seats, tomorrow, 09:40 Manchester to Alicante on a partner airline. Booked. "
        "Confirmation to your email in ten minutes."
    ]
    record = play(tmp_path, "cancelled-flight", lines)
    step = learner(record)[0].anger
    assert step is not None and any(r.cause == "resolution offered" for r in step.reasons)


@pytest.mark.parametrize(
    ("turn", "neutral"),
    [
        # the reason for a question is no promise, and taking the reference is no move
        ("Can I see the receipt, just so I can put it through quickly?", True),
        ("Has it done anything else? Any sparking? I want to be sure you've been safe.", False),
        # ... unless the reason is itself an action with a when
        ("Can you hold so I can refund you now?", False),
    ],
)
def test_a_question_and_its_reason_hold_the_customer(turn: str, neutral: bool) -> None:
    pack = load_scenario("kettle-counter")
    meaning = load_meaning_reader().read(turn, pack, [pack.opening_line])
    assert (meaning.neutral is not None) == neutral, meaning
    assert not meaning.has("vague_action") and not meaning.learned


def test_a_real_question_about_what_else_happened_is_not_dismissive() -> None:
    tone = load_tone_reader()
    assert "dismissive" not in tone.read("Has it done anything else?", context="It leaked.").tags
    assert "dismissive" in tone.read("Anything else?", context="It still leaks.").tags


@pytest.mark.parametrize(
    ("scenario", "turns"),
    [
        # reporting the wall, then owning it
        (
            "cra-right-to-reject",
            [
                "I can see the note where you were told repair only, it's our policy. "
                "I'm sorry, that was wrong of us."
            ],
        ),
        # naming the failure to promise not to repeat it
        (
            "broadband-outages",
            [
                "That is not acceptable, and I apologise for it. I can see the router was "
                "reset on each of your calls, so I will not ask you to do that again."
            ],
        ),
        # the customer's right granted, which names the rules (realism round 10: the "no
        # rights" trigger, +15.8)
        (
            "cancelled-flight",
            [
                "You're entitled to be rerouted at the earliest opportunity, including on "
                "another airline, and Monday is not that."
            ],
        ),
        # the customer's own account, checked back
        (
            "boiler-repair-sla",
            [
                "Right, let me make sure I've got it straight. Heating and hot water went on "
                "Monday, the engineer didn't get to you till Tuesday, and yesterday nobody "
                "came and nobody rang. Is that it?"
            ],
        ),
    ],
)
def test_naming_the_failure_to_own_or_check_it_does_not_repeat_it(
    tmp_path: Path, scenario: str, turns: list[str]
) -> None:
    (turn,) = learner(play(tmp_path, scenario, turns))
    assert turn.anger is not None and turn.anger.delta <= 1, turn.anger
    causes = {r.cause for r in turn.anger.reasons}
    assert not any(c.startswith("trigger:") for c in causes), causes
    assert not causes & {"failure repeated", "policy as the answer", "blame"}, causes


def test_a_trigger_said_to_rule_it_out_is_not_hit() -> None:
    from calmline.customer.line_check import affirmed_phrase_in

    assert not affirmed_phrase_in("Nobody's going to send it off anywhere.", "send it off")
    assert affirmed_phrase_in("We'll have to send it off for repair.", "send it off")
