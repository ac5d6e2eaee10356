"""``calmline assess`` and ``calibrate`` as a user runs them, in a subprocess."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from support.cli import calmline

pytestmark = pytest.mark.models  # loads the bundled MiniLM


def _run(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return calmline(*args, timeout=300, cwd=repo)


def test_assess_transcript_writes_three_reports(repo: Path, tmp_path: Path) -> None:
    src = repo / "data" / "calibration" / "transcripts" / "06_utilities_sla_good.txt"
    result = _run(repo, "assess", str(src), "--out", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {a["rubric_id"] for a in data} == {"difficult_customers", "challenging_behaviour"}
    for name in ("report.md", "report.html", "assessment.json"):
        assert (tmp_path / name).stat().st_size > 0


def test_bad_input_is_one_clear_line_and_exit_2(repo: Path, tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("just some notes\nwith no speakers\n", encoding="utf-8")
    result = _run(repo, "assess", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith("calmline: error:")
    assert "Traceback" not in result.stderr
    missing = _run(repo, "assess", str(tmp_path / "missing.txt"))
    assert missing.returncode == 2 and missing.stderr.startswith("calmline: error:")
