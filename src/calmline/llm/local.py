"""In-process generation with llama.cpp: the only module that imports ``llama_cpp``.

One ``Llama`` object per model file per process (``get_local_model``), because
loading costs about a second and, more importantly, the object owns the KV cache:
llama.cpp compares each new prompt with the tokens already in the cache and only
evaluates the part after the longest common prefix. A call transcript that only
ever grows (append-only prompts) therefore costs a few new tokens per turn instead
of the whole transcript. ``LlamaChatModel.last_stats`` reports how many prompt
tokens were reused, so callers and tests can see that it is happening.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from calmline.config import environment
from calmline.errors import CalmlineError
from calmline.llm.bundled import Progress, prompt_style_for, resolve_model
from calmline.llm.errors import LLMError
from calmline.protocols import ChatMessage, GenerationOptions

DEFAULT_N_CTX = 2048  # a 20-turn call transcript plus persona fits with room to spare
_PATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def without_weight_repacking() -> Iterator[None]:
    """Load models with llama.cpp's "extra buffer types" (weight repacking) turned off.

    On Intel CPUs with AMX (Sapphire Rapids and later, common in cloud VMs) a
    native build repacks weights into an AMX buffer and then segfaults in the first
    decode (ggml_backend_amx_mul_mat, ggml-org/llama.cpp#20824; reproduced here
    with both bundled models). ``llama-cli --no-repack`` sets the same flag;
    llama-cpp-python does not expose it, so it is set on the default model params
    for the duration of the load. Set CALMLINE_LLAMA_REPACK=1 to keep repacking.
    """
    if environment().llama_repack:
        yield
        return
    import llama_cpp.llama_cpp as lib

    with _PATCH_LOCK:
        original = lib.llama_model_default_params

        def params_without_repack() -> Any:  # a ctypes struct
            params = original()
            params.use_extra_bufts = False
            return params

        lib.llama_model_default_params = params_without_repack
        try:
            yield
        finally:
            lib.llama_model_default_params = original


@dataclass
class GenerationStats:
    """What the last generation cost.

    Attributes:
        prompt_tokens: tokens in the prompt as llama.cpp saw it.
        reused_tokens: prompt tokens served from the KV cache (the shared prefix).
        generated_tokens: tokens sampled.
        first_token_s: seconds from the call to the first streamed text.
        total_s: seconds for the whole generation.
    """

    prompt_tokens: int = 0
    reused_tokens: int = 0
    generated_tokens: int = 0
    first_token_s: float = 0.0
    total_s: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        gen_time = self.total_s - self.first_token_s
        return (self.generated_tokens - 1) / gen_time if gen_time > 0 else 0.0


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence C-level stderr while a model loads.

    ``verbose=False`` hides most of llama.cpp's load log, but the context set-up
    still prints a warning per model (e.g. Gemma's "using full-size SWA cache")
    that a learner should not see. A failed load still raises with a message.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no usable fd 2 (e.g. some embedded runners): nothing to hide
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class LlamaChatModel:
    """A GGUF model run by llama.cpp in this process; implements ``ChatModel``."""

    def __init__(
        self,
        model_path: Path,
        name: str,
        prompt_style: Literal["completion", "chat"],
        *,
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int | None = None,
    ) -> None:
        try:
            import llama_cpp
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise CalmlineError(
                "llama-cpp-python is not installed",
                "pip install llama-cpp-python, or use --llm openai with a server",
            ) from exc
        self.name = name
        self.prompt_style: Literal["completion", "chat"] = prompt_style
        self.model_path = model_path
        # llama-cpp-python defaults to half the cores for generation; on a 2-core
        # laptop that halves tokens/second for nothing.
        # CALMLINE_LLM_THREADS lets a busy machine use fewer threads: with another process
        # on the CPU, llama.cpp with one thread per core slows to a crawl (seen here: 4 min
        # vs 9 s for one call on 2 shared cores).
        threads = n_threads or environment().llm_threads or os.cpu_count() or 1
        t0 = time.perf_counter()
        try:
            with without_weight_repacking(), _quiet_native_stderr():
                self._llama = llama_cpp.Llama(
                    model_path=str(model_path),
                    n_ctx=n_ctx,
                    n_threads=threads,
                    n_threads_batch=threads,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as exc:
            raise CalmlineError(
                f"could not load the model {model_path}: {exc}",
                "check that the file is a GGUF llama.cpp can read",
            ) from exc
        self.load_s = time.perf_counter() - t0
        self.last_stats = GenerationStats()
        # The Llama object and its KV cache are not thread-safe: one generation at a time,
        # all on one long-lived thread (a new thread per reply grew native memory, as
        # llama.cpp sets up per thread: +21 -> +35 MB over 30 replies against flat +22).
        self._worker = _GenerationThread(name)
        self._evaluated: list[int] = []
        self._wrap_eval()

    def _wrap_eval(self) -> None:
        # Llama.generate() evaluates only the prompt suffix that is not already in
        # the KV cache, in its first eval() call. Counting that batch is the one
        # exact, public-behaviour way to see prefix reuse (the library only prints
        # it when verbose=True, which also floods stderr with load logs).
        original: Callable[[Sequence[int]], None] = self._llama.eval

        def counting_eval(tokens: Sequence[int]) -> None:
            self._evaluated.append(len(tokens))
            original(tokens)

        self._llama.eval = counting_eval  # type: ignore[method-assign]  # see comment above

    # ------------------------------------------------------------------ ChatModel

    def stream_complete(self, prompt: str, options: GenerationOptions) -> Iterator[str]:
        """Continue ``prompt``; keep prompts append-only so the KV cache is reused."""
        prompt_tokens = len(self._llama.tokenize(prompt.encode("utf-8"), special=True))

        def start() -> Iterator[Any]:
            return self._llama.create_completion(  # type: ignore[return-value]
                prompt=prompt,
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                stop=options.stop or None,
                seed=options.seed,
                stream=True,
            )

        return self._stream(start, lambda chunk: chunk["choices"][0].get("text", ""), prompt_tokens)

    def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> Iterator[str]:
        """Answer ``messages`` using the chat template stored in the GGUF."""

        def start() -> Iterator[Any]:
            return self._llama.create_chat_completion(  # type: ignore[return-value]
                messages=[{"role": m.role, "content": m.content} for m in messages],  # type: ignore[misc]
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                stop=options.stop or None,
                seed=options.seed,
                stream=True,
            )

        return self._stream(
            start, lambda chunk: chunk["choices"][0].get("delta", {}).get("content") or "", None
        )

    def warm(self) -> None:
        """Run one tiny generation so the first real turn does not pay for page-ins."""
        for _ in self.stream_complete("Hello", GenerationOptions(max_tokens=1, temperature=0)):
            pass

    def close(self) -> None:
        """Free the model's native memory now; the model cannot be used afterwards."""
        self._llama.close()

    # ------------------------------------------------------------------ internals

    def _stream(
        self,
        start: Callable[[], Iterator[Any]],
        text_of: Callable[[Any], str],
        prompt_tokens: int | None,
    ) -> Iterator[str]:
        """Run one generation on the worker thread and hand its text over as it comes.

        Closing the iterator early (a barge-in, a discarded speculation) stops the
        generation at its next token, and waits for that, so the next one starts clean.
        """
        pieces: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        cancelled, finished = threading.Event(), threading.Event()

        def generate() -> None:
            stats = GenerationStats()
            self._evaluated.clear()
            t0 = time.perf_counter()
            chunks: Iterator[Any] | None = None
            try:
                chunks = start()
                for chunk in chunks:
                    if cancelled.is_set():
                        break
                    text = text_of(chunk)
                    stats.generated_tokens += 1  # llama-cpp streams one chunk per token
                    if text:
                        stats.first_token_s = stats.first_token_s or time.perf_counter() - t0
                        pieces.put(("text", text))
            except Exception as exc:  # handed to the reader, raised on its thread
                pieces.put(("error", exc))
            finally:
                try:
                    getattr(chunks, "close", lambda: None)()
                    stats.total_s = time.perf_counter() - t0
                    evaluated = self._evaluated[0] if self._evaluated else 0
                    prompt = prompt_tokens
                    if prompt is None:  # chat: the template is applied inside llama-cpp
                        prompt = int(self._llama.n_tokens) - max(stats.generated_tokens - 1, 0)
                    stats.prompt_tokens = prompt
                    stats.reused_tokens = max(prompt - evaluated, 0)
                    self.last_stats = stats
                finally:
                    pieces.put(("end", None))
                    finished.set()

        self._worker.run(generate)
        try:
            while True:
                kind, value = pieces.get()
                if kind == "end":
                    return
                if kind == "error":
                    if isinstance(value, ValueError):
                        # e.g. "Requested tokens (2100) exceed context window of 2048"
                        raise LLMError(
                            f"local model {self.name} failed: {value}",
                            "the prompt is too long for the context; "
                            "shorten the history or raise n_ctx",
                        ) from value
                    raise value
                yield value
        finally:
            cancelled.set()
            finished.wait()


