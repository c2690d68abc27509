"""Whole-column versions of the cast layer for the value shapes bulk clients send.

`casts.caster` converts one value at a time; for 10,000-row requests that per-value Python work dominated
the emulator's time. `cast_column` converts a column with Arrow compute when every value has a shape whose
result is certain (ISO timestamps, plain decimal and float texts, values already in storage form) and
returns the storage values as an Arrow array: ints, floats, strings, booleans, decimals and epoch
milliseconds, exactly what the per-value casts produce. Values of other shapes go through the per-value
caster (for a whole column, or only for the rows the fast path could not take), so results and errors are
the same either way; tests compare both paths value by value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from . import casts, errors, versions
from . import types as t
from .types import CrateType
from .versions import Version

# The common ISO-8601 form: 4-digit year, optional time, optional offset in hours and minutes. Texts that
# match it and pass the range checks below mean the same to CrateDB's parser, fromisoformat and the
# arithmetic here; everything else is left to casts.parse_timestamp.
_ISO_TIMESTAMP = (
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,9}))?)?"
    r"(?P<z>Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
# Whole times with at most milliseconds, in UTC ("Z") or without a zone: what clients send most. Arrow's
# ISO-8601 parser reads these exactly like CrateDB (it rejects impossible dates and times too).
_ISO_MILLIS = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z?$"
# Texts with a full time of day: the fields up to the seconds sit at fixed positions.
_ISO_FULL_TIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}(?::?\d{2})?)?$"
_ISO_TAIL = r"^(?:\.(?P<f>\d{1,9}))?(?P<z>Z|[+-]\d{2}(?::?\d{2})?)?$"
_DAYS_IN_MONTH = pa.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], type=pa.int64())
# Float texts CrateDB and Arrow read alike (no `d`/`f` suffix, no NaN/Infinity words).
_FLOAT_TEXT = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_REAL_OVERFLOW = casts.REAL_OVERFLOW


def cast_column(
    ctype: CrateType, raw: list[Any], version: Version
) -> tuple[pa.Array, dict[int, errors.CrateError]] | None:
    """Storage values of a column plus per-row cast failures (rows stored as NULL), or None when the
    column needs the per-value path."""
    kind = ctype.kind
    if kind not in _FAST_KINDS:
        return None
    try:
        array = pa.array(raw)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError, ValueError):
        return None
    source = array.type
    if pa.types.is_null(source):
        return array, {}
    if pa.types.is_floating(source) and bool in set(map(type, raw)):
        return None  # Arrow reads [1.5, True] as doubles; the caster rejects booleans in numbers
    if kind in t.TEXT_KINDS:
        return (array, {}) if kind == t.TEXT and pa.types.is_string(source) else None
    if kind == t.BOOLEAN:
        return (array, {}) if pa.types.is_boolean(source) else None
    if kind in t.INTEGER_KINDS:
        return _integers(array, kind)
    if kind in t.FLOAT_KINDS:
        return _floats(array, kind, raw, ctype, version)
    if kind in t.TIMESTAMP_KINDS:
        return _timestamps(array, kind == t.TIMESTAMPTZ, raw, ctype, version)
    if kind == t.NUMERIC:
        return _numerics(array, ctype, version)
    return None


_FAST_KINDS = frozenset({t.TEXT, t.BOOLEAN, *t.INTEGER_KINDS, *t.FLOAT_KINDS, *t.TIMESTAMP_KINDS, t.NUMERIC})


def _within(array: pa.Array, low: int, high: int) -> bool:
    bounds = pc.min_max(array)
    low_value, high_value = bounds["min"].as_py(), bounds["max"].as_py()
    return low_value is None or (low <= low_value and high_value <= high)


def _integers(array: pa.Array, kind: str) -> tuple[pa.Array, dict[int, errors.CrateError]] | None:
    if not pa.types.is_int64(array.type):
        return None
    low, high = t.INTEGER_RANGES[kind]
    return (array, {}) if _within(array, low, high) else None


def _floats(
    array: pa.Array, kind: str, raw: list[Any], ctype: CrateType, version: Version
) -> tuple[pa.Array, dict[int, errors.CrateError]] | None:
    source = array.type
    covered: pa.Array | None = None
    if pa.types.is_int64(source):
        values = pc.cast(array, pa.float64(), safe=False)  # float(int) rounds to nearest, like the caster
    elif pa.types.is_float64(source):
        values = array
    elif pa.types.is_string(source):
        covered = pc.match_substring_regex(array, _FLOAT_TEXT)  # Arrow and Python both round correctly
        values = pc.cast(pc.if_else(covered, array, None), pa.float64())
    else:
        return None
    if kind == t.REAL:  # finite values that round to infinity as float32 fail like in the caster
        fits = pc.invert(pc.and_(pc.is_finite(values), pc.greater_equal(pc.abs(values), _REAL_OVERFLOW)))
        covered = fits if covered is None else pc.and_kleene(covered, fits)  # uncovered rows stay False
    if covered is None or _all_true(covered):
        return values, {}
    return _mixed(covered, values, raw, ctype, version)


def _timestamps(
    array: pa.Array, with_zone: bool, raw: list[Any], ctype: CrateType, version: Version
) -> tuple[pa.Array, dict[int, errors.CrateError]] | None:
    if pa.types.is_int64(array.type):
        return (array, {}) if _within(array, -casts.MAX_EPOCH_MS, casts.MAX_EPOCH_MS) else None
    if not pa.types.is_string(array.type):
        return None
    millis, parsed = iso_timestamps(array, with_zone)
    if _all_true(pc.or_(parsed, pc.is_null(array))):
        return millis, {}
    return _mixed(pc.or_(parsed, pc.is_null(array)), millis, raw, ctype, version)


def iso_timestamps(array: pa.Array, with_zone: bool) -> tuple[pa.Array, pa.Array]:
    """Epoch milliseconds of ISO texts in the common form, and which rows that form covered.

    Sub-millisecond digits are cut off (towards the past, like CrateDB); WITHOUT TIME ZONE ignores the
    offset. Rows outside the common form or its ranges are NULL and marked False.
    """
    millis = _millis_fields(array)
    if millis is not None:
        return millis, pc.is_valid(array)
    fields = _full_time_fields(array) or _general_fields(array)
    zone = fields.zone
    zone_digits = pc.replace_substring(pc.utf8_slice_codeunits(zone, 1), ":", "")
    zone_hours = _number(pc.utf8_slice_codeunits(zone_digits, 0, 2))
    zone_minutes = _number(pc.utf8_slice_codeunits(zone_digits, 2, 4))
    millis_part = pc.cast(pc.utf8_rpad(pc.utf8_slice_codeunits(fields.fraction, 0, 3), 3, "0"), pa.int64())
    valid = _all_of(
        fields.valid,
        pc.greater_equal(fields.year, 1),
        pc.less_equal(fields.hour, 23),
        pc.less_equal(fields.minute, 59),
        pc.less_equal(fields.second, 59),
        pc.less_equal(zone_hours, 18),
        pc.less_equal(zone_minutes, 59),
    )
    seconds = pc.add(
        pc.add(pc.multiply(fields.days, 86400), pc.multiply(fields.hour, 3600)),
        pc.add(pc.multiply(fields.minute, 60), fields.second),
    )
    if with_zone:
        offset = pc.add(pc.multiply(zone_hours, 3600), pc.multiply(zone_minutes, 60))
        seconds = pc.subtract(seconds, pc.if_else(pc.starts_with(zone, "-"), pc.negate(offset), offset))
    millis = pc.add(pc.multiply(seconds, 1000), millis_part)
    covered = valid.fill_null(False)
    return pc.if_else(covered, millis, None), covered


def _millis_fields(array: pa.Array) -> pa.Array | None:
    """Epoch milliseconds straight from Arrow's parser when every text has the _ISO_MILLIS form."""
    if not _all_true(pc.match_substring_regex(array, _ISO_MILLIS)):
        return None
    zoned = pc.ends_with(array, "Z")
    if _all_true(zoned):
        zone: str | None = "UTC"
    elif not pc.any(zoned).as_py():
        zone = None
    else:
        return None  # Arrow reads either all texts with a zone or all without
    if pc.any(pc.starts_with(array, "0000")).as_py():
        return None  # year 0 is not a CrateDB year
    try:
        return pc.cast(pc.cast(array, pa.timestamp("ms", tz=zone)), pa.int64())
    except pa.ArrowInvalid:
        return None


