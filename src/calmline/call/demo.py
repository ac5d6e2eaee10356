"""The unattended demo learner: a pack's learner script spoken by espeak-ng into WAV files.

The files then go through the same speech-to-text path as a microphone would, so the
demo exercises the real pipeline on a machine with no audio devices.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from calmline.customer.scenario import load_scenario
from calmline.paths import prompts_dir
from calmline.speech.audio import write_wav
from calmline.speech.tts import load_speaker


def demo_debrief_answers(poor: bool) -> list[str]:
    """The demo learner's answers to the debrief questions (``prompts/demo_debrief.yaml``)."""
    data = yaml.safe_load((prompts_dir() / "demo_debrief.yaml").read_text(encoding="utf-8"))
    return list(data["poor" if poor else "good"])


def synthesise_learner(
    scenario: str, folder: Path, *, poor: bool = False
) -> tuple[list[Path], list[Path]]:
    """Speak the learner's call turns and debrief answers into ``folder``; return both lists."""
    pack = load_scenario(scenario)
    lines = pack.learner_script_poor if poor else pack.learner_script_good
    speaker = load_speaker("espeak")

    def speak_all(texts: list[str], prefix: str) -> list[Path]:
        paths = []
        for i, text in enumerate(texts, start=1):
            audio, rate = speaker.synthesize(text, "learner")
            path = folder / f"{prefix}-{i:02d}.wav"
            write_wav(path, audio, rate)
            paths.append(path)
        return paths

    return speak_all(list(lines), "call"), speak_all(demo_debrief_answers(poor), "debrief")
