"""Implicit casts of client values into column types, the way CrateDB applies them on INSERT and UPDATE.

Each caster turns a JSON value (str, int, float, bool, list, dict) or an internal value (Decimal, epoch ms)
into the *storage* value the Arrow/DuckDB layer keeps: timestamps become epoch milliseconds (sub-ms digits
truncated), WITHOUT TIME ZONE drops the offset, objects become JSON text, etc. Failures raise CrateError.
"""

from __future__ import annotations

import ipaddress
import math
import re
import uuid as uuid_module
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import orjson

from . import errors, versions
from . import types as t
from .types import CrateType
from .versions import Version

Caster = Callable[[Any], Any]

MS_PER_DAY = 86_400_000
# DuckDB keeps timestamps as int64 microseconds; stay inside that range.
MAX_EPOCH_MS = 9_223_372_036_854_775 - 1

TRUE_WORDS = frozenset({"t", "true", "y", "yes", "on", "1"})
FALSE_WORDS = frozenset({"f", "false", "n", "no", "off", "0"})

_INT_TEXT = re.compile(r"^[+-]?\d+$")
_FLOAT_TEXT = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[dDfF]?$")
_FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "+Infinity": math.inf, "-Infinity": -math.inf}
_EPOCH_TEXT = re.compile(r"^-?\d+$")
_TIMESTAMP_TEXT = re.compile(
    r"^(?P<y>[+-]?\d{4,9})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,9}))?)?"
    r"(?P<z>Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?(?:\[?(?P<zid>[A-Za-z][A-Za-z0-9/_+\-]*)\]?)?)?$"
)
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_POINT_WKT = re.compile(r"^\s*POINT\s*\(\s*(\S+)\s+(\S+)\s*\)\s*$", re.IGNORECASE)
# Doubles from here on round to infinity as float32 (float max plus half an ulp).
REAL_OVERFLOW = 3.4028235677973366e38
TEXT_INDEX_LIMIT = 32766


def fail(value: Any, ctype: CrateType) -> errors.CrateError:
    return errors.cast_error(_show(value), _type_name(ctype))


def _type_name(ctype: CrateType) -> str:
    """The type as CrateDB's ConversionException prints it; NUMERIC keeps `(p,s)` (NumericType.toString)."""
    if ctype.kind == t.NUMERIC and ctype.precision is not None:
        if ctype.scale is None:
            return f"numeric({ctype.precision})"
        return f"numeric({ctype.precision},{ctype.scale})"
    return ctype.info_name()


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:
        return repr(value)


# ---- timestamps ---------------------------------------------------------------------------------------
def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 for a proleptic Gregorian date (any year)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _offset_seconds(text: str) -> int:
    if text == "Z":
        return 0
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours = int(digits[0:2])
    minutes = int(digits[2:4]) if len(digits) >= 4 else 0
    seconds = int(digits[4:6]) if len(digits) >= 6 else 0
    if hours > 18 or minutes > 59 or seconds > 59:
        raise ValueError("offset out of range")
    return sign * (hours * 3600 + minutes * 60 + seconds)


_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=timezone.utc)
_EPOCH = datetime(1970, 1, 1)
_MILLISECOND = timedelta(milliseconds=1)


