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

import itertools
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from calmline.bench.sim_mic import SimulatedMic, speech_bounds
from calmline.call.inputs import LearnerUtterance, LiveEvent, LiveInput, next_turn
from calmline.config import environment
from calmline.models import SessionRecord
from calmline.protocols import SAMPLE_RATE, AudioArray, ChatMessage, ChatModel, GenerationOptions
from calmline.speech.clock import RealClock
from calmline.speech.output import SimulatedSink
from calmline.speech.vad import EndpointOptions, iter_utterances

if TYPE_CHECKING:
    from calmline.bench.end_of_turn import EndOfTurnRun
    from calmline.customer.character import LineSource

NAIVE_SILENCE_MS = 1000


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """Resident and peak resident memory in MB of this process, or of process ``pid``
    (/proc/PID/status)."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = float(rest.split()[0]) / 1024
    except OSError:  # not Linux: report zeros rather than fail the benchmark
        pass
    return values["VmRSS"], values["VmHWM"]


def settled_rss_mb() -> float:
    """Resident memory after a garbage collection and ``malloc_trim``: what is really held.

    Read between turns to tell a plateau from a leak; without this the reading swings
    by tens of MB with garbage not yet collected and free pages not yet returned.
    """
    import gc

    from calmline.call.memory import release_free_memory

    gc.collect()
    release_free_memory()
    return rss_mb()[0]


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
    """A ``LiveLearnerInput`` that speaks the next WAV into a ``SimulatedMic`` when it is its turn.

    Each turn's utterance is queued when the loop asks for it (the customer has
    finished), as a person answering would. A turn listed in ``barge_in`` is instead
    spoken ``barge_in_after_s`` after the first sample of the customer's previous
    reply, over the customer. ``on_turn`` is called as each turn starts (the
    benchmark reads the memory there).
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
        on_turn: Callable[[int], None] = lambda _index: None,
    ) -> None:
        self.live, self.mic, self.sink = live, mic, sink
        self._turns = list(turns)
        self._next = 0
        self._in_turn = False
        self._barge_in = barge_in or set()
        self._after = barge_in_after_s
        self._on_turn = on_turn
        self.utterances: list[LearnerUtterance] = []
        self.spoken: list[Any] = []

    def speech_started_after(self, t: float) -> float | None:
        return self.live.speech_started_after(t)

    def set_cut_in(self, seconds: float | None) -> None:
        self.live.set_cut_in(seconds)

    def next_utterance(self, phase: str) -> LearnerUtterance | None:
        return next_turn(self, phase)

    def next_event(self, phase: str) -> LiveEvent | None:
        if phase != "call":
            return None
        if not self._in_turn:
            if self._next >= len(self._turns):
                return None
            self._start_turn()
        event = self.live.next_event(phase)
        if event is None or isinstance(event, LearnerUtterance):
            self._in_turn = False
        if isinstance(event, LearnerUtterance):
            said = self.spoken[-1] if self.spoken else None
            if said is not None and said.speech_end_at is not None and event.decided_at is not None:
                event.latency["speech_end_to_decision"] = event.decided_at - said.speech_end_at
            self.utterances.append(event)
        return event

    def _start_turn(self) -> None:
        index = self._next
        self._next += 1
        self._in_turn = True
        self._on_turn(index)
        if index not in self._barge_in:
            self.spoken.append(self.mic.say(self._turns[index]))
        if index + 1 in self._barge_in and index + 1 < len(self._turns):
            self._schedule_barge_in(index + 1)

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
    rss_before_mb: float = 0.0  # before the first turn
    rss_per_turn_mb: list[float] = field(default_factory=list)  # after each turn's reply
    rss_growth_after_10_mb: float | None = None  # from turn 10 to the last (plateau or leak)
    speculation: dict[str, int] = field(default_factory=dict)  # started, confirmed, discarded
    per_turn: list[dict[str, Any]] = field(default_factory=list)  # see ``turn_details``
    turns: int = 0
    end_of_turn: EndOfTurnRun | None = None  # fixed against adaptive, on paused turns
    turn_latency_adaptive: Distribution | None = None  # the same turns, adaptive wait
    decision_to_audio_adaptive: Distribution | None = None

    def rss_at(self, turn: int) -> float | None:
        """RSS in MB after ``turn`` (1-based), if the run got that far."""
        return self.rss_per_turn_mb[turn - 1] if 0 < turn <= len(self.rss_per_turn_mb) else None

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
        "llm_threads": str(environment().llm_threads or os.cpu_count()),
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


