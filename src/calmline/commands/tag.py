"""The ``calmline tag`` command: tone tags of learner lines, as JSON lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from calmline.cli import app, err_console
from calmline.errors import CalmlineError
from calmline.files import read_text
from calmline.limits import file_too_large, limits
from calmline.text_decode import decode_text

CHUNK = 256  # turns per embedding call; bigger inputs get a progress bar between chunks


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Objects ``{"id"?, "text", "context"?}``, one a line; the first bad line is an error."""
    if str(path) == "-":
        limit = limits().file_bytes
        data = sys.stdin.buffer.read(limit + 1)
        if len(data) > limit:
            raise file_too_large(
                Path("stdin"), "JSONL inputs", len(data), limit, "CALMLINE_MAX_FILE_MB"
            )
        lines = decode_text(data, "stdin").splitlines()
    else:
        lines = read_text(path, "a JSONL file").splitlines()
    items: list[dict[str, Any]] = []
    hint = 'each line must be a JSON object like {"id": "t1", "text": "...", "context": "..."}'
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CalmlineError(f"{path} line {number}: not valid JSON ({exc.msg})", hint) from exc
        except RecursionError:
            raise CalmlineError(f"{path} line {number}: JSON nested too deeply", hint) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise CalmlineError(f"{path} line {number}: needs a string field 'text'", hint)
        context = obj.get("context")
        if context is not None and not isinstance(context, str):
            raise CalmlineError(f"{path} line {number}: 'context' must be a string", hint)
        items.append({"id": obj.get("id", number), "text": obj["text"], "context": context})
    return items


@app.command()
def tag(
    text: Annotated[
        str | None, typer.Argument(help="A learner line to read (or use --jsonl).")
    ] = None,
    context: Annotated[
        str | None,
        typer.Option("--context", help="The customer line it answers (needed for paraphrase)."),
    ] = None,
    jsonl: Annotated[
        Path | None,
        typer.Option(
            "--jsonl",
            help='File of {"id", "text", "context"?} objects, one a line; "-" reads stdin.',
        ),
    ] = None,
    threshold: Annotated[
        float, typer.Option("--threshold", min=0.0, max=1.0, help="Show tags at or above this.")
    ] = 0.5,
) -> None:
    """Read the tone of learner lines: one JSON object a line with tags and direction."""
    if (text is None) == (jsonl is None):
        raise CalmlineError("give either TEXT or --jsonl FILE", "see `calmline tag --help`")
    items: list[dict[str, Any]] = (
        read_jsonl(jsonl)
        if jsonl is not None
        else [{"id": "text", "text": text, "context": context}]
    )
    from calmline.tone.reader import ToneInput, load_tone_reader

    with err_console.status("loading the tone model", spinner="dots"):
        reader = load_tone_reader()
    inputs = [ToneInput(it["text"], it["context"]) for it in items]
    if len(inputs) <= CHUNK:
        readings = reader.read_batch(inputs)
    else:
        from rich.progress import Progress

        readings = []
        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task("reading tone", total=len(inputs))
            for start in range(0, len(inputs), CHUNK):
                readings.extend(reader.read_batch(inputs[start : start + CHUNK]))
                progress.update(task, advance=len(inputs[start : start + CHUNK]))
    for item, reading in zip(items, readings, strict=True):
        tags = {t: c for t, c in reading.tags.items() if c >= threshold}
        row = {"id": item["id"], "tags": tags, "direction": reading.direction}
        if reading.primary is not None:
            row["primary"] = reading.primary
        print(json.dumps(row))
