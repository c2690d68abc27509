"""Text over CrateDB's 32,766-byte limit for indexed text, through a real gRPC client.

A STRING column created without params is indexed; the first value that does not fit switches it to
unlimited storage through a lossless rebuild, once, without changing what DescribeTable answers. Key
values over the limit are a Task.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from crate_http import ident
from cratedb_destination.batch import UNMODIFIED
from destination_harness import SYNCED_1, SYNCED_2, Dest, ok
from destination_testkit import table
from fivetran_proto import common_pb2
from fivetran_proto import destination_sdk_pb2 as pb

pytestmark = pytest.mark.cratedb

NOTES = table(
    "notes", [("id", "INT", True), ("body", "STRING"), ("n", "INT"), ("_fivetran_synced", "UTC_DATETIME")]
)
NAMES = ["id", "body", "n", "_fivetran_synced"]
HISTORY = table(
    "notes_history",
    [("id", "INT", True), ("body", "STRING"), ("n", "INT"), ("_fivetran_synced", "UTC_DATETIME"),
     ("_fivetran_start", "UTC_DATETIME", True), ("_fivetran_end", "UTC_DATETIME"),
     ("_fivetran_active", "BOOLEAN")],
)  # fmt: skip
HISTORY_NAMES = [c.name for c in HISTORY.columns]
T1, T2, T3 = "2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z", "2024-01-03T00:00:00.000Z"
TMAX = "9999-12-31T23:59:59.999Z"


def long_text(tag: str) -> str:
    """About 40 KB of UTF-8 (13,400 three-byte characters), tagged so that values differ."""
    value = f"{tag}:" + "€" * 13_400
    assert len(value.encode()) > 32_766
    return value


@pytest.fixture(name="rebuilds")
def rebuilds_fixture(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The destination's log (the server runs in this process), from INFO on."""
    with caplog.at_level(logging.INFO, logger="cratedb_destination"):
        yield caplog


