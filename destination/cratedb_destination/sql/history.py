"""Statement text for history-mode batches (WriteHistoryBatch), one builder per step of the algorithm.

A history table's primary key is the record key ("entity key": the source's key columns, or
`_fivetran_id`) plus `_fivetran_start`, so one record has one row per version. Statements that match a
record key but not a complete version key are not direct document lookups in CrateDB: the caller must
REFRESH the table before them so they see every earlier write (CrateDB docs sql/statements/refresh).

Timestamps are parameters cast explicitly, so a comparison stays a timestamp comparison whatever the
parameter's JSON type.
"""

from __future__ import annotations

from collections.abc import Sequence

from cratedb_destination.domain import ACTIVE, END, START
from cratedb_destination.sql.dml import any_of
from cratedb_destination.sql.identifiers import TableRef, column, column_list
from cratedb_destination.type_mapping import FivetranType, read_expression

TIMESTAMP_PARAMETER = "CAST(? AS TIMESTAMP WITH TIME ZONE)"
START_ARRAY_PARAMETER = "CAST(? AS ARRAY(TIMESTAMP WITH TIME ZONE))"


def _record_match(keys: Sequence[str]) -> str:
    if not keys:
        raise ValueError("a history-mode statement needs at least one record key column")
    return " AND ".join(f"{column(key)} = ?" for key in keys)


def delete_versions_from(table: TableRef, keys: Sequence[str]) -> str:
    """Step 1a: drop a record's versions starting at or after the batch's earliest start (e.g. a replay).

    Parameters: the record key values, then the earliest start.
    """
    return f"DELETE FROM {table.sql} WHERE {_record_match(keys)} AND {column(START)} >= {TIMESTAMP_PARAMETER}"


def close_active_version(table: TableRef, keys: Sequence[str]) -> str:
    """Steps 1b and 4: end a record's active version (no active version: nothing happens).

    Parameters: the new `_fivetran_end`, then the record key values.
    """
    return (
        f"UPDATE {table.sql} SET {column(ACTIVE)} = FALSE, {column(END)} = {TIMESTAMP_PARAMETER} "
        f"WHERE {_record_match(keys)} AND {column(ACTIVE)} = TRUE"
    )


# Conditions for `versions_where`: the versions an earliest_start drops or closes (parameter: the chunk's
# lowest earliest start), and the active versions a delete closes.
STARTING_AT_OR_ACTIVE = f"({column(START)} >= {TIMESTAMP_PARAMETER} OR {column(ACTIVE)} = TRUE)"
ACTIVE_ONLY = f"{column(ACTIVE)} = TRUE"


def versions_where(table: TableRef, keys: Sequence[tuple[str, FivetranType]], condition: str) -> str:
    """The versions of many records that meet `condition`, in one query (one query job).

    Parameters: per record-key column, the array of the records' values; then `condition`'s parameters.
    Result rows: record key values, `_fivetran_start`, `_fivetran_active`. With a composite key the result
    may hold records nobody asked for (see `dml.any_of`): the caller drops them.
    """
    names = column_list(name for name, _ in keys)
    return (
        f"SELECT {names}, {column(START)}, {column(ACTIVE)} FROM {table.sql} "
        f"WHERE {any_of(keys)} AND {condition}"
    )


def close_version(table: TableRef, keys: Sequence[str]) -> str:
    """End one version found by its full primary key (record key + start): a direct document lookup.

    Parameters: the new `_fivetran_end`, then the full key values.
    """
    return (
        f"UPDATE {table.sql} SET {column(ACTIVE)} = FALSE, {column(END)} = {TIMESTAMP_PARAMETER} "
        f"WHERE {' AND '.join(f'{column(key)} = ?' for key in keys)}"
    )


def _terms(keys: Sequence[str], bounds: Sequence[str], count: int) -> str:
    if count < 1:
        raise ValueError("a lookup needs at least one record")
    term = "(" + " AND ".join([f"{column(key)} = ?" for key in keys] + list(bounds)) + ")"
    return " OR ".join([term] * count)


def previous_starts(table: TableRef, keys: Sequence[str], count: int) -> str:
    """Step 3 lookup: for each of `count` records, the latest start before a bound (absent: no version).

    Parameters, per record: its key values, then the bound. Result rows: key values, latest start.
    """
    if not keys:
        raise ValueError("a history-mode statement needs at least one record key column")
    where = _terms(keys, [f"{column(START)} < {TIMESTAMP_PARAMETER}"], count)
    return (
        f"SELECT {column_list(keys)}, MAX({column(START)}) FROM {table.sql} "
        f"WHERE {where} GROUP BY {column_list(keys)}"
    )


def versions_between(
    table: TableRef, columns: Sequence[tuple[str, FivetranType]], keys: Sequence[str], count: int
) -> str:
    """Step 3 lookup: each record's versions with lower <= start < upper, every column read losslessly.

    Parameters, per record: its key values, the lower bound, the upper bound.
    """
    if not keys:
        raise ValueError("a history-mode statement needs at least one record key column")
    bounds = [f"{column(START)} >= {TIMESTAMP_PARAMETER}", f"{column(START)} < {TIMESTAMP_PARAMETER}"]
    select = ", ".join(read_expression(column(name), ftype) for name, ftype in columns)
    return f"SELECT {select} FROM {table.sql} WHERE {_terms(keys, bounds, count)}"


def records_per_lookup(
    table: TableRef, columns: Sequence[tuple[str, FivetranType]], keys: Sequence[str], max_chars: int
) -> int:
    """How many records one step-3 lookup may name so that both lookups stay within `max_chars`."""
    capacity = []
    for build in (
        lambda n: previous_starts(table, keys, n),
        lambda n: versions_between(table, columns, keys, n),
    ):
        one, two = len(build(1)), len(build(2))
        per_record = two - one
        capacity.append((max_chars - (one - per_record)) // per_record)
    return max(1, min(capacity))


def latest_starts_before(table: TableRef, keys: Sequence[tuple[str, FivetranType]]) -> str:
    """Step 3 lookup for a whole chunk: per record, the latest start before one bound (absent: none).

    Parameters: per record-key column, the array of the records' values; then the bound. Columns are
    matched one by one, so with a composite key the result may hold combinations nobody asked for: the
    caller ignores them. Result rows: key values, latest start. The statement's length does not depend
    on the number of records.
    """
    names = column_list(name for name, _ in keys)
    return (
        f"SELECT {names}, MAX({column(START)}) FROM {table.sql} "
        f"WHERE {any_of(keys)} AND {column(START)} < {TIMESTAMP_PARAMETER} GROUP BY {names}"
    )


def versions_at(
    table: TableRef, columns: Sequence[tuple[str, FivetranType]], keys: Sequence[tuple[str, FivetranType]]
) -> str:
    """Step 3 lookup for a whole chunk: the versions of the given records starting at the given instants,
    every column read losslessly.

    Parameters: per record-key column, the array of the records' values; then the array of starts. The
    result may hold versions nobody asked for (see `latest_starts_before`): the caller picks its own.
    """
    select = ", ".join(read_expression(column(name), ftype) for name, ftype in columns)
    return (
        f"SELECT {select} FROM {table.sql} "
        f"WHERE {any_of(keys)} AND {column(START)} = ANY({START_ARRAY_PARAMETER})"
    )
