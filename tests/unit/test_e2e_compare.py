"""The comparison engine and its normalisations, with both sides given as in-memory streams."""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fivetran_e2e.compare import (
    CompareColumn,
    TableComparer,
    TableResult,
    cratedb_normalizer,
    display,
    warehouse_normalizer,
)
from fivetran_e2e.data_types import DataType, FivetranType
from fivetran_proto.common_pb2 import (
    BINARY,
    BOOLEAN,
    DECIMAL,
    DOUBLE,
    FLOAT,
    JSON,
    LONG,
    NAIVE_DATE,
    NAIVE_DATETIME,
    NAIVE_TIME,
    STRING,
    UTC_DATETIME,
)


def t(kind: DataType, precision: int | None = None, scale: int | None = None) -> FivetranType:
    return FivetranType(kind, precision, scale)


@pytest.mark.parametrize(
    ("column_type", "warehouse", "cratedb"),
    [
        (t(FLOAT), 3.1415927410125732, 3.1415927),  # float32 on both sides
        (t(DECIMAL, 10, 2), Decimal("42.00"), "42"),  # NUMERIC read as text, compared at scale
        (
            t(DECIMAL, 38, 10),
            Decimal("12345678901234567890.1234567890"),
            "12345678901234567890.123456789",
        ),
        (t(UTC_DATETIME), 1_715_000_000_123_456, 1_715_000_000_123),  # µs vs ms: truncated
        (t(UTC_DATETIME), -1_500, -2),  # before 1970: floor, like CrateDB
        (t(NAIVE_DATETIME), 1_715_000_000_999_999, 1_715_000_000_999),
        (t(NAIVE_DATE), date(2020, 2, 29), 1_582_934_400_000),
        (t(JSON), '{"b": [1, 2], "a": {"z": null}}', '{"a":{"z":null},"b":[1,2]}'),
        (t(BINARY), b"\x00\x01\xff", base64.b64encode(b"\x00\x01\xff").decode()),
        (t(NAIVE_TIME), "07:08:09", "07:08:09"),
        (t(BOOLEAN), True, True),
        (t(STRING), "héllo", "héllo"),
        (t(LONG), 9223372036854775807, 9223372036854775807),
        (t(DOUBLE), 0.1, 0.1),
    ],
)
def test_normalisations_make_equal_values_equal(
    column_type: FivetranType, warehouse: Any, cratedb: Any
) -> None:
    assert warehouse_normalizer(column_type)(warehouse) == cratedb_normalizer(column_type)(cratedb)


@pytest.mark.parametrize(
    ("column_type", "warehouse", "cratedb"),
    [
        (t(FLOAT), 3.14, 3.15),
        (t(DOUBLE), 3.141592653589793, 3.1415927),  # DOUBLE is not rounded to float32
        (t(DECIMAL, 10, 2), Decimal("42.01"), "42.00"),
        (t(UTC_DATETIME), 1_715_000_000_124_000, 1_715_000_000_123),
        (t(NAIVE_DATE), date(2020, 2, 29), 1_582_934_400_001),  # not midnight
        (t(JSON), '{"a": 1}', '{"a": "1"}'),
        (t(BINARY), b"\x00", "not base64!"),
        (t(STRING), "", None),
        (t(BOOLEAN), False, None),
    ],
)
def test_normalisations_keep_real_differences(
    column_type: FivetranType, warehouse: Any, cratedb: Any
) -> None:
    assert warehouse_normalizer(column_type)(warehouse) != cratedb_normalizer(column_type)(cratedb)


COLUMNS = [
    CompareColumn("id", t(LONG)),
    CompareColumn("amount", t(DECIMAL, 10, 2)),
    CompareColumn("_fivetran_deleted", t(BOOLEAN)),
]


