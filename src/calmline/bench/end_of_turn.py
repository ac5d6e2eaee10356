"""The bench's end-of-turn run: the fixed wait against the adaptive one, on the same turns.

Learner turns with one natural mid-turn pause (a 300-1000 ms SSML break at a comma or
inside a clause, spoken by espeak-ng inside the turn so the voice before it goes on)
are streamed in real time through two ``TurnListener``s at once: one with the fixed
600 ms wait, one with the ``EndOfTurnPolicy`` and Whisper, as ``--end-of-turn
adaptive`` runs. Both see the same chunks at the same moments. For each listener:

- **false cut-ins**: turns it ended at the mid-turn pause, before the learner had said
  the rest;
- **speech end → end-of-turn decision** (median, p95) over the turns it did not cut:
  the part of the reply latency that the end of turn decides (the rest, decision to
  first audio, is the main bench's).

The fixed listener is given a transcriber that returns nothing at once: its decision
needs no text, and it must not queue behind the adaptive listener's Whisper calls. The
turns are the learner scripts of the packs whose scripts the model was not trained on
(``data/end_of_turn/README.md``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import numpy as np

from calmline.bench.harness import Distribution
from calmline.bench.sim_mic import speech_bounds
from calmline.models import Transcription
from calmline.protocols import SAMPLE_RATE, AudioArray, Transcriber
from calmline.speech.clock import Clock, RealClock
from calmline.speech.listener import HeardTurn, TurnListener

HELD_OUT_PACKS = ("hotel-room", "cancelled-flight", "broadband-outages")
PAUSE_S = (0.3, 1.0)  # the mid-turn pause, drawn uniformly
GAP_S = 2.0  # silence between turns: longer than any wait
CHUNK = SAMPLE_RATE * 30 // 1000


@dataclass(frozen=True)
class PausedTurn:
    """One learner turn with a pause inside it, as 16 kHz audio."""

    text: str  # the turn, "|" where the pause is
    pause_s: float
    audio: AudioArray


@dataclass
class EndOfTurnRun:
    """What the end-of-turn run measured; ``to_dict`` goes into the bench's JSON."""

    turns: int = 0
    pauses_s: list[float] = field(default_factory=list)
    fixed_cut_ins: int = 0
    adaptive_cut_ins: int = 0
    fixed_wait: Distribution | None = None  # speech end -> decision, turns not cut
    adaptive_wait: Distribution | None = None
    adaptive_waits_ms: dict[str, int] = field(default_factory=dict)  # final decisions


def paused_turns(lines: Sequence[str], seed: int = 7) -> list[PausedTurn]:
    """Each line spoken with one pause at a comma or mid-clause word boundary.

    Never after a sentence's last word: a pause there is a finished thought, not a
    mid-turn pause. Lines too short for a boundary in their middle are left out.
    """
    from calmline.testing.speech import spoken_ssml

    rng = random.Random(seed)
    out: list[PausedTurn] = []
    for line in lines:
        tokens = line.split()
        inside = [
            k
            for k in range(max(2, len(tokens) // 4), len(tokens) - 2)
            if not tokens[k - 1].rstrip("\"')").endswith((".", "?", "!"))
        ]
        if not inside:
            continue
        k = rng.choice(inside)
        pause = round(rng.uniform(*PAUSE_S), 2)
        before, after = " ".join(tokens[:k]), " ".join(tokens[k:])
        ssml = (
            f'<speak>{escape(before)} <break time="{int(pause * 1000)}ms"/> {escape(after)}</speak>'
        )
        audio = spoken_ssml(ssml)
        start, end = speech_bounds(audio)
        out.append(PausedTurn(f"{before} | {after}", pause, audio[start:end]))
    return out


class _Nothing:
    """A transcriber that hears nothing, at once: for the listener that needs no text."""

    name = "nothing"

    def transcribe(self, audio: AudioArray) -> Transcription:
        return Transcription(text="", duration=audio.size / SAMPLE_RATE)


def run_end_of_turn(
    turns: Sequence[PausedTurn],
    transcriber: Transcriber,
    min_silence_ms: int = 600,
    clock: Clock | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> EndOfTurnRun:
    """Stream ``turns`` once, in real time, through a fixed and an adaptive listener."""
    from concurrent.futures import ThreadPoolExecutor

    from calmline.speech.end_of_turn import LONG_MS, EndOfTurnPolicy

    clock = clock or RealClock()
    policy = EndOfTurnPolicy(default_ms=min_silence_ms, long_ms=max(LONG_MS, min_silence_ms))
    policy.decide("Hello, how can I help?")  # loads MiniLM before the clock starts
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)
    parts: list[AudioArray] = [gap]
    ends: list[float] = []  # stream seconds where each turn's speech ends
    pos = gap.size
    for turn in turns:
        parts += [turn.audio, gap]
        pos += turn.audio.size
        ends.append(pos / SAMPLE_RATE)
        pos += gap.size
    stream = np.concatenate(parts)
    stream += np.random.default_rng(0).normal(0, 1e-4, stream.size).astype(np.float32)

    with ThreadPoolExecutor(1, thread_name_prefix="calmline-bench-fixed") as own:
        fixed = TurnListener(_Nothing(), min_silence_ms, clock=clock.now, executor=own)
        adaptive = TurnListener(transcriber, min_silence_ms, clock=clock.now, end_of_turn=policy)
        heard: dict[str, list[HeardTurn]] = {"fixed": [], "adaptive": []}
        t0 = clock.now()
        for i in range(0, stream.size, CHUNK):
            clock.sleep(t0 + (i + CHUNK) / SAMPLE_RATE - clock.now())  # a sound card's pace
            chunk = stream[i : i + CHUNK]
            for name, listener in (("fixed", fixed), ("adaptive", adaptive)):
                heard[name] += [e for e in listener.feed(chunk) if isinstance(e, HeardTurn)]
            if i % (10 * SAMPLE_RATE) < CHUNK:
                progress(f"End of turn, fixed and adaptive: {i / stream.size:.0%} streamed")
        fixed.close()
        adaptive.close()
    run = EndOfTurnRun(turns=len(turns), pauses_s=[t.pause_s for t in turns])
    for name in ("fixed", "adaptive"):
        cut_ins, waits = _score(heard[name], ends, t0)
        setattr(run, f"{name}_cut_ins", cut_ins)
        setattr(run, f"{name}_wait", Distribution.of(waits))
    for ended in heard["adaptive"]:
        key = str(ended.end_of_turn.wait_ms) if ended.end_of_turn else "no text in time"
        run.adaptive_waits_ms[key] = run.adaptive_waits_ms.get(key, 0) + 1
    return run


def _score(heard: Sequence[HeardTurn], ends: Sequence[float], t0: float) -> tuple[int, list[float]]:
    """Turns cut at their pause, and speech end -> decision for the turns that were not.

    A heard turn belongs to the learner turn whose speech ends next after its start; it
    is a cut-in when its audio stops more than 0.3 s (the post-roll and then some)
    before that turn's speech does.
    """
    cut: set[int] = set()
    waits: list[float] = []
    for turn in heard:
        index = next((k for k, end in enumerate(ends) if end > turn.start), None)
        if index is None:
            continue
        if turn.end < ends[index] - 0.3:
            cut.add(index)
        elif index not in cut:
            waits.append(turn.decided_at - (t0 + ends[index]))
    return len(cut), waits
