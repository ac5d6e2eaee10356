"""``calmline upload``: send finished session folders to the trainer's ``calmline serve``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from calmline.cli import app, err_console
from calmline.config import environment
from calmline.errors import CalmlineError
from calmline.paths import recordings_dir

if TYPE_CHECKING:
    from calmline.upload.client import UploadOutcome

TOKEN_HINT = "ask your trainer for an upload token, then pass --token or set CALMLINE_UPLOAD_TOKEN"


def upload_token(given: str | None) -> str:
    token = (given or environment().upload_token or "").strip()
    if not token:
        raise CalmlineError("no upload token", TOKEN_HINT)
    return token


@app.command()
def upload(
    url: Annotated[
        str, typer.Argument(help="The dashboard's address, e.g. http://trainer-pc:8000")
    ],
    folders: Annotated[
        list[Path] | None,
        typer.Argument(help="Session folders to send (none: only the queued ones)."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", help="Your upload token (or set CALMLINE_UPLOAD_TOKEN)."),
    ] = None,
    recordings: Annotated[
        Path | None,
        typer.Option(
            "--recordings", help="Where queued sessions are looked for (default: recordings/)."
        ),
    ] = None,
) -> None:
    """Send session folders to the dashboard, and any that earlier runs could not send.

    A session that cannot be sent now (server down, time-out) is queued in its folder
    (upload.json) and sent by the next `calmline upload URL`. Local copies are never
    deleted. Exits 2 when any session was not sent.
    """
    from calmline.upload.client import server_url

    send_folders(server_url(url), list(folders or []), upload_token(token), recordings)


def send_folders(
    url: str, named: list[Path], token: str, recordings: Path | None, *, quiet: bool = False
) -> list[UploadOutcome]:
    """Send ``named`` plus the folders queued under ``recordings``; one line per session.

    ``quiet``: every line on stderr (``practice --json`` keeps stdout for its JSON).
    Raises ``CalmlineError`` when any session was not sent.
    """
    from calmline.upload.client import UploadClient, pending_folders, upload_folders

    for folder in named:
        if not folder.is_dir():
            raise CalmlineError(
                f"{folder} is not a folder", "give session folders under recordings/"
            )
    root = recordings or recordings_dir()
    queued = pending_folders(root, url)
    say = _err if quiet else print
    if not named and not queued:
        say(f"nothing to upload: no folders given and none queued for {url} under {root}")
        return []
    client = UploadClient(url, token)
    try:
        outcomes = upload_folders(client, [*named, *queued])
    finally:
        client.close()
    for o in outcomes:
        if o.state == "sent":
            say(f"sent {o.session_id} ({o.message}): {o.url}")
        elif o.state == "pending":
            _err(
                f"queued {o.session_id}: {o.message}; kept here, sent by the next "
                f"`calmline upload {url}`"
            )
        else:
            _err(f"not sent {o.session_id}: {o.message}")
    failed = [o for o in outcomes if o.state != "sent"]
    if failed:
        queued_now = sum(o.state == "pending" for o in failed)
        raise CalmlineError(
            f"{len(failed)} of {len(outcomes)} session(s) not uploaded "
            f"({queued_now} queued, {len(failed) - queued_now} refused); local copies are kept",
            f"run `calmline upload {url}` again to retry the queued ones"
            if queued_now
            else "the reasons are above; fix them, then name the folders again",
        )
    return outcomes


def _err(line: str) -> None:
    err_console.print(line, markup=False, soft_wrap=True)
