"""The destination's hot loops in native code, optional: request bodies written from Arrow buffers, the
checks of JSON and decimal columns, and the CSV quote check.

A replace file's request body is `[[cell, ...], ...]` for thousands of rows. Made the Python way (a value
per cell, a tuple per row, `orjson.dumps`, the objects freed again) it was the largest part of the
destination's CPU per row; the per-cell JSON check of JSON columns (`orjson.loads` on each cell's Python
string) and the quote check of CSV text (`batch/quoting.py`, a regex step per quoted field) came next.
The C extension `_native` does these on the bytes themselves:
- `encode_rows` writes the body byte for byte as `orjson.dumps` would: orjson escapes only `"`, `\\` and
  the controls below U+0020 (the five with a short form use it, the others `\\u00XX`), integers and
  booleans as JSON numbers and literals; tests/unit/test_native.py compares the two;
- `json_texts` checks RFC 8259 syntax, a subset of what Python's json module (the reference) accepts;
- `decimal_texts` is the decimal fast path's pattern (`fast_columns.decimals`) without the regex engine;
- `csv_quotes` is the quote check of `batch/quoting.py`, the same rule without a regex step per field.
Every result is checked against the Python way in tests/unit/test_native.py.

The extension is optional (`pyproject.toml` builds it where a C compiler is found): without it, or with
the environment variable `CRATEDB_DESTINATION_NATIVE=0`, every function here answers "not done" (None or
False) and the callers take their Python path, which gives the same results. No other module imports
`_native`. Measured: docs/performance.md, "Native hot loops".
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, overload

import orjson
import pyarrow as pa

try:
    from . import _native  # type: ignore[attr-defined]
except ImportError:  # not built here: the Python path does everything
    _native = None

ENABLED = _native is not None and os.environ.get("CRATEDB_DESTINATION_NATIVE", "1") != "0"
"""Whether the native helpers are used (built, and not switched off)."""

_TEXT, _INT64, _BOOL = 0, 1, 2
_KINDS = {pa.string(): _TEXT, pa.int64(): _INT64, pa.bool_(): _BOOL}
_EMPTY = b""


def _flat(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(array, pa.ChunkedArray):
        return array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()
    return array


def _spec(array: pa.Array) -> tuple[int, int, Any, Any, Any] | None:
    """(kind, offset, validity, offsets, data) for `_native`, or None for another Arrow type."""
    kind = _KINDS.get(array.type)
    if kind is None:
        return None
    buffers = [_EMPTY if buffer is None else buffer for buffer in array.buffers()]
    validity = buffers[0] if array.null_count else None
    if kind == _TEXT:
        return kind, array.offset, validity, buffers[1], buffers[2]
    return kind, array.offset, validity, None, buffers[1]


class EncodedRows(Sequence[list[Any]]):
    """Bulk parameter rows already written as the JSON array of row arrays (`json`). The rows as Python
    lists are decoded from it only when asked for (to resend some rows, or to redact a rejected row's
    values from an error message), and are then equal to the values the Python path would have made."""

    __slots__ = ("_length", "_rows", "json")

    def __init__(self, json: bytes, length: int) -> None:
        self.json = json
        self._length = length
        self._rows: list[list[Any]] | None = None

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> list[Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[list[Any]]: ...
    def __getitem__(self, index: int | slice) -> list[Any] | list[list[Any]]:
        if self._rows is None:
            self._rows = orjson.loads(self.json)
        return self._rows[index]


def encode_rows(columns: Sequence[pa.Array | pa.ChunkedArray]) -> EncodedRows | None:
    """The rows whose cells are the columns' values (each a string, int64 or bool Arrow column of equal
    length; NULL as null), or None when this cannot be done natively: the extension is off, a column has
    another type, or text is not valid UTF-8 (the Python path then reports it as it would)."""
    if not ENABLED or not columns:
        return None
    arrays = [_flat(column) for column in columns]
    specs = [_spec(array) for array in arrays]
    length = len(arrays[0])
    if any(spec is None for spec in specs) or any(len(array) != length for array in arrays):
        return None
    try:
        body = _native.rows(specs, length)
    except UnicodeError:
        return None
    return EncodedRows(body, length)


def _text_args(column: pa.Array | pa.ChunkedArray) -> tuple[int, int, Any, Any, Any]:
    """(offset, length, validity, offsets, data) of a string column, for the functions that check one."""
    array = _flat(column)
    validity, offsets, data = (_EMPTY if buffer is None else buffer for buffer in array.buffers())
    return array.offset, len(array), validity if array.null_count else None, offsets, data


def json_texts(column: pa.Array | pa.ChunkedArray) -> bool:
    """True when every non-NULL cell of a string column is one JSON text (RFC 8259: whitespace, one value
    nested at most 64 deep, whitespace). False means "not vouched for", not "invalid"."""
    if not ENABLED or column.type != pa.string():
        return False
    return bool(_native.json_texts(*_text_args(column)))


def decimal_texts(column: pa.Array | pa.ChunkedArray, whole: int, scale: int) -> bool | None:
    """Whether every non-NULL cell is a plain decimal: an optional minus, `0` or 1 to `whole` digits without
    a leading zero (only `0` when `whole` < 1), then optionally `.` and 1 to `scale` digits; the pattern
    `fast_columns.decimals` builds, exactly. None when the extension is off."""
    if not ENABLED or column.type != pa.string():
        return None
    return bool(_native.decimal_texts(*_text_args(column), whole, scale))


def csv_quotes(data: bytes, start: int) -> int | None:
    """`batch/quoting.py`'s quote check of data[start:] (see `_check` there): the offset of a quoted field
    still open at the end (or closing exactly there), else len(data); -1 for a quote inside an unquoted
    field, -2 for text after a closing quote. None when the extension is off."""
    if not ENABLED:
        return None
    result: int = _native.csv_quotes(data, start)
    return result
