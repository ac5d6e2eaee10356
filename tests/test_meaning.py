"""What a learner turn does for the customer (customer/meaning.py) and which pack line
answers it (customer/choosing.py).

The meaning tests run the real MiniLM (``models``); the examples are written for them,
not taken from the anger pairs that measure the anger model. The chooser's arithmetic is
checked with the hashing fake embedder.
"""

from __future__ import annotations

import pytest
import yaml

from calmline.customer.choosing import Candidate, LineChooser
from calmline.customer.meaning import (
    asks_for,
    clauses,
    load_cues,
    load_meaning_reader,
    pledge_in,
    reasked_answers,
)
from calmline.customer.scenario import Scenario, load_scenario
from calmline.embed import FakeEmbedder
from calmline.paths import project_root


@pytest.fixture(scope="module")
def parcel() -> Scenario:
    return load_scenario("late-parcel")


@pytest.fixture(scope="module")
def broadband() -> Scenario:
    return load_scenario("broadband-outages")


# ----------------------------------------------------------------------------- pure text


def test_clauses_split_sentences_and_joined_pledges() -> None:
    text = "Right, that's on us. I've booked the fitter for nine tomorrow and I'll ring you at ten."
    assert clauses(text) == [
        "Right, that's on us.",
        "I've booked the fitter for nine tomorrow",
        "I'll ring you at ten.",
    ]


@pytest.mark.parametrize(
    ("clause", "pledge"),
    [
        ("I'll courier the new card today", True),
        ("I'm cancelling the direct debit now", True),
        ("The plumber will be with you by noon", True),
        ("It's been credited to your account", True),
        ("Let me pull up your account", False),  # looking something up
        ("I can't refund a used item", False),  # negated
        ("I'm sorry to hear that", False),
        ("I'm afraid the shop is closed", False),
    ],
)
def test_pledge_grammar(clause: str, pledge: bool) -> None:
    assert pledge_in(clause) is pledge


@pytest.mark.parametrize(
    ("line", "asks"),
    [
        ("And when will that be?", {"time"}),
        ("By when? I need a date.", {"time"}),
        ("What are you actually going to do about it?", {"action"}),
        ("Will you confirm it in writing?", {"confirmation"}),
        ("Right. Good. Make sure it happens.", set()),
    ],
)
def test_what_a_customer_line_asks_for(line: str, asks: set[str]) -> None:
    assert asks_for(line) == asks


def test_a_reask_needs_the_detail_already_said(parcel: Scenario) -> None:
    opening = [parcel.opening_line]  # "Order ND-558213. ..."
    assert reasked_answers("Can I take the order number, please?", parcel, opening) == ["order"]
    assert reasked_answers("right what's the order number", parcel, opening) == ["order"]
    assert reasked_answers("Can I take the order number, please?", parcel, ["Hello."]) == []
    assert reasked_answers("What colour were they?", parcel, opening) == []  # never said
    assert reasked_answers("I've got the order number here.", parcel, opening) == []


def test_the_cue_file_is_complete_and_compiles() -> None:
    cues = load_cues()
    assert all(c.exemplars or c.patterns for c in cues.kinds.values())
    assert cues.hedges and len(cues.kinds["other"].exemplars) >= 10


# ----------------------------------------------------------------------------- the chooser


def test_the_chooser_never_asks_for_what_was_given_nor_repeats() -> None:
    chooser = LineChooser(FakeEmbedder())
    candidates = [
        Candidate("And when will that be?", "reply:1", 0.9),
        Candidate("Right. I'll hold you to that.", "reply:1", 0.9),
        Candidate("It still leaks.", "line:angry", 0.3),
    ]
    best = chooser.choose(candidates, "The engineer comes at two today.", [], given=["time"])
    assert best is not None and best.candidate.text == "Right. I'll hold you to that."
    said = ["Right. I'll hold you to that."]
    best = chooser.choose(candidates, "The engineer comes at two today.", said, given=["time"])
    assert best is not None and best.candidate.text == "It still leaks."
    assert chooser.choose(candidates[:1], "at two today", [], given=["time"]) is None


