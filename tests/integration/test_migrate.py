"""Migrate through a real gRPC client: every operation, exact table contents, DescribeTable afterwards
(primary key and Fivetran types survive), re-sends that leave identical contents, and failures that leave
the original table as it was."""

from __future__ import annotations

from typing import Any

import pytest
from crate_http import ident
from cratedb_destination.batch import UNMODIFIED
from destination_harness import Dest, ok
from destination_testkit import table
from fivetran_proto import common_pb2
from fivetran_proto import destination_sdk_pb2 as pb

pytestmark = pytest.mark.cratedb

SYNC_1, SYNC_2 = "2024-02-01T00:00:00.000Z", "2024-02-02T00:00:00.000Z"
SYNC_1_MS, SYNC_2_MS = 1706745600000, 1706832000000
TMAX, TMAX_MS = "9999-12-31T23:59:59.999Z", 253402300799999
OP, OP_MS = "2024-03-01T00:00:00Z", 1709251200000
DAY = 86_400_000

SOFT = table(
    "soft",
    [("id", "INT", True), ("name", "STRING", False, 64), ("amount", "DECIMAL", False, (10, 2)),
     ("doc", "JSON"), ("_fivetran_synced", "UTC_DATETIME"), ("_fivetran_deleted", "BOOLEAN")],
)  # fmt: skip
SOFT_COLUMNS = [c.name for c in SOFT.columns]
HISTORY = table(
    "hist",
    [("id", "INT", True), ("name", "STRING"), ("level", "INT"), ("_fivetran_synced", "UTC_DATETIME"),
     ("_fivetran_start", "UTC_DATETIME", True), ("_fivetran_end", "UTC_DATETIME"),
     ("_fivetran_active", "BOOLEAN")],
)  # fmt: skip
HISTORY_COLUMNS = [c.name for c in HISTORY.columns]
V1, V2, V3 = "2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z", "2024-01-03T00:00:00.000Z"
V1_MS, V2_MS, V3_MS = 1704067200000, 1704153600000, 1704240000000


def migrate(dest: Dest, name: str, **operation: Any) -> Any:
    details = pb.MigrationDetails(schema=dest.schema, table=name, **operation)
    return dest.stub.Migrate(pb.MigrateRequest(configuration=dest.configuration, details=details))


def rows(dest: Dest, name: str, columns: list[str], order: list[str]) -> list[list[Any]]:
    dest.http.refresh(ident(dest.schema, name))
    select = ", ".join(f"CAST({ident(c)} AS TEXT)" if c == "amount" else ident(c) for c in columns)
    ordering = ", ".join(ident(c) for c in order)
    return dest.http.run(f"SELECT {select} FROM {ident(dest.schema, name)} ORDER BY {ordering}").rows


def described(dest: Dest, name: str) -> list[tuple[Any, ...]]:
    """(name, type name, primary key, params) of every column DescribeTable reports."""
    response = dest.describe(name)
    assert response.WhichOneof("response") == "table", response
    result = []
    for col in response.table.columns:
        params: Any = None
        if col.HasField("params"):
            which = col.params.WhichOneof("params")
            params = (
                (col.params.decimal.precision, col.params.decimal.scale)
                if which == "decimal"
                else (col.params.string_byte_length)
            )
        result.append((col.name, common_pb2.DataType.Name(col.type), col.primary_key, params))
    return result


SOFT_DESCRIBED = [
    ("id", "INT", True, None),
    ("name", "STRING", False, 64),
    ("amount", "DECIMAL", False, (10, 2)),
    ("doc", "JSON", False, None),
    ("_fivetran_synced", "UTC_DATETIME", False, None),
    ("_fivetran_deleted", "BOOLEAN", False, None),
]


