"""WriteBatch throughput, HTTP requests per 10,000 rows and peak server memory, against the emulator.

The destination runs as a subprocess (the console script, exactly as Fivetran would start it); the CrateDB
emulator runs in this process and counts requests. Batch files are written like Fivetran's core writes
them (CSV -> zstd -> AES-256).

    .venv/bin/python bench/bench_writes.py                  # 100,000 rows per file kind + a 100 MB file
    .venv/bin/python bench/bench_writes.py --rows 20000 --big-mb 20   # quicker
    .venv/bin/python bench/bench_writes.py --no-cost        # the emulator answers at once
    .venv/bin/python bench/bench_writes.py --batch-size-rows 2000   # the destination's batch_size_rows

Prints two tables. "rows/s" is wall-clock and includes the emulator's work (it shares the CPU) and, unless
--no-cost, the time its cost model makes each answer wait (the modelled server time of a small CrateDB
cluster, docs/emulator.md#cost-model); "dest. CPU s" is the CPU time the destination process spent
(reading, decrypting, decompressing, converting, sending), so "dest. rows/CPU s" is the rate at which one
core of the destination can feed CrateDB. The second table shows the cluster's work per file: HTTP
requests, rows written, key lookups and query jobs, and the modelled server time.

The memory line splits the server's peak RSS into file-backed pages (shared libraries: how much of them
is resident depends on the kernel and its page cache, not on the destination) and the rest.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from common import (
    ServerProcess,
    add_cost_options,
    cost_model,
    create_table,
    new_format,
    print_cluster_table,
    table_definition,
    write_file,
    write_request,
)
from cratedb_destination.batch import UNMODIFIED, Cell
from cratedb_emulator import Emulator
from fivetran_e2e.destination_client import connect
from fivetran_proto import common_pb2

SCHEMA = "bench"
COLUMNS = [
    ("id", common_pb2.LONG, True),
    ("name", common_pb2.STRING, False),
    ("amount", common_pb2.DECIMAL, False),
    ("happened", common_pb2.UTC_DATETIME, False),
    ("active", common_pb2.BOOLEAN, False),
    ("payload", common_pb2.JSON, False),
    ("_fivetran_synced", common_pb2.UTC_DATETIME, False),
    ("_fivetran_deleted", common_pb2.BOOLEAN, False),
]
NAMES = [name for name, _, _ in COLUMNS]
SYNCED = "2024-05-01T12:00:00.000Z"


def table_proto(name: str) -> Any:
    return table_definition(name, COLUMNS, decimal=(18, 4))


def replace_rows(count: int, payload_bytes: int = 40) -> Iterator[list[Cell]]:
    filler = secrets.token_urlsafe(payload_bytes)
    for i in range(count):
        payload = (
            f'{{"n": {i}, "s": "{filler}"}}'
            if payload_bytes <= 64
            else f'{{"s": "{secrets.token_urlsafe(payload_bytes)}"}}'
        )
        yield [
            str(i),
            f"name {i}",
            f"{i % 100000}.{i % 10000:04d}",
            "2024-05-01T11:59:59.123Z",
            "true" if i % 2 else "false",
            payload,
            SYNCED,
            "false",
        ]


def update_rows(count: int) -> Iterator[list[Cell]]:
    for i in range(count):  # two column sets, as with typical partial updates
        if i % 2:
            yield [str(i), f"renamed {i}", UNMODIFIED, UNMODIFIED, UNMODIFIED, UNMODIFIED, SYNCED, UNMODIFIED]
        else:
            yield [str(i), UNMODIFIED, "1.5000", UNMODIFIED, "false", UNMODIFIED, SYNCED, UNMODIFIED]


def delete_rows(count: int) -> Iterator[list[Cell]]:
    for i in range(count):
        yield [str(i), None, None, None, None, None, SYNCED, None]


# One file of each kind: its rows by row count.
FILE_KINDS: dict[str, Callable[[int], Iterator[list[Cell]]]] = {
    "replace": replace_rows,
    "update": update_rows,
    "delete": delete_rows,
}


class FileBackedAtPeak:
    """Samples the server's RSS and its file-backed part (psutil's `shared`: resident pages of mapped
    files) every 20 ms, and keeps the sample with the highest RSS."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.rss = 0
        self.file_backed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            info = self.server.ps.memory_info()
            if info.rss > self.rss:
                self.rss, self.file_backed = info.rss, getattr(info, "shared", 0)
            time.sleep(0.02)

    def __enter__(self) -> FileBackedAtPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows per replace/update/delete file")
    parser.add_argument(
        "--big-mb", type=int, default=100, help="uncompressed size of the memory-test file (MB)"
    )
    parser.add_argument(
        "--batch-size-rows", type=int, default=None, help="the destination's batch_size_rows setting"
    )
    add_cost_options(parser)
    args = parser.parse_args()
    model = cost_model(args)

    fmt = new_format()
    results: list[tuple[str, int, float, float, dict[str, Any]]] = []
    with Emulator(host="127.0.0.1", port=0, cost=model) as emulator, tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        server = ServerProcess()
        channel, stub = connect(f"127.0.0.1:{server.port}")
        configuration = {"url": emulator.url}
        if args.batch_size_rows:
            configuration["batch_size_rows"] = str(args.batch_size_rows)

        def write(label: str, kind: str, file: tuple[str, bytes], count: int, table: Any) -> None:
            """Send one file; record seconds, the destination's CPU seconds and the emulator's counts."""
            request = write_request(configuration, SCHEMA, table, kind, file, fmt)
            emulator.reset_stats()
            cpu = server.cpu_seconds()
            started = time.perf_counter()
            answer = stub.WriteBatch(request, timeout=3600)
            elapsed = time.perf_counter() - started
            assert answer.success, answer
            results.append((label, count, elapsed, server.cpu_seconds() - cpu, emulator.stats()))
            os.remove(file[0])

        try:
            events = table_proto("events")
            create_table(stub, configuration, SCHEMA, events)
            for kind, rows in FILE_KINDS.items():
                write(kind, kind, write_file(directory, NAMES, rows(args.rows), fmt), args.rows, events)

            # Memory: one file of about --big-mb MB of CSV (random payloads, so it barely compresses).
            big_table = table_proto("big")
            create_table(stub, configuration, SCHEMA, big_table)
            row_bytes = 1100
            big_rows = args.big_mb * 1_000_000 // row_bytes
            big_file = write_file(directory, NAMES, replace_rows(big_rows, payload_bytes=768), fmt)
            file_mb = os.path.getsize(big_file[0]) / 1e6
            idle = server.rss()
            server.reset_peak()
            with FileBackedAtPeak(server) as split:
                write("replace (big)", "replace", big_file, big_rows, big_table)
            peak = server.peak
            time.sleep(1.5)  # what the server keeps once the batch is done
            after = server.rss()
        finally:
            channel.close()
            server.stop()

    header = (
        "file",
        "rows",
        "seconds",
        "rows/s",
        "dest. CPU s",
        "dest. rows/CPU s",
        "HTTP req",
        "req/10k rows",
    )
    print("{:<15} {:>9} {:>8} {:>9} {:>11} {:>16} {:>9} {:>13}".format(*header))
    for kind, count, elapsed, cpu, stats in results:
        requests = stats["http_requests"]
        print(
            f"{kind:<15} {count:>9,} {elapsed:>8.2f} {count / elapsed:>9,.0f} {cpu:>11.2f} "
            f"{count / max(cpu, 1e-9):>16,.0f} {requests:>9} {requests * 10_000 / count:>13.2f}"
        )
    print(
        f"\nmemory test: {big_rows:,} rows, {file_mb:.1f} MB encrypted+compressed file "
        f"(about {args.big_mb} MB of CSV); server RSS idle {idle / 2**20:.0f} MiB, "
        f"peak {peak / 2**20:.0f} MiB (at the highest sample: {split.file_backed / 2**20:.0f} MiB "
        f"file-backed, {(split.rss - split.file_backed) / 2**20:.0f} MiB other), "
        f"1.5 s after it {after / 2**20:.0f} MiB"
    )
    print(
        "HTTP requests include the one REFRESH TABLE per WriteBatch; statement kinds of the last run:",
        {k: v for k, v in results[-1][4]["statements"].items() if v},
    )
    print_cluster_table(model, [(kind, cpu, elapsed, stats) for kind, _, elapsed, cpu, stats in results])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
