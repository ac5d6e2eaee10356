"""Time the offline evaluator tier on a 20-turn session, after the models are loaded.

Run: .venv/bin/python benchmarks/eval_speed.py [--repeats 5]
Prints a table; the target on a 2-core machine is <= 2 s per session for both rubrics.
"""

from __future__ import annotations

import argparse
import statistics
import time

from calmline.embed import load_embedder
from calmline.evaluate.evaluator import assess
from calmline.evaluate.rubric import load_rubrics
from calmline.evaluate.transcript import parse_transcript
from calmline.tone.reader import load_tone_reader

CALL = [
    ("CUSTOMER", "My broadband has been down for a week and this is the third time I've called!"),
    ("LEARNER", "I'm really sorry, that must be so frustrating when you work from home."),
    ("CUSTOMER", "It is. Nobody ever calls me back."),
    ("LEARNER", "Can you tell me when the connection first dropped?"),
    ("CUSTOMER", "Last Monday, after the storm."),
    ("LEARNER", "So since the storm last Monday you've had no connection at all, is that right?"),
    ("CUSTOMER", "Yes, and I was promised an engineer on Thursday who never came."),
    ("LEARNER", "I can see why you're angry, you were promised a visit and nobody turned up."),
    ("CUSTOMER", "So what are you going to do about it?"),
    ("LEARNER", "I'll book a priority engineer for tomorrow at eight and credit your account."),
    ("CUSTOMER", "Tomorrow? Fine. But I want it in writing."),
    ("LEARNER", "Of course, I'll email confirmation with your reference number today."),
    ("CUSTOMER", "And if he doesn't come?"),
    ("LEARNER", "I'll call you at ten tomorrow to check he's arrived. Does that sound okay?"),
    ("CUSTOMER", "Okay. Thank you."),
    ("LEARNER", "To recap: engineer at eight, a credit on your bill, and a call from me at ten."),
]
DEBRIEF = [
    ("EXAMINER", "What signs told you the customer was becoming difficult?"),
    ("LEARNER", "He raised his voice and said it was the third time he'd called."),
    ("EXAMINER", "What are the stages of a formal complaint?"),
    ("LEARNER", "Log it, acknowledge it, investigate, respond, and escalate to the ombudsman."),
]


def session_text() -> str:
    lines = [f"{who}: {text}" for who, text in CALL]
    lines.append("--- debrief ---")
    lines += [f"{who}: {text}" for who, text in DEBRIEF]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    t0 = time.perf_counter()
    reader, embedder, rubrics = load_tone_reader(), load_embedder(), load_rubrics()
    load_s = time.perf_counter() - t0
    session = parse_transcript(session_text())
    assert len(session.turns) == 20
    times = []
    for _ in range(args.repeats):
        fresh = parse_transcript(session_text())  # no cached tone readings on the turns
        t = time.perf_counter()
        assess(fresh, rubrics, tone_reader=reader, embedder=embedder)
        times.append(time.perf_counter() - t)
    print(f"{'measure':<38}{'seconds':>10}")
    print(f"{'model load (tone reader, MiniLM)':<38}{load_s:>10.2f}")
    print(f"{'offline tier, 20 turns, median':<38}{statistics.median(times):>10.2f}")
    print(f"{'offline tier, 20 turns, max':<38}{max(times):>10.2f}")
    print(f"{'target':<38}{2.0:>10.2f}")


if __name__ == "__main__":
    main()