class _GenerationThread:
    """One daemon thread that runs a model's generations in turn, for the process's life."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._serve, name=f"calmline-llm-{name}", daemon=True
        )
        self._thread.start()

    def run(self, job: Callable[[], None]) -> None:
        """Queue ``job``; it runs after any generation already queued."""
        self._jobs.put(job)

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            with contextlib.suppress(Exception):  # a job reports its own errors
                job()


_INSTANCES: dict[tuple[str, int, int | None], LlamaChatModel] = {}
_INSTANCES_LOCK = threading.Lock()


def get_local_model(
    model: str | None = None,
    *,
    n_ctx: int = DEFAULT_N_CTX,
    n_threads: int | None = None,
    prompt_style: Literal["completion", "chat"] | None = None,
    progress: Progress | None = None,
) -> LlamaChatModel:
    """The process-wide ``LlamaChatModel`` for a short name or ``.gguf`` path.

    Loading is cached per file and settings: the customer and the judge share one
    model, and the KV cache survives between turns.
    """
    path, name = resolve_model(model, progress)
    key = (str(path.resolve()), n_ctx, n_threads)
    with _INSTANCES_LOCK:
        instance = _INSTANCES.get(key)
        if instance is None:
            instance = LlamaChatModel(
                path, name, prompt_style_for(name), n_ctx=n_ctx, n_threads=n_threads
            )
            _INSTANCES[key] = instance
    if prompt_style is not None:
        instance.prompt_style = prompt_style
    return instance
