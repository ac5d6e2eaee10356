"""Serve a GGUF over the OpenAI API with llama-cpp-python's own server, made safe here.

``python -m calmline.llm.llama_server --model gemma3-270m --port 8000`` runs the
unmodified ``llama_cpp.server`` (same flags) with two additions: bundled short
names are resolved to files, and weight repacking is off, without which the server
segfaults on its first request on AMX CPUs (see ``local.without_weight_repacking``;
plain ``python -m llama_cpp.server`` crashed this way on the development machine).
Point calmline at it with ``--llm openai`` and ``OPENAI_BASE_URL=http://host:8000/v1``.
"""

from __future__ import annotations

import runpy
import sys

from calmline.llm.bundled import BUNDLED_MODELS, resolve_model
from calmline.llm.local import without_weight_repacking


def _resolve_model_flag(argv: list[str]) -> list[str]:
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--model" and i + 1 < len(out) and out[i + 1] in BUNDLED_MODELS:
            out[i + 1] = str(resolve_model(out[i + 1])[0])
    return out


def main(argv: list[str] | None = None) -> None:
    args = _resolve_model_flag(sys.argv[1:] if argv is None else argv)
    sys.argv = ["llama_cpp.server", *args]
    with without_weight_repacking():
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