def soft_start(dest: Dest) -> None:
    ok(dest.create(SOFT))
    ok(
        dest.write(
            SOFT,
            replace=[
                (
                    SOFT_COLUMNS,
                    [
                        ["1", "one", "1.50", '{"a": 1}', SYNC_1, "false"],
                        ["2", "two", "2.25", None, SYNC_2, "false"],
                        ["3", "three", "3.00", "[]", SYNC_1, "false"],
                    ],
                )
            ],
        )
    )
    ok(dest.write(SOFT, update=[(SOFT_COLUMNS, [["3", UNMODIFIED, UNMODIFIED, UNMODIFIED, SYNC_1, "true"]])]))


def history_start(dest: Dest) -> None:
    """Record 1: two versions; record 2: one active version; record 3: deleted (closed)."""
    ok(dest.create(HISTORY))
    ok(
        dest.write_history(
            HISTORY,
            earliest=[(["id", "_fivetran_start"], [["1", V1], ["2", V1], ["3", V1]])],
            replace=[
                (
                    HISTORY_COLUMNS,
                    [
                        ["1", "a", "1", SYNC_1, V1, "2024-01-01T23:59:59.999Z", "false"],
                        ["1", "a", "2", SYNC_1, V2, TMAX, "true"],
                        ["2", None, "3", SYNC_1, V1, TMAX, "true"],
                        ["3", "c", "4", SYNC_1, V1, TMAX, "true"],
                    ],
                )
            ],
            delete=[(HISTORY_COLUMNS, [["3", None, None, SYNC_2, None, V3, "false"]])],
        )
    )


def all_rows(dest: Dest, name: str) -> list[list[Any]]:
    columns = [c[0] for c in described(dest, name)]
    return rows(dest, name, columns, [c[0] for c in described(dest, name) if c[2]])


def twice(dest: Dest, name: str, table_name: str, **operation: Any) -> list[list[Any]]:
    """Apply an operation, then re-send it twice: the contents must stay identical."""
    ok(migrate(dest, name, **operation))
    first = all_rows(dest, table_name)
    ok(migrate(dest, name, **operation))
    ok(migrate(dest, name, **operation))
    assert all_rows(dest, table_name) == first
    return first


# -- columns and values ----------------------------------------------------------------------------


def test_add_column_with_default_value_fills_every_row_and_resends_reset_it(dest: Dest) -> None:
    soft_start(dest)
    add = pb.AddOperation(
        add_column_with_default_value=pb.AddColumnWithDefaultValue(
            column="since", column_type=common_pb2.UTC_DATETIME, default_value="2005-05-28T20:57:00Z"
        )
    )
    twice(dest, "soft", "soft", add=add)
    assert rows(dest, "soft", ["id", "since"], ["id"]) == [
        [1, 1117313820000],
        [2, 1117313820000],
        [3, 1117313820000],
    ]
    assert described(dest, "soft")[-1] == ("since", "UTC_DATETIME", False, None)
    # The column exists already: the ADD is skipped but the UPDATE still runs (a re-send with a new value).
    dest.http.run(f"UPDATE {ident(dest.schema, 'soft')} SET {ident('since')} = NULL WHERE {ident('id')} = 1")
    add.add_column_with_default_value.default_value = "2006-01-01T00:00:00Z"
    ok(migrate(dest, "soft", add=add))
    assert {row[1] for row in rows(dest, "soft", ["id", "since"], ["id"])} == {1136073600000}
    # New rows written without the column afterwards get NULL, not a hidden default.
    ok(dest.write(SOFT, replace=[(SOFT_COLUMNS, [["4", "four", "4.00", None, SYNC_2, "false"]])]))
    assert rows(dest, "soft", ["id", "since"], ["id"])[-1] == [4, None]


def test_add_column_with_default_value_of_a_decimal_keeps_every_digit(dest: Dest) -> None:
    soft_start(dest)
    add = pb.AddOperation(
        add_column_with_default_value=pb.AddColumnWithDefaultValue(
            column="amount", column_type=common_pb2.DECIMAL, default_value="12345678.91"
        )
    )
    ok(migrate(dest, "soft", add=add))  # exists: DECIMAL(10,2) stays, every row gets the value
    assert [row[1] for row in rows(dest, "soft", ["id", "amount"], ["id"])] == ["12345678.91"] * 3
    assert described(dest, "soft") == SOFT_DESCRIBED