def test_the_chooser_prefers_the_reply_to_the_move_and_the_customers_own_band() -> None:
    chooser = LineChooser(None)  # no embedder: fit and band alone
    candidates = [
        Candidate("Calm line.", "line:calm", 0.3, band_steps=1),
        Candidate("Angry line.", "line:angry", 0.3),
        Candidate("Don't tell me to calm down.", "reply:0", 0.9),
    ]
    ranked = [s.candidate.text for s in chooser.rank(candidates, "Calm down.", [])]
    assert ranked == ["Don't tell me to calm down.", "Angry line.", "Calm line."]


# ----------------------------------------------------------------------------- real MiniLM


@pytest.mark.models
@pytest.mark.parametrize(
    ("turn", "move"),
    [
        ("I've booked the plumber for nine tomorrow morning.", "concrete_action"),
        ("I'm refunding the full forty pounds to your card right now.", "concrete_action"),
        ("I'll pass this on to the right team and someone will be in touch.", "vague_action"),
        ("We'll try to get it sorted as soon as we can.", "vague_action"),
        ("That's just what the computer tells me to say.", "brush_off"),
        ("You'll have to take that up with the manufacturer.", "transfer"),
        ("I'm not authorised to do that, it's company policy.", "policy_wall"),
        ("I'm afraid we can't replace it.", "refusal"),
        ("Oh shut up, you're being ridiculous.", "abusive"),
    ],
)
def test_moves_are_read_from_what_the_turn_does(broadband: Scenario, turn: str, move: str) -> None:
    meaning = load_meaning_reader().read(turn, broadband)
    assert meaning.has(move), (turn, meaning)


@pytest.mark.models
def test_feelings_questions_and_paraphrase_are_no_moves(broadband: Scenario) -> None:
    reader = load_meaning_reader()
    for turn in [
        "I'm so sorry, that sounds exhausting.",
        "When did the drops start?",
        "So it's gone four times in three weeks and nobody came on Friday, is that right?",
        "Let me bring up the fault history.",
    ]:
        assert reader.read(turn, broadband).moves == {}, turn


@pytest.mark.models
def test_a_repeat_of_the_failure_is_read_by_meaning_not_negated_or_paraphrased(
    broadband: Scenario,
) -> None:
    reader = load_meaning_reader()
    assert reader.read("Could you try switching the router off and on again?", broadband).has(
        "repeats_failure"
    )
    for turn in [
        "I won't ask you to reset the router again.",
        "I'm not going to ask you to switch the router off and on again, you've done that.",
        "So you've restarted your router on every call?",
    ]:
        assert not reader.read(turn, broadband).has("repeats_failure"), turn


def test_a_pack_trigger_is_not_hit_by_saying_it_will_not_be_asked() -> None:
    """Round 2 of the realism set: "I'm not going to ask you to reapply" took a customer
    up 36 points as if told to reapply."""
    from calmline.customer.line_check import affirmed_phrase_in

    assert affirmed_phrase_in("You'll have to reapply online, that's the process.", "reapply")
    assert affirmed_phrase_in("I can't fix it from here, so you'll need to reapply.", "reapply")
    for turn in [
        "I'm not going to ask you to reapply.",
        "You won't need to wait another 48 hours.",
        "I don't want you having to reapply for anything.",
    ]:
        phrase = "reapply" if "reapply" in turn else "wait another"
        assert not affirmed_phrase_in(turn, phrase), turn


@pytest.mark.models
def test_a_concrete_action_tells_the_customer_when(broadband: Scenario) -> None:
    meaning = load_meaning_reader().read(
        "An engineer will be with you by two o'clock today, and I'll text you when he sets off.",
        broadband,
    )
    assert meaning.has("concrete_action") and {"action", "time"} <= set(meaning.gives)


@pytest.mark.models
def test_no_exemplar_is_a_near_copy_of_a_measured_learner_line() -> None:
    """The exemplars must not be the anger pairs' lines in disguise (tuning to the test)."""
    root = project_root()
    lines: list[str] = []
    for name in ("data/anger_pairs.yaml", "data/anger/new_pairs.yaml"):
        for pair in yaml.safe_load((root / name).read_text(encoding="utf-8"))["pairs"]:
            lines += pair["good"] + pair["poor"]
    exemplars = [t for kind in load_cues().kinds.values() for t in kind.exemplars]
    embedder = load_meaning_reader().embedder
    sims = embedder.embed(exemplars) @ embedder.embed(lines).T
    worst = sims.max()
    assert worst < 0.85, (exemplars[sims.max(axis=1).argmax()], lines[sims.max(axis=0).argmax()])


