"""Where calmline finds its data: prompts, rubrics, recordings and the model cache.

The scenario packs, prompt templates, tone cues and rubrics are files in the repository's
top-level ``prompts/`` and ``rubrics/``, and a copy of both ships inside the wheel
(``calmline/_data/``). They are looked for, in order:

1. ``CALMLINE_HOME`` (a trainer's own folder with ``prompts/`` and/or ``rubrics/``);
2. the checkout this package runs from (an editable install: edit the files in place);
3. the copy inside the installed package.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from calmline.config import environment

_REPO_ROOT = Path(__file__).resolve().parents[2]
_PACKAGED = Path(str(files("calmline") / "_data"))


def _checkout() -> Path | None:
    return _REPO_ROOT if (_REPO_ROOT / "prompts").is_dir() else None


def project_root() -> Path:
    """The folder whose ``prompts/`` and ``rubrics/`` are used (see the module docstring)."""
    home = environment().home
    if home is not None:
        return home
    return _checkout() or _PACKAGED


def prompts_dir() -> Path:
    return project_root() / "prompts"


def scenarios_dir() -> Path:
    return prompts_dir() / "scenarios"


def templates_dir() -> Path:
    return prompts_dir() / "templates"


def rubrics_dir() -> Path:
    return project_root() / "rubrics"


def recordings_dir() -> Path:
    """``CALMLINE_RECORDINGS``, else ``recordings/`` in ``CALMLINE_HOME``, in the checkout,
    or (an installed wheel) in the current folder."""
    env = environment()
    if env.recordings is not None:
        return env.recordings
    base = env.home or _checkout() or Path.cwd()
    return base / "recordings"


def cache_dir() -> Path:
    """Where assembled model files go (the multi-part packages are joined once)."""
    base = environment().cache
    path = base / "calmline" if base else Path.home() / ".cache" / "calmline"
    path.mkdir(parents=True, exist_ok=True)
    return path
