"""information_schema and a minimal sys schema, generated from the catalog for each query that reads them.

Each virtual table is a pseudo `Table` (so column types, JSON output and subscripts work like for user
tables) plus an Arrow table the query cursor registers under a private name.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa

from . import types as t
from .catalog import Catalog, Column, Table
from .types import CrateType, array_of

CATALOG_NAME = "crate"
CLUSTER_ID = str(uuid.UUID(int=0x0C8A7EDB_0E70_4A10_8000_000000000000))
NODE_ID = "emulator-node-1"

_TEXT = CrateType(t.TEXT)
_INT = CrateType(t.INTEGER)
_BOOL = CrateType(t.BOOLEAN)
_OBJECT = CrateType(t.OBJECT, policy="ignored")
_TEXT_ARRAY = array_of(_TEXT)


@dataclass(frozen=True)
class NodeInfo:
    version: str
    url: str
    port: int


@dataclass
class VirtualTable:
    table: Table
    build: Callable[[Catalog, NodeInfo], list[tuple[Any, ...]]]


def _table(schema: str, name: str, columns: list[tuple[str, CrateType]]) -> Table:
    return Table(schema=schema, name=name, columns=tuple(Column(n, ctype) for n, ctype in columns))


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


# ---- information_schema -----------------------------------------------------------------------------
def _tables_rows(catalog: Catalog, node: NodeInfo) -> list[tuple[Any, ...]]:
    rows = []
    for table in sorted(catalog.tables.values(), key=lambda x: (x.schema, x.name)):
        settings = {k: v for k, v in table.settings.items()}
        rows.append(
            (
                CATALOG_NAME,
                table.schema,
                table.name,
                "BASE TABLE",
                "_id",
                "SYSTEM GENERATED",
                table.shards,
                str(table.settings.get("number_of_replicas", "0-1")),
                table.clustered_by or (table.primary_key[0] if len(table.primary_key) == 1 else "_id"),
                list(table.partitioned_by) or None,
                None,
                table.column_policy,
                False,
                _json({"created": node.version, "upgraded": None}),
                _json(settings),
            )
        )
    return rows


def _column_rows(catalog: Catalog, node: NodeInfo) -> list[tuple[Any, ...]]:
    rows = []
    for table in sorted(catalog.tables.values(), key=lambda x: (x.schema, x.name)):
        position = 0
        for column in table.columns:
            position += 1
            rows.append(_column_row(table, column.name, column.ctype, position, column))
        for object_name, state in table.objects.items():
            for path, ctype in sorted(state.known.items()):
                position += 1
                rows.append(_column_row(table, path, ctype, position, None, object_name))
        for object_column in table.columns:
            if object_column.ctype.kind == t.OBJECT:
                for sub_name, sub_type in object_column.ctype.fields:
                    position += 1
                    path = f"{object_column.name}['{sub_name}']"
                    rows.append(_column_row(table, path, sub_type, position, None, object_column.name))
    return rows


def _column_row(
    table: Table,
    name: str,
    ctype: CrateType,
    position: int,
    column: Column | None,
    parent: str | None = None,
) -> tuple[Any, ...]:
    not_null = column is not None and (column.not_null or column.name in table.primary_key)
    max_length = ctype.length if ctype.kind in (t.VARCHAR, t.CHAR, t.BIT) else None
    details = {"name": parent or name, "path": [] if parent is None else [name[len(parent) :]]}
    return (
        CATALOG_NAME,
        table.schema,
        table.name,
        name,
        position,
        ctype.info_name(),
        "ALWAYS" if column is not None and column.generated_sql else "NEVER",
        not not_null,
        column.generated_sql if column is not None else None,
        column.default_sql if column is not None else None,
        max_length,
        None,
        ctype.numeric_precision(),
        ctype.numeric_radix(),
        None,
        3 if ctype.kind in (t.TIMESTAMP, t.TIMESTAMPTZ, t.DATE) else None,
        None,
        None,
        False,
        None,
        None,
        None,
        None,
        None,
        _json(details),
    )


_COLUMNS_COLUMNS = [
    ("table_catalog", _TEXT),
    ("table_schema", _TEXT),
    ("table_name", _TEXT),
    ("column_name", _TEXT),
    ("ordinal_position", _INT),
    ("data_type", _TEXT),
    ("is_generated", _TEXT),
    ("is_nullable", _BOOL),
    ("generation_expression", _TEXT),
    ("column_default", _TEXT),
    ("character_maximum_length", _INT),
    ("character_octet_length", _INT),
    ("numeric_precision", _INT),
    ("numeric_precision_radix", _INT),
    ("numeric_scale", _INT),
    ("datetime_precision", _INT),
    ("interval_type", _TEXT),
    ("interval_precision", _INT),
    ("is_identity", _BOOL),
    ("identity_generation", _TEXT),
    ("identity_start", _TEXT),
    ("identity_increment", _TEXT),
    ("identity_maximum", _TEXT),
    ("identity_minimum", _TEXT),
    ("column_details", _OBJECT),
]


def _pk_name(table: Table) -> str:
    return f"{table.name}_pk"


def _constraint_rows(catalog: Catalog, node: NodeInfo) -> list[tuple[Any, ...]]:
    rows = []
    for table in sorted(catalog.tables.values(), key=lambda x: (x.schema, x.name)):

        def row(name: str, kind: str, table: Table = table) -> tuple[Any, ...]:
            return (
                CATALOG_NAME,
                table.schema,
                name,
                CATALOG_NAME,
                table.schema,
                table.name,
                kind,
                "NO",
                "NO",
                "YES",
                None,
            )

        if table.primary_key:
            rows.append(row(_pk_name(table), "PRIMARY KEY"))
        for column in table.columns:
            if column.not_null and column.name not in table.primary_key:
                rows.append(row(f"{table.schema}_{table.name}_{column.name}_not_null", "CHECK"))
        for name, _expression in table.checks:
            rows.append(row(name, "CHECK"))
    return rows


def _key_usage_rows(catalog: Catalog, node: NodeInfo) -> list[tuple[Any, ...]]:
    rows = []
    for table in sorted(catalog.tables.values(), key=lambda x: (x.schema, x.name)):
        for position, column in enumerate(table.primary_key, start=1):
            rows.append(
                (
                    CATALOG_NAME,
                    table.schema,
                    _pk_name(table),
                    CATALOG_NAME,
                    table.schema,
                    table.name,
                    column,
                    position,
                )
            )
    return rows


def _schemata_rows(catalog: Catalog, node: NodeInfo) -> list[tuple[Any, ...]]:
    return [(CATALOG_NAME, name) for name in catalog.schemas()]


def _empty(catalog: Catalog, node: NodeInfo) -> list[tuple[Any, ...]]:
    return []


# ---- sys ----------------------------------------------------------------------------------------------
def _version_object(node: NodeInfo) -> dict[str, Any]:
    return {
        "number": node.version,
        "build_hash": "0" * 40,
        "build_snapshot": False,
        "minimum_index_compatibility_version": "5.0.0",
        "minimum_wire_compatibility_version": "5.0.0",
    }


def _cluster_rows(catalog: Catalog, node: NodeInfo) -> list[tuple[Any, ...]]:
    return [(CLUSTER_ID, "crate", NODE_ID, _json({"stats": {"enabled": True}}))]


def _nodes_rows(catalog: Catalog, node: NodeInfo) -> list[tuple[Any, ...]]:
    return [
        (
            NODE_ID,
            "emulator",
            "localhost",
            node.url.split("//", 1)[-1],
            _json({"http": node.port, "transport": None, "psql": None}),
            _json(_version_object(node)),
        )
    ]


VIRTUAL_TABLES: dict[tuple[str, str], VirtualTable] = {
    ("information_schema", "tables"): VirtualTable(
        _table(
            "information_schema",
            "tables",
            [
                ("table_catalog", _TEXT),
                ("table_schema", _TEXT),
                ("table_name", _TEXT),
                ("table_type", _TEXT),
                ("self_referencing_column_name", _TEXT),
                ("reference_generation", _TEXT),
                ("number_of_shards", _INT),
                ("number_of_replicas", _TEXT),
                ("clustered_by", _TEXT),
                ("partitioned_by", _TEXT_ARRAY),
                ("blobs_path", _TEXT),
                ("column_policy", _TEXT),
                ("closed", _BOOL),
                ("version", _OBJECT),
                ("settings", _OBJECT),
            ],
        ),
        _tables_rows,
    ),
    ("information_schema", "columns"): VirtualTable(
        _table("information_schema", "columns", _COLUMNS_COLUMNS), _column_rows
    ),
    ("information_schema", "table_constraints"): VirtualTable(
        _table(
            "information_schema",
            "table_constraints",
            [
                ("constraint_catalog", _TEXT),
                ("constraint_schema", _TEXT),
                ("constraint_name", _TEXT),
                ("table_catalog", _TEXT),
                ("table_schema", _TEXT),
                ("table_name", _TEXT),
                ("constraint_type", _TEXT),
                ("is_deferrable", _TEXT),
                ("initially_deferred", _TEXT),
                ("enforced", _TEXT),
                ("nulls_distinct", _TEXT),
            ],
        ),
        _constraint_rows,
    ),
    ("information_schema", "key_column_usage"): VirtualTable(
        _table(
            "information_schema",
            "key_column_usage",
            [
                ("constraint_catalog", _TEXT),
                ("constraint_schema", _TEXT),
                ("constraint_name", _TEXT),
                ("table_catalog", _TEXT),
                ("table_schema", _TEXT),
                ("table_name", _TEXT),
                ("column_name", _TEXT),
                ("ordinal_position", _INT),
            ],
        ),
        _key_usage_rows,
    ),
    ("information_schema", "schemata"): VirtualTable(
        _table("information_schema", "schemata", [("catalog_name", _TEXT), ("schema_name", _TEXT)]),
        _schemata_rows,
    ),
    ("information_schema", "table_partitions"): VirtualTable(
        _table(
            "information_schema",
            "table_partitions",
            [
                ("table_catalog", _TEXT),
                ("table_schema", _TEXT),
                ("table_name", _TEXT),
                ("partition_ident", _TEXT),
                ("values", _OBJECT),
                ("number_of_shards", _INT),
                ("number_of_replicas", _TEXT),
                ("closed", _BOOL),
            ],
        ),
        _empty,
    ),
    ("information_schema", "views"): VirtualTable(
        _table(
            "information_schema",
            "views",
            [
                ("table_catalog", _TEXT),
                ("table_schema", _TEXT),
                ("table_name", _TEXT),
                ("view_definition", _TEXT),
            ],
        ),
        _empty,
    ),
    ("sys", "cluster"): VirtualTable(
        _table(
            "sys", "cluster", [("id", _TEXT), ("name", _TEXT), ("master_node", _TEXT), ("settings", _OBJECT)]
        ),
        _cluster_rows,
    ),
    ("sys", "nodes"): VirtualTable(
        _table(
            "sys",
            "nodes",
            [
                ("id", _TEXT),
                ("name", _TEXT),
                ("hostname", _TEXT),
                ("rest_url", _TEXT),
                ("port", _OBJECT),
                ("version", _OBJECT),
            ],
        ),
        _nodes_rows,
    ),
}


def lookup(schema: str, name: str) -> VirtualTable | None:
    return VIRTUAL_TABLES.get((schema, name))


def arrow_table(virtual: VirtualTable, catalog: Catalog, node: NodeInfo) -> pa.Table:
    rows = virtual.build(catalog, node)
    columns = virtual.table.columns
    arrays = []
    for index, column in enumerate(columns):
        values = [row[index] for row in rows]
        arrays.append(pa.array(values, type=column.ctype.arrow()))
    return pa.Table.from_arrays(arrays, names=[c.name for c in columns])
