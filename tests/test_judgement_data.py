"""The labelled sets behind calmline's judgement: frozen test splits and who labelled what."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path


def test_tone_test_split_is_frozen(repo: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(repo / "benchmarks" / "tone_data.py"), "check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_tone_items_are_labelled_by_someone_other_than_their_writer(repo: Path) -> None:
    rows = [json.loads(line) for line in (repo / "data/tone/items.jsonl").open()]
    assert len(rows) >= 1500
    assert all(r["labeller"] and r["labeller"] != r["writer"] for r in rows)
    assert {r["split"] for r in rows} == {"train", "dev", "test"}


def test_marking_test_set_is_frozen(repo: Path) -> None:
    folder = repo / "data" / "assessment-test"
    digest = hashlib.sha256()
    for path in sorted((folder / "transcripts").glob("*.txt")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    assert digest.hexdigest() in (folder / "README.md").read_text()
    gold = [json.loads(line) for line in (folder / "gold.jsonl").open()]
    assert len(gold) == 24 * 10