@pytest.mark.parametrize(("value", "expected"), [("3.5", "3.50"), ("NULL", None), ("", None), ("null", None)])
def test_update_column_value_sets_every_row(dest: Dest, value: str, expected: Any) -> None:
    soft_start(dest)
    operation = pb.UpdateColumnValueOperation(column="amount", value=value)
    twice(dest, "soft", "soft", update_column_value=operation)
    assert [row[1] for row in rows(dest, "soft", ["id", "amount"], ["id"])] == [expected] * 3


def test_update_column_value_is_typed_by_the_column(dest: Dest) -> None:
    soft_start(dest)
    ok(
        migrate(
            dest,
            "soft",
            update_column_value=pb.UpdateColumnValueOperation(
                column="_fivetran_synced", value="2024-01-15T10:30:00.123Z"
            ),
        )
    )
    assert {row[1] for row in rows(dest, "soft", ["id", "_fivetran_synced"], ["id"])} == {1705314600123}
    response = migrate(
        dest, "soft", update_column_value=pb.UpdateColumnValueOperation(column="amount", value="abc")
    )
    assert "'amount'" in response.task.message and "DECIMAL" in response.task.message
    response = migrate(
        dest, "soft", update_column_value=pb.UpdateColumnValueOperation(column="id", value="1")
    )
    assert "primary key" in response.task.message
    response = migrate(
        dest, "soft", update_column_value=pb.UpdateColumnValueOperation(column="nope", value="1")
    )
    assert "no column 'nope'" in response.task.message
    response = migrate(
        dest, "missing", update_column_value=pb.UpdateColumnValueOperation(column="a", value="1")
    )
    assert "does not exist" in response.task.message


def test_copy_column_keeps_type_params_and_values(dest: Dest) -> None:
    soft_start(dest)
    copy = pb.CopyOperation(copy_column=pb.CopyColumn(from_column="amount", to_column="amount_copy"))
    twice(dest, "soft", "soft", copy=copy)
    assert rows(dest, "soft", ["id", "amount", "amount_copy"], ["id"]) == [
        [1, "1.50", 1.5], [2, "2.25", 2.25], [3, "3.00", 3.0]
    ]  # fmt: skip
    assert described(dest, "soft")[-1] == ("amount_copy", "DECIMAL", False, (10, 2))
    copy_doc = pb.CopyOperation(copy_column=pb.CopyColumn(from_column="name", to_column="name2"))
    ok(migrate(dest, "soft", copy=copy_doc))
    assert described(dest, "soft")[-1] == ("name2", "STRING", False, 64)


def test_rename_column_keeps_values_and_type(dest: Dest) -> None:
    soft_start(dest)
    before = rows(dest, "soft", ["id", "doc"], ["id"])
    rename = pb.RenameOperation(rename_column=pb.RenameColumn(from_column="doc", to_column="document"))
    twice(dest, "soft", "soft", rename=rename)
    assert rows(dest, "soft", ["id", "document"], ["id"]) == before
    assert ("document", "JSON", False, None) in described(dest, "soft")
    assert "doc" not in [c[0] for c in described(dest, "soft")]
    clash = pb.RenameOperation(rename_column=pb.RenameColumn(from_column="name", to_column="document"))
    assert "already" in migrate(dest, "soft", rename=clash).task.message


# -- tables ----------------------------------------------------------------------------------------


def test_rename_table_keeps_rows_key_and_types(dest: Dest) -> None:
    soft_start(dest)
    before = all_rows(dest, "soft")
    rename = pb.RenameOperation(rename_table=pb.RenameTable(from_table="soft", to_table="renamed"))
    ok(migrate(dest, "soft", rename=rename))
    ok(migrate(dest, "soft", rename=rename))  # re-send: done already
    assert dest.describe("soft").not_found
    assert described(dest, "renamed") == SOFT_DESCRIBED
    assert all_rows(dest, "renamed") == before
    soft_start(dest)
    assert "exists already" in migrate(dest, "soft", rename=rename).task.message


