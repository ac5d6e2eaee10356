"""The ``calmline`` command: one Typer app, subcommands registered from ``calmline.commands``.

Heavy libraries (faster-whisper, llama-cpp, onnxruntime) are imported inside the
commands that need them, so ``--help`` is instant. Every ``CalmlineError`` becomes one
line on stderr and exit code 2; nothing the user typed produces a traceback.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import typer
from rich.console import Console

from calmline import __version__
from calmline.config import environment
from calmline.errors import CalmlineError, Terminated
from calmline.io_errors import os_error

app = typer.Typer(
    name="calmline",
    help="Voice role-play trainer: practise calming a difficult customer, then get marked.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
err_console = Console(stderr=True, highlight=False)


def _version(value: bool) -> None:
    if value:
        print(f"calmline {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Voice role-play trainer: practise calming a difficult customer, then get marked."""


def fail(message: str, hint: str = "") -> None:
    """Print one clear error line and exit 2."""
    text = f"calmline: error: {message}"
    if hint:
        text += f"\n  hint: {hint}"
    err_console.print(text, markup=False, soft_wrap=True)
    raise SystemExit(2)


_TERMINATED: list[int] = []  # SIGTERM arrived (Typer turns the exception into exit 130)


def _terminate(signum: int, _frame: object) -> None:
    _TERMINATED.append(signum)
    raise Terminated


def main() -> None:
    from calmline import commands  # noqa: F401  (registers subcommands on ``app``)

    # SIGTERM (a service manager, `kill`) stops a command the way Ctrl-C does, so a call
    # in progress is saved as ``interrupted`` instead of being left ``in_progress``.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except CalmlineError as exc:
        fail(exc.message, exc.hint)
    except (Terminated, SystemExit):
        if not _TERMINATED:
            raise
        err_console.print(
            "calmline: stopped (SIGTERM); what was done so far is saved", markup=False
        )
        sys.exit(128 + signal.SIGTERM)
    except KeyboardInterrupt:
        err_console.print("calmline: interrupted", markup=False)
        sys.exit(130)
    except OSError as exc:  # a file-system failure no caller wrapped: still not a bug
        if environment().debug:
            raise
        problem = os_error(exc, reading=False)
        fail(problem.message, problem.hint)
    except Exception as exc:  # a bug, not bad input: one line for the user, details on disk
        if environment().debug:
            raise
        log = _save_traceback()
        fail(
            f"internal error: {type(exc).__name__}: {exc}",
            f"this is a bug in calmline; the details are in {log} (CALMLINE_DEBUG=1 shows them)",
        )


def _save_traceback() -> str:
    import tempfile
    import traceback

    from calmline.paths import cache_dir

    try:
        path = cache_dir() / "last-error.log"
    except OSError:
        path = Path(tempfile.gettempdir()) / "calmline-last-error.log"
    path.write_text(traceback.format_exc(), encoding="utf-8")
    return str(path)


if __name__ == "__main__":
    main()
