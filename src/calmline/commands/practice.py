"""Subcommands ``practice`` (one call) and ``demo`` (an unattended call, synthesised learner)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import typer

from calmline.cli import app
from calmline.config import environment
from calmline.errors import CalmlineError

if TYPE_CHECKING:
    from calmline.call.factory import BackendChoice
from calmline.paths import recordings_dir

DEFAULT_SCENARIO = "kettle-counter"


def _backend_options(
    llm: str,
    model: str | None,
    base_url: str | None,
    api_key: str | None,
    stt_model: str,
    stt_device: str,
    tts: str,
    seed: int | None,
    fallback: bool = True,
    llm_timeout: float = 30.0,
    lines: str = "auto",
    stt: str | None = None,
    stt_url: str | None = None,
) -> BackendChoice:
    from calmline.call.factory import BackendChoice, LinesChoice
    from calmline.customer.character import LINE_SOURCES

    choices = ("auto", *LINE_SOURCES)
    if lines not in choices:
        raise CalmlineError(f"unknown --lines {lines!r}", f"use --lines {', '.join(choices)}")
    if llm not in {"local", "openai"}:
        raise CalmlineError(f"unknown --llm {llm!r}", "use --llm local or --llm openai")
    stt = stt or ("openai" if stt_url or environment().stt_url else "local")
    if stt not in {"local", "openai"}:
        raise CalmlineError(f"unknown --stt {stt!r}", "use --stt local or --stt openai")
    return BackendChoice(
        llm=cast(Literal["local", "openai"], llm),
        llm_model=model,
        base_url=base_url,
        api_key=api_key,
        stt_model=stt_model,
        stt_device=stt_device,
        tts=tts,
        seed=seed,
        fallback=fallback,
        llm_timeout=llm_timeout,
        lines=cast(LinesChoice, lines),
        stt=cast(Literal["local", "openai"], stt),
        stt_url=stt_url,
    )


@app.command()
def practice(
    files: list[Path] = typer.Argument(
        None, help="Audio files, one learner turn each (with --audio).", show_default=False
    ),
    scenario: str = typer.Option(
        DEFAULT_SCENARIO, "--scenario", "-s", help="Scenario pack (see `calmline scenarios`)."
    ),
    difficulty: str = typer.Option(
        None,
        "--difficulty",
        help="easy, standard or hard: how touchy, forgiving and patient the customer is "
        "[default: the pack's].",
    ),
    input_mode: str = typer.Option(
        None, "--input", help="mic (default when a microphone exists) or text."
    ),
    script: Path = typer.Option(
        None,
        "--script",
        help="Text file: one learner turn per line; '--- debrief ---' starts the debrief answers.",
    ),
    audio: bool = typer.Option(
        False, "--audio", help="Take learner turns from the audio FILES given as arguments."
    ),
    debrief_audio: list[Path] = typer.Option(
        None, "--debrief-audio", help="Audio file answering a debrief question (repeat)."
    ),
    out: Path = typer.Option(
        None, "--out", help="Folder for session folders [default: recordings/]."
    ),
    speak: bool = typer.Option(
        None,
        "--speak/--no-speak",
        help="Play the customer through the speakers [default: if an output device exists].",
    ),
    exam: bool = typer.Option(
        False, "--exam", help="Exam mode: hide the anger meter and tone tags."
    ),
    max_turns: int = typer.Option(
        12, "--max-turns", min=1, max=200, help="End the call after this many learner turns."
    ),
    debrief: bool = typer.Option(
        True,
        "--debrief/--no-debrief",
        help="Ask the examiner's reflective questions after the call.",
    ),
    assess: bool = typer.Option(
        True, "--assess/--no-assess", help="Mark the call and give spoken and written feedback."
    ),
    learner: str = typer.Option(None, "--learner", help="Your user name, for the dashboard."),
    json_out: bool = typer.Option(
        False, "--json", help="Print the session path and a summary as one JSON object."
    ),
    llm: str = typer.Option(
        "local", "--llm", help="local (bundled model) or openai (OPENAI_BASE_URL endpoint)."
    ),
    model: str = typer.Option(
        None,
        "--model",
        help="LLM name for --llm openai, or a bundled name / .gguf for local [env CALMLINE_MODEL].",
    ),
    base_url: str = typer.Option(
        None, "--base-url", help="OpenAI-compatible endpoint [env OPENAI_BASE_URL]."
    ),
    api_key: str = typer.Option(None, "--api-key", help="API key [env OPENAI_API_KEY]."),
    stt_model: str = typer.Option(
        "tiny.en",
        "--stt-model",
        help="tiny.en (bundled), base, small, or a model directory; with --stt openai, the "
        "model name sent (default there: CALMLINE_STT_MODEL or whisper-1).",
    ),
    stt_device: str = typer.Option("cpu", "--stt-device", help="cpu or cuda."),
    stt: str = typer.Option(
        None,
        "--stt",
        help="Speech to text: local (faster-whisper in process) or openai (an OpenAI-compatible "
        "/v1/audio/transcriptions endpoint); default: openai if CALMLINE_STT_URL is set.",
    ),
    stt_url: str = typer.Option(
        None,
        "--stt-url",
        help="Speech-to-text endpoint, e.g. http://HOST:PORT/v1 (or set CALMLINE_STT_URL).",
    ),
    tts: str = typer.Option("espeak", "--tts", help="espeak (espeak-ng directly) or pyttsx3."),
    input_device: str = typer.Option(
        None, "--input-device", help="Microphone index or name (see `calmline devices`)."
    ),
    output_device: str = typer.Option(None, "--output-device", help="Speaker index or name."),
    min_silence_ms: int = typer.Option(
        600, "--min-silence-ms", min=100, max=5000, help="Silence that ends your turn (mic)."
    ),
    end_of_turn: str = typer.Option(
        "fixed",
        "--end-of-turn",
        help="When your spoken turn ends (mic): fixed (after --min-silence-ms of silence) or "
        "adaptive (from your words and voice at each pause: about 250 ms after a finished "
        "sentence or question, 1 s after a trailing 'and', 'so' or 'um', else "
        "--min-silence-ms).",
    ),
    push_to_talk: bool = typer.Option(
        False, "--push-to-talk", help="Press Enter to start each spoken turn (noisy rooms)."
    ),
    seed: int = typer.Option(
        None, "--seed", help="Seed for the customer's sampling (repeatable calls)."
    ),
    fallback: bool = typer.Option(
        True,
        "--fallback/--no-fallback",
        help="With --llm openai: let the bundled model answer while the endpoint fails.",
    ),
    llm_timeout: float = typer.Option(
        30.0, "--llm-timeout", min=1, help="Seconds before an endpoint request is retried."
    ),
    upload: str = typer.Option(
        None,
        "--upload",
        help="After the call, send the session to this dashboard (calmline serve) with your "
        "upload token (CALMLINE_UPLOAD_TOKEN); if that fails it is queued for "
        "`calmline upload URL`.",
    ),
    upload_token: str = typer.Option(
        None, "--upload-token", help="Your upload token (or set CALMLINE_UPLOAD_TOKEN)."
    ),
    lines: str = typer.Option(
        "auto",
        "--lines",
        help="Customer lines: generated (the model says every line the checks pass), "
        "authored-first (the pack's reply to your move when it has one, else the model), "
        "authored (the pack's lines only) or auto (authored with the bundled models, "
        "whose own lines are rarely in character; generated with --llm openai).",
    ),
) -> None:
    """Run one practice call with a difficult customer, then the debrief and feedback."""
    from calmline.commands.calling import CallRequest, check_end_of_turn, run_call

    if difficulty is not None and difficulty not in ("easy", "standard", "hard"):
        raise CalmlineError(
            f"unknown --difficulty {difficulty!r}", "use --difficulty easy, standard or hard"
        )
    check_end_of_turn(end_of_turn)
    choice = _backend_options(
        llm,
        model,
        base_url,
        api_key,
        stt_model,
        stt_device,
        tts,
        seed,
        fallback,
        llm_timeout,
        lines,
        stt,
        stt_url,
    )
    if upload:  # checked before the call, not after the learner has done it
        from calmline.commands.upload import upload_token as _token
        from calmline.upload.client import server_url

        upload, upload_token = server_url(upload), _token(upload_token)
    run_call(
        CallRequest(
            scenario_name=scenario,
            choice=choice,
            out=out or recordings_dir(),
            difficulty=difficulty,
            input_mode=input_mode,
            script=script,
            audio_files=list(files or []) if audio else None,
            stray_files=[] if audio else list(files or []),
            debrief_audio=list(debrief_audio or []),
            speak=speak,
            exam=exam,
            max_turns=max_turns,
            debrief=debrief,
            assess=assess,
            learner=learner,
            json_out=json_out,
            input_device=input_device,
            output_device=output_device,
            min_silence_ms=min_silence_ms,
            end_of_turn=end_of_turn,
            push_to_talk=push_to_talk,
            upload_url=upload or None,
            upload_token=upload_token if upload else None,
        )
    )


@app.command()
def demo(
    scenario: str = typer.Option(
        DEFAULT_SCENARIO, "--scenario", "-s", help="Scenario pack to demonstrate."
    ),
    poor: bool = typer.Option(
        False, "--poor", help="Use the pack's poorly handled learner script instead."
    ),
    out: Path = typer.Option(
        None, "--out", help="Folder for session folders [default: recordings/]."
    ),
    speak: bool = typer.Option(
        None, "--speak/--no-speak", help="Play audio [default: if an output device exists]."
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Print the session path and a summary as one JSON object."
    ),
    llm: str = typer.Option("local", "--llm", help="local (bundled model) or openai."),
    seed: int = typer.Option(7, "--seed", help="Seed for the customer's sampling."),
) -> None:
    """Run an unattended practice call with a synthesised learner.

    The pack's learner script is spoken by espeak-ng, the real speech-to-text hears it,
    the customer answers, then come the debrief questions, the marking and the feedback.
    """
    from calmline.call.demo import synthesise_learner
    from calmline.commands.calling import CallRequest, run_call

    choice = _backend_options(llm, None, None, None, "tiny.en", "cpu", "espeak", seed)
    with tempfile.TemporaryDirectory(prefix="calmline-demo-") as tmp:
        call_files, debrief_files = synthesise_learner(scenario, Path(tmp), poor=poor)
        run_call(
            CallRequest(
                scenario_name=scenario,
                choice=choice,
                out=out or recordings_dir(),
                audio_files=call_files,
                debrief_audio=debrief_files,
                speak=speak,
                max_turns=len(call_files) + 1,
                learner="demo",
                json_out=json_out,
            )
        )
