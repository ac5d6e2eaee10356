"""Device selection, microphone chunks and playback, against a scripted PortAudio stand-in.

This machine has no audio hardware, so a fake ``sounddevice`` module plays PortAudio's
part here; ``test_cli_speech`` covers the real library on a device-less machine.
"""

from __future__ import annotations

import sys
import threading
import types
from typing import Any

import numpy as np
import pytest

from calmline.errors import CalmlineError

DEVICES = [
    {"name": "HDA Intel: Headset Mic", "hostapi": 0, "max_input_channels": 1,
     "max_output_channels": 0, "default_samplerate": 48000.0},
    {"name": "HDA Intel: Speakers", "hostapi": 0, "max_input_channels": 0,
     "max_output_channels": 2, "default_samplerate": 48000.0},
    {"name": "USB Headset", "hostapi": 0, "max_input_channels": 1,
     "max_output_channels": 2, "default_samplerate": 44100.0},
]  # fmt: skip


class FakeStream:
    """Calls the callback from a thread, like PortAudio, with a scripted signal."""

    signal: Any = None  # function(n_samples_so_far, frames) -> float32 block

    def __init__(self, samplerate: float, blocksize: int = 480, callback: Any = None,
                 finished_callback: Any = None, **_: Any) -> None:  # fmt: skip
        self.samplerate, self.blocksize, self.callback = samplerate, blocksize or 480, callback
        self.finished_callback = finished_callback
        self._stop = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        done = 0
        while not self._stop.wait(0.001):
            block = np.zeros((self.blocksize, 1), np.float32)
            if FakeStream.signal is not None:  # input: the "microphone" fills the block
                block[:, 0] = FakeStream.signal(done, self.blocksize)
            try:
                self.callback(block, self.blocksize, None, None)
            except fake_sd.CallbackStop:
                break
            done += self.blocksize
        if self.finished_callback:
            self.finished_callback()

    def stop(self) -> None:
        self._stop.set()

    abort = stop

    def close(self) -> None:
        self._stop.set()


fake_sd = types.SimpleNamespace(
    PortAudioError=type("PortAudioError", (Exception,), {}),
    CallbackStop=type("CallbackStop", (Exception,), {}),
    query_devices=lambda: DEVICES,
    query_hostapis=lambda: [{"name": "ALSA"}],
    default=types.SimpleNamespace(device=[0, 1]),
    InputStream=FakeStream,
    OutputStream=FakeStream,
)


def _check_input(device: int, samplerate: int, channels: int) -> None:
    raise fake_sd.PortAudioError("Invalid sample rate")  # devices here only run at 44.1/48 kHz


fake_sd.check_input_settings = _check_input


@pytest.fixture(autouse=True)
def fake_portaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sd)
    FakeStream.signal = None


def test_resolve_by_default_index_and_name() -> None:
    from calmline.speech.devices import default_input_available, resolve_device

    assert resolve_device(None, "input").name == "HDA Intel: Headset Mic"
    assert resolve_device(None, "output").name == "HDA Intel: Speakers"
    assert resolve_device("2", "input").name == "USB Headset"
    assert resolve_device("usb", "output").index == 2
    assert default_input_available()


def test_wrong_device_lists_the_choices() -> None:
    from calmline.speech.devices import resolve_device

    with pytest.raises(CalmlineError, match="no input device matches 'bluetooth'") as info:
        resolve_device("bluetooth", "input")
    assert "0: HDA Intel: Headset Mic" in info.value.hint
    with pytest.raises(CalmlineError, match="no output device with index 0"):
        resolve_device(0, "output")  # index 0 is input-only
    with pytest.raises(CalmlineError, match="2 input devices match"):
        resolve_device("h", "input")


def test_mic_chunks_arrive_at_16k() -> None:
    from calmline.speech.devices import MicStream

    def tone(done: int, frames: int) -> np.ndarray:
        t = (done + np.arange(frames)) / 48_000
        return (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)

    FakeStream.signal = tone
    with MicStream() as mic:
        assert mic.rate == 48_000
        chunks = []
        for chunk in mic:
            chunks.append(chunk)
            if sum(c.size for c in chunks) >= 16_000:
                break
    audio = np.concatenate(chunks)
    assert audio.dtype == np.float32 and abs(np.abs(audio[2000:]).max() - 0.3) < 0.02
    # At 16 kHz the 200 Hz tone is a period every 80 samples (48 kHz passed through
    # would put it at 600 Hz): its spectrum peaks at 200 Hz read at 16 000 samples a second.
    steady = audio[2000:]
    spectrum = np.abs(np.fft.rfft(steady * np.hanning(steady.size)))
    peak_hz = np.fft.rfftfreq(steady.size, 1 / 16_000)[spectrum.argmax()]
    assert peak_hz == pytest.approx(200, abs=5)


def test_mic_delivering_only_zeros_is_reported() -> None:
    from calmline.speech.devices import MicStream

    FakeStream.signal = lambda done, frames: np.zeros(frames, np.float32)
    with MicStream(dead_after_s=0.2) as mic, pytest.raises(CalmlineError, match="only silence"):
        for _ in mic:
            pass


def test_playback_stops_on_barge_in() -> None:
    from calmline.speech.devices import play

    playback = play(np.full(48_000 * 60, 0.1, np.float32), 48_000)  # a minute of audio
    playback.stop()
    # Playback ends without playing the minute out (30 s is only a hang guard: how soon
    # the stream's thread runs depends on the machine's load, not on calmline).
    assert playback.stopped and playback.wait(30)
    assert playback.position_s < 60


def test_short_playback_finishes() -> None:
    from calmline.speech.devices import play

    playback = play(np.zeros(4_800, np.float32), 48_000, device="speakers", block=True)
    assert not playback.stopped and playback.position_s == pytest.approx(0.1)
