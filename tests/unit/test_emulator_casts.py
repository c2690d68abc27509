"""The emulator's implicit casts (CrateDB docs general/ddl/data-types, sql/statements/insert): what each
column type accepts and stores."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest
from cratedb_emulator import CrateError
from cratedb_emulator import types as t
from cratedb_emulator.casts import ObjectState, caster, parse_timestamp, text_too_long
from cratedb_emulator.types import CrateType, array_of, type_from_text
from cratedb_emulator.versions import Version

V643 = Version.parse("6.4.3")


def cast(type_text: str, value: Any, version: Version = V643, state: ObjectState | None = None) -> Any:
    return caster(type_from_text(type_text), version, state, "c")(value)


@pytest.mark.parametrize(
    ("text", "with_zone", "expected"),
    [
        ("2024-01-02T03:04:05.678901Z", True, 1704164645678),  # sub-ms digits truncated
        ("2024-01-02T03:04:05.678901+02:00", True, 1704157445678),  # offset applied
        ("2024-01-02T03:04:05.678901+02:00", False, 1704164645678),  # offset ignored (naive)
        ("2024-01-02T03:04:05+0200", True, 1704157445000),
        ("2024-01-02 03:04:05", True, 1704164645000),
        ("2024-01-02", False, 1704153600000),
        ("1969-12-31T23:59:59.9995", False, -1),  # floor, like Instant.toEpochMilli
        ("2024-01-02T03:04:05.123456789", True, 1704164645123),
        ("+12345-01-01", True, 327403382400000),
    ],
)
def test_timestamp_strings(text: str, with_zone: bool, expected: int) -> None:
    assert parse_timestamp(text, with_zone) == expected


@pytest.mark.parametrize("text", ["2024-02-30", "2024-13-01", "2024-01-02T25:00", "yesterday", "2024-1-2"])
def test_invalid_timestamp_strings(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text, True)


def test_timestamp_numbers_digit_strings_and_doubles() -> None:
    assert cast("TIMESTAMP WITH TIME ZONE", 1704164645678) == 1704164645678
    assert cast("TIMESTAMP WITH TIME ZONE", "1704164645678") == 1704164645678  # digits = epoch ms
    assert cast("TIMESTAMP WITH TIME ZONE", 1704164645.678) == 1704164645678  # double = epoch seconds
    with pytest.raises(CrateError) as error:
        cast("TIMESTAMP", True)
    assert error.value.code == 4000


@pytest.mark.parametrize("word", ["t", "TRUE", "y", "yes", "On", "1"])
def test_boolean_true_words(word: str) -> None:
    assert cast("BOOLEAN", word) is True


@pytest.mark.parametrize("word", ["f", "false", "n", "NO", "off", "0"])
def test_boolean_false_words(word: str) -> None:
    assert cast("BOOLEAN", word) is False


def test_boolean_rejects_other_words() -> None:
    with pytest.raises(CrateError):
        cast("BOOLEAN", "maybe")


def test_integers_parse_strings_strictly_and_truncate_doubles() -> None:
    assert cast("INTEGER", "42") == 42
    assert cast("INTEGER", 4.9) == 4
    assert cast("BIGINT", -4.9) == -4
    for bad in ("1.5", " 1", "1_000", True, [1]):
        with pytest.raises(CrateError):
            cast("INTEGER", bad)
    with pytest.raises(CrateError):
        cast("SMALLINT", 40000)
    with pytest.raises(CrateError):
        cast("INTEGER", 2**31)


def test_floats_accept_special_words_and_check_real_range() -> None:
    assert math.isnan(cast("DOUBLE PRECISION", "NaN"))
    assert cast("DOUBLE PRECISION", "-Infinity") == -math.inf
    assert cast("REAL", "3.4028235E38") == pytest.approx(3.4028235e38)  # Float.MAX_VALUE as Java prints it
    with pytest.raises(CrateError):
        cast("REAL", 1e39)
    with pytest.raises(CrateError):
        cast("DOUBLE", "abc")


def test_numeric_values_must_fit_precision_and_scale() -> None:
    """server/src/main/java/io/crate/types/NumericType.java (implicitCast): round to p significant digits,
    reject surplus integral digits, then round to the scale (both HALF_UP); extra fraction digits round."""
    assert cast("NUMERIC(10, 2)", "12345678.91") == Decimal("12345678.91")
    assert cast("NUMERIC(10, 2)", 1) == Decimal(1)
    assert cast("NUMERIC(10, 2)", "1.234") == Decimal("1.23")
    assert cast("NUMERIC(5, 2)", "1.23499") == Decimal("1.24")  # 1.2350 first, then 1.24
    for bad in ("123456789.1", "999.999", "NaN", "x"):
        with pytest.raises(CrateError):
            cast("NUMERIC(10, 2)" if bad != "999.999" else "NUMERIC(5, 2)", bad)


def test_numeric_before_5_9_1_rounds_extra_fraction_digits() -> None:
    assert cast("NUMERIC(10, 2)", "1.235", Version.parse("5.9.0")) == Decimal("1.24")


def test_text_from_scalars_and_objects() -> None:
    assert cast("TEXT", True) == "true"
    assert cast("TEXT", 12) == "12"
    assert cast("TEXT", {"a": 1}) == '{"a":1}'
    with pytest.raises(CrateError):
        cast("TEXT", [1])


def test_varchar_and_char_lengths() -> None:
    assert cast("VARCHAR(3)", "abc") == "abc"
    assert cast("VARCHAR(3)", "ab   ") == "ab "  # excess spaces are trimmed
    assert cast("CHAR(3)", "a") == "a  "
    with pytest.raises(CrateError) as error:
        cast("VARCHAR(3)", "abcd")
    assert "too long" in error.value.message


def test_text_limit_counts_utf8_bytes() -> None:
    assert not text_too_long("x" * 32766)
    assert text_too_long("x" * 32767)
    assert text_too_long("é" * 16384)  # 32,768 bytes


def test_arrays_from_lists_and_pg_strings() -> None:
    assert cast("ARRAY(INTEGER)", [1, "2", None]) == [1, 2, None]
    assert cast("TEXT[]", '{a,"b c",NULL}') == ["a", "b c", None]
    with pytest.raises(CrateError):
        cast("ARRAY(INTEGER)", 5)


def test_objects_dynamic_fix_subcolumn_types_on_first_use() -> None:
    state = ObjectState()
    assert cast("OBJECT", {"n": 1, "s": "x"}, state=state) == '{"n":1,"s":"x"}'
    assert state.known == {"c['n']": CrateType(t.BIGINT), "c['s']": CrateType(t.TEXT)}
    assert cast("OBJECT", {"n": "2"}, state=state) == '{"n":2}'  # castable to the fixed type
    with pytest.raises(CrateError):
        cast("OBJECT", {"n": "two"}, state=state)


def test_objects_reject_bad_keys_unless_ignored() -> None:
    with pytest.raises(CrateError) as error:
        cast("OBJECT(DYNAMIC)", {"a.b": 1}, state=ObjectState())
    assert error.value.code == 4008
    assert cast("OBJECT(IGNORED)", {"a.b": 1, "c": [1, "x"]}) == '{"a.b":1,"c":[1,"x"]}'


def test_strict_objects_reject_unknown_keys() -> None:
    assert cast("OBJECT(STRICT) AS (k TEXT)", {"k": 1}) == '{"k":"1"}'
    with pytest.raises(CrateError) as error:
        cast("OBJECT(STRICT) AS (k TEXT)", {"other": 1})
    assert error.value.code == 4043


def test_objects_accept_json_text_but_not_arrays() -> None:
    assert cast("OBJECT(IGNORED)", '{"a": [1]}') == '{"a":[1]}'
    with pytest.raises(CrateError):
        cast("OBJECT(IGNORED)", "[1, 2]")


def test_total_fields_limit() -> None:
    state = ObjectState(limit=3)
    state.base_fields = 1
    cast("OBJECT", {"a": 1, "b": 2}, state=state)
    with pytest.raises(CrateError) as error:
        cast("OBJECT", {"c": 3}, state=state)
    assert "Limit of total fields" in error.value.message


def test_ip_uuid_and_geo_point() -> None:
    assert cast("IP", "::1") == "::1"
    assert cast("UUID", "00000000000000000000000000000005") == "00000000-0000-0000-0000-000000000005"
    assert cast("GEO_POINT", "POINT (13.4 52.5)") == [13.4, 52.5]
    with pytest.raises(CrateError):
        cast("IP", "300.1.1.1")


def test_type_names_and_storage_rules() -> None:
    assert type_from_text("FLOAT") == CrateType(t.REAL)  # FLOAT means REAL in CrateDB
    assert type_from_text("STRING").info_name() == "text"
    assert type_from_text("INT[]") == array_of(CrateType(t.INTEGER))
    assert type_from_text("ARRAY(TEXT)").info_name() == "text_array"
    assert type_from_text("TIMESTAMP").kind == t.TIMESTAMP
    assert type_from_text("TIMESTAMP WITH TIME ZONE").type_id() == 11
    assert type_from_text("ARRAY(INTEGER)").type_id() == [100, 9]
    with pytest.raises(CrateError, match="does not support storage"):
        type_from_text("DATE").check_storable(V643)
    type_from_text("DATE").check_storable(Version.parse("6.5.0"))
    for name in ("INTERVAL", "JSON", "TIME WITH TIME ZONE"):
        with pytest.raises(CrateError):
            type_from_text(name).check_storable(V643)
    with pytest.raises(CrateError, match="Cannot find data type"):
        type_from_text("BLOB")
    with pytest.raises(CrateError, match="precision and scale"):
        type_from_text("NUMERIC").check_storable(V643)
    with pytest.raises(CrateError, match="Only up to 38"):
        type_from_text("NUMERIC(39, 2)").check_storable(V643)
    with pytest.raises(CrateError):
        type_from_text("NUMERIC(10, 2)").check_storable(Version.parse("5.8.0"))
