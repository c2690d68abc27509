"""A flaky or broken CrateDB, through the emulator's fault injection.

- Transient failures (HTTP 503, connection resets) on a seeded 10-20 % of requests: the run ends in
  exactly the table state of a fault-free run.
- Per-row bulk failures: transient ones are retried (same end state), permanent ones and ones that never
  clear end in a Task / UNAVAILABLE naming the file; afterwards a replay completes the table.
- Permanent failures end within a measured, asserted time bound.
- The destination process SIGKILLed in the middle of a large batch: a replay against a fresh process
  ends in the fault-free state.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from cratedb_destination.batch import UNMODIFIED, Cell
from cratedb_emulator import Emulator
from destination_testkit import BatchRef, names, proto_timestamp, table
from fivetran_proto import destination_sdk_pb2, destination_sdk_pb2_grpc
from reliability_support import SYNCED, SYNCED_LATER, Dest, DestinationProcess, Outcome, call, ok, wait_until

pytestmark = [pytest.mark.cratedb, pytest.mark.emulator_only]

COLUMNS = [
    ("id", "LONG", True),
    ("name", "STRING"),
    ("amount", "DECIMAL", False, (12, 2)),
    ("happened", "UTC_DATETIME"),
    ("flag", "BOOLEAN"),
    ("_fivetran_synced", "UTC_DATETIME"),
    ("_fivetran_deleted", "BOOLEAN"),
]
HEADER = names(COLUMNS)
EVENTS = table("events", COLUMNS)
SCHEMA = "reliability"
# Small bulk requests, so a modest batch makes many requests for faults to hit.
BATCH_ROWS = "100"


def replace_rows(first: int, count: int, version: int = 1) -> Iterator[list[Cell]]:
    for i in range(first, first + count):
        yield [
            str(i),
            f"name {i} v{version}",
            f"{i * 3 % 100000}.{i % 100:02d}",
            f"2024-02-{i % 28 + 1:02d}T{i % 24:02d}:{i % 60:02d}:00.{i % 1000:03d}Z",
            "true" if (i + version) % 2 else "false",
            SYNCED,
            "false",
        ]


def update_rows(ids: range) -> Iterator[list[Cell]]:
    for i in ids:
        shape = i % 5  # five different sets of modified columns
        yield [
            str(i),
            f"updated {i}" if shape in (0, 1) else UNMODIFIED,
            "1.25" if shape in (1, 2) else UNMODIFIED,
            None if shape == 3 else UNMODIFIED,
            "false" if shape == 4 else UNMODIFIED,
            SYNCED_LATER,
            UNMODIFIED,
        ]


def soft_delete_rows(ids: range) -> Iterator[list[Cell]]:
    for i in ids:
        yield [str(i), UNMODIFIED, UNMODIFIED, UNMODIFIED, UNMODIFIED, SYNCED_LATER, "true"]


def delete_rows(ids: range) -> Iterator[list[Cell]]:
    for i in ids:
        yield [str(i), None, None, None, None, SYNCED_LATER, None]


def workload(dest: Dest) -> None:
    """Create, two WriteBatch calls with every file kind, a soft truncate, DescribeTable."""
    ok(dest.create(EVENTS))
    ok(
        dest.write(
            EVENTS,
            replace=[
                dest.batch(HEADER, replace_rows(1, 1500)),
                dest.batch(HEADER, replace_rows(1200, 800, 2)),
            ],
            update=[dest.batch(HEADER, update_rows(range(1, 2000, 4)))],
            delete=[dest.batch(HEADER, delete_rows(range(3, 2000, 17)))],
        )
    )
    ok(
        dest.write(
            EVENTS,
            replace=[dest.batch(HEADER, replace_rows(1900, 300, 3))],
            update=[dest.batch(HEADER, soft_delete_rows(range(10, 400, 7)))],
        )
    )
    truncated = call(
        dest.stub.Truncate,
        destination_sdk_pb2.TruncateRequest(
            configuration=dest.configuration,
            schema_name=dest.schema,
            table_name="events",
            synced_column="_fivetran_synced",
            utc_delete_before=proto_timestamp(dt.datetime(2024, 3, 1, 12, tzinfo=dt.timezone.utc)),
            soft=destination_sdk_pb2.SoftTruncate(deleted_column="_fivetran_deleted"),
        ),
    )
    assert truncated.kind in ("success", "warning"), truncated
    described = dest.describe("events")
    assert described.kind == "table", described


def contents(dest: Dest) -> list[list[Any]]:
    return dest.rows("events", HEADER)


def make_dest(
    stub: destination_sdk_pb2_grpc.DestinationConnectorStub, url: str, tmp: Path, **settings: str
) -> Dest:
    configuration = {"url": url, "batch_size_rows": BATCH_ROWS, **settings}
    return Dest(stub, url, SCHEMA, tmp, configuration=configuration)


@pytest.fixture()
def reference(
    destination_stub: destination_sdk_pb2_grpc.DestinationConnectorStub, tmp_path: Path
) -> list[list[Any]]:
    """The table contents after a fault-free run of the workload on a fresh emulator."""
    with Emulator(host="127.0.0.1", port=0) as clean:
        directory = tmp_path / "reference"
        directory.mkdir()
        dest = make_dest(destination_stub, clean.url, directory)
        workload(dest)
        assert clean.stats()["faults_injected"] == 0
        return contents(dest)


def test_transient_503_and_resets_end_in_the_fault_free_state(
    destination_stub: destination_sdk_pb2_grpc.DestinationConnectorStub,
    emulator: Emulator,
    reference: list[list[Any]],
    tmp_path: Path,
) -> None:
    emulator.faults.seed(20240301)
    emulator.faults.http_503(probability=0.08)
    emulator.faults.reset(probability=0.07)
    dest = make_dest(destination_stub, emulator.url, tmp_path)
    workload(dest)
    stats = emulator.stats()
    emulator.faults.clear()
    share = stats["faults_injected"] / stats["sql_requests"]
    assert stats["faults_injected"] >= 10 and 0.10 <= share <= 0.30, stats
    rows = contents(dest)
    assert rows == reference
    print(
        f"{stats['faults_injected']} faults in {stats['sql_requests']} requests ({share:.0%}); "
        f"{len(rows)} rows equal"
    )


def test_transient_row_failures_are_retried(
    destination_stub: destination_sdk_pb2_grpc.DestinationConnectorStub,
    emulator: Emulator,
    reference: list[list[Any]],
    tmp_path: Path,
) -> None:
    emulator.faults.seed(7)
    emulator.faults.bulk_row_failure(row_share=0.2, probability=0.5)
    dest = make_dest(destination_stub, emulator.url, tmp_path)
    workload(dest)
    stats = emulator.stats()
    emulator.faults.clear()
    assert stats["row_errors"] >= 100, stats
    rows = contents(dest)
    assert rows == reference
    print(
        f"{stats['row_errors']} of {stats['bulk_rows']} bulk rows failed transiently; {len(rows)} rows equal"
    )


def first_batch(dest: Dest) -> list[BatchRef]:
    return [dest.batch(HEADER, replace_rows(1, 1500))]


def test_permanent_row_failures_fail_loudly_and_replay_completes(
    destination_stub: destination_sdk_pb2_grpc.DestinationConnectorStub, emulator: Emulator, tmp_path: Path
) -> None:
    dest = make_dest(destination_stub, emulator.url, tmp_path)
    ok(dest.create(EVENTS))
    emulator.faults.seed(3)
    emulator.faults.bulk_row_failure(
        row_share=0.01, error_code=4003, error_message="emulated permanent failure", statements=["INSERT"]
    )
    files = first_batch(dest)
    started = time.monotonic()
    outcome = dest.write(EVENTS, replace=files)
    elapsed = time.monotonic() - started
    assert outcome.kind == "task", outcome
    assert files[0].path in outcome.message and "events" in outcome.message, outcome.message
    assert "emulated permanent failure" in outcome.message and "(row" in outcome.message, outcome.message
    assert elapsed < 5, f"a permanent row failure took {elapsed:.1f} s to surface"
    written = dest.reader.count(SCHEMA, "events")
    assert written < 1500, "every row reported as written although some failed"
    emulator.faults.clear()
    ok(dest.write(EVENTS, replace=files))
    assert dest.reader.count(SCHEMA, "events") == 1500


def test_row_failures_that_never_clear_end_unavailable(
    destination_stub: destination_sdk_pb2_grpc.DestinationConnectorStub, emulator: Emulator, tmp_path: Path
) -> None:
    dest = make_dest(destination_stub, emulator.url, tmp_path, max_retries="3", retry_budget_seconds="20")
    ok(dest.create(EVENTS))
    emulator.faults.bulk_row_failure(row_share=1.0, statements=["INSERT"])
    files = first_batch(dest)
    started = time.monotonic()
    outcome = dest.write(EVENTS, replace=files)
    elapsed = time.monotonic() - started
    assert outcome.kind == "UNAVAILABLE", outcome
    assert "events" in outcome.message and "transient" in outcome.message, outcome.message
    # 3 retries with full jitter: at most 0.2 + 0.4 + 0.8 s of waiting, plus the requests themselves.
    assert elapsed < 6, f"took {elapsed:.1f} s"
    emulator.faults.clear()
    ok(dest.write(EVENTS, replace=files))
    assert dest.reader.count(SCHEMA, "events") == 1500


@pytest.mark.parametrize(
    ("fault", "settings", "expected", "bound"),
    [
        # CrateDB unreachable for good, default retry policy (5 retries): UNAVAILABLE, Fivetran retries later.
        ({"kind": "http_503"}, {}, "UNAVAILABLE", 12.0),
        ({"kind": "reset"}, {}, "UNAVAILABLE", 12.0),
        # Every request hangs longer than the request timeout.
        (
            {"kind": "delay", "delay_ms": 2500},
            {"request_timeout_seconds": "1", "max_retries": "2"},
            "UNAVAILABLE",
            8.0,
        ),
        # A permanent refusal (table blocked read-only): a Task at once, no retries.
        (
            {
                "kind": "http_503",
                "error_code": 4031,
                "error_message": "blocked by: [FORBIDDEN/12/index read-only]",
            },
            {},
            "task",
            3.0,
        ),
    ],
    ids=["503_forever", "reset_forever", "hanging_requests", "read_only_table"],
)
def test_permanent_failures_end_within_a_bound(
    destination_stub: destination_sdk_pb2_grpc.DestinationConnectorStub,
    emulator: Emulator,
    tmp_path: Path,
    fault: dict[str, Any],
    settings: dict[str, str],
    expected: str,
    bound: float,
) -> None:
    dest = make_dest(destination_stub, emulator.url, tmp_path, **settings)
    ok(dest.create(EVENTS))
    files = first_batch(dest)
    emulator.faults.add(statements=["INSERT", "UPDATE", "DELETE", "REFRESH"], **fault)
    started = time.monotonic()
    outcome = dest.write(EVENTS, replace=files)
    elapsed = time.monotonic() - started
    emulator.faults.clear()
    assert outcome.kind == expected, outcome
    assert f"{SCHEMA}.events" in outcome.message, outcome.message
    assert elapsed < bound, f"{fault['kind']}: the failure took {elapsed:.1f} s (bound {bound} s)"
    print(f"{fault}: {outcome.kind} after {elapsed:.2f} s")
    # A request the destination gave up on still runs once its delay is over, as CrateDB may apply a
    # request its client abandoned. Let those land first: one landing after the next batch's REFRESH would
    # make the count below a stale read (the emulator refuses it, as CrateDB would not see that write).
    time.sleep(fault["delay_ms"] / 1000 + 0.5 if fault["kind"] == "delay" else 0)
    dest.assert_serving("events")
    ok(dest.write(EVENTS, replace=files))
    assert dest.reader.count(SCHEMA, "events") == 1500


# ---------------------------------------------------------------------------------------------------------
# SIGKILL in the middle of a large batch
# ---------------------------------------------------------------------------------------------------------

BIG_ROWS = 30_000


def big_batch(dest: Dest) -> Any:
    return dest.write_request(
        EVENTS,
        replace=[dest.batch(HEADER, replace_rows(500, BIG_ROWS, 2))],
        update=[dest.batch(HEADER, update_rows(range(1, BIG_ROWS, 11)))],
        delete=[dest.batch(HEADER, delete_rows(range(2, BIG_ROWS, 23)))],
    )


def settle(emulator: Emulator) -> None:
    """Wait until requests the killed process had in flight are done (the emulator's counters rest)."""
    last: list[int] = []

    def quiet() -> bool:
        last.append(emulator.stats()["http_requests"])
        return len(last) > 5 and last[-1] == last[-6]

    assert wait_until(quiet, timeout=30, interval=0.1)


def seed(dest: Dest) -> None:
    ok(dest.create(EVENTS))
    ok(dest.write(EVENTS, replace=[dest.batch(HEADER, replace_rows(1, 1000))]))


@pytest.mark.slow
def test_sigkill_mid_batch_then_replay_on_a_fresh_server(
    destination_stub: destination_sdk_pb2_grpc.DestinationConnectorStub, emulator: Emulator, tmp_path: Path
) -> None:
    configuration = {"url": emulator.url, "batch_size_rows": "500"}
    # Fault-free reference, on its own emulator and the in-process destination.
    with Emulator(host="127.0.0.1", port=0) as clean:
        ref_dir = tmp_path / "reference"
        ref_dir.mkdir()
        reference_dest = Dest(
            destination_stub, clean.url, SCHEMA, ref_dir, configuration={**configuration, "url": clean.url}
        )
        seed(reference_dest)
        ok(call(destination_stub.WriteBatch, big_batch(reference_dest), timeout=600))
        reference = contents(reference_dest)

    with DestinationProcess(tmp_path) as first:
        dest = Dest(first.stub, emulator.url, SCHEMA, tmp_path, configuration=configuration)
        seed(dest)
        request = big_batch(dest)
        emulator.faults.delay(delay_ms=15, statements=["INSERT"])  # keep the batch running long enough
        emulator.reset_stats()
        future = first.stub.WriteBatch.future(request, timeout=600)
        assert wait_until(lambda: emulator.stats()["bulk_rows"] >= BIG_ROWS // 3, timeout=120), (
            emulator.stats()
        )
        first.kill()
        with pytest.raises(grpc.RpcError) as failure:
            future.result(timeout=30)
        assert failure.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
    emulator.faults.clear()
    settle(emulator)
    partial = dest.reader.count(SCHEMA, "events")
    assert 1000 < partial < 1000 + BIG_ROWS, f"the kill did not land mid-batch ({partial} rows)"

    with DestinationProcess(tmp_path) as second:
        dest.stub = second.stub
        replayed: Outcome = call(second.stub.WriteBatch, request, timeout=600)
        ok(replayed)
        assert contents(dest) == reference
