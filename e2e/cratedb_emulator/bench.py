"""Throughput of the emulator through the `crate` driver: `python -m cratedb_emulator.bench [--rows N]`.

Times one bulk request per operation on a 10-column table (every CrateDB type the destination writes
most): INSERT, upsert of existing rows (ON CONFLICT DO UPDATE), UPDATE by primary key, DELETE by primary
key, plus a full read back. Figures include the driver's JSON encoding and gzip, like a real client.
`--lookups` times the history-mode lookups instead (OR chains and `= ANY(?)` arrays, run repeatedly).
`--gate` times the grammar gate instead: many small requests with the gate off, on, and without its cache.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from crate import client

from . import gate, grammar
from .server import Emulator

_COLUMNS = (
    "id BIGINT PRIMARY KEY, name TEXT, qty INTEGER, price DOUBLE PRECISION, amount NUMERIC(38, 10), "
    "flag BOOLEAN, ts TIMESTAMP WITH TIME ZONE, naive TIMESTAMP WITHOUT TIME ZONE, "
    "body TEXT INDEX OFF STORAGE WITH (columnstore = false), tag TEXT"
)
_NAMES = ("id", "name", "qty", "price", "amount", "flag", "ts", "naive", "body", "tag")


def _rows(count: int, tag: str, start: int = 0) -> list[list[Any]]:
    return [
        [
            i,
            f"name {i} {tag}",
            i % 1000,
            i / 7,
            f"{i}.{i % 10_000:04d}",
            i % 3 == 0,
            f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{i // 60 % 60:02d}"
            f".{i % 1_000_000:06d}Z",
            f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00",
            f"body {i} " * 10,
            tag,
        ]
        for i in range(start, start + count)
    ]


def _timed(label: str, rows: int, action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    print(f"{label:<34} {rows:>9,} rows  {elapsed:7.3f} s  {rows / elapsed:>10,.0f} rows/s")
    return elapsed


def _check(results: Sequence[dict[str, Any]]) -> None:
    failed = [r for r in results if r.get("rowcount") != 1]
    if failed:
        raise SystemExit(f"{len(failed)} rows failed, first: {failed[0]}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cratedb_emulator.bench", description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000, help="rows per bulk request (default 10,000)")
    parser.add_argument(
        "--total", type=int, default=0, help="also upsert this many rows in --rows batches and read them back"
    )
    parser.add_argument("--lookups", action="store_true", help="time history-mode lookups instead")
    parser.add_argument("--gate", action="store_true", help="time the grammar gate instead")
    options = parser.parse_args(argv)
    if options.lookups:
        _lookups()
        return 0
    if options.gate:
        _gate()
        return 0
    count = options.rows
    placeholders = ", ".join("?" for _ in _NAMES)
    columns = ", ".join(_NAMES)
    updates = ", ".join(f"{name} = excluded.{name}" for name in _NAMES[1:])
    insert = f"INSERT INTO bench.t ({columns}) VALUES ({placeholders})"
    upsert = f"{insert} ON CONFLICT (id) DO UPDATE SET {updates}"
    with Emulator(port=0) as emulator:
        cursor = client.connect(emulator.url).cursor()
        cursor.execute(f"CREATE TABLE bench.t ({_COLUMNS})")
        first, second = _rows(count, "a"), _rows(count, "b")
        print(f"CrateDB emulator {emulator.engine.version}, 10 columns, one bulk request per line")
        _timed("bulk INSERT (new rows)", count, lambda: _check(cursor.executemany(insert, first)))
        _timed("bulk upsert (existing rows)", count, lambda: _check(cursor.executemany(upsert, second)))
        _timed(
            "bulk UPDATE by primary key",
            count,
            lambda: _check(
                cursor.executemany("UPDATE bench.t SET qty = ? WHERE id = ?", [[1, i] for i in range(count)])
            ),
        )
        cursor.execute("REFRESH TABLE bench.t")

        def read() -> None:
            cursor.execute(f"SELECT {columns}, amount::TEXT FROM bench.t ORDER BY id")
            cursor.fetchall()

        _timed("SELECT all rows", count, read)
        _timed(
            "bulk DELETE by primary key",
            count,
            lambda: _check(
                cursor.executemany("DELETE FROM bench.t WHERE id = ?", [[i] for i in range(count)])
            ),
        )
        if options.total:
            _volume(cursor, upsert, count, options.total)
    return 0


def _volume(cursor: Any, upsert: str, batch: int, total: int) -> None:
    """Upsert `total` rows in `batch`-row requests, then read them back in 100,000-row pages."""

    def load() -> None:
        for start in range(0, total, batch):
            _check(cursor.executemany(upsert, _rows(min(batch, total - start), "v", start)))

    def read_back() -> None:
        cursor.execute("REFRESH TABLE bench.t")
        seen = 0
        for start in range(0, total, 100_000):
            cursor.execute(
                f"SELECT {', '.join(_NAMES)}, amount::TEXT FROM bench.t WHERE id >= ? AND id < ? ORDER BY id",
                [start, start + 100_000],
            )
            seen += len(cursor.fetchall())
        if seen != total:
            raise SystemExit(f"read back {seen} rows, expected {total}")

    _timed(f"upsert in {batch:,}-row requests", total, load)
    _timed("read back in 100,000-row pages", total, read_back)


_START = '"_fivetran_start"'
_TS = "CAST(? AS TIMESTAMP WITH TIME ZONE)"


def _lookups(records: int = 20_000, repeat: int = 5) -> None:
    """History-mode lookups on a table of `records` versions: the first run of a statement, then the median.

    The statement shapes are the destination's (cratedb_destination.sql.history): per-record OR chains of
    200 records, and `= ANY(?)` with one array per key column for half the table.
    """
    with Emulator(port=0) as emulator:
        cursor = client.connect(emulator.url).cursor()
        columns = f"id BIGINT, {_START} TIMESTAMP WITH TIME ZONE, v TEXT, PRIMARY KEY (id, {_START})"
        cursor.execute(f"CREATE TABLE bench.h ({columns})")
        old, bound = "2024-03-01T00:00:00.000Z", "2024-03-02T00:00:00.000Z"
        for start in range(0, records, 10_000):
            rows = [[i, old, f"v{i}"] for i in range(start, min(records, start + 10_000))]
            _check(cursor.executemany(f"INSERT INTO bench.h (id, {_START}, v) VALUES (?, ?, ?)", rows))
        cursor.execute("REFRESH TABLE bench.h")
        chain = 200
        keys = list(range(0, records, records // chain))[:chain]
        before = f'("id" = ? AND {_START} < {_TS})'
        between = f'("id" = ? AND {_START} >= {_TS} AND {_START} < {_TS})'
        half = list(range(0, records, 2))
        cases: list[tuple[str, str, list[Any]]] = [
            (
                f"previous_starts, {chain} records (OR chain)",
                f'SELECT "id", MAX({_START}) FROM bench.h WHERE {" OR ".join([before] * chain)} '
                'GROUP BY "id"',
                [value for key in keys for value in (key, bound)],
            ),
            (
                f"versions_between, {chain} records (OR chain)",
                f'SELECT "id", {_START}, "v" FROM bench.h WHERE {" OR ".join([between] * chain)}',
                [value for key in keys for value in (key, "2024-02-01T00:00:00.000Z", bound)],
            ),
            (
                f"latest_starts_before, {len(half):,} keys (= ANY)",
                f'SELECT "id", MAX({_START}) FROM bench.h WHERE "id" = ANY(CAST(? AS ARRAY(BIGINT))) '
                f'AND {_START} < {_TS} GROUP BY "id"',
                [half, bound],
            ),
            (
                f"versions_at, {len(half):,} keys (two = ANY)",
                f'SELECT "id", {_START}, "v" FROM bench.h WHERE "id" = ANY(CAST(? AS ARRAY(BIGINT))) '
                f"AND {_START} = ANY(CAST(? AS ARRAY(TIMESTAMP WITH TIME ZONE)))",
                [half, [old] * len(half)],
            ),
        ]
        print(f"CrateDB emulator {emulator.engine.version}, history lookups on {records:,} versions")
        for label, stmt, args in cases:
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                cursor.execute(stmt, args)
                cursor.fetchall()
                times.append(time.perf_counter() - started)
            print(
                f"{label:<42} {len(stmt):>6,} chars  first {times[0] * 1000:7.1f} ms  "
                f"median {statistics.median(times) * 1000:7.1f} ms"
            )


def _gate(requests: int = 1_000, tables: int = 50, rounds: int = 3) -> None:
    """Single-row upserts and primary-key reads spread over `tables` tables (new names, same shapes), with the
    grammar gate off, on, and with every statement parsed again (no cache); rounds interleaved, median shown.
    """
    saved = gate.check, grammar.verdict, grammar.judge

    def uncached() -> None:
        grammar.verdict, grammar.judge = grammar._verdict, grammar._parse

    modes: dict[str, Callable[[], None]] = {
        "gate off": lambda: setattr(gate, "check", lambda stmt, version: None),
        "gate on (cached)": grammar.clear_caches,
        "gate on, no cache": uncached,
    }
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(rounds):
        for mode, setup in modes.items():
            setup()
            try:
                times[mode].append(_small_requests(requests, tables))
            finally:
                gate.check, grammar.verdict, grammar.judge = saved
    print(f"CrateDB emulator, {requests:,} upserts + {requests:,} PK reads, {tables} tables, {rounds} rounds")
    for mode, elapsed in times.items():
        median = statistics.median(elapsed)
        runs = ", ".join(f"{run:.2f}" for run in elapsed)
        print(f"{mode:<20} median {median:6.2f} s  {2 * requests / median:7,.0f} requests/s  runs: {runs} s")


def _small_requests(requests: int, tables: int) -> float:
    with Emulator(port=0) as emulator:
        cursor = client.connect(emulator.url).cursor()
        for k in range(tables):
            cursor.execute(f'CREATE TABLE "g{k}"."t" ("id" BIGINT PRIMARY KEY, "v" TEXT)')
        started = time.perf_counter()
        for i in range(requests):
            table = f'"g{i % tables}"."t"'
            upsert = f'INSERT INTO {table} ("id", "v") VALUES (?, ?) ON CONFLICT ("id") DO UPDATE SET "v" = ?'
            cursor.execute(upsert, [i, "x", "x"])
            cursor.execute(f'SELECT "id", "v" FROM {table} WHERE "id" = ?', [i])
            cursor.fetchall()
        return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
