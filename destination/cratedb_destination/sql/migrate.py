"""Statement text for Migrate operations (renames, copies, column values, history-mode versions, sync modes).

CrateDB has no transactions, cannot change a primary key and has no `UPDATE ... FROM`, so operations are
built from single statements that are safe to repeat: server-side `INSERT ... (SELECT ...)` copies whose
row counts the caller verifies, UPDATEs without joins, and renames. Each builder documents the parameters
its statement expects, in order.
"""

from __future__ import annotations

from collections.abc import Sequence

from cratedb_destination.domain import ACTIVE, END, START
from cratedb_destination.sql.history import TIMESTAMP_PARAMETER
from cratedb_destination.sql.identifiers import TableRef, column, column_list, quote, validate_table_name
from cratedb_destination.type_mapping import FivetranType, sql_type

# Alias of the per-record version rank in the latest-version query; not a column of any table.
_RANK = "__fivetran_version_rank"


def rename_table(table: TableRef, new_name: str) -> str:
    """ALTER TABLE ... RENAME TO: CrateDB wants the new name without a schema (CrateDB source
    AlterTableAnalyzer.java)."""
    return f"ALTER TABLE {table.sql} RENAME TO {quote(validate_table_name(new_name))}"


def rename_column(table: TableRef, old: str, new: str) -> str:
    return f"ALTER TABLE {table.sql} RENAME COLUMN {column(old)} TO {column(new)}"


def set_column(table: TableRef, name: str, ftype: FivetranType, at_start: bool = False) -> str:
    """UPDATE every row (or, with `at_start`, the versions starting at one instant) to one value.

    Parameters: the value (None for NULL), then, with `at_start`, the `_fivetran_start` instant.
    """
    where = f" WHERE {column(START)} = {TIMESTAMP_PARAMETER}" if at_start else ""
    return f"UPDATE {table.sql} SET {column(name)} = CAST(? AS {sql_type(ftype)}){where}"


def copy_column_values(table: TableRef, source: str, target: str) -> str:
    """UPDATE every row so that `target` holds `source`'s value. No parameters."""
    return f"UPDATE {table.sql} SET {column(target)} = {column(source)}"


def _active_before(non_null: str | None) -> str:
    condition = f"{column(ACTIVE)} = TRUE AND {column(START)} < {TIMESTAMP_PARAMETER}"
    if non_null is not None:
        condition += f" AND {column(non_null)} IS NOT NULL"
    return condition


def count_active_before(table: TableRef, non_null: str | None = None) -> str:
    """COUNT of active versions started before an instant (and holding a value in `non_null`).

    Parameters: the instant.
    """
    return f"SELECT COUNT(*) FROM {table.sql} WHERE {_active_before(non_null)}"


def copy_active_versions(
    table: TableRef, columns: Sequence[str], keys: Sequence[str], non_null: str | None = None
) -> str:
    """New versions starting at an instant, copied from the active versions that started before it.

    The copies keep every other value, `_fivetran_end` and `_fivetran_active` included. A copy that
    exists already (the operation is re-sent) is overwritten with the same values, so the statement's
    row count always equals the number of source versions. Parameters: the instant, the instant again.
    """
    if START not in columns or START not in keys:
        raise ValueError(f"{table} is not a history-mode table: {START} must be a key column")
    select = ", ".join(
        f"{TIMESTAMP_PARAMETER} AS {column(name)}" if name == START else column(name) for name in columns
    )
    updates = ", ".join(f"{column(name)} = excluded.{column(name)}" for name in columns if name not in keys)
    conflict = f" ON CONFLICT ({column_list(keys)}) DO UPDATE SET {updates}" if updates else ""
    return (
        f"INSERT INTO {table.sql} ({column_list(columns)}) "
        f"(SELECT {select} FROM {table.sql} WHERE {_active_before(non_null)}){conflict}"
    )


def close_active_before(table: TableRef, non_null: str | None = None) -> str:
    """End the active versions started before an instant (and holding a value in `non_null`).

    Parameters: the new `_fivetran_end`, then the instant.
    """
    return (
        f"UPDATE {table.sql} SET {column(END)} = {TIMESTAMP_PARAMETER}, {column(ACTIVE)} = FALSE "
        f"WHERE {_active_before(non_null)}"
    )


def max_active_start(table: TableRef) -> str:
    """The latest `_fivetran_start` of an active version (NULL for a table without one). No parameters."""
    return f"SELECT MAX({column(START)}) FROM {table.sql} WHERE {column(ACTIVE)} = TRUE"


def max_value(table: TableRef, name: str) -> str:
    return f"SELECT MAX({column(name)}) FROM {table.sql}"


def select_rows(source: TableRef, columns: Sequence[str]) -> str:
    """Every row of `source` with the given columns. No parameters."""
    return f"SELECT {column_list(columns)} FROM {source.sql}"


def select_as_history(source: TableRef, columns: Sequence[str], deleted: str | None) -> str:
    """Every row of a live/soft-delete table as one history version: `columns`, then start, end, active.

    With a soft-delete column, flagged rows become closed versions (start and end at the minimum
    timestamp) and the others active versions. Parameters: with `deleted`: minimum timestamp, start of
    active versions, minimum timestamp, maximum timestamp; without: start, maximum timestamp.
    """
    names = column_list(columns)
    if deleted is None:
        history = f"{TIMESTAMP_PARAMETER}, {TIMESTAMP_PARAMETER}, TRUE"
    else:
        flagged = f"COALESCE({column(deleted)}, FALSE)"
        pick = f"CASE WHEN {flagged} THEN {TIMESTAMP_PARAMETER} ELSE {TIMESTAMP_PARAMETER} END"
        history = f"{pick}, {pick}, NOT {flagged}"
    return f"SELECT {names}, {history} FROM {source.sql}"


def select_latest_versions(
    source: TableRef, columns: Sequence[str], keys: Sequence[str], deleted: str, keep_deleted: bool
) -> str:
    """Each record's latest version (by `_fivetran_start`, active or not) as a soft-delete row: `columns`,
    then `deleted` = NOT `_fivetran_active`. Versions without a start are left out; so are records whose
    latest version is closed, unless `keep_deleted`. No parameters."""
    if not keys:
        raise ValueError(f"{source}: the latest version of a record needs the record key")
    names = column_list(columns)
    flag = column(deleted)
    rank = column(_RANK)
    inner = (
        f"SELECT {names}, NOT COALESCE({column(ACTIVE)}, FALSE) AS {flag}, ROW_NUMBER() OVER "
        f"(PARTITION BY {column_list(keys)} ORDER BY {column(START)} DESC) AS {rank} "
        f"FROM {source.sql} WHERE {column(START)} IS NOT NULL"
    )
    where = f"{rank} = 1" + ("" if keep_deleted else f" AND {flag} = FALSE")
    return f'SELECT {names}, {flag} FROM ({inner}) AS "versions" WHERE {where}'


def insert_select(target: TableRef, columns: Sequence[str], select: str) -> str:
    """INSERT INTO target (columns) (<select>); the parameters are the select's."""
    return f"INSERT INTO {target.sql} ({column_list(columns)}) ({select})"


def count_select(select: str) -> str:
    """How many rows `select` yields; the parameters are the select's."""
    return f'SELECT COUNT(*) FROM ({select}) AS "source"'
