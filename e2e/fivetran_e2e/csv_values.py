"""Recorded cells -> the text Fivetran writes into a CSV batch file for a column of a given type.

The SDK encodes each Python value into a cell (text, JSON, binary, float or double); the column's type is
then decided by the declaration or, for undeclared columns, by what `fivetran debug` made of the data (read
back from warehouse.db). This module re-expresses a cell in the column's Fivetran CSV encoding: booleans as
`true`/`false`, integers and decimals as plain digits (decimals rounded half-up to the column's scale,
overflow as NULL, as observed in the tester), UTC timestamps as ISO instants with `Z`, naive timestamps and
dates as ISO without zone, binary as base64, JSON as its text.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from enum import IntEnum
from typing import Any, NamedTuple

from . import years
from .operations import Cell, CellKind

RawCell = Any
"""A cell as the recording stores it: None (NULL), a str (a text cell) or a dict (`Cell.to_json`)."""


class DataType(IntEnum):
    """Fivetran's `DataType` numbering (fivetran_sdk.v2 common.proto)."""

    UNSPECIFIED = 0
    BOOLEAN = 1
    SHORT = 2
    INT = 3
    LONG = 4
    DECIMAL = 5
    FLOAT = 6
    DOUBLE = 7
    NAIVE_DATE = 8
    NAIVE_DATETIME = 9
    UTC_DATETIME = 10
    BINARY = 11
    XML = 12
    STRING = 13
    JSON = 14
    NAIVE_TIME = 15


class FivetranType(NamedTuple):
    type: DataType
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        if self.type is DataType.DECIMAL:
            return f"DECIMAL({self.precision},{self.scale})"
        return self.type.name


class CellConversionError(ValueError):
    """A recorded value does not fit the column type; the message names the type, never the value."""


TEXT_TYPES = frozenset({DataType.STRING, DataType.XML, DataType.NAIVE_TIME})
_TRUE = frozenset({"true", "t", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "f", "0", "no", "n", "off"})
_INTEGER = re.compile(r"^[+-]?\d+$")
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)
_DECIMAL_CONTEXT = Context(prec=200)
_CANONICAL_NAIVE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?$")
_CANONICAL_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z$")
_CANONICAL_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
_PLAIN_DECIMAL = re.compile(r"^-?(?:0|([1-9]\d*))(?:\.(\d+))?$")
_CANONICAL_INTEGER = re.compile(r"^(?:0|-?[1-9]\d*)$")


def parse_iso(text: str) -> tuple[datetime, bool, bool]:
    """(datetime, had a time part, had a zone); aware inputs come back in UTC, fractions cut to µs."""
    match = _ISO.match(text.strip())
    if not match:
        raise CellConversionError("not an ISO-8601 date or timestamp")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    value = datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
    )
    if zone:
        if zone in ("Z", "z"):
            offset = timedelta(0)
        else:
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            if zone[0] == "-":
                offset = -offset
        value = (value - offset).replace(tzinfo=None)
    return value, hour is not None, zone is not None


def _parse_any_year(text: str) -> tuple[datetime, int]:
    """`parse_iso` for any year: a date before year 1 is parsed 400*n years later (see `years`)."""
    shifted, shift = years.into_range(text)
    return parse_iso(shifted)[0], shift


def format_naive(value: datetime) -> str:
    text = value.strftime("%Y-%m-%dT%H:%M:%S") if value.year >= 1000 else value.isoformat(timespec="seconds")
    return f"{text}.{value.microsecond:06d}" if value.microsecond else text


