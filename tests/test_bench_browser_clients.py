"""``benchmarks/browser_clients.py`` against a real ``calmline serve``: one simulated
browser signs in, streams one spoken turn over the practice WebSocket in real time, ends
the call and is marked; the report has its reply latency, no errors, and the server's
CPU and memory. Nothing is asserted about how fast: that is the benchmark's to report.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = [pytest.mark.server, pytest.mark.models, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def browser_clients() -> ModuleType:
    path = REPO / "benchmarks" / "browser_clients.py"
    spec = importlib.util.spec_from_file_location("browser_clients", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["browser_clients"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_one_browser_client_reports_latency_errors_cpu_and_memory(
    browser_clients: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"
    code = browser_clients.main(["--clients", "1", "--turns", "1", "--json", str(out)])
    report = json.loads(out.read_text())
    (row,) = report["rows"]
    assert code == 0, row["error_messages"]
    assert row["clients"] == 1 and row["errors"] == 0 and not row["error_messages"]
    assert row["turns_measured"] == 1 and row["median_s"] > 0 and row["p95_s"] > 0
    assert row["server_cpu_percent"] > 0 and row["server_peak_rss_mb"] > 0
    assert row["outcomes"] == ["learner_ended"]  # the client's `end` ended the call, marked
    assert report["machine"]["cores"] and report["calmline_commit"]
    assert "| 1 | 1 |" in capsys.readouterr().out  # the table a user reads
