"""Turn DuckDB result sets (Arrow) into CrateDB's JSON shapes: epoch-ms timestamps, numerics as JSON numbers,
objects as JSON, REAL values with float precision, plus the `col_types` ids.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from . import types as t
from .types import CrateType

_MS_PER_DAY = 86_400_000


def json_default(value: Any) -> Any:
    """orjson fallback: exact decimals as JSON numbers."""
    if isinstance(value, Decimal):
        if value.is_finite():
            return orjson.Fragment(str(value))
        return None
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(payload: Any) -> bytes:
    return orjson.dumps(payload, default=json_default)


def _timestamp_ms(array: pa.Array) -> pa.Array:
    unit = array.type.unit
    ints = pc.cast(array, pa.int64())
    divisor = {"s": None, "ms": 1, "us": 1000, "ns": 1_000_000}[unit]
    if divisor is None:
        return pc.multiply(ints, 1000)
    if divisor == 1:
        return ints
    # Floor division (CrateDB truncates sub-ms digits towards the past: Instant.toEpochMilli).
    quotient = pc.divide(ints, divisor)  # truncates towards zero
    remainder = pc.subtract(ints, pc.multiply(quotient, divisor))
    return pc.if_else(pc.less(remainder, 0), pc.subtract(quotient, 1), quotient)


def _convert_array(array: pa.Array, json_text: bool, json_numbers: bool = False) -> list[Any]:
    """Python values of one result column, CrateDB-shaped.

    `json_numbers`: decimals become their JSON text (Arrow prints them like Decimal.__str__ and Java's
    BigDecimal.toString), which spares a Decimal object per value when the rows only go out as JSON.
    """
    kind = array.type
    if pa.types.is_timestamp(kind):
        return _timestamp_ms(array).to_pylist()
    if pa.types.is_date32(kind) or pa.types.is_date64(kind):
        days = pc.cast(pc.cast(array, pa.date32()), pa.int32())
        return pc.multiply(pc.cast(days, pa.int64()), _MS_PER_DAY).to_pylist()
    if pa.types.is_float32(kind):
        # Shortest float32 text, then float: REAL 1.1 reads back as 1.1 like CrateDB's Float.toString.
        texts = pc.cast(array, pa.string()).to_pylist()
        if array.null_count == 0 and _all_finite(array):
            return list(map(float, texts))
        return [_real(value) for value in texts]
    if pa.types.is_floating(kind):
        if _all_finite(array):
            return array.to_pylist()
        return [_double(value) for value in array.to_pylist()]
    if pa.types.is_decimal(kind):
        if json_numbers:
            texts = pc.cast(array, pa.string()).to_pylist()
            if array.null_count == 0:
                return list(map(orjson.Fragment, texts))
            return [None if text is None else orjson.Fragment(text) for text in texts]
        return array.to_pylist()
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        values = array.to_pylist()
        if json_text:
            return [None if v is None else orjson.Fragment(v) for v in values]
        return values
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return _convert_list(array, json_numbers)
    if pa.types.is_time(kind):
        return [None if v is None else v.isoformat() for v in array.to_pylist()]
    if pa.types.is_duration(kind):
        return [None if v is None else int(v.total_seconds() * 1000) for v in array.to_pylist()]
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return [None if v is None else v.decode("utf-8", "replace") for v in array.to_pylist()]
    if pa.types.is_struct(kind) or pa.types.is_map(kind):
        return array.to_pylist()
    return array.to_pylist()


def _convert_list(array: pa.Array, json_numbers: bool) -> list[Any]:
    if pa.types.is_fixed_size_list(array.type):
        array = array.cast(pa.list_(array.type.value_type))
    flat_values = _convert_array(array.values, False, json_numbers)
    offsets = array.offsets.to_pylist()
    valid = array.is_valid().to_pylist()
    return [flat_values[offsets[i] : offsets[i + 1]] if valid[i] else None for i in range(len(array))]


def _all_finite(array: pa.Array) -> bool:
    finite = pc.is_finite(array)
    return bool(pc.all(finite, skip_nulls=True).as_py() is not False)


def _real(text: str | None) -> Any:
    if text is None:
        return None
    if text in ("nan", "inf", "-inf"):
        return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[text]
    return float(text)


def _double(value: float | None) -> Any:
    if value is None or math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def rows_from_arrow(table: pa.Table, json_columns: list[bool]) -> list[tuple[Any, ...]]:
    columns: list[list[Any]] = []
    for index, column in enumerate(table.columns):
        chunk = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        columns.append(_convert_array(chunk, json_columns[index], json_numbers=True))
    if not columns:
        return [() for _ in range(table.num_rows)]
    return list(zip(*columns, strict=True))


def is_json_type(duck_type: str, ctype: CrateType | None) -> bool:
    if duck_type.upper() == "JSON":
        return True
    if ctype is None:
        return False
    return ctype.kind in (t.OBJECT, t.GEO_SHAPE) or (
        ctype.kind == t.ARRAY and ctype.inner is not None and ctype.inner.kind == t.OBJECT
    )


def type_ids(ctypes: list[CrateType]) -> list[object]:
    return [ctype.type_id() for ctype in ctypes]
