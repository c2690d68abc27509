"""Decoding a MigrationDetails once: names for messages, tables to lock, and a handler for every type."""

from __future__ import annotations

from typing import Any

import pytest
from cratedb_destination.errors import InvalidRequest
from cratedb_destination.services import migrate
from cratedb_destination.services import migrate_ops as ops
from cratedb_destination.sql.identifiers import TableRef
from fivetran_proto import destination_sdk_pb2 as pb


def details(table: str = "t", **operation: Any) -> Any:
    return pb.MigrationDetails(schema="s", table=table, **operation)


def concrete(cls: type[ops.Operation]) -> list[type[ops.Operation]]:
    found = []
    for sub in cls.__subclasses__():
        found += concrete(sub)
        if not sub.__name__.startswith("_"):
            found.append(sub)
    return found


def test_every_operation_type_has_a_handler() -> None:
    assert set(concrete(ops.Operation)) == set(migrate.HANDLERS)


@pytest.mark.parametrize(
    ("message", "expected", "name"),
    [
        (
            details(add=pb.AddOperation(add_column_in_history_mode=pb.AddColumnInHistoryMode(column="c"))),
            ops.AddColumnInHistoryMode("s", "t", "c", 0, "", ""),
            "add_column_in_history_mode",
        ),
        (details(drop=pb.DropOperation(drop_table=True)), ops.DropTable("s", "t"), "drop_table"),
        (
            details(update_column_value=pb.UpdateColumnValueOperation(column="c", value="v")),
            ops.UpdateColumnValue("s", "t", "c", "v"),
            "update_column_value",
        ),
        (
            details(
                table_sync_mode_migration=pb.TableSyncModeMigrationOperation(type=pb.HISTORY_TO_SOFT_DELETE)
            ),
            ops.HistoryToSoftDelete("s", "t", None, True),
            "table_sync_mode_migration HISTORY_TO_SOFT_DELETE",
        ),
        (
            details(
                table_sync_mode_migration=pb.TableSyncModeMigrationOperation(
                    type=pb.SOFT_DELETE_TO_HISTORY, soft_deleted_column=""
                )
            ),
            ops.SoftDeleteToHistory("s", "t", None),
            "table_sync_mode_migration SOFT_DELETE_TO_HISTORY",
        ),
        (
            details(table_sync_mode_migration=pb.TableSyncModeMigrationOperation(type=pb.LIVE_TO_HISTORY)),
            ops.UnsupportedSyncMode("s", "t", pb.LIVE_TO_HISTORY),
            "table_sync_mode_migration LIVE_TO_HISTORY",
        ),
        (details(), ops.NoOperation("s", "t", None), "unknown operation"),
        (details(rename=pb.RenameOperation()), ops.NoOperation("s", "t", "rename"), "rename"),
    ],
)
def test_decoded_operations_and_their_names(message: Any, expected: ops.Operation, name: str) -> None:
    decoded = ops.decode(message)
    assert decoded == expected
    assert decoded.name == name


def test_unsupported_sync_modes_answer_early_only_for_live_modes() -> None:
    assert ops.UnsupportedSyncMode("s", "t", pb.HISTORY_TO_LIVE).early
    unknown = ops.UnsupportedSyncMode("s", "t", 99)  # a type this protocol version does not know
    assert not unknown.early and unknown.name == "table_sync_mode_migration 99"


def test_tables_involved_name_the_requested_table_first_and_once() -> None:
    copy = pb.CopyOperation(copy_table=pb.CopyTable(from_table="a", to_table="t"))
    assert ops.decode(details(copy=copy)).tables() == [TableRef("s", "t"), TableRef("s", "a")]
    assert ops.decode(details("", copy=copy)).tables() == [TableRef("s", "a"), TableRef("s", "t")]
    with pytest.raises(InvalidRequest, match="names no table"):
        ops.decode(details("", drop=pb.DropOperation(drop_table=True))).tables()


def test_history_to_soft_delete_reads_its_optional_fields() -> None:
    op = pb.TableSyncModeMigrationOperation(
        type=pb.HISTORY_TO_SOFT_DELETE, soft_deleted_column="gone", keep_deleted_rows=False
    )
    assert ops.decode(details(table_sync_mode_migration=op)) == ops.HistoryToSoftDelete(
        "s", "t", "gone", False
    )