@dataclass
class _Fields:
    valid: pa.Array  # the text has the form and its date exists
    days: pa.Array  # since 1970-01-01
    year: pa.Array
    hour: pa.Array
    minute: pa.Array
    second: pa.Array
    fraction: pa.Array  # digits, "" when absent
    zone: pa.Array  # "", "Z", "+05", "+0530" or "+05:30"


def _full_time_fields(array: pa.Array) -> _Fields | None:
    """Texts with a whole time of day: fixed positions up to the seconds, Arrow's date parser for the date."""
    if not _all_true(pc.match_substring_regex(array, _ISO_FULL_TIME)):
        return None
    try:
        dates = pc.cast(pc.utf8_slice_codeunits(array, 0, 10), pa.date32())  # rejects dates that do not exist
    except pa.ArrowInvalid:
        return None
    tail = pc.extract_regex(pc.utf8_slice_codeunits(array, 19), _ISO_TAIL)

    def at(start: int, stop: int) -> pa.Array:
        return pc.cast(pc.utf8_slice_codeunits(array, start, stop), pa.int64())

    return _Fields(
        valid=pc.is_valid(tail),
        days=pc.cast(pc.cast(dates, pa.int32()), pa.int64()),
        year=at(0, 4),
        hour=at(11, 13),
        minute=at(14, 16),
        second=at(17, 19),
        fraction=tail.field("f"),
        zone=tail.field("z"),
    )


