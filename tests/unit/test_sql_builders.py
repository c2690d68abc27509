"""Pure SQL builders: tables of inputs and the exact statement text they must produce."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cratedb_destination import type_mapping as tm
from cratedb_destination.errors import InvalidName
from cratedb_destination.sql import ddl, dml
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.table_settings import TableSettings
from cratedb_destination.type_mapping import ColumnSpec, FivetranType

T = TableRef("sch", "tab")
ODD = TableRef("Sch ema".replace(" ", "_"), "select")

ID = ColumnSpec("id", FivetranType(tm.INT), primary_key=True)
NAME = ColumnSpec("name", FivetranType(tm.STRING))
DOC = ColumnSpec("doc", FivetranType(tm.JSON))
AMOUNT = ColumnSpec("amount", FivetranType(tm.DECIMAL, 10, 2))
SYNCED = ColumnSpec("_fivetran_synced", FivetranType(tm.UTC_DATETIME))
QUOTED = ColumnSpec('we"ird', FivetranType(tm.STRING), primary_key=True)
DAY = ColumnSpec("day", FivetranType(tm.NAIVE_DATE), primary_key=True)
MONGO_ID = ColumnSpec("_id", FivetranType(tm.NAIVE_DATE), primary_key=True)

CASES: list[tuple[str, Callable[[], str], str]] = [
    (
        "create table with key",
        lambda: ddl.create_table(T, [ID, NAME, DOC, SYNCED]),
        'CREATE TABLE "sch"."tab" ("id" INTEGER, "name" TEXT, '
        '"doc" TEXT INDEX OFF STORAGE WITH (columnstore = false), '
        '"_fivetran_synced" TIMESTAMP WITH TIME ZONE, PRIMARY KEY ("id"))',
    ),
    (
        "create table composite key, if not exists",
        lambda: ddl.create_table(ODD, [ID, QUOTED, AMOUNT], if_not_exists=True),
        'CREATE TABLE IF NOT EXISTS "Sch_ema"."select" ("id" INTEGER, "we""ird" TEXT, '
        '"amount" NUMERIC(10, 2), PRIMARY KEY ("id", "we""ird"))',
    ),
    (
        "create keyless table",
        lambda: ddl.create_table(T, [NAME]),
        'CREATE TABLE "sch"."tab" ("name" TEXT)',
    ),
    (
        "create table with shards and replicas",
        lambda: ddl.create_table(T, [ID, NAME], settings=TableSettings(shards=2, replicas="1")),
        'CREATE TABLE "sch"."tab" ("id" INTEGER, "name" TEXT, PRIMARY KEY ("id")) '
        "CLUSTERED INTO 2 SHARDS WITH (number_of_replicas = '1')",
    ),
    (
        "create table with a replica range only",
        lambda: ddl.create_table(T, [ID], True, TableSettings(replicas="0-all")),
        'CREATE TABLE IF NOT EXISTS "sch"."tab" ("id" INTEGER, PRIMARY KEY ("id")) '
        "WITH (number_of_replicas = '0-all')",
    ),
    (
        "create partitioned table: PARTITIONED BY, CLUSTERED, WITH",
        lambda: ddl.create_table(
            T, [ID, DAY, NAME], settings=TableSettings(shards=3, replicas="0-1", partitioned_by=("day",))
        ),
        'CREATE TABLE "sch"."tab" ("id" INTEGER, "day" TIMESTAMP WITHOUT TIME ZONE, "name" TEXT, '
        'PRIMARY KEY ("id", "day")) PARTITIONED BY ("day") CLUSTERED INTO 3 SHARDS '
        "WITH (number_of_replicas = '0-1')",
    ),
    (
        "create partitioned table by a system column name, stored with one more underscore",
        lambda: ddl.create_table(T, [ID, MONGO_ID], settings=TableSettings(partitioned_by=("_id",))),
        'CREATE TABLE "sch"."tab" ("id" INTEGER, "__id" TIMESTAMP WITHOUT TIME ZONE, '
        'PRIMARY KEY ("id", "__id")) PARTITIONED BY ("__id")',
    ),
    (
        "create table with default settings says nothing about them",
        lambda: ddl.create_table(T, [ID], settings=TableSettings()),
        'CREATE TABLE "sch"."tab" ("id" INTEGER, PRIMARY KEY ("id"))',
    ),
    ("drop table", lambda: ddl.drop_table(T), 'DROP TABLE IF EXISTS "sch"."tab"'),
    ("drop table strict", lambda: ddl.drop_table(T, if_exists=False), 'DROP TABLE "sch"."tab"'),
    (
        "add column",
        lambda: ddl.add_column(T, AMOUNT),
        'ALTER TABLE "sch"."tab" ADD COLUMN "amount" NUMERIC(10, 2)',
    ),
    ("drop column", lambda: ddl.drop_column(T, 'we"ird'), 'ALTER TABLE "sch"."tab" DROP COLUMN "we""ird"'),
    ("refresh", lambda: ddl.refresh(ODD), 'REFRESH TABLE "Sch_ema"."select"'),
    (
        "swap",
        lambda: ddl.swap_and_drop_source(T.sibling("tab__new"), T),
        'ALTER CLUSTER SWAP TABLE "sch"."tab__new" TO "sch"."tab" WITH (drop_source = true)',
    ),
    (
        "copy rows with a cast",
        lambda: ddl.copy_rows(T, T.sibling("new"), [ID, AMOUNT], [False, True]),
        'INSERT INTO "sch"."new" ("id", "amount") '
        '(SELECT "id", CAST("amount" AS NUMERIC(10, 2)) FROM "sch"."tab")',
    ),
    ("count", lambda: ddl.count_rows(T), 'SELECT COUNT(*) FROM "sch"."tab"'),
    (
        "upsert replaces every non-key column",
        lambda: dml.upsert(T, ["id", "name", "_fivetran_synced"], ["id"], ["doc"]),
        'INSERT INTO "sch"."tab" ("id", "name", "_fivetran_synced") VALUES (?, ?, ?) ON CONFLICT ("id") '
        'DO UPDATE SET "name" = excluded."name", "_fivetran_synced" = excluded."_fivetran_synced", '
        '"doc" = NULL',
    ),
    (
        "upsert of key-only rows",
        lambda: dml.upsert(T, ["id", 'we"ird'], ["id", 'we"ird']),
        'INSERT INTO "sch"."tab" ("id", "we""ird") VALUES (?, ?) ON CONFLICT ("id", "we""ird") DO NOTHING',
    ),
    (
        "update by composite key",
        lambda: dml.update_by_key(T, ["name", "_fivetran_synced"], ["id", 'we"ird']),
        'UPDATE "sch"."tab" SET "name" = ?, "_fivetran_synced" = ? WHERE "id" = ? AND "we""ird" = ?',
    ),
    (
        "selective update",
        lambda: dml.update_by_key_selective(T, [("name", NAME.type), ("amount", AMOUNT.type)], ["id"]),
        'UPDATE "sch"."tab" SET "name" = CASE WHEN ? THEN CAST(? AS TEXT) ELSE "name" END, '
        '"amount" = CASE WHEN ? THEN CAST(? AS NUMERIC(10, 2)) ELSE "amount" END WHERE "id" = ?',
    ),
    ("delete by key", lambda: dml.delete_by_key(T, ["id"]), 'DELETE FROM "sch"."tab" WHERE "id" = ?'),
    (
        "select by key",
        lambda: dml.select_by_key(T, ["name"], ["id", 'we"ird']),
        'SELECT "name" FROM "sch"."tab" WHERE "id" = ? AND "we""ird" = ?',
    ),
    (
        "hard truncate",
        lambda: dml.delete_synced_before(T, "_fivetran_synced"),
        'DELETE FROM "sch"."tab" WHERE "_fivetran_synced" < CAST(? AS TIMESTAMP WITH TIME ZONE)',
    ),
    (
        "soft truncate",
        lambda: dml.mark_deleted_synced_before(T, "_fivetran_deleted", "_fivetran_synced"),
        'UPDATE "sch"."tab" SET "_fivetran_deleted" = TRUE '
        'WHERE "_fivetran_synced" < CAST(? AS TIMESTAMP WITH TIME ZONE)',
    ),
]


@pytest.mark.parametrize(("case", "build", "expected"), CASES, ids=[case[0] for case in CASES])
def test_builder(case: str, build: Callable[[], str], expected: str) -> None:
    assert build() == expected


@pytest.mark.parametrize(
    "build",
    [
        lambda: ddl.create_table(T, []),
        lambda: dml.update_by_key(T, [], ["id"]),
        lambda: dml.delete_by_key(T, []),
        lambda: dml.upsert(T, ["name"], ["id"]),
        lambda: ddl.copy_rows(T, T, [ID], []),
        lambda: ddl.create_table(T, [ID], settings=TableSettings(shards=0)),
    ],
)
def test_builders_reject_incomplete_input(build: Callable[[], str]) -> None:
    with pytest.raises(ValueError):
        build()


def test_builders_validate_column_names() -> None:
    with pytest.raises(InvalidName, match=r"'a\.b'"):
        dml.delete_by_key(T, ["a.b"])
    with pytest.raises(InvalidName, match=r"'a\[0\]'"):
        ddl.add_column(T, ColumnSpec("a[0]", FivetranType(tm.STRING)))
    # A CrateDB system column name is no error: it is stored with one more leading underscore.
    assert '"__id"' in ddl.add_column(T, ColumnSpec("_id", FivetranType(tm.STRING)))