@lru_cache(maxsize=65536)
def parse_timestamp(text: str, with_zone: bool) -> int:
    """Epoch ms of an ISO-like timestamp string; raises ValueError when it does not parse.

    The regex decides what CrateDB's strict parser accepts; `datetime.fromisoformat` does the common
    4-digit-year case fast, the arithmetic below everything else (any year, zone ids, Python 3.10).
    """
    match = _TIMESTAMP_TEXT.match(text)
    if match is None:
        raise ValueError(text)
    if len(match["y"]) == 4 and not match["zid"]:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                return (parsed - _EPOCH) // _MILLISECOND
            if with_zone:
                return (parsed - _EPOCH_UTC) // _MILLISECOND
            return (parsed.replace(tzinfo=None) - _EPOCH) // _MILLISECOND
    year, month, day = int(match["y"]), int(match["mo"]), int(match["d"])
    if not 1 <= month <= 12:
        raise ValueError(text)
    limit = 29 if month == 2 and _is_leap(year) else _DAYS_IN_MONTH[month - 1]
    if not 1 <= day <= limit:
        raise ValueError(text)
    hour = int(match["h"] or 0)
    minute = int(match["mi"] or 0)
    second = int(match["s"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(text)
    fraction = match["f"] or ""
    millis = int((fraction + "000")[:3])
    ms = ((_days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
    if with_zone:
        if match["z"]:
            ms -= _offset_seconds(match["z"]) * 1000
        elif match["zid"]:
            ms -= _zone_offset_ms(match["zid"], ms)
    return ms


def _zone_offset_ms(zone_id: str, local_ms: int) -> int:
    from zoneinfo import ZoneInfo

    try:
        zone = ZoneInfo(zone_id)
    except Exception as exc:  # unknown zone ids are a parse failure like any other
        raise ValueError(zone_id) from exc
    local = datetime(1970, 1, 1) + timedelta(milliseconds=local_ms)
    offset = local.replace(tzinfo=zone).utcoffset() or timedelta(0)
    return int(offset.total_seconds() * 1000)


def _timestamp_caster(ctype: CrateType) -> Caster:
    with_zone = ctype.kind == t.TIMESTAMPTZ

    def cast(value: Any) -> Any:
        kind = type(value)
        if kind is int:
            ms = value
        elif kind is str:
            if _EPOCH_TEXT.match(value):
                ms = int(value)
            else:
                try:
                    ms = parse_timestamp(value, with_zone)
                except ValueError:
                    raise fail(value, ctype) from None
        elif kind is float:
            if not math.isfinite(value):
                raise fail(value, ctype)
            ms = int(value * 1000)
        elif isinstance(value, Decimal):
            ms = int(value * 1000)
        elif isinstance(value, datetime):
            ms = _datetime_ms(value, with_zone)
        else:
            raise fail(value, ctype)
        if not -MAX_EPOCH_MS <= ms <= MAX_EPOCH_MS:
            raise fail(value, ctype)
        return ms

    return cast


def _datetime_ms(value: datetime, with_zone: bool) -> int:
    if value.tzinfo is not None:
        value = (
            value.astimezone(timezone.utc).replace(tzinfo=None) if with_zone else value.replace(tzinfo=None)
        )
    delta = value - datetime(1970, 1, 1)
    return delta // timedelta(milliseconds=1)


def _date_caster(ctype: CrateType) -> Caster:
    stamp = _timestamp_caster(CrateType(t.TIMESTAMP))

    def cast(value: Any) -> Any:
        ms = stamp(value)
        return ms // MS_PER_DAY  # days since epoch (date32)

    return cast


# ---- numbers ----------------------------------------------------------------------------------------
def _integer_caster(ctype: CrateType) -> Caster:
    low, high = t.INTEGER_RANGES[ctype.kind]

    def cast(value: Any) -> Any:
        kind = type(value)
        if kind is int:
            number = value
        elif kind is str:
            if not _INT_TEXT.match(value):
                raise fail(value, ctype)
            number = int(value)
        elif kind is float:
            if not math.isfinite(value):
                raise fail(value, ctype)
            number = int(value)
        elif isinstance(value, Decimal):
            if not value.is_finite():
                raise fail(value, ctype)
            number = int(value)
        else:
            raise fail(value, ctype)
        if not low <= number <= high:
            raise fail(value, ctype)
        return number

    return cast


def _float_caster(ctype: CrateType) -> Caster:
    is_real = ctype.kind == t.REAL

    def cast(value: Any) -> Any:
        kind = type(value)
        if kind is float:
            number = value
        elif kind is int:
            number = float(value)
        elif kind is str:
            if value in _FLOAT_WORDS:
                number = _FLOAT_WORDS[value]
            elif _FLOAT_TEXT.match(value):
                number = float(value.rstrip("dDfF"))
            else:
                raise fail(value, ctype)
        elif isinstance(value, Decimal):
            number = float(value)
        else:
            raise fail(value, ctype)
        if is_real and math.isfinite(number) and abs(number) >= REAL_OVERFLOW:
            raise fail(value, ctype)
        return number

    return cast


def _numeric_caster(ctype: CrateType, version: Version) -> Caster:
    """NumericType.implicitCast (server/src/main/java/io/crate/types/NumericType.java): round to `precision`
    significant digits (HALF_UP), reject a value with more integral digits than `precision - scale` ("as it
    looses precision", since 5.9.1; a parameter reports it as `Cannot cast value ...`), then round to `scale`
    (HALF_UP). So 1.23499 becomes 1.24 in NUMERIC(5, 2) and 999.999 does not fit."""
    precision = ctype.precision
    scale = ctype.scale
    context = Context(prec=precision, rounding=ROUND_HALF_UP) if precision is not None else None
    quantum = Decimal(1).scaleb(-scale) if scale is not None else None
    checks_digits = version.at_least(versions.NUMERIC_STRICT_FIT)

    def cast(value: Any) -> Any:
        kind = type(value)
        try:
            if kind is str or kind is int:
                number = Decimal(value)
            elif kind is float:
                number = Decimal(repr(value))
            elif isinstance(value, Decimal):
                number = value
            else:
                raise fail(value, ctype)
        except InvalidOperation:
            raise fail(value, ctype) from None
        if not number.is_finite():
            raise fail(value, ctype)
        if context is None:
            return number
        number = context.plus(number)
        if quantum is None:
            return number
        assert precision is not None and scale is not None
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int)
        if checks_digits and len(number.as_tuple().digits) + exponent > precision - scale:
            raise fail(value, ctype)
        return number.quantize(quantum, rounding=ROUND_HALF_UP, context=Context(prec=1000))

    return cast


def _boolean_caster(ctype: CrateType) -> Caster:
    def cast(value: Any) -> Any:
        kind = type(value)
        if kind is bool:
            return value
        if kind is str:
            word = value.lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise fail(value, ctype)
        if kind is int or kind is float:
            return value != 0
        raise fail(value, ctype)

    return cast


# ---- text ---------------------------------------------------------------------------------------------
def text_of(value: Any, ctype: CrateType) -> str:
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is int or isinstance(value, Decimal):
        return str(value)
    if kind is float:
        return (
            repr(value)
            if math.isfinite(value)
            else {math.inf: "Infinity", -math.inf: "-Infinity"}.get(value, "NaN")
        )
    if kind is dict:
        return orjson.dumps(value).decode()
    raise fail(value, ctype)


def _text_caster(ctype: CrateType) -> Caster:
    length = ctype.length
    kind_of = ctype.kind

    if kind_of == t.TEXT:

        def cast_text(value: Any) -> Any:
            return value if type(value) is str else text_of(value, ctype)

        return cast_text

    assert length is not None

    def cast_bounded(value: Any) -> Any:
        text = value if type(value) is str else text_of(value, ctype)
        if len(text) > length:
            if text[length:].strip(" "):
                # StringType / CharacterType `valueForInsert`: checked while the shard indexes the row (a
                # bulk request fails that row only); the message shows at most 20 characters.
                shown = text if len(text) <= 20 else text[:20] + "..."
                raise errors.in_document(
                    errors.illegal_argument(
                        f"'{shown}' is too long for the {'character' if kind_of == t.CHAR else 'text'} type "
                        f"of length: {length}"
                    )
                )
            text = text[:length]
        if kind_of == t.CHAR and len(text) < length:
            text = text.ljust(length)
        return text

    return cast_bounded


# A string of at most this many characters cannot exceed the byte limit (4 bytes per character at most).
TEXT_CHARS_ALWAYS_FIT = TEXT_INDEX_LIMIT // 4


def text_too_long(value: str) -> bool:
    """True when a value exceeds Lucene's 32,766-byte limit for indexed / column-stored terms."""
    return len(value) > TEXT_CHARS_ALWAYS_FIT and len(value.encode("utf-8")) > TEXT_INDEX_LIMIT


# ---- other scalars ----------------------------------------------------------------------------------
def _ip_caster(ctype: CrateType) -> Caster:
    def cast(value: Any) -> Any:
        if type(value) is not str:
            raise fail(value, ctype)
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise fail(value, ctype) from None

    return cast


def _uuid_caster(ctype: CrateType) -> Caster:
    def cast(value: Any) -> Any:
        if type(value) is not str:
            raise fail(value, ctype)
        try:
            return str(uuid_module.UUID(value))
        except ValueError:
            raise fail(value, ctype) from None

    return cast


def _geo_point_caster(ctype: CrateType) -> Caster:
    def cast(value: Any) -> Any:
        pair: Any = value
        if isinstance(value, str):
            match = _POINT_WKT.match(value)
            if match:
                pair = [match.group(1), match.group(2)]
            else:
                try:
                    pair = orjson.loads(value)
                except orjson.JSONDecodeError:
                    raise fail(value, ctype) from None
        if not isinstance(pair, list) or len(pair) != 2:
            raise fail(value, ctype)
        try:
            lon, lat = float(pair[0]), float(pair[1])
        except (TypeError, ValueError):
            raise fail(value, ctype) from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise fail(value, ctype)
        return [lon, lat]

    return cast


def _geo_shape_caster(ctype: CrateType) -> Caster:
    def cast(value: Any) -> Any:
        if isinstance(value, dict) and "type" in value:
            return orjson.dumps(value).decode()
        if isinstance(value, str) and value.strip():
            return orjson.dumps(value).decode()
        raise fail(value, ctype)

    return cast


def _bit_caster(ctype: CrateType) -> Caster:
    length = ctype.length or 1

    def cast(value: Any) -> Any:
        if type(value) is not str:
            raise fail(value, ctype)
        bits = value[2:-1] if value.startswith("B'") and value.endswith("'") else value
        if len(bits) != length or set(bits) - {"0", "1"}:
            raise errors.illegal_argument(f"bit string length {len(bits)} does not match type bit({length})")
        return f"B'{bits}'"

    return cast


def _float_vector_caster(ctype: CrateType) -> Caster:
    dims = ctype.length or 0
    element = _float_caster(CrateType(t.REAL))

    def cast(value: Any) -> Any:
        if not isinstance(value, list):
            raise fail(value, ctype)
        if len(value) != dims:
            raise errors.illegal_argument("The number of vector dimensions does not match the field type")
        return [element(v) for v in value]

    return cast


# ---- containers ---------------------------------------------------------------------------------------
def _split_pg_array(text: str) -> list[Any]:
    body = text[1:-1].strip()
    if not body:
        return []
    items: list[Any] = []
    current: list[str] = []
    quoted = False
    was_quoted = False
    index = 0
    while index < len(body):
        char = body[index]
        if quoted:
            if char == "\\" and index + 1 < len(body):
                index += 1
                current.append(body[index])
            elif char == '"':
                quoted = False
            else:
                current.append(char)
        elif char == '"':
            quoted = was_quoted = True
        elif char == ",":
            items.append(_pg_item("".join(current), was_quoted))
            current, was_quoted = [], False
        else:
            current.append(char)
        index += 1
    items.append(_pg_item("".join(current), was_quoted))
    return items


def _pg_item(text: str, quoted: bool) -> Any:
    if not quoted:
        text = text.strip()
        if text.upper() == "NULL":
            return None
    return text


def _array_caster(ctype: CrateType, version: Version, state: ObjectState | None) -> Caster:
    assert ctype.inner is not None
    element = caster(ctype.inner, version, state)

    def cast(value: Any) -> Any:
        items = value
        if isinstance(value, str):
            stripped = value.strip()
            if stripped.startswith("{") and stripped.endswith("}"):
                items = _split_pg_array(stripped)
            elif stripped.startswith("["):
                try:
                    items = orjson.loads(stripped)
                except orjson.JSONDecodeError:
                    raise fail(value, ctype) from None
        if not isinstance(items, (list, tuple)):
            raise fail(value, ctype)
        return [None if item is None else element(item) for item in items]

    return cast


class ObjectState:
    """Sub-column types of DYNAMIC objects, fixed by the first value seen for each key.

    Keys are column paths like `obj['a']['b']`; the mapping lives in the catalog and shows up in
    information_schema.columns, as in CrateDB.
    """

    def __init__(self, known: dict[str, CrateType] | None = None, limit: int = 1000) -> None:
        self.known: dict[str, CrateType] = known if known is not None else {}
        self.limit = limit
        self.base_fields = 0


def infer_type(value: Any) -> CrateType | None:
    kind = type(value)
    if kind is bool:
        return CrateType(t.BOOLEAN)
    if kind is int:
        return CrateType(t.BIGINT)
    if kind is float:
        return CrateType(t.DOUBLE)
    if kind is str:
        return CrateType(t.TEXT)
    if kind is dict:
        return CrateType(t.OBJECT)
    if kind is list:
        for item in value:
            inner = infer_type(item)
            if inner is not None:
                return t.array_of(inner)
        return None
    return None


_BAD_KEY_CHARS = (".", "[", "\t", "\r", "\n")


def _object_caster(ctype: CrateType, version: Version, state: ObjectState | None, path: str) -> Caster:
    declared = {name: sub for name, sub in ctype.fields}
    sub_casters: dict[str, Caster] = {}
    for name, sub in ctype.fields:
        sub_path = f"{path}['{name}']"
        if sub.kind == t.OBJECT:
            sub_casters[name] = _object_caster(sub, version, state, sub_path)
        else:
            sub_casters[name] = caster(sub, version, state)
    policy = ctype.policy
    # Sub-columns in the mapping before this request are part of the type CrateDB binds parameters to, so a
    # value that does not cast to them fails the request; sub-columns this request adds are only met while a
    # shard indexes the document (DocumentError: that row fails alone).
    mapped = set(state.known) if state is not None else set()

    def child(key: str, item: Any, sub: CrateType, cast: Caster, sub_path: str) -> Any:
        if sub.kind == t.OBJECT:
            return cast(item)
        try:
            return _plain(cast(item), sub)
        except errors.CrateError:
            # io/crate/types/ObjectType.java (convert) names the key of a child that does not cast.
            error = errors.CrateError(
                errors.PARSE,
                "ConversionException",
                f"Cannot cast object element `{key}` with value `{_show(item)}` to type `{_type_name(sub)}`",
            )
            if key in declared or sub_path in mapped:
                raise error from None
            raise errors.in_document(error) from None

    def normalise(value: dict[Any, Any]) -> dict[str, Any]:
        if policy == "ignored":
            return {str(key): item for key, item in value.items()}
        result: dict[str, Any] = {}
        for raw_key, item in value.items():
            key = str(raw_key)
            sub_path = f"{path}['{key}']"
            if key in declared:
                sub = declared[key]
                result[key] = None if item is None else child(key, item, sub, sub_casters[key], sub_path)
                continue
            if policy == "strict":
                raise errors.in_document(errors.column_unknown(sub_path))
            if any(char in key for char in _BAD_KEY_CHARS):
                raise errors.in_document(
                    errors.invalid_column_name(key, "contains illegal characters for an object key")
                )
            if item is None:
                result[key] = None
                continue
            if state is None:
                result[key] = item
                continue
            known = state.known.get(sub_path)
            if known is None:
                known = infer_type(item)
                if known is None:
                    result[key] = item
                    continue
                if state.base_fields + len(state.known) + 1 > state.limit:
                    raise errors.in_document(
                        errors.illegal_argument(f"Limit of total fields [{state.limit}] has been exceeded")
                    )
                state.known[sub_path] = known
            if known.kind == t.OBJECT:
                result[key] = _object_caster(known, version, state, sub_path)(item)
            else:
                result[key] = child(key, item, known, caster(known, version, state), sub_path)
        return result

    def cast(value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise fail(value, ctype) from None
        if not isinstance(value, dict):
            raise fail(value, ctype)
        return normalise(value)

    return cast


def _plain(storage: Any, ctype: CrateType) -> Any:
    """Storage value as it appears inside an object's JSON (numbers exact, timestamps as ms)."""
    if isinstance(storage, Decimal):
        return float(storage)
    if isinstance(storage, str) and (
        ctype.kind == t.OBJECT or (ctype.inner is not None and ctype.inner.kind == t.OBJECT)
    ):
        return orjson.loads(storage)
    return storage


def caster(ctype: CrateType, version: Version, state: ObjectState | None = None, path: str = "") -> Caster:
    """Caster for a value into `ctype`; `None` is passed through (NOT NULL is checked separately)."""
    base = _base_caster(ctype, version, state, path)

    def cast(value: Any) -> Any:
        return None if value is None else base(value)

    return cast


def _base_caster(ctype: CrateType, version: Version, state: ObjectState | None, path: str) -> Caster:
    kind = ctype.kind
    if kind in t.TEXT_KINDS:
        return _text_caster(ctype)
    if kind in t.INTEGER_KINDS:
        return _integer_caster(ctype)
    if kind in t.FLOAT_KINDS:
        return _float_caster(ctype)
    if kind == t.BOOLEAN:
        return _boolean_caster(ctype)
    if kind == t.NUMERIC:
        return _numeric_caster(ctype, version)
    if kind in t.TIMESTAMP_KINDS:
        return _timestamp_caster(ctype)
    if kind == t.DATE:
        return _date_caster(ctype)
    if kind == t.OBJECT:
        inner = _object_caster(ctype, version, state, path)

        def cast_object(value: Any) -> Any:
            return orjson.dumps(inner(value)).decode()

        return cast_object
    if kind == t.ARRAY:
        assert ctype.inner is not None
        if ctype.inner.kind == t.OBJECT:
            obj = _object_caster(ctype.inner, version, state, path)

            def cast_object_array(value: Any) -> Any:
                if not isinstance(value, list):
                    raise fail(value, ctype)
                return orjson.dumps([None if v is None else obj(v) for v in value]).decode()

            return cast_object_array
        return _array_caster(ctype, version, state)
    if kind == t.IP:
        return _ip_caster(ctype)
    if kind == t.UUID:
        return _uuid_caster(ctype)
    if kind == t.GEO_POINT:
        return _geo_point_caster(ctype)
    if kind == t.GEO_SHAPE:
        return _geo_shape_caster(ctype)
    if kind == t.BIT:
        return _bit_caster(ctype)
    if kind == t.FLOAT_VECTOR:
        return _float_vector_caster(ctype)

    def reject(value: Any) -> Any:
        raise fail(value, ctype)

    return reject
