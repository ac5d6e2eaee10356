"""The bundled local model plays the customer for a whole call, and every line it speaks is checked.

Run with ``-s`` to see the share of generated lines that passed the check and the
fallback rate for each pack.
"""

from __future__ import annotations

import re

import pytest

from calmline.customer import anger
from calmline.customer.character import Customer, CustomerOptions
from calmline.customer.line_check import allowed_numbers
from calmline.customer.scenario import load_scenario
from calmline.models import AngerState, ToneReading, Turn

pytestmark = pytest.mark.models

LEARNER_TURNS = 15

# An independent check of "in character", written for this test with its own rules; the
# line check (regexes) and the role check (MiniLM) chose the lines, so neither can judge
# them. A customer speaks from their side of the counter: they do not serve, offer the
# remedy, sign off like staff, or step out of the scene.
_SERVES = re.compile(
    r"\b(how (can|may) i (help|assist)|what can i do for you|anything else i can"
    r"|(sorry|apologies) for (the|any) inconvenience|thanks? (you )?for (your )?(patience|waiting"
    r"|calling|contacting)|have a (nice|good|great|lovely) day|valued customer|dear customer)\b",
    re.IGNORECASE,
)
_OFFERS = re.compile(
    r"\b(i|we)('ll| will| can| could| would be happy to)\s+(gladly\s+)?"
    r"(send you|refund you|give you (a|your) (refund|replacement|credit)|replace (it|that|this) for"
    r"|arrange (a|an|the|for)|book (you|an engineer)|credit your|process (a|your|the)"
    r"|look into (it|this|that) for you|check (that|this) for you)",
    re.IGNORECASE,
)
_OUT_OF_SCENE = re.compile(
    r"\b(an? (ai|bot|chatbot|assistant|language model)|role ?play(ing)?|scenario|prompt"
    r"|instructions?|my character|in character|the (learner|trainee|user))\b",
    re.IGNORECASE,
)


def _out_of_character(text: str) -> list[str]:
    """The ways ``text`` is not a customer speaking (empty when in character)."""
    checks = {"serves": _SERVES, "offers the remedy": _OFFERS, "out of scene": _OUT_OF_SCENE}
    return [name for name, rule in checks.items() if rule.search(text)]


@pytest.fixture(scope="module")
def gemma():
    from calmline.llm import load_chat_model

    # One thread: on a shared 2-core machine, two llama.cpp threads with another busy
    # process spin at their barrier and a turn took minutes instead of about a second.
    return load_chat_model("local", "gemma3-270m", n_threads=1)


def _reading(text: str, good: bool) -> ToneReading:
    # A stand-in for the tone reader, so this test is about the customer only.
    if good:
        return ToneReading(tags={"empathy": 0.7, "paraphrase": 0.5}, direction="de-escalating")
    return ToneReading(tags={"dismissive": 0.7}, direction="escalating")


@pytest.mark.parametrize("pack_id", ["kettle-counter", "broadband-outages"])
def test_a_fifteen_turn_call_stays_in_character_and_on_the_facts(gemma, pack_id: str) -> None:
    pack = load_scenario(pack_id)
    from calmline.customer.role_check import default_role_check

    # as the CLI builds it for the bundled model: authored-first, with the role check
    options = CustomerOptions(seed=11, limit_turns=99, lines="authored-first")
    customer = Customer(pack, gemma, options, role_check=default_role_check())
    script = [(t, False) for t in pack.learner_script_poor] + [
        (t, True) for t in pack.learner_script_good
    ]
    while len(script) < LEARNER_TURNS:
        script.append((pack.learner_script_poor[len(script) % 3], False))
    opening = customer.opening()
    history = [Turn(index=0, speaker="customer", text=opening.text, source=opening.source)]
    state = AngerState(anger=pack.persona.start_anger)
    lines = []
    for text, good in script[:LEARNER_TURNS]:
        reading = _reading(text, good)
        state, step = anger.step(
            state,
            reading,
            pack.persona,
            resolution_offered=customer.resolution_offered(text),
            repeated_failure=customer.repeats_failure(text),
        )
        history.append(
            Turn(index=len(history), speaker="learner", text=text, tone=reading, anger=step)
        )
        said = [t.text for t in history]
        line = customer.respond(history, state, reading)
        lines.append(line)
        history.append(
            Turn(index=len(history), speaker="customer", text=line.text, source=line.source)
        )
        if line.source in ("llm", "retry"):
            assert _out_of_character(line.text) == [], line
            # no number the facts and the call so far do not already contain
            numbers = {n for n in allowed_numbers(pack, [line.text]) if n not in {"0", "1"}}
            assert numbers <= allowed_numbers(pack, said), line
        else:
            # the pack's own line, after the customer's pick of a choice they were offered
            # or a correction of their own story ("No, it was Tuesday 11 March.")
            text = line.text
            if "picks an option" in line.notes:
                text = text.split(". ", 1)[-1]
            corrected = any(n.startswith("corrects a misread") for n in line.notes)
            assert text in _authored(pack) or line.outcome is not None or corrected, line
        if line.outcome is not None:
            break

    # turns that went to the model (not scripted, not an authored reply to the move)
    generated = [x for x in lines if not _scripted(x) and not _authored_reply(x)]
    attempts = sum(1 + (x.source != "llm") for x in generated)
    passed = sum(x.source in ("llm", "retry") for x in generated)
    fallbacks = sum(x.source == "authored" for x in generated)
    print(
        f"\n{pack_id}: {len(lines)} customer lines, {len(generated)} generated turns; "
        f"{passed}/{attempts} model lines passed the check "
        f"({passed / max(attempts, 1):.0%}); fallback rate {fallbacks / max(len(generated), 1):.0%}"
    )
    for line in lines:
        print(f"  [{line.source}] {line.text}  {line.notes if line.notes else ''}")
    assert len(lines) >= 10
    # Every line the learner hears, the model's and the pack's, is a customer speaking.
    assert all(_out_of_character(x.text) == [] for x in lines), [
        (x.text, _out_of_character(x.text)) for x in lines if _out_of_character(x.text)
    ]
    spoken = [x.text.strip().lower() for x in lines if x.outcome is None]
    assert len(spoken) == len(set(spoken)), "the customer said a line twice"


def _authored(pack) -> set[str]:
    out = {pack.manager_line, pack.hangup_line, pack.satisfied_line}
    out |= {h.detail for h in pack.hidden_details}
    return out | {text for _, text in pack.authored_texts()}


def _authored_reply(line) -> bool:
    """authored-first: the pack's reply to the learner's move, without the model."""
    return line.source == "authored" and any(n.startswith("authored reply") for n in line.notes)


def _scripted(line) -> bool:
    """Outcome lines and hidden details are chosen without the model."""
    return line.outcome is not None or any("hidden detail" in n for n in line.notes)


@pytest.mark.parametrize(
    ("line", "broken"),
    [
        ("How can I help you with the kettle today?", True),
        ("I'll send you a replacement by Friday, no charge.", True),
        ("Thank you for your patience, have a lovely day.", True),
        ("As an AI language model I can't be angry.", True),
        ("Stop reading from the scenario and talk to me properly.", True),
        ("I want my money back, and I want it today.", False),
        ("You could at least say sorry. Third kettle this year!", False),
        ("I'll take it to the ombudsman if I have to.", False),
    ],
)
def test_the_independent_check_can_fail(line: str, broken: bool) -> None:
    assert bool(_out_of_character(line)) is broken
