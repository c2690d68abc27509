"""Recorded cells -> the text Fivetran writes into a CSV batch file for a column of a given type.

The SDK encodes each Python value into a cell (text, JSON, binary, float or double); the column's type is
then decided by the declaration or, for undeclared columns, by what `fivetran debug` made of the data (read
back from warehouse.db). This module re-expresses a cell in the column's Fivetran CSV encoding, following
the column type's row in `data_types`: booleans as `true`/`false`, integers and decimals as plain digits
(decimals rounded half-up to the column's scale, overflow as NULL, as observed in the tester), UTC
timestamps as ISO instants with `Z`, naive timestamps and dates as ISO without zone, binary as base64,
JSON as its text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .data_types import CellConversionError, FivetranType, row_of
from .operations import Cell, CellKind

__all__ = ["CellConversionError", "RawCell", "converter", "to_csv"]

RawCell = Any
"""A cell as the recording stores it: None (NULL), a str (a text cell) or a dict (`Cell.to_json`)."""


# Recorded kinds whose cell is just a text (decoded here without `Cell.from_json`, for speed).
_TEXT_KINDS = {kind.value: kind for kind in (CellKind.TEXT, CellKind.JSON, CellKind.FLOAT, CellKind.DOUBLE)}


def to_csv(cell: Cell, column_type: FivetranType) -> str | None:
    """The CSV text for `cell` in a column of `column_type`; None means NULL."""
    if cell.kind is CellKind.NULL:
        return None
    try:
        row = row_of(column_type.type)
    except KeyError:
        raise CellConversionError(f"unsupported column type {column_type}") from None
    return row.to_csv(cell, column_type)


def _text_fast_path(column_type: FivetranType) -> Callable[[str], str | None] | None:
    """A shortcut for text cells already in the column's CSV form (the common case), or None."""
    row = row_of(column_type.type)
    if row.verbatim:
        return lambda text: text
    if row.csv_ready is None:
        return None
    ready = row.csv_ready(column_type)
    return lambda text: text if ready(text) else to_csv(Cell(CellKind.TEXT, text=text), column_type)


def converter(column_type: FivetranType) -> Callable[[RawCell], str | None]:
    """`to_csv` for recorded cells, specialised once per column: the replay calls it for every cell."""
    fast = _text_fast_path(column_type)
    to_text = row_of(column_type.type).to_csv

    def convert(raw: RawCell) -> str | None:
        if raw is None:
            return None
        if type(raw) is not str:
            kind = _TEXT_KINDS.get(raw.get("kind"))
            if kind is CellKind.TEXT:
                raw = raw["text"]  # the long form of a text cell
            elif kind is not None:
                return to_text(Cell(kind, text=raw["text"]), column_type)
            else:
                return to_csv(Cell.from_json(raw), column_type)
        if fast is not None:
            return fast(raw)
        return to_csv(Cell(CellKind.TEXT, text=raw), column_type)

    return convert
