"""glibc malloc tuning, by what a long call notices: freed memory goes back to the system,
and the threads of the live path share at most two malloc arenas.

Each check runs in a fresh interpreter, so the cap is set there for the first time and
the memory figures are that process's alone.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")

# Eight threads alive at once, each allocating (as a reply's producer, a speculation,
# the listener and the transcriber do); then glibc's own report of its arenas.
ARENAS = """
import ctypes, sys, threading
from calmline.call.memory import tune_malloc
print(tune_malloc(), tune_malloc(), flush=True)  # set once: the second call is a no-op
barrier = threading.Barrier(9)
held = []
def work():
    held.append([bytearray(100_000) for _ in range(20)])
    barrier.wait()
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
barrier.wait()
ctypes.CDLL("libc.so.6").malloc_stats()  # one "Arena N:" block each, on stderr
barrier.wait()
for t in threads:
    t.join()
"""

# 190 MB freed below a block still in use: glibc keeps it until it is trimmed.
TRIM = """
import os
from calmline.call.memory import release_free_memory
def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
blocks = [bytearray(64 * 1024) for _ in range(3000)]
keep = blocks[-1]
del blocks
before = rss_mb()
print(release_free_memory(), before, rss_mb())
"""


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CALMLINE_")}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, check=True, timeout=60, env={**clean, **env},
    )  # fmt: skip


def test_the_live_paths_threads_share_at_most_two_arenas() -> None:
    capped = _python(ARENAS)
    assert capped.stdout.strip() == "2 None"
    assert capped.stderr.count("Arena ") <= 2, capped.stderr
    # CALMLINE_MALLOC_ARENA_MAX=0 leaves glibc's default: an arena a thread, here.
    default = _python(ARENAS, CALMLINE_MALLOC_ARENA_MAX="0")
    assert default.stdout.strip() == "None None"
    assert default.stderr.count("Arena ") > 2, default.stderr


def test_trimming_gives_freed_memory_back_to_the_system() -> None:
    trimmed, before, after = _python(TRIM).stdout.split()
    assert trimmed == "True"
    assert float(before) - float(after) > 100, (before, after)  # of the 190 MB freed
