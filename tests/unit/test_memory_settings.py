"""The server's allocator settings (`cratedb_destination.memory`), each checked in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cratedb_destination import memory

_CHILD = """
import ctypes, gc, json, sys
import pyarrow
from cratedb_destination import memory

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Mallinfo2
applied = memory.configure_process() if sys.argv[1] == "configure" else []
# glibc's dynamic threshold: freeing a 16 MiB mapping raises the threshold to 16 MiB, so a 6 MiB buffer
# allocated next comes from the heap. With the fixed threshold it gets its own mapping again.
first = bytearray(16 << 20)
del first
before = libc.mallinfo2().hblkhd
second = bytearray(6 << 20)
mapped = libc.mallinfo2().hblkhd - before
del second
# Below the mmap threshold and at the top of the heap: freed, it stays there up to the trim threshold.
third = bytearray(3 << 20)
heap = libc.mallinfo2().arena
del third
returned = heap - libc.mallinfo2().arena
memory.release()
print(json.dumps({"applied": applied, "mapped_mib": mapped / 2**20, "returned_mib": returned / 2**20,
                  "pool": pyarrow.default_memory_pool().backend_name,
                  "gc_threshold": gc.get_threshold()[0], "frozen": gc.get_freeze_count()}))
"""


_GC = f"garbage collection every {memory.GC_THRESHOLD:,} allocations, start-up objects frozen"


def _glibc_with_mallinfo2() -> bool:
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError, AttributeError):
        return False
    if not version.startswith("glibc "):
        return False
    major, minor = (int(part) for part in version.split()[1].split(".")[:2])
    return (major, minor) >= (2, 33)  # mallinfo2


pytestmark = pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="glibc malloc settings (glibc >= 2.33)")


_OPERATOR_SETTINGS = ("MALLOC_", "GLIBC_TUNABLES", "ARROW_", "JE_ARROW_")


def _environment(**settings: str) -> dict[str, str]:
    """This process's environment without allocator settings, plus `settings` (an operator's)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_OPERATOR_SETTINGS)}
    return {**clean, **settings}


def _run(mode: str, **env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, mode],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(**env),
    )
    return json.loads(result.stdout)


def _has_jemalloc() -> bool:
    import pyarrow

    try:
        pyarrow.jemalloc_memory_pool()
    except NotImplementedError:
        return False
    return True


def test_the_server_settings_fix_the_mmap_threshold_and_pick_jemalloc() -> None:
    before, after = _run("defaults"), _run("configure")
    assert before["mapped_mib"] < 6, before  # the dynamic threshold put the 6 MiB buffer on the heap
    assert after["mapped_mib"] >= 6, after
    assert after["applied"][:3] == [
        "malloc arenas at most 2",
        "malloc mmap threshold 4 MiB",
        "malloc trim threshold 4 MiB",
    ]
    assert after["returned_mib"] < 1, after  # the freed 3 MiB stay for the next buffer
    assert before["gc_threshold"] == 700 and before["frozen"] == 0  # Python's defaults
    assert after["gc_threshold"] == memory.GC_THRESHOLD and after["frozen"] > 1000
    if _has_jemalloc():
        assert after["pool"] == "jemalloc"
        assert "Arrow memory pool jemalloc" in after["applied"]
    else:
        assert after["pool"] == before["pool"]


def test_settings_from_the_environment_win() -> None:
    operator = {
        "MALLOC_ARENA_MAX": "4",
        "MALLOC_MMAP_THRESHOLD_": "4194304",
        "MALLOC_TRIM_THRESHOLD_": "131072",
    }
    result = _run("configure", **operator, ARROW_DEFAULT_MEMORY_POOL="system")
    assert result["applied"] == [_GC]
    assert result["pool"] == "system"
    assert result["returned_mib"] > 2, result  # the operator's trim threshold: the freed 3 MiB went back
    tuned = _run("configure", GLIBC_TUNABLES="glibc.malloc.arena_max=4", ARROW_DEFAULT_MEMORY_POOL="system")
    assert tuned["applied"] == ["malloc mmap threshold 4 MiB", "malloc trim threshold 4 MiB", _GC]


_LAUNCH = """
import sys
from cratedb_destination import launch, memory
assert "pyarrow" not in sys.modules, "launch must not import pyarrow before the environment is set"
memory.JEMALLOC_CONF = sys.argv[1]
launch.main(["--help"])
"""


def _launch(conf: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _LAUNCH, conf],
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(**env),
    )


@pytest.mark.skipif(not _has_jemalloc(), reason="this pyarrow has no jemalloc")
def test_the_console_script_configures_jemalloc_before_pyarrow_starts_it() -> None:
    # jemalloc reports an option it does not know on stderr, and only if it read the configuration: so a
    # made-up option shows that the setting arrived in time (pyarrow's jemalloc starts with the import).
    unknown = "no_such_option:1"
    result = _launch(unknown)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
    assert f"Invalid conf pair: {unknown}" in result.stderr
    chosen = _launch(unknown, JE_ARROW_MALLOC_CONF="narenas:2")  # the operator's own configuration wins
    assert chosen.returncode == 0 and "Invalid conf pair" not in chosen.stderr, chosen.stderr
    other_pool = _launch(unknown, ARROW_DEFAULT_MEMORY_POOL="system")
    assert other_pool.returncode == 0 and "Invalid conf pair" not in other_pool.stderr, other_pool.stderr


def test_no_configuration_is_set_once_pyarrow_is_imported() -> None:
    # jemalloc has read the environment by then; a variable set afterwards would only mislead the log.
    script = (
        "import os, pyarrow\n"
        "from cratedb_destination import memory\n"
        "memory.prepare_environment()\n"
        "print(os.environ.get('JE_ARROW_MALLOC_CONF'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=_environment(),
    )
    assert result.stdout.strip() == "None"


def test_the_shipped_jemalloc_configuration_is_valid() -> None:
    if not _has_jemalloc():
        pytest.skip("this pyarrow has no jemalloc")
    result = _launch(memory.JEMALLOC_CONF)
    assert result.returncode == 0 and "<jemalloc>" not in result.stderr, result.stderr
