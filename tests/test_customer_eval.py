"""Good handling ends calmer than poor handling, through the real practice loop.

Three pairs from ``data/anger_pairs.yaml`` (two of them subtle) are played through the
real CLI, as ``benchmarks/customer_eval.py`` does for all of them: the real tone reader,
anger model and bundled Gemma 3 270M customer in process, one llama.cpp thread
(CALMLINE_LLM_THREADS=1, set by the benchmark for every call). About 35 s on 2 cores.
The full figures are in docs/customer_eval.md.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.models

REPO = Path(__file__).resolve().parents[1]
PAIRS = ["parcel-apologies-vs-action", "broadband-warm-vs-blunt", "cra-plain-asr"]


@pytest.fixture(scope="module")
def customer_eval() -> ModuleType:
    path = REPO / "benchmarks" / "customer_eval.py"
    spec = importlib.util.spec_from_file_location("customer_eval", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["customer_eval"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_pairs_file_is_well_formed(customer_eval: ModuleType) -> None:
    pairs = customer_eval.load_pairs(pack_pairs=False)
    scenarios = {p.stem for p in (REPO / "prompts" / "scenarios").glob("*.yaml")}
    assert len(pairs) >= 14
    assert len({p.id for p in pairs}) == len(pairs)
    assert {p.scenario for p in pairs} == scenarios
    for pair in pairs:
        assert pair.kind in ("plain", "subtle"), pair.id
        assert 4 <= len(pair.good) <= 8 and 4 <= len(pair.poor) <= 8, pair.id
        assert pair.note, pair.id


@pytest.mark.timeout(240)
def test_the_well_handled_call_ends_with_lower_anger(
    customer_eval: ModuleType, tmp_path: Path
) -> None:
    pairs = {p.id: p for p in customer_eval.load_pairs(pack_pairs=False)}
    chosen = [pairs[i] for i in PAIRS]
    assert any(p.kind == "subtle" for p in chosen)
    local = customer_eval.Backend("local")
    for pair in chosen:
        result = customer_eval.run_pair(pair, local, tmp_path)
        good, poor = result.good, result.poor
        assert good.final_anger < poor.final_anger, (pair.id, good, poor)
        # every call really went through the customer: the opening plus a reply per turn
        for call in (good, poor):
            assert call.customer_turns[0]["source"] == "authored"
            assert len(call.customer_turns) >= 2
