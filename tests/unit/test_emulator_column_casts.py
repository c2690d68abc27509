"""Whole-column casts (column_casts) against the per-value cast layer (casts): same values, same failures."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from cratedb_emulator import casts, column_casts, errors, results
from cratedb_emulator import types as t
from cratedb_emulator.types import CrateType
from cratedb_emulator.versions import Version
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

VERSION = Version.parse("6.4.3")
TZ = CrateType(t.TIMESTAMPTZ)
NAIVE = CrateType(t.TIMESTAMP)


def per_value(ctype: CrateType, raw: list[Any], version: Version = VERSION) -> list[Any]:
    """The per-value caster's storage value, or the CrateError it raises, for every row."""
    cast = casts.caster(ctype, version)
    outcome: list[Any] = []
    for value in raw:
        try:
            outcome.append(cast(value))
        except errors.CrateError as exc:
            outcome.append(exc)
    return outcome


def same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return (math.isnan(left) and math.isnan(right)) or (left == right and str(left) == str(right))
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        return left is not None and right is not None and Decimal(left) == Decimal(right)
    return type(left) is type(right) and left == right


def assert_like_per_value(ctype: CrateType, raw: list[Any], version: Version = VERSION) -> bool:
    """True when the column path took the column; then every row equals the per-value outcome."""
    fast = column_casts.cast_column(ctype, raw, version)
    if fast is None:
        return False
    array, failures = fast
    values = array.to_pylist()
    for row, expected in enumerate(per_value(ctype, raw, version)):
        if isinstance(expected, errors.CrateError):
            assert row in failures, (row, raw[row])
            assert failures[row].payload() == expected.payload()
            assert values[row] is None
        else:
            assert row not in failures, (row, raw[row], failures.get(row))
            assert same(values[row], expected), (row, raw[row], values[row], expected)
    return True


# ---- timestamps ------------------------------------------------------------------------------------------
def _two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


@st.composite
def iso_texts(draw: st.DrawFn) -> str:
    """ISO-like texts around the edges of the common form (and some outside it)."""
    text = f"{draw(st.integers(0, 9999)):04d}-{draw(_two(0, 13))}-{draw(_two(0, 32))}"
    if draw(st.booleans()):
        text += draw(st.sampled_from(["T", " "])) + f"{draw(_two(0, 25))}:{draw(_two(0, 61))}"
        if draw(st.booleans()):
            text += f":{draw(_two(0, 61))}"
            if draw(st.booleans()):
                text += "." + draw(st.text("0123456789", min_size=1, max_size=10))
        zone = draw(
            st.one_of(
                st.just(""),
                st.just("Z"),
                st.builds(lambda s, h: f"{s}{h}", st.sampled_from("+-"), _two(0, 25)),
                st.builds(
                    lambda s, h, sep, m: f"{s}{h}{sep}{m}",
                    st.sampled_from("+-"),
                    _two(0, 25),
                    st.sampled_from(["", ":"]),
                    _two(0, 61),
                ),
                st.just("+05:30:15"),
            )
        )
        text += zone
    return text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(iso_texts(), min_size=1, max_size=30), st.booleans())
def test_iso_timestamps_equal_the_per_value_parser_wherever_they_apply(texts: list[str], zone: bool) -> None:
    millis, covered = column_casts.iso_timestamps(pa.array(texts), zone)
    for text, value, used in zip(texts, millis.to_pylist(), covered.to_pylist(), strict=True):
        if used:
            assert value == casts.parse_timestamp(text, zone), text


@st.composite
def full_time_texts(draw: st.DrawFn) -> str:
    """Existing dates with a whole time of day: the fixed-position path (times and zones at the edges)."""
    date = f"{draw(st.integers(1, 9999)):04d}-{draw(_two(1, 12))}-{draw(_two(1, 28))}"
    time = f"{draw(_two(0, 25))}:{draw(_two(0, 61))}:{draw(_two(0, 61))}"
    fraction = draw(
        st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=9).map(lambda f: "." + f))
    )
    zone = draw(st.sampled_from(["", "Z", "+05", "-0930", "+18:00", "-18:59", "+19:00", "+05:60", "-00:00"]))
    return f"{date}{draw(st.sampled_from('T '))}{time}{fraction}{zone}"


