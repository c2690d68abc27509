"""compare_table against a CrateDB table (the emulator, or CRATEDB_URL): a faithful copy matches; a
deliberately corrupted one (a changed value, a deleted row, an added row, a bad _fivetran_synced) is
reported, never matched."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fivetran_e2e.cratedb_reader import CrateReader, connect
from fivetran_e2e.dest_tables import target_table
from fivetran_e2e.table_compare import compare_table
from fivetran_e2e.warehouse import Warehouse

pytestmark = pytest.mark.cratedb

NOW_MS = int(time.time() * 1000)
ROWS = [
    # id, amount, happened (µs), ratio (float32), doc (JSON), blob, day, deleted, note
    (
        1,
        "10.50",
        1_715_000_000_123_456,
        3.1415927,
        '{"b": 1, "a": [1, 2]}',
        b"\x00\x01",
        "2024-05-06",
        False,
        "é",
    ),
    (2, "-0.01", 1_715_000_001_000_000, 0.1, '[1, "two"]', b"", "2020-02-29", True, ""),
    (3, None, None, None, None, None, None, False, None),
]
KEYLESS = [("a", 1), ("a", 2), ("b", 2)]


@pytest.fixture()
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    path = tmp_path / "warehouse.db"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE SCHEMA tester")
    conn.execute(
        "CREATE TABLE tester.orders (id INTEGER PRIMARY KEY, amount DECIMAL(10,2),"
        " happened TIMESTAMP WITH TIME ZONE, ratio FLOAT, doc JSON, blob BLOB, day DATE,"
        " _fivetran_deleted BOOLEAN, note VARCHAR,"
        " _fivetran_synced TIMESTAMP WITH TIME ZONE)"
    )
    for row in ROWS:
        conn.execute(
            "INSERT INTO tester.orders VALUES (?, ?::DECIMAL(10,2), make_timestamptz(?::BIGINT), ?, ?, ?,"
            " ?::DATE, ?, ?, now())",
            list(row),
        )
    conn.execute(
        "CREATE TABLE tester.events (_fivetran_id VARCHAR PRIMARY KEY, name VARCHAR, n BIGINT,"
        " _fivetran_synced TIMESTAMP WITH TIME ZONE)"
    )
    for index, (name, n) in enumerate(KEYLESS):
        conn.execute("INSERT INTO tester.events VALUES (?, ?, ?, now())", [f"tester-id-{index}", name, n])
    conn.close()
    with Warehouse(path) as opened:
        yield opened


def _bulk_insert(url: str, sql: str, rows: list[list[Any]]) -> None:
    connection = connect(url)
    try:
        results = connection.cursor().executemany(sql, rows)
        assert all(result["rowcount"] == 1 for result in results)  # bulk requests report per-row failures
    finally:
        connection.close()


def _crate(reader: CrateReader, url: str, schema: str) -> None:
    reader.execute(
        f'CREATE TABLE "{schema}"."orders" (id INTEGER PRIMARY KEY, amount NUMERIC(10,2),'
        " happened TIMESTAMP WITH TIME ZONE, ratio REAL, doc TEXT, blob TEXT,"
        " day TIMESTAMP WITHOUT TIME ZONE,"
        ' "_fivetran_deleted" BOOLEAN, note TEXT, "_fivetran_synced" TIMESTAMP WITH TIME ZONE)'
    )
    rows = []
    for ident, amount, happened, ratio, doc, blob, day, deleted, note in ROWS:
        rows.append(
            [
                ident,
                amount,
                None if happened is None else happened // 1000,
                ratio,
                None if doc is None else doc.replace(" ", ""),  # other spacing, same JSON
                None if blob is None else base64.b64encode(blob).decode(),
                None if day is None else f"{day}T00:00:00",
                deleted,
                note,
                NOW_MS,
            ]
        )
    _bulk_insert(url, f'INSERT INTO "{schema}"."orders" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', rows)
    reader.execute(
        f'CREATE TABLE "{schema}"."events" ("_fivetran_id" TEXT PRIMARY KEY, name TEXT, n BIGINT,'
        ' "_fivetran_synced" TIMESTAMP WITH TIME ZONE)'
    )
    _bulk_insert(
        url,
        f'INSERT INTO "{schema}"."events" VALUES (?, ?, ?, ?)',
        [[f"our-id-{i}", name, n, NOW_MS] for i, (name, n) in enumerate(KEYLESS)],
    )
    reader.execute(f'REFRESH TABLE "{schema}"."orders"')
    reader.execute(f'REFRESH TABLE "{schema}"."events"')


def _compare(warehouse: Warehouse, reader: CrateReader, schema: str, table: str) -> Any:
    source = next(t for t in warehouse.tables() if t.name == table)
    window = (NOW_MS - 60_000, NOW_MS + 60_000)
    return compare_table(
        warehouse, reader, source, target_table(schema, source, None), window, 20, lambda _: None
    )


def test_faithful_copy_matches_and_corruption_is_reported(
    warehouse: Warehouse, cratedb_url: str, unique_schema: str
) -> None:
    with CrateReader(cratedb_url, page_size=2) as reader:  # small pages exercise keyset pagination
        _crate(reader, cratedb_url, unique_schema)
        try:
            result = _compare(warehouse, reader, unique_schema, "orders")
            assert result.ok, (result.problems, result.diffs)
            assert (result.warehouse_rows, result.matched) == (3, 3)
            assert _compare(warehouse, reader, unique_schema, "events").ok

            table = f'"{unique_schema}"."orders"'
            reader.execute(f"UPDATE {table} SET amount = 10.51 WHERE id = 1")  # a changed value
            reader.execute(f"DELETE FROM {table} WHERE id = 2")  # a deleted row
            reader.execute(  # an added row, with an implausible _fivetran_synced
                f'INSERT INTO {table} (id, note, "_fivetran_deleted", "_fivetran_synced") '
                "VALUES (4, 'x', false, 0)"
            )
            reader.execute(f'UPDATE "{unique_schema}"."events" SET n = 3 WHERE name = \'b\'')
            reader.execute(f"REFRESH TABLE {table}")
            reader.execute(f'REFRESH TABLE "{unique_schema}"."events"')

            result = _compare(warehouse, reader, unique_schema, "orders")
            assert not result.ok
            assert (result.matched, result.different, result.missing, result.extra) == (1, 1, 1, 1)
            changed = next(d for d in result.diffs if d.kind == "different")
            assert [(c.column, c.warehouse, c.cratedb) for c in changed.cells] == [
                ("amount", "10.50", "10.51")
            ]
            assert any("_fivetran_synced" in problem for problem in result.problems)

            keyless = _compare(warehouse, reader, unique_schema, "events")
            assert (keyless.matched, keyless.missing, keyless.extra) == (2, 1, 1)
        finally:
            reader.drop_schema_tables(unique_schema)


def test_missing_tables_and_wrong_types_are_problems(
    warehouse: Warehouse, cratedb_url: str, unique_schema: str
) -> None:
    with CrateReader(cratedb_url) as reader:
        result = _compare(warehouse, reader, unique_schema, "orders")
        assert not result.ok and result.missing == 3
        assert "does not exist" in result.problems[0]
        reader.execute(
            f'CREATE TABLE "{unique_schema}"."events" ("_fivetran_id" TEXT PRIMARY KEY, name TEXT, n TEXT,'
            ' "_fivetran_synced" TIMESTAMP WITH TIME ZONE, surplus TEXT)'
        )
        try:
            result = _compare(warehouse, reader, unique_schema, "events")
            assert any("'n'" in p and "expected 'bigint'" in p for p in result.problems)
            assert any("surplus" in p for p in result.problems)
        finally:
            reader.drop_schema_tables(unique_schema)
