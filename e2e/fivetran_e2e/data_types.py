"""Fivetran's DataTypes as the e2e harness knows them: one row (`TypeRow`) per type, read by every module.

A row says what Fivetran and the warehouse do with a type: the batch-file text Fivetran writes for a
recorded cell, the scenario model's canonical value, how warehouse.db (DuckDB) and CrateDB values are
normalised for comparison, which DuckDB and CrateDB column types stand for it. Adding a DataType means
adding a row here (and one in the destination's `cratedb_destination.type_mapping`).

The harness is an oracle of the destination, so this module never imports the destination's type
knowledge: everything here comes from Fivetran's SDK documents, the destination tester and DuckDB.
Type numbers and names are the proto's own (`common_pb2.DataType`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
import math
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any, NamedTuple, Protocol

from fivetran_proto import common_pb2

from . import years
from .operations import Cell, CellKind

DataType = int
"""A `common_pb2.DataType` number."""


def type_name(data_type: DataType) -> str:
    return common_pb2.DataType.Name(data_type)


class FivetranType(NamedTuple):
    """A column type as the harness sends it: the DataType plus DECIMAL's params."""

    type: DataType
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        if self.type == common_pb2.DECIMAL:
            return f"DECIMAL({self.precision},{self.scale})"
        return type_name(self.type)


class Params(Protocol):
    """What a value conversion may need of a column besides its type (model `Column` or `FivetranType`)."""

    @property
    def precision(self) -> int | None: ...

    @property
    def scale(self) -> int | None: ...


class CellConversionError(ValueError):
    """A recorded value does not fit the column type; the message names the type, never the value."""


class ScenarioError(ValueError):
    """The scenario is malformed, or relies on something the protocol leaves unspecified."""


# ---------------------------------------------------------------------------------------------------------
# Recorded cell -> batch-file text (what Fivetran writes for the SDK's encoded cell)
# ---------------------------------------------------------------------------------------------------------

_TRUE = frozenset({"true", "t", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "f", "0", "no", "n", "off"})
_CSV_BOOLEANS = frozenset({"true", "false"})
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


def parse_iso(text: str) -> tuple[dt.datetime, bool, bool]:
    """(datetime, had a time part, had a zone); aware inputs come back in UTC, fractions cut to µs."""
    match = _ISO.match(text.strip())
    if not match:
        raise CellConversionError("not an ISO-8601 date or timestamp")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    value = dt.datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
    )
    if zone:
        if zone in ("Z", "z"):
            offset = dt.timedelta(0)
        else:
            digits = zone[1:].replace(":", "")
            offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            if zone[0] == "-":
                offset = -offset
        value = (value - offset).replace(tzinfo=None)
    return value, hour is not None, zone is not None


def _parse_any_year(text: str) -> tuple[dt.datetime, int]:
    """`parse_iso` for any year: a date before year 1 is parsed 400*n years later (see `years`)."""
    shifted, shift = years.into_range(text)
    return parse_iso(shifted)[0], shift


def format_naive(value: dt.datetime) -> str:
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


def _decimal_params(column: Params) -> tuple[int, int]:
    """A DECIMAL column's (precision, scale); Fivetran's default when none are given."""
    return column.precision or 38, column.scale or 0


def _fits_decimal(text: str, precision: int, scale: int) -> bool:
    """Plain digits already exact at `scale` and short enough: sent as written (nothing to round)."""
    match = _PLAIN_DECIMAL.match(text)
    if match is None:
        return False
    return len(match.group(1) or "") <= precision - scale and len(match.group(2) or "") <= scale


def _csv_boolean(text: str, _column: Params) -> str:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return "true"
    if lowered in _FALSE:
        return "false"
    raise CellConversionError("not a boolean")


def _boolean_as(text: str, true: str, false: str) -> str | None:
    """A boolean text as a number (the tester widens a boolean column that later holds numbers)."""
    lowered = text.lower()
    return (true if lowered == "true" else false) if lowered in _CSV_BOOLEANS else None


