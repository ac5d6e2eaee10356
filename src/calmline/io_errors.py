"""File-system failures on a user's path, as one line that names the path and what to do.

A read-only mount, a full disk or ``--out`` naming a file are not bugs in calmline;
the CLI used to call them one. Writers wrap their ``OSError`` with :func:`os_error`
at the point where the path is known (``session.atomic_write_text``,
``audio.write_wav``); ``cli.main`` passes any other ``OSError`` through it as well.
"""

from __future__ import annotations

import errno
from pathlib import Path

from calmline.errors import CalmlineError

# errno -> (what happened, with {path}; what to do)
_WRITING: dict[int, tuple[str, str]] = {
    errno.ENOSPC: (
        "no space left on the disk holding {path}",
        "free some space, or write elsewhere with --out",
    ),
    errno.EDQUOT: (
        "disk quota exceeded writing {path}",
        "free some space, or write elsewhere with --out",
    ),
    errno.EROFS: (
        "cannot write {path}: the file system is read-only",
        "write to a writable folder with --out",
    ),
    errno.EACCES: (
        "cannot write {path}: permission denied",
        "write to a folder you own with --out, or fix its permissions",
    ),
    errno.EPERM: (
        "cannot write {path}: operation not permitted",
        "write to a folder you own with --out, or fix its permissions",
    ),
    errno.EEXIST: (
        "cannot create the folder {path}: a file of that name is in the way",
        "give --out a folder, not a file",
    ),
    errno.ENOTDIR: (
        "cannot write {path}: part of the path is a file, not a folder",
        "give --out a folder, not a file",
    ),
    errno.EISDIR: ("cannot write {path}: it is a folder", "give the name of a file"),
    errno.ENAMETOOLONG: ("cannot write {path}: the name is too long", "choose a shorter path"),
    errno.EIO: (
        "input/output error writing {path}",
        "the disk or network share failed; check it, or write elsewhere with --out",
    ),
}
_READING: dict[int, tuple[str, str]] = {
    errno.ENOENT: ("{path} does not exist", "check the path"),
    errno.EACCES: ("cannot read {path}: permission denied", "check the file's permissions"),
    errno.EPERM: ("cannot read {path}: operation not permitted", "check the file's permissions"),
    errno.EISDIR: ("{path} is a directory, not a file", "give the path of a file"),
    errno.ENOTDIR: ("cannot read {path}: part of the path is a file", "check the path"),
    errno.ELOOP: ("cannot read {path}: too many symbolic links", "check the path"),
    errno.EIO: ("input/output error reading {path}", "the disk or network share failed"),
}


def os_error(
    exc: OSError, path: str | Path | None = None, *, reading: bool = False
) -> CalmlineError:
    """``exc`` as a ``CalmlineError`` naming ``path`` (else the path the error carries)."""
    where = path if path is not None else (exc.filename or "a file")
    table = _READING if reading else _WRITING
    known = table.get(exc.errno or 0) or (_READING if not reading else _WRITING).get(exc.errno or 0)
    if known is not None:
        message, hint = known
        return CalmlineError(message.format(path=where), hint)
    verb = "read" if reading else "write"
    reason = exc.strerror or type(exc).__name__
    return CalmlineError(f"cannot {verb} {where}: {reason}", "check the path and the disk")
