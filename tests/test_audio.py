"""Audio I/O: any common file becomes mono 16 kHz float32, and bad files fail clearly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from calmline.errors import CalmlineError
from calmline.speech.audio import (
    dbfs,
    is_silent,
    load_audio,
    parse_wav_bytes,
    read_wav,
    resample,
    write_wav,
)
from calmline.speech.voice import measure_voice


def sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)


def sine(freq: float, seconds: float, rate: int = 16_000, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(CalmlineError, match="not found") as info:
        load_audio(tmp_path / "nope.wav")
    assert "nope.wav" in info.value.message


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(CalmlineError, match="empty"):
        load_audio(empty)


def test_corrupt_file(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(np.random.default_rng(1).bytes(4000))
    with pytest.raises(CalmlineError, match="cannot decode") as info:
        load_audio(corrupt)
    assert "ffmpeg" in info.value.hint


def test_directory_is_not_audio(tmp_path: Path) -> None:
    with pytest.raises(CalmlineError, match="directory"):
        load_audio(tmp_path)


def test_wav_with_no_samples(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "zero.wav", np.zeros(0, np.float32))
    with pytest.raises(CalmlineError, match="no audio samples"):
        load_audio(path)


def test_stereo_44k_is_downmixed_and_resampled(tmp_path: Path) -> None:
    path = tmp_path / "stereo.wav"
    sox("-n", "-r", "44100", "-c", "2", str(path), "synth", "1.5", "sine", "440", "sine", "440")
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size - 24_000) <= 160  # 1.5 s at 16 kHz, give or take a resampler tail
    assert dbfs(audio) > -12  # both channels in phase: downmix keeps the level


def test_stereo_downmix_averages_channels(tmp_path: Path) -> None:
    mono, one_sided = tmp_path / "mono.wav", tmp_path / "left_only.wav"
    sox("-n", "-r", "16000", "-c", "1", str(mono), "synth", "1", "sine", "300", "vol", "0.5")
    sox(str(mono), "-c", "2", str(one_sided), "remix", "1", "0")  # right channel silent
    drop = dbfs(load_audio(mono)) - dbfs(load_audio(one_sided))
    assert abs(drop - 6.02) < 0.3  # mean of (x, 0) is x/2: -6 dB, not dropped or summed


def test_8k_file_keeps_its_pitch(tmp_path: Path) -> None:
    path = tmp_path / "phone.wav"
    sox("-n", "-r", "8000", "-c", "1", str(path), "synth", "2", "sine", "300")
    audio = load_audio(path)
    assert abs(audio.size - 32_000) <= 160
    pitch = measure_voice(audio, []).pitch_hz
    assert pitch is not None and abs(pitch - 300) < 3  # resampled at the right rate


def test_flac_decodes(tmp_path: Path) -> None:
    path = tmp_path / "tone.flac"
    sox("-n", "-r", "22050", str(path), "synth", "1", "sine", "200")
    assert abs(load_audio(path).size - 16_000) <= 160


def test_write_read_roundtrip_is_atomic_and_clips(tmp_path: Path) -> None:
    audio = sine(220, 0.5)
    audio[:10] = 1.7  # out of range: must clip, not wrap around to negative
    path = write_wav(tmp_path / "sub" / "turn.wav", audio)
    back, rate = read_wav(path)
    assert rate == 16_000 and back.size == audio.size
    assert np.all(back[:10] > 0.99)
    assert np.allclose(back[10:], audio[10:], atol=1e-4)
    write_wav(path, sine(440, 0.25))  # overwrite in place
    assert read_wav(path)[0].size == 4000
    assert sorted(p.name for p in path.parent.iterdir()) == ["turn.wav"]  # no temp left


def test_parse_streamed_espeak_wav(espeak: str) -> None:
    # espeak-ng --stdout writes placeholder chunk sizes: the parser must cope.
    data = subprocess.run([espeak, "--stdout", "hello there"], capture_output=True).stdout
    audio, rate = parse_wav_bytes(data)
    assert rate == 22_050 and audio.size > 10_000 and not is_silent(audio)


def test_parse_rejects_non_wav() -> None:
    with pytest.raises(CalmlineError, match="not a WAV"):
        parse_wav_bytes(b"ID3 this is an mp3")


def test_resample_keeps_duration_and_frequency() -> None:
    out = resample(sine(200, 1.0, rate=22_050), 22_050, 16_000)
    assert abs(out.size - 16_000) <= 32
    pitch = measure_voice(out, []).pitch_hz
    assert pitch is not None and abs(pitch - 200) < 2


def test_is_silent() -> None:
    assert is_silent(np.zeros(16_000, np.float32))
    assert is_silent(np.zeros(0, np.float32))
    assert not is_silent(sine(200, 1.0, amp=0.1))
    quiet_then_word = np.zeros(16_000 * 10, np.float32)
    quiet_then_word[50_000:54_000] = sine(200, 0.25, amp=0.2)
    assert not is_silent(quiet_then_word)  # one short word in a long recording is speech