def _general_fields(array: pa.Array) -> _Fields:
    """Any text of the common form (the time and its parts optional); the calendar checked by arithmetic."""
    fields = pc.extract_regex(array, _ISO_TIMESTAMP)
    year, month, day = _number(fields.field("y")), _number(fields.field("mo")), _number(fields.field("d"))
    leap = pc.and_(
        pc.equal(pc.bit_wise_and(year, 3), 0),
        pc.or_(pc.not_equal(_mod(year, 100), 0), pc.equal(_mod(year, 400), 0)),
    )
    month_ok = pc.and_(pc.greater_equal(month, 1), pc.less_equal(month, 12))
    month_days = pc.add(
        pc.take(_DAYS_IN_MONTH, pc.if_else(month_ok, pc.subtract(month, 1), 0)),
        pc.cast(pc.and_(leap, pc.equal(month, 2)), pa.int64()),
    )
    valid = _all_of(pc.is_valid(fields), month_ok, pc.greater_equal(day, 1), pc.less_equal(day, month_days))
    # Days since 1970-01-01 (proleptic Gregorian; invalid rows are masked, so keep their years >= 1 to keep
    # every quotient one of non-negative numbers).
    shifted = pc.subtract(pc.max_element_wise(year, 1), pc.cast(pc.less_equal(month, 2), pa.int64()))
    era = pc.divide(shifted, 400)
    year_of_era = pc.subtract(shifted, pc.multiply(era, 400))
    month_from_march = pc.if_else(pc.greater(month, 2), pc.subtract(month, 3), pc.add(month, 9))
    day_of_year = pc.add(pc.divide(pc.add(pc.multiply(month_from_march, 153), 2), 5), pc.subtract(day, 1))
    day_of_era = pc.add(
        pc.subtract(
            pc.add(pc.multiply(year_of_era, 365), pc.divide(year_of_era, 4)), pc.divide(year_of_era, 100)
        ),
        day_of_year,
    )
    return _Fields(
        valid=valid,
        days=pc.subtract(pc.add(pc.multiply(era, 146097), day_of_era), 719468),
        year=year,
        hour=_number(fields.field("h")),
        minute=_number(fields.field("mi")),
        second=_number(fields.field("s")),
        fraction=fields.field("f"),
        zone=fields.field("z"),
    )


def _number(text: pa.Array) -> pa.Array:
    """Digits as int64; an empty (absent) part is 0."""
    return pc.cast(pc.if_else(pc.equal(text, ""), "0", text), pa.int64())


def _all_of(*masks: pa.Array) -> pa.Array:
    result = masks[0]
    for mask in masks[1:]:
        result = pc.and_(result, mask)
    return result


def _mod(array: pa.Array, divisor: int) -> pa.Array:
    return pc.subtract(array, pc.multiply(pc.divide(array, divisor), divisor))


def _numerics(
    array: pa.Array, ctype: CrateType, version: Version
) -> tuple[pa.Array, dict[int, errors.CrateError]] | None:
    """Plain decimal texts that fit NUMERIC(p, s) as they are (no rounding needed; others take the caster)."""
    if not pa.types.is_string(array.type) or not version.at_least(versions.NUMERIC_STRICT_FIT):
        return None
    precision = ctype.precision or 38
    scale = ctype.scale or 0
    whole = precision - scale
    if whole <= 0:
        return None  # NumericType counts the `0` of `0` / `-0` as an integral digit: the caster decides
    integer = rf"(?:0|[1-9]\d{{0,{whole - 1}}})"
    fraction = rf"(?:\.\d{{1,{scale}}})?" if scale > 0 else ""
    if not _all_true(pc.match_substring_regex(array, rf"^[+-]?{integer}{fraction}$")):
        return None
    try:
        return pc.cast(array, pa.decimal128(precision, scale)), {}
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _all_true(mask: pa.Array) -> bool:
    """Every non-null row is True (null rows are NULL values, stored as such)."""
    return pc.all(mask, skip_nulls=True).as_py() is not False


def _mixed(
    covered: pa.Array, fast: pa.Array, raw: list[Any], ctype: CrateType, version: Version
) -> tuple[pa.Array, dict[int, errors.CrateError]] | None:
    """Fast results where `covered` (null counts as covered: a NULL value), the caster for the other rows."""
    cast = casts.caster(ctype, version)
    values = fast.to_pylist()
    failures: dict[int, errors.CrateError] = {}
    for row in pc.indices_nonzero(pc.invert(covered.fill_null(True))).to_pylist():
        try:
            values[row] = cast(raw[row])
        except errors.CrateError as exc:
            failures[row] = exc
            values[row] = None
    try:
        return pa.array(values, type=fast.type), failures
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        return None
