"""Where calmline finds its data: prompts, rubrics, recordings and the model cache."""

from __future__ import annotations

import os
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]


def project_root() -> Path:
    """The folder holding ``prompts/`` and ``rubrics/``.

    ``CALMLINE_HOME`` overrides it; otherwise the checkout this package was
    installed from (editable install), else the current directory.
    """
    env = os.environ.get("CALMLINE_HOME")
    if env:
        return Path(env)
    if (_REPO_ROOT / "prompts").is_dir():
        return _REPO_ROOT
    return Path.cwd()


def prompts_dir() -> Path:
    return project_root() / "prompts"


def scenarios_dir() -> Path:
    return prompts_dir() / "scenarios"


def templates_dir() -> Path:
    return prompts_dir() / "templates"


def rubrics_dir() -> Path:
    return project_root() / "rubrics"


def recordings_dir() -> Path:
    return Path(os.environ.get("CALMLINE_RECORDINGS", project_root() / "recordings"))


def cache_dir() -> Path:
    """Where assembled model files go (the multi-part packages are joined once)."""
    base = os.environ.get("CALMLINE_CACHE") or os.environ.get("XDG_CACHE_HOME")
    path = Path(base) / "calmline" if base else Path.home() / ".cache" / "calmline"
    path.mkdir(parents=True, exist_ok=True)
    return path
