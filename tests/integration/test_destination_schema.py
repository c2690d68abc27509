"""DescribeTable, CreateTable and AlterTable through a real gRPC client against CrateDB (or the emulator)."""

from __future__ import annotations

import pytest
from destination_harness import SYNCED_1, SYNCED_2, Dest, ok
from destination_testkit import table
from fivetran_proto import common_pb2

pytestmark = pytest.mark.cratedb

ALL_TYPES = [
    ("id", "INT", True),
    ("flag", "BOOLEAN"),
    ("small", "SHORT"),
    ("big", "LONG"),
    ("amount", "DECIMAL", False, (6, 3)),
    ("amount_default", "DECIMAL"),
    ("amount_wide", "DECIMAL", False, (38, 37)),
    ("ratio", "FLOAT"),
    ("precise", "DOUBLE"),
    ("day", "NAIVE_DATE"),
    ("moment", "NAIVE_DATETIME"),
    ("instant", "UTC_DATETIME"),
    ("payload", "BINARY"),
    ("markup", "XML"),
    ("label", "STRING"),
    ("label_sized", "STRING", False, 256),
    ("label_long", "STRING", False, 65536),
    ("doc", "JSON"),
    ("clock", "NAIVE_TIME"),
    ("_fivetran_synced", "UTC_DATETIME"),
    ("_fivetran_deleted", "BOOLEAN"),
]


def described(dest: Dest, name: str) -> common_pb2.Table:
    response = dest.describe(name)
    assert response.WhichOneof("response") == "table", f"expected a table, got {response}"
    return response.table


def test_every_type_round_trips_create_then_describe(dest: Dest) -> None:
    definition = table("all_types", ALL_TYPES)
    ok(dest.create(definition))
    assert described(dest, "all_types") == definition


def test_keyless_table_with_fivetran_id_round_trips(dest: Dest) -> None:
    definition = table(
        "campaign",
        [
            ("name", "STRING"),
            ("budget", "DECIMAL", False, (6, 3)),
            ("_fivetran_id", "STRING", True),
            ("_fivetran_synced", "UTC_DATETIME"),
            ("_fivetran_deleted", "BOOLEAN"),
        ],
    )
    ok(dest.create(definition))
    assert described(dest, "campaign") == definition


@pytest.mark.parametrize(
    "key_type", ["STRING", "NAIVE_DATE", "NAIVE_DATETIME", "UTC_DATETIME", "DOUBLE", "BOOLEAN"]
)
def test_key_columns_of_many_types(dest: Dest, key_type: str) -> None:
    definition = table("keyed", [("k", key_type, True), ("id", "INT", True), ("v", "STRING")])
    ok(dest.create(definition))
    assert described(dest, "keyed") == definition


def test_missing_table_and_schema_are_not_found(dest: Dest) -> None:
    response = dest.describe("never_created")
    assert response.WhichOneof("response") == "not_found" and response.not_found


def test_create_fails_with_a_task_when_the_table_exists(dest: Dest) -> None:
    definition = table("t", [("id", "INT", True)])
    ok(dest.create(definition))
    response = dest.create(definition)
    assert response.WhichOneof("response") == "task"
    assert "already exists" in response.task.message and "t" in response.task.message


@pytest.mark.parametrize(
    ("table_name", "columns", "named"),
    [
        ("bad.name", [("id", "INT", True)], "bad.name"),
        ("bad name", [("id", "INT", True)], "bad name"),
        ("ok", [("id", "INT", True), ("a[0]", "STRING")], "a[0]"),
        ("ok", [("id", "INT", True), ("x.y", "STRING")], "x.y"),
        ("ok", [("_id", "STRING", True), ("__id", "STRING")], "__id"),  # both would be stored as "__id"
        ("ok", [("id", "INT", True), ("id", "STRING")], "id"),
    ],
)
def test_names_crate_cannot_hold_are_tasks_naming_them(
    dest: Dest, table_name: str, columns: list, named: str
) -> None:
    response = dest.create(table(table_name, columns))
    assert response.WhichOneof("response") == "task"
    assert named in response.task.message
    assert dest.tables() == []


def test_awkward_names_cannot_inject_sql(dest: Dest) -> None:
    columns = [
        ("id", "INT", True),
        ('we"ird', "STRING"),
        ("semi;colon); DROP TABLE x; --", "STRING"),
        ("größe", "STRING"),
        ("select", "STRING"),
        ("Mixed Case", "STRING"),
        ("_fivetran_synced", "UTC_DATETIME"),
    ]
    definition = table("order", columns)
    ok(dest.create(definition))
    assert described(dest, "order") == definition
    names = [c[0] for c in columns]
    ok(dest.write(definition, replace=[(names, [["1", "q\"u'ote", "a;b", "ü", "s", "M", SYNCED_1]])]))
    assert dest.rows("order", names) == [[1, "q\"u'ote", "a;b", "ü", "s", "M", 1704067200000]]
    assert dest.tables() == ["order"]


