"""Which bundled model plays an angry customer better, and how fast, on this machine.

Runs Gemma 3 270M (base) and SmolLM2 135M (instruct) on the same few-shot call
transcript, in completion form (transcript continuation, stop at the newline) and,
for SmolLM2, also in chat form (persona as system message, history as turns).
Each variant answers five different agent lines; prints load time, time to first
token (cold = whole prompt, warm = shared prefix reused), decode tokens/second and
the five customer lines with a crude in-character check.

    .venv/bin/python benchmarks/llm_customer_probe.py [--threads N]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

from calmline.llm.bundled import resolve_model
from calmline.llm.local import LlamaChatModel
from calmline.protocols import ChatMessage, GenerationOptions

PERSONA = (
    "A phone call to the customer service line of HomeGoods. The customer, Dana, bought "
    "a kettle two weeks ago; it stopped working after two days. She has already called "
    "three times and was promised a call back that never came. She is angry and wants a "
    "replacement delivered this week or her money back."
)
HISTORY = [
    ("CUSTOMER", "I've called three times about this kettle and nobody ever calls me back!"),
    ("AGENT", "I'm sorry to hear that. Can I take your order number?"),
    ("CUSTOMER", "It's HG-4471. I gave it to the last person too. Why do I have to repeat it?"),
    ("AGENT", "Thank you. I can see the order here."),
    ("CUSTOMER", "Good, because I'm not spending another afternoon on hold."),
]
AGENT_LINES = [
    "Calm down, please. There is no need to shout.",
    "That's our policy, I'm afraid. Refunds take 28 days.",
    "I understand how frustrating this is. I'll arrange a replacement for Thursday.",
    "Have you tried descaling the kettle?",
    "I'm really sorry we let you down. What would put this right for you?",
]
ASSISTANT_SPEAK = re.compile(
    r"\b(how (can|may) I (help|assist)|as an ai|I'm here to help|assist you|happy to help|"
    r"thank you for (calling|contacting)|customer service representative|"
    r"I'll make sure to|everything you're looking for)\b",
    re.IGNORECASE,
)


def transcript_prompt(agent_line: str) -> str:
    lines = [PERSONA, ""] + [f"{who}: {text}" for who, text in HISTORY]
    return "\n".join([*lines, f"AGENT: {agent_line}", "CUSTOMER:"])


def chat_messages(agent_line: str) -> list[ChatMessage]:
    system = (
        f"{PERSONA} You are Dana, the customer. Stay in character: reply with one short, "
        "angry line as Dana. Never act as an assistant."
    )
    messages = [ChatMessage("system", system)]
    # The agent speaks to the model (user); the model is the customer (assistant).
    messages.append(ChatMessage("user", "Hello, HomeGoods customer service."))
    for who, text in HISTORY:
        messages.append(ChatMessage("assistant" if who == "CUSTOMER" else "user", text))
    messages.append(ChatMessage("user", agent_line))
    return messages


def verdict(line: str) -> str:
    if not line.strip():
        return "EMPTY"
    if ASSISTANT_SPEAK.search(line) or line.strip().upper().startswith("AGENT"):
        return "ASSISTANT"
    words = line.lower().split()
    if len(words) >= 8 and len(set(words)) < len(words) / 2:
        return "REPEATS"
    if len(words) > 30:
        return "LONG"
    return "ok"


def run(name: str, style: str, threads: int | None) -> None:
    path, short = resolve_model(name)
    model = LlamaChatModel(path, short, "completion", n_threads=threads)  # fresh, uncached
    print(f"\n## {name} ({style})  load {model.load_s:.2f}s")
    first_tokens, rates, oks = [], [], 0
    for i, agent in enumerate(AGENT_LINES):
        options = GenerationOptions(max_tokens=40, temperature=0.8, stop=["\n"], seed=100 + i)
        t0 = time.perf_counter()
        if style == "completion":
            line = "".join(model.stream_complete(transcript_prompt(agent), options))
        else:
            line = "".join(model.stream_chat(chat_messages(agent), options))
        wall = time.perf_counter() - t0
        s = model.last_stats
        first_tokens.append(s.first_token_s)
        if s.tokens_per_s:
            rates.append(s.tokens_per_s)
        v = verdict(line)
        oks += v == "ok"
        print(
            f"  [{v:9}] ttft {s.first_token_s * 1000:5.0f} ms  reused {s.reused_tokens:3}/"
            f"{s.prompt_tokens:3}  {wall:4.2f}s  AGENT: {agent[:38]!r}\n"
            f"              CUSTOMER: {line.strip()!r}"
        )
    cold, warm = first_tokens[0], statistics.median(first_tokens[1:])
    rate = statistics.median(rates) if rates else 0.0
    print(
        f"  => ttft cold {cold * 1000:.0f} ms, warm median {warm * 1000:.0f} ms, "
        f"decode {rate:.0f} tok/s, in character {oks}/5"
    )
    model.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="default: every core")
    args = parser.parse_args()
    for name, style in [
        ("gemma3-270m", "completion"),
        ("smollm2-135m", "completion"),
        ("smollm2-135m", "chat"),
    ]:
        run(name, style, args.threads)


if __name__ == "__main__":
    main()
