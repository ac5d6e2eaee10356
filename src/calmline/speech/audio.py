"""Audio I/O ends here: files in and out, WAV bytes, resampling, silence checks.

Everything after this module works on mono float32 arrays at ``SAMPLE_RATE`` (16 kHz),
as faster-whisper does, so decoding any format happens in exactly one place
(``load_audio``) and the rest of calmline never touches files or codecs.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from calmline.errors import CalmlineError
from calmline.files import regular_file
from calmline.io_errors import os_error
from calmline.protocols import SAMPLE_RATE, AudioArray

CONVERT_HINT = "use a WAV, FLAC, MP3 or OGG file, e.g. `ffmpeg -i IN -ac 1 -ar 16000 out.wav`"
SILENCE_DBFS = -50.0  # below this RMS level a recording is taken to hold no speech


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> AudioArray:
    """Decode any common audio file to mono float32 at ``sample_rate``.

    Stereo is downmixed and any input rate resampled (PyAV/FFmpeg through
    ``faster_whisper.decode_audio``). Raises ``CalmlineError`` for a missing, empty
    or undecodable file, naming the file, so the CLI can print one line.
    """
    file = check_audio_file(path)
    from faster_whisper.audio import decode_audio  # heavy import: only when decoding

    try:
        audio = decode_audio(str(file), sampling_rate=sample_rate)
    except Exception as exc:  # PyAV raises many error types for bad input; all mean "can't decode"
        raise _undecodable(file, exc) from exc
    if audio.size == 0:
        raise CalmlineError(f"audio file holds no audio samples: {file}", CONVERT_HINT)
    return np.ascontiguousarray(audio, dtype=np.float32)


def stream_audio(
    path: str | Path, sample_rate: int = SAMPLE_RATE, block_s: float = 30.0
) -> Iterator[AudioArray]:
    """Decode a file of any length as mono float32 blocks of about ``block_s`` seconds.

    ``load_audio`` holds the whole recording (230 MB an hour at 16 kHz, and
    ``decode_audio`` briefly twice that); this holds one block, so a two-hour file
    costs the same memory as a two-minute one. Errors are ``CalmlineError``s naming
    the file, as in ``load_audio``; a file with no samples at all is one too.
    """
    file = check_audio_file(path)
    import av

    block = max(1, int(block_s * sample_rate))
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    pending: list[AudioArray] = []
    held = total = 0
    try:
        with av.open(str(file), mode="r", metadata_errors="ignore") as container:
            for frame in _valid_frames(container.decode(audio=0)):
                frame.pts = None  # resample by sample count; broken timestamps do not matter
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray().reshape(-1).astype(np.float32))
                    held += pending[-1].size
                if held >= block:
                    total += held
                    yield np.concatenate(pending)
                    pending, held = [], 0
            pending += [
                f.to_ndarray().reshape(-1).astype(np.float32) for f in resampler.resample(None)
            ]
    except CalmlineError:
        raise
    except Exception as exc:  # PyAV raises many error types for bad input
        raise _undecodable(file, exc) from exc
    rest = np.concatenate(pending).astype(np.float32) if pending else np.zeros(0, np.float32)
    if total + rest.size == 0:
        raise CalmlineError(f"audio file holds no audio samples: {file}", CONVERT_HINT)
    if rest.size:
        yield rest


def _valid_frames(frames: Iterator[Any]) -> Iterator[Any]:
    """Skip frames FFmpeg flags as invalid (a damaged stretch), as faster-whisper does."""
    import av

    iterator = iter(frames)
    while True:
        try:
            yield next(iterator)
        except StopIteration:
            return
        except av.error.InvalidDataError:
            continue


def check_audio_file(path: str | Path) -> Path:
    """Cheap checks before decoding (exists, not empty, opens with an audio stream).

    The CLI runs these on every file before loading a model, so a typo costs nothing.
    """
    return _check(path)[0]


def audio_duration(path: str | Path) -> float | None:
    """The file's length in seconds from its header, without decoding (None if unstated)."""
    return _check(path)[1]