def seed(dest: Dest, name: str, columns: list, rows: list[list[str | None]]) -> common_pb2.Table:
    definition = table(name, columns)
    ok(dest.create(definition))
    ok(dest.write(definition, replace=[([c[0] for c in columns], rows)]))
    return definition


BASE = [
    ("id", "INT", True),
    ("name", "STRING"),
    ("amount", "DECIMAL", False, (10, 2)),
    ("_fivetran_synced", "UTC_DATETIME"),
    ("_fivetran_deleted", "BOOLEAN"),
]
BASE_ROWS = [["1", "one", "1.50", SYNCED_1, "false"], ["2", "two", None, SYNCED_1, "false"]]


def test_alter_adds_columns_and_keeps_rows(dest: Dest) -> None:
    seed(dest, "t", BASE, BASE_ROWS)
    wanted = table("t", [*BASE, ("note", "STRING", False, 128), ("seen", "UTC_DATETIME")])
    ok(dest.alter(wanted))
    assert described(dest, "t") == wanted
    assert dest.rows("t", ["id", "name", "note", "seen"]) == [[1, "one", None, None], [2, "two", None, None]]


def test_alter_changes_types_by_rebuilding_without_losing_rows(dest: Dest) -> None:
    seed(dest, "t", BASE, BASE_ROWS)
    wanted = table(
        "t",
        [
            ("id", "LONG", True),
            ("name", "STRING"),
            ("amount", "DECIMAL", False, (20, 5)),
            ("_fivetran_synced", "UTC_DATETIME"),
            ("_fivetran_deleted", "BOOLEAN"),
        ],
    )
    ok(dest.alter(wanted))
    ok(dest.alter(wanted))  # a replay changes nothing
    assert described(dest, "t") == wanted
    rows = dest.http.run(
        f'SELECT "id", "name", CAST("amount" AS TEXT) FROM "{dest.schema}"."t" ORDER BY "id"'
    ).rows
    assert [row[:2] for row in rows] == [[1, "one"], [2, "two"]]
    assert rows[0][2] is not None and float(rows[0][2]) == 1.5 and rows[1][2] is None
    assert dest.tables() == ["t"]  # no scratch table left behind


def test_alter_string_to_int_casts_values(dest: Dest) -> None:
    columns = [("id", "INT", True), ("code", "STRING"), ("_fivetran_synced", "UTC_DATETIME")]
    seed(dest, "t", columns, [["1", "42", SYNCED_1], ["2", None, SYNCED_1]])
    wanted = table("t", [("id", "INT", True), ("code", "INT"), ("_fivetran_synced", "UTC_DATETIME")])
    ok(dest.alter(wanted))
    assert dest.rows("t", ["id", "code"]) == [[1, 42], [2, None]]
    assert described(dest, "t") == wanted


def test_a_rebuild_that_would_lose_rows_is_a_task_and_leaves_the_table_intact(dest: Dest) -> None:
    columns = [("id", "INT", True), ("code", "STRING"), ("_fivetran_synced", "UTC_DATETIME")]
    original = seed(dest, "t", columns, [["1", "42", SYNCED_1], ["2", "not a number", SYNCED_1]])
    response = dest.alter(
        table("t", [("id", "INT", True), ("code", "INT"), ("_fivetran_synced", "UTC_DATETIME")])
    )
    assert response.WhichOneof("response") == "task"
    assert "t" in response.task.message and "unchanged" in response.task.message
    assert described(dest, "t") == original
    assert dest.rows("t", ["id", "code"]) == [[1, "42"], [2, "not a number"]]
    assert dest.tables() == ["t"]


