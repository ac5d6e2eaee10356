"""Tone reading with the real bundled MiniLM embedder and the shipped cue file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from calmline.embed import load_embedder
from calmline.tone.reader import ToneInput, load_tone_reader

pytestmark = pytest.mark.models


def test_embedder_gives_normalised_rows_and_batches_like_singles() -> None:
    embedder = load_embedder()
    texts = ["I'm so sorry about that", "calm down", "a much longer sentence " * 5]
    batch = embedder.embed(texts)
    assert batch.shape == (3, 384)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-4)
    singles = np.vstack([embedder.embed([t]) for t in texts])
    assert np.allclose(batch, singles, atol=1e-3)
    assert float(batch[0] @ embedder.embed(["I really apologise for this"])[0]) > float(
        batch[0] @ embedder.embed(["the train leaves at nine"])[0]
    )


def test_apology_empathy_and_action_de_escalate() -> None:
    reading = load_tone_reader().read(
        "I'm so sorry, I can see why you're upset — I'll arrange a replacement today"
    )
    assert reading.has("apology") and reading.has("empathy")
    assert reading.has("solution") or reading.has("ownership")
    assert reading.direction == "de-escalating"


def test_the_reading_names_the_move_a_turn_is_mainly_there_to_do() -> None:
    """One primary move per turn, as annotators of support dialogue label it: the tags
    say everything a turn does, the primary move what it is built around."""
    reader = load_tone_reader()
    story = reader.read(
        "I went through exactly this when my dad was ill, I remember the waiting was the worst bit"
    )
    assert story.primary == "self_disclosure"
    assert not story.has("solution") and not story.has("paraphrase")
    cheer = reader.read("you are doing so much better than you think")
    assert cheer.primary == "reassurance" and not cheer.has("solution")
    advice = reader.read(
        "I'm sorry you're going through this. Have you thought about speaking to your GP?"
    )
    assert advice.has("solution") and advice.primary in ("solution", "question")


def test_calm_down_and_policy_escalate() -> None:
    reading = load_tone_reader().read("calm down, it's policy, nothing I can do")
    assert reading.has("calm_down") and reading.has("policy_shield")
    assert reading.direction == "escalating"


def test_paraphrase_is_judged_against_what_the_customer_said() -> None:
    reader = load_tone_reader()
    learner = "so the internet keeps cutting out every evening and it's costing you work"
    customer = "My broadband drops every night and I'm losing clients because of it!"
    assert reader.read(learner, context=customer).has("paraphrase")
    assert not reader.read(learner, context="The hotel breakfast was cold.").has("paraphrase")
    # a restatement, with or without its context, is never read as a brush-off
    for reading in (reader.read(learner, context=customer), reader.read(learner)):
        assert not {"blame", "dismissive"} & set(reading.tags)
        assert reading.direction != "escalating"


def test_reads_paraphrase_and_empathy_said_without_stock_phrases() -> None:
    """Wordings in none of the cue lists, from neither writer's items."""
    reader = load_tone_reader()
    customer = "Third time I've rung. Nobody turned up Tuesday and I'd taken the day off."
    got = reader.read("you lost a day's pay waiting in and no one even rang", context=customer)
    assert got.has("paraphrase")
    got = reader.read("that's a horrible thing to be left carrying on your own")
    assert got.has("empathy")


def test_a_restatement_read_without_its_line_is_still_heard() -> None:
    """A transcript excerpt or `calmline tag` on bare text has no customer line to compare
    with: a restating opener is the evidence left (ESConv's restatements are mostly so)."""
    reader = load_tone_reader()
    assert reader.read("So you've been out of work since the spring?").has("paraphrase")
    assert reader.read("It sounds like your sister hasn't spoken to you since June.").has(
        "paraphrase"
    )
    assert not reader.read("I'll send the replacement out today.").has("paraphrase")


def test_batch_of_fifty_equals_one_by_one(repo: Path) -> None:
    reader = load_tone_reader()
    rows = [json.loads(line) for line in (repo / "data" / "tone_labels.jsonl").open()][:50]
    items = [ToneInput(r["text"], r["context"]) for r in rows]
    batch = reader.read_batch(items)
    assert len(batch) == 50
    for item, got in zip(items, batch, strict=True):
        single = reader.read(item.text, item.context)
        assert single.direction == got.direction
        assert single.tags.keys() == got.tags.keys()
        for tag, conf in single.tags.items():
            assert got.tags[tag] == pytest.approx(conf, abs=0.02)