def test_copy_table_keeps_rows_key_and_types_and_resends_replace_the_copy(dest: Dest) -> None:
    soft_start(dest)
    copy = pb.CopyOperation(copy_table=pb.CopyTable(from_table="soft", to_table="copied"))
    first = twice(dest, "soft", "copied", copy=copy)
    assert first == all_rows(dest, "soft")
    assert described(dest, "copied") == SOFT_DESCRIBED
    dest.http.run(f"DELETE FROM {ident(dest.schema, 'copied')}")
    ok(migrate(dest, "soft", copy=copy))
    assert all_rows(dest, "copied") == first
    # The copy is a table of its own: writes to it use its primary key.
    copied = table("copied", [(c[0], c[1], c[2]) for c in SOFT_DESCRIBED])
    ok(dest.write(copied, replace=[(SOFT_COLUMNS, [["1", "uno", "1.00", None, SYNC_2, "false"]])]))
    assert len(all_rows(dest, "copied")) == 3
    missing = pb.CopyOperation(copy_table=pb.CopyTable(from_table="nope", to_table="x"))
    assert "does not exist" in migrate(dest, "nope", copy=missing).task.message


def test_drop_table_removes_table_and_its_types(dest: Dest) -> None:
    soft_start(dest)
    ok(migrate(dest, "soft", drop=pb.DropOperation(drop_table=True)))
    ok(migrate(dest, "soft", drop=pb.DropOperation(drop_table=True)))
    assert dest.describe("soft").not_found
    # A new table of the same name does not inherit the old column types.
    ok(dest.create(table("soft", [("id", "INT", True), ("doc", "STRING")])))
    assert described(dest, "soft") == [("id", "INT", True, None), ("doc", "STRING", False, None)]


# -- history mode ----------------------------------------------------------------------------------


def test_add_and_drop_column_at_one_instant_make_one_version(dest: Dest) -> None:
    history_start(dest)
    add = pb.AddOperation(
        add_column_in_history_mode=pb.AddColumnInHistoryMode(
            column="tier", column_type=common_pb2.STRING, default_value="basic", operation_timestamp=OP
        )
    )
    drop = pb.DropOperation(
        drop_column_in_history_mode=pb.DropColumnInHistoryMode(column="name", operation_timestamp=OP)
    )
    ok(migrate(dest, "hist", add=add))
    ok(migrate(dest, "hist", drop=drop))
    columns = ["id", "name", "level", "tier", "_fivetran_start", "_fivetran_end", "_fivetran_active"]
    expected = [
        [1, "a", 1, None, V1_MS, V2_MS - 1, False],
        [1, "a", 2, None, V2_MS, OP_MS - 1, False],
        [1, None, 2, "basic", OP_MS, TMAX_MS, True],
        [2, None, 3, None, V1_MS, OP_MS - 1, False],
        [2, None, 3, "basic", OP_MS, TMAX_MS, True],
        [3, "c", 4, None, V1_MS, V3_MS, False],
    ]
    assert rows(dest, "hist", columns, ["id", "_fivetran_start"]) == expected
    for _ in range(2):  # re-sends, in either order
        ok(migrate(dest, "hist", drop=drop))
        ok(migrate(dest, "hist", add=add))
    assert rows(dest, "hist", columns, ["id", "_fivetran_start"]) == expected
    assert ("tier", "STRING", False, None) in described(dest, "hist")
    # A later drop at another instant adds one more version to records that still hold a value.
    later = pb.DropOperation(
        drop_column_in_history_mode=pb.DropColumnInHistoryMode(
            column="level", operation_timestamp="2024-04-01T00:00:00Z"
        )
    )
    ok(migrate(dest, "hist", drop=later))
    ok(migrate(dest, "hist", drop=later))
    result = rows(dest, "hist", columns, ["id", "_fivetran_start"])
    assert len(result) == 8
    assert [row for row in result if row[-1]] == [
        [1, None, None, "basic", 1711929600000, TMAX_MS, True],
        [2, None, None, "basic", 1711929600000, TMAX_MS, True],
    ]