def test_alter_changes_the_primary_key_and_old_key_becomes_nullable(dest: Dest) -> None:
    columns = [
        ("old_pk", "INT", True),
        ("new_pk", "STRING"),
        ("v", "STRING"),
        ("_fivetran_synced", "UTC_DATETIME"),
    ]
    seed(dest, "t", columns, [["1", "a", "x", SYNCED_1], ["2", "b", "y", SYNCED_1]])
    wanted = table("t", [("new_pk", "STRING", True), ("v", "STRING"), ("_fivetran_synced", "UTC_DATETIME")])
    ok(dest.alter(wanted))
    result = described(dest, "t")
    assert [(c.name, c.primary_key) for c in result.columns] == [
        ("old_pk", False),
        ("new_pk", True),
        ("v", False),
        ("_fivetran_synced", False),
    ]
    # Later upserts don't carry old_pk: the row must still be accepted (old_pk is nullable now).
    ok(dest.write(wanted, replace=[(["new_pk", "v", "_fivetran_synced"], [["c", "z", SYNCED_2]])]))
    assert dest.rows("t", ["new_pk", "old_pk", "v"]) == [["a", 1, "x"], ["b", 2, "y"], ["c", None, "z"]]


def test_adding_a_key_column_to_a_filled_table_is_a_task(dest: Dest) -> None:
    original = seed(dest, "t", BASE, BASE_ROWS)
    response = dest.alter(table("t", [*BASE, ("region", "STRING", True)]))
    assert response.WhichOneof("response") == "task"
    assert "lose rows" in response.task.message
    assert described(dest, "t") == original
    assert len(dest.rows("t", ["id"])) == 2


def test_alter_without_drop_columns_never_drops(dest: Dest) -> None:
    seed(dest, "t", BASE, BASE_ROWS)
    ok(dest.alter(table("t", [("id", "INT", True), ("_fivetran_synced", "UTC_DATETIME")])))
    assert [c.name for c in described(dest, "t").columns] == [c[0] for c in BASE]
    assert dest.rows("t", ["id", "name"]) == [[1, "one"], [2, "two"]]


def test_alter_with_drop_columns_drops_but_keeps_system_columns(dest: Dest) -> None:
    seed(dest, "t", BASE, BASE_ROWS)
    ok(dest.alter(table("t", [("id", "INT", True), ("name", "STRING")]), drop_columns=True))
    result = described(dest, "t")
    assert [c.name for c in result.columns] == ["id", "name", "_fivetran_synced"]
    assert dest.rows("t", ["id", "name"]) == [[1, "one"], [2, "two"]]


def test_params_only_change_updates_the_description(dest: Dest) -> None:
    columns = [("id", "INT", True), ("label", "STRING", False, 128), ("_fivetran_synced", "UTC_DATETIME")]
    seed(dest, "t", columns, [["1", "x", SYNCED_1]])
    wanted = table(
        "t", [("id", "INT", True), ("label", "STRING", False, 256), ("_fivetran_synced", "UTC_DATETIME")]
    )
    ok(dest.alter(wanted))
    assert described(dest, "t") == wanted
    assert dest.rows("t", ["id", "label"]) == [[1, "x"]]


def test_types_stored_alike_keep_their_fivetran_type(dest: Dest) -> None:
    columns = [("id", "INT", True), ("a", "STRING"), ("b", "JSON"), ("c", "NAIVE_DATE")]
    ok(dest.create(table("t", columns)))
    wanted = table("t", [("id", "INT", True), ("a", "XML"), ("b", "JSON"), ("c", "NAIVE_DATETIME")])
    ok(dest.alter(wanted))
    assert described(dest, "t") == wanted


def test_describe_infers_types_of_tables_created_outside(dest: Dest) -> None:
    dest.http.run(
        f'CREATE TABLE "{dest.schema}"."outside" ("id" BIGINT PRIMARY KEY, "name" TEXT, '
        '"at" TIMESTAMP WITH TIME ZONE, "n" NUMERIC(5, 2), "ok" BOOLEAN)'
    )
    result = described(dest, "outside")
    assert [(c.name, common_pb2.DataType.Name(c.type), c.primary_key) for c in result.columns] == [
        ("id", "LONG", True),
        ("name", "STRING", False),
        ("at", "UTC_DATETIME", False),
        ("n", "DECIMAL", False),
        ("ok", "BOOLEAN", False),
    ]


def test_alter_of_a_missing_table_is_a_task(dest: Dest) -> None:
    response = dest.alter(table("ghost", [("id", "INT", True)]))
    assert response.WhichOneof("response") == "task" and "ghost" in response.task.message


def test_rebuild_copies_rows_not_yet_refreshed(dest: Dest) -> None:
    ok(dest.create(table("t", BASE)))
    dest.http.run(
        f'INSERT INTO "{dest.schema}"."t" ("id", "name") VALUES (?, ?)', bulk_args=[[1, "a"], [2, "b"]]
    )
    ok(dest.alter(table("t", [("id", "LONG", True), *BASE[1:]])))
    assert dest.rows("t", ["id", "name"]) == [[1, "a"], [2, "b"]]
