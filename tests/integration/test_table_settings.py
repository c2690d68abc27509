"""Table settings through a real gRPC client: default shards and replicas, the per-table overrides file,
partitioned tables through writes, history mode, Truncate, rebuilds and copies, and refusals as Tasks.

What CrateDB reports is read back from information_schema.tables (number_of_shards, number_of_replicas,
partitioned_by; CrateDB source InformationTablesTableInfo.java), on the emulator or a real CrateDB.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from cratedb_destination.batch import UNMODIFIED
from destination_harness import SYNCED_1, SYNCED_2, Dest, ok
from destination_testkit import table
from fivetran_proto import common_pb2
from fivetran_proto import destination_sdk_pb2 as pb

pytestmark = pytest.mark.cratedb

EVENTS = table(
    "events",
    [("id", "INT", True), ("event_day", "NAIVE_DATE", True), ("name", "STRING"), ("qty", "INT"),
     ("_fivetran_synced", "UTC_DATETIME"), ("_fivetran_deleted", "BOOLEAN")],
)  # fmt: skip
NAMES = [c.name for c in EVENTS.columns]
D1, D2 = "2024-01-01", "2024-01-02"
D1_MS, D2_MS = 1704067200000, 1704153600000
SYNC_1_MS, SYNC_2_MS = 1704067200000, 1704153600000


def configure(dest: Dest, overrides: dict[str, Any] | None = None, **values: str) -> None:
    """Form values on top of the URL; the overrides file arrives base64-encoded, as Fivetran sends it."""
    configuration = {"url": dest.url, **values}
    if overrides is not None:
        configuration["table_settings_file"] = base64.b64encode(json.dumps(overrides).encode()).decode()
    dest.configuration = configuration


def settings(dest: Dest, name: str) -> tuple[Any, Any, Any]:
    """(number_of_shards, number_of_replicas, partitioned_by) of the table in CrateDB."""
    rows = dest.http.run(
        "SELECT number_of_shards, number_of_replicas, partitioned_by FROM information_schema.tables "
        "WHERE table_schema = ? AND table_name = ?",
        [dest.schema, name],
    ).rows
    assert rows, f"no table {name}"
    shards, replicas, partitioned = rows[0]
    return shards, replicas, partitioned


def task(response: Any) -> str:
    assert response.WhichOneof("response") == "task", f"expected a task, got {response}"
    return str(response.task.message)


def migrate(dest: Dest, name: str, **operation: Any) -> Any:
    details = pb.MigrationDetails(schema=dest.schema, table=name, **operation)
    return dest.stub.Migrate(pb.MigrateRequest(configuration=dest.configuration, details=details))


def described(dest: Dest, name: str) -> common_pb2.Table:
    response = dest.describe(name)
    assert response.WhichOneof("response") == "table", response
    return response.table


def test_without_settings_tables_get_cratedb_defaults(dest: Dest) -> None:
    ok(dest.create(EVENTS))
    _, replicas, partitioned = settings(dest, "events")
    assert (replicas, partitioned) == ("0-1", None)  # CrateDB docs sql/statements/create-table


def test_default_shards_and_replicas_apply_to_every_table(dest: Dest) -> None:
    configure(dest, default_shards="2", default_replicas="0")
    ok(dest.create(EVENTS))
    ok(dest.create(table("other", [("id", "INT", True)])))
    assert settings(dest, "events") == (2, "0", None)
    assert settings(dest, "other") == (2, "0", None)
    assert described(dest, "events") == EVENTS


def test_overrides_file_sets_shards_replicas_and_partitioning(dest: Dest) -> None:
    configure(
        dest,
        {
            "*": {"replicas": "0-1"},
            f"{dest.schema}.*": {"shards": 3},
            f"{dest.schema}.events": {"shards": 2, "replicas": 0, "partitioned_by": ["event_day"]},
        },
        default_shards="1",
    )
    ok(dest.create(EVENTS))
    ok(dest.create(table("other", [("id", "INT", True)])))
    assert settings(dest, "events") == (2, "0", ["event_day"])
    assert settings(dest, "other") == (3, "0-1", None)
    assert described(dest, "events") == EVENTS


def _partitioned(dest: Dest) -> None:
    configure(dest, {f"{dest.schema}.events": {"shards": 1, "replicas": 0, "partitioned_by": "event_day"}})
    ok(dest.create(EVENTS))


def _contents(dest: Dest) -> list[list[Any]]:
    return dest.rows("events", NAMES, ["id", "event_day"])


def test_partitioned_table_takes_writes_updates_deletes_and_truncate(dest: Dest) -> None:
    _partitioned(dest)
    ok(
        dest.write(
            EVENTS,
            replace=[
                (
                    NAMES,
                    [
                        ["1", D1, "a", "1", SYNCED_1, "false"],
                        ["1", D2, "b", "2", SYNCED_1, "false"],
                        ["2", D1, "c", "3", SYNCED_1, "false"],
                        ["3", D2, "d", "4", SYNCED_1, "false"],
                    ],
                )
            ],
        )
    )
    ok(
        dest.write(
            EVENTS,
            replace=[(NAMES, [["1", D1, "a2", "10", SYNCED_2, "false"]])],
            update=[
                (NAMES, [["1", D2, UNMODIFIED, "20", SYNCED_2, UNMODIFIED]]),
                (NAMES, [["2", D1, UNMODIFIED, UNMODIFIED, SYNCED_2, "true"]]),  # a soft delete
                (NAMES, [["9", D1, "never", UNMODIFIED, SYNCED_2, UNMODIFIED]]),  # missing key: no-op
            ],
            delete=[(["id", "event_day", "_fivetran_synced"], [["3", D2, SYNCED_2], ["8", D2, SYNCED_2]])],
        )
    )
    assert _contents(dest) == [
        [1, D1_MS, "a2", 10, SYNC_2_MS, False],
        [1, D2_MS, "b", 20, SYNC_2_MS, False],
        [2, D1_MS, "c", 3, SYNC_2_MS, True],
    ]
    ok(dest.truncate("events", dt.datetime(2024, 1, 3, tzinfo=dt.timezone.utc)))
    assert _contents(dest) == []
    assert settings(dest, "events") == (1, "0", ["event_day"])


HISTORY = table(
    "events_history",
    [("id", "INT", True), ("event_day", "NAIVE_DATE", True), ("qty", "INT"),
     ("_fivetran_synced", "UTC_DATETIME"), ("_fivetran_start", "UTC_DATETIME", True),
     ("_fivetran_end", "UTC_DATETIME"), ("_fivetran_active", "BOOLEAN")],
)  # fmt: skip
HISTORY_NAMES = [c.name for c in HISTORY.columns]
HISTORY_KEYS = ["id", "event_day", "_fivetran_start"]
T1, T2, TMAX = "2024-02-01T00:00:00.000Z", "2024-02-02T00:00:00.000Z", "9999-12-31T23:59:59.999Z"
T1_MS, T2_MS, TMAX_MS = 1706745600000, 1706832000000, 253402300799999


def test_partitioned_history_table_keeps_versions(dest: Dest) -> None:
    configure(dest, {f"{dest.schema}.events_history": {"partitioned_by": ["event_day"], "replicas": "0"}})
    ok(dest.create(HISTORY))
    ok(
        dest.write_history(
            HISTORY,
            earliest=[(HISTORY_KEYS, [["1", D1, T1], ["2", D2, T1]])],
            replace=[
                (
                    HISTORY_NAMES,
                    [["1", D1, "5", SYNCED_1, T1, TMAX, "true"], ["2", D2, "6", SYNCED_1, T1, TMAX, "true"]],
                )
            ],
        )
    )
    ok(
        dest.write_history(
            HISTORY,
            earliest=[(HISTORY_KEYS, [["1", D1, T2]])],
            update=[(HISTORY_NAMES, [["1", D1, "7", SYNCED_2, T2, TMAX, "true"]])],
            delete=[(["id", "event_day", "_fivetran_end"], [["2", D2, T2]])],
        )
    )
    assert dest.rows("events_history", HISTORY_NAMES, HISTORY_KEYS) == [
        [1, D1_MS, 5, SYNC_1_MS, T1_MS, T2_MS - 1, False],
        [1, D1_MS, 7, SYNC_2_MS, T2_MS, TMAX_MS, True],
        [2, D2_MS, 6, SYNC_1_MS, T1_MS, T2_MS, False],
    ]
    assert settings(dest, "events_history")[1:] == ("0", ["event_day"])


def test_rebuild_keeps_the_tables_settings(dest: Dest) -> None:
    _partitioned(dest)
    ok(dest.write(EVENTS, replace=[(NAMES, [["1", D1, "a", "1", SYNCED_1, "false"]])]))
    # Other settings now: the rebuilt table keeps its own.
    configure(dest, default_shards="3", default_replicas="1")
    widened = table(
        "events",
        [("id", "INT", True), ("event_day", "NAIVE_DATE", True), ("name", "STRING"), ("qty", "LONG"),
         ("_fivetran_synced", "UTC_DATETIME"), ("_fivetran_deleted", "BOOLEAN")],
    )  # fmt: skip
    ok(dest.alter(widened))
    assert settings(dest, "events") == (1, "0", ["event_day"])
    assert described(dest, "events") == widened
    assert _contents(dest) == [[1, D1_MS, "a", 1, SYNC_1_MS, False]]
    assert "events__fivetran_rebuild" not in dest.tables()


def test_rebuild_that_takes_the_partition_column_out_of_the_key_is_a_task(dest: Dest) -> None:
    _partitioned(dest)
    ok(dest.write(EVENTS, replace=[(NAMES, [["1", D1, "a", "1", SYNCED_1, "false"]])]))
    rekeyed = table(
        "events",
        [("id", "INT", True), ("event_day", "NAIVE_DATE"), ("name", "STRING"), ("qty", "INT"),
         ("_fivetran_synced", "UTC_DATETIME"), ("_fivetran_deleted", "BOOLEAN")],
    )  # fmt: skip
    message = task(dest.alter(rekeyed))
    assert "partitioned by 'event_day'" in message and "leave the primary key" in message
    assert described(dest, "events") == EVENTS
    assert _contents(dest) == [[1, D1_MS, "a", 1, SYNC_1_MS, False]]


def test_copy_table_gets_the_settings_of_its_own_name(dest: Dest) -> None:
    configure(
        dest, {f"{dest.schema}.copied": {"shards": 2, "replicas": "0-all", "partitioned_by": "event_day"}}
    )
    ok(dest.create(EVENTS))
    ok(dest.write(EVENTS, replace=[(NAMES, [["1", D1, "a", "1", SYNCED_1, "false"]])]))
    copy = pb.CopyOperation(copy_table=pb.CopyTable(from_table="events", to_table="copied"))
    ok(migrate(dest, "events", copy=copy))
    ok(migrate(dest, "events", copy=copy))  # a re-send replaces the copy and keeps its settings
    assert settings(dest, "copied") == (2, "0-all", ["event_day"])
    assert dest.rows("copied", NAMES, ["id"]) == [[1, D1_MS, "a", 1, SYNC_1_MS, False]]
    # A copy with a partition column that does not fit is refused before anything is created.
    configure(dest, {f"{dest.schema}.copy2": {"partitioned_by": "name"}})
    copy2 = pb.CopyOperation(copy_table=pb.CopyTable(from_table="events", to_table="copy2"))
    assert "column 'name'" in task(migrate(dest, "events", copy=copy2))
    assert "copy2" not in dest.tables()


def test_sync_mode_migration_keeps_the_partitioning(dest: Dest) -> None:
    _partitioned(dest)
    ok(dest.write(EVENTS, replace=[(NAMES, [["1", D1, "a", "1", SYNCED_1, "false"]])]))
    mode = pb.TableSyncModeMigrationOperation(
        type=pb.SOFT_DELETE_TO_HISTORY, soft_deleted_column="_fivetran_deleted"
    )
    ok(migrate(dest, "events", table_sync_mode_migration=mode))
    assert settings(dest, "events") == (1, "0", ["event_day"])
    keys = [c.name for c in described(dest, "events").columns if c.primary_key]
    assert keys == ["id", "event_day", "_fivetran_start"]


@pytest.mark.parametrize(
    ("partitioned_by", "expected"),
    [
        ("name", "column 'name' of table {schema}.events is not part of the primary key"),
        ("id", "column 'id' of table {schema}.events is INT; partition by a date or time column"),
        ("nope", "column 'nope' of table {schema}.events does not exist"),
    ],
)
def test_partitioning_that_does_not_fit_is_a_task_naming_file_table_and_key(
    dest: Dest, partitioned_by: str, expected: str
) -> None:
    configure(dest, {f"{dest.schema}.events": {"partitioned_by": partitioned_by}})
    message = task(dest.create(EVENTS))
    assert f"'Table settings file (JSON)', entry '{dest.schema}.events', key 'partitioned_by'" in message
    assert expected.format(schema=dest.schema) in message
    assert "events" not in dest.tables()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"default_shards": "0"}, "'Shards per table' must be between 1 and 1024"),
        ({"default_replicas": "1-0"}, "'Replicas per table': the range '1-0'"),
        ({"table_settings_file": base64.b64encode(b"{not json").decode()}, "is not valid JSON"),
        (
            {"table_settings_file": base64.b64encode(b'{"s.t": {"shard": 1}}').decode()},
            "entry 's.t' has unknown key 'shard'",
        ),
    ],
)
def test_bad_settings_are_tasks_and_failed_setup_tests(
    dest: Dest, values: dict[str, str], expected: str
) -> None:
    configure(dest, **values)
    assert expected in task(dest.create(EVENTS))
    response = dest.stub.Test(common_pb2.TestRequest(name="connect", configuration=dest.configuration))
    assert response.WhichOneof("response") == "failure" and expected in response.failure


def test_the_permissions_test_creates_its_probe_with_the_default_settings(dest: Dest) -> None:
    configure(dest, default_shards="1", default_replicas="0-1")
    response = dest.stub.Test(common_pb2.TestRequest(name="permissions", configuration=dest.configuration))
    assert response.WhichOneof("response") == "success", response