def _csv_integer(text: str, _column: Params) -> str:
    stripped = text.strip()
    if _INTEGER.match(stripped):
        return str(int(stripped))
    number = _boolean_as(stripped, "1", "0")
    if number is not None:
        return number
    try:
        value = Decimal(stripped)
    except InvalidOperation:
        raise CellConversionError("not an integer") from None
    if value.is_finite() and value == value.to_integral_value():
        return str(int(value))
    raise CellConversionError("not an integer")


def _csv_floating(text: str, _column: Params) -> str | None:
    stripped = text.strip()
    number = _boolean_as(stripped, "1.0", "0.0")
    if number is not None:
        return number
    try:
        value = float(stripped)
    except ValueError:
        raise CellConversionError("not a floating-point number") from None
    if math.isnan(value):
        return None  # the tester stores NaN as NULL
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return stripped


def _csv_decimal(text: str, column: Params) -> str | None:
    precision, scale = _decimal_params(column)
    return text if _fits_decimal(text, precision, scale) else round_decimal(text, precision, scale)


def _csv_date(text: str, _column: Params) -> str:
    if _CANONICAL_DATE.match(text):
        return text
    value, shift = _parse_any_year(text)
    return years.shifted_back(dt.date(value.year, value.month, value.day).isoformat(), shift)


def _csv_naive_datetime(text: str, _column: Params) -> str:
    if _CANONICAL_NAIVE.match(text):
        return text
    value, shift = _parse_any_year(text)
    return years.shifted_back(format_naive(value), shift)


def _csv_utc_datetime(text: str, _column: Params) -> str:
    if _CANONICAL_UTC.match(text):
        return text
    value, shift = _parse_any_year(text)
    return years.shifted_back(format_naive(value), shift) + "Z"


CsvConverter = Callable[[Cell, FivetranType], "str | None"]
"""A non-NULL recorded cell -> its batch-file text in a column of the type (None: NULL)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _csv_text(cell: Cell, _column: FivetranType) -> str:
    """Free text: a text cell as it is, binary as base64 (Fivetran's encoding of bytes)."""
    return _b64(cell.data or b"") if cell.kind is CellKind.BINARY else cell.text or ""


def _csv_unchecked(cell: Cell, column: FivetranType) -> str:
    """Text kept as it is, but bytes make no value of the type."""
    if cell.kind is CellKind.BINARY:
        raise CellConversionError(f"binary value in a {column} column")
    return cell.text or ""


def _csv_json(cell: Cell, _column: FivetranType) -> str:
    """JSON and numbers are JSON text already; other text and base64 bytes become JSON strings."""
    if cell.kind is CellKind.BINARY:
        return json.dumps(_b64(cell.data or b""))
    text = cell.text or ""
    return text if cell.kind in (CellKind.JSON, CellKind.FLOAT, CellKind.DOUBLE) else json.dumps(text)


def _csv_binary(cell: Cell, _column: FivetranType) -> str:
    """Base64 of the bytes; text stands for its UTF-8 bytes."""
    data = (cell.data or b"") if cell.kind is CellKind.BINARY else (cell.text or "").encode("utf-8")
    return _b64(data)


def _csv_parsed(parse: Callable[[str, FivetranType], str | None]) -> CsvConverter:
    """A type whose text must parse: bytes do not fit, and an empty text holds no value (NULL)."""

    def convert(cell: Cell, column: FivetranType) -> str | None:
        text = _csv_unchecked(cell, column)
        return None if text.strip() == "" else parse(text, column)

    return convert


CsvReady = Callable[[FivetranType], Callable[[str], object]]
"""Column type -> a test that text is already in the column's batch-file form (the replay's fast path)."""


def _ready_if(pattern: re.Pattern[str]) -> CsvReady:
    return lambda _column: pattern.match


def _ready_decimal(column: FivetranType) -> Callable[[str], object]:
    precision, scale = _decimal_params(column)
    return functools.partial(_fits_decimal, precision=precision, scale=scale)


# ---------------------------------------------------------------------------------------------------------
# Scenario value -> the model's canonical value (comparable with what CrateDB holds)
# ---------------------------------------------------------------------------------------------------------
# BOOLEAN bool; SHORT/INT/LONG int; DECIMAL `Decimal`; FLOAT a float rounded to 32 bits; DOUBLE float;
# NAIVE_DATE/NAIVE_DATETIME/UTC_DATETIME epoch milliseconds (a date is its UTC midnight; digits below the
# millisecond are dropped); BINARY bytes; STRING/XML/JSON str (JSON compared by parsed value); NAIVE_TIME
# `datetime.time`.

_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,9}))?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_TIME = re.compile(r"(?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,9}))?)?$")
_EPOCH_DATE = dt.date(1970, 1, 1)
_MS_PER_DAY = 86_400_000


