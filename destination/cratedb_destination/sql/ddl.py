"""DDL statement text: tables, columns, refresh, the rebuild's copy and swap, and catalogue queries."""

from __future__ import annotations

from collections.abc import Sequence

from cratedb_destination.sql.identifiers import TableRef, column, column_list, literal
from cratedb_destination.table_settings import TableSettings
from cratedb_destination.type_mapping import (
    ColumnSpec,
    FivetranType,
    column_ddl,
    convert_expression,
    sql_type,
)


def column_definition(spec: ColumnSpec) -> str:
    """`"name" TYPE [storage]` for CREATE TABLE and ADD COLUMN (key columns are NOT NULL implicitly)."""
    return f"{column(spec.name)} {column_ddl(spec)}"


def create_table(
    table: TableRef,
    columns: Sequence[ColumnSpec],
    if_not_exists: bool = False,
    settings: TableSettings | None = None,
) -> str:
    """CREATE TABLE with the columns in the given order and a PRIMARY KEY over the key columns, then the
    table's distribution: `PARTITIONED BY (...) CLUSTERED INTO n SHARDS WITH (number_of_replicas = '...')`.

    CrateDB's grammar takes PARTITIONED BY and CLUSTERED in either order and WITH last (CrateDB source
    SqlBaseParser.g4 `createTable`, `partitionedByOrClusteredInto`); we follow the synopsis of CrateDB docs
    sql/statements/create-table. Replicas are a string literal: a range such as `0-1` unquoted would be
    the expression 0 minus 1.
    """
    if not columns:
        raise ValueError(f"table {table} needs at least one column")
    parts = [column_definition(spec) for spec in columns]
    keys = [spec.name for spec in columns if spec.primary_key]
    if keys:
        parts.append(f"PRIMARY KEY ({column_list(keys)})")
    guard = "IF NOT EXISTS " if if_not_exists else ""
    statement = f"CREATE TABLE {guard}{table.sql} ({', '.join(parts)})"
    if settings is not None:
        if settings.partitioned_by:
            statement += f" PARTITIONED BY ({column_list(settings.partitioned_by)})"
        if settings.shards is not None:
            if settings.shards < 1:
                raise ValueError(f"table {table} needs at least one shard, got {settings.shards}")
            statement += f" CLUSTERED INTO {int(settings.shards)} SHARDS"
        if settings.replicas is not None:
            statement += f" WITH (number_of_replicas = {literal(settings.replicas)})"
    return statement


def drop_table(table: TableRef, if_exists: bool = True) -> str:
    return f"DROP TABLE {'IF EXISTS ' if if_exists else ''}{table.sql}"


def add_column(table: TableRef, spec: ColumnSpec) -> str:
    return f"ALTER TABLE {table.sql} ADD COLUMN {column_definition(spec)}"


def drop_column(table: TableRef, name: str) -> str:
    return f"ALTER TABLE {table.sql} DROP COLUMN {column(name)}"


def refresh(table: TableRef) -> str:
    return f"REFRESH TABLE {table.sql}"


def swap_and_drop_source(source: TableRef, target: TableRef) -> str:
    """Atomically give `source`'s data the name `target` and drop what was `target` (CrateDB docs
    sql/statements/alter-cluster)."""
    return f"ALTER CLUSTER SWAP TABLE {source.sql} TO {target.sql} WITH (drop_source = true)"


def copy_missing_rows(source: TableRef, target: TableRef, names: Sequence[str], keys: Sequence[str]) -> str:
    """INSERT INTO target (names) (SELECT names FROM source) ON CONFLICT (keys) DO NOTHING: rows target
    lacks, by key, come over unchanged; rows it has stay as they are."""
    names_sql = column_list(names)
    return (
        f"INSERT INTO {target.sql} ({names_sql}) (SELECT {names_sql} FROM {source.sql}) "
        f"ON CONFLICT ({column_list(keys)}) DO NOTHING"
    )


def select_columns(table: TableRef, names: Sequence[str]) -> str:
    """Every row's `names` (for small tables only: no paging)."""
    return f"SELECT {column_list(names)} FROM {table.sql}"


def copy_rows(
    source: TableRef,
    target: TableRef,
    columns: Sequence[ColumnSpec],
    casts: Sequence[bool],
    from_types: Sequence[FivetranType] | None = None,
) -> str:
    """INSERT INTO target (cols) (SELECT cols FROM source), casting the columns flagged in `casts`.

    With `from_types` (each column's type in `source`), a flagged column is converted by
    `type_mapping.convert_expression`, which also changes JSON storage (TEXT <-> OBJECT)."""
    if len(columns) != len(casts):
        raise ValueError("columns and casts differ in length")
    if from_types is not None and len(from_types) != len(columns):
        raise ValueError("columns and from_types differ in length")
    if not columns:
        raise ValueError(f"copying {source} to {target} needs at least one column")

    def cast_expression(index: int, spec: ColumnSpec) -> str:
        if from_types is not None:
            return convert_expression(column(spec.name), from_types[index], spec.type)
        return f"CAST({column(spec.name)} AS {sql_type(spec.type)})"

    select = ", ".join(
        cast_expression(index, spec) if cast else column(spec.name)
        for index, (spec, cast) in enumerate(zip(columns, casts, strict=True))
    )
    names = column_list(spec.name for spec in columns)
    return f"INSERT INTO {target.sql} ({names}) (SELECT {select} FROM {source.sql})"


def count_rows(table: TableRef) -> str:
    return f"SELECT COUNT(*) FROM {table.sql}"


# Catalogue queries: table and schema names are parameters, never spliced into the text.
TABLE_EXISTS = (
    "SELECT COUNT(*) FROM information_schema.tables "
    "WHERE table_schema = ? AND table_name = ? AND table_type = 'BASE TABLE'"
)
TABLE_COLUMNS = (
    "SELECT column_name, data_type FROM information_schema.columns "
    "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position"
)
# The distribution a rebuild keeps: number_of_shards INTEGER, number_of_replicas TEXT such as '1' or '0-1'
# (CrateDB docs general/information-schema lists it as INTEGER; the source defines STRING), partitioned_by
# TEXT[] or NULL (CrateDB source InformationTablesTableInfo.java, NumberOfReplicas.java `getVirtualValue`).
TABLE_SETTINGS = (
    "SELECT number_of_shards, number_of_replicas, partitioned_by FROM information_schema.tables "
    "WHERE table_schema = ? AND table_name = ?"
)
PRIMARY_KEY_COLUMNS = (
    "SELECT column_name FROM information_schema.key_column_usage "
    "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position"
)
