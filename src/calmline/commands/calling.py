"""Turns the ``practice`` / ``demo`` options into a running call and prints where it was saved."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from calmline.call.factory import (
    BackendChoice,
    Warmable,
    build_collaborators,
    load_transcriber,
    warm_models,
)
from calmline.call.inputs import (
    AudioFilesInput,
    LearnerInput,
    MicInput,
    ScriptInput,
    TypedInput,
)
from calmline.call.practice import Player, PracticeCall, PracticeOptions, PracticeResult
from calmline.call.view import CallView
from calmline.errors import CalmlineError
from calmline.protocols import AudioArray

if TYPE_CHECKING:
    from calmline.speech.end_of_turn import EndOfTurnPolicy


@dataclass
class CallRequest:
    """Everything ``practice`` and ``demo`` ask of one call (``calmline practice --help``)."""

    scenario_name: str
    choice: BackendChoice
    out: Path
    difficulty: str | None = None  # --difficulty: instead of the pack's
    input_mode: str | None = None
    script: Path | None = None
    audio_files: list[Path] | None = None  # --audio given: one learner turn per file
    stray_files: list[Path] = field(default_factory=list)  # FILES given without --audio
    debrief_audio: list[Path] = field(default_factory=list)
    speak: bool | None = None  # None: speak if an output device exists
    exam: bool = False
    max_turns: int = 12
    debrief: bool = True
    assess: bool = True
    learner: str | None = None
    json_out: bool = False
    input_device: str | None = None
    output_device: str | None = None
    min_silence_ms: int = 600
    end_of_turn: str = "fixed"  # --end-of-turn: fixed (min_silence_ms) or adaptive
    push_to_talk: bool = False
    upload_url: str | None = None  # --upload: send the finished session to calmline serve
    upload_token: str | None = None


def _pick_input(req: CallRequest, view: CallView) -> LearnerInput:
    if req.stray_files:
        raise CalmlineError(
            f"unexpected argument {req.stray_files[0]}",
            "to use audio files as learner turns, add --audio: "
            "calmline practice --audio a.wav b.wav",
        )
    chosen = [
        name
        for name, on in (("--script", req.script), ("--audio", req.audio_files is not None))
        if on
    ]
    if req.input_mode:
        chosen.append(f"--input {req.input_mode}")
    if len(chosen) > 1:
        raise CalmlineError(f"choose one learner input, not {' and '.join(chosen)}")
    if req.script is not None:
        return ScriptInput.from_file(req.script)
    if req.audio_files is not None:
        if not req.audio_files:
            raise CalmlineError(
                "--audio needs at least one audio file", "calmline practice --audio a.wav b.wav"
            )
        with view.waiting("Loading speech-to-text…"):
            transcriber = load_transcriber(req.choice)
            if isinstance(transcriber, Warmable):  # a model server: is it there?
                transcriber.warm()
        return AudioFilesInput(req.audio_files, transcriber, debrief=req.debrief_audio)
    mode = req.input_mode or _default_input_mode()
    if mode == "text":
        return TypedInput(view.ask)
    if mode != "mic":
        raise CalmlineError(f"unknown --input {mode!r}", "use --input mic or --input text")
    from calmline.speech import devices

    device = devices.resolve_device(req.input_device, kind="input")
    with view.waiting("Loading speech-to-text…"):
        transcriber = load_transcriber(req.choice)
        warm_models(transcriber)
        policy = end_of_turn_policy(req.end_of_turn, req.min_silence_ms)

    def wait_for_enter() -> None:
        view.ask("press Enter, then speak")

    def stream() -> Iterator[AudioArray]:
        with devices.MicStream(device.index) as mic:
            yield from mic

    return MicInput(
        transcriber,
        stream,
        min_silence_ms=req.min_silence_ms,
        push_to_talk=wait_for_enter if req.push_to_talk else None,
        end_of_turn=policy,
    )


def check_end_of_turn(mode: str) -> None:
    """``--end-of-turn`` is ``fixed`` or ``adaptive``; checked before anything loads."""
    if mode not in ("fixed", "adaptive"):
        raise CalmlineError(
            f"unknown --end-of-turn {mode!r}", "use --end-of-turn fixed or --end-of-turn adaptive"
        )


def end_of_turn_policy(mode: str, min_silence_ms: int) -> EndOfTurnPolicy | None:
    """``--end-of-turn``: None for the fixed wait, or the adaptive policy, warmed.

    When the policy is unsure it waits ``min_silence_ms``, as the fixed wait does, and
    after an unfinished thought never less. Warmed here (one decision, which loads
    MiniLM) so that the learner's first pause does not wait for the model to load.
    """
    check_end_of_turn(mode)
    if mode == "fixed":
        return None
    from calmline.speech.end_of_turn import LONG_MS, EndOfTurnPolicy

    policy = EndOfTurnPolicy(default_ms=min_silence_ms, long_ms=max(LONG_MS, min_silence_ms))
    policy.decide("Hello, how can I help?")
    return policy


def _default_input_mode() -> str:
    from calmline.speech import devices

    if devices.default_input_available():
        return "mic"
    if sys.stdin.isatty():
        return "text"
    raise CalmlineError(
        "no microphone found and no terminal to type in",
        "use --input text, --script FILE or --audio FILES",
    )


def _player(speak: bool | None, output_device: str | None) -> Player | None:
    from calmline.speech import devices

    if speak is False:
        return None
    if speak is None and not devices.default_output_available():
        return None
    device = devices.resolve_device(output_device, kind="output")

    def play(audio: AudioArray, rate: int) -> object:
        # Non-blocking: the playback sink waits on the handle, and stops it on barge-in.
        return devices.play(audio, rate, device.index, block=False)

    return play


def run_call(req: CallRequest) -> PracticeResult:
    from calmline.call.memory import tune_malloc
    from calmline.customer.scenario import load_scenario

    view = CallView(exam=req.exam, quiet=req.json_out)
    scenario = load_scenario(req.scenario_name)
    if req.difficulty is not None:
        scenario = scenario.model_copy(update={"difficulty": req.difficulty})
    learner_input = _pick_input(req, view)
    player = _player(req.speak, req.output_device)
    with view.waiting("Loading the customer, tone reader and voices…"):
        parts = build_collaborators(scenario, req.choice, player=player)
    options = PracticeOptions(
        out=req.out,
        max_turns=req.max_turns,
        debrief=req.debrief,
        assess=req.assess,
        exam=req.exam,
        learner=req.learner,
    )
    tune_malloc()  # threads come and go all call long: see calmline.call.memory
    result = PracticeCall(scenario, parts, learner_input, options, view).run()
    _report(result, view, req.json_out)
    if req.upload_url and req.upload_token:
        _upload(result, req)
    return result


def _upload(result: PracticeResult, req: CallRequest) -> None:
    """Send the session to the dashboard; a failure leaves it queued, and the call (saved
    already) still counts as done: a warning, not an error."""
    from calmline.cli import err_console
    from calmline.commands.upload import send_folders

    assert req.upload_url is not None and req.upload_token is not None
    try:
        send_folders(req.upload_url, [result.folder], req.upload_token, req.out, quiet=True)
    except CalmlineError as exc:
        err_console.print(f"calmline: warning: {exc.message}", markup=False, soft_wrap=True)


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
