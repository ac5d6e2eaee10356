"""Subcommands of ``calmline``; importing this package registers them on ``cli.app``."""

from calmline.commands import (  # noqa: F401
    assess,
    bench,
    models,
    practice,
    scenarios,
    speech,
    tag,
    upload,
    web,
)
