"""Text to speech: the ``Synthesizer``s (espeak-ng binary, pyttsx3) and named voices.

The only module that imports pyttsx3 (inside its worker process). Speakers return
samples rather than playing them, so the same audio is saved with the session and
played by ``devices.play``.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calmline.errors import CalmlineError
from calmline.protocols import AudioArray, Synthesizer
from calmline.speech.audio import parse_wav_bytes, read_wav
from calmline.text import SPOKEN
from calmline.text import split_sentences as text_sentences

ESPEAK_HINT = "run `make demo`, or install it: apt-get install espeak-ng"


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice: language+variant, speed in words per minute, pitch 0-99."""

    espeak: str
    rate_wpm: int
    pitch: int


# Distinct enough to tell apart by ear: the customer low and slow, the coach higher
# and brisker, the learner (the demo's synthetic speaker) a third, American voice.
VOICES: dict[str, Voice] = {
    "customer": Voice("en-gb+m3", rate_wpm=150, pitch=30),
    "coach": Voice("en-gb+f3", rate_wpm=165, pitch=75),
    "learner": Voice("en-us+m1", rate_wpm=170, pitch=50),
}


def voice_for(name: str) -> Voice:
    """A named role voice, or any raw espeak-ng voice spec such as ``en-us+f2``."""
    if name in VOICES:
        return VOICES[name]
    if not re.fullmatch(r"[A-Za-z0-9_\-]+(\+[A-Za-z0-9_\-]+)?", name):
        raise CalmlineError(
            f"unknown voice {name!r}",
            f"use one of {', '.join(VOICES)} or an espeak-ng voice such as en-us+f2",
        )
    return Voice(name, rate_wpm=165, pitch=50)


def split_sentences(text: str) -> list[str]:
    """Split text into sentences for sentence-by-sentence synthesis.

    Speaking the first sentence while the rest is still being generated is what
    keeps the customer's reply prompt; common abbreviations (Mr., e.g.) do not split.
    """
    return text_sentences(text, SPOKEN)


class EspeakSpeaker:
    """Drives the espeak-ng binary directly: ``--stdout`` WAV bytes, parsed in memory."""

    name = "espeak-ng"

    def __init__(self, executable: str | None = None, timeout_s: float = 30.0) -> None:
        exe = executable or shutil.which("espeak-ng")
        if exe is None:
            raise CalmlineError("espeak-ng is not installed", ESPEAK_HINT)
        self.executable = exe
        self.timeout_s = timeout_s

    def synthesize(self, text: str, voice: str = "customer") -> tuple[AudioArray, int]:
        v = voice_for(voice)
        if not text.strip():
            return np.zeros(0, dtype=np.float32), 22_050
        # Text goes in on stdin, never argv: a line starting with "-" stays text.
        cmd = [self.executable, "-v", v.espeak, "-s", str(v.rate_wpm), "-p", str(v.pitch)]
        try:
            done = subprocess.run(
                [*cmd, "--stdout", "--stdin"],
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise CalmlineError(
                f"espeak-ng took over {self.timeout_s:.0f} s", "try a shorter line"
            ) from exc
        except OSError as exc:
            raise CalmlineError(f"cannot run espeak-ng: {exc}", ESPEAK_HINT) from exc
        if done.returncode != 0 or not done.stdout:
            lines = done.stderr.decode(errors="replace").strip().splitlines()
            detail = lines[0] if lines else f"exit code {done.returncode}"
            raise CalmlineError(
                f"espeak-ng failed for voice {v.espeak}: {detail}",
                "check the voice with `espeak-ng --voices=en`",
            )
        return parse_wav_bytes(done.stdout)


def _pyttsx3_worker(text: str, voice: Voice, out_path: str, conn: object) -> None:
    """Runs in a fresh process: one pyttsx3 engine, one file, then exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # the espeak driver prints "Audio saved to ..." on stdout
        import pyttsx3

        engine = pyttsx3.init("espeak")
        engine.setProperty("voice", voice.espeak)
        engine.setProperty("rate", voice.rate_wpm)
        engine.setProperty("pitch", voice.pitch)
        engine.save_to_file(text, out_path)
        engine.runAndWait()
        conn.send("")  # type: ignore[attr-defined]  # multiprocessing Connection
    except Exception as exc:  # reported to the parent as one line
        conn.send(f"{type(exc).__name__}: {exc}")  # type: ignore[attr-defined]


EMPTY_FILE_ATTEMPTS = 2


class Pyttsx3Speaker:
    """pyttsx3 (espeak driver) writing a WAV file, in a dedicated process per utterance.

    pyttsx3's ``runAndWait`` is known to hang or go silent when an engine is reused
    (pyttsx3 issues #126, #131, #403), and a hang inside our own process could not
    be interrupted. A fresh spawned process per call, killed after ``timeout_s``,
    turns a hang into a clear error instead of a frozen call.
    """

    name = "pyttsx3"

    def __init__(self, timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s
        # "spawn", not fork: the parent may hold ONNX / CTranslate2 threads that a
        # forked child would inherit in a locked state.
        self._context = multiprocessing.get_context("spawn")

    def synthesize(self, text: str, voice: str = "customer") -> tuple[AudioArray, int]:
        v = voice_for(voice)
        if not text.strip():
            return np.zeros(0, dtype=np.float32), 22_050
        with tempfile.TemporaryDirectory(prefix="calmline-tts-") as tmp:
            out = Path(tmp) / "speech.wav"
            # pyttsx3's espeak driver now and then ends runAndWait with the file still
            # empty (pyttsx3 issue #142): a fresh worker gets it right the second time.
            for _attempt in range(EMPTY_FILE_ATTEMPTS):
                error = self._run_worker(text, v, out)
                if error or (out.is_file() and out.stat().st_size > 44):
                    break
            if error or not out.is_file() or out.stat().st_size <= 44:
                raise CalmlineError(
                    f"pyttsx3 produced no audio ({error or 'empty file'})",
                    "use --tts espeak (the default), or check `espeak-ng --version`",
                )
            return read_wav(out)

    def _run_worker(self, text: str, v: Voice, out: Path) -> str:
        """One worker process writes ``out``; its error, or "" when it said none."""
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_pyttsx3_worker, args=(text, v, str(out), send), daemon=True
        )
        process.start()
        send.close()
        process.join(self.timeout_s)
        if process.is_alive():
            process.kill()
            process.join()
            raise CalmlineError(
                f"pyttsx3 did not finish within {self.timeout_s:.0f} s",
                "use --tts espeak (the default)",
            )
        error = receive.recv() if receive.poll() else f"worker exit code {process.exitcode}"
        receive.close()
        return str(error)


SPEAKERS = ("espeak", "pyttsx3")


def load_speaker(name: str = "espeak") -> Synthesizer:
    """The text-to-speech engine by name: ``espeak`` (default, espeak-ng binary) or ``pyttsx3``."""
    if name == "espeak":
        return EspeakSpeaker()
    if name == "pyttsx3":
        if shutil.which("espeak-ng") is None and shutil.which("espeak") is None:
            raise CalmlineError("pyttsx3 needs espeak-ng, which is not installed", ESPEAK_HINT)
        return Pyttsx3Speaker()
    raise CalmlineError(f"unknown TTS engine {name!r}", f"use one of: {', '.join(SPEAKERS)}")