def _distributions(
    records: list[tuple[str, SessionRecord, list[AudioArray]]],
) -> tuple[Distribution, Distribution]:
    """Speech end -> first audio, and decision -> first audio, over every call's turns."""
    total: list[float] = []
    decision: list[float] = []
    for _name, record, _w in records:
        t, d = latencies(record)
        total += t
        decision += d
    return Distribution.of(total), Distribution.of(decision)


def turn_details(record: SessionRecord) -> list[dict[str, Any]]:
    """Per learner turn and its reply: where the time went (seconds), for ``--json``."""
    out: list[dict[str, Any]] = []
    turns = record.turns
    for turn, reply in itertools.pairwise(turns):
        if turn.speaker != "learner" or reply.speaker != "customer":
            continue
        row: dict[str, Any] = {"scenario": record.scenario, "reply_source": reply.source}
        for key in ("speech_end_to_decision", "end_of_turn_to_text", "tone"):
            if key in turn.latency:
                row[key] = round(turn.latency[key], 3)
        for key in ("reply_ahead_of_decision", "first_sentence", "end_of_turn_to_first_audio"):
            if key in reply.latency:
                row[key] = round(reply.latency[key], 3)
        out.append(row)
    return out


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
        speculative: start replies at the learner's phrase pauses, as live practice does.
        lines: where the customer's lines come from (``CustomerOptions.lines``):
            ``generated`` times the model; ``authored`` is what practice uses offline
            with the bundled models (``--lines auto``).
        end_of_turn_turns: turns with a mid-turn pause streamed through the fixed and
            the adaptive end of turn (``calmline.bench.end_of_turn``); 0 skips it.
        adaptive_pass: stream the same turns again with the adaptive end of turn, for
            its speech end -> first reply audio beside the fixed wait's.
    """

    turns: int = 30
    naive_turns: int = 12
    scenarios: list[str] = field(default_factory=list)
    barge_in: bool = True
    seed: int = 7
    speculative: bool = True
    lines: LineSource = "generated"
    end_of_turn_turns: int = 18
    adaptive_pass: bool = True


def run_bench(options: BenchOptions, progress: Progress = lambda _m: None) -> BenchResult:
    """Load everything once, run the streaming calls, then the naive pipeline; measure."""
    from calmline.call.factory import BackendChoice, load_llm, load_transcriber
    from calmline.customer.scenario import list_scenarios, load_scenario
    from calmline.speech.tts import load_speaker
    from calmline.tone.reader import load_tone_reader

    result = BenchResult(machine=machine_info())
    result.machine["lines"] = options.lines
    result.machine["speculative"] = options.speculative
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
    from calmline.call.factory import warm_models

    timed_load("warm", lambda: warm_models(transcriber, chat, tone, speaker))
    # Silero (the endpointers' model) loads on first use: +40 MB, counted with the models
    # rather than as growth during the first turn.
    timed_load("vad", _warm_vad)
    result.load_s = timed
    result.rss_loaded_mb = rss_mb()[0]

    names = options.scenarios or [s.id for s in list_scenarios()]
    scripts = [(name, list(load_scenario(name).learner_script_good)) for name in names]
    progress("Synthesising the learner's turns…")
    spoken = {
        name: [speaker.synthesize(line, "learner") for line in lines] for name, lines in scripts
    }
    from calmline.speech.audio import resample

    wavs = {name: [resample(a, r) for a, r in items] for name, items in spoken.items()}

    recording = RecordingChatModel(chat)
    streamed = _stream_calls(
        options, scripts, wavs, recording, tone, speaker, transcriber, progress
    )
    records, rss_per_turn, speculation = streamed.records, streamed.rss, streamed.speculation
    result.turns = streamed.turns
    result.barge_in_stop_s = [round(s, 3) for s in streamed.barge_stops]
    result.turn_latency, result.decision_to_audio = _distributions(records)
    for _name, record, _w in records:
        result.per_turn += turn_details(record)
    result.speculation = speculation
    rss_per_turn.append(settled_rss_mb())  # after the last turn
    result.rss_peak_mb = rss_mb()[1]
    memory_curve(result, rss_per_turn)
    stats = [s for s in recording.stats if s.generated_tokens > 1]  # not priming runs
    if stats:
        result.llm_first_token_s = statistics.median(s.first_token_s for s in stats)
        result.llm_tokens_per_s = statistics.median(s.tokens_per_s for s in stats)
        prompt = sum(s.prompt_tokens for s in stats)
        result.llm_reused_share = sum(s.reused_tokens for s in stats) / prompt if prompt else 0.0
    if options.adaptive_pass:
        from calmline.speech.end_of_turn import EndOfTurnPolicy

        adaptive = _stream_calls(
            options, scripts, wavs, recording, tone, speaker, transcriber, progress,
            end_of_turn=EndOfTurnPolicy(),
        )  # fmt: skip
        result.turn_latency_adaptive, result.decision_to_audio_adaptive = _distributions(
            adaptive.records
        )

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
    from calmline.speech.tts import split_sentences

    for _name, record, _w in records:
        for turn in record.turns:
            if turn.speaker == "customer" and turn.text:
                t0 = time.perf_counter()
                speaker.synthesize(split_sentences(turn.text)[0], "customer")
                firsts.append(time.perf_counter() - t0)
    result.tts_first_audio_s = statistics.median(firsts) if firsts else 0.0
    if result.turn_latency.n and result.naive_latency.n:
        result.ratio = result.turn_latency.median / result.naive_latency.median

    if options.end_of_turn_turns:
        from calmline.bench.end_of_turn import HELD_OUT_PACKS, paused_turns, run_end_of_turn

        progress("End of turn: synthesising turns with a mid-turn pause…")
        packs = [load_scenario(name) for name in HELD_OUT_PACKS]
        held_out = [
            line for p in packs for line in (*p.learner_script_good, *p.learner_script_poor)
        ]
        paused = paused_turns(held_out, seed=options.seed)[: options.end_of_turn_turns]
        result.end_of_turn = run_end_of_turn(paused, transcriber, progress=progress)

    progress("Timing the evaluator…")
    from calmline.evaluate.evaluator import assess
    from calmline.evaluate.rubric import load_rubrics

    rubrics = load_rubrics(None)
    t0 = time.perf_counter()
    assess(records[0][1], rubrics, None, tone_reader=tone)
    result.evaluator_s = time.perf_counter() - t0
    result.rss_peak_mb = max(result.rss_peak_mb, rss_mb()[1])
    result.machine["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def _warm_vad() -> None:
    from calmline.speech.vad import Endpointer

    Endpointer().feed(np.zeros(SAMPLE_RATE // 10, np.float32))


def memory_curve(result: BenchResult, rss: list[float]) -> None:
    """RSS after every turn, growth over the run and from turn 10 on.

    ``rss`` was read as each turn started, and once after the last: the reading at the
    start of turn k+1 is the memory after turn k's reply.
    """
    if len(rss) < 2:
        return
    result.rss_before_mb = rss[0]
    result.rss_per_turn_mb = [round(x, 1) for x in rss[1:]]
    result.rss_growth_mb = rss[-1] - rss[0]
    after_10 = result.rss_at(10)
    if after_10 is not None and len(result.rss_per_turn_mb) > 10:
        result.rss_growth_after_10_mb = rss[-1] - after_10


@dataclass
class _Streamed:
    """What one pass of streaming calls over the learner scripts gave."""

    records: list[tuple[str, SessionRecord, list[AudioArray]]]
    turns: int
    rss: list[float]  # before each turn
    barge_stops: list[float]
    speculation: dict[str, int]


def _stream_calls(
    options: BenchOptions,
    scripts: list[tuple[str, list[str]]],
    wavs: dict[str, list[AudioArray]],
    recording: Any,
    tone: Any,
    speaker: Any,
    transcriber: Any,
    progress: Progress,
    end_of_turn: Any = None,
) -> _Streamed:
    """The packs' learner turns, call after call until ``options.turns``, in real time.

    ``end_of_turn``: an ``EndOfTurnPolicy`` for the adaptive wait (the fixed 600 ms when
    None; the barge-in turn is only in the fixed pass).
    """
    from calmline.customer.character import Customer, CustomerOptions
    from calmline.customer.scenario import load_scenario

    records: list[tuple[str, SessionRecord, list[AudioArray]]] = []
    rss_per_turn: list[float] = []  # before each turn, then once after the last
    barge_stops: list[float] = []
    speculation = {"started": 0, "confirmed": 0, "discarded": 0, "discarded_generating": 0}
    done = 0
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="calmline-bench-"))
    for round_ in range(100):
        for name, _lines in scripts:
            if done >= options.turns:
                break
            want = min(len(wavs[name]), options.turns - done)
            first = round_ == 0 and not records and want > 3
            barge = {2} if options.barge_in and end_of_turn is None and first else set()
            wait = "fixed wait" if end_of_turn is None else "adaptive end of turn"
            progress(
                f"Streaming call {len(records) + 1} ({wait}): {name} ({done}/{options.turns} turns)"
            )
            record, used, stops, spec = _streaming_call(
                name,
                wavs[name][:want],
                Customer(
                    load_scenario(name),
                    recording,
                    CustomerOptions(stream_early=True, lines=options.lines),
                    seed=options.seed + round_,
                ),
                tone,
                speaker,
                transcriber,
                out,
                barge,
                rss_per_turn,
                options.speculative,
                end_of_turn,
            )
            barge_stops.extend(stops)
            for key in speculation:
                speculation[key] += getattr(spec, key)
            records.append((name, record, wavs[name][:used]))
            done += used
        if done >= options.turns:
            break
    return _Streamed(records, done, rss_per_turn, barge_stops, speculation)


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
    speculative: bool,
    end_of_turn: Any = None,
) -> tuple[SessionRecord, int, list[float], Any]:
    from rich.console import Console

    from calmline.call.memory import tune_malloc
    from calmline.call.practice import Collaborators, PracticeCall, PracticeOptions
    from calmline.call.view import CallView
    from calmline.customer.scenario import load_scenario

    clock = RealClock()
    mic = SimulatedMic(clock)
    sink = SimulatedSink(clock)
    live = LiveInput(transcriber, mic, clock=clock.now, source="simulated", end_of_turn=end_of_turn)
    learner = SimulatedLearner(
        live,
        mic,
        sink,
        turns,
        barge_in=barge,
        on_turn=lambda _i: rss_per_turn.append(settled_rss_mb()),
    )
    parts = Collaborators(customer=customer, tone=tone, speaker=speaker, sink=sink)
    view = CallView(console=Console(file=open(os.devnull, "w")))  # noqa: SIM115
    tune_malloc()  # as `calmline practice` does before its call: see calmline.call.memory
    call = PracticeCall(
        load_scenario(name),
        parts,
        learner,
        PracticeOptions(
            out=out,
            max_turns=len(turns),
            debrief=False,
            assess=False,
            speculative=speculative,
        ),
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
    return record, len(learner.utterances), stops, call.speculation


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
    from calmline.customer.character import Customer
    from calmline.customer.scenario import load_scenario
    from calmline.models import AngerState

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
