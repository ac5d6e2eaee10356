"""The bundled GGUF models, loaded from disk by llama.cpp, continue a customer call."""

from __future__ import annotations

import pytest

from calmline.llm import LLMError, collect, load_chat_model
from calmline.llm.local import LlamaChatModel, get_local_model
from calmline.protocols import ChatMessage, ChatModel, GenerationOptions

pytestmark = pytest.mark.models

TRANSCRIPT = (
    "A phone call to the customer service line of an electrical shop.\n"
    "CUSTOMER: I bought a kettle here last week and it already stopped working.\n"
    "AGENT: I'm sorry to hear that. Could you tell me what happened?\n"
    "CUSTOMER: It just won't switch on, and I've called three times already!\n"
    "AGENT: I understand how frustrating that is. Do you have the receipt?\n"
    "CUSTOMER:"
)
STOP = "\nAGENT:"


@pytest.fixture(scope="module", params=["gemma3-270m", "smollm2-135m"])
def model(request: pytest.FixtureRequest) -> LlamaChatModel:
    return get_local_model(request.param)


def test_model_continues_the_transcript_and_stops_before_the_agent(model: LlamaChatModel) -> None:
    options = GenerationOptions(max_tokens=60, temperature=0.7, stop=[STOP], seed=7)
    chunks = list(model.stream_complete(TRANSCRIPT, options))
    text = "".join(chunks)
    assert text.strip(), "the customer said nothing"
    assert "AGENT:" not in text
    assert len(chunks) >= 3, f"not streamed: {chunks!r}"
    assert isinstance(model, ChatModel)


def test_chat_form_streams_an_answer(model: LlamaChatModel) -> None:
    messages = [
        ChatMessage("system", "You are an angry customer whose kettle broke."),
        ChatMessage("user", "Good morning, how can I help you?"),
    ]
    options = GenerationOptions(max_tokens=30, temperature=0.7, seed=7)
    chunks = list(model.stream_chat(messages, options))
    assert "".join(chunks).strip()
    assert len(chunks) >= 3


def test_append_only_prompts_reuse_the_kv_cache(model: LlamaChatModel) -> None:
    options = GenerationOptions(max_tokens=20, temperature=0.0, stop=["\n"])
    first = collect(model.stream_complete(TRANSCRIPT, options))
    longer = TRANSCRIPT + first + "\nAGENT: Let me check that for you.\nCUSTOMER:"
    collect(model.stream_complete(longer, options))
    stats = model.last_stats
    # All of the earlier transcript is served from the cache; only the new agent
    # line (and at most a token at the seam) is evaluated again.
    assert stats.reused_tokens >= stats.prompt_tokens - 20 > 0, stats


def test_same_seed_same_line(model: LlamaChatModel) -> None:
    options = GenerationOptions(max_tokens=20, temperature=0.8, stop=["\n"], seed=123)
    assert collect(model.stream_complete(TRANSCRIPT, options)) == collect(
        model.stream_complete(TRANSCRIPT, options)
    )


def test_one_instance_per_process_and_prompt_styles() -> None:
    gemma = load_chat_model("local", "gemma3-270m")
    assert gemma is get_local_model("gemma3-270m")
    assert gemma.prompt_style == "completion"  # a base model only continues text
    assert load_chat_model("local", "smollm2-135m").prompt_style == "chat"


def test_warming_up_runs_the_model_and_changes_no_reply() -> None:
    gemma = get_local_model("gemma3-270m")
    options = GenerationOptions(max_tokens=12, temperature=0.8, stop=["\n"], seed=5)
    before = collect(gemma.stream_complete(TRANSCRIPT, options))
    gemma.warm()
    stats = gemma.last_stats
    assert stats.prompt_tokens > 0 and stats.generated_tokens >= 1  # it ran the model
    # The customer says the same as without the warm-up (the cache holds "Hello" now).
    assert collect(gemma.stream_complete(TRANSCRIPT, options)) == before


def test_a_prompt_longer_than_the_context_is_a_clear_error() -> None:
    model = get_local_model("smollm2-135m")
    with pytest.raises(LLMError, match="context window") as caught:
        collect(model.stream_complete("AGENT: hello\n" * 1500, GenerationOptions(max_tokens=5)))
    assert "shorten the history" in caught.value.hint
