"""The shipped learned reader of what a turn does (customer/moves.py): it loads, was trained
on the features it is given, and reads plain customer-service turns the way their
labellers would (round 3 and 4 of data/tone, labelled by people who did not write them)."""

from __future__ import annotations

import pytest

from calmline.customer.moves import MODEL_FILE, load_moves_model
from calmline.embed import load_embedder
from calmline.tone.model import TurnText

pytestmark = pytest.mark.models

CUSTOMER = (
    "My parcel was due on Tuesday, it's now Friday and the tracking hasn't moved since Monday."
)


def test_the_shipped_model_loads_and_matches_the_bundled_embedder() -> None:
    model = load_moves_model()
    assert model is not None, f"{MODEL_FILE} is missing: run benchmarks/train_moves.py"
    assert model.embedder_name == load_embedder().name
    assert {"acts", "brush_off", "transfer"} <= set(model.labels)
    assert set(model.direction.labels) == {"fall", "hold", "rise"}


def test_a_refund_with_a_when_reads_as_acting_and_calming() -> None:
    model = load_moves_model()
    assert model is not None
    turn = TurnText(
        "Right, I've issued a full refund of £89 just now, it'll be back on your card in three "
        "to five working days.",
        CUSTOMER,
    )
    reading = model.read(load_embedder(), [turn])[0]
    assert reading.does["acts"] >= 0.5
    assert reading.likely == "fall"


def test_a_polite_brush_off_reads_as_one_and_angers() -> None:
    model = load_moves_model()
    assert model is not None
    turn = TurnText(
        "I completely understand how frustrating that is, but these things do happen with "
        "couriers, you'll just have to give it a few more days.",
        CUSTOMER,
    )
    reading = model.read(load_embedder(), [turn])[0]
    assert reading.does["brush_off"] >= 0.5
    assert reading.does["acts"] < 0.5
    assert reading.likely == "rise"
