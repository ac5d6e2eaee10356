"""A customer's retort is said only to a turn that said what it retorts."""

from __future__ import annotations

from calmline.customer.choosing import Candidate, LineChooser
from calmline.customer.retorts import load_retorts, retort_fits

BRUSH_OFF = "Couriers are a separate company, there isn't much we can do from our side."


def test_the_shipped_table_loads():
    names = {r.name for r in load_retorts()}
    assert {"a claim to understand", "a joke or a flippant remark"} <= names


def test_a_retort_needs_what_it_retorts():
    assert not retort_fits("I don't find that amusing. This is our anniversary.", BRUSH_OFF)
    assert retort_fits("I don't find that amusing.", "Well, at least it wasn't raining, eh?")
    assert retort_fits("I don't find that amusing.", BRUSH_OFF, tags=["sarcasm"])
    assert not retort_fits(
        "Please don't tell me you understand. Just put the room right.",
        "That must be so disappointing on your anniversary.",
    )
    assert retort_fits(
        "Please don't tell me you understand.", "I completely understand how upsetting this is."
    )
    assert not retort_fits(
        "You're calling me a liar now?", "Can I take your name and claim number, please?"
    )
    assert retort_fits("You're calling me a liar now?", "Are you sure you handed it in here?")


def test_lines_that_retort_nothing_are_always_allowed():
    assert retort_fits("Policy doesn't explain why we paid £435.", BRUSH_OFF)


def test_the_chooser_never_picks_a_retort_the_turn_did_not_earn():
    candidates = [
        Candidate("I don't find that amusing. This is our anniversary.", "reply:1", 1.2),
        Candidate("Please don't brush me off. I'd like your name, actually.", "reply:1", 1.0),
    ]
    best = LineChooser().choose(candidates, BRUSH_OFF, [])
    assert best is not None
    assert best.candidate.text.startswith("Please don't brush me off")


def test_a_denial_needs_a_doubt():
    """ "I did not drop it" answers a suggestion that she did, not "What seems to be the
    problem with it?"."""
    line = "I did not drop it. Why would I come back if I'd broken it myself?"
    assert not retort_fits(line, "Morning! What seems to be the problem with it?")
    assert retort_fits(line, "Are you sure it wasn't knocked over at some point?")


def test_a_line_that_throws_back_the_learners_word_needs_the_word() -> None:
    """ "Try? Don't try." answers "I'll try", not "I'll look wider" (realism round 13)."""
    line = "Try? Don't try. Get us on a plane."
    assert not retort_fits(line, "You're entitled to be rerouted, so I'll look wider.")
    assert retort_fits(line, "I'll try to find you something today.")
    assert retort_fits("Yeah? I'll believe it when I see it.", "We'll sort it.")
