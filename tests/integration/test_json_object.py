"""`json_storage = object` through a real gRPC client: JSON columns become OBJECT(IGNORED), JSON objects are
queryable with subscripts, every other JSON value survives in the documented envelope
(`{"_fivetran_json": "<JSON text>"}`), and every path (writes, history mode, AlterTable, Migrate) keeps
the original value. Runs unchanged against a real CrateDB (`CRATEDB_URL`)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from crate_http import ident
from cratedb_destination.batch import UNMODIFIED
from destination_harness import SYNCED_1, SYNCED_2, Dest, ok
from destination_testkit import table
from fivetran_proto import common_pb2
from fivetran_proto import destination_sdk_pb2 as pb

pytestmark = pytest.mark.cratedb

ENVELOPE = "_fivetran_json"  # docs/types.md "JSON as OBJECT"
DOCS = table(
    "docs",
    [("_id", "STRING", True), ("doc", "JSON"), ("n", "INT"), ("_fivetran_synced", "UTC_DATETIME")],
)
NAMES = [c.name for c in DOCS.columns]
HISTORY = table(
    "docs_history",
    [("_id", "STRING", True), ("doc", "JSON"), ("n", "INT"), ("_fivetran_synced", "UTC_DATETIME"),
     ("_fivetran_start", "UTC_DATETIME", True), ("_fivetran_end", "UTC_DATETIME"),
     ("_fivetran_active", "BOOLEAN")],
)  # fmt: skip
HISTORY_NAMES = [c.name for c in HISTORY.columns]
T1, T2 = "2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z"
TMAX = "9999-12-31T23:59:59.999Z"

# JSON texts of every kind, by key; None is SQL NULL.
VALUES: dict[str, str | None] = {
    "object": '{"name": "Ada", "tags": ["a", 1, true, null, {"x": 1.5}], "nested": {"deep": {"k": -7}}}',
    "empty_object": "{}",
    "array": '[{"y": 1}, "foo", true]',
    "string": '"plain text"',
    "number": "12.50",
    "boolean": "false",
    "json_null": "null",
    "sql_null": None,
    "dotted_key": '{"a.b": 1, "c[0]": 2}',
    "empty_key": '{"": 1}',
    "envelope_key": '{"_fivetran_json": "not mine"}',
    "big_integer": '{"n": 123456789012345678901234567890}',
    "precise": '{"f": 0.12345678901234567890123}',
    "underscore": '{"_id": 5, "_version": 1}',
}


@pytest.fixture(name="obj")
def obj_fixture(dest: Dest) -> Dest:
    dest.configuration = {**dest.configuration, "json_storage": "object"}
    return dest


def original(stored: Any) -> Any:
    """The JSON value an OBJECT column holds, by the documented envelope."""
    if isinstance(stored, dict) and set(stored) == {ENVELOPE} and isinstance(stored[ENVELOPE], str):
        return json.loads(stored[ENVELOPE])
    return stored


def data_type(dest: Dest, name: str, column: str) -> str:
    result = dest.http.run(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "AND column_name = ?",
        [dest.schema, name, column],
    )
    return str(result.rows[0][0])


def docs(dest: Dest, name: str = "docs", column: str = "doc") -> dict[str, Any]:
    return {row[0]: row[1] for row in dest.rows(name, ["__id", column], order_by="__id")}


def replace_rows(values: dict[str, str | None], synced: str = SYNCED_1) -> list[list[Any]]:
    return [[key, text, str(i), synced] for i, (key, text) in enumerate(values.items())]


def test_every_json_value_lands_and_objects_are_queryable(obj: Dest) -> None:
    ok(obj.create(DOCS))
    assert data_type(obj, "docs", "doc") == "object"
    ok(obj.write(DOCS, replace=[(NAMES, replace_rows(VALUES))]))
    stored = docs(obj)
    for key, text in VALUES.items():
        expected = None if text is None else json.loads(text)
        assert original(stored[key]) == expected, key
    assert stored["object"]["name"] == "Ada"  # objects as they are, not enveloped
    assert stored["json_null"] == {ENVELOPE: "null"} and stored["sql_null"] is None
    obj.http.refresh(ident(obj.schema, "docs"))
    found = obj.http.run(
        f"SELECT \"__id\", doc['nested']['deep']['k'] FROM {ident(obj.schema, 'docs')} "
        "WHERE doc['name'] = 'Ada'"
    ).rows
    assert found == [["object", -7]]
    described = obj.describe("docs")
    assert [(c.name, c.type) for c in described.table.columns] == [(c.name, c.type) for c in DOCS.columns]


def test_updates_and_deletes(obj: Dest) -> None:
    ok(obj.create(DOCS))
    ok(obj.write(DOCS, replace=[(NAMES, replace_rows(VALUES))]))
    # Four groups of modified cells: the CASE form with CAST(? AS OBJECT(IGNORED)).
    update = [
        ["object", '{"name": "Grace"}', UNMODIFIED, SYNCED_2],
        ["array", '"now a string"', "100", SYNCED_2],
        ["string", UNMODIFIED, "101", SYNCED_2],
        ["number", None, UNMODIFIED, SYNCED_2],
        ["missing", '{"never": "written"}', "1", SYNCED_2],
    ]
    ok(
        obj.write(
            DOCS, update=[(NAMES, update)], delete=[(["_id", "_fivetran_synced"], [["boolean", SYNCED_2]])]
        )
    )
    stored = docs(obj)
    assert stored["object"] == {"name": "Grace"}
    assert original(stored["array"]) == "now a string"
    assert original(stored["string"]) == "plain text"
    assert stored["number"] is None
    assert "boolean" not in stored and "missing" not in stored
    # One group: the plain UPDATE form.
    ok(obj.write(DOCS, update=[(NAMES, [["object", "[1, 2]", UNMODIFIED, SYNCED_2]])]))
    assert original(docs(obj)["object"]) == [1, 2]


def test_history_mode_carries_unmodified_json_into_new_versions(obj: Dest) -> None:
    ok(obj.create(HISTORY))
    first = [
        ["a", VALUES["object"], "1", SYNCED_1, T1, TMAX, "true"],
        ["b", VALUES["array"], "1", SYNCED_1, T1, TMAX, "true"],
    ]
    ok(obj.write_history(HISTORY, earliest=[(["_id", "_fivetran_start"], [["a", T1], ["b", T1]])],
                         replace=[(HISTORY_NAMES, first)]))  # fmt: skip
    update = [
        ["a", UNMODIFIED, "2", SYNCED_2, T2, TMAX, "true"],
        ["b", UNMODIFIED, "2", SYNCED_2, T2, TMAX, "true"],
    ]
    ok(obj.write_history(HISTORY, earliest=[(["_id", "_fivetran_start"], [["a", T2], ["b", T2]])],
                         update=[(HISTORY_NAMES, update)]))  # fmt: skip
    versions = obj.rows("docs_history", ["__id", "doc", "n", "_fivetran_active"], order_by=["__id", "n"])
    assert [[k, original(d), n, a] for k, d, n, a in versions] == [
        ["a", json.loads(VALUES["object"] or ""), 1, False],
        ["a", json.loads(VALUES["object"] or ""), 2, True],
        ["b", json.loads(VALUES["array"] or ""), 1, False],
        ["b", json.loads(VALUES["array"] or ""), 2, True],
    ]


def test_a_table_keeps_the_storage_it_was_created_with(dest: Dest) -> None:
    ok(dest.create(DOCS))  # text mode
    dest.configuration = {**dest.configuration, "json_storage": "object"}
    wider = table("docs", [*[(c.name, c.type, c.primary_key) for c in DOCS.columns], ("extra", "JSON")])
    ok(dest.alter(wider))
    assert data_type(dest, "docs", "doc") == "text"
    assert data_type(dest, "docs", "extra") == "object"
    names = [c.name for c in wider.columns]
    ok(dest.write(wider, replace=[(names, [["k", '{"a": 1}', "1", SYNCED_1, "[true]"]])]))
    assert dest.rows("docs", ["doc", "extra"]) == [['{"a": 1}', {ENVELOPE: "[true]"}]]
    dest.configuration = {**dest.configuration, "json_storage": "text"}
    ok(dest.write(wider, update=[(names, [["k", UNMODIFIED, "2", SYNCED_2, '{"b": 2}']])]))
    assert dest.rows("docs", ["doc", "extra"]) == [['{"a": 1}', {"b": 2}]]


def test_a_json_key_column_stays_text(obj: Dest) -> None:
    keyed = table("keyed", [("doc", "JSON", True), ("_fivetran_synced", "UTC_DATETIME")])
    ok(obj.create(keyed))
    assert data_type(obj, "keyed", "doc") == "text"


def test_alter_table_converts_to_and_from_object_storage(obj: Dest) -> None:
    texts = table("conv", [("id", "INT", True), ("payload", "STRING"), ("_fivetran_synced", "UTC_DATETIME")])
    ok(obj.create(texts))
    rows = [[str(i), text, SYNCED_1] for i, text in enumerate(
        ['{"a": {"b": 1}}', "[1, 2]", '"s"', "null", None, '{"_fivetran_json": "x"}'])]  # fmt: skip
    ok(obj.write(texts, replace=[(["id", "payload", "_fivetran_synced"], rows)]))
    as_json = table("conv", [("id", "INT", True), ("payload", "JSON"), ("_fivetran_synced", "UTC_DATETIME")])
    ok(obj.alter(as_json))
    assert data_type(obj, "conv", "payload") == "object"
    stored = [row[0] for row in obj.rows("conv", ["payload"], order_by="id")]
    assert stored[0] == {"a": {"b": 1}}
    assert [original(v) for v in stored] == [{"a": {"b": 1}}, [1, 2], "s", None, None, {ENVELOPE: "x"}]
    ok(obj.alter(texts))  # back to STRING: objects as JSON text, the envelope's text unwrapped
    back = [row[0] for row in obj.rows("conv", ["payload"], order_by="id")]
    assert [None if v is None else json.loads(v) for v in back] == [
        {"a": {"b": 1}}, [1, 2], "s", None, None, {ENVELOPE: "x"}]  # fmt: skip
    assert back[3] == "null" and back[4] is None


def migrate(dest: Dest, name: str, **operation: Any) -> Any:
    details = pb.MigrationDetails(schema=dest.schema, table=name, **operation)
    return dest.stub.Migrate(pb.MigrateRequest(configuration=dest.configuration, details=details))


def test_migrations_keep_json_values(obj: Dest) -> None:
    ok(obj.create(DOCS))
    ok(obj.write(DOCS, replace=[(NAMES, [["a", '{"x": 1}', "1", SYNCED_1], ["b", "[1]", "2", SYNCED_1]])]))
    ok(migrate(obj, "docs", update_column_value=pb.UpdateColumnValueOperation(column="doc", value='["u"]')))
    assert {k: original(v) for k, v in docs(obj).items()} == {"a": ["u"], "b": ["u"]}
    ok(
        migrate(
            obj, "docs", update_column_value=pb.UpdateColumnValueOperation(column="doc", value='{"y": 2}')
        )
    )
    add = pb.AddOperation(
        add_column_with_default_value=pb.AddColumnWithDefaultValue(
            column="meta", column_type=common_pb2.JSON, default_value='"d"'
        )
    )
    ok(migrate(obj, "docs", add=add))
    assert data_type(obj, "docs", "meta") == "object"
    assert {k: original(v) for k, v in docs(obj, column="meta").items()} == {"a": "d", "b": "d"}
    ok(
        migrate(
            obj, "docs", copy=pb.CopyOperation(copy_column=pb.CopyColumn(from_column="doc", to_column="doc2"))
        )
    )
    assert data_type(obj, "docs", "doc2") == "object"
    assert docs(obj, column="doc2") == {"a": {"y": 2}, "b": {"y": 2}}
    ok(
        migrate(
            obj, "docs", copy=pb.CopyOperation(copy_table=pb.CopyTable(from_table="docs", to_table="docs2"))
        )
    )
    assert data_type(obj, "docs2", "doc") == "object"
    assert docs(obj, "docs2") == {"a": {"y": 2}, "b": {"y": 2}}
    described = {c.name: c.type for c in obj.describe("docs2").table.columns}
    assert described["doc"] == described["meta"] == described["doc2"] == DOCS.columns[1].type