def test_history_column_changes_on_an_empty_table_add_the_column(dest: Dest) -> None:
    ok(dest.create(HISTORY))
    add = pb.AddOperation(
        add_column_in_history_mode=pb.AddColumnInHistoryMode(
            column="score", column_type=common_pb2.INT, default_value="0", operation_timestamp=OP
        )
    )
    ok(migrate(dest, "hist", add=add))
    assert ("score", "INT", False, None) in described(dest, "hist")
    assert all_rows(dest, "hist") == []


def test_history_column_changes_refuse_versions_after_the_instant(dest: Dest) -> None:
    history_start(dest)
    add = pb.AddOperation(
        add_column_in_history_mode=pb.AddColumnInHistoryMode(
            column="tier",
            column_type=common_pb2.STRING,
            default_value="x",
            operation_timestamp="2024-01-01T12:00:00Z",
        )
    )
    response = migrate(dest, "hist", add=add)
    assert "start after the operation_timestamp" in response.task.message
    missing = pb.DropOperation(
        drop_column_in_history_mode=pb.DropColumnInHistoryMode(column="nope", operation_timestamp=OP)
    )
    assert "no column 'nope'" in migrate(dest, "hist", drop=missing).warning.message
    soft_start(dest)
    assert "not a history-mode table" in migrate(dest, "soft", drop=missing).task.message


def test_copy_table_to_history_mode(dest: Dest) -> None:
    soft_start(dest)
    copy = pb.CopyOperation(
        copy_table_to_history_mode=pb.CopyTableToHistoryMode(
            from_table="soft", to_table="soft_history", soft_deleted_column="_fivetran_deleted"
        )
    )
    twice(dest, "soft", "soft_history", copy=copy)
    assert rows(
        dest, "soft_history", ["id", "name", "_fivetran_start", "_fivetran_end", "_fivetran_active"], ["id"]
    ) == [
        [1, "one", SYNC_2_MS, TMAX_MS, True],
        [2, "two", SYNC_2_MS, TMAX_MS, True],
        [3, "three", 0, 0, False],
    ]
    assert described(dest, "soft_history") == [
        *SOFT_DESCRIBED[:5],
        ("_fivetran_start", "UTC_DATETIME", True, None),
        ("_fivetran_end", "UTC_DATETIME", False, None),
        ("_fivetran_active", "BOOLEAN", False, None),
    ]
    assert described(dest, "soft") == SOFT_DESCRIBED  # the source is untouched


def test_soft_delete_to_history_then_history_batches(dest: Dest) -> None:
    soft_start(dest)
    migration = pb.TableSyncModeMigrationOperation(
        type=pb.SOFT_DELETE_TO_HISTORY, soft_deleted_column="_fivetran_deleted"
    )
    twice(dest, "soft", "soft", table_sync_mode_migration=migration)
    history = [
        *SOFT_DESCRIBED[:5],
        ("_fivetran_start", "UTC_DATETIME", True, None),
        ("_fivetran_end", "UTC_DATETIME", False, None),
        ("_fivetran_active", "BOOLEAN", False, None),
    ]
    assert described(dest, "soft") == history
    assert rows(
        dest, "soft", ["id", "amount", "_fivetran_start", "_fivetran_end", "_fivetran_active"], ["id"]
    ) == [
        [1, "1.50", SYNC_2_MS, TMAX_MS, True],
        [2, "2.25", SYNC_2_MS, TMAX_MS, True],
        [3, "3.00", 0, 0, False],
    ]
    definition = table("soft", [(c[0], c[1], c[2], c[3]) for c in history])
    columns = [c[0] for c in history]
    ok(
        dest.write_history(
            definition,
            earliest=[(["id", "_fivetran_start"], [["1", "2024-03-01T00:00:00.000Z"]])],
            update=[(columns, [["1", "uno", *[UNMODIFIED] * 3, "2024-03-01T00:00:00.000Z", TMAX, "true"]])],
        )
    )
    assert rows(dest, "soft", ["id", "name", "amount", "_fivetran_active"], ["id", "_fivetran_start"])[
        :2
    ] == [
        [1, "one", "1.50", False],
        [1, "uno", "1.50", True],
    ]


