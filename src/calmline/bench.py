"""The latency and memory benchmark behind ``calmline bench``: measurements, not assertions.

Synthesised learner speech goes through the input path a microphone uses
(``SimulatedMic`` -> ``LiveInput`` -> ``TurnListener`` -> ``PracticeCall``) in real
time, and a ``SimulatedSink`` stands in for the speakers, timestamping the first
sample of every reply. Latency is measured from the last sample of the learner's
speech to that first sample, so the end-of-turn silence wait is included. The same
turns then go through a naive pipeline (1 s silence wait, whole-turn
transcription, whole LLM completion, whole-reply synthesis) for comparison.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from calmline.audio_out import SimulatedSink
from calmline.learner_input import LearnerUtterance, LiveInput
from calmline.models import SessionRecord
from calmline.protocols import SAMPLE_RATE, AudioArray, ChatMessage, ChatModel, GenerationOptions
from calmline.sim_stream import RealClock, SimulatedMic, speech_bounds
from calmline.vad import EndpointOptions, iter_utterances

NAIVE_SILENCE_MS = 1000


def rss_mb() -> tuple[float, float]:
    """Resident and peak resident memory of this process in MB (/proc/self/status)."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = float(rest.split()[0]) / 1024
    except OSError:  # not Linux: report zeros rather than fail the benchmark
        pass
    return values["VmRSS"], values["VmHWM"]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


@dataclass
class Distribution:
    n: int
    median: float
    p95: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        vals = list(values)
        return cls(
            len(vals),
            statistics.median(vals) if vals else 0.0,
            percentile(vals, 95),
            max(vals, default=0.0),
        )


