"""Retries, per-row results and concurrency, against emulator fault injection (emulator_only) and CrateDB."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from cratedb_destination.batch import UNMODIFIED
from destination_harness import SYNCED_1, SYNCED_2, Dest, ok
from destination_testkit import table

pytestmark = pytest.mark.cratedb

COLUMNS = [("id", "INT", True), ("name", "STRING"), ("_fivetran_synced", "UTC_DATETIME")]
NAMES = [c[0] for c in COLUMNS]
T = table("t", COLUMNS)
ROWS = [[str(i), f"n{i}", SYNCED_1] for i in range(200)]


@pytest.fixture()
def faulty(emulator_dest: Dest, emulator: Any) -> Iterator[tuple[Dest, Any]]:
    """A `Dest` on a private emulator whose faults the test controls; retries kept short."""
    emulator_dest.configuration = {"url": emulator.url, "batch_size_rows": "50", "retry_budget_seconds": "30"}
    ok(emulator_dest.create(T))
    yield emulator_dest, emulator
    emulator.faults.clear()


def names(dest: Dest) -> list[str]:
    return [row[1] for row in dest.rows("t", ["id", "name"])]


@pytest.mark.emulator_only
def test_http_503_is_retried(faulty: tuple[Dest, Any]) -> None:
    dest, emulator = faulty
    rule = emulator.faults.http_503(statements=["INSERT"], nth=2, times=1)
    ok(dest.write(T, replace=[(NAMES, ROWS)]))
    assert rule.fired == 1
    assert names(dest) == [f"n{i}" for i in range(200)]


@pytest.mark.emulator_only
def test_connection_resets_are_retried(faulty: tuple[Dest, Any]) -> None:
    dest, emulator = faulty
    rule = emulator.faults.reset(statements=["INSERT", "UPDATE"], probability=0.5, times=3)
    ok(dest.write(T, replace=[(NAMES, ROWS)]))
    ok(dest.write(T, update=[(NAMES, [[str(i), f"u{i}", UNMODIFIED] for i in range(200)])]))
    assert rule.fired == 3
    assert names(dest) == [f"u{i}" for i in range(200)]


@pytest.mark.emulator_only
def test_rows_rejected_for_overload_are_resent(faulty: tuple[Dest, Any]) -> None:
    dest, emulator = faulty
    rule = emulator.faults.bulk_row_failure(row_share=0.3, statements=["INSERT"], times=2)
    ok(dest.write(T, replace=[(NAMES, ROWS)]))
    assert rule.fired == 2
    assert names(dest) == [f"n{i}" for i in range(200)]


@pytest.mark.emulator_only
def test_permanently_rejected_rows_fail_the_batch(faulty: tuple[Dest, Any]) -> None:
    dest, emulator = faulty
    emulator.faults.bulk_row_failure(
        row_share=0.05, statements=["INSERT"], times=1, error_code=4000, error_message="value is not valid"
    )
    response = dest.write(T, replace=[(NAMES, ROWS)])
    assert response.WhichOneof("response") == "task"
    assert "replace file" in response.task.message and f"{dest.schema}.t" in response.task.message
    assert "code 4000" in response.task.message


@pytest.mark.emulator_only
def test_exhausted_retries_are_unavailable_and_the_server_keeps_serving(faulty: tuple[Dest, Any]) -> None:
    dest, emulator = faulty
    dest.configuration.update({"max_retries": "2", "retry_budget_seconds": "2"})
    emulator.faults.http_503(statements=["INSERT"])
    with pytest.raises(grpc.RpcError) as raised:
        dest.write(T, replace=[(NAMES, ROWS)])
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "t" in (raised.value.details() or "")
    emulator.faults.clear()
    ok(dest.write(T, replace=[(NAMES, ROWS)]))  # a replay after the outage completes the batch
    assert len(names(dest)) == 200


@pytest.mark.emulator_only
def test_a_timed_out_request_is_replayed_idempotently(faulty: tuple[Dest, Any]) -> None:
    dest, emulator = faulty
    dest.configuration["request_timeout_seconds"] = "1"
    rule = emulator.faults.delay(1500, statements=["UPDATE"], times=1)
    ok(dest.write(T, replace=[(NAMES, ROWS)]))
    ok(dest.write(T, update=[(NAMES, [[str(i), f"u{i}", SYNCED_2] for i in range(200)])]))
    assert rule.fired == 1
    assert names(dest) == [f"u{i}" for i in range(200)]


def test_concurrent_batches_and_schema_changes(dest: Dest) -> None:
    """Writes to several tables in parallel, and an AlterTable racing writes on the same table."""
    definitions = [table(f"t{n}", COLUMNS) for n in range(4)]
    for definition in definitions:
        ok(dest.create(definition))
    errors: list[BaseException] = []

    def writer(definition: Any, start: int) -> None:
        try:
            for batch in range(3):
                rows = [[str(i), f"b{batch}", SYNCED_1] for i in range(start, start + 100)]
                ok(dest.write(definition, replace=[(NAMES, rows)]))
        except BaseException as exc:  # reported below
            errors.append(exc)

    wider = table("t0", [*COLUMNS, ("extra", "LONG")])

    def alterer() -> None:
        try:
            ok(dest.alter(wider))
            ok(
                dest.alter(
                    table(
                        "t0",
                        [
                            ("id", "LONG", True),
                            ("name", "STRING"),
                            ("_fivetran_synced", "UTC_DATETIME"),
                            ("extra", "LONG"),
                        ],
                    )
                )
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(d, 0)) for d in definitions]
    threads += [
        threading.Thread(target=writer, args=(definitions[0], 1000)),
        threading.Thread(target=alterer),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for n in range(4):
        rows = dest.rows(f"t{n}", ["id", "name"])
        expected = 200 if n == 0 else 100
        assert len(rows) == expected and {row[1] for row in rows} == {"b2"}
    assert [c.name for c in dest.describe("t0").table.columns] == ["id", "name", "_fivetran_synced", "extra"]
