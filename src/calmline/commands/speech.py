"""Subcommands: speech (to be filled in)."""

from calmline.cli import app  # noqa: F401
