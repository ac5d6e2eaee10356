"""Unit tests of the LLM layer's pure logic: the fallback's decisions and events, and
option resolution, with scripted models standing in for the endpoint and the bundled
model. No model, no network. (The scripted fake itself is not under test here.)"""

from __future__ import annotations

import pytest

from calmline.errors import CalmlineError
from calmline.llm import LLMError, LLMOptions, LLMStreamInterrupted, collect, load_chat_model
from calmline.llm.bundled import prompt_style_for, resolve_model
from calmline.llm.fallback import FallbackChatModel
from calmline.protocols import ChatMessage, ChatModel, GenerationOptions
from calmline.testing.fake_llm import FakeChatModel

OPTS = GenerationOptions(max_tokens=30, stop=["\nAGENT:"])


def test_fallback_switches_before_first_token_and_records_the_event() -> None:
    primary = FakeChatModel(replies=["never"], fail_on={0}, name="remote")
    secondary = FakeChatModel(replies=["Where is my parcel?"], name="local")
    model = FallbackChatModel(primary, secondary, clock=lambda: 12.5)
    assert collect(model.stream_complete("CUSTOMER:", OPTS)) == "Where is my parcel?"
    assert secondary.prompts == ["CUSTOMER:"]
    [event] = model.events
    assert (event.kind, event.at) == ("llm_fallback", 12.5)
    assert "remote failed" in event.detail and "local takes over" in event.detail


def test_fallback_continues_a_cut_completion_from_the_partial_text() -> None:
    primary = FakeChatModel(replies=["I have waited three weeks"], break_on={0: 13})
    secondary = FakeChatModel(replies=[" three weeks!"])
    model = FallbackChatModel(primary, secondary)
    assert collect(model.stream_complete("CUSTOMER:", OPTS)) == "I have waited three weeks!"
    assert secondary.prompts == ["CUSTOMER:I have waited"]


def test_fallback_reraises_a_cut_chat_reply_but_records_it() -> None:
    primary = FakeChatModel(replies=["I have waited three weeks"], break_on={0: 6})
    secondary = FakeChatModel(replies=["unused"])
    model = FallbackChatModel(primary, secondary)
    with pytest.raises(LLMStreamInterrupted):
        collect(model.stream_chat([ChatMessage("user", "hi")], OPTS))
    assert [e.kind for e in model.events] == ["llm_fallback"]
    assert secondary.calls == []


def test_fallback_skips_a_dead_primary_for_a_while_then_tries_it_again() -> None:
    primary = FakeChatModel(replies=["back"], fail_on={0})  # a failure uses no reply
    secondary = FakeChatModel(replies=["s"], cycle=True)
    model = FallbackChatModel(primary, secondary, skip_primary_for=2)
    outputs = [collect(model.stream_complete("p", OPTS)) for _ in range(4)]
    assert outputs == ["s", "s", "s", "back"]
    assert len(primary.calls) == 2  # the failed call, then the retry after the pause
    assert [e.kind for e in model.events] == ["llm_fallback", "llm_primary_back"]


def test_fallback_records_when_the_secondary_fails_too() -> None:
    model = FallbackChatModel(
        FakeChatModel(replies=["x"], fail_on={0}), FakeChatModel(replies=["y"], fail_on={0})
    )
    with pytest.raises(LLMError):
        collect(model.stream_complete("p", OPTS))
    assert [e.kind for e in model.events] == ["llm_fallback", "llm_fallback_failed"]


def test_llm_errors_reach_the_user_as_calmline_errors_with_hints() -> None:
    error = LLMStreamInterrupted("cut", "keep going", partial_text="I want")
    assert isinstance(error, CalmlineError)
    assert (error.message, error.hint, error.partial_text) == ("cut", "keep going", "I want")


def test_load_fake_backend_satisfies_the_protocol() -> None:
    model = LLMOptions(backend="fake").load()
    assert isinstance(model, ChatModel)
    assert collect(model.stream_complete("CUSTOMER:", OPTS))


def test_openai_backend_reads_the_environment_when_flags_are_absent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("CALMLINE_MODEL", "qwen2.5:7b")
    model = load_chat_model("openai")  # builds a client; no request is made
    assert model.name == "openai:qwen2.5:7b"
    assert model.base_url == "http://127.0.0.1:9/v1"  # type: ignore[attr-defined]
    assert model.prompt_style == "chat"
    flagged = load_chat_model("openai", "llama3", base_url="http://h:1/v1")
    assert flagged.name == "openai:llama3"


def test_unknown_backend_and_model_fail_with_a_hint() -> None:
    with pytest.raises(CalmlineError, match="unknown LLM backend") as caught:
        load_chat_model("bard")  # type: ignore[arg-type]
    assert "local" in caught.value.hint
    with pytest.raises(CalmlineError, match="unknown local model") as caught:
        resolve_model("gpt-7")
    assert "gemma3-270m" in caught.value.hint
    with pytest.raises(CalmlineError, match="model file not found"):
        resolve_model("/nowhere/x.gguf")


def test_prompt_style_per_model() -> None:
    assert prompt_style_for("gemma3-270m") == "completion"  # base model: continue text
    assert prompt_style_for("smollm2-135m") == "chat"
    assert prompt_style_for("Qwen2.5-0.5B-Instruct-Q4") == "chat"
    assert prompt_style_for("gemma-3-1b-pt") == "completion"
