"""The one registry of Fivetran's DataTypes: one row per type says everything the destination knows of it.

A row (`TypeRow`) gives the CrateDB column type, how information_schema reports it, which CrateDB types
read back as it when nobody recorded a type, whether non-key columns get unlimited text storage, whether
values can be matched against an array parameter, whether it is an instant, how batch-file text becomes
a statement parameter and how a stored value becomes a Python value again. Every other module asks the
functions below, which read the registry; adding a DataType means adding a row (see CONTRIBUTING.md).

CrateDB stores several Fivetran types alike (STRING/XML/JSON/BINARY/NAIVE_TIME are all TEXT, NAIVE_DATE
and NAIVE_DATETIME are both TIMESTAMP WITHOUT TIME ZONE), which is why `metadata.py` records the exact
Fivetran type of each column.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from fivetran_proto import common_pb2

from cratedb_destination import fast_columns, timestamps
from cratedb_destination.errors import UserActionRequired
from cratedb_destination.limits import DEFAULT_DECIMAL, MAX_DECIMAL_PRECISION, MAX_INDEXED_TEXT_BYTES

DataType = int  # a fivetran_sdk.v2.DataType enum number

BOOLEAN = common_pb2.BOOLEAN
SHORT = common_pb2.SHORT
INT = common_pb2.INT
LONG = common_pb2.LONG
DECIMAL = common_pb2.DECIMAL
FLOAT = common_pb2.FLOAT
DOUBLE = common_pb2.DOUBLE
NAIVE_DATE = common_pb2.NAIVE_DATE
NAIVE_DATETIME = common_pb2.NAIVE_DATETIME
UTC_DATETIME = common_pb2.UTC_DATETIME
BINARY = common_pb2.BINARY
XML = common_pb2.XML
STRING = common_pb2.STRING
JSON = common_pb2.JSON
NAIVE_TIME = common_pb2.NAIVE_TIME
UNSPECIFIED = common_pb2.UNSPECIFIED

UNLIMITED_TEXT_STORAGE = "INDEX OFF STORAGE WITH (columnstore = false)"

# How JSON columns are stored (the `json_storage` setting): TEXT holding the JSON text (the default), or
# OBJECT(IGNORED) so that JSON objects can be queried with subscripts (see `JSON_ENVELOPE`, docs/types.md).
JSON_TEXT = "text"
JSON_OBJECT = "object"
JSON_STORAGES = (JSON_TEXT, JSON_OBJECT)
# The one key of the object that holds a JSON value an OBJECT cannot hold as it is (arrays, scalars, null,
# objects CrateDB would refuse or alter), as its JSON text: {"_fivetran_json": "[1, 2]"}.
JSON_ENVELOPE = "_fivetran_json"


def type_name(data_type: DataType) -> str:
    try:
        return common_pb2.DataType.Name(data_type)
    except ValueError:
        return f"DataType({data_type})"


def type_from_name(name: str) -> DataType:
    return int(common_pb2.DataType.Value(name))


@dataclass(frozen=True)
class FivetranType:
    """A Fivetran DataType plus its optional params, exactly as Fivetran sent them.

    `storage` names a storage variant of the type that the destination chose (None: the type's own row);
    today only JSON has one, `JSON_OBJECT` (see `with_json_storage`). It is not a Fivetran param:
    DescribeTable never shows it, the metadata record keeps it, so a column keeps the storage it was
    created with when the `json_storage` setting changes later.
    """

    data_type: DataType
    precision: int | None = None
    scale: int | None = None
    string_byte_length: int | None = None
    storage: str | None = None

    @property
    def name(self) -> str:
        return type_name(self.data_type)

    def __str__(self) -> str:
        if self.precision is not None:
            return f"{self.name}({self.precision},{self.scale})"
        if self.string_byte_length is not None:
            return f"{self.name}(byte_length={self.string_byte_length})"
        return self.name


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a Fivetran table definition.

    `long_text` marks a text column the destination switched to unlimited storage after a value outgrew
    the indexed-text limit. It is the destination's storage choice, not a Fivetran param: DescribeTable
    does not show it, the metadata record keeps it so that rebuilds keep the storage.
    """

    name: str
    type: FivetranType
    primary_key: bool = False
    long_text: bool = False


def spec_from_proto(column: Any, table: str = "") -> ColumnSpec:
    """A `common_pb2.Column` as a ColumnSpec; rejects types CrateDB cannot hold, naming the column."""
    where = f"column {column.name!r}" + (f" of table {table!r}" if table else "")
    data_type = int(column.type)
    if data_type not in REGISTRY:
        raise UserActionRequired(f"{where} has unsupported data type {type_name(data_type)}")
    precision = scale = byte_length = None
    if column.HasField("params"):
        which = column.params.WhichOneof("params")
        if which == "decimal":
            # Kept as sent, so DescribeTable echoes them; a precision of 0 means "unspecified".
            precision, scale = int(column.params.decimal.precision), int(column.params.decimal.scale)
            checked = data_type == DECIMAL and precision != 0
            if checked and precision > MAX_DECIMAL_PRECISION:
                raise UserActionRequired(
                    f"{where} is DECIMAL({precision},{scale}); CrateDB stores NUMERIC with a precision of "
                    f"1 to {MAX_DECIMAL_PRECISION} digits"
                )
            if checked and scale > precision:
                raise UserActionRequired(
                    f"{where} is DECIMAL({precision},{scale}); the scale cannot exceed the precision"
                )
        elif which == "string_byte_length":
            byte_length = int(column.params.string_byte_length)
    return ColumnSpec(
        name=column.name,
        type=FivetranType(data_type, precision, scale, byte_length),
        primary_key=bool(column.primary_key),
    )


def spec_to_proto(spec: ColumnSpec) -> Any:
    column = common_pb2.Column(name=spec.name, type=spec.type.data_type, primary_key=spec.primary_key)  # type: ignore[arg-type]
    if spec.type.precision is not None:
        column.params.decimal.precision = spec.type.precision
        column.params.decimal.scale = spec.type.scale or 0
    elif spec.type.string_byte_length is not None:
        column.params.string_byte_length = spec.type.string_byte_length
    return column


def decimal_params(ftype: FivetranType) -> tuple[int, int]:
    """(precision, scale) of the NUMERIC column for a DECIMAL; precision 0 or none means unspecified."""
    return (ftype.precision, ftype.scale or 0) if ftype.precision else DEFAULT_DECIMAL


# ---------------------------------------------------------------------------------------------------------
# Batch-file text -> statement parameter
# ---------------------------------------------------------------------------------------------------------

Converter = Callable[[str], Any]


class ConversionError(ValueError):
    """A cell that does not fit its column's type; the message says why but never quotes the value."""


_INTEGER = re.compile(r"[+-]?\d+")
_FLOATING = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NON_FINITE = {
    "nan": "NaN",
    "+nan": "NaN",
    "-nan": "NaN",
    "infinity": "Infinity",
    "+infinity": "Infinity",
    "inf": "Infinity",
    "+inf": "Infinity",
    "-infinity": "-Infinity",
    "-inf": "-Infinity",
}
_INTEGER_RANGES: dict[DataType, tuple[int, int]] = {
    SHORT: (-(2**15), 2**15 - 1),
    INT: (-(2**31), 2**31 - 1),
    LONG: (-(2**63), 2**63 - 1),
}
_DATE = r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
_TIME = r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?"
_OFFSET = r"(?P<offset>[zZ]|[+-]\d{2}(?::?\d{2})?)"
_DATETIME = re.compile(rf"{_DATE}(?:[T ]{_TIME})?\s*{_OFFSET}?")
_TIME_ONLY = re.compile(_TIME)
# Timestamps repeat a lot (every row of a file carries the same _fivetran_synced), so their parsed forms
# are cached; the cache is small and lives in memory only.
_CACHED_VALUES = 4096


def _to_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ConversionError("expected true or false")


def _integer_converter(data_type: DataType) -> Converter:
    low, high = _INTEGER_RANGES[data_type]
    name = type_name(data_type)

    def convert(text: str) -> int:
        stripped = text.strip()
        if not _INTEGER.fullmatch(stripped):
            raise ConversionError(f"not an integer, expected a {name}")
        number = int(stripped)
        if not low <= number <= high:
            raise ConversionError(f"integer out of the {name} range {low}..{high}")
        return number

    return convert


def _to_decimal(text: str) -> decimal.Decimal:
    try:
        number = decimal.Decimal(text.strip())
    except decimal.InvalidOperation:
        raise ConversionError("not a decimal number") from None
    if not number.is_finite():
        raise ConversionError("NaN and infinite values cannot be stored in a DECIMAL column")
    return number


# Enough digits for any NUMERIC value (precision <= 38) and an exponent of a few hundred.
_DECIMAL_CONTEXT = decimal.Context(prec=1000, rounding=decimal.ROUND_HALF_UP)


def _decimal_converter(ftype: FivetranType) -> Converter:
    """Rounds to the column's scale, half away from zero, as DuckDB's DECIMAL cast does, and sends text
    with exactly that many decimals. CrateDB would round a longer value twice, first to `precision`
    significant digits and then to the scale (crate/crate `io.crate.types.NumericType`, implicit cast
    with `new MathContext(precision)` then `setScale`): 1.23499 would become 1.24 in NUMERIC(5, 2). A
    value whose integer digits do not fit is refused here, because CrateDB's error would quote it. A
    value with no more decimals than the scale is sent as it is."""
    precision, scale = decimal_params(ftype)
    integer_digits = precision - scale
    quantum = decimal.Decimal(1).scaleb(-scale)

    def convert(text: str) -> str:
        number = _to_decimal(text)
        if number.as_tuple().exponent < -scale:  # type: ignore[operator]  # finite: an int
            number = number.quantize(quantum, context=_DECIMAL_CONTEXT)
        plain = format(number, "f")
        digits = len(plain.lstrip("-").split(".")[0].lstrip("0"))
        if digits > integer_digits:
            raise ConversionError(
                f"{digits} digits before the decimal point do not fit DECIMAL({precision},{scale}), "
                f"which holds at most {integer_digits}"
                + (" (after rounding to the column's scale)" if scale else "")
            )
        return plain

    return convert


def _to_float_text(text: str) -> str:
    stripped = text.strip()
    special = _NON_FINITE.get(stripped.lower())
    if special is not None:
        return special
    if not _FLOATING.fullmatch(stripped):
        raise ConversionError("not a floating-point number")
    return stripped


def _fraction_ms(fraction: str | None) -> str:
    """The first three fraction digits (CrateDB keeps milliseconds; the rest is truncated)."""
    return ((fraction or "") + "000")[:3]


def _checked_datetime(match: re.Match[str]) -> None:
    """Calendar arithmetic rather than `datetime`, which lacks year 0000 (a valid CrateDB timestamp)."""
    if not timestamps.valid_date(int(match["year"]), int(match["month"]), int(match["day"])):
        raise ConversionError("not a valid date/time (day or month out of range)")
    if int(match["hour"] or 0) > 23 or int(match["minute"] or 0) > 59 or int(match["second"] or 0) > 59:
        raise ConversionError("not a valid date/time (time of day out of range)")


def _local_datetime_text(match: re.Match[str]) -> str:
    _checked_datetime(match)
    return (
        f"{match['year']}-{match['month']}-{match['day']}T{match['hour'] or '00'}:{match['minute'] or '00'}:"
        f"{match['second'] or '00'}.{_fraction_ms(match['fraction'])}"
    )


@functools.lru_cache(maxsize=_CACHED_VALUES)
def _to_naive_datetime(text: str) -> str:
    match = _DATETIME.fullmatch(text.strip())
    if match is None:
        raise ConversionError("not an ISO-8601 date-time")
    # A naive value carries no zone; an offset, if a producer adds one, is dropped (wall clock kept),
    # which is also what CrateDB does for TIMESTAMP WITHOUT TIME ZONE.
    return _local_datetime_text(match)


@functools.lru_cache(maxsize=_CACHED_VALUES)
def _to_naive_date(text: str) -> str:
    match = _DATETIME.fullmatch(text.strip())
    if match is None or match["offset"]:
        raise ConversionError("not an ISO-8601 date")
    _checked_datetime(match)
    if (
        int(match["hour"] or 0)
        or int(match["minute"] or 0)
        or int(match["second"] or 0)
        or int(match["fraction"] or 0)
    ):
        raise ConversionError("a NAIVE_DATE value must not carry a time of day")
    return f"{match['year']}-{match['month']}-{match['day']}T00:00:00.000"


@functools.lru_cache(maxsize=_CACHED_VALUES)
def _to_utc_datetime(text: str) -> str:
    match = _DATETIME.fullmatch(text.strip())
    if match is None:
        raise ConversionError("not an ISO-8601 instant")
    offset = match["offset"]
    if offset is None or offset in ("z", "Z"):
        suffix = "Z"
    else:
        digits = offset[1:].replace(":", "")
        hours, minutes = digits[:2], digits[2:4] or "00"
        if int(hours) > 18 or int(minutes) > 59:
            raise ConversionError("UTC offset out of range")
        suffix = f"{offset[0]}{hours}:{minutes}"
    return _local_datetime_text(match) + suffix


def _to_naive_time(text: str) -> str:
    match = _TIME_ONLY.fullmatch(text.strip())
    if match is None:
        raise ConversionError("not an ISO-8601 time of day")
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ConversionError("time of day out of range")
    fraction = f".{match['fraction']}" if match["fraction"] else ""
    return f"{match['hour']}:{match['minute']}:{match['second'] or '00'}{fraction}"


def _to_json_text(text: str) -> str:
    try:
        json.loads(text)
    except ValueError:
        raise ConversionError("not valid JSON") from None
    return text


# What an OBJECT(IGNORED) value may hold as it is. CrateDB refuses object keys with a dot, a square bracket,
# tab, CR or LF (CrateDB source ColumnIdent.java, `validateObjectKey`); an empty key cannot be
# addressed by a subscript; numbers become 64-bit integers or doubles (Jackson, via
# CrateDB source ObjectType.java, `mapFromJSON`), and deep nesting meets parser limits. Anything else is kept
# in the envelope, so no JSON value fails a sync or loses a digit.
_BAD_OBJECT_KEY = re.compile(r"[.\[\t\r\n]")
_MAX_OBJECT_DEPTH = 100
_INT64 = (-(2**63), 2**63 - 1)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _object_storable(value: Any, depth: int = 0) -> bool:
    if depth > _MAX_OBJECT_DEPTH:
        return False
    if isinstance(value, dict):
        return all(
            key != "" and _BAD_OBJECT_KEY.search(key) is None and _object_storable(item, depth + 1)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return all(_object_storable(item, depth + 1) for item in value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, int):
        return _INT64[0] <= value <= _INT64[1]
    if isinstance(value, float):  # a JSON number whose digits a double keeps
        return value == value and abs(value) != float("inf") and float(repr(value)) == value
    return False


def _exact_floats(text: str) -> float:
    number = float(text)
    if decimal.Decimal(repr(number)) != decimal.Decimal(text):
        raise ValueError("digits a double does not keep")
    return number


def envelope(json_text: str) -> str:
    """The JSON text of the envelope object holding `json_text` (see `JSON_ENVELOPE`)."""
    return json.dumps({JSON_ENVELOPE: json_text}, ensure_ascii=False, separators=(",", ":"))


def _to_json_object_text(text: str) -> str:
    """JSON text for an OBJECT(IGNORED) column, sent as a TEXT parameter: CrateDB's implicit cast parses it
    into the object (CrateDB source ObjectType.java, `convert` and `mapFromJSON`), so no object-typed
    parameter is type-guessed (mixed-type arrays failed that before CrateDB 6.4.0, crate/crate#19287).

    A JSON object CrateDB can hold as it is is sent as such (re-serialised: duplicate keys resolved, the
    last wins); every other value (array, string, number, boolean, JSON null, an object with keys CrateDB
    refuses, numbers a double does not keep, the envelope's own key) goes into the envelope as its
    original text. SQL NULL never reaches a converter."""
    try:
        parsed = json.loads(text)
    except ValueError:
        raise ConversionError("not valid JSON") from None
    if isinstance(parsed, dict) and JSON_ENVELOPE not in parsed:
        try:
            exact = json.loads(text, parse_float=_exact_floats, parse_constant=_reject_constant)
        except (ValueError, decimal.InvalidOperation, RecursionError):
            exact = None
        if exact is not None and _object_storable(exact):
            return json.dumps(exact, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return envelope(text)


def _read_json_object(value: Any) -> Any:
    """The JSON value an OBJECT(IGNORED) column holds: the envelope's text parsed, else the object."""
    if isinstance(value, str):  # a driver or cast that hands the object over as JSON text
        value = json.loads(value)
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get(JSON_ENVELOPE), str):
        return json.loads(value[JSON_ENVELOPE])
    return value


def _object_to_parameter(value: Any) -> Any:
    """A stored object (as CrateDB returned it) as the TEXT parameter that stores it again unchanged."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _binary_converter(on_invalid_base64: Callable[[], None]) -> Converter:
    def convert(text: str) -> str:
        try:
            base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            # Fivetran documents base64, but the destination tester passes arbitrary strings through
            # (SDK tester input input.json): keep their bytes, base64-encoded, rather than fail the sync.
            on_invalid_base64()
            return base64.b64encode(text.encode("utf-8")).decode("ascii")
        return text

    return convert


def _identity(text: str) -> str:
    return text


# ---------------------------------------------------------------------------------------------------------
# Stored value -> Python value of the Fivetran type
# ---------------------------------------------------------------------------------------------------------

_EPOCH = dt.datetime(1970, 1, 1)


def read_expression(quoted_column: str, ftype: FivetranType) -> str:
    """SELECT expression that reads a column losslessly (NUMERIC as text: JSON numbers lose digits)."""
    if ftype.data_type == DECIMAL:
        return f"CAST({quoted_column} AS TEXT)"
    return quoted_column


def _from_epoch_ms(value: Any) -> dt.datetime:
    if isinstance(value, str):
        if value.lstrip("-").isdigit():
            value = int(value)
        else:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
            return parsed
    return _EPOCH + dt.timedelta(milliseconds=int(value))


def _read_time(value: Any) -> dt.time:
    text = str(value)
    head, _, fraction = text.partition(".")
    return dt.time.fromisoformat(head + (f".{(fraction + '000000')[:6]}" if fraction else ""))


# ---------------------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------------------

ConverterFactory = Callable[[FivetranType, Callable[[], None]], Converter]


def _fixed(convert: Converter) -> ConverterFactory:
    return lambda _ftype, _warn: convert


@dataclass(frozen=True)
class TypeRow:
    """What the destination knows of one Fivetran DataType.

    - `cratedb`: the column type (DECIMAL's comes from its params, see `sql_type`);
    - `information_schema`: how information_schema.columns.data_type reports that column;
    - `read_back_from`: information_schema types that read back as this type when no type was recorded;
    - `long_text`: non-key columns are stored unindexed, as values routinely outgrow the indexed limit;
    - `array_match`: `column = ANY(CAST(? AS ARRAY(type)))` matches exactly what `column = ?` matches, and
      stored values compare equal to parameters (see `comparable`);
    - `instant`: stored as epoch milliseconds, sent as ISO text;
    - `converter`: batch-file text -> statement parameter; `reader`: stored value -> Python value;
    - `to_parameter`: stored value (as `read_expression` returns it) -> parameter, when not the value itself;
    - `storage`: the storage variant this row stands for (`FivetranType.storage`), None for the type's own;
    - `column`: the whole-column fast path of `converter` (`fast_columns`), None where there is none.
    """

    data_type: DataType
    cratedb: str
    information_schema: str
    converter: ConverterFactory
    reader: Callable[[Any], Any]
    read_back_from: tuple[str, ...] = ()
    long_text: bool = False
    array_match: bool = False
    instant: bool = False
    to_parameter: Callable[[Any], Any] | None = None
    storage: str | None = None
    column: Callable[[FivetranType], fast_columns.ColumnValues] | None = None


def _same(values: fast_columns.ColumnValues) -> Callable[[FivetranType], fast_columns.ColumnValues]:
    return lambda _ftype: values


def _integers(data_type: DataType) -> Callable[[FivetranType], fast_columns.ColumnValues]:
    return _same(fast_columns.integers(*_INTEGER_RANGES[data_type]))


_ROWS = (
    TypeRow(
        BOOLEAN,
        "BOOLEAN",
        "boolean",
        _fixed(_to_bool),
        bool,
        ("boolean",),
        array_match=True,
        column=_same(fast_columns.booleans),
    ),
    TypeRow(
        SHORT,
        "SMALLINT",
        "smallint",
        _fixed(_integer_converter(SHORT)),
        int,
        ("smallint", "byte"),
        array_match=True,
        column=_integers(SHORT),
    ),
    TypeRow(
        INT,
        "INTEGER",
        "integer",
        _fixed(_integer_converter(INT)),
        int,
        ("integer",),
        array_match=True,
        column=_integers(INT),
    ),
    TypeRow(
        LONG,
        "BIGINT",
        "bigint",
        _fixed(_integer_converter(LONG)),
        int,
        ("bigint",),
        array_match=True,
        column=_integers(LONG),
    ),
    TypeRow(
        DECIMAL,
        "NUMERIC",
        "numeric",
        lambda ftype, _warn: _decimal_converter(ftype),
        lambda value: decimal.Decimal(str(value)),
        ("numeric",),
        column=lambda ftype: fast_columns.decimals(*decimal_params(ftype)),
    ),
    TypeRow(
        FLOAT, "REAL", "real", _fixed(_to_float_text), float, ("real",), column=_same(fast_columns.FLOAT_TEXT)
    ),
    TypeRow(
        DOUBLE,
        "DOUBLE PRECISION",
        "double precision",
        _fixed(_to_float_text),
        float,
        ("double precision",),
        column=_same(fast_columns.FLOAT_TEXT),
    ),
    TypeRow(
        NAIVE_DATE,
        "TIMESTAMP WITHOUT TIME ZONE",
        "timestamp without time zone",
        _fixed(_to_naive_date),
        lambda value: _from_epoch_ms(value).date(),
        ("date",),
        array_match=True,
        instant=True,
        column=_same(fast_columns.dates),
    ),
    TypeRow(
        NAIVE_DATETIME,
        "TIMESTAMP WITHOUT TIME ZONE",
        "timestamp without time zone",
        _fixed(_to_naive_datetime),
        _from_epoch_ms,
        ("timestamp without time zone",),
        array_match=True,
        instant=True,
        column=_same(fast_columns.LOCAL_DATETIMES),
    ),
    TypeRow(
        UTC_DATETIME,
        "TIMESTAMP WITH TIME ZONE",
        "timestamp with time zone",
        _fixed(_to_utc_datetime),
        lambda value: _from_epoch_ms(value).replace(tzinfo=dt.timezone.utc),
        ("timestamp with time zone",),
        array_match=True,
        instant=True,
        column=_same(fast_columns.INSTANTS),
    ),
    TypeRow(
        BINARY,
        "TEXT",
        "text",
        lambda _ftype, warn: _binary_converter(warn),
        base64.b64decode,
        long_text=True,
        column=_same(fast_columns.BASE64),
    ),
    TypeRow(
        XML,
        "TEXT",
        "text",
        _fixed(_identity),
        str,
        long_text=True,
        array_match=True,
        column=_same(fast_columns.identity),
    ),
    TypeRow(
        STRING, "TEXT", "text", _fixed(_identity), str, array_match=True, column=_same(fast_columns.identity)
    ),
    TypeRow(
        JSON,
        "TEXT",
        "text",
        _fixed(_to_json_text),
        json.loads,
        long_text=True,
        column=_same(fast_columns.json_text),
    ),
    TypeRow(
        NAIVE_TIME,
        "TEXT",
        "text",
        _fixed(_to_naive_time),
        _read_time,
        array_match=True,
        column=_same(fast_columns.TIME_OF_DAY),
    ),
)
# Storage variants, chosen per column by a setting and kept in the metadata record (`FivetranType.storage`).
# OBJECT(IGNORED): sub-keys are neither indexed nor typed, so values of mixed types never conflict (CrateDB
# docs general/ddl/data-types "IGNORED"); an OBJECT cannot be a primary key, so key columns stay TEXT.
_VARIANTS = (
    TypeRow(
        JSON,
        "OBJECT(IGNORED)",
        "object",
        _fixed(_to_json_object_text),
        _read_json_object,
        ("object",),
        to_parameter=_object_to_parameter,
        storage=JSON_OBJECT,
    ),
)
REGISTRY: Mapping[DataType, TypeRow] = {row.data_type: row for row in _ROWS}
ALL_TYPES: tuple[DataType, ...] = tuple(REGISTRY)
_BY_STORAGE: Mapping[tuple[DataType, str | None], TypeRow] = {
    (row.data_type, row.storage): row for row in (*_ROWS, *_VARIANTS)
}
_READ_BACK: Mapping[str, FivetranType] = {
    name: FivetranType(row.data_type, storage=row.storage)
    for row in (*_ROWS, *_VARIANTS)
    for name in row.read_back_from
}


def _row(ftype: FivetranType) -> TypeRow | None:
    return _BY_STORAGE.get((ftype.data_type, ftype.storage))


def row_of(ftype: FivetranType) -> TypeRow:
    row = _row(ftype)
    if row is None:
        raise UserActionRequired(f"unsupported data type {type_name(ftype.data_type)}")
    return row


def storage_variants(data_type: DataType) -> tuple[str, ...]:
    """The storage variants a DataType has besides its own row (JSON: `JSON_OBJECT`)."""
    return tuple(row.storage for row in _VARIANTS if row.data_type == data_type and row.storage)


def with_json_storage(spec: ColumnSpec, json_storage: str) -> ColumnSpec:
    """A column Fivetran defines, with the storage the `json_storage` setting gives a new JSON column:
    `JSON_OBJECT` for non-key JSON columns in object mode (an OBJECT cannot be a primary key), else the
    type's own row. Other types are returned unchanged."""
    if spec.type.data_type != JSON:
        return spec
    wanted = JSON_OBJECT if json_storage == JSON_OBJECT and not spec.primary_key else None
    if spec.type.storage == wanted:
        return spec
    return replace(spec, type=replace(spec.type, storage=wanted))


def keep_json_storage(wanted: ColumnSpec, current: ColumnSpec) -> ColumnSpec:
    """`wanted` (a redefinition of `current`) with `current`'s storage while both are the same type and
    the storage can hold it: a table created in one `json_storage` mode keeps it when the setting changes."""
    if wanted.type.data_type != current.type.data_type or wanted.type.storage == current.type.storage:
        return wanted
    storage = current.type.storage
    if storage == JSON_OBJECT and wanted.primary_key:
        return wanted
    return replace(wanted, type=replace(wanted.type, storage=storage))


def sql_type(ftype: FivetranType) -> str:
    """The CrateDB type, usable in CREATE TABLE and in CAST."""
    if ftype.data_type == DECIMAL:
        precision, scale = decimal_params(ftype)
        return f"NUMERIC({precision}, {scale})"
    return row_of(ftype).cratedb


def information_schema_type(ftype: FivetranType) -> str:
    """How information_schema.columns reports the CrateDB column created for `ftype`."""
    return row_of(ftype).information_schema


def infer_type(information_schema_data_type: str) -> FivetranType:
    """Best Fivetran type for a CrateDB column without recorded metadata; unknown kinds read as STRING
    (an OBJECT column reads as JSON stored as object)."""
    return _READ_BACK.get(information_schema_data_type.lower(), FivetranType(STRING))


def text_backed(ftype: FivetranType) -> bool:
    """Whether CrateDB stores the type as TEXT (and so applies the indexed-text limit to its values)."""
    row = _row(ftype)
    return row is not None and row.cratedb == "TEXT"


def array_matchable(ftype: FivetranType) -> bool:
    """Whether key values of this type can be matched with `= ANY(array parameter)` (see `TypeRow`)."""
    row = _row(ftype)
    return row is not None and row.array_match


def is_timestamp(ftype: FivetranType) -> bool:
    row = _row(ftype)
    return row is not None and row.instant


def unlimited_text(spec: ColumnSpec) -> bool:
    """Whether the column is stored unindexed so values over 32,766 bytes fit (never for key columns)."""
    if spec.primary_key or not text_backed(spec.type):
        return False
    if spec.long_text or row_of(spec.type).long_text:
        return True
    length = spec.type.string_byte_length
    return spec.type.data_type == STRING and length is not None and length > MAX_INDEXED_TEXT_BYTES


def text_bytes_over_limit(value: str) -> int | None:
    """The UTF-8 length of a text value too long for an indexed column, else None (cheap for short text)."""
    if len(value) * 4 <= MAX_INDEXED_TEXT_BYTES:  # no code point takes more than 4 bytes
        return None
    size = len(value.encode("utf-8", "surrogatepass"))
    return size if size > MAX_INDEXED_TEXT_BYTES else None


def column_ddl(spec: ColumnSpec) -> str:
    """Type and storage clause of a column definition (without the name)."""
    ddl = sql_type(spec.type)
    if unlimited_text(spec):
        ddl += " " + UNLIMITED_TEXT_STORAGE
    return ddl


def value_converter(ftype: FivetranType, on_invalid_base64: Callable[[], None] | None = None) -> Converter:
    """Function from a non-NULL batch-file cell to the parameter value for a column of type `ftype`.

    It raises ConversionError for cells that do not fit the type. `on_invalid_base64` is called when a
    BINARY cell is not base64 (the value is then stored as the base64 of its UTF-8 text).
    """
    row = _row(ftype)
    if row is None:
        raise ConversionError(f"unsupported data type {type_name(ftype.data_type)}")
    return row.converter(ftype, on_invalid_base64 or (lambda: None))


def column_converter(ftype: FivetranType) -> fast_columns.ColumnValues | None:
    """The whole-column fast path of `value_converter(ftype)` (see `fast_columns`), None where there is
    none: a column it returns None for is converted cell by cell."""
    row = _row(ftype)
    return None if row is None or row.column is None else fast_columns.by_distinct(row.column(ftype))


def read_value(ftype: FivetranType, value: Any) -> Any:
    """Python value of the Fivetran type for a value CrateDB returned via `read_expression` (None stays)."""
    if value is None:
        return None
    return row_of(ftype).reader(value)


def stored_to_parameter(ftype: FivetranType, value: Any) -> Any:
    """A value as CrateDB returned it (see `read_expression`) as a statement parameter."""
    if value is None:
        return None
    to_parameter = row_of(ftype).to_parameter
    if to_parameter is not None:
        return to_parameter(value)
    if not is_timestamp(ftype) or isinstance(value, str):
        return value
    return timestamps.iso_ms(int(value), zone=ftype.data_type == UTC_DATETIME)


def convert_expression(quoted_column: str, source: FivetranType, target: FivetranType) -> str:
    """SELECT expression giving a column stored as `source` the storage of `target` (table rebuilds).

    Into JSON stored as object: text that looks like a JSON object without the envelope's key is cast
    (CrateDB parses it: CrateDB source ObjectType.java, `mapFromJSON`), anything else goes into the
    envelope as its text. Out of it: the envelope's text, or the object as JSON text (CrateDB's
    object-to-text cast), then cast on.
    Sub-keys of an OBJECT(IGNORED) column that a row lacks read as NULL (CrateDB docs config/session,
    `error_on_unknown_object_key` applies to dynamic objects only)."""
    into, out_of = row_of(target), row_of(source)
    if into.storage == JSON_OBJECT and out_of.storage != JSON_OBJECT:
        text = quoted_column if out_of.cratedb == "TEXT" else f"CAST({quoted_column} AS TEXT)"
        return (
            f"CASE WHEN {text} IS NULL THEN NULL "
            f"WHEN substr(trim({text}), 1, 1) = '{{' AND {text} NOT LIKE '%\"{JSON_ENVELOPE}\"%' "
            f"THEN CAST({text} AS {into.cratedb}) "
            f'ELSE CAST({{"{JSON_ENVELOPE}" = {text}}} AS {into.cratedb}) END'
        )
    if out_of.storage == JSON_OBJECT and into.storage != JSON_OBJECT:
        inner = f"{quoted_column}['{JSON_ENVELOPE}']"
        text = f"CASE WHEN {inner} IS NULL THEN CAST({quoted_column} AS TEXT) ELSE CAST({inner} AS TEXT) END"
        return text if into.cratedb == "TEXT" else f"CAST(({text}) AS {sql_type(target)})"
    return f"CAST({quoted_column} AS {sql_type(target)})"


def comparable(ftype: FivetranType, value: Any) -> Any:
    """One form for a key value, whether it is a parameter or a value CrateDB returned."""
    if value is None:
        return None
    if is_timestamp(ftype):
        return timestamps.epoch_ms(value) if isinstance(value, str) else int(value)
    if ftype.data_type == DECIMAL:
        return decimal.Decimal(str(value))
    if ftype.data_type in (FLOAT, DOUBLE):
        return float(value)
    return value


def format_timestamp(value: dt.datetime) -> str:
    """An aware datetime as the ISO text sent to CrateDB for a TIMESTAMP WITH TIME ZONE parameter."""
    utc = value.astimezone(dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
