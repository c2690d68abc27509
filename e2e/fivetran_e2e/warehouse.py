"""Reads `files/warehouse.db`, the DuckDB file `fivetran debug` writes: tables, column types, keys, rows.

The harness takes the types of undeclared columns from here (what the tester made of the data) instead of
re-inventing type inference, and compares CrateDB against the rows here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from .data_types import FivetranType, duckdb_select, from_duckdb

SYSTEM_SCHEMAS = frozenset({"main", "information_schema", "pg_catalog"})


@dataclass(frozen=True)
class WarehouseColumn:
    name: str
    duckdb_type: str
    primary_key: bool

    @property
    def fivetran_type(self) -> FivetranType:
        return from_duckdb(self.duckdb_type)


@dataclass(frozen=True)
class WarehouseTable:
    schema: str
    name: str
    columns: tuple[WarehouseColumn, ...]

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.primary_key)

    def column(self, name: str) -> WarehouseColumn | None:
        return next((column for column in self.columns if column.name == name), None)

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


def quote(name: str) -> str:
    """A DuckDB identifier (DuckDB quotes like standard SQL)."""
    return '"' + name.replace('"', '""') + '"'


def _select_expression(column: WarehouseColumn) -> str:
    """Timestamps as epoch microseconds: exact, and no time-zone library needed to fetch them."""
    return duckdb_select(column.duckdb_type, quote(column.name))


def read_tables(conn: Any, catalog: str | None = None) -> list[WarehouseTable]:
    """Tables, columns (in order), DuckDB types and primary keys of the data schemas of `catalog`."""
    if catalog is None:
        row = conn.execute("SELECT current_database()").fetchone()
        catalog = str(row[0])
    keys: dict[tuple[str, str], set[str]] = {}
    for schema, table, names in conn.execute(
        "SELECT schema_name, table_name, constraint_column_names FROM duckdb_constraints() "
        "WHERE constraint_type = 'PRIMARY KEY' AND database_name = ?",
        [catalog],
    ).fetchall():
        keys[(schema, table)] = set(names)
    columns: dict[tuple[str, str], list[WarehouseColumn]] = {}
    for schema, table, name, data_type in conn.execute(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = ? ORDER BY table_schema, table_name, ordinal_position",
        [catalog],
    ).fetchall():
        if schema in SYSTEM_SCHEMAS:
            continue
        primary = name in keys.get((schema, table), set())
        columns.setdefault((schema, table), []).append(WarehouseColumn(name, data_type, primary))
    return [WarehouseTable(schema, table, tuple(cols)) for (schema, table), cols in columns.items()]


def table_to_json(table: WarehouseTable) -> dict[str, Any]:
    return {
        "schema": table.schema,
        "name": table.name,
        "columns": [[c.name, c.duckdb_type, c.primary_key] for c in table.columns],
    }


def table_from_json(value: dict[str, Any]) -> WarehouseTable:
    columns = tuple(WarehouseColumn(str(n), str(t), bool(k)) for n, t, k in value["columns"])
    return WarehouseTable(value["schema"], value["name"], columns)


def snapshot_in_process(path: str) -> list[dict[str, Any]] | None:
    """The table list of warehouse.db, read from inside the `fivetran debug` process that writes it.

    DuckDB shares one database instance per file within a process, so a second connection sees what the
    writer committed; another process could not open the file at all while it is being written. Returns
    None when that is not possible (the harness then reads the file after the run).
    """
    try:
        conn = duckdb.connect(path)
    except Exception:  # any failure just means "no snapshot"
        return None
    try:
        row = conn.execute("SELECT database_name FROM duckdb_databases() WHERE path = ?", [path]).fetchone()
        tables = read_tables(conn, str(row[0]) if row else None)
        return [table_to_json(table) for table in tables]
    except Exception:  # e.g. the writer holds the file with another configuration
        return None
    finally:
        conn.close()


class Warehouse:
    """A read-only connection to warehouse.db; close it before the next `fivetran debug` writes the file."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no warehouse.db (did fivetran debug run?)")
        self.path = path
        self._conn = duckdb.connect(str(path), read_only=True)

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def tables(self) -> list[WarehouseTable]:
        return read_tables(self._conn)

    def row_count(self, table: WarehouseTable) -> int:
        result = self._conn.execute(
            f"SELECT count(*) FROM {quote(table.schema)}.{quote(table.name)}"
        ).fetchone()
        return int(result[0]) if result else 0

    def rows(
        self, table: WarehouseTable, columns: Sequence[str], order_by: Sequence[str], chunk: int = 50_000
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Rows of `columns` in chunks, sorted by `order_by`; timestamps as epoch microseconds."""
        by_name = {column.name: column for column in table.columns}
        select = ", ".join(_select_expression(by_name[name]) for name in columns)
        order = ", ".join(quote(name) for name in order_by)
        sql = f"SELECT {select} FROM {quote(table.schema)}.{quote(table.name)}"
        if order:
            sql += f" ORDER BY {order}"
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql)
            while batch := cursor.fetchmany(chunk):
                yield batch
        finally:
            cursor.close()
