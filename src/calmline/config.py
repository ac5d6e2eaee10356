"""Every environment variable calmline reads, read in one place into one typed object.

Flags on the command line win over these; these win over the built-in defaults. Values
are read when ``environment()`` is called (not at import), so a test or a long-running
server that changes the environment sees the change.

| variable | meaning |
| --- | --- |
| ``CALMLINE_HOME`` | a folder with your own ``prompts/`` and ``rubrics/`` (and ``recordings/``) |
| ``CALMLINE_RECORDINGS`` | where session folders are written and read |
| ``CALMLINE_SEEDS`` | the syllabus documents rubrics trace to |
| ``CALMLINE_CACHE`` (or ``XDG_CACHE_HOME``) | where assembled model files and fitted read-outs go |
| ``CALMLINE_DB_URL`` | the dashboard's index database (SQLAlchemy URL) |
| ``CALMLINE_MODEL`` | the LLM: a GGUF path for ``--llm local``, a model name for ``--llm openai`` |
| ``OPENAI_BASE_URL``, ``OPENAI_API_KEY`` | the OpenAI-compatible endpoint |
| ``CALMLINE_LLM_TIMEOUT`` | seconds before an endpoint request is given up |
| ``CALMLINE_STT_URL`` | an OpenAI-compatible speech-to-text endpoint (``…/v1``); set, it is used |
| ``CALMLINE_STT_MODEL``, ``CALMLINE_STT_API_KEY`` | the model name and key sent to it |
| ``CALMLINE_STT_TIMEOUT`` | seconds before a transcription request is given up |
| ``CALMLINE_UPLOAD_TOKEN`` | the learner's upload token for ``calmline upload`` |
| ``CALMLINE_MAX_UPLOAD_MB`` | largest session upload ``calmline serve`` accepts |
| ``CALMLINE_LLM_THREADS`` | threads for the in-process LLM |
| ``CALMLINE_LLAMA_REPACK`` | ``1`` re-enables llama.cpp's weight repacking |
| ``CALMLINE_ROLE_CHECK`` | ``0`` turns the customer-line role check off |
| ``CALMLINE_MALLOC_ARENA_MAX`` | glibc malloc arenas for a long call |
| ``CALMLINE_DEBUG`` | ``1`` shows tracebacks of internal errors |
| ``CALMLINE_MAX_FILE_MB`` | largest transcript, script, pack, rubric or JSONL read (``limits``) |
| ``CALMLINE_MAX_SESSION_MB`` | largest ``session.json`` / ``assessment.json`` read (``limits``) |
| ``CALMLINE_MAX_TURNS`` | most turns in a transcript or session ``assess`` marks (``limits``) |
| ``CALMLINE_MAX_AUDIO_HOURS`` | longest recording ``transcribe`` accepts (``limits``) |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_OFF = ("0", "off", "no", "false")


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _positive(value: str | None) -> float | None:
    """A positive number, or None when unset or not a positive number (the default then holds)."""
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    return number if number is not None and number > 0 else None


@dataclass(frozen=True)
class Environment:
    """The calmline-relevant part of the process environment, typed."""

    home: Path | None = None
    recordings: Path | None = None
    seeds: Path | None = None
    cache: Path | None = None
    db_url: str | None = None
    model: str | None = None
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    llm_timeout: str | None = None  # parsed where it is used, to name the variable on error
    stt_url: str | None = None
    stt_model: str | None = None
    stt_api_key: str | None = None
    stt_timeout: float | None = None
    upload_token: str | None = None
    max_upload_mb: float | None = None
    llm_threads: int | None = None
    llama_repack: bool = False
    role_check: bool = True
    malloc_arena_max: int | None = None
    debug: bool = False
    max_file_mb: float | None = None
    max_session_mb: float | None = None
    max_turns: float | None = None
    max_audio_hours: float | None = None


def environment(env: Mapping[str, str] | None = None) -> Environment:
    """Read the variables from ``env`` (default: ``os.environ``)."""
    e = os.environ if env is None else env
    xdg = e.get("XDG_CACHE_HOME")
    return Environment(
        home=_path(e.get("CALMLINE_HOME")),
        recordings=_path(e.get("CALMLINE_RECORDINGS")),
        seeds=_path(e.get("CALMLINE_SEEDS")),
        cache=_path(e.get("CALMLINE_CACHE")) or (Path(xdg) if xdg else None),
        db_url=e.get("CALMLINE_DB_URL") or None,
        model=e.get("CALMLINE_MODEL") or None,
        openai_base_url=e.get("OPENAI_BASE_URL") or None,
        openai_api_key=e.get("OPENAI_API_KEY") or None,
        llm_timeout=e.get("CALMLINE_LLM_TIMEOUT") or None,
        stt_url=e.get("CALMLINE_STT_URL") or None,
        stt_model=e.get("CALMLINE_STT_MODEL") or None,
        stt_api_key=e.get("CALMLINE_STT_API_KEY") or None,
        stt_timeout=_positive(e.get("CALMLINE_STT_TIMEOUT")),
        upload_token=e.get("CALMLINE_UPLOAD_TOKEN") or None,
        max_upload_mb=_positive(e.get("CALMLINE_MAX_UPLOAD_MB")),
        llm_threads=_int(e.get("CALMLINE_LLM_THREADS")),
        llama_repack=e.get("CALMLINE_LLAMA_REPACK") == "1",
        role_check=e.get("CALMLINE_ROLE_CHECK", "1").strip().lower() not in _OFF,
        malloc_arena_max=_int(e.get("CALMLINE_MALLOC_ARENA_MAX")),
        debug=bool(e.get("CALMLINE_DEBUG")),
        max_file_mb=_positive(e.get("CALMLINE_MAX_FILE_MB")),
        max_session_mb=_positive(e.get("CALMLINE_MAX_SESSION_MB")),
        max_turns=_positive(e.get("CALMLINE_MAX_TURNS")),
        max_audio_hours=_positive(e.get("CALMLINE_MAX_AUDIO_HOURS")),
    )
