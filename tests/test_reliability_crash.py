"""Crashes lose nothing: ``kill -9`` of a running ``calmline practice`` and of
``calmline index``, and several calls writing to one folder at once.

The killed call must leave a ``session.json`` that loads, that ``calmline assess``
marks and that ``calmline index`` takes into the dashboard; a killed indexer must
leave an index that the next ``calmline index`` repairs.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from calmline.call.session import load_session
from calmline.web.db import SessionRow, make_engine, session_factory
from calmline.web.sample import sample_session
from support.cli import (
    CALMLINE,
    call_waiting_for_the_customer,
    calmline,
    practice_args,
    wait_until,
)
from support.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.server
SCRIPT = "Okay. Let me just have a look at that for you.\nRight, and when did you buy it?\n"


@pytest.mark.models  # `calmline assess` loads the bundled MiniLM
def test_kill_9_of_a_running_call_leaves_a_session_to_assess_and_index(tmp_path: Path) -> None:
    # The learner's first turn is saved; the customer is waiting on the endpoint.
    with call_waiting_for_the_customer(tmp_path, SCRIPT, stdout=subprocess.DEVNULL) as (proc, out):
        os.kill(proc.pid, signal.SIGKILL)
    [folder] = [p for p in out.iterdir() if p.is_dir()]
    record = load_session(folder)
    assert [t.speaker for t in record.turns] == ["customer", "learner"]
    assert record.turns[1].text == SCRIPT.splitlines()[0] and record.turns[1].anger is not None
    assert record.outcome == "in_progress" and record.ended_at is None  # killed mid-call
    assert not list(folder.glob(".*.tmp"))  # no torn temporary file left behind

    assessed = calmline("assess", str(folder))
    assert assessed.returncode == 0, assessed.stderr
    assert (folder / "assessment.json").is_file() and (folder / "report.html").is_file()

    db = f"sqlite:///{tmp_path / 'index.sqlite3'}"
    indexed = calmline("index", "--db", db, "--recordings", str(out))
    assert indexed.returncode == 0, indexed.stderr
    assert "1 added" in indexed.stdout, indexed.stdout


def test_kill_9_of_the_indexer_is_repaired_by_the_next_run(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    for n in range(120):
        sample_session(rec, f"20260301-1000{n // 60:02d}-kettle-counter-{n:04x}", f"l{n % 7}")
    index = tmp_path / "index.sqlite3"
    db = f"sqlite:///{index}"
    make_engine(db).dispose()  # the tables, so that a reader can hold the file
    # A reader's open transaction keeps the indexer from committing: it writes its
    # rollback journal, then waits for the lock. Killed once that journal is seen, it
    # is certain to die mid-transaction, however fast or loaded the machine is.
    reader = sqlite3.connect(index, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM sessions").fetchone()
    journal = index.with_name(index.name + "-journal")
    proc = subprocess.Popen(
        [CALMLINE, "index", "--db", db, "--recordings", str(rec)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(journal.exists, "the indexer to start writing", 120)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        reader.execute("ROLLBACK")
        reader.close()
    assert journal.exists()  # a hot journal: the kill landed mid-transaction
    # Disk damage a crash can cause outside calmline's atomic writes: a torn file.
    (rec / "20260301-100000-kettle-counter-0000" / "session.json").write_text('{"id": "x", "tu')
    # A folder removed by hand while the dashboard was down.
    gone = rec / "20260301-100000-kettle-counter-0001"
    for f in gone.iterdir():
        f.unlink()
    gone.rmdir()
    fixed = calmline("index", "--db", db, "--recordings", str(rec))
    assert fixed.returncode == 0, fixed.stderr
    assert "Traceback" not in fixed.stderr
    assert "not a readable calmline session" in fixed.stderr  # named and skipped, one line
    with session_factory(make_engine(db))() as session:
        assert session.scalar(select(func.count()).select_from(SessionRow)) == 118


def test_concurrent_calls_into_one_folder_never_collide(tmp_path: Path) -> None:
    script = tmp_path / "turns.txt"
    script.write_text(SCRIPT)
    out = tmp_path / "rec"
    with FakeOpenAIServer.fault("ok") as server:
        procs = [
            subprocess.Popen(
                practice_args(server.base_url, out, script), stdout=subprocess.PIPE, text=True
            )
            for _ in range(3)
        ]
        outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    sessions = [json.loads(o.strip().splitlines()[-1])["session"] for o in outputs]
    assert len(set(sessions)) == 3
    for path in sessions:
        record = load_session(Path(path))
        assert [t.index for t in record.turns] == list(range(len(record.turns)))
        assert record.outcome is not None
