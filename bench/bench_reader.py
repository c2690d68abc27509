"""Reader throughput on one core: an 8-column AES + zstd batch file, CSV and Parquet.

    python bench/bench_reader.py                 # 1,000,000 rows
    python bench/bench_reader.py --rows 200000 --formats csv
    python bench/bench_reader.py --formats csv,csv-gzip,parquet --impl old,new --api rows,columns

--impl old reads CSV with the Python csv reader (the reference; `open_batch(csv_engine="python")`), new
with pyarrow. --api rows times `chunks` (row tuples of Python cells), columns times `column_chunks`
(Arrow string columns; what a columnar writer would consume).

Generates the files with the e2e batch writer into a temporary directory (the encrypted files only; the
reader never writes plaintext anywhere), then times opening and iterating every row. It prints the best
and median wall time of --repeat reads and the least CPU time, which is the fair figure on a busy machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from common import new_format, write_file
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
    engine = "python" if impl == "old" else "arrow"
    with open_batch(path, key, fmt, csv_engine=engine) as batch:
        blocks: Iterator[Any] = batch.column_chunks(chunk) if api == "columns" else batch.chunks(chunk)
        for block in blocks:
            count += len(block)
    return count, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
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
    args = parser.parse_args()
    print(
        f"{'format':<9} {'impl':<4} {'api':<7} {'rows':>10} {'file MB':>8} {'write s':>8} "
        f"{'read s best':>12} {'median':>7} "
        f"{'CPU s':>6} {'rows/s wall':>12} {'rows/s CPU':>11}"
    )
    with tempfile.TemporaryDirectory() as directory:
        for name in args.formats.split(","):
            kind, _, compression = name.partition("-")
            fmt = new_format(kind)
            if compression:
                fmt = dataclasses.replace(fmt, compression=compression)  # type: ignore[arg-type]
            started = time.perf_counter()
            path, key = write_file(Path(directory), COLUMNS, rows(args.rows), fmt, parquet_types(kind))
            written = time.perf_counter() - started
            for impl, api in itertools.product(args.impl.split(","), args.api.split(",")):
                if impl == "old" and kind == "parquet" and "new" in args.impl:
                    continue  # one Parquet reader: old and new are the same
                report(name, impl, api, path, key, fmt, args, written)


def report(
    name: str, impl: str, api: str, path: str, key: bytes, fmt: FileFormat, args: Any, written: float
) -> None:
    runs = [measure(path, key, fmt, args.chunk, impl, api) for _ in range(args.repeat)]
    if any(count != args.rows for count, _, _ in runs):
        raise SystemExit(f"read the wrong number of rows from {name}: {runs}")
    walls = sorted(wall for _, wall, _ in runs)
    cpu = min(cpu for _, _, cpu in runs)
    size = os.path.getsize(path) / 1e6
    print(
        f"{name:<9} {impl:<4} {api:<7} {args.rows:>10,} {size:>8.1f} {written:>8.2f} {walls[0]:>12.2f} "
        f"{walls[len(walls) // 2]:>7.2f} {cpu:>6.2f} {args.rows / walls[0]:>12,.0f} "
        f"{args.rows / cpu:>11,.0f}"
    )


if __name__ == "__main__":
    main()