def _check(path: str | Path) -> tuple[Path, float | None]:
    file = Path(path)
    if not file.exists():
        raise CalmlineError(f"audio file not found: {file}", "check the path")
    # A directory, FIFO or device is refused before FFmpeg opens it (a FIFO would hang).
    if regular_file(file, "an audio file").st_size == 0:
        raise CalmlineError(f"audio file is empty: {file}", CONVERT_HINT)
    import av  # PyAV ships with faster-whisper

    try:  # opening reads only the header: cheap, and catches most corrupt files
        with av.open(str(file), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise CalmlineError(f"file has no audio stream: {file}", CONVERT_HINT)
            duration = container.duration / av.time_base if container.duration else None
    except CalmlineError:
        raise
    except Exception as exc:  # PyAV raises many error types; all mean "can't decode"
        raise _undecodable(file, exc) from exc
    return file, duration


def _undecodable(file: Path, exc: Exception) -> CalmlineError:
    # FFmpeg errors read "[Errno N] <reason>: '<path>'"; strerror is the readable part.
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return CalmlineError(f"cannot decode audio file {file}: {reason}", CONVERT_HINT)


def to_int16(audio: AudioArray) -> np.ndarray:
    """Float samples in [-1, 1] to 16-bit PCM, clipping rather than wrapping around."""
    return (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")


def write_wav(path: str | Path, audio: AudioArray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write mono 16-bit PCM WAV atomically (temp file in the same folder, then ``os.replace``).

    A crash mid-write leaves either the old file or none, never a truncated WAV that
    a later session review would choke on.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise os_error(exc, target) from exc
    try:
        with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(int(sample_rate))
            out.writeframes(to_int16(np.asarray(audio, dtype=np.float32)).tobytes())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # a full disk, a read-only mount: name the file
            raise os_error(exc, target) from exc
        raise
    return target


def read_wav(path: str | Path) -> tuple[AudioArray, int]:
    """Read a PCM WAV file as (mono float32, its own sample rate); no resampling."""
    file = Path(path)
    if not file.is_file():
        raise CalmlineError(f"WAV file not found: {file}", "check the path")
    try:
        return parse_wav_bytes(file.read_bytes())
    except CalmlineError as exc:
        raise CalmlineError(f"{exc.message}: {file}", exc.hint) from exc


def parse_wav_bytes(data: bytes) -> tuple[AudioArray, int]:
    """Parse PCM WAV bytes into (mono float32, sample rate).

    Written by hand rather than with ``wave`` because streamed WAV (``espeak-ng
    --stdout``) carries placeholder chunk sizes (0x7FFFF000): the data chunk is
    taken to run to the end of the bytes whenever its declared size overshoots.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise CalmlineError("not a WAV file", CONVERT_HINT)
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt = struct.unpack("<HHIIHH", data[body : body + 16])
        elif chunk_id == b"data":
            if fmt is None:
                raise CalmlineError("WAV data before its format chunk", CONVERT_HINT)
            return _pcm_to_float(data[body : min(body + size, len(data))], fmt)
        pos = body + size + (size & 1)  # chunks are word-aligned
    raise CalmlineError("WAV file has no audio data", CONVERT_HINT)


def _pcm_to_float(raw: bytes, fmt: tuple[int, ...]) -> tuple[AudioArray, int]:
    tag, channels, rate, _, _, bits = fmt
    width = bits // 8
    raw = raw[: len(raw) - len(raw) % (width * channels)]  # drop a torn final frame
    if tag == 3 and bits == 32:
        samples = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    elif tag in (1, 0xFFFE) and bits == 16:
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif tag in (1, 0xFFFE) and bits == 32:
        samples = (np.frombuffer(raw, dtype="<i4") / 2147483648.0).astype(np.float32)
    elif tag in (1, 0xFFFE) and bits == 8:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    else:
        raise CalmlineError(f"unsupported WAV encoding (format {tag}, {bits}-bit)", CONVERT_HINT)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return np.ascontiguousarray(samples, dtype=np.float32), int(rate)


class Resampler:
    """Stateful mono float32 resampler (FFmpeg's swresample through PyAV).

    Keeping one instance per stream avoids clicks at chunk edges, which a fresh
    resample of each microphone chunk would cause.
    """

    def __init__(self, from_rate: int, to_rate: int = SAMPLE_RATE) -> None:
        import av  # PyAV ships with faster-whisper; imported lazily to keep --help fast

        self.from_rate, self.to_rate = int(from_rate), int(to_rate)
        self._av = av
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=self.to_rate)
        self._pts = 0

    def process(self, audio: AudioArray) -> AudioArray:
        if self.from_rate == self.to_rate:
            return np.asarray(audio, dtype=np.float32)
        if audio.size == 0:
            return np.zeros(0, dtype=np.float32)
        frame = self._av.AudioFrame.from_ndarray(
            np.ascontiguousarray(audio, dtype=np.float32).reshape(1, -1),
            format="flt",
            layout="mono",
        )
        frame.sample_rate = self.from_rate
        frame.pts = self._pts
        self._pts += audio.size
        return self._collect(self._resampler.resample(frame))

    def flush(self) -> AudioArray:
        """Return the samples still held in the filter; call once at end of stream."""
        if self.from_rate == self.to_rate:
            return np.zeros(0, dtype=np.float32)
        return self._collect(self._resampler.resample(None))

    @staticmethod
    def _collect(frames: list[Any]) -> AudioArray:  # PyAV frames are untyped
        if not frames:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.float32)


def resample(audio: AudioArray, from_rate: int, to_rate: int = SAMPLE_RATE) -> AudioArray:
    """Resample a whole clip, e.g. espeak-ng's 22 050 Hz output to 16 kHz for Whisper."""
    if from_rate == to_rate:
        return np.asarray(audio, dtype=np.float32)
    resampler = Resampler(from_rate, to_rate)
    return np.concatenate([resampler.process(audio), resampler.flush()])


def dbfs(audio: AudioArray) -> float:
    """RMS level in dB relative to full scale; -100 for empty or digital silence."""
    if audio.size == 0:
        return -100.0
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return max(-100.0, 20.0 * np.log10(rms)) if rms > 0 else -100.0


def is_silent(audio: AudioArray, threshold_dbfs: float = SILENCE_DBFS) -> bool:
    """True when a clip is empty or even its loudest 30 ms stretch is below ``threshold_dbfs``.

    Judged on the loudest frame, not the whole-clip average, so one short word in a
    long quiet recording still counts as speech. Used before transcription because
    Whisper invents text ("Thank you.") for silence.
    """
    frame = SAMPLE_RATE * 30 // 1000
    if audio.size == 0:
        return True
    usable = audio[: audio.size - audio.size % frame] if audio.size >= frame else audio
    power = np.mean(np.square(usable.reshape(-1, min(frame, usable.size)), dtype=np.float64), 1)
    peak = float(power.max())
    return peak <= 0 or 10.0 * np.log10(peak) < threshold_dbfs