@pytest.mark.models
def test_finding_the_record_or_taking_notes_is_not_an_action(broadband: Scenario) -> None:
    """Realism round 3: "I'll bring job JB-30418 up now" read as a concrete action, so anger
    fell and the customer answered "That's a plan. Make sure it actually happens." """
    reader = load_meaning_reader()
    for turn in [
        "I'll bring the account up now, bear with me.",
        "Right, I'm just pulling the account up now.",
        "I'm just writing the dates down as we go.",
        "I can see the engineer booked for Friday the seventh that never turned up.",
    ]:
        assert not reader.read(turn, broadband).has("concrete_action"), turn
    assert reader.read("I'll open a complaint and credit £25 today.", broadband).has(
        "concrete_action"
    )


def test_a_line_that_takes_up_an_offer_or_grants_a_request_needs_one() -> None:
    from calmline.customer.meaning import asks_customer, fits_turn

    for line in ["Go ahead. I've got a few minutes.", "Whatever you need, just hurry up."]:
        assert fits_turn(line, offered=False, asked=True)
        assert not fits_turn(line, offered=False, asked=False)
    for line in ["Mum will be glad to hear that.", "When exactly? I'd like a date."]:
        assert fits_turn(line, offered=True, asked=False)
        assert not fits_turn(line, offered=False, asked=True)
    assert fits_turn("I want your manager. Now.", offered=False, asked=False)
    assert asks_customer("Can I take the order number?")
    assert asks_customer("Bear with me ten seconds while I put the dispatch through.")
    assert not asks_customer("I'm just writing the dates down as we go.")
    # a plain question wants an answer, not "Go on"
    assert not asks_customer("Have you had a look round the side of the house?")
    assert asks_customer("I've just got a couple of quick questions first.")


@pytest.mark.models
def test_a_hedged_promise_still_tells_the_customer_when(parcel: Scenario) -> None:
    """A hedged "they should be with you by four o'clock" is a time, however hedged: the customer
    may doubt it, but must not answer "And when will that be? I need a proper time"."""
    meaning = load_meaning_reader().read(
        "what i can do is er i can get some heaters sent out to you today um they should be "
        "with you by four o'clock",
        parcel,
    )
    assert "time" in meaning.gives


def test_a_reply_about_being_asked_questions_needs_leave_to_ask() -> None:
    """ "Of course. Ask whatever you need" and "I'll answer, of course" answer "I need to ask
    you a few questions", not "What can I do for you?" (which wants the problem told)."""
    from calmline.customer.meaning import asks_customer, fits_turn

    for line in [
        "Of course. Ask whatever you need. I'd just like this resolved tonight.",
        "I'll answer, of course. Then I'd like specifics, not more questions.",
        "Yeah, fine. More questions. When does somebody actually help me?",
        "Very well. Ask. But I'm noting how long this call is taking.",
    ]:
        assert not fits_turn(line, offered=False, asked=asks_customer("What can I do for you?"))
        assert fits_turn(line, offered=False, asked=asks_customer("Can I ask a few questions?"))


@pytest.mark.parametrize(
    ("pack", "turn", "concrete", "owns"),
    [
        # a recogniser's run-on offer with its check-back: an action, not a look-up (round 11)
        (
            "hotel-room",
            "right ive got room three oh four sea view double with a balcony you can move in "
            "tonight and ill get your bags brought up in twenty minutes does that work for you "
            "both",
            True,
            False,
        ),
        # a guess about what went wrong is no action done
        (
            "benefits-counter-safety",
            "theres no record of it on the system im afraid so it may not have been scanned in",
            False,
            False,
        ),
        # the fault put on the company's own side is owned, not a brush-off
        (
            "broadband-outages",
            "That's really useful. If they start in the evening like that, it points at our "
            "network, not your kit, so I won't be asking you to touch that router again.",
            False,
            True,
        ),
    ],
)
def test_what_round_11_turns_do(pack: str, turn: str, concrete: bool, owns: bool) -> None:
    meaning = load_meaning_reader().read(turn, load_scenario(pack))
    assert meaning.has("concrete_action") == concrete, meaning
    assert meaning.owns == owns, meaning
    assert not meaning.learned.get("brush_off"), meaning
