"""Opening the files a user names: regular files only, each within its size budget.

Every check is an ``os.stat`` before anything is opened: ``/dev/zero`` would otherwise
be read until memory ran out, and opening a FIFO for reading blocks until someone
writes to it. Directories, FIFOs, devices and sockets each get their own words.
Text goes through :func:`calmline.text_decode.decode_text`, so every reader accepts
the same encodings and refuses the same bytes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Literal

from calmline.errors import CalmlineError
from calmline.io_errors import os_error
from calmline.limits import file_too_large, limits
from calmline.text_decode import decode_text

Budget = Literal["file", "session"]
_BUDGET_VARIABLE = {"file": "CALMLINE_MAX_FILE_MB", "session": "CALMLINE_MAX_SESSION_MB"}
_SPECIAL = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((words for test, words in _SPECIAL if test(mode)), "not a regular file")


def _refuse(path: Path, what: str, mode: int) -> CalmlineError:
    if stat.S_ISDIR(mode):
        return CalmlineError(f"{path} is a directory, not {what}", "give the path of a file")
    return CalmlineError(
        f"{path} is {_kind(mode)}, not {what}",
        "calmline reads regular files only; save the data to a file first",
    )


def regular_file(path: str | Path, what: str) -> os.stat_result:
    """``os.stat`` of ``path``, or a ``CalmlineError`` saying why it is not a file to read.

    ``what`` names the file for the message, with its article: ``"a transcript"``.
    """
    file = Path(path)
    try:
        info = os.stat(file)
    except FileNotFoundError:
        raise CalmlineError(f"{file} does not exist", f"give the path of {what}") from None
    except OSError as exc:
        raise os_error(exc, file, reading=True) from exc
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(file, what, info.st_mode)
    return info


def read_bytes(path: str | Path, what: str, budget: Budget = "file") -> bytes:
    """The bytes of a regular file, refused before reading when over its ``budget``."""
    file = Path(path)
    limit = limits().file_bytes if budget == "file" else limits().session_bytes
    plural = what.split(" ", 1)[-1] + "s"  # "a transcript" -> "transcripts"
    info = regular_file(file, what)
    if info.st_size > limit:
        raise file_too_large(file, plural, info.st_size, limit, _BUDGET_VARIABLE[budget])
    try:
        # O_NONBLOCK: should a FIFO be swapped in after the stat, opening it does not hang.
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise _refuse(file, what, mode)
            data = fh.read(limit + 1)
    except OSError as exc:
        raise os_error(exc, file, reading=True) from exc
    if len(data) > limit:  # it grew after the stat
        raise file_too_large(file, plural, len(data), limit, _BUDGET_VARIABLE[budget])
    return data


def read_text(path: str | Path, what: str, budget: Budget = "file") -> str:
    """A text file a person wrote: see :func:`calmline.text_decode.decode_text`."""
    return decode_text(read_bytes(path, what, budget), Path(path))
