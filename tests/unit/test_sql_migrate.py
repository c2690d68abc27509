"""Migrate statement builders: tables of inputs and the exact statement text they must produce."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cratedb_destination import type_mapping as tm
from cratedb_destination.errors import InvalidName
from cratedb_destination.sql import migrate
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.type_mapping import FivetranType

T = TableRef("sch", "tab")
TS = "CAST(? AS TIMESTAMP WITH TIME ZONE)"
HISTORY = ["id", "name", "_fivetran_synced", "_fivetran_start", "_fivetran_end", "_fivetran_active"]
KEYS = ["id", "_fivetran_start"]

CASES: list[tuple[str, Callable[[], str], str]] = [
    (
        "rename table: the new name has no schema",
        lambda: migrate.rename_table(T, "select"),
        'ALTER TABLE "sch"."tab" RENAME TO "select"',
    ),
    (
        "rename column",
        lambda: migrate.rename_column(T, "a", "select"),
        'ALTER TABLE "sch"."tab" RENAME COLUMN "a" TO "select"',
    ),
    (
        "set a column on every row",
        lambda: migrate.set_column(T, "amount", FivetranType(tm.DECIMAL, 10, 2)),
        'UPDATE "sch"."tab" SET "amount" = CAST(? AS NUMERIC(10, 2))',
    ),
    (
        "set a column on the versions starting at one instant",
        lambda: migrate.set_column(T, "tier", FivetranType(tm.STRING), at_start=True),
        f'UPDATE "sch"."tab" SET "tier" = CAST(? AS TEXT) WHERE "_fivetran_start" = {TS}',
    ),
    (
        "copy a column's values",
        lambda: migrate.copy_column_values(T, "a", "b"),
        'UPDATE "sch"."tab" SET "b" = "a"',
    ),
    (
        "count active versions before an instant",
        lambda: migrate.count_active_before(T),
        f'SELECT COUNT(*) FROM "sch"."tab" WHERE "_fivetran_active" = TRUE AND "_fivetran_start" < {TS}',
    ),
    (
        "count active versions holding a value",
        lambda: migrate.count_active_before(T, "name"),
        'SELECT COUNT(*) FROM "sch"."tab" WHERE "_fivetran_active" = TRUE AND '
        f'"_fivetran_start" < {TS} AND "name" IS NOT NULL',
    ),
    (
        "copy active versions to a new start",
        lambda: migrate.copy_active_versions(T, HISTORY, KEYS),
        'INSERT INTO "sch"."tab" ("id", "name", "_fivetran_synced", "_fivetran_start", "_fivetran_end", '
        f'"_fivetran_active") (SELECT "id", "name", "_fivetran_synced", {TS} AS "_fivetran_start", '
        '"_fivetran_end", "_fivetran_active" FROM "sch"."tab" WHERE "_fivetran_active" = TRUE AND '
        f'"_fivetran_start" < {TS}) ON CONFLICT ("id", "_fivetran_start") DO UPDATE SET '
        '"name" = excluded."name", "_fivetran_synced" = excluded."_fivetran_synced", '
        '"_fivetran_end" = excluded."_fivetran_end", "_fivetran_active" = excluded."_fivetran_active"',
    ),
    (
        "copy active versions holding a value",
        lambda: migrate.copy_active_versions(T, ["id", "_fivetran_start"], KEYS, "name"),
        f'INSERT INTO "sch"."tab" ("id", "_fivetran_start") (SELECT "id", {TS} AS "_fivetran_start" '
        f'FROM "sch"."tab" WHERE "_fivetran_active" = TRUE AND "_fivetran_start" < {TS} AND '
        '"name" IS NOT NULL)',
    ),
    (
        "close active versions before an instant",
        lambda: migrate.close_active_before(T, "name"),
        f'UPDATE "sch"."tab" SET "_fivetran_end" = {TS}, "_fivetran_active" = FALSE WHERE '
        f'"_fivetran_active" = TRUE AND "_fivetran_start" < {TS} AND "name" IS NOT NULL',
    ),
    (
        "latest active start",
        lambda: migrate.max_active_start(T),
        'SELECT MAX("_fivetran_start") FROM "sch"."tab" WHERE "_fivetran_active" = TRUE',
    ),
    (
        "max of a column",
        lambda: migrate.max_value(T, "_fivetran_synced"),
        'SELECT MAX("_fivetran_synced") FROM "sch"."tab"',
    ),
    ("select rows", lambda: migrate.select_rows(T, ["id", "name"]), 'SELECT "id", "name" FROM "sch"."tab"'),
    (
        "rows as history versions, soft-deleted rows closed",
        lambda: migrate.select_as_history(T, ["id", "name"], "_fivetran_deleted"),
        'SELECT "id", "name", '
        f'CASE WHEN COALESCE("_fivetran_deleted", FALSE) THEN {TS} ELSE {TS} END, '
        f'CASE WHEN COALESCE("_fivetran_deleted", FALSE) THEN {TS} ELSE {TS} END, '
        'NOT COALESCE("_fivetran_deleted", FALSE) FROM "sch"."tab"',
    ),
    (
        "rows as history versions, no soft-delete column",
        lambda: migrate.select_as_history(T, ["id"], None),
        f'SELECT "id", {TS}, {TS}, TRUE FROM "sch"."tab"',
    ),
    (
        "latest version of each record, deleted ones kept",
        lambda: migrate.select_latest_versions(T, ["id", "name"], ["id"], "_fivetran_deleted", True),
        'SELECT "id", "name", "_fivetran_deleted" FROM (SELECT "id", "name", '
        'NOT COALESCE("_fivetran_active", FALSE) AS "_fivetran_deleted", ROW_NUMBER() OVER '
        '(PARTITION BY "id" ORDER BY "_fivetran_start" DESC) AS "__fivetran_version_rank" '
        'FROM "sch"."tab" WHERE "_fivetran_start" IS NOT NULL) AS "versions" '
        'WHERE "__fivetran_version_rank" = 1',
    ),
    (
        "latest version of each record, deleted ones dropped",
        lambda: migrate.select_latest_versions(T, ["a", "b"], ["a", "b"], "gone", False),
        'SELECT "a", "b", "gone" FROM (SELECT "a", "b", NOT COALESCE("_fivetran_active", FALSE) AS "gone", '
        'ROW_NUMBER() OVER (PARTITION BY "a", "b" ORDER BY "_fivetran_start" DESC) AS '
        '"__fivetran_version_rank" FROM "sch"."tab" WHERE "_fivetran_start" IS NOT NULL) AS "versions" '
        'WHERE "__fivetran_version_rank" = 1 AND "gone" = FALSE',
    ),
    (
        "insert from a select",
        lambda: migrate.insert_select(T.sibling("copy"), ["id"], 'SELECT "id" FROM "sch"."tab"'),
        'INSERT INTO "sch"."copy" ("id") (SELECT "id" FROM "sch"."tab")',
    ),
    (
        "count a select",
        lambda: migrate.count_select('SELECT "id" FROM "sch"."tab"'),
        'SELECT COUNT(*) FROM (SELECT "id" FROM "sch"."tab") AS "source"',
    ),
]


@pytest.mark.parametrize(("case", "build", "expected"), CASES, ids=[case[0] for case in CASES])
def test_builder(case: str, build: Callable[[], str], expected: str) -> None:
    assert build() == expected


@pytest.mark.parametrize(
    "build",
    [
        lambda: migrate.copy_active_versions(T, ["id", "name"], ["id"]),
        lambda: migrate.select_latest_versions(T, ["id"], [], "_fivetran_deleted", True),
    ],
)
def test_builders_reject_incomplete_input(build: Callable[[], str]) -> None:
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: migrate.rename_table(T, "a.b"), "'a.b'"),
        (lambda: migrate.rename_table(T, ""), "empty"),
        (lambda: migrate.rename_column(T, "a", "b.c"), "'b.c'"),
        (lambda: migrate.copy_column_values(T, "a[0]", "b"), r"'a\[0\]'"),
    ],
)
def test_builders_validate_names(build: Callable[[], str], name: str) -> None:
    with pytest.raises(InvalidName, match=name):
        build()
