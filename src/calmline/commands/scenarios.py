"""Subcommands: ``calmline scenarios`` (list the packs) and ``scenarios check`` (validate packs)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from calmline.cli import app

scenarios_app = typer.Typer(
    help="List the scenario packs, or check a trainer's own packs.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(scenarios_app, name="scenarios")


@scenarios_app.callback()
def list_packs(ctx: typer.Context) -> None:
    """List the scenario packs in prompts/scenarios; `scenarios check FILE` validates packs."""
    if ctx.invoked_subcommand is not None:
        return
    from calmline.customer.scenario import list_scenarios, scenario_files, validate_file
    from calmline.paths import scenarios_dir

    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
        console = Console(width=140)
    packs = list_scenarios()
    table = Table(title=f"Scenario packs in {scenarios_dir()}")
    table.add_column("id", no_wrap=True)
    table.add_column("title", ratio=1)
    for column in ("setting", "style", "aggression", "difficulty"):
        table.add_column(column)
    for pack in packs:
        table.add_row(
            pack.id,
            pack.title,
            pack.setting.replace("_", " "),
            pack.persona.style,
            pack.persona.aggression,
            pack.difficulty,
        )
    console.print(table)
    valid = {p.id for p in packs}
    for path in scenario_files():
        if path.stem not in valid:
            problems = validate_file(path)
            first = problems[0] if problems else f"{path}: invalid"
            console.print(f"[yellow]skipped[/yellow] {first}", highlight=False)


@scenarios_app.command("check")
def check(
    paths: list[Path] = typer.Argument(..., help="Scenario pack YAML files to validate."),
) -> None:
    """Validate scenario packs: OK per valid file, else each problem on its own line (exit 1)."""
    from calmline.customer.scenario import validate_file

    bad = 0
    for path in paths:
        problems = validate_file(path)
        if problems:
            bad += 1
            for problem in problems:
                typer.echo(problem)
        else:
            typer.echo(f"OK {path}")
    if bad:
        typer.echo(f"{bad} of {len(paths)} pack(s) invalid", err=True)
        raise typer.Exit(1)