def epoch_ms(text: str, *, zone_allowed: bool = True) -> int:
    """Milliseconds since the epoch of an ISO-8601 date or date-time; no zone means UTC (floor to ms)."""
    match = _TIMESTAMP.match(text.strip())
    if not match:
        raise ScenarioError(f"{text!r} is not an ISO-8601 date or timestamp")
    if match["tz"] and not zone_allowed:
        raise ScenarioError(f"{text!r}: a naive date-time must not carry a zone")
    date_text, shift = years.into_range(match["date"])
    try:
        days = (dt.date.fromisoformat(date_text) - _EPOCH_DATE).days
        days -= shift // years.CYCLE_YEARS * years.CYCLE_DAYS
    except ValueError as error:
        raise ScenarioError(f"{text!r}: {error}") from None
    ms = days * _MS_PER_DAY
    ms += int(match["h"] or 0) * 3_600_000 + int(match["m"] or 0) * 60_000 + int(match["s"] or 0) * 1000
    ms += int((match["f"] or "").ljust(3, "0")[:3])
    zone = match["tz"]
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        ms -= sign * (int(digits[:2]) * 3_600_000 + int(digits[2:]) * 60_000)
    return ms


def sub_millisecond_digits(text: str) -> str:
    """The fraction digits of an ISO-8601 date-time beyond the millisecond, without trailing zeros: what
    `epoch_ms` drops ("" when there are none, or when `text` is not a timestamp)."""
    match = _TIMESTAMP.match(text.strip())
    return "" if match is None else (match["f"] or "")[3:].rstrip("0")


def parse_time(text: str) -> dt.time:
    match = _TIME.match(text.strip())
    if not match:
        raise ScenarioError(f"{text!r} is not an ISO-8601 time of day")
    micros = int((match["f"] or "").ljust(6, "0")[:6])
    return dt.time(int(match["h"]), int(match["m"]), int(match["s"] or 0), micros)


def float32(value: float) -> float:
    try:
        return float(struct.unpack("<f", struct.pack("<f", value))[0])
    except OverflowError:
        raise ValueError("does not fit a 32-bit FLOAT") from None


