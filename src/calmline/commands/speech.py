"""Subcommands about speech: ``calmline transcribe`` and ``calmline devices``."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from calmline.cli import app
from calmline.errors import CalmlineError

_status = Console(stderr=True, highlight=False)  # spinners on stderr keep --json stdout clean


class Device(StrEnum):
    cpu = "cpu"
    cuda = "cuda"


FilesArg = Annotated[
    list[Path], typer.Argument(help="Audio files (WAV, FLAC, MP3, OGG, any sample rate).")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON: text, segments and word timings per file.")
]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model", "-m", help="tiny.en (bundled), base, small, or a faster-whisper model directory."
    ),
]
DeviceOpt = Annotated[Device, typer.Option("--device", help="Run Whisper on cpu or cuda.")]
SttOpt = Annotated[
    str | None,
    typer.Option(
        "--stt",
        help="local (faster-whisper in process) or openai (an OpenAI-compatible "
        "/v1/audio/transcriptions endpoint); default: openai if CALMLINE_STT_URL is set.",
    ),
]
SttUrlOpt = Annotated[
    str | None,
    typer.Option("--stt-url", help="Speech-to-text endpoint, e.g. http://HOST:PORT/v1."),
]


@app.command()
def transcribe(
    files: FilesArg,
    as_json: JsonOpt = False,
    model: ModelOpt = "tiny.en",
    device: DeviceOpt = Device.cpu,
    stt: SttOpt = None,
    stt_url: SttUrlOpt = None,
) -> None:
    """Transcribe audio files with faster-whisper (offline), or through a speech-to-text
    endpoint with --stt openai; prints the text of each file."""
    from calmline.limits import audio_too_long, limits
    from calmline.speech.audio import audio_duration

    # Check every file before the model loads: a typo should not cost a model load.
    longest = limits().audio_s
    for path in files:
        seconds = audio_duration(path)
        if seconds is not None and seconds > longest:
            hours = int(seconds // 3600) + 1
            raise audio_too_long(
                path,
                seconds,
                longest,
                "a recording to transcribe",
                f"split it, or raise the limit: CALMLINE_MAX_AUDIO_HOURS={hours}",
            )

    from calmline.config import environment
    from calmline.speech.recovery import clock
    from calmline.speech.remote_stt import RemoteTranscriber, load_remote_transcriber
    from calmline.speech.stt import WhisperTranscriber

    stt = stt or ("openai" if stt_url or environment().stt_url else "local")
    if stt not in ("local", "openai"):
        raise CalmlineError(f"unknown --stt {stt!r}", "use --stt local or --stt openai")
    transcriber: WhisperTranscriber | RemoteTranscriber
    if stt == "openai":
        transcriber = load_remote_transcriber(stt_url, None if model == "tiny.en" else model)
    else:
        with _status.status(f"Loading Whisper {model}…", spinner="dots"):
            transcriber = WhisperTranscriber(model, device=device.value)

    results = []
    for path in files:
        with _status.status(f"Transcribing {path.name}…", spinner="dots"):
            result = transcriber.transcribe_file(path)
        results.append((path, result))
        if result.unrecovered:
            lost = sum(s.end - s.start for s in result.unrecovered)
            where = ", ".join(
                f"{clock(s.start)}-{clock(s.end)}" for s in result.unrecovered[:5]
            ) + (" ..." if len(result.unrecovered) > 5 else "")
            _status.print(
                f"calmline: warning: {path}: {lost:.0f} s of speech gave no words even when "
                f"read again ({where}); the transcript may be missing what was said there",
                markup=False,
                soft_wrap=True,
            )
        if not as_json:
            if len(files) > 1:
                typer.echo(f"== {path}")
            typer.echo(result.text or "(no speech)")
    if as_json:
        payload = [{"file": str(path), **result.model_dump()} for path, result in results]
        typer.echo(json.dumps(payload if len(files) > 1 else payload[0], indent=2))


@app.command()
def devices() -> None:
    """List audio input and output devices.

    Exits 1 after printing "no audio devices found" when there are none (0 otherwise).
    """
    from calmline.speech.devices import list_devices

    rows = list_devices()
    if not rows:
        typer.echo("no audio devices found (typed, scripted and file input still work)")
        raise typer.Exit(1)
    table = Table("index", "name", "host API", "in", "out", "rate (Hz)", "default")
    for d in rows:
        default = ", ".join(
            kind
            for kind, flag in (("input", d.is_default_input), ("output", d.is_default_output))
            if flag
        )
        table.add_row(
            str(d.index),
            d.name,
            d.hostapi,
            str(d.max_input_channels),
            str(d.max_output_channels),
            f"{d.default_samplerate:.0f}",
            default,
        )
    Console().print(table)
