"""Unlimited text storage chosen by the destination (`ColumnSpec.long_text`) and the chunk-wide history
lookups: measurement, DDL, the metadata record, AlterTable plans and statement text. No I/O."""

from __future__ import annotations

import pytest
from cratedb_destination import type_mapping as tm
from cratedb_destination.domain import TableSchema
from cratedb_destination.metadata import decode, decode_columns, encode
from cratedb_destination.services.schema import plan_alter
from cratedb_destination.sql import history
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.type_mapping import ColumnSpec, FivetranType, column_ddl, text_bytes_over_limit

REF = TableRef("s", "t")
ID = ColumnSpec("id", FivetranType(tm.INT), primary_key=True)
UNLIMITED = "TEXT INDEX OFF STORAGE WITH (columnstore = false)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("x" * 32_766, None),
        ("x" * 32_767, 32_767),
        ("€" * 10_922, None),  # 32,766 bytes
        ("€" * 10_923, 32_769),
        ("😀" * 8_192, 32_768),  # four bytes each
    ],
)
def test_values_are_measured_in_utf8_bytes(value: str, expected: int | None) -> None:
    assert text_bytes_over_limit(value) == expected


@pytest.mark.parametrize(
    ("spec", "ddl"),
    [
        (ColumnSpec("s", FivetranType(tm.STRING)), "TEXT"),
        (ColumnSpec("s", FivetranType(tm.STRING), long_text=True), UNLIMITED),
        (ColumnSpec("t", FivetranType(tm.NAIVE_TIME), long_text=True), UNLIMITED),
        (ColumnSpec("k", FivetranType(tm.STRING), primary_key=True, long_text=True), "TEXT"),
        (ColumnSpec("n", FivetranType(tm.INT), long_text=True), "INTEGER"),
        (ColumnSpec("d", FivetranType(tm.DECIMAL, 10, 2), long_text=True), "NUMERIC(10, 2)"),
    ],
)
def test_long_text_applies_to_non_key_text_columns_only(spec: ColumnSpec, ddl: str) -> None:
    assert column_ddl(spec) == ddl


def test_metadata_record_keeps_the_storage_but_not_as_a_type_param() -> None:
    columns = [ID, ColumnSpec("body", FivetranType(tm.STRING, string_byte_length=100), long_text=True)]
    text = encode(columns)
    recorded = decode_columns(text)
    assert recorded["body"].long_text and not recorded["id"].long_text
    assert decode(text) == {c.name: c.type for c in columns}
    # Records written before the storage was recorded read as indexed.
    old = '{"version":1,"columns":[{"name":"body","type":"STRING"}]}'
    assert decode_columns(old)["body"].long_text is False


def body(data_type: int, long_text: bool = False) -> ColumnSpec:
    return ColumnSpec("body", FivetranType(data_type), long_text=long_text)


def test_redefining_a_switched_column_keeps_its_storage() -> None:
    current = TableSchema(REF, (ID, body(tm.STRING, long_text=True)))
    same = plan_alter(current, TableSchema(REF, (ID, body(tm.STRING))), drop_columns=False)
    assert not same.rebuild and same.final == current.columns
    as_xml = plan_alter(current, TableSchema(REF, (ID, body(tm.XML))), drop_columns=False)
    assert not as_xml.rebuild and as_xml.final[1] == body(tm.XML, long_text=True)
    as_int = plan_alter(current, TableSchema(REF, (ID, body(tm.INT))), drop_columns=False)
    assert as_int.rebuild and as_int.final[1] == body(tm.INT)


LONG_KEY = [("id", FivetranType(tm.LONG))]
COLUMNS = [
    ("id", FivetranType(tm.LONG)),
    ("amount", FivetranType(tm.DECIMAL, 10, 2)),
    ("_fivetran_start", FivetranType(tm.UTC_DATETIME)),
]


def test_chunk_lookups_match_record_keys_against_arrays() -> None:
    assert history.latest_starts_before(REF, LONG_KEY) == (
        'SELECT "id", MAX("_fivetran_start") FROM "s"."t" WHERE "id" = ANY(CAST(? AS ARRAY(BIGINT))) '
        'AND "_fivetran_start" < CAST(? AS TIMESTAMP WITH TIME ZONE) GROUP BY "id"'
    )
    keys = [("region", FivetranType(tm.STRING)), ("day", FivetranType(tm.NAIVE_DATE))]
    assert history.versions_at(REF, COLUMNS, keys) == (
        'SELECT "id", CAST("amount" AS TEXT), "_fivetran_start" FROM "s"."t" '
        'WHERE "region" = ANY(CAST(? AS ARRAY(TEXT))) '
        'AND "day" = ANY(CAST(? AS ARRAY(TIMESTAMP WITHOUT TIME ZONE))) '
        'AND "_fivetran_start" = ANY(CAST(? AS ARRAY(TIMESTAMP WITH TIME ZONE)))'
    )


@pytest.mark.parametrize("data_type", [tm.DOUBLE, tm.FLOAT, tm.DECIMAL])
def test_inexact_record_keys_are_not_matched_against_arrays(data_type: int) -> None:
    with pytest.raises(ValueError, match="cannot be matched"):
        history.latest_starts_before(REF, [("x", FivetranType(data_type))])
    with pytest.raises(ValueError, match="at least one"):
        history.versions_at(REF, COLUMNS, [])
