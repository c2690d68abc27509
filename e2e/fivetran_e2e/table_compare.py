"""Compares one table of warehouse.db with its CrateDB counterpart: columns, types, rows, system columns.

Column types are checked through `data_types` (`TypeRow.cratedb`: Fivetran type -> `information_schema`
data_type, the documented mapping) and the primary key against warehouse.db's; rows through
`compare.TableComparer`, both sides streamed sorted by key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from cratedb_destination.sql.identifiers import TableRef

from .compare import CompareColumn, TableComparer, TableResult
from .cratedb_reader import CrateReader
from .data_types import FivetranType, row_of
from .dest_tables import FIVETRAN_ID, SYNCED, DestTable, crate_column_name
from .warehouse import Warehouse, WarehouseTable

_TEXT_ALIASES = {"text", "character varying", "varchar", "string"}


def _expected_cratedb_type(column_type: FivetranType) -> str:
    return row_of(column_type.type).cratedb


def _same_type(expected: str, actual: str) -> bool:
    if expected == "text":
        return actual in _TEXT_ALIASES
    return actual == expected or actual.startswith(expected + "(")


def compare_table(
    warehouse: Warehouse,
    reader: CrateReader,
    source: WarehouseTable,
    target: DestTable,
    window: tuple[int, int],
    max_diffs: int,
    advance: Callable[[int], None],
) -> TableResult:
    ref = TableRef(target.schema, target.name)
    result = TableResult(
        table=str(source), cratedb_table=str(ref), keyed=source.primary_key != (FIVETRAN_ID,)
    )
    # CrateDB's columns by the Fivetran name they should hold (a system column name is stored renamed).
    fivetran_names = {crate_column_name(column.name): column.name for column in source.columns}
    listing = [
        replace(column, name=fivetran_names.get(column.name, column.name)) for column in reader.columns(ref)
    ]
    crate_columns = {column.name: column.data_type for column in listing}
    if not crate_columns:
        result.problems.append(f"table {ref} does not exist in CrateDB")
        result.warehouse_rows = result.missing = warehouse.row_count(source)
        return result
    types = {column.name: column.type for column in target.columns}
    for column in source.columns:
        actual = crate_columns.get(column.name)
        column_type = types.get(column.name) or column.fivetran_type
        if actual is None:
            result.problems.append(f"column {column.name!r} is missing in CrateDB")
        elif not any(
            _same_type(expected, actual)
            for expected in (_expected_cratedb_type(column_type), *row_of(column_type.type).cratedb_also)
        ):
            result.problems.append(
                f"column {column.name!r} ({column.duckdb_type} = {column_type}) is {actual!r} in CrateDB, "
                f"expected {_expected_cratedb_type(column_type)!r}"
            )
    for name in crate_columns:
        if source.column(name) is None:
            result.problems.append(f"CrateDB has column {name!r}, which warehouse.db does not have")
    if SYNCED not in crate_columns:
        result.problems.append(f"CrateDB table {ref} has no {SYNCED} column")
    crate_key = sorted(column.name for column in listing if column.primary_key)
    if crate_key != sorted(source.primary_key):  # as a set: reflection reports key columns sorted by name
        result.problems.append(
            f"CrateDB table {ref} has the primary key {crate_key}, expected {sorted(source.primary_key)}"
        )

    key = [] if not result.keyed else list(source.primary_key)
    others = [
        c.name
        for c in source.columns
        if c.name not in key and c.name not in (SYNCED, FIVETRAN_ID) and c.name in crate_columns
    ]
    names = [name for name in key if name in crate_columns] + others
    if len(names) < len(key) + len(others) or (result.keyed and not key):
        return result  # a key column is missing: the problems above already fail the table
    if not result.keyed and FIVETRAN_ID not in crate_columns:
        return result  # no key to page by; reported above as a missing column
    columns = [CompareColumn(name, types.get(name) or _column_type(source, name)) for name in names]
    numeric = frozenset(c.name for c in columns if row_of(c.type.type).cratedb_as_text)
    paging_key = key if result.keyed else [FIVETRAN_ID]
    crate_select = (
        names + ([] if result.keyed else [FIVETRAN_ID]) + ([SYNCED] if SYNCED in crate_columns else [])
    )
    width = len(names)
    bad_synced = [0]
    has_synced = SYNCED in crate_columns

    def warehouse_rows() -> Iterator[list[tuple[Any, ...]]]:
        for chunk in warehouse.rows(source, names, key):
            advance(len(chunk))
            yield chunk

    def cratedb_rows() -> Iterator[list[tuple[Any, ...]]]:
        start, end = window
        for page in reader.rows(ref, crate_select, paging_key, numeric):
            if has_synced:
                bad_synced[0] += sum(1 for row in page if row[-1] is None or not start <= row[-1] <= end)
            advance(len(page))
            yield [tuple(row[:width]) for row in page]

    reader.refresh(ref)
    comparer = TableComparer(result, columns, len(key), max_diffs)
    if result.keyed:
        comparer.compare_keyed(warehouse_rows, cratedb_rows)
    else:
        comparer.compare_multiset(warehouse_rows, cratedb_rows)
    if bad_synced[0]:
        result.problems.append(
            f"{bad_synced[0]} rows have an implausible {SYNCED} (NULL, in the future or before the run)"
        )
    synced_type = crate_columns.get(SYNCED)
    if synced_type is not None and synced_type != "timestamp with time zone":
        result.problems.append(f"{SYNCED} is {synced_type!r} in CrateDB, expected a UTC timestamp")
    return result


def _column_type(source: WarehouseTable, name: str) -> FivetranType:
    column = source.column(name)
    assert column is not None
    return column.fivetran_type