def test_history_to_soft_delete_keeps_each_records_latest_version(dest: Dest) -> None:
    history_start(dest)
    migration = pb.TableSyncModeMigrationOperation(
        type=pb.HISTORY_TO_SOFT_DELETE, soft_deleted_column="_fivetran_deleted"
    )
    twice(dest, "hist", "hist", table_sync_mode_migration=migration)
    assert described(dest, "hist") == [
        ("id", "INT", True, None),
        ("name", "STRING", False, None),
        ("level", "INT", False, None),
        ("_fivetran_synced", "UTC_DATETIME", False, None),
        ("_fivetran_deleted", "BOOLEAN", False, None),
    ]
    assert all_rows(dest, "hist") == [
        [1, "a", 2, SYNC_1_MS, False],
        [2, None, 3, SYNC_1_MS, False],
        [3, "c", 4, SYNC_1_MS, True],
    ]
    # The table takes live/soft-delete batches keyed by id again.
    definition = table("hist", [(c[0], c[1], c[2]) for c in described(dest, "hist")])
    ok(dest.write(definition, update=[(["id", "name", "_fivetran_synced"], [["2", "b", SYNC_2]])]))
    assert all_rows(dest, "hist")[1] == [2, "b", 3, SYNC_2_MS, False]


def test_history_to_soft_delete_without_deleted_rows(dest: Dest) -> None:
    history_start(dest)
    migration = pb.TableSyncModeMigrationOperation(
        type=pb.HISTORY_TO_SOFT_DELETE, soft_deleted_column="gone", keep_deleted_rows=False
    )
    twice(dest, "hist", "hist", table_sync_mode_migration=migration)
    assert all_rows(dest, "hist") == [[1, "a", 2, SYNC_1_MS, False], [2, None, 3, SYNC_1_MS, False]]
    assert described(dest, "hist")[-1] == ("gone", "BOOLEAN", False, None)


@pytest.mark.parametrize(
    "mode", [pb.SOFT_DELETE_TO_LIVE, pb.HISTORY_TO_LIVE, pb.LIVE_TO_SOFT_DELETE, pb.LIVE_TO_HISTORY]
)
def test_live_sync_modes_are_unsupported(dest: Dest, mode: int) -> None:
    response = migrate(dest, "soft", table_sync_mode_migration=pb.TableSyncModeMigrationOperation(type=mode))  # type: ignore[arg-type]
    assert response.WhichOneof("response") == "unsupported" and response.unsupported


def test_a_failed_rebuild_leaves_the_original_table(dest: Dest) -> None:
    """The soft-delete column must be BOOLEAN: CrateDB rejects the copy, the table stays as it was."""
    soft_start(dest)
    before = all_rows(dest, "soft")
    migration = pb.TableSyncModeMigrationOperation(type=pb.SOFT_DELETE_TO_HISTORY, soft_deleted_column="name")
    response = migrate(dest, "soft", table_sync_mode_migration=migration)
    assert response.WhichOneof("response") == "task"
    assert all_rows(dest, "soft") == before
    assert described(dest, "soft") == SOFT_DESCRIBED
    assert dest.tables() == ["soft"]
    # The server keeps serving, and the operation works with a correct column.
    migration.soft_deleted_column = "_fivetran_deleted"
    ok(migrate(dest, "soft", table_sync_mode_migration=migration))


def test_invalid_requests_are_rejected(dest: Dest) -> None:
    import grpc

    soft_start(dest)
    with pytest.raises(grpc.RpcError) as error:
        migrate(dest, "soft")
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    bad_time = pb.DropOperation(
        drop_column_in_history_mode=pb.DropColumnInHistoryMode(column="name", operation_timestamp="yesterday")
    )
    history_start(dest)
    with pytest.raises(grpc.RpcError) as error:
        migrate(dest, "hist", drop=bad_time)
    assert "operation_timestamp" in str(error.value.details())