def binary_bytes(text: str) -> bytes:
    """BINARY travels as base64 text (SDK guide, "CSV"); text that is not base64 stands for its UTF-8
    bytes."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode("utf-8")


def json_text(value: Any) -> str:
    """JSON column values: a string is JSON text already; anything else is serialised."""
    if isinstance(value, str):
        return value
    return json.dumps(_plain_json(value), ensure_ascii=False)


def _plain_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, dict):
        return {key: _plain_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_json(item) for item in value]
    return value


def sorted_json(value: Any, *, ensure_ascii: bool = True) -> str:
    """JSON text in one form per parsed value (keys sorted, no spaces); raises TypeError/ValueError."""
    return json.dumps(json.loads(value), sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii)


Canonical = Callable[[Any, Params], Any]
"""A non-NULL scenario value (or its batch-file text) -> the model's value; raises ValueError if it does
not fit."""


def _model_boolean(value: Any, _column: Params) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() not in ("true", "false"):
        raise ValueError("not a boolean")
    return str(value).lower() == "true"


def _model_integer(bits: int) -> Canonical:
    def convert(value: Any, _column: Params) -> int:
        if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", str(value)):
            raise ValueError("not an integer")
        number = int(str(value))
        if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
            raise ValueError("out of range")
        return number

    return convert


def _model_decimal(value: Any, column: Params) -> Decimal:
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError("not a finite decimal")
    if column.precision is not None and column.scale is not None:
        # More decimals than the scale: rounded half away from zero, as DuckDB's DECIMAL cast (and so the
        # warehouse `fivetran debug` writes) does; then the integer digits must fit.
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > column.scale:
            number = number.quantize(Decimal(1).scaleb(-column.scale), rounding=ROUND_HALF_UP)
        integer_digits = len(str(abs(int(number)))) if int(number) else 0
        if integer_digits > column.precision - column.scale:
            raise ValueError(f"does not fit DECIMAL({column.precision},{column.scale})")
    return number


def _model_json(value: Any, _column: Params) -> str:
    text = json_text(value)
    json.loads(text)  # must be valid JSON
    return text


def _model_json_key(value: Any) -> Any:
    """JSON compared by parsed value."""
    try:
        return sorted_json(value)
    except (TypeError, ValueError):
        return ("invalid JSON", value)


def _model_from(convert: Callable[[str], Any]) -> Canonical:
    return lambda value, _column: convert(str(value))


# ---------------------------------------------------------------------------------------------------------
# Comparison: warehouse.db and CrateDB values -> one form per value
# ---------------------------------------------------------------------------------------------------------
# Timestamps to whole milliseconds (CrateDB keeps milliseconds; finer digits are truncated); FLOAT to
# float32 (the tester and CrateDB's REAL are both 32-bit); DECIMAL to `Decimal` at the column's scale;
# JSON to its canonical text; BINARY to bytes (CrateDB holds base64 text); NAIVE_DATE to a date (CrateDB
# holds midnight of that day); NAIVE_TIME to ISO time text.

Normalizer = Callable[[Any], Any]
NormalizerFactory = Callable[[FivetranType], Normalizer]
EPOCH = dt.datetime(1970, 1, 1)
_DECIMALS = Context(prec=100)  # NUMERIC holds up to 38 digits; the default context keeps only 28


def _float32(value: Any) -> Any:
    if value is None:
        return None
    number = float(value)
    try:
        return struct.unpack("f", struct.pack("f", number))[0]
    except OverflowError:
        return float("inf") if number > 0 else float("-inf")


def _double(value: Any) -> Any:
    return None if value is None else float(value)


def _integer(value: Any) -> Any:
    return None if value is None else int(value)


def _boolean(value: Any) -> Any:
    return None if value is None else bool(value)


def _text(value: Any) -> Any:
    return None if value is None else str(value)


def _decimal(column: FivetranType) -> Normalizer:
    """`Decimal` at the column's scale (CrateDB NUMERIC is read as text, so it stays exact)."""
    quantum = Decimal(1).scaleb(-(column.scale or 0))

    def normalize(value: Any) -> Any:
        if value is None:
            return None
        try:
            return Decimal(str(value)).quantize(quantum, context=_DECIMALS)
        except InvalidOperation:
            return ("not a decimal", str(value))

    return normalize


# The destination's documented envelope for JSON values an OBJECT column cannot hold as they are
# (docs/types.md "JSON as OBJECT", `json_storage = object`): {"_fivetran_json": "<the value's JSON text>"}.
OBJECT_ENVELOPE = "_fivetran_json"