class RecordingChatModel:
    """A ``ChatModel`` proxy that keeps the inner model's ``last_stats`` after each generation."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.name = inner.name
        self.prompt_style = inner.prompt_style
        self.stats: list[Any] = []

    def _record(self, stream: Iterator[str]) -> Iterator[str]:
        yield from stream
        stats = getattr(self.inner, "last_stats", None)
        if stats is not None:
            self.stats.append(stats)

    def stream_complete(self, prompt: str, options: GenerationOptions) -> Iterator[str]:
        return self._record(self.inner.stream_complete(prompt, options))

    def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> Iterator[str]:
        return self._record(self.inner.stream_chat(messages, options))


class SimulatedLearner:
    """A ``LearnerInput`` that speaks the next WAV into a ``SimulatedMic`` when it is its turn.

    Each turn's utterance is queued when the loop asks for it (the customer has
    finished), so it starts ``gap_s`` later, as a person answering would. A turn
    listed in ``barge_in`` is instead spoken ``barge_in_after_s`` after the first
    sample of the customer's previous reply, over the customer.
    """

    def __init__(
        self,
        live: LiveInput,
        mic: SimulatedMic,
        sink: SimulatedSink,
        turns: Sequence[AudioArray],
        *,
        barge_in: set[int] | None = None,
        barge_in_after_s: float = 0.6,
    ) -> None:
        self.live, self.mic, self.sink = live, mic, sink
        self._turns = list(turns)
        self._next = 0
        self._barge_in = barge_in or set()
        self._after = barge_in_after_s
        self.utterances: list[LearnerUtterance] = []
        self.spoken: list[Any] = []

    def speech_started_after(self, t: float) -> float | None:
        return self.live.speech_started_after(t)

    def set_cut_in(self, seconds: float | None) -> None:
        self.live.set_cut_in(seconds)

    def next_utterance(self, phase: str) -> LearnerUtterance | None:
        if phase != "call":
            return None
        if self._next >= len(self._turns):
            return None
        index = self._next
        self._next += 1
        if index not in self._barge_in:
            self.spoken.append(self.mic.say(self._turns[index]))
        if index + 1 in self._barge_in and index + 1 < len(self._turns):
            self._schedule_barge_in(index + 1)
        utt = self.live.next_utterance(phase)
        if utt is not None:
            said = self.spoken[-1] if self.spoken else None
            if said is not None and said.speech_end_at is not None and utt.decided_at is not None:
                utt.latency["speech_end_to_decision"] = utt.decided_at - said.speech_end_at
            self.utterances.append(utt)
        return utt

    def _schedule_barge_in(self, index: int) -> None:
        replies_before = len(self.sink.replies)

        def speak_over() -> None:
            while len(self.sink.replies) <= replies_before:
                time.sleep(0.01)
            time.sleep(max(self.sink.replies[-1] + self._after - time.perf_counter(), 0.0))
            self.spoken.append(self.mic.say(self._turns[index]))

        threading.Thread(target=speak_over, daemon=True).start()


@dataclass
class NaiveTurn:
    silence_wait_s: float
    stt_s: float
    tone_s: float
    llm_s: float
    tts_s: float

    @property
    def total_s(self) -> float:
        return self.silence_wait_s + self.stt_s + self.tone_s + self.llm_s + self.tts_s


def naive_silence_wait(audio: AudioArray) -> float:
    """Seconds from the end of speech in ``audio`` to a 1 s-silence endpoint on it.

    Measured on the audio itself (stream time equals wall time for live input), so
    the naive pipeline pays the VAD's own detection delay too.
    """
    padded = np.concatenate([audio, np.zeros(2 * SAMPLE_RATE, np.float32)])
    _, end = speech_bounds(audio)
    for event in iter_utterances(padded, EndpointOptions(min_silence_ms=NAIVE_SILENCE_MS)):
        # UtteranceEnded.end includes post-roll; the decision came at speech end + wait.
        decided = event.end - EndpointOptions().post_roll_ms / 1000 + NAIVE_SILENCE_MS / 1000
        return max(decided - end / SAMPLE_RATE, 0.0)
    return NAIVE_SILENCE_MS / 1000


@dataclass
class BenchResult:
    """Everything ``calmline bench`` measured; ``to_dict`` is the ``--json`` output."""

    machine: dict[str, Any] = field(default_factory=dict)
    load_s: dict[str, float] = field(default_factory=dict)
    stt_rtf: dict[str, float] = field(default_factory=dict)
    llm_first_token_s: float = 0.0
    llm_tokens_per_s: float = 0.0
    llm_reused_share: float = 0.0
    tts_first_audio_s: float = 0.0
    turn_latency: Distribution | None = None
    decision_to_audio: Distribution | None = None
    naive_latency: Distribution | None = None
    naive_parts: dict[str, float] = field(default_factory=dict)
    ratio: float = 0.0
    barge_in_stop_s: list[float] = field(default_factory=list)
    evaluator_s: float = 0.0
    rss_loaded_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_growth_mb: float = 0.0
    turns: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def machine_info() -> dict[str, Any]:
    import platform

    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_avg_start": [round(x, 2) for x in load],
        "llm_threads": os.environ.get("CALMLINE_LLM_THREADS") or str(os.cpu_count()),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def latencies(record: SessionRecord) -> tuple[list[float], list[float]]:
    """(speech end -> first reply audio, end-of-turn decision -> first reply audio) per turn."""
    total: list[float] = []
    after_decision: list[float] = []
    turns = record.turns
    for i, turn in enumerate(turns[:-1]):
        reply = turns[i + 1]
        if turn.speaker != "learner" or reply.speaker != "customer":
            continue
        to_audio = reply.latency.get("end_of_turn_to_first_audio")
        waited = turn.latency.get("speech_end_to_decision")
        if to_audio is None:
            continue
        after_decision.append(to_audio)
        if waited is not None:
            total.append(waited + to_audio)
    return total, after_decision


Progress = Callable[[str], None]


@dataclass
class BenchOptions:
    """What ``calmline bench`` runs.

    Attributes:
        turns: learner turns in the streaming run (over as many calls as it takes).
        naive_turns: how many of those turns also go through the naive pipeline.
        scenarios: packs whose learner scripts are spoken, in order (all by default).
        barge_in: add one turn spoken over the customer's reply, to time the stop.
        seed: the customer's sampling seed.
    """

    turns: int = 30
    naive_turns: int = 12
    scenarios: list[str] = field(default_factory=list)
    barge_in: bool = True
    seed: int = 7


def run_bench(options: BenchOptions, progress: Progress = lambda _m: None) -> BenchResult:
    """Load everything once, run the streaming calls, then the naive pipeline; measure."""
    from calmline.customer import Customer, CustomerOptions
    from calmline.factory import BackendChoice, load_llm, load_transcriber
    from calmline.scenario import list_scenarios, load_scenario
    from calmline.tone import load_tone_reader
    from calmline.tts import load_speaker

    result = BenchResult(machine=machine_info())
    progress("Loading and warming the models…")
    choice = BackendChoice(seed=options.seed)
    timed: dict[str, float] = {}

    def timed_load(name: str, load: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        value = load()
        timed[name] = round(time.perf_counter() - t0, 3)
        return value

    transcriber = timed_load("stt", lambda: load_transcriber(choice))
    chat = timed_load("llm", lambda: load_llm(choice))
    tone = timed_load("tone", load_tone_reader)
    speaker = timed_load("tts", lambda: load_speaker("espeak"))
    from calmline.factory import warm_models

    timed_load("warm", lambda: warm_models(transcriber, chat, tone, speaker))
    result.load_s = timed
    result.rss_loaded_mb = rss_mb()[0]

    names = options.scenarios or [s.id for s in list_scenarios()]
    scripts = [(name, list(load_scenario(name).learner_script_good)) for name in names]
    progress("Synthesising the learner's turns…")
    spoken = {
        name: [speaker.synthesize(line, "learner") for line in lines] for name, lines in scripts
    }
    from calmline.audio import Resampler

    def to_16k(audio: AudioArray, rate: int) -> AudioArray:
        if rate == SAMPLE_RATE:
            return audio
        resampler = Resampler(rate, SAMPLE_RATE)
        return np.concatenate([resampler.process(audio), resampler.flush()])

    wavs = {name: [to_16k(a, r) for a, r in items] for name, items in spoken.items()}

    recording = RecordingChatModel(chat)
    records: list[tuple[str, SessionRecord, list[AudioArray]]] = []
    rss_per_turn: list[float] = []
    barge_stops: list[float] = []
    done = 0
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="calmline-bench-"))
    for round_ in range(100):
        for name, _lines in scripts:
            if done >= options.turns:
                break
            want = min(len(wavs[name]), options.turns - done)
            barge = {2} if options.barge_in and round_ == 0 and not records and want > 3 else set()
            progress(f"Streaming call {len(records) + 1}: {name} ({done}/{options.turns} turns)")
            record, used, stops = _streaming_call(
                name,
                wavs[name][:want],
                Customer(
                    load_scenario(name),
                    recording,
                    CustomerOptions(stream_early=True),
                    seed=options.seed + round_,
                ),
                tone,
                speaker,
                transcriber,
                out,
                barge,
                rss_per_turn,
            )
            barge_stops.extend(stops)
            records.append((name, record, wavs[name][:used]))
            done += used
        if done >= options.turns:
            break
    result.turns = done
    result.barge_in_stop_s = [round(s, 3) for s in barge_stops]
    total: list[float] = []
    decision: list[float] = []
    for _name, record, _w in records:
        t, d = latencies(record)
        total += t
        decision += d
    result.turn_latency = Distribution.of(total)
    result.decision_to_audio = Distribution.of(decision)
    result.rss_peak_mb = rss_mb()[1]
    if len(rss_per_turn) >= 2:
        result.rss_growth_mb = rss_per_turn[-1] - rss_per_turn[0]
    stats = [s for s in recording.stats if s.generated_tokens > 1]  # not priming runs
    if stats:
        result.llm_first_token_s = statistics.median(s.first_token_s for s in stats)
        result.llm_tokens_per_s = statistics.median(s.tokens_per_s for s in stats)
        prompt = sum(s.prompt_tokens for s in stats)
        result.llm_reused_share = sum(s.reused_tokens for s in stats) / prompt if prompt else 0.0

    progress("Naive pipeline on the same turns…")
    naive = _naive_turns(records, options, transcriber, tone, speaker, chat)
    result.naive_latency = Distribution.of([n.total_s for n in naive])
    if naive:
        for part in ("silence_wait_s", "stt_s", "tone_s", "llm_s", "tts_s"):
            result.naive_parts[part] = statistics.median(getattr(n, part) for n in naive)
    stt_rtf = [
        n.stt_s / (w.size / SAMPLE_RATE) for n, w in zip(naive, _naive_audio(records), strict=False)
    ]
    result.stt_rtf = {"tiny.en": statistics.median(stt_rtf) if stt_rtf else 0.0}
    firsts = []
    from calmline.tts import split_sentences

    for _name, record, _w in records:
        for turn in record.turns:
            if turn.speaker == "customer" and turn.text:
                t0 = time.perf_counter()
                speaker.synthesize(split_sentences(turn.text)[0], "customer")
                firsts.append(time.perf_counter() - t0)
    result.tts_first_audio_s = statistics.median(firsts) if firsts else 0.0
    if result.turn_latency.n and result.naive_latency.n:
        result.ratio = result.turn_latency.median / result.naive_latency.median

    progress("Timing the evaluator…")
    from calmline.evaluate.evaluator import assess
    from calmline.rubric import load_rubrics

    rubrics = load_rubrics(None)
    t0 = time.perf_counter()
    assess(records[0][1], rubrics, None, tone_reader=tone)
    result.evaluator_s = time.perf_counter() - t0
    result.rss_peak_mb = max(result.rss_peak_mb, rss_mb()[1])
    result.machine["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def _streaming_call(
    name: str,
    turns: list[AudioArray],
    customer: Any,
    tone: Any,
    speaker: Any,
    transcriber: Any,
    out: Path,
    barge: set[int],
    rss_per_turn: list[float],
) -> tuple[SessionRecord, int, list[float]]:
    from rich.console import Console

    from calmline.practice import Collaborators, PracticeCall, PracticeOptions
    from calmline.scenario import load_scenario
    from calmline.view import CallView

    clock = RealClock()
    mic = SimulatedMic(clock)
    sink = SimulatedSink(clock)
    live = LiveInput(transcriber, mic, clock=clock.now, source="simulated")
    learner = SimulatedLearner(live, mic, sink, turns, barge_in=barge)
    original = learner.next_utterance

    def next_utterance(phase: str) -> LearnerUtterance | None:
        rss_per_turn.append(rss_mb()[0])
        return original(phase)

    learner.next_utterance = next_utterance  # type: ignore[method-assign]  # rss per turn
    parts = Collaborators(customer=customer, tone=tone, speaker=speaker, sink=sink)
    view = CallView(console=Console(file=open(os.devnull, "w")))  # noqa: SIM115
    call = PracticeCall(
        load_scenario(name),
        parts,
        learner,
        PracticeOptions(out=out, max_turns=len(turns), debrief=False, assess=False),
        view,
    )
    try:
        record = call.run().record
    finally:
        mic.close()
        live.close()
    stops = []
    if barge and sink.stops and len(learner.spoken) > min(barge):
        start = learner.spoken[min(barge)].speech_start_at
        if start is not None:
            stops.append(sink.stops[0] - start)
    return record, len(learner.utterances), stops


def _naive_audio(records: list[tuple[str, SessionRecord, list[AudioArray]]]) -> list[AudioArray]:
    return [w for _n, _r, wavs in records for w in wavs]


def _naive_turns(
    records: list[tuple[str, SessionRecord, list[AudioArray]]],
    options: BenchOptions,
    transcriber: Any,
    tone: Any,
    speaker: Any,
    chat: ChatModel,
) -> list[NaiveTurn]:
    from calmline.customer import Customer
    from calmline.models import AngerState
    from calmline.scenario import load_scenario

    out: list[NaiveTurn] = []
    for name, record, wavs in records:
        customer = Customer(load_scenario(name), chat, seed=options.seed)
        learner_turns = [i for i, t in enumerate(record.turns) if t.speaker == "learner"]
        for k, (index, audio) in enumerate(zip(learner_turns, wavs, strict=False)):
            if len(out) >= options.naive_turns:
                return out
            wait = naive_silence_wait(audio)
            t0 = time.perf_counter()
            text = transcriber.transcribe(audio).text
            t1 = time.perf_counter()
            context = next(
                (t.text for t in reversed(record.turns[:index]) if t.speaker == "customer"), None
            )
            reading = tone.read(text, context=context)
            t2 = time.perf_counter()
            turn = record.turns[index]
            state = AngerState(
                anger=turn.anger.after if turn.anger else (record.start_anger or 50.0), turns=k + 1
            )
            line = customer.respond(record.turns[: index + 1], state, reading)
            t3 = time.perf_counter()
            speaker.synthesize(line.text, "customer")
            t4 = time.perf_counter()
            out.append(NaiveTurn(wait, t1 - t0, t2 - t1, t3 - t2, t4 - t3))
    return out
