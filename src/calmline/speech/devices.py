"""Audio devices at the edge: listing, choosing, microphone input and playback.

The only module that imports sounddevice (PortAudio). Its import is deferred and
guarded, so a machine without PortAudio can still use typed, scripted and file
input; only asking for a device raises, with the install hint.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import numpy as np

from calmline.errors import CalmlineError
from calmline.protocols import SAMPLE_RATE, AudioArray
from calmline.speech.audio import Resampler

Kind = Literal["input", "output"]
NO_INPUT_HINT = "use --input text, --script FILE or --audio FILES"
NO_OUTPUT_HINT = "connect speakers or a headset; replies are still saved as WAV files"


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio is absent
        raise CalmlineError(
            "the PortAudio library is not installed, so audio devices cannot be used",
            "apt-get install libportaudio2 (macOS: brew install portaudio), or " + NO_INPUT_HINT,
        ) from exc
    return sounddevice


@dataclass(frozen=True)
class DeviceInfo:
    """One audio device as PortAudio reports it."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool = False
    is_default_output: bool = False

    def supports(self, kind: Kind) -> bool:
        channels = self.max_input_channels if kind == "input" else self.max_output_channels
        return channels > 0


def list_devices() -> list[DeviceInfo]:
    """All devices; an empty list when PortAudio finds none (a headless server)."""
    sd = _sounddevice()
    try:
        raw = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except sd.PortAudioError:
        return []
    rows = []
    for index, dev in enumerate(raw):
        rows.append(
            DeviceInfo(
                index=index,
                name=str(dev["name"]),
                hostapi=str(hostapis[dev["hostapi"]]["name"]),
                max_input_channels=int(dev["max_input_channels"]),
                max_output_channels=int(dev["max_output_channels"]),
                default_samplerate=float(dev["default_samplerate"]),
                is_default_input=index == default_in,
                is_default_output=index == default_out,
            )
        )
    return rows


