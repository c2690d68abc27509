"""DML statement text for bulk requests: one statement, many parameter rows (`bulk_args`).

Each builder documents the parameter order its statement expects, so callers can lay out rows to match.
"""

from __future__ import annotations

from collections.abc import Sequence

from cratedb_destination.sql.identifiers import TableRef, column, column_list
from cratedb_destination.type_mapping import FivetranType, array_matchable, sql_type

# A timestamp parameter sent as ISO text; the explicit cast keeps the comparison a timestamp comparison.
_TIMESTAMP_PARAMETER = "CAST(? AS TIMESTAMP WITH TIME ZONE)"


def _placeholders(count: int) -> str:
    return ", ".join("?" for _ in range(count))


def _key_match(keys: Sequence[str]) -> str:
    """`"k1" = ? AND "k2" = ?`: a full-primary-key match, which CrateDB runs as a direct document lookup."""
    if not keys:
        raise ValueError("a key match needs at least one key column")
    return " AND ".join(f"{column(key)} = ?" for key in keys)


def upsert(
    table: TableRef, columns: Sequence[str], keys: Sequence[str], null_columns: Sequence[str] = ()
) -> str:
    """Insert-or-replace by primary key. Parameters: one per entry of `columns`, in that order.

    On conflict every non-key column in `columns` takes the new value and every column of `null_columns`
    (table columns the file does not carry) becomes NULL, so the row is fully replaced.
    """
    missing = [key for key in keys if key not in columns]
    if missing:
        raise ValueError(f"upsert into {table} lacks key columns {missing}")
    insert = f"INSERT INTO {table.sql} ({column_list(columns)}) VALUES ({_placeholders(len(columns))})"
    assignments = [f"{column(name)} = excluded.{column(name)}" for name in columns if name not in keys]
    assignments += [f"{column(name)} = NULL" for name in null_columns if name not in keys]
    if not keys:
        return insert
    if not assignments:
        return f"{insert} ON CONFLICT ({column_list(keys)}) DO NOTHING"
    return f"{insert} ON CONFLICT ({column_list(keys)}) DO UPDATE SET {', '.join(assignments)}"


def update_by_key(table: TableRef, assigned: Sequence[str], keys: Sequence[str]) -> str:
    """UPDATE the `assigned` columns of one row. Parameters: the assigned values, then the key values."""
    if not assigned:
        raise ValueError(f"update of {table} assigns no column")
    sets = ", ".join(f"{column(name)} = ?" for name in assigned)
    return f"UPDATE {table.sql} SET {sets} WHERE {_key_match(keys)}"


def update_by_key_selective(
    table: TableRef, columns: Sequence[tuple[str, FivetranType]], keys: Sequence[str]
) -> str:
    """One UPDATE for rows that modify different column sets.

    Parameters: for each column a flag (true = assign) and a value, then the key values. A column whose
    flag is false keeps its value. The value is cast to the column type so that the CASE has one type.
    """
    if not columns:
        raise ValueError(f"update of {table} assigns no column")
    sets = ", ".join(
        f"{column(name)} = CASE WHEN ? THEN CAST(? AS {sql_type(ftype)}) ELSE {column(name)} END"
        for name, ftype in columns
    )
    return f"UPDATE {table.sql} SET {sets} WHERE {_key_match(keys)}"


def any_of(keys: Sequence[tuple[str, FivetranType]]) -> str:
    """`"k" = ANY(CAST(? AS ARRAY(type)))` per key column: one array parameter per column.

    Columns are matched one by one, so with a composite key the rows found may hold combinations nobody
    asked for: callers compare the key values they get back.
    """
    if not keys:
        raise ValueError("an array match needs at least one key column")
    unsupported = [name for name, ftype in keys if not array_matchable(ftype)]
    if unsupported:
        raise ValueError(f"key columns {unsupported} cannot be matched against an array")
    return " AND ".join(f"{column(name)} = ANY(CAST(? AS ARRAY({sql_type(ftype)})))" for name, ftype in keys)


def existing_keys(table: TableRef, keys: Sequence[tuple[str, FivetranType]]) -> str:
    """The keys of the rows among the given ones that exist. Parameters: per key column, the array of
    the keys' values. Not a primary-key lookup: the caller refreshes the table first."""
    return f"SELECT {column_list(name for name, _ in keys)} FROM {table.sql} WHERE {any_of(keys)}"


def select_by_key(table: TableRef, columns: Sequence[str], keys: Sequence[str]) -> str:
    """SELECT columns of one row by its full key (consistent without REFRESH). Parameters: the key values."""
    return f"SELECT {column_list(columns)} FROM {table.sql} WHERE {_key_match(keys)}"


def delete_by_key(table: TableRef, keys: Sequence[str]) -> str:
    """DELETE one row. Parameters: the key values."""
    return f"DELETE FROM {table.sql} WHERE {_key_match(keys)}"


def delete_synced_before(table: TableRef, synced_column: str) -> str:
    """Hard truncate: DELETE rows synced before the parameter (a timestamp)."""
    return f"DELETE FROM {table.sql} WHERE {column(synced_column)} < {_TIMESTAMP_PARAMETER}"


def mark_deleted_synced_before(table: TableRef, deleted_column: str, synced_column: str) -> str:
    """Soft truncate: flag rows synced before the parameter (a timestamp) as deleted."""
    return (
        f"UPDATE {table.sql} SET {column(deleted_column)} = TRUE "
        f"WHERE {column(synced_column)} < {_TIMESTAMP_PARAMETER}"
    )
