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