def resolve_device(spec: int | str | None = None, kind: Kind = "input") -> DeviceInfo:
    """Pick a device by index, by case-insensitive name substring, or the default (None)."""
    candidates = [d for d in list_devices() if d.supports(kind)]
    hint = NO_INPUT_HINT if kind == "input" else NO_OUTPUT_HINT
    if not candidates:
        raise CalmlineError(f"no {kind} device found", hint)
    if spec is None or str(spec).strip() == "":
        for dev in candidates:
            if dev.is_default_input if kind == "input" else dev.is_default_output:
                return dev
        return candidates[0]  # PortAudio reports no default: the first usable one
    text = str(spec).strip()
    if text.isdigit():
        for dev in candidates:
            if dev.index == int(text):
                return dev
        raise CalmlineError(f"no {kind} device with index {text}", _choices(candidates))
    matches = [d for d in candidates if text.lower() in d.name.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CalmlineError(f"no {kind} device matches {text!r}", _choices(candidates))
    raise CalmlineError(
        f"{len(matches)} {kind} devices match {text!r}: be more specific", _choices(matches)
    )


def _choices(devices: list[DeviceInfo]) -> str:
    listed = "; ".join(f"{d.index}: {d.name}" for d in devices[:6])
    return f"choose one of {listed} (see `calmline devices`)"


def default_input_available() -> bool:
    """True when a microphone can be opened without asking which."""
    return _default_available("input")


def default_output_available() -> bool:
    """True when speakers can be opened without asking which."""
    return _default_available("output")


def _default_available(kind: Kind) -> bool:
    try:
        resolve_device(None, kind)
    except CalmlineError:
        return False
    return True


class MicStream:
    """A microphone as a context manager yielding 16 kHz mono float32 chunks.

    PortAudio fills a bounded queue from its own thread; iteration resamples to
    16 kHz when the device runs at another rate. A device that delivers only exact
    zeros for ``dead_after_s`` is muted or blocked by the OS, which users otherwise
    take for calmline "not hearing" them, so that raises a ``CalmlineError``.
    """

    def __init__(
        self,
        device: int | str | None = None,
        chunk_ms: int = 30,
        dead_after_s: float = 2.0,
        max_queue_s: float = 10.0,
    ) -> None:
        self.device = resolve_device(device, "input")
        self.chunk_ms = chunk_ms
        self.dead_after_s = dead_after_s
        self.dropped_chunks = 0  # chunks lost because the consumer fell behind
        self._queue: queue.Queue[np.ndarray] = queue.Queue(
            maxsize=max(1, int(max_queue_s * 1000 / chunk_ms))
        )
        self._stream: Any = None
        self.rate = SAMPLE_RATE

    def __enter__(self) -> MicStream:
        sd = _sounddevice()
        # Prefer 16 kHz from the device itself; many only run at 44.1/48 kHz.
        try:
            sd.check_input_settings(device=self.device.index, samplerate=SAMPLE_RATE, channels=1)
            self.rate = SAMPLE_RATE
        except sd.PortAudioError:
            self.rate = int(self.device.default_samplerate)
        self._resampler = Resampler(self.rate, SAMPLE_RATE)
        try:
            self._stream = sd.InputStream(
                device=self.device.index,
                channels=1,
                samplerate=self.rate,
                dtype="float32",
                blocksize=int(self.rate * self.chunk_ms / 1000),
                callback=self._callback,
            )
            self._stream.start()
        except sd.PortAudioError as exc:
            raise CalmlineError(
                f"cannot open input device {self.device.name!r}: {exc}", NO_INPUT_HINT
            ) from exc
        return self

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        try:
            self._queue.put_nowait(indata[:, 0].copy())
        except queue.Full:
            self.dropped_chunks += 1  # never block PortAudio's thread

    def __iter__(self) -> Iterator[AudioArray]:
        zeros_since: float | None = None
        while self._stream is not None:
            try:
                chunk = self._queue.get(timeout=self.dead_after_s)
            except queue.Empty as exc:
                raise CalmlineError(
                    f"input device {self.device.name!r} stopped delivering audio", NO_INPUT_HINT
                ) from exc
            if np.any(chunk):
                zeros_since = None
            else:
                zeros_since = zeros_since or time.monotonic()
                if time.monotonic() - zeros_since >= self.dead_after_s:
                    raise CalmlineError(
                        f"input device {self.device.name!r} delivers only silence (all zeros)",
                        "check it is not muted and that this program may use the microphone, "
                        "or pick another with `calmline devices`",
                    )
            out = self._resampler.process(chunk)
            if out.size:
                yield out

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Playback:
    """Audio playing in the background; ``stop()`` cuts it off (barge-in)."""

    def __init__(self, audio: AudioArray, sample_rate: int, device: DeviceInfo) -> None:
        sd = self._sd = _sounddevice()
        self._audio = np.ascontiguousarray(audio, dtype=np.float32)
        self._pos = 0
        self._done = threading.Event()
        self._closed = False
        self.stopped = False
        try:
            self._stream = sd.OutputStream(
                device=device.index,
                channels=1,
                samplerate=sample_rate,
                dtype="float32",
                callback=self._callback,
                finished_callback=self._done.set,
            )
            self._stream.start()
        except sd.PortAudioError as exc:
            raise CalmlineError(f"cannot play on {device.name!r}: {exc}", NO_OUTPUT_HINT) from exc

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        chunk = self._audio[self._pos : self._pos + frames]
        outdata[: chunk.size, 0] = chunk
        outdata[chunk.size :, 0] = 0.0
        self._pos += frames
        if self._pos >= self._audio.size:
            raise self._sd.CallbackStop

    @property
    def position_s(self) -> float:
        """Seconds played so far: where the customer was cut off, after a barge-in."""
        return min(self._pos, self._audio.size) / float(self._stream.samplerate)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until playback ends; False if it is still playing after ``timeout``."""
        finished = self._done.wait(timeout)
        if finished:
            self._close()
        return finished

    def stop(self) -> None:
        """Stop at once (the learner started talking over the customer)."""
        self.stopped = True
        if not self._closed:
            self._stream.abort()
        self._close()
        self._done.set()

    def _close(self) -> None:
        if not self._closed:  # PortAudio errors on closing a stream twice
            self._closed = True
            self._stream.close()


def play(
    audio: AudioArray, sample_rate: int, device: int | str | None = None, block: bool = False
) -> Playback:
    """Start playing ``audio`` on an output device; returns a handle with ``stop()``."""
    playback = Playback(audio, sample_rate, resolve_device(device, "output"))
    if block:
        playback.wait()
    return playback
