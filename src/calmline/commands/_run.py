"""Turns the ``practice`` / ``demo`` options into a running call and prints where it was saved."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from calmline.errors import CalmlineError
from calmline.factory import BackendChoice, build_collaborators, load_transcriber, warm_models
from calmline.learner_input import (
    AudioFilesInput,
    LearnerInput,
    MicInput,
    ScriptInput,
    TypedInput,
)
from calmline.practice import Player, PracticeCall, PracticeOptions, PracticeResult
from calmline.protocols import AudioArray
from calmline.view import CallView


def _pick_input(
    *,
    input_mode: str | None,
    script: Path | None,
    audio_files: list[Path] | None,
    stray_files: list[Path],
    debrief_audio: list[Path],
    choice: BackendChoice,
    view: CallView,
    input_device: str | None,
    min_silence_ms: int,
    push_to_talk: bool,
) -> LearnerInput:
    if stray_files:
        raise CalmlineError(
            f"unexpected argument {stray_files[0]}",
            "to use audio files as learner turns, add --audio: "
            "calmline practice --audio a.wav b.wav",
        )
    chosen = [
        name for name, on in (("--script", script), ("--audio", audio_files is not None)) if on
    ]
    if input_mode:
        chosen.append(f"--input {input_mode}")
    if len(chosen) > 1:
        raise CalmlineError(f"choose one learner input, not {' and '.join(chosen)}")
    if script is not None:
        return ScriptInput.from_file(script)
    if audio_files is not None:
        if not audio_files:
            raise CalmlineError(
                "--audio needs at least one audio file", "calmline practice --audio a.wav b.wav"
            )
        with view.waiting("Loading speech-to-text…"):
            transcriber = load_transcriber(choice)
        return AudioFilesInput(audio_files, transcriber, debrief=debrief_audio)
    mode = input_mode or _default_input_mode()
    if mode == "text":
        return TypedInput(view.ask)
    if mode != "mic":
        raise CalmlineError(f"unknown --input {mode!r}", "use --input mic or --input text")
    from calmline import devices

    device = devices.resolve_device(input_device, kind="input")
    with view.waiting("Loading speech-to-text…"):
        transcriber = load_transcriber(choice)
        warm_models(transcriber)

    def wait_for_enter() -> None:
        view.ask("press Enter, then speak")

    def stream() -> Iterator[AudioArray]:
        with devices.MicStream(device.index) as mic:
            yield from mic

    return MicInput(
        transcriber,
        stream,
        min_silence_ms=min_silence_ms,
        push_to_talk=wait_for_enter if push_to_talk else None,
    )


def _default_input_mode() -> str:
    from calmline import devices

    if devices.default_input_available():
        return "mic"
    if sys.stdin.isatty():
        return "text"
    raise CalmlineError(
        "no microphone found and no terminal to type in",
        "use --input text, --script FILE or --audio FILES",
    )


def _player(speak: bool | None, output_device: str | None) -> Player | None:
    from calmline import devices

    if speak is False:
        return None
    if speak is None and not devices.default_output_available():
        return None
    device = devices.resolve_device(output_device, kind="output")

    def play(audio: AudioArray, rate: int) -> object:
        # Non-blocking: the playback sink waits on the handle, and stops it on barge-in.
        return devices.play(audio, rate, device.index, block=False)

    return play


def run_call(
    *,
    scenario_name: str,
    choice: BackendChoice,
    input_mode: str | None,
    script: Path | None,
    audio_files: list[Path] | None,
    stray_files: list[Path],
    debrief_audio: list[Path],
    out: Path,
    speak: bool | None,
    exam: bool,
    max_turns: int,
    debrief: bool,
    assess: bool,
    learner: str | None,
    json_out: bool,
    input_device: str | None,
    output_device: str | None,
    min_silence_ms: int,
    push_to_talk: bool,
) -> PracticeResult:
    from calmline.scenario import load_scenario

    view = CallView(exam=exam, quiet=json_out)
    scenario = load_scenario(scenario_name)
    learner_input = _pick_input(
        input_mode=input_mode,
        script=script,
        audio_files=audio_files,
        stray_files=stray_files,
        debrief_audio=debrief_audio,
        choice=choice,
        view=view,
        input_device=input_device,
        min_silence_ms=min_silence_ms,
        push_to_talk=push_to_talk,
    )
    player = _player(speak, output_device)
    with view.waiting("Loading the customer, tone reader and voices…"):
        parts = build_collaborators(scenario, choice, player=player)
    call = PracticeCall(
        scenario,
        parts,
        learner_input,
        PracticeOptions(
            out=out, max_turns=max_turns, debrief=debrief, assess=assess, exam=exam, learner=learner
        ),
        view,
    )
    result = call.run()
    _report(result, view, json_out)
    return result


def _report(result: PracticeResult, view: CallView, json_out: bool) -> None:
    record = result.record
    summary = {
        "session": str(result.folder),
        "id": record.id,
        "scenario": record.scenario,
        "outcome": record.outcome,
        "start_anger": record.start_anger,
        "final_anger": record.final_anger,
        "turns": len(record.turns),
        "learner_turns": len(record.learner_turns("call")),
        "assessments": [
            {
                "rubric": a.rubric_id,
                "score": round(a.score, 3),
                "passed": a.passed,
                "verdicts": {v.point_id: v.verdict for v in a.verdicts},
            }
            for a in result.assessments
        ],
        "reports": [str(p) for p in result.reports],
    }
    if json_out:
        print(json.dumps(summary))
        return
    view.console.rule()
    view.console.print(
        f"Outcome: [bold]{record.outcome}[/bold]; "
        f"anger {record.start_anger:.0f} → {record.final_anger:.0f}"
    )
    for a in result.assessments:
        mark = "[green]PASS[/green]" if a.passed else "[red]not yet[/red]"
        view.console.print(f"{a.rubric_title or a.rubric_id}: {a.score:.0%} {mark}")
    view.console.print(f"Session saved in [bold]{result.folder}[/bold]")