def json_from_cratedb(value: Any) -> Any:
    """A JSON column's value as CrateDB returns it, as JSON text: TEXT columns hold the text; OBJECT
    columns hold a JSON object (returned parsed) or the envelope holding the text of any other value."""
    if isinstance(value, dict):
        inner = value.get(OBJECT_ENVELOPE)
        if len(value) == 1 and isinstance(inner, str):
            return inner
        return json.dumps(value, ensure_ascii=False)
    return value


def _json(value: Any) -> Any:
    if value is None:
        return None
    try:
        return sorted_json(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return ("not JSON", str(value))


def _json_cratedb(value: Any) -> Any:
    return _json(json_from_cratedb(value))


def _micros_to_millis(value: Any) -> Any:
    return None if value is None else int(value) // 1000


def _millis(value: Any) -> Any:
    return None if value is None else int(value)


def _date_from_date(value: Any) -> Any:
    return None if value is None else dt.date(value.year, value.month, value.day)


def _date_from_millis(value: Any) -> Any:
    if value is None:
        return None
    moment = EPOCH + dt.timedelta(milliseconds=int(value))
    return moment.date() if moment.time() == dt.time(0) else moment


def _time_text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dt.time):
        return value.isoformat()
    try:
        return dt.time.fromisoformat(str(value)).isoformat()
    except ValueError:
        return str(value)


def _bytes(value: Any) -> Any:
    return None if value is None else bytes(value)


def _base64(value: Any) -> Any:
    if value is None:
        return None
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return ("not base64", str(value))


def _fixed(normalize: Normalizer) -> NormalizerFactory:
    return lambda _column: normalize


# ---------------------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeRow:
    """What the harness knows of one Fivetran DataType.

    Batch files (the replay of recorded cells):
    - `to_csv`: a non-NULL recorded cell -> the text Fivetran writes for it;
    - `csv_ready`: a test that text is in that form already (skips `to_csv`), or None;
    - `verbatim`: a text cell is its own batch-file text, always.

    Scenario model (`model.py`, `scenarios.py`):
    - `canonical`: scenario value -> the model's value (None: not a type scenarios use);
    - `from_cratedb`: CrateDB's value over HTTP -> the model's value (None: `canonical` reads it);
    - `model_key`: the model's value -> the form rows are compared in (None: as it is);
    - `cell_text`: scenario value -> batch-file text (None: the generic spelling of JSON scalars).

    warehouse.db (DuckDB) and CrateDB:
    - `duckdb`: DuckDB column types of warehouse.db that stand for the type;
    - `duckdb_select`: SELECT expression template for a quoted column (timestamps as epoch µs);
    - `from_varchar`: warehouse.db may hold it as VARCHAR, so a declaration of it refines STRING;
    - `cratedb`: the information_schema data_type of the CrateDB column (the documented mapping);
    - `cratedb_also`: data_types of the other storages the destination documents (JSON: `object` with
      `json_storage = object`);
    - `cratedb_as_text`: CrateDB values are selected as TEXT (JSON numbers would lose digits);
    - `warehouse`, `cratedb_side`: per column type, the normaliser of each side's values;
    - `as_returned`: both drivers return values already comparable (no per-cell normalising).

    Kinds: `integer`, `floating`, `instant` (epoch milliseconds in the model and in CrateDB), `zoned`
    (an instant in UTC), `text` (free text); `declarable`: a Connector SDK `schema()` may declare it.
    """

    data_type: DataType
    to_csv: CsvConverter
    warehouse: NormalizerFactory
    cratedb_side: NormalizerFactory
    cratedb: str
    duckdb: tuple[str, ...] = ()
    csv_ready: CsvReady | None = None
    verbatim: bool = False
    canonical: Canonical | None = None
    from_cratedb: Callable[[Any], Any] | None = None
    model_key: Callable[[Any], Any] | None = None
    cell_text: Callable[[Any], str] | None = None
    duckdb_select: str = "{}"
    from_varchar: bool = False
    cratedb_as_text: bool = False
    cratedb_also: tuple[str, ...] = ()
    as_returned: bool = False
    integer: bool = False
    floating: bool = False
    instant: bool = False
    zoned: bool = False
    text: bool = False
    declarable: bool = True

    @property
    def name(self) -> str:
        return type_name(self.data_type)


