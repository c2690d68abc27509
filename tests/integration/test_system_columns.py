"""Columns named like CrateDB's system columns (`_id`, `_version`, ...), which MongoDB-shaped sources send:
stored under one more leading underscore, spoken as Fivetran's name by every RPC.

CrateDB reserves these names (CrateDB source SysColumns.java) and refuses writes to them since 6.2.0
(CrateDB 6.2.0 release notes: "Cannot write to system column"). Every test runs unchanged against a real
CrateDB (CRATEDB_URL).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from crate_http import ident
from cratedb_destination.batch import UNMODIFIED
from destination_harness import SYNCED_1, SYNCED_2, Dest, ok
from destination_testkit import table
from fivetran_proto import common_pb2
from fivetran_proto import destination_sdk_pb2 as pb

pytestmark = pytest.mark.cratedb

DOCS = table(
    "docs",
    [("_id", "STRING", True), ("_version", "INT"), ("title", "STRING"), ("_fivetran_synced", "UTC_DATETIME"),
     ("_fivetran_deleted", "BOOLEAN")],
)  # fmt: skip
NAMES = [c.name for c in DOCS.columns]
HISTORY = table(
    "docs_history",
    [("_id", "STRING", True), ("title", "STRING"), ("_fivetran_synced", "UTC_DATETIME"),
     ("_fivetran_start", "UTC_DATETIME", True), ("_fivetran_end", "UTC_DATETIME"),
     ("_fivetran_active", "BOOLEAN")],
)  # fmt: skip
V1, V2, TMAX = "2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z", "9999-12-31T23:59:59.999Z"


def stored(dest: Dest, name: str, columns: list[str]) -> list[list[Any]]:
    """Rows as CrateDB holds them, by CrateDB column name."""
    dest.http.refresh(ident(dest.schema, name))
    select = ", ".join(ident(c) for c in columns)
    return dest.http.run(f"SELECT {select} FROM {ident(dest.schema, name)} ORDER BY 1").rows


def described(dest: Dest, name: str) -> list[tuple[str, bool]]:
    response = dest.describe(name)
    assert response.WhichOneof("response") == "table", response
    return [(column.name, column.primary_key) for column in response.table.columns]


def migrate(dest: Dest, name: str, **operation: Any) -> Any:
    details = pb.MigrationDetails(schema=dest.schema, table=name, **operation)
    return dest.stub.Migrate(pb.MigrateRequest(configuration=dest.configuration, details=details))


def start(dest: Dest) -> None:
    ok(dest.create(DOCS))
    rows = [["a1", "1", "first", SYNCED_1, "false"], ["b2", "1", "second", SYNCED_1, "false"]]
    ok(dest.write(DOCS, replace=[(NAMES, rows)]))


def test_system_column_names_are_stored_renamed_and_described_by_fivetran_name(dest: Dest) -> None:
    start(dest)
    columns = dest.http.run(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [dest.schema, "docs"],
    ).rows
    assert [c[0] for c in columns] == ["__id", "__version", "title", "_fivetran_synced", "_fivetran_deleted"]
    assert described(dest, "docs") == [
        ("_id", True), ("_version", False), ("title", False), ("_fivetran_synced", False),
        ("_fivetran_deleted", False),
    ]  # fmt: skip
    assert stored(dest, "docs", ["__id", "__version", "title"]) == [["a1", 1, "first"], ["b2", 1, "second"]]


def test_writes_and_truncate_by_a_system_column_key(dest: Dest) -> None:
    start(dest)
    ok(dest.write(DOCS, update=[(NAMES, [["a1", "2", UNMODIFIED, SYNCED_2, UNMODIFIED]])]))
    ok(dest.write(DOCS, delete=[(NAMES, [["b2", None, None, SYNCED_2, None]])]))
    assert stored(dest, "docs", ["__id", "__version", "title"]) == [["a1", 2, "first"]]
    ok(dest.write(DOCS, replace=[(NAMES, [["c3", "1", "third", SYNCED_1, "false"]])]))
    ok(dest.truncate(DOCS.name, dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone.utc), soft=True))
    assert stored(dest, "docs", ["__id", "_fivetran_deleted"]) == [["a1", False], ["c3", True]]


def test_a_table_defining_both_a_system_name_and_its_stored_name_is_a_task(dest: Dest) -> None:
    clash = table(
        "clash", [("_id", "STRING", True), ("__id", "STRING"), ("_fivetran_synced", "UTC_DATETIME")]
    )
    message = dest.create(clash).task.message
    assert "'_id'" in message and "'__id'" in message


def test_migrate_operations_speak_fivetran_names(dest: Dest) -> None:
    start(dest)
    rename = pb.RenameOperation(rename_column=pb.RenameColumn(from_column="_version", to_column="_score"))
    ok(migrate(dest, "docs", rename=rename))
    assert [name for name, _ in described(dest, "docs")][:2] == ["_id", "_score"]
    copy = pb.CopyOperation(copy_column=pb.CopyColumn(from_column="_score", to_column="_raw"))
    ok(migrate(dest, "docs", copy=copy))
    assert stored(dest, "docs", ["__id", "__score", "__raw"]) == [["a1", 1, 1], ["b2", 1, 1]]
    copied = pb.CopyOperation(copy_table=pb.CopyTable(from_table="docs", to_table="docs_copy"))
    ok(migrate(dest, "docs", copy=copied))
    assert described(dest, "docs_copy")[0] == ("_id", True)
    assert stored(dest, "docs_copy", ["__id", "__raw"]) == [["a1", 1], ["b2", 1]]


def test_history_mode_with_a_system_column_key(dest: Dest) -> None:
    ok(dest.create(HISTORY))
    names = [c.name for c in HISTORY.columns]
    ok(
        dest.write_history(
            HISTORY,
            earliest=[(["_id", "_fivetran_start"], [["a1", V1]])],
            replace=[(names, [["a1", "first", SYNCED_1, V1, TMAX, "true"]])],
        )
    )
    ok(
        dest.write_history(
            HISTORY,
            earliest=[(["_id", "_fivetran_start"], [["a1", V2]])],
            update=[(names, [["a1", "second", SYNCED_2, V2, TMAX, "true"]])],
        )
    )
    versions = stored(dest, "docs_history", ["__id", "title", "_fivetran_active"])
    assert sorted(versions, key=lambda row: row[2]) == [["a1", "first", False], ["a1", "second", True]]
    assert described(dest, "docs_history")[0] == ("_id", True)


def test_system_column_types_survive_in_the_metadata_record(dest: Dest) -> None:
    start(dest)
    response = dest.describe("docs")
    types = {column.name: column.type for column in response.table.columns}
    assert types["_id"] == common_pb2.STRING and types["_version"] == common_pb2.INT
