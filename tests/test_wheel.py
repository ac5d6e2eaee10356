"""The wheel works outside the checkout: packs, templates, cues and rubrics ship inside it.

Builds the wheel, installs it into a fresh virtual environment (its dependencies are
borrowed from the project's environment through a path entry, so the test installs
nothing from the network but the build backend), and runs ``calmline scenarios``, an
unattended ``calmline practice --script`` and ``calmline assess`` from another folder
with ``CALMLINE_HOME`` unset.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.models]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin/`` folder of a fresh venv with the built wheel installed (not editable)."""
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("calmline-*.whl")
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=False)
    target = next((env_dir / "lib").glob("python3*/site-packages"))
    # The project's dependencies, without its editable calmline: a plain path entry
    # does not run the .pth files found there, so the editable finder stays off.
    (target / "borrowed_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install",
         "--no-deps", "--force-reinstall", "-q", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr[-3000:]
    return env_dir / "bin"


def _run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALMLINE_")}
    return subprocess.run(
        [str(bin_dir / "calmline"), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_the_installed_wheel_imports_calmline_from_its_own_site_packages(
    installed: Path, tmp_path: Path
) -> None:
    where = subprocess.run(
        [str(installed / "python"), "-c", "import calmline; print(calmline.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert str(REPO) not in where.stdout
    assert "site-packages" in where.stdout


def test_scenarios_practice_and_assess_work_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    listed = _run(installed, tmp_path, "scenarios")
    assert listed.returncode == 0, listed.stderr
    assert "late-parcel" in listed.stdout and "kettle-counter" in listed.stdout

    script = tmp_path / "turns.txt"
    script.write_text(
        "I'm sorry the kettle leaks. Can you show me where the water comes out?\n"
        "I'll swap it for a new one now, or refund you in full if you prefer.\n"
        "--- debrief ---\n"
        "She raised her voice and kept repeating that it was the second time.\n"
    )
    out = tmp_path / "recordings"
    done = _run(installed, tmp_path, "practice", "--scenario", "kettle-counter", "--script",
                str(script), "--no-speak", "--json", "--out", str(out), "--seed", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    folder = Path(summary["session"])
    assert folder.parent == out
    assert (folder / "session.json").exists()
    assert (folder / "report.md").exists()  # marked with the rubrics shipped in the wheel

    transcript = tmp_path / "call.txt"
    transcript.write_text(
        "CUSTOMER: This is the second time the parcel has not come!\n"
        "LEARNER: I'm sorry. So it was due Tuesday and still nothing. I'll send another today.\n"
    )
    assessed = _run(installed, tmp_path, "assess", str(transcript), "--json")
    assert assessed.returncode == 0, assessed.stderr[-3000:]
    marks = json.loads(assessed.stdout)
    assert {m["rubric_id"] for m in marks} == {"difficult_customers", "challenging_behaviour"}
