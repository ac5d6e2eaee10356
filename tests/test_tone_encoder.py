"""The shipped fine-tuned tone encoder, loaded and used on real text.

These run the int8 ONNX file that ships in the package through the reader a call uses
(``load_tone_reader``), on turns of the kinds its figures are about: a restatement of
what the customer said, a suggestion phrased as a question, a feeling named, a question
transcribed without punctuation. Figures on whole labelled sets are in
``docs/tone_eval.md`` (``benchmarks/judgement_tone.py``).
"""

from __future__ import annotations

import pytest

from calmline.tone.encoder import MODEL_FILE, load_meta, load_tone_encoder
from calmline.tone.reader import ToneInput, load_tone_reader


@pytest.fixture(scope="module")
def reader():
    return load_tone_reader()


def test_the_encoder_ships_and_the_reader_uses_it(reader):
    assert MODEL_FILE.exists(), "tone_encoder.onnx must ship in the package"
    meta = load_meta()
    assert meta["use"], "the encoder is used for at least one tag"
    assert reader.encoder is load_tone_encoder()
    assert set(meta["use"]) <= reader.learned


def test_reads_the_four_moves_on_real_turns(reader):
    turns = [
        ToneInput(
            "So the parcel was marked as delivered on Saturday, but nothing was there "
            "and you've already chased it once on Monday.",
            "It says delivered Saturday. It wasn't. I did a web chat on Monday and heard nothing.",
        ),
        ToneInput("That sounds really frightening, no wonder you're shaken up.", ""),
        ToneInput("can you tell me when you first noticed the water coming through", ""),
        ToneInput(
            "What I'll do is send a replacement out today on next-day delivery, so it'll be "
            "with you tomorrow before one.",
            "I need those headphones by Saturday.",
        ),
    ]
    readings = reader.read_batch(turns)
    expected = ["paraphrase", "empathy", "question", "solution"]
    for reading, tag in zip(readings, expected, strict=True):
        assert tag in reading.tags, f"{tag} missing: {reading.cues}"


def test_primary_move_of_a_suggestion_phrased_as_a_question(reader):
    (reading,) = reader.read_batch(
        [
            ToneInput(
                "Have you thought about asking your manager if you could work from home "
                "twice a week?"
            )
        ]
    )
    assert reading.primary == "solution", reading.cues


def test_a_brush_off_is_not_read_as_listening(reader):
    (reading,) = reader.read_batch(
        [
            ToneInput(
                "That's just the policy, I'm afraid. There's nothing I can do about it.",
                "Why can't you refund me?",
            )
        ]
    )
    assert not {"paraphrase", "empathy"} & set(reading.tags), reading.cues


def test_the_uptake_is_read_from_what_the_turn_does(reader):
    """How an upset customer takes a turn (the encoder's uptake head), on real turns:
    a polite brush-off raises anger, a concrete fix lowers it, a routine check holds."""
    assert load_tone_encoder().has_uptake, "the shipped encoder reads the uptake"
    said = "I've rung three times about this refund and I'm still waiting. Order 5521."
    turns = {
        "rise": "I do understand, but these things happen and there's really nothing I can "
        "do from here, I'm afraid.",
        "fall": "I've put the refund of 89 pounds through now, you'll see it back on your "
        "card within three working days, and I'll email you the confirmation.",
        "hold": "Bear with me one moment while I bring that order up on the system.",
    }
    readings = reader.read_batch([ToneInput(text, said) for text in turns.values()])
    for want, reading in zip(turns, readings, strict=True):
        got = max(reading.uptake, key=reading.uptake.__getitem__)
        assert got == want, f"{want} expected, read {reading.uptake}"


def test_a_routine_check_neither_angers_nor_calms_the_customer(reader):
    """Anger follows the uptake: a learner reading back the customer's reference holds an
    angry customer where they are, and a polite brush-off never lowers anger."""
    from calmline.customer.anger import step
    from calmline.customer.scenario import load_scenario
    from calmline.models import AngerState

    persona = load_scenario("late-parcel").persona
    said = "It's ND-558213. It says delivered and it wasn't."
    check, brush = reader.read_batch(
        [
            ToneInput("Thanks, ND-558213, I've got that order up in front of me now.", said),
            ToneInput(
                "I'm sorry, but the tracking says delivered, so there's nothing I can do.", said
            ),
        ]
    )
    kwargs = {"resolution_offered": False, "repeated_failure": False}
    _, held = step(AngerState(anger=60.0), check, persona, **kwargs)
    _, pushed = step(AngerState(anger=60.0), brush, persona, **kwargs)
    assert abs(held.after - held.before) <= 1.0, held.reasons
    assert pushed.after > pushed.before, pushed.reasons