def chunks(rows: list[tuple[Any, ...]], size: int = 2) -> list[list[tuple[Any, ...]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def keyed(
    warehouse: list[tuple[Any, ...]], cratedb: list[tuple[Any, ...]], max_diffs: int = 20
) -> TableResult:
    result = TableResult("tester.orders", "tester.orders", keyed=True)
    TableComparer(result, COLUMNS, 1, max_diffs).compare_keyed(
        lambda: chunks(warehouse), lambda: chunks(cratedb)
    )
    return result


WAREHOUSE = [(i, Decimal(f"{i}.50"), False) for i in range(1, 8)]
CRATEDB = [(i, f"{i}.5", False) for i in range(1, 8)]


def test_identical_tables_match() -> None:
    result = keyed(WAREHOUSE, CRATEDB)
    assert result.ok
    assert (result.warehouse_rows, result.cratedb_rows, result.matched) == (7, 7, 7)


def test_changed_deleted_and_added_rows_are_reported_cell_by_cell() -> None:
    cratedb = list(CRATEDB)
    cratedb[2] = (3, "3.51", False)  # changed value
    cratedb[4] = (5, "5.5", True)  # changed deleted flag
    del cratedb[5]  # row 6 deleted
    cratedb.append((99, "1", False))  # extra row
    result = keyed(WAREHOUSE, cratedb)
    assert not result.ok
    assert (result.matched, result.different, result.missing, result.extra) == (4, 2, 1, 1)
    by_key = {(d.kind, d.key["id"]): d for d in result.diffs}
    (cell,) = by_key[("different", "3")].cells
    assert (cell.column, cell.warehouse, cell.cratedb) == ("amount", "3.50", "3.51")
    assert by_key[("different", "5")].cells[0].column == "_fivetran_deleted"
    assert ("missing", "6") in by_key and ("extra", "99") in by_key


def test_diffs_are_capped_but_counts_are_complete() -> None:
    result = keyed(WAREHOUSE, [], max_diffs=3)
    assert result.missing == 7 and len(result.diffs) == 3


def test_unsorted_sides_fall_back_to_an_index() -> None:
    result = keyed(WAREHOUSE, list(reversed(CRATEDB)))
    assert result.ok and result.matched == 7
    assert any("in-memory index" in note for note in result.notes)


def test_keyless_tables_compare_as_multisets() -> None:
    columns = [CompareColumn("name", t(STRING)), CompareColumn("n", t(LONG))]
    warehouse = [("a", 1), ("a", 1), ("b", 2)]

    def compare(cratedb: list[tuple[Any, ...]]) -> TableResult:
        result = TableResult("tester.events", "tester.events", keyed=False)
        TableComparer(result, columns, 0).compare_multiset(lambda: chunks(warehouse), lambda: chunks(cratedb))
        return result

    assert compare([("b", 2), ("a", 1), ("a", 1)]).ok
    result = compare([("b", 2), ("a", 1), ("c", 3)])
    assert (result.matched, result.missing, result.extra) == (2, 1, 1)
    assert {(d.kind, d.key["name"]) for d in result.diffs} == {("missing", "a"), ("extra", "c")}


def test_display_is_readable_and_bounded() -> None:
    assert display(None) == "NULL"
    assert display(0, t(UTC_DATETIME)) == "1970-01-01T00:00:00+00:00"
    assert display(b"\x01" * 100).endswith("(100 bytes)")
    assert len(display("x" * 1000)) < 250


def test_json_is_compared_by_value_in_keyed_tables() -> None:
    columns = [CompareColumn("id", t(LONG)), CompareColumn("doc", t(JSON))]
    warehouse = [(1, '{"a": 1, "b": [1, 2]}'), (2, '{"a": 1}'), (3, None)]
    cratedb = [(1, '{"b":[1,2],"a":1}'), (2, '{"a": 2}'), (3, None)]
    result = TableResult("tester.docs", "tester.docs", keyed=True)
    TableComparer(result, columns, 1).compare_keyed(lambda: chunks(warehouse), lambda: chunks(cratedb))
    assert (result.matched, result.different) == (2, 1)
    (cell,) = result.diffs[0].cells
    assert (cell.warehouse, cell.cratedb) == ('{"a":1}', '{"a":2}')  # shown canonical
