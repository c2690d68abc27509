"""Load: concurrent batches on different tables, and many small RPCs without errors or memory growth."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from crate_http import drop_schema_contents
from cratedb_destination.batch import UNMODIFIED, Cell
from destination_testkit import names, table
from fivetran_proto import destination_sdk_pb2_grpc
from reliability_support import SYNCED, SYNCED_LATER, Dest, DestinationProcess, Outcome, call, ok

pytestmark = pytest.mark.cratedb

COLUMNS = [
    ("id", "INT", True),
    ("name", "STRING"),
    ("score", "DOUBLE"),
    ("_fivetran_synced", "UTC_DATETIME"),
    ("_fivetran_deleted", "BOOLEAN"),
]
HEADER = names(COLUMNS)
CONCURRENT = 8
ROWS_PER_TABLE = 4000
# RSS growth allowed over 1,000 RPCs after a warm-up of 100; a leak of even 30 KiB per RPC exceeds it.
RSS_GROWTH_BOUND_MIB = 30


def replace_rows(table_no: int, count: int) -> Iterator[list[Cell]]:
    for i in range(count):
        yield [str(i), f"t{table_no} row {i}", f"{i / 8}", SYNCED, "false"]


def expected_rows(table_no: int) -> list[list[object]]:
    rows = []
    for i in range(ROWS_PER_TABLE):
        if i % 10 == 9:
            continue  # deleted
        name = f"t{table_no} renamed {i}" if i % 7 == 0 else f"t{table_no} row {i}"
        rows.append([i, name, i / 8])
    return rows


def test_concurrent_batches_on_different_tables(dest: Dest) -> None:
    definitions = [table(f"load_{k}", COLUMNS) for k in range(CONCURRENT)]
    for definition in definitions:
        ok(dest.create(definition))
    requests = []
    for k, definition in enumerate(definitions):
        updates: list[list[Cell]] = [
            [str(i), f"t{k} renamed {i}", UNMODIFIED, SYNCED_LATER, UNMODIFIED]
            for i in range(0, ROWS_PER_TABLE, 7)
        ]
        deletes: list[list[Cell]] = [
            [str(i), None, None, SYNCED_LATER, None] for i in range(9, ROWS_PER_TABLE, 10)
        ]
        requests.append(
            dest.write_request(
                definition,
                replace=[dest.batch(HEADER, replace_rows(k, ROWS_PER_TABLE))],
                update=[dest.batch(HEADER, updates)],
                delete=[dest.batch(HEADER, deletes)],
            )
        )
    barrier = threading.Barrier(CONCURRENT)

    def send(request: object) -> tuple[Outcome, float]:
        barrier.wait()
        started = time.monotonic()
        outcome = call(dest.stub.WriteBatch, request, timeout=300)
        return outcome, time.monotonic() - started

    with ThreadPoolExecutor(CONCURRENT) as pool:
        results = list(pool.map(send, requests))
    for outcome, _ in results:
        ok(outcome)
    for k in range(CONCURRENT):
        assert dest.rows(f"load_{k}", ["id", "name", "score"]) == expected_rows(k), f"table load_{k}"
    slowest = max(seconds for _, seconds in results)
    print(f"{CONCURRENT} concurrent WriteBatch calls of {ROWS_PER_TABLE} rows each: slowest {slowest:.2f} s")


def one_row(i: int) -> list[list[Cell]]:
    return [[str(i // 2 % 50), f"row {i}", f"{i}.5", SYNCED, "false"]]


@pytest.mark.slow
def test_a_thousand_small_rpcs_without_errors_or_memory_growth(
    cratedb_url: str, unique_schema: str, tmp_path: Path
) -> None:
    with DestinationProcess(tmp_path, log_level="WARNING") as server:
        dest = Dest(server.stub, cratedb_url, unique_schema, tmp_path)
        try:
            run_small_rpcs(dest, server)
        finally:
            drop_schema_contents(dest.reader, unique_schema)
            dest.reader.close()


def run_small_rpcs(dest: Dest, server: DestinationProcess) -> None:
    stub: destination_sdk_pb2_grpc.DestinationConnectorStub = dest.stub
    definition = table("small", COLUMNS)
    ok(dest.create(definition))
    failures: list[Outcome] = []

    def rpc(i: int) -> None:
        if i % 2:
            outcome = dest.describe("small")
            if outcome.kind != "table":
                failures.append(outcome)
            return
        ref = dest.batch(HEADER, one_row(i))
        outcome = call(stub.WriteBatch, dest.write_request(definition, replace=[ref]))
        Path(ref.path).unlink()
        if outcome.kind != "success":
            failures.append(outcome)

    for i in range(100):  # warm-up: connection pools, caches, lazily imported modules
        rpc(i)
    before = server.rss()
    started = time.monotonic()
    for i in range(100, 1100):
        rpc(i)
    elapsed = time.monotonic() - started
    after = server.rss()
    assert not failures, failures[:3]
    growth_mib = (after - before) / 2**20
    print(
        f"1,000 RPCs (500 DescribeTable + 500 one-row WriteBatch) in {elapsed:.1f} s; "
        f"server RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MiB ({growth_mib:+.1f} MiB)"
    )
    assert growth_mib < RSS_GROWTH_BOUND_MIB
    rows = dest.rows("small", ["id", "name"])
    assert len(rows) == 50 and rows[0] == [0, "row 1000"] and rows[-1] == [49, "row 1098"]
