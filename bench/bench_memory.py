"""Where the destination's memory goes while it applies one file of wide rows: the live Python memory at
the heaviest moment, by the code that allocated it (reader, writer, driver), and Arrow's allocations.

The destination is served in this process (so that tracemalloc sees it), the CrateDB emulator runs in a
subprocess (its memory stays out of the figures). Before each HTTP request of more than 1 MiB, the
sending thread waits --wait seconds (as while a cluster answers), so the background thread has prepared
the next chunk; then a tracemalloc snapshot is taken, and the one with the most live memory is printed.
Figures are Python allocations (tracemalloc: the size requested, not resident pages) and Arrow's
(`pyarrow.total_allocated_bytes`), not RSS; `bench_writes.py` gives the server's RSS.

    .venv/bin/python bench/bench_memory.py                                  # ~20 MB of CSV, defaults
    .venv/bin/python bench/bench_memory.py --big-mb 100 --batch-size-rows 2000
"""

from __future__ import annotations

import argparse
import linecache
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import bench_writes
import pyarrow as pa
from common import create_table, new_format, write_file, write_request
from crate.client import http as crate_http
from cratedb_destination.server import start_server
from fivetran_e2e.destination_client import connect

MIB = 1 << 20
# The innermost frame under one of these paths names the allocation's owner.
OWNERS = (
    ("cratedb_destination/batch/", "reader"),
    ("cratedb_destination/services/", "writer"),
    ("cratedb_destination/type_mapping.py", "writer"),
    ("cratedb_destination/client.py", "client"),
    ("crate/client/", "driver"),
)


def owner(traceback: tracemalloc.Traceback) -> str:
    for frame in reversed(traceback):  # innermost first
        for part, name in OWNERS:
            if part in frame.filename:
                line = linecache.getline(frame.filename, frame.lineno).strip()[:48]
                return f"{name:<7} {Path(frame.filename).name}:{frame.lineno}  {line}"
    return "other   (imports, gRPC, caches: there before the file)"


class Snapshots:
    """Wraps the driver's request method: waits, snapshots, keeps the heaviest snapshot's summary."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        self.best = 0
        self.summary: list[str] = []
        self.requests = 0

    def install(self) -> None:
        send = crate_http.Server.request

        def request(server: Any, method: str, path: str, data: Any = None, **kwargs: Any) -> Any:
            if data is not None and len(data) > MIB:
                self.requests += 1
                time.sleep(self.wait)
                self.take(len(data))
            return send(server, method, path, data=data, **kwargs)

        crate_http.Server.request = request  # type: ignore[method-assign]

    def take(self, body: int) -> None:
        live = tracemalloc.get_traced_memory()[0]
        if live <= self.best:
            return
        groups: dict[str, int] = {}
        for stat in tracemalloc.take_snapshot().statistics("traceback"):
            key = owner(stat.traceback)
            groups[key] = groups.get(key, 0) + stat.size
        self.best = live
        self.summary = [
            f"request {self.requests}: {body / MIB:.1f} MiB sent (after gzip); live Python memory "
            f"{live / MIB:.1f} MiB, Arrow {pa.total_allocated_bytes() / MIB:.1f} MiB"
        ]
        for key, size in sorted(groups.items(), key=lambda item: -item[1])[:16]:
            self.summary.append(f"  {size / MIB:6.1f} MiB  {key}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-mb", type=int, default=20, help="size of the CSV before compression (MB)")
    parser.add_argument("--batch-size-rows", type=int, default=None, help="the batch_size_rows setting")
    parser.add_argument("--wait", type=float, default=0.3, help="seconds each large request waits")
    args = parser.parse_args()

    fmt = new_format()
    port = free_port()
    emulator = subprocess.Popen(
        [sys.executable, "-m", "cratedb_emulator", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with tempfile.TemporaryDirectory() as tmp:
        rows = args.big_mb * 1_000_000 // 1100
        file = write_file(Path(tmp), bench_writes.NAMES, bench_writes.replace_rows(rows, 768), fmt)
        deadline = time.monotonic() + 30
        while socket.socket().connect_ex(("127.0.0.1", port)) and time.monotonic() < deadline:
            time.sleep(0.1)
        server, server_port = start_server("127.0.0.1", 0)
        channel, stub = connect(f"127.0.0.1:{server_port}")
        try:
            configuration = {"url": f"http://127.0.0.1:{port}"}
            if args.batch_size_rows:
                configuration["batch_size_rows"] = str(args.batch_size_rows)
            table = bench_writes.table_proto("wide")
            create_table(stub, configuration, "bench", table)
            snapshots = Snapshots(args.wait)
            snapshots.install()
            tracemalloc.start(25)
            answer = stub.WriteBatch(
                write_request(configuration, "bench", table, "replace", file, fmt), timeout=3600
            )
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert answer.success, answer
        finally:
            channel.close()
            server.stop(None)
            emulator.terminate()
            emulator.wait(10)
    print(
        f"{rows:,} rows of 1.1 KB, batch_size_rows {args.batch_size_rows or 'default'}: "
        f"{snapshots.requests} requests over 1 MiB; Python peak {peak / MIB:.1f} MiB, "
        f"Arrow peak {pa.default_memory_pool().max_memory() / MIB:.1f} MiB"
    )
    print("\n".join(snapshots.summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