def _integer_row(data_type: DataType, bits: int, duckdb: tuple[str, ...], cratedb: str) -> TypeRow:
    return TypeRow(
        data_type,
        _csv_parsed(_csv_integer),
        _fixed(_integer),
        _fixed(_integer),
        cratedb,
        duckdb,
        csv_ready=_ready_if(_CANONICAL_INTEGER),
        canonical=_model_integer(bits),
        as_returned=True,
        integer=True,
    )


def _text_row(data_type: DataType, duckdb: tuple[str, ...], **flags: Any) -> TypeRow:
    return TypeRow(
        data_type,
        _csv_text,
        _fixed(_text),
        _fixed(_text),
        "text",
        duckdb,
        verbatim=True,
        canonical=_model_from(str),
        from_cratedb=str,
        as_returned=True,
        text=True,
        **flags,
    )


_EPOCH_US = "epoch_us({})"
_ROWS = (
    # Untyped key columns of a connector's declaration; the batch file carries the text as it is.
    TypeRow(
        common_pb2.UNSPECIFIED,
        _csv_text,
        _fixed(_text),
        _fixed(_text),
        "text",
        verbatim=True,
        declarable=False,
    ),
    TypeRow(
        common_pb2.BOOLEAN,
        _csv_parsed(_csv_boolean),
        _fixed(_boolean),
        _fixed(_boolean),
        "boolean",
        ("BOOLEAN",),
        csv_ready=lambda _column: _CSV_BOOLEANS.__contains__,
        canonical=_model_boolean,
        as_returned=True,
    ),
    _integer_row(common_pb2.SHORT, 16, ("TINYINT", "SMALLINT"), "smallint"),
    _integer_row(common_pb2.INT, 32, ("INTEGER",), "integer"),
    _integer_row(common_pb2.LONG, 64, ("BIGINT",), "bigint"),
    TypeRow(
        common_pb2.DECIMAL,
        _csv_parsed(_csv_decimal),
        _decimal,
        _decimal,
        "numeric",
        csv_ready=_ready_decimal,
        canonical=_model_decimal,
        from_cratedb=lambda value: Decimal(str(value)),
        cratedb_as_text=True,
    ),
    TypeRow(
        common_pb2.FLOAT,
        _csv_parsed(_csv_floating),
        _fixed(_float32),
        _fixed(_float32),
        "real",
        ("FLOAT",),
        canonical=_model_from(lambda text: float32(float(text))),
        from_cratedb=lambda value: float32(float(value)),
        floating=True,
    ),
    TypeRow(
        common_pb2.DOUBLE,
        _csv_parsed(_csv_floating),
        _fixed(_double),
        _fixed(_double),
        "double precision",
        ("DOUBLE",),
        canonical=_model_from(float),
        from_cratedb=float,
        floating=True,
    ),
    TypeRow(
        common_pb2.NAIVE_DATE,
        _csv_parsed(_csv_date),
        _fixed(_date_from_date),
        _fixed(_date_from_millis),
        "timestamp without time zone",
        ("DATE",),
        csv_ready=_ready_if(_CANONICAL_DATE),
        canonical=_model_from(lambda text: epoch_ms(text[:10], zone_allowed=False)),
        from_cratedb=int,
        instant=True,
    ),
    TypeRow(
        common_pb2.NAIVE_DATETIME,
        _csv_parsed(_csv_naive_datetime),
        _fixed(_micros_to_millis),
        _fixed(_millis),
        "timestamp without time zone",
        ("TIMESTAMP",),
        csv_ready=_ready_if(_CANONICAL_NAIVE),
        canonical=_model_from(lambda text: epoch_ms(text, zone_allowed=False)),
        from_cratedb=int,
        duckdb_select=_EPOCH_US,
        instant=True,
    ),
    TypeRow(
        common_pb2.UTC_DATETIME,
        _csv_parsed(_csv_utc_datetime),
        _fixed(_micros_to_millis),
        _fixed(_millis),
        "timestamp with time zone",
        ("TIMESTAMP WITH TIME ZONE",),
        csv_ready=_ready_if(_CANONICAL_UTC),
        canonical=_model_from(epoch_ms),
        from_cratedb=int,
        duckdb_select=_EPOCH_US,
        instant=True,
        zoned=True,
    ),
    TypeRow(
        common_pb2.BINARY,
        _csv_binary,
        _fixed(_bytes),
        _fixed(_base64),
        "text",
        ("BLOB",),
        canonical=_model_from(binary_bytes),
        from_cratedb=lambda value: binary_bytes(str(value)),
    ),
    _text_row(common_pb2.XML, (), from_varchar=True),
    _text_row(common_pb2.STRING, ("VARCHAR",)),
    TypeRow(
        common_pb2.JSON,
        _csv_json,
        _fixed(_json),
        _fixed(_json_cratedb),
        "text",
        ("JSON",),
        cratedb_also=("object",),
        canonical=_model_json,
        from_cratedb=json_from_cratedb,
        model_key=_model_json_key,
        cell_text=json_text,
    ),
    TypeRow(
        common_pb2.NAIVE_TIME,
        _csv_unchecked,
        _fixed(_time_text),
        _fixed(_time_text),
        "text",
        ("TIME",),
        verbatim=True,
        canonical=_model_from(parse_time),
        from_cratedb=lambda value: parse_time(str(value)),
        from_varchar=True,
        declarable=False,  # the Connector SDK cannot declare it
    ),
)
REGISTRY: Mapping[DataType, TypeRow] = {row.data_type: row for row in _ROWS}
_BY_NAME: Mapping[str, TypeRow] = {row.name: row for row in _ROWS}
SCENARIO_TYPES: tuple[str, ...] = tuple(row.name for row in _ROWS if row.canonical is not None)
"""The DataType names a scenario file may use (every type but UNSPECIFIED)."""
_BY_DUCKDB: Mapping[str, TypeRow] = {name: row for row in _ROWS for name in row.duckdb}
_DUCKDB_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