def round_decimal(text: str, precision: int, scale: int) -> str | None:
    """Half-up to `scale`; None when the integer part needs more than precision - scale digits."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise CellConversionError(f"not a number for DECIMAL({precision},{scale})") from None
    if not value.is_finite():
        return None
    rounded = value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP, context=_DECIMAL_CONTEXT)
    integer_digits = len(rounded.as_tuple().digits) - max(scale, 0)
    if rounded != 0 and integer_digits > precision - scale:
        return None
    return format(rounded, "f")


def _fits_decimal(text: str, precision: int, scale: int) -> bool:
    """Plain digits already exact at `scale` and short enough: sent as written (nothing to round)."""
    match = _PLAIN_DECIMAL.match(text)
    if match is None:
        return False
    return len(match.group(1) or "") <= precision - scale and len(match.group(2) or "") <= scale


def _boolean(text: str) -> str:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return "true"
    if lowered in _FALSE:
        return "false"
    raise CellConversionError("not a boolean")


def _integer(text: str) -> str:
    stripped = text.strip()
    if _INTEGER.match(stripped):
        return str(int(stripped))
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return "1" if lowered == "true" else "0"
    try:
        value = Decimal(stripped)
    except InvalidOperation:
        raise CellConversionError("not an integer") from None
    if value.is_finite() and value == value.to_integral_value():
        return str(int(value))
    raise CellConversionError("not an integer")


def _floating(text: str) -> str | None:
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return "1.0" if lowered == "true" else "0.0"
    try:
        value = float(stripped)
    except ValueError:
        raise CellConversionError("not a floating-point number") from None
    if math.isnan(value):
        return None  # the tester stores NaN as NULL
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return stripped


def to_csv(cell: Cell, column_type: FivetranType) -> str | None:
    """The CSV text for `cell` in a column of `column_type`; None means NULL."""
    kind = cell.kind
    if kind is CellKind.NULL:
        return None
    target = column_type.type
    if kind is CellKind.BINARY:
        data = cell.data or b""
        if target is DataType.JSON:
            return json.dumps(base64.b64encode(data).decode("ascii"))
        if target in (DataType.BINARY, DataType.STRING, DataType.XML, DataType.UNSPECIFIED):
            return base64.b64encode(data).decode("ascii")
        raise CellConversionError(f"binary value in a {column_type} column")
    text = cell.text or ""
    if target in TEXT_TYPES or target is DataType.UNSPECIFIED:
        return text
    if target is DataType.JSON:
        return text if kind in (CellKind.JSON, CellKind.FLOAT, CellKind.DOUBLE) else json.dumps(text)
    if target is DataType.BINARY:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")
    if text.strip() == "":
        return None  # an empty string in a typed column holds no value
    if target is DataType.BOOLEAN:
        return _boolean(text)
    if target in (DataType.SHORT, DataType.INT, DataType.LONG):
        return _integer(text)
    if target in (DataType.FLOAT, DataType.DOUBLE):
        return _floating(text)
    if target is DataType.DECIMAL:
        precision, scale = column_type.precision or 38, column_type.scale or 0
        return text if _fits_decimal(text, precision, scale) else round_decimal(text, precision, scale)
    if target is DataType.NAIVE_DATE:
        if _CANONICAL_DATE.match(text):
            return text
        value, shift = _parse_any_year(text)
        return years.shifted_back(date(value.year, value.month, value.day).isoformat(), shift)
    if target is DataType.NAIVE_DATETIME:
        if _CANONICAL_NAIVE.match(text):
            return text
        value, shift = _parse_any_year(text)
        return years.shifted_back(format_naive(value), shift)
    if target is DataType.UTC_DATETIME:
        if _CANONICAL_UTC.match(text):
            return text
        value, shift = _parse_any_year(text)
        return years.shifted_back(format_naive(value), shift) + "Z"
    raise CellConversionError(f"unsupported column type {column_type}")


def _text_fast_path(column_type: FivetranType) -> Callable[[str], str | None] | None:
    """A shortcut for text cells already in the column's CSV form (the common case), or None."""
    target = column_type.type
    if target in TEXT_TYPES or target is DataType.UNSPECIFIED:
        return lambda text: text
    pattern = {
        DataType.SHORT: _CANONICAL_INTEGER,
        DataType.INT: _CANONICAL_INTEGER,
        DataType.LONG: _CANONICAL_INTEGER,
        DataType.NAIVE_DATE: _CANONICAL_DATE,
        DataType.NAIVE_DATETIME: _CANONICAL_NAIVE,
        DataType.UTC_DATETIME: _CANONICAL_UTC,
    }.get(target)
    if pattern is not None:
        match = pattern.match
        return lambda text: text if match(text) else to_csv(Cell(CellKind.TEXT, text=text), column_type)
    if target is DataType.BOOLEAN:
        return lambda text: (
            text if text in ("true", "false") else to_csv(Cell(CellKind.TEXT, text=text), column_type)
        )
    if target is DataType.DECIMAL:
        precision, scale = column_type.precision or 38, column_type.scale or 0

        return lambda text: (
            text
            if _fits_decimal(text, precision, scale)
            else to_csv(Cell(CellKind.TEXT, text=text), column_type)
        )
    return None


def converter(column_type: FivetranType) -> Callable[[RawCell], str | None]:
    """`to_csv` for recorded cells, specialised once per column: the replay calls it for every cell."""
    fast = _text_fast_path(column_type)
    floating = column_type.type in (DataType.FLOAT, DataType.DOUBLE)

    keeps_json = column_type.type in (DataType.JSON, DataType.STRING, DataType.XML, DataType.UNSPECIFIED)

    def convert(raw: RawCell) -> str | None:
        if raw is None:
            return None
        if type(raw) is not str:
            kind = raw.get("kind")
            if kind == "text":
                raw = raw["text"]  # the long form of a text cell
            elif floating and kind in ("float", "double"):
                return _floating(raw["text"])
            elif keeps_json and kind == "json":
                return str(raw["text"])
            else:
                return to_csv(Cell.from_json(raw), column_type)
        if fast is not None:
            return fast(raw)
        return to_csv(Cell(CellKind.TEXT, text=raw), column_type)

    return convert
