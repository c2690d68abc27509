"""Small helpers around DuckDB: Arrow registrations and CrateDB-shaped errors for DuckDB failures."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from . import errors

_counter = itertools.count()
_MISSING_COLUMN = re.compile(r'Referenced column "([^"]+)" not found')
_MISSING_FUNCTION = re.compile(r"(?:Scalar|Aggregate|Table) Function with name \"?([\w.]+)\"? does not exist")


def unique_name(prefix: str) -> str:
    return f"__emulator_{prefix}_{next(_counter)}"


@contextmanager
def registered(cursor: duckdb.DuckDBPyConnection, table: pa.Table, prefix: str = "src") -> Iterator[str]:
    """Expose an Arrow table to SQL under a fresh name for the duration of the block."""
    name = unique_name(prefix)
    cursor.register(name, table)
    try:
        yield name
    finally:
        cursor.unregister(name)


def fetch_row(cursor: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The single row of a statement that always returns one (counts, UPDATE/DELETE row counts)."""
    row = cursor.execute(sql).fetchone()
    if row is None:
        raise errors.CrateError(errors.INTERNAL, "SQLActionException", "statement returned no row")
    return tuple(row)


def crate_error(exc: duckdb.Error) -> errors.CrateError:
    """Translate a DuckDB failure into the closest CrateDB error."""
    text = str(exc).split("\n", 1)[0]
    for prefix in (
        "Binder Error: ",
        "Conversion Error: ",
        "Catalog Error: ",
        "Parser Error: ",
        "Invalid Input Error: ",
        "Out of Range Error: ",
        "Not implemented Error: ",
    ):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    missing = _MISSING_COLUMN.search(text)
    if missing:
        return errors.column_unknown(missing.group(1))
    function = _MISSING_FUNCTION.search(text)
    if function:
        return errors.CrateError(
            errors.UNSUPPORTED, "UnsupportedFunctionException", f"Unknown function: {function.group(1)}"
        )
    if isinstance(
        exc, (duckdb.ConversionException, duckdb.OutOfRangeException, duckdb.InvalidInputException)
    ):
        return errors.CrateError(errors.PARSE, "ConversionException", text)
    if isinstance(exc, (duckdb.BinderException, duckdb.ParserException, duckdb.CatalogException)):
        return errors.CrateError(errors.PARSE, "SQLParseException", text)
    if isinstance(exc, duckdb.NotImplementedException):
        return errors.emulator_limit(text)
    return errors.CrateError(errors.INTERNAL, "SQLActionException", text)
