"""Every benchmark figure in one table: reader speed, write speed and HTTP requests, memory, concurrency.

    .venv/bin/python bench/run_all.py            # full size (about a minute on 2 cores)
    .venv/bin/python bench/run_all.py --quick    # CI size (well under a minute)

Builds on the single-purpose scripts next to it: the reader figures use `bench_reader`'s rows and timing,
the write figures `bench_writes`' table and rows, sent to the destination subprocess of `common` (the
console script, as Fivetran starts it) against the in-process CrateDB emulator, which counts HTTP requests.
Concurrency scaling runs 1, 2, 4 and 8 WriteBatch calls at once, each on its own table.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_reader
import bench_writes
from common import ServerProcess, create_table, new_format, write_file, write_request
from cratedb_emulator import Emulator
from fivetran_e2e.destination_client import connect

SCHEMA = "bench_all"


@dataclass(frozen=True)
class Sizes:
    reader_rows: int
    write_rows: int
    scaling_rows: int


QUICK = Sizes(reader_rows=20_000, write_rows=5_000, scaling_rows=1_000)
FULL = Sizes(reader_rows=1_000_000, write_rows=100_000, scaling_rows=20_000)


@dataclass
class Figure:
    section: str
    metric: str
    value: float
    unit: str
    note: str = ""


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{cpu}; {os.cpu_count()} logical CPUs; {memory:.0f} GiB RAM; "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}"
    )


# ---------------------------------------------------------------------------------------------------------
# Reader
# ---------------------------------------------------------------------------------------------------------


def reader_figures(rows: int, directory: Path) -> list[Figure]:
    figures = []
    for kind in ("csv", "parquet"):
        fmt = new_format(kind)
        types = bench_reader.parquet_types(kind)
        path, key = write_file(directory, bench_reader.COLUMNS, bench_reader.rows(rows), fmt, types)
        best = min(bench_reader.measure(path, key, fmt, 10_000)[1] for _ in range(2))
        figures.append(
            Figure(
                "reader",
                f"{kind.upper()} read (AES + zstd, 8 columns)",
                rows / best,
                "rows/s",
                f"{rows:,} rows, best of 2",
            )
        )
        os.remove(path)
    return figures


# ---------------------------------------------------------------------------------------------------------
# Writes, memory and concurrency against the emulator
# ---------------------------------------------------------------------------------------------------------


class WriteBench:
    def __init__(self, emulator: Emulator, server: ServerProcess, directory: Path) -> None:
        self.emulator = emulator
        self.server = server
        self.directory = directory
        self.channel, self.stub = connect(f"127.0.0.1:{server.port}")
        self.configuration = {"url": emulator.url}
        self.fmt = new_format()

    def create(self, name: str) -> Any:
        definition = bench_writes.table_proto(name)
        create_table(self.stub, self.configuration, SCHEMA, definition)
        return definition

    def request(self, definition: Any, kind: str, rows: Iterator[Sequence[Any]]) -> Any:
        file = write_file(self.directory, bench_writes.NAMES, rows, self.fmt)
        return write_request(self.configuration, SCHEMA, definition, kind, file, self.fmt)

    def send(self, request: Any) -> float:
        started = time.perf_counter()
        response = self.stub.WriteBatch(request, timeout=3600)
        elapsed = time.perf_counter() - started
        if not response.success:
            raise RuntimeError(f"WriteBatch failed: {response}")
        return elapsed

    def kinds(self, rows: int) -> list[Figure]:
        definition = self.create("events")
        figures = []
        for kind, generate in bench_writes.FILE_KINDS.items():
            request = self.request(definition, kind, generate(rows))
            self.emulator.reset_stats()
            elapsed = self.send(request)
            requests = self.emulator.stats()["http_requests"]
            note = f"{rows:,} rows in {elapsed:.2f} s"
            figures.append(Figure("writes", f"{kind} throughput", rows / elapsed, "rows/s", note))
            figures.append(
                Figure(
                    "writes",
                    f"{kind} HTTP requests per 10,000 rows",
                    requests * 10_000 / rows,
                    "requests",
                    "incl. the REFRESH per WriteBatch",
                )
            )
        return figures

    def scaling(self, rows: int) -> list[Figure]:
        figures = []
        base = None
        for concurrency in (1, 2, 4, 8):
            definitions = [self.create(f"scale_{concurrency}_{i}") for i in range(concurrency)]
            requests = [self.request(d, "replace", bench_writes.replace_rows(rows)) for d in definitions]
            barrier = threading.Barrier(concurrency)

            def run(request: Any, barrier: threading.Barrier = barrier) -> float:
                barrier.wait()
                return self.send(request)

            started = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                list(pool.map(run, requests))
            wall = time.perf_counter() - started
            throughput = concurrency * rows / wall
            base = base or throughput
            figures.append(
                Figure(
                    "concurrency",
                    f"{concurrency} concurrent WriteBatch (replace)",
                    throughput,
                    "rows/s",
                    f"{throughput / base:.2f}x of 1; {concurrency} x {rows:,} rows",
                )
            )
        return figures

    def close(self) -> None:
        self.channel.close()


def write_figures(sizes: Sizes, directory: Path) -> list[Figure]:
    with Emulator(host="127.0.0.1", port=0) as emulator:
        server = ServerProcess()
        bench = WriteBench(emulator, server, directory)
        try:
            idle = server.rss()
            server.reset_peak()
            figures = bench.kinds(sizes.write_rows)
            figures += bench.scaling(sizes.scaling_rows)
            peak = server.peak
        finally:
            bench.close()
            server.stop()
    figures.append(Figure("memory", "destination RSS idle", idle / 2**20, "MiB"))
    figures.append(
        Figure(
            "memory",
            "destination peak RSS during the write benchmarks",
            peak / 2**20,
            "MiB",
            "sampled every 20 ms",
        )
    )
    return figures


def print_table(figures: list[Figure], sizes: Sizes, elapsed: float) -> None:
    print(f"machine: {machine()}")
    print(
        f"sizes: reader {sizes.reader_rows:,} rows; writes {sizes.write_rows:,} rows per file kind; "
        f"concurrency {sizes.scaling_rows:,} rows per batch; CrateDB emulator in this process"
    )
    line = "{:<12} {:<50} {:>12} {:<9} {}"
    print(line.format("section", "metric", "value", "unit", "note"))
    print("-" * 110)
    for f in figures:
        value = f"{f.value:,.0f}" if f.value >= 100 else f"{f.value:,.2f}"
        print(line.format(f.section, f.metric, value, f.unit, f.note))
    print(f"total benchmark time {elapsed:.1f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI-sized runs (seconds instead of minutes)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        directory = Path(tmp)
        figures = reader_figures(sizes.reader_rows, directory)
        figures += write_figures(sizes, directory)
    print_table(figures, sizes, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