def switches(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Messages of column switches to unlimited storage logged so far; then forget them."""
    found = [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and "limit of indexed text" in record.getMessage()
    ]
    caplog.clear()
    return found


def storage(dest: Dest, name: str) -> str:
    """CrateDB's own definition of the table (shows INDEX OFF and the column store)."""
    return str(dest.http.run(f"SHOW CREATE TABLE {ident(dest.schema, name)}").rows[0][0])


def unindexed(dest: Dest, name: str, column: str) -> bool:
    definition = storage(dest, name)
    line = next(line for line in definition.splitlines() if line.strip().startswith(f'"{column}"'))
    return "INDEX OFF" in line and "columnstore = false" in definition.replace("\n", " ").replace("  ", " ")


def test_long_value_in_a_replace_file_switches_the_column_once(dest: Dest, rebuilds: Any) -> None:
    ok(dest.create(NOTES))
    described = dest.describe("notes")
    first, second = long_text("first"), long_text("second")
    ok(dest.write(NOTES, replace=[(NAMES, [["1", "short", "1", SYNCED_1], ["2", first, "2", SYNCED_1]])]))
    assert dest.rows("notes", ["id", "body", "n"]) == [[1, "short", 1], [2, first, 2]]
    assert dest.describe("notes") == described
    assert unindexed(dest, "notes", "body")
    (message,) = switches(rebuilds)
    assert f"{dest.schema}.notes" in message and "'body'" in message and first[:20] not in message

    ok(dest.write(NOTES, replace=[(NAMES, [["3", second, "3", SYNCED_2]])]))
    assert switches(rebuilds) == []
    assert dest.rows("notes", ["id", "body"]) == [[1, "short"], [2, first], [3, second]]
    assert dest.describe("notes") == described


def test_long_value_in_an_update_file(dest: Dest, rebuilds: Any) -> None:
    ok(dest.create(NOTES))
    described = dest.describe("notes")
    ok(dest.write(NOTES, replace=[(NAMES, [["1", "a", "1", SYNCED_1], ["2", "b", "2", SYNCED_1]])]))
    value = long_text("update")
    update = [["1", value, UNMODIFIED, SYNCED_2], ["2", UNMODIFIED, "20", SYNCED_2]]
    ok(dest.write(NOTES, update=[(NAMES, update)]))
    assert dest.rows("notes", ["id", "body", "n"]) == [[1, value, 1], [2, "b", 20]]
    assert dest.describe("notes") == described
    assert len(switches(rebuilds)) == 1


def test_long_values_in_history_batches(dest: Dest, rebuilds: Any) -> None:
    ok(dest.create(HISTORY))
    described = dest.describe("notes_history")
    ok(
        dest.write_history(
            HISTORY,
            earliest=[(["id", "_fivetran_start"], [["1", T1]])],
            replace=[(HISTORY_NAMES, [["1", "short", "1", SYNCED_1, T1, TMAX, "true"]])],
        )
    )
    first, second = long_text("v2"), long_text("v3")
    ok(
        dest.write_history(
            HISTORY,
            earliest=[(["id", "_fivetran_start"], [["1", T2]])],
            update=[(HISTORY_NAMES, [["1", first, UNMODIFIED, SYNCED_2, T2, TMAX, "true"]])],
        )
    )
    assert len(switches(rebuilds)) == 1
    ok(
        dest.write_history(
            HISTORY,
            earliest=[(["id", "_fivetran_start"], [["1", T3]])],
            update=[(HISTORY_NAMES, [["1", second, "3", SYNCED_2, T3, TMAX, "true"]])],
        )
    )
    assert switches(rebuilds) == []
    versions = dest.rows("notes_history", ["_fivetran_start", "body", "n", "_fivetran_active"])
    assert [row[1:] for row in versions] == [["short", 1, False], [first, 1, False], [second, 3, True]]
    assert dest.describe("notes_history") == described


def test_a_key_value_over_the_limit_is_a_task_without_the_value(dest: Dest, rebuilds: Any) -> None:
    keyed = table("keyed", [("code", "STRING", True), ("_fivetran_synced", "UTC_DATETIME")])
    ok(dest.create(keyed))
    value = long_text("key")
    response = dest.write(
        keyed, replace=[(["code", "_fivetran_synced"], [["ok", SYNCED_1], [value, SYNCED_1]])]
    )
    assert response.WhichOneof("response") == "task"
    message = response.task.message
    assert "row 2" in message and "'code'" in message and "primary-key" in message
    assert value[:20] not in message
    assert dest.rows("keyed", ["code"]) == []  # the row was refused before anything was sent
    assert switches(rebuilds) == []


def test_alter_table_keeps_the_unlimited_storage(dest: Dest, rebuilds: Any) -> None:
    ok(dest.create(NOTES))
    value = long_text("kept")
    ok(dest.write(NOTES, replace=[(NAMES, [["1", value, "1", SYNCED_1]])]))
    assert len(switches(rebuilds)) == 1
    # INT -> LONG rebuilds the table; had the rebuild made "body" indexed again, the copy would fail.
    altered = table(
        "notes",
        [("id", "INT", True), ("body", "STRING"), ("n", "LONG"), ("_fivetran_synced", "UTC_DATETIME"),
         ("extra", "STRING")],
    )  # fmt: skip
    ok(dest.alter(altered))
    assert unindexed(dest, "notes", "body")
    assert dest.rows("notes", ["id", "body", "n", "extra"]) == [[1, value, 1, None]]
    assert dest.describe("notes").table == altered
    ok(dest.write(altered, replace=[([*NAMES, "extra"], [["2", long_text("again"), "2", SYNCED_2, "x"]])]))
    assert switches(rebuilds) == []


def migrate(dest: Dest, name: str, **operation: Any) -> Any:
    details = pb.MigrationDetails(schema=dest.schema, table=name, **operation)
    return dest.stub.Migrate(pb.MigrateRequest(configuration=dest.configuration, details=details))


def test_migrations_writing_long_values(dest: Dest, rebuilds: Any) -> None:
    ok(dest.create(NOTES))
    ok(dest.write(NOTES, replace=[(NAMES, [["1", "a", "1", SYNCED_1], ["2", "b", "2", SYNCED_1]])]))
    described = dest.describe("notes")
    value = long_text("migrated")
    ok(migrate(dest, "notes", update_column_value=pb.UpdateColumnValueOperation(column="body", value=value)))
    assert dest.rows("notes", ["id", "body"]) == [[1, value], [2, value]]
    assert dest.describe("notes") == described
    assert len(switches(rebuilds)) == 1

    default = long_text("default")
    add = pb.AddOperation(
        add_column_with_default_value=pb.AddColumnWithDefaultValue(
            column="note", column_type=common_pb2.STRING, default_value=default
        )
    )
    ok(migrate(dest, "notes", add=add))
    assert dest.rows("notes", ["id", "note"]) == [[1, default], [2, default]]
    assert unindexed(dest, "notes", "note")
    assert switches(rebuilds) == []  # created with unlimited storage: nothing to rebuild


def test_cratedb_refuses_long_text_only_in_indexed_columns(dest: Dest) -> None:
    """The limit the destination works around (CrateDB docs general/ddl/storage); the emulator must enforce it
    too."""
    name = ident(dest.schema, "raw")
    dest.http.run(
        f'CREATE TABLE {name} ("id" INT PRIMARY KEY, "indexed" TEXT, '
        '"unlimited" TEXT INDEX OFF STORAGE WITH (columnstore = false))'
    )
    value = long_text("raw")
    refused = dest.http.sql(f'INSERT INTO {name} ("id", "indexed") VALUES (?, ?)', [1, value])
    assert not refused.ok
    dest.http.run(f'INSERT INTO {name} ("id", "unlimited") VALUES (?, ?)', [2, value])
    dest.http.refresh(name)
    assert dest.http.run(f'SELECT "unlimited" FROM {name}').rows == [[value]]


def test_sync_mode_migration_and_rename_keep_the_unlimited_storage(dest: Dest, rebuilds: Any) -> None:
    ok(dest.create(HISTORY))
    value = long_text("latest")
    ok(
        dest.write_history(
            HISTORY,
            earliest=[(["id", "_fivetran_start"], [["1", T1]])],
            replace=[(HISTORY_NAMES, [["1", value, "1", SYNCED_1, T1, TMAX, "true"]])],
        )
    )
    assert len(switches(rebuilds)) == 1
    # The rebuild to soft-delete mode copies the long value: it needs the unlimited storage to stay.
    to_soft = pb.TableSyncModeMigrationOperation(
        type=pb.HISTORY_TO_SOFT_DELETE, soft_deleted_column="_fivetran_deleted"
    )
    ok(migrate(dest, "notes_history", table_sync_mode_migration=to_soft))
    assert dest.rows("notes_history", ["id", "body"]) == [[1, value]]
    rename = pb.RenameOperation(rename_column=pb.RenameColumn(from_column="body", to_column="text"))
    ok(migrate(dest, "notes_history", rename=rename))
    assert unindexed(dest, "notes_history", "text")
    soft = table(
        "notes_history",
        [("id", "INT", True), ("text", "STRING"), ("n", "INT"), ("_fivetran_synced", "UTC_DATETIME"),
         ("_fivetran_deleted", "BOOLEAN")],
    )  # fmt: skip
    assert dest.describe("notes_history").table == soft
    other = long_text("other")
    ok(dest.write(soft, replace=[(["id", "text", "_fivetran_synced"], [["2", other, SYNCED_2]])]))
    assert switches(rebuilds) == []
    assert dest.rows("notes_history", ["id", "text"]) == [[1, value], [2, other]]


def test_columns_created_unlimited_are_not_rebuilt(dest: Dest, rebuilds: Any) -> None:
    wide = table(
        "wide",
        [("id", "INT", True), ("doc", "JSON"), ("declared", "STRING", False, 100_000), ("xml", "XML"),
         ("_fivetran_synced", "UTC_DATETIME")],
    )  # fmt: skip
    ok(dest.create(wide))
    document = '{"text": "' + long_text("json") + '"}'
    declared, xml = long_text("declared"), f"<a>{long_text('xml')}</a>"
    names = ["id", "doc", "declared", "xml", "_fivetran_synced"]
    ok(dest.write(wide, replace=[(names, [["1", document, declared, xml, SYNCED_1]])]))
    assert dest.rows("wide", ["id", "doc", "declared", "xml"]) == [[1, document, declared, xml]]
    assert not [r for r in rebuilds.records if "rebuilt" in r.getMessage()]
    assert switches(rebuilds) == []
