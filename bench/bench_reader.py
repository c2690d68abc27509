"""Reader throughput on one core: an 8-column AES + zstd batch file, CSV and Parquet.

    python bench/bench_reader.py                 # 1,000,000 rows
    python bench/bench_reader.py --rows 200000 --formats csv
    python bench/bench_reader.py --formats csv,csv-gzip,parquet --impl old,new --api rows,columns
    python bench/bench_reader.py --rev cc614c8     # the reader of another git revision

--impl old reads CSV with the Python csv reader (the reference; `open_batch(csv_engine="python")`), new
with `open_batch`'s default (pyarrow). --api rows times `chunks` (row tuples of Python cells), columns
times `column_chunks` (Arrow string columns; what a columnar writer would consume).

Generates the files with the e2e batch writer into a temporary directory (the encrypted files only; the
reader never writes plaintext anywhere), then times opening and iterating every row, in a fresh process
(with --rev, one that imports the other revision's `cratedb_destination.batch`, checked). It prints the
best and median wall time of --repeat reads and the least CPU time, which is the fair figure on a busy
machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from common import (
    add_rev_option,
    check_origin,
    describe_origin,
    new_format,
    revision_site,
    site_environment,
    write_file,
)
from cratedb_destination.batch import FileFormat, open_batch

COLUMNS = ["id", "name", "amount", "created_at", "active", "quantity", "note", "_fivetran_synced"]
PARQUET_TYPES = {
    "id": pa.int64(),
    "amount": pa.decimal128(18, 4),
    "active": pa.bool_(),
    "quantity": pa.int32(),
}


def parquet_types(kind: str) -> dict[str, pa.DataType] | None:
    """Typed Parquet columns for a Parquet file (the others are strings), as Fivetran writes them."""
    return PARQUET_TYPES if kind == "parquet" else None


def rows(count: int) -> Iterator[tuple[str | None, ...]]:
    """Deterministic mixed rows; about 1 in 10 carries a NULL, some strings need quoting."""
    for i in range(count):
        yield (
            str(i),
            f"customer {i % 9973}" if i % 7 else f'Smith, "J" {i}',
            f"{(i * 7919) % 1000003}.{i % 10000:04d}",
            f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}T{i % 24:02d}:{i % 60:02d}:{i % 59:02d}.{i % 1000:03d}Z",
            "true" if i % 3 else "false",
            str(i % 5000 - 2500),
            None if i % 10 == 0 else f"note {i % 101}",
            "2024-06-01T12:00:00.123456789Z",
        )


def measure(
    path: str, key: bytes, fmt: FileFormat, chunk: int, impl: str = "new", api: str = "rows"
) -> tuple[int, float, float]:
    """Rows, wall seconds and CPU seconds for opening the file and iterating every row once."""
    wall, cpu = time.perf_counter(), time.process_time()
    count = 0
    # The default engine unless --impl old, so revisions from before `csv_engine` can be measured too.
    opened = open_batch(path, key, fmt, csv_engine="python") if impl == "old" else open_batch(path, key, fmt)
    with opened as batch:
        blocks: Iterator[Any] = batch.column_chunks(chunk) if api == "columns" else batch.chunks(chunk)
        for block in blocks:
            count += len(block)
    return count, time.perf_counter() - wall, time.process_time() - cpu


# ---------------------------------------------------------------------------------------------------------
# Every measurement runs in a fresh process (`--child`): this checkout's reader or, with a site first on
# PYTHONPATH, another revision's, and the process says which one it imported.
# ---------------------------------------------------------------------------------------------------------


@dataclass
class ReadResult:
    name: str  # format: csv, csv-gzip, parquet
    impl: str
    api: str
    rows: int
    file_mb: float
    write_seconds: float
    walls: list[float]  # sorted
    cpus: list[float]
    origin: list[str]  # files of cratedb_destination and of the module open_batch lives in

    @property
    def cpu(self) -> float:
        """The least CPU time of the reads: the fair figure on a busy machine."""
        return min(self.cpus)

    @property
    def rows_per_cpu_second(self) -> float:
        return self.rows / max(self.cpu, 1e-9)

    @property
    def rows_per_second(self) -> float:
        """Wall clock, best read."""
        return self.rows / max(self.walls[0], 1e-9)


def measure_in_subprocess(
    path: str, key: bytes, fmt: FileFormat, chunk: int, impl: str, api: str, repeat: int, site: Path | None
) -> tuple[list[str], list[tuple[int, float, float]]]:
    """`repeat` timed reads in a fresh process, `site` first on its PYTHONPATH; (origin files, runs)."""
    task = {
        "path": path,
        "key": key.hex(),  # over a pipe, never on the command line
        "format": [fmt.compression, fmt.encryption, fmt.null_string, fmt.unmodified_string, fmt.kind],
        "chunk": chunk,
        "impl": impl,
        "api": api,
        "repeat": repeat,
    }
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child"],
        input=json.dumps(task),
        capture_output=True,
        text=True,
        env=site_environment(site),
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the reader process failed: {completed.stderr[-2000:]}")
    answer = json.loads(completed.stdout)
    check_origin(answer["origin"], site)
    return answer["origin"], [tuple(run) for run in answer["runs"]]


def _child() -> None:
    """The other end of `measure_in_subprocess`: the task on stdin, the answer on stdout."""
    import cratedb_destination

    task = json.loads(sys.stdin.read())
    fmt = FileFormat(*task["format"])
    key = bytes.fromhex(task["key"])
    args = (task["path"], key, fmt, task["chunk"], task["impl"], task["api"])
    runs = [measure(*args) for _ in range(task["repeat"])]
    origin = [cratedb_destination.__file__, sys.modules[open_batch.__module__].__file__]
    print(json.dumps({"origin": origin, "runs": runs}))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=10_000, help="rows per chunk (default 10000)")
    parser.add_argument(
        "--formats", default="csv,parquet", help="csv, csv-gzip, parquet (AES + zstd unless -gzip)"
    )
    parser.add_argument("--impl", default="new", help="old (Python csv), new (pyarrow) or both: old,new")
    parser.add_argument(
        "--api", default="rows", help="rows (chunks), columns (column_chunks) or rows,columns"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed reads per file; best and median shown")
    add_rev_option(parser)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser


def run(options: argparse.Namespace, sites: Sequence[Path | None]) -> list[list[ReadResult]]:
    """Each file written once, then read by each site's reader in turn; results per site."""
    results: list[list[ReadResult]] = [[] for _ in sites]
    with tempfile.TemporaryDirectory() as directory:
        for name in options.formats.split(","):
            kind, _, compression = name.partition("-")
            fmt = new_format(kind)
            if compression:
                fmt = dataclasses.replace(fmt, compression=compression)
            started = time.perf_counter()
            path, key = write_file(Path(directory), COLUMNS, rows(options.rows), fmt, parquet_types(kind))
            written = time.perf_counter() - started
            size = os.path.getsize(path) / 1e6
            for impl, api in itertools.product(options.impl.split(","), options.api.split(",")):
                if impl == "old" and kind == "parquet" and "new" in options.impl:
                    continue  # one Parquet reader: old and new are the same
                for site, found in zip(sites, results, strict=True):
                    origin, runs = measure_in_subprocess(
                        path, key, fmt, options.chunk, impl, api, options.repeat, site
                    )
                    if any(count != options.rows for count, _, _ in runs):
                        raise SystemExit(f"read the wrong number of rows from {name}: {runs}")
                    walls = sorted(wall for _, wall, _ in runs)
                    cpus = [cpu for _, _, cpu in runs]
                    found.append(
                        ReadResult(name, impl, api, options.rows, size, written, walls, cpus, origin)
                    )
            os.remove(path)
    return results


def print_results(results: Sequence[ReadResult]) -> None:
    print(
        f"{'format':<9} {'impl':<4} {'api':<7} {'rows':>10} {'file MB':>8} {'write s':>8} "
        f"{'read s best':>12} {'median':>7} "
        f"{'CPU s':>6} {'rows/s wall':>12} {'rows/s CPU':>11}"
    )
    for r in results:
        print(
            f"{r.name:<9} {r.impl:<4} {r.api:<7} {r.rows:>10,} {r.file_mb:>8.1f} {r.write_seconds:>8.2f} "
            f"{r.walls[0]:>12.2f} {r.walls[len(r.walls) // 2]:>7.2f} {r.cpu:>6.2f} "
            f"{r.rows_per_second:>12,.0f} {r.rows_per_cpu_second:>11,.0f}"
        )


def main() -> None:
    options = build_parser().parse_args()
    if options.child:
        _child()
        return
    with revision_site(options.rev) as site:
        [results] = run(options, [site])
    print(f"reader: cratedb_destination.batch of {describe_origin(results[0].origin[1], site)}")
    print_results(results)


if __name__ == "__main__":
    main()
