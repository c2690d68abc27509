"""Reading warehouse.db: tables, keys, DuckDB -> Fivetran types, sorted rows; the in-process snapshot."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from fivetran_e2e.data_types import FivetranType
from fivetran_e2e.data_types import from_duckdb as fivetran_type
from fivetran_e2e.warehouse import Warehouse, snapshot_in_process, table_from_json
from fivetran_proto.common_pb2 import (
    BINARY,
    BOOLEAN,
    DECIMAL,
    DOUBLE,
    FLOAT,
    INT,
    JSON,
    LONG,
    NAIVE_DATE,
    NAIVE_DATETIME,
    NAIVE_TIME,
    SHORT,
    STRING,
    UTC_DATETIME,
)


@pytest.mark.parametrize(
    ("duckdb_type", "expected"),
    [
        ("BOOLEAN", FivetranType(BOOLEAN)),
        ("SMALLINT", FivetranType(SHORT)),
        ("INTEGER", FivetranType(INT)),
        ("BIGINT", FivetranType(LONG)),
        ("DECIMAL(12,3)", FivetranType(DECIMAL, 12, 3)),
        ("FLOAT", FivetranType(FLOAT)),
        ("DOUBLE", FivetranType(DOUBLE)),
        ("DATE", FivetranType(NAIVE_DATE)),
        ("TIMESTAMP", FivetranType(NAIVE_DATETIME)),
        ("TIMESTAMP WITH TIME ZONE", FivetranType(UTC_DATETIME)),
        ("BLOB", FivetranType(BINARY)),
        ("VARCHAR", FivetranType(STRING)),
        ("JSON", FivetranType(JSON)),
        ("TIME", FivetranType(NAIVE_TIME)),
    ],
)
def test_duckdb_types(duckdb_type: str, expected: FivetranType) -> None:
    assert fivetran_type(duckdb_type) == expected


def test_unknown_duckdb_types_are_named() -> None:
    with pytest.raises(ValueError, match="INTERVAL"):
        fivetran_type("INTERVAL")


def _make(path: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(path))
    conn.execute("CREATE SCHEMA tester")
    conn.execute(
        "CREATE TABLE tester.t (b VARCHAR, a BIGINT, ts TIMESTAMP WITH TIME ZONE, n TIMESTAMP,"
        " PRIMARY KEY (a, b))"
    )
    conn.execute(
        "INSERT INTO tester.t VALUES ('y', 2, '2024-01-01 00:00:00.123456+00', '2024-01-01 00:00:01'),"
        " ('x', 2, NULL, NULL), ('z', 1, NULL, NULL)"
    )
    conn.execute("CREATE TABLE main._fivetran_metadata (key VARCHAR PRIMARY KEY, value VARCHAR)")
    return conn


def test_tables_keys_and_sorted_chunks(tmp_path: Path) -> None:
    _make(tmp_path / "w.db").close()
    with Warehouse(tmp_path / "w.db") as warehouse:
        (table,) = warehouse.tables()  # main._fivetran_metadata is not data
        assert str(table) == "tester.t" and table.primary_key == ("b", "a")
        assert [c.duckdb_type for c in table.columns][2] == "TIMESTAMP WITH TIME ZONE"
        assert warehouse.row_count(table) == 3
        chunks = list(warehouse.rows(table, ["a", "b", "ts", "n"], ["a", "b"], chunk=2))
        assert [len(chunk) for chunk in chunks] == [2, 1]
        rows = [row for chunk in chunks for row in chunk]
        assert [(a, b) for a, b, _, _ in rows] == [(1, "z"), (2, "x"), (2, "y")]
        assert rows[2][2] == 1_704_067_200_123_456 and rows[2][3] == 1_704_067_201_000_000  # epoch µs


def test_snapshot_sees_what_a_writer_in_the_same_process_committed(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = _make(path)  # still open, as the core's connection is inside fivetran debug
    try:
        tables = snapshot_in_process(str(path))
        assert tables is not None
        (table,) = [table_from_json(t) for t in tables]
        assert table.name == "t" and table.primary_key == ("b", "a")
        writer.execute("ALTER TABLE tester.t ADD COLUMN extra JSON")
        again = snapshot_in_process(str(path))
        assert again is not None and again[0]["columns"][-1] == ["extra", "JSON", False]
    finally:
        writer.close()


def test_snapshot_of_an_unreadable_file_is_none(tmp_path: Path) -> None:
    (tmp_path / "bad.db").write_text("not a database")
    assert snapshot_in_process(str(tmp_path / "bad.db")) is None


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"warehouse\.db"):
        Warehouse(tmp_path / "warehouse.db")
