"""`calmline tag` as a user runs it: text or JSONL in, JSON lines out, clear errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from support.cli import calmline

pytestmark = pytest.mark.models


def run(repo: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return calmline("tag", *args, input=stdin, timeout=120, cwd=repo)


def test_text_argument_prints_one_json_line(repo: Path) -> None:
    result = run(repo, "calm down its policy nothing i can do")
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.strip().splitlines()
    out = json.loads(line)
    assert {"calm_down", "policy_shield"} <= set(out["tags"])
    assert out["direction"] == "escalating"


def test_jsonl_in_jsonl_out_with_threshold(repo: Path, tmp_path: Path) -> None:
    src = tmp_path / "turns.jsonl"
    rows = [
        {"id": "a", "text": "I'm so sorry, I'll send a new one today"},
        {"id": "b", "text": "so your parcel never came", "context": "My parcel never came!"},
        {"id": "c", "text": "whatever, not my problem"},
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    result = run(repo, "--jsonl", str(src), "--threshold", "0.6")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b", "c"]
    assert all(c >= 0.6 for o in out for c in o["tags"].values())
    assert "apology" in out[0]["tags"] and out[0]["direction"] == "de-escalating"
    assert "paraphrase" in out[1]["tags"]
    assert "dismissive" in out[2]["tags"] and out[2]["direction"] == "escalating"


def test_bad_jsonl_line_is_one_error_naming_the_line(repo: Path, tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text('{"id": 1, "text": "sorry"}\n{"id": 2, "text": \n')
    result = run(repo, "--jsonl", str(src))
    assert result.returncode == 2
    assert result.stderr.startswith("calmline: error:")
    assert "line 2" in result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr


def test_missing_text_field_and_no_input_are_clear_errors(repo: Path, tmp_path: Path) -> None:
    result = run(repo, "--jsonl", "-", stdin='{"id": 1, "words": "hi"}\n')
    assert result.returncode == 2 and "line 1" in result.stderr and "'text'" in result.stderr
    result = run(repo)
    assert result.returncode == 2 and result.stderr.startswith("calmline: error:")
