"""The session folder survives anything: atomic writes, no collisions, readable after a crash."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from calmline.call.session import SessionWriter, atomic_write_text, load_session, new_session_id
from calmline.errors import CalmlineError
from calmline.models import SessionRecord, Turn


def _record(scenario: str = "retail-kettle") -> SessionRecord:
    return SessionRecord(id=new_session_id(scenario), scenario=scenario)


def test_each_turn_is_on_disk_as_soon_as_it_exists(tmp_path: Path) -> None:
    writer = SessionWriter(tmp_path, _record())
    writer.add_turn(Turn(index=0, speaker="customer", text="This kettle broke again!"))
    on_disk = load_session(writer.folder)
    assert [t.text for t in on_disk.turns] == ["This kettle broke again!"]
    tone = np.sin(np.linspace(0, 200, 16_000)).astype(np.float32) * 0.3
    writer.add_turn(Turn(index=1, speaker="learner", text="I'm sorry."), tone, 16_000)
    on_disk = load_session(writer.folder)
    assert on_disk.turns[1].audio == "turn-001-learner.wav"
    assert (writer.folder / "turn-001-learner.wav").stat().st_size > 30_000
    assert on_disk.outcome == "in_progress"  # not finished, yet readable


def test_concurrent_sessions_never_share_a_folder(tmp_path: Path) -> None:
    fixed = "20261122-120000-retail-kettle-0000"
    folders: list[Path] = []

    def start() -> None:
        folders.append(
            SessionWriter(tmp_path, SessionRecord(id=fixed, scenario="retail-kettle")).folder
        )

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(folders)) == 8


def test_atomic_write_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "session.json"
    atomic_write_text(target, '{"a": 1}')
    atomic_write_text(target, '{"a": 2}')
    assert json.loads(target.read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["session.json"]


def test_kill_9_mid_session_leaves_a_readable_folder(tmp_path: Path) -> None:
    # A child process writes turns in a loop and is killed without warning.
    code = f"""
import time
from pathlib import Path
from calmline.models import SessionRecord, Turn
from calmline.call.session import SessionWriter
w = SessionWriter(Path({str(tmp_path)!r}), SessionRecord(id="killed", scenario="x"))
i = 0
while True:
    w.add_turn(Turn(index=i, speaker="learner", text="turn " + str(i) * 500))
    i += 1
    if i == 5:
        print("ready", flush=True)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.kill()
    proc.wait()
    record = load_session(tmp_path / "killed")
    assert len(record.turns) >= 5
    assert all(t.index == i for i, t in enumerate(record.turns))


def test_loading_a_folder_without_a_session_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CalmlineError, match=r"no session\.json"):
        load_session(tmp_path)
    (tmp_path / "session.json").write_text("{not json")
    with pytest.raises(CalmlineError, match="not a readable calmline session"):
        load_session(tmp_path)
