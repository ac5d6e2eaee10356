"""Subcommands of ``calmline``; importing this package registers them on ``cli.app``."""

from calmline.commands import assess, bench, models, practice, scenarios, speech, tag, web  # noqa: F401
