"""The one exception type a user ever sees: what was wrong, and what to do."""

from __future__ import annotations


class CalmlineError(Exception):
    """An error that the CLI prints as one line, with a hint, and exit code 2.

    Raise it at the point where the cause is known (a missing file, an unknown
    scenario, an unreachable endpoint) so the message can be specific.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that whatever saves on Ctrl-C saves here too.

    ``cli.main`` installs the handler; a call ends ``interrupted`` and then stops.
    """
