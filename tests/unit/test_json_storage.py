"""`json_storage = object`: the JSON row's OBJECT(IGNORED) variant in the type registry, the envelope for
values an OBJECT cannot hold as they are, the setting, the metadata record and the rebuild's casts."""

from __future__ import annotations

import json

import pytest
from cratedb_destination import metadata
from cratedb_destination.config import configuration_form, parse_configuration
from cratedb_destination.sql import ddl
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.type_mapping import (
    JSON,
    JSON_ENVELOPE,
    JSON_OBJECT,
    STRING,
    ColumnSpec,
    ConversionError,
    FivetranType,
    column_ddl,
    convert_expression,
    infer_type,
    information_schema_type,
    keep_json_storage,
    read_value,
    sql_type,
    stored_to_parameter,
    text_backed,
    unlimited_text,
    value_converter,
    with_json_storage,
)

OBJECT = FivetranType(JSON, storage=JSON_OBJECT)
TEXT = FivetranType(JSON)


def sent(text: str) -> object:
    return json.loads(value_converter(OBJECT)(text))


@pytest.mark.parametrize(
    "text",
    ['{"a": {"b": [1, "x", true, null, {"c": 1.5}]}}', "{}", '{"_id": 1, "_version": 2}', '{"a": 1, "a": 2}'],
)
def test_objects_are_sent_as_they_are(text: str) -> None:
    assert sent(text) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        "[1, 2]", '"s"', "12.50", "true", "null", "[]",
        '{"a.b": 1}', '{"x": {"c[0]": 1}}', '{"": 1}', '{"t\\tab": 1}', '{"a": [{"b.c": 1}]}',
        '{"n": 123456789012345678901234567890}', '{"f": 0.12345678901234567890123}', '{"f": 1e400}',
        '{"f": NaN}', '{"_fivetran_json": "x"}', "[" * 150 + "]" * 150,
    ],
)  # fmt: skip
def test_everything_else_goes_into_the_envelope_as_its_original_text(text: str) -> None:
    assert sent(text) == {JSON_ENVELOPE: text}


def test_invalid_json_is_a_conversion_error() -> None:
    with pytest.raises(ConversionError):
        value_converter(OBJECT)("{not json")


@pytest.mark.parametrize(
    "text", ['{"a": [1, {"b": null}]}', "[1, 2]", "null", '"s"', '{"_fivetran_json": "x"}']
)
def test_stored_values_read_back_and_are_re_sent_unchanged(text: str) -> None:
    stored = json.loads(value_converter(OBJECT)(text))  # what CrateDB returns
    assert read_value(OBJECT, stored) == json.loads(text)
    assert json.loads(stored_to_parameter(OBJECT, stored)) == stored
    assert stored_to_parameter(OBJECT, None) is None


def test_the_object_variant_in_the_registry() -> None:
    assert sql_type(OBJECT) == "OBJECT(IGNORED)" and information_schema_type(OBJECT) == "object"
    assert not text_backed(OBJECT) and not unlimited_text(ColumnSpec("doc", OBJECT))
    assert column_ddl(ColumnSpec("doc", OBJECT)) == "OBJECT(IGNORED)"
    assert infer_type("object") == OBJECT and infer_type("text") == FivetranType(STRING)
    assert column_ddl(ColumnSpec("doc", TEXT)).startswith("TEXT INDEX OFF")


def test_the_setting_applies_to_non_key_json_columns() -> None:
    assert with_json_storage(ColumnSpec("doc", TEXT), "object").type == OBJECT
    assert with_json_storage(ColumnSpec("doc", TEXT, primary_key=True), "object").type == TEXT
    assert with_json_storage(ColumnSpec("doc", TEXT), "text").type == TEXT
    assert with_json_storage(ColumnSpec("s", FivetranType(STRING)), "object").type == FivetranType(STRING)


def test_a_redefined_column_keeps_its_storage() -> None:
    assert keep_json_storage(ColumnSpec("doc", OBJECT), ColumnSpec("doc", TEXT)).type == TEXT
    assert keep_json_storage(ColumnSpec("doc", TEXT), ColumnSpec("doc", OBJECT)).type == OBJECT
    keyed = ColumnSpec("doc", TEXT, primary_key=True)
    assert keep_json_storage(keyed, ColumnSpec("doc", OBJECT)).type == TEXT  # an OBJECT cannot be a key
    string = ColumnSpec("doc", FivetranType(STRING))
    assert keep_json_storage(string, ColumnSpec("doc", OBJECT)) == string


def test_the_metadata_record_keeps_the_storage() -> None:
    record = metadata.encode([ColumnSpec("doc", OBJECT), ColumnSpec("raw", TEXT)])
    assert '"storage":"object"' in record
    columns = metadata.decode_columns(record)
    assert columns["doc"].type == OBJECT and columns["raw"].type == TEXT


def test_rebuild_casts_convert_between_storages() -> None:
    into = convert_expression('"c"', FivetranType(STRING), OBJECT)
    assert into == (
        'CASE WHEN "c" IS NULL THEN NULL WHEN substr(trim("c"), 1, 1) = \'{\' AND "c" NOT LIKE '
        '\'%"_fivetran_json"%\' THEN CAST("c" AS OBJECT(IGNORED)) '
        'ELSE CAST({"_fivetran_json" = "c"} AS OBJECT(IGNORED)) END'
    )
    out = convert_expression('"c"', OBJECT, TEXT)
    assert out == (
        'CASE WHEN "c"[\'_fivetran_json\'] IS NULL THEN CAST("c" AS TEXT) '
        "ELSE CAST(\"c\"['_fivetran_json'] AS TEXT) END"
    )
    assert convert_expression('"c"', OBJECT, FivetranType(common_int())).startswith("CAST((CASE WHEN")
    assert convert_expression('"c"', TEXT, FivetranType(STRING)) == 'CAST("c" AS TEXT)'
    copy = ddl.copy_rows(TableRef("s", "a"), TableRef("s", "b"), [ColumnSpec("c", OBJECT)], [True], [TEXT])
    assert 'CAST("c" AS OBJECT(IGNORED))' in copy


def common_int() -> int:
    from cratedb_destination.type_mapping import INT

    return INT


def test_the_configuration_field() -> None:
    field = next(f for f in configuration_form().fields if f.name == "json_storage")
    assert list(field.dropdown_field.dropdown_field) == ["text", "object"] and field.default_value == "text"
    assert parse_configuration({"host": "h"}).json_storage == "text"
    assert parse_configuration({"host": "h", "json_storage": " Object "}).json_storage == "object"
    with pytest.raises(Exception, match="JSON storage"):
        parse_configuration({"host": "h", "json_storage": "bson"})
