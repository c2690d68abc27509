"""How the server process allocates memory: settings applied once at start, and a release after batch RPCs.

Applying a batch file allocates many short-lived buffers of a few MiB (decrypted blocks, request bodies,
Arrow columns) from two threads at a time (the RPC's and the one preparing the next chunk, see
`services/writes.py`). With the allocators' defaults the process keeps much of that memory after it is
freed. Measured figures: docs/performance.md#memory.

- glibc malloc gives threads their own arenas (up to 8 per core), and each keeps its own free memory:
  at most `ARENA_MAX` arenas here.
- glibc serves allocations above the mmap threshold with their own mapping, returned to the system on
  free. The threshold starts at 128 KiB, but every freed mapping raises it to that size (up to 32 MiB), so
  after the first request body of several MiB all later ones come from the heap, where small objects
  allocated in between pin the space and the heap grows. Setting the threshold fixes it at
  `MMAP_THRESHOLD`, above the reader's parse blocks (`batch/arrow_csv.PARSE_BLOCK`, 2 MiB plus the rest
  of a record) and request bodies (1 MiB of values by default), so those come from the heap and are
  reused there, while rare larger buffers still get their own mapping. At 2 MiB every parse block was
  just above it: a fresh mapping per block, its pages faulted in and zeroed by the kernel. 4 MiB halved
  the system CPU (0.53-0.58 s against 0.30-0.34 s over seven 200,000-row replace files) at the same peak
  RSS for a 1 GB file (`bench/bench_writes.py --rows 1000 --big-file-mb 1000 --no-cost`: 145 and 145 MiB
  against 143 and 142; 2026-12-06).
  Both: glibc manual, "Malloc Tunable Parameters",
  https://sourceware.org/glibc/manual/latest/html_node/Malloc-Tunable-Parameters.html, and mallopt(3)
  (the dynamic threshold and its 32 MiB limit), https://man7.org/linux/man-pages/man3/mallopt.3.html
- glibc gives free memory at the top of a heap back to the system as soon as it exceeds the trim
  threshold, 128 KiB once the mmap threshold is set (setting one fixes both). Every chunk then faults its
  buffers in again: the kernel maps and zeroes each 4 KiB page. `TRIM_THRESHOLD` keeps as much as one
  buffer below the mmap threshold for the next chunk; `release()` still gives everything back after the
  batch. 16 MiB kept more: the peak RSS of the memory test after run_all's earlier files reached
  150-153 MiB in some runs.
- Arrow's default pool in pyarrow's wheels is mimalloc, which kept about 10 MiB more after a batch than
  jemalloc here. The jemalloc pool is used where pyarrow has it (not in its Linux arm64 wheels,
  https://github.com/apache/arrow/pull/44380), otherwise Arrow's default stays. API:
  https://arrow.apache.org/docs/python/generated/pyarrow.set_memory_pool.html
- pyarrow configures its jemalloc to give freed pages back after about a second
  (https://github.com/apache/arrow/pull/5701), and jemalloc spreads threads over up to four arenas per
  CPU, each keeping its own free pages. While a batch waits on CrateDB, the pages of the last chunk go
  back, and the next chunk faults them in again. `JEMALLOC_CONF` (jemalloc's `malloc_conf` syntax,
  read from `JE_ARROW_MALLOC_CONF` when jemalloc starts, that is when pyarrow is imported)
  keeps freed pages for a minute and uses one arena, so what one batch frees is what the next chunk, of
  any thread, reuses. Both options: https://jemalloc.net/jemalloc.3.html (`opt.narenas`,
  `opt.dirty_decay_ms`, `opt.muzzy_decay_ms`).
  Together the two settings took the minor page faults of a 100,000-row update file under the cost model
  from 15,000-18,000 to about 4,000, and its destination CPU from about 0.21 s to 0.17 s (2026-12-06;
  docs/performance.md#page-faults).
- `release()` hands free heap memory back to the system after a batch RPC, with glibc's `malloc_trim`
  (all arenas, whole free pages anywhere in the heap: https://man7.org/linux/man-pages/man3/malloc_trim.3.html).
- Python's cyclic garbage collector runs a young-generation pass every 700 net allocations of container
  objects by default, and a full pass over every tracked object (the whole heap: modules, gRPC, protobuf
  descriptors) whenever enough survivors pile up. The row tuples of a chunk (thousands, alive until the
  chunk is sent) make both frequent: about 400 passes and 40 ms of CPU per 200,000-row replace file.
  `GC_THRESHOLD` young allocations per pass, and the objects of start-up frozen out of every pass
  (`gc.freeze`), leave one or two passes and under 3 ms per file; cycles are still collected, later.
  Measured 2026-12-06 with `gc.callbacks` around `bench/bench_writes.py` replace files. API:
  https://docs.python.org/3/library/gc.html#gc.set_threshold and #gc.freeze

Settings an operator gives through the environment win: MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_,
MALLOC_TRIM_THRESHOLD_, GLIBC_TUNABLES (glibc.malloc.*), ARROW_DEFAULT_MEMORY_POOL and
JE_ARROW_MALLOC_CONF. Other C libraries (musl) are left alone.
Only the console script configures the process (`launch.main`, which sets the environment before pyarrow is
imported, then `server.main`); embedding code keeps its own settings.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
from typing import Any

ARENA_MAX = 2
MMAP_THRESHOLD = 4 << 20
TRIM_THRESHOLD = MMAP_THRESHOLD
JEMALLOC_CONF = "narenas:1,dirty_decay_ms:60000,muzzy_decay_ms:0"
_JEMALLOC_CONF_VARIABLE = "JE_ARROW_MALLOC_CONF"  # pyarrow's jemalloc is built with the prefix je_arrow_
GC_THRESHOLD = 50_000
# mallopt parameter numbers (glibc malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

_libc: Any = None


def _glibc() -> Any:
    """The C library, if it is glibc (mallopt and malloc_trim as glibc documents them), else None."""
    global _libc
    if _libc is None:
        _libc = False
        if _libc_name().startswith("glibc"):
            try:
                libc = ctypes.CDLL("libc.so.6")
                libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
                libc.malloc_trim.argtypes = [ctypes.c_size_t]
                _libc = libc
            except (OSError, AttributeError):
                pass
    return _libc or None


def _libc_name() -> str:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError, AttributeError):  # not glibc, or not a POSIX system
        return ""


def _tuned(variable: str, tunable: str) -> bool:
    return variable in os.environ or tunable in os.environ.get("GLIBC_TUNABLES", "")


def prepare_environment() -> None:
    """Set `JEMALLOC_CONF` for pyarrow's jemalloc, unless the operator chose a pool or a configuration.
    jemalloc reads it once, when pyarrow is imported (its allocator starts then), so this must run before
    that import: the console script (`launch.main`) calls it first."""
    if "pyarrow" in sys.modules:  # too late: jemalloc has read its configuration (none is claimed then)
        return
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ and _JEMALLOC_CONF_VARIABLE not in os.environ:
        os.environ[_JEMALLOC_CONF_VARIABLE] = JEMALLOC_CONF


def configure_process() -> list[str]:
    """Apply the settings above (once, at server start, before RPC threads exist); what was applied."""
    applied: list[str] = []
    libc = _glibc()
    if libc is not None:
        if not _tuned("MALLOC_ARENA_MAX", "glibc.malloc.arena_max") and libc.mallopt(_M_ARENA_MAX, ARENA_MAX):
            applied.append(f"malloc arenas at most {ARENA_MAX}")
        if not _tuned("MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold") and libc.mallopt(
            _M_MMAP_THRESHOLD, MMAP_THRESHOLD
        ):
            applied.append(f"malloc mmap threshold {MMAP_THRESHOLD >> 20} MiB")
        if not _tuned("MALLOC_TRIM_THRESHOLD_", "glibc.malloc.trim_threshold") and libc.mallopt(
            _M_TRIM_THRESHOLD, TRIM_THRESHOLD
        ):
            applied.append(f"malloc trim threshold {TRIM_THRESHOLD >> 20} MiB")
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, older, oldest)
    gc.freeze()
    applied.append(f"garbage collection every {GC_THRESHOLD:,} allocations, start-up objects frozen")
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        import pyarrow as pa

        try:
            pa.set_memory_pool(pa.jemalloc_memory_pool())
            conf = os.environ.get(_JEMALLOC_CONF_VARIABLE)
            applied.append(f"Arrow memory pool jemalloc ({conf})" if conf else "Arrow memory pool jemalloc")
        except NotImplementedError:  # this pyarrow has no jemalloc: keep its default
            pass
    return applied


def release() -> None:
    """Return free heap memory to the system (glibc only; a few milliseconds)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