def row_of(data_type: DataType) -> TypeRow:
    return REGISTRY[data_type]


def row_named(name: str) -> TypeRow:
    """The row of a DataType name (a scenario's or the model's spelling of a type)."""
    return _BY_NAME[name]


def declarable_number(name: str) -> DataType | None:
    """The DataType number of a name a Connector SDK `schema()` may declare, else None."""
    row = _BY_NAME.get(name)
    return row.data_type if row is not None and row.declarable else None


def from_duckdb(duckdb_type: str) -> FivetranType:
    """The Fivetran type a DuckDB column type of warehouse.db stands for."""
    normalized = duckdb_type.strip().upper()
    match = _DUCKDB_DECIMAL.match(normalized)
    if match:
        return FivetranType(common_pb2.DECIMAL, int(match.group(1)), int(match.group(2)))
    if normalized == "HUGEINT":  # 128-bit integers: the widest DECIMAL holds them
        return FivetranType(common_pb2.DECIMAL, 38, 0)
    row = _BY_DUCKDB.get(normalized)
    if row is None:
        raise ValueError(f"DuckDB type {duckdb_type!r} has no Fivetran counterpart in the harness")
    return FivetranType(row.data_type)


def duckdb_select(duckdb_type: str, quoted_column: str) -> str:
    """How to SELECT a warehouse.db column so that its values meet the type's warehouse normaliser."""
    row = _BY_DUCKDB.get(duckdb_type.strip().upper())
    return quoted_column if row is None else row.duckdb_select.format(quoted_column)
