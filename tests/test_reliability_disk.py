"""File-system failures are the user's to fix, said in one line; a call that could not be
saved in full never looks finished; SIGTERM ends a call like Ctrl-C.

A full disk and a read-only mount are simulated two ways: in-process, by a ``tempfile``
that fails at the write boundary (every session write starts with ``mkstemp``), and,
when the tests run as root, with real tiny tmpfs mounts (unmounted afterwards).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from calmline.call.inputs import ScriptInput
from calmline.call.session import load_session
from calmline.errors import CalmlineError
from support.cli import (
    assert_one_clear_line,
    call_waiting_for_the_customer,
    calmline,
    practice_args,
)
from support.openai_server import FakeOpenAIServer
from support.practice import scripted_call

SCRIPT = "I'm sorry, that sounds frustrating.\nWhen did you buy it?\nI can replace it.\n"
FINISHED = {"satisfied", "hung_up", "manager", "learner_ended", "max_turns"}


def _disk_with_room_for(files: int) -> SimpleNamespace:
    """A stand-in for a module's ``tempfile`` whose disk is full after ``files`` files."""
    left = [files]

    def mkstemp(*args: object, **kwargs: object) -> tuple[int, str]:
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        left[0] -= 1
        return tempfile.mkstemp(*args, **kwargs)  # type: ignore[call-overload,no-any-return]

    return SimpleNamespace(mkstemp=mkstemp)


def test_a_full_disk_mid_call_marks_the_session_incomplete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It used to say ``outcome: max_turns`` after 2 turns: an unfinished call looked done."""
    monkeypatch.setattr("calmline.speech.audio.tempfile", _disk_with_room_for(2))
    call = scripted_call(tmp_path, ScriptInput(SCRIPT.splitlines()), debrief=False, assess=False)
    with pytest.raises(CalmlineError) as caught:
        call.run()
    message = caught.value.message
    assert "no space left on the disk holding" in message and "turn-004-customer.wav" in message
    assert "marked incomplete" in message and "--out" in caught.value.hint
    saved = load_session(call.writer.folder)
    assert saved.outcome == "incomplete" and saved.ended_at is not None
    assert [e.kind for e in saved.events][-1] == "incomplete"
    assert len(saved.turns) == 4  # what was written is kept


def test_a_disk_too_full_even_for_session_json_leaves_it_unfinished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("calmline.speech.audio.tempfile", _disk_with_room_for(1))
    call = scripted_call(tmp_path, ScriptInput(SCRIPT.splitlines()), debrief=False, assess=False)
    monkeypatch.setattr("calmline.call.session.tempfile", _disk_with_room_for(2))
    with pytest.raises(CalmlineError, match="left in_progress"):
        call.run()
    assert load_session(call.writer.folder).outcome not in FINISHED


def test_out_naming_a_file_is_one_clear_line(tmp_path: Path) -> None:
    """``--out`` naming a file was FileExistsError, "a bug in calmline"."""
    script, transcript, taken = tmp_path / "s.txt", tmp_path / "t.txt", tmp_path / "taken"
    script.write_text(SCRIPT)
    transcript.write_text("CUSTOMER: It leaks!\nLEARNER: I'm sorry, I'll replace it.\n")
    taken.write_text("a file, not a folder")
    practice = calmline(
        "practice", "--script", str(script), "--no-speak", "--out", str(taken), timeout=60
    )
    assert_one_clear_line(practice, f"--out {taken} is a file, not a folder", after_output=True)
    assessed = calmline("assess", str(transcript), "--out", str(taken))
    assert_one_clear_line(
        assessed, f"cannot create the folder {taken}: a file of that name", after_output=True
    )


@contextmanager
def _tmpfs(where: Path, options: str) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("a real tmpfs needs root; the in-process tests above cover the logic")
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)])
    if mounted.returncode != 0:
        pytest.skip("mount is not allowed here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


@pytest.mark.server
def test_a_real_full_disk_and_a_read_only_mount(tmp_path: Path) -> None:
    script = tmp_path / "turns.txt"
    script.write_text(SCRIPT)
    transcript = tmp_path / "t.txt"
    transcript.write_text("CUSTOMER: It leaks!\nLEARNER: I'm sorry, I'll replace it.\n")
    with FakeOpenAIServer.fault("ok") as server, _tmpfs(tmp_path / "small", "size=480k") as small:
        full = subprocess.run(
            practice_args(server.base_url, small / "rec", script),
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert_one_clear_line(
            full, "no space left on the disk holding", str(small), after_output=True
        )
        [folder] = list((small / "rec").iterdir())
        saved = json.loads((folder / "session.json").read_text())
        assert saved["outcome"] in {"incomplete", "in_progress"}  # never a finished call
        assert len(saved["turns"]) >= 2  # what fitted is kept
    with _tmpfs(tmp_path / "ro", "ro,size=64k") as read_only:
        practice = calmline(
            "practice", "--script", str(script), "--no-speak", "--out", str(read_only / "r")
        )
        assert_one_clear_line(
            practice, "the file system is read-only", str(read_only), after_output=True
        )
        assessed = calmline("assess", str(transcript), "--out", str(read_only / "reports"))
        assert_one_clear_line(assessed, "the file system is read-only", after_output=True)


@pytest.mark.server
def test_sigterm_mid_call_saves_it_as_interrupted(tmp_path: Path) -> None:
    """SIGTERM used to end the process on the spot, leaving ``in_progress`` and no note."""
    with call_waiting_for_the_customer(
        tmp_path, SCRIPT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as (proc, out):
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "stopped (SIGTERM)" in err and "Traceback" not in err
    [folder] = [p for p in out.iterdir() if p.is_dir()]
    record = load_session(folder)
    assert record.outcome == "interrupted" and record.ended_at is not None
    assert any(e.kind == "interrupted" and "SIGTERM" in e.detail for e in record.events)
