"""glibc malloc tuning: set once per process, harmless anywhere."""

from __future__ import annotations

import subprocess
import sys

from calmline.call.memory import release_free_memory, tune_malloc


def test_trimming_is_safe_to_call_at_any_time() -> None:
    assert isinstance(release_free_memory(), bool)
    assert isinstance(release_free_memory(), bool)


def test_the_arena_cap_is_set_once_and_can_be_turned_off() -> None:
    tune_malloc()
    assert tune_malloc() is None  # already done for this process
    code = "from calmline.call.memory import tune_malloc; print(tune_malloc())"
    for env, expected in (({}, {"2", "None"}), ({"CALMLINE_MALLOC_ARENA_MAX": "0"}, {"None"})):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PATH": "", **env},
        ).stdout.strip()
        assert out in expected  # 2 on glibc, None elsewhere