@settings(max_examples=150, deadline=None)
@given(st.lists(full_time_texts(), min_size=1, max_size=30), st.booleans())
def test_full_time_texts_take_the_fixed_position_path_exactly(texts: list[str], zone: bool) -> None:
    assert column_casts._full_time_fields(pa.array(texts)) is not None
    millis, covered = column_casts.iso_timestamps(pa.array(texts), zone)
    for text, value, used in zip(texts, millis.to_pylist(), covered.to_pylist(), strict=True):
        if used:
            assert value == casts.parse_timestamp(text, zone), text
        else:
            assert any(bad in text for bad in ("+19", "60", "24:", "25:", "61")), text


@st.composite
def millis_texts(draw: st.DrawFn, zone: str) -> str:
    """The form Arrow's parser takes: whole times with at most milliseconds, fields at the edges."""
    date = f"{draw(st.integers(0, 9999)):04d}-{draw(_two(1, 12))}-{draw(_two(1, 31))}"
    time = f"{draw(_two(0, 24))}:{draw(_two(0, 60))}:{draw(_two(0, 60))}"
    fraction = draw(
        st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=3).map(lambda f: "." + f))
    )
    return f"{date}{draw(st.sampled_from('T '))}{time}{fraction}{zone}"


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["Z", ""]).flatmap(lambda z: st.lists(millis_texts(z), min_size=1, max_size=8)),
    st.booleans(),
)
def test_millisecond_texts_read_by_arrow_equal_the_per_value_parser(texts: list[str], zone: bool) -> None:
    millis, covered = column_casts.iso_timestamps(pa.array(texts), zone)
    for text, value, used in zip(texts, millis.to_pylist(), covered.to_pylist(), strict=True):
        if used:
            assert value == casts.parse_timestamp(text, zone), text


def test_the_usual_client_texts_are_read_by_arrow() -> None:
    for texts in (
        ["2024-05-01T11:59:59.123Z", "1969-12-31T23:59:59.9Z"],
        ["2024-05-01 11:59:59", "2024-05-01T00:00:00.12"],
    ):
        millis = column_casts._millis_fields(pa.array([*texts, None]))
        assert millis is not None
        assert millis.to_pylist() == [casts.parse_timestamp(text, True) for text in texts] + [None]
    assert column_casts._millis_fields(pa.array(["2024-05-01T11:59:59.123Z", "2024-05-01T11:59:59"])) is None
    assert column_casts._millis_fields(pa.array(["0000-05-01T11:59:59Z"])) is None
    assert column_casts._millis_fields(pa.array(["2023-02-29T11:59:59Z"])) is None


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T11:59:59.123Z",
        "2024-05-01T11:59:59.123456789Z",
        "2024-05-01 11:59:59",
        "2024-05-01T11:59",
        "2024-05-01",
        "1969-12-31T23:59:59.9999+01:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999-18:00",
        "2000-02-29T12:00:00+0530",
        "2024-05-01T11:59:59-07",
    ],
)
def test_common_iso_forms_take_the_column_path(text: str) -> None:
    for zone in (True, False):
        millis, covered = column_casts.iso_timestamps(pa.array([text, None]), zone)
        assert covered.to_pylist() == [True, False]
        assert millis.to_pylist() == [casts.parse_timestamp(text, zone), None]


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-29",
        "2024-04-31T00:00:00Z",
        "2024-01-01T24:00:00",
        "2024-01-01T10:00:60",
        "0000-01-01",
        "2024-01-01T10:00:00+19:00",
        "2024-01-01T10:00:00+05:30:15",
        "2024-01-01Z",
        "1714564799123",
        "x",
    ],
)
def test_texts_outside_the_common_form_are_left_to_the_per_value_parser(text: str) -> None:
    _, covered = column_casts.iso_timestamps(pa.array([text]), True)
    assert covered.to_pylist() == [False]
    for ctype in (TZ, NAIVE):
        assert assert_like_per_value(ctype, ["2024-05-01T00:00:00Z", text, None])


def test_a_timestamp_column_mixes_column_and_per_value_results_row_by_row() -> None:
    raw = ["2024-05-01T11:59:59.123Z", "1714564799123", "not a time", None, "2024-05-01"]
    assert assert_like_per_value(TZ, raw)
    array, failures = column_casts.cast_column(TZ, raw, VERSION) or (None, {})
    assert set(failures) == {2} and "not a time" in failures[2].message
    assert array is not None and array.type == pa.int64()


def test_epoch_millisecond_integers_are_kept_when_in_range() -> None:
    assert assert_like_per_value(TZ, [0, -1, 1714564799123, None])
    assert column_casts.cast_column(TZ, [casts.MAX_EPOCH_MS + 1], VERSION) is None


# ---- numbers -----------------------------------------------------------------------------------------------
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "1",
            "-2",
            "1.5",
            ".5",
            "5.",
            "1e3",
            "-1.25E-2",
            "NaN",
            "Infinity",
            "-Infinity",
            "1.5d",
            "abc",
            "",
            " 1",
            "1_000",
            "3.4028235677973366e38",
            "1e39",
            "+7",
        ]
    ),
)


@pytest.mark.parametrize(
    "ctype",
    [
        CrateType(t.DOUBLE),
        CrateType(t.REAL),
        CrateType(t.BIGINT),
        CrateType(t.INTEGER),
        CrateType(t.SMALLINT),
        CrateType(t.BYTE),
        CrateType(t.BOOLEAN),
        CrateType(t.TEXT),
    ],
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(st.lists(SCALARS, max_size=12), st.lists(st.sampled_from(["1.5", "-0.25", "7", None]))))
def test_number_columns_equal_the_per_value_casts(ctype: CrateType, raw: list[Any]) -> None:
    assert_like_per_value(ctype, raw)


def test_plain_float_texts_and_doubles_take_the_column_path() -> None:
    assert assert_like_per_value(CrateType(t.DOUBLE), ["1.5", "-0.1", "1e300", None, "0.30000000000000004"])
    assert assert_like_per_value(CrateType(t.DOUBLE), [1.5, 2, None])
    assert assert_like_per_value(CrateType(t.REAL), ["1.5", "1e39", "NaN", "3.4e38"])  # 1e39 fails per row


def test_a_boolean_among_doubles_fails_like_the_per_value_cast() -> None:
    """Arrow reads [1.5, True] as two doubles; CrateDB does not cast booleans to numbers."""
    raw = [1.5, True]
    fast = column_casts.cast_column(CrateType(t.DOUBLE), raw, VERSION)
    assert fast is None
    assert isinstance(per_value(CrateType(t.DOUBLE), raw)[1], errors.CrateError)


@pytest.mark.parametrize("precision,scale", [(38, 10), (18, 2), (10, 0), (5, 5), (38, 0)])
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_decimal_texts_equal_the_per_value_numeric_cast(
    precision: int, scale: int, data: st.DataObject
) -> None:
    digits = st.text("0123456789", min_size=1, max_size=precision + 2)
    texts = data.draw(
        st.lists(
            st.one_of(
                st.none(),
                st.builds(
                    lambda s, i, f: f"{s}{i}" + (f".{f}" if f else ""),
                    st.sampled_from(["", "-", "+"]),
                    digits,
                    st.one_of(st.just(""), digits),
                ),
                st.sampled_from(["1e5", "NaN", " 1", "1.", "0.000000000000", "-0"]),
            ),
            max_size=10,
        )
    )
    assert_like_per_value(CrateType(t.NUMERIC, precision=precision, scale=scale), texts)


def test_decimal_texts_that_fit_take_the_column_path() -> None:
    ctype = CrateType(t.NUMERIC, precision=18, scale=4)
    assert assert_like_per_value(ctype, ["12345.6789", "-0.5", "0", "99999999999999", None])
    assert column_casts.cast_column(ctype, ["1.23456"], VERSION) is None  # too many decimals: per value
    old = Version.parse("5.9.0")  # before strict NUMERIC fitting, values are rounded: per value
    assert column_casts.cast_column(ctype, ["1.5"], old) is None


def test_types_without_a_column_path_return_none() -> None:
    assert column_casts.cast_column(CrateType(t.VARCHAR, length=3), ["abcd"], VERSION) is None
    assert column_casts.cast_column(CrateType(t.OBJECT), [{"a": 1}], VERSION) is None
    assert column_casts.cast_column(CrateType(t.BIGINT), [1, "2"], VERSION) is None


# ---- result shaping ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("precision,scale", [(38, 10), (18, 2), (10, 0), (5, 5), (38, 37)])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_decimals_go_out_as_the_text_of_decimal_str(precision: int, scale: int, data: st.DataObject) -> None:
    """CrateDB prints NUMERIC like Java's BigDecimal.toString, which Decimal.__str__ follows."""
    unscaled = data.draw(st.lists(st.integers(-(10**precision) + 1, 10**precision - 1), max_size=20))
    values = [Decimal(f"{n}E-{scale}") for n in unscaled] + [None]  # exact (scaleb rounds to 28 digits)
    array = pa.array(values, type=pa.decimal128(precision, scale))
    fragments = results._convert_array(array, False, json_numbers=True)
    texts = [None if f is None else results.dumps(f).decode() for f in fragments]
    assert texts == [None if v is None else str(v) for v in array.to_pylist()]
