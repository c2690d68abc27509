"""DataType <-> CrateDB type <-> value: DDL, conversions of batch-file text, and reading values back."""

from __future__ import annotations

import base64
import datetime as dt
import decimal

import pytest
from cratedb_destination import type_mapping as tm
from cratedb_destination.errors import UserActionRequired
from cratedb_destination.type_mapping import ColumnSpec, ConversionError, FivetranType
from fivetran_proto import common_pb2

UNLIMITED = " INDEX OFF STORAGE WITH (columnstore = false)"


@pytest.mark.parametrize(
    ("ftype", "key", "ddl"),
    [
        (FivetranType(tm.BOOLEAN), False, "BOOLEAN"),
        (FivetranType(tm.SHORT), False, "SMALLINT"),
        (FivetranType(tm.INT), True, "INTEGER"),
        (FivetranType(tm.LONG), False, "BIGINT"),
        (FivetranType(tm.DECIMAL), False, "NUMERIC(38, 10)"),
        (FivetranType(tm.DECIMAL, 6, 3), True, "NUMERIC(6, 3)"),
        (FivetranType(tm.DECIMAL, 0, 0), False, "NUMERIC(38, 10)"),
        (FivetranType(tm.FLOAT), False, "REAL"),
        (FivetranType(tm.DOUBLE), False, "DOUBLE PRECISION"),
        (FivetranType(tm.NAIVE_DATE), False, "TIMESTAMP WITHOUT TIME ZONE"),
        (FivetranType(tm.NAIVE_DATETIME), False, "TIMESTAMP WITHOUT TIME ZONE"),
        (FivetranType(tm.UTC_DATETIME), False, "TIMESTAMP WITH TIME ZONE"),
        (FivetranType(tm.BINARY), False, "TEXT" + UNLIMITED),
        (FivetranType(tm.BINARY), True, "TEXT"),
        (FivetranType(tm.XML), False, "TEXT" + UNLIMITED),
        (FivetranType(tm.JSON), False, "TEXT" + UNLIMITED),
        (FivetranType(tm.JSON), True, "TEXT"),
        (FivetranType(tm.STRING), False, "TEXT"),
        (FivetranType(tm.STRING, string_byte_length=32766), False, "TEXT"),
        (FivetranType(tm.STRING, string_byte_length=65536), False, "TEXT" + UNLIMITED),
        (FivetranType(tm.STRING, string_byte_length=65536), True, "TEXT"),
        (FivetranType(tm.NAIVE_TIME), False, "TEXT"),
    ],
)
def test_column_ddl(ftype: FivetranType, key: bool, ddl: str) -> None:
    assert tm.column_ddl(ColumnSpec("c", ftype, key)) == ddl


def test_every_type_has_ddl_and_information_schema_name() -> None:
    for data_type in tm.ALL_TYPES:
        ftype = FivetranType(data_type)
        assert tm.sql_type(ftype)
        inferred = tm.infer_type(tm.information_schema_type(ftype))
        # Types CrateDB stores distinctly come back as themselves.
        assert tm.information_schema_type(inferred) == tm.information_schema_type(ftype)


@pytest.mark.parametrize(
    "params",
    [None, ("decimal", 10, 2), ("decimal", 38, 37), ("decimal", 0, 0), ("string_byte_length", 256)],
)
def test_proto_column_round_trip(params: tuple | None) -> None:
    column = common_pb2.Column(name="c", type=common_pb2.DECIMAL, primary_key=True)
    if params and params[0] == "decimal":
        column.params.decimal.precision, column.params.decimal.scale = params[1], params[2]
    elif params:
        column.type = common_pb2.STRING
        column.params.string_byte_length = params[1]
    spec = tm.spec_from_proto(column)
    assert tm.spec_to_proto(spec) == column


@pytest.mark.parametrize(("precision", "scale"), [(39, 2), (10, 11)])
def test_decimal_params_crate_cannot_store_are_tasks(precision: int, scale: int) -> None:
    column = common_pb2.Column(name="amount", type=common_pb2.DECIMAL)
    column.params.decimal.precision, column.params.decimal.scale = precision, scale
    with pytest.raises(UserActionRequired, match="'amount'"):
        tm.spec_from_proto(column, "s.t")


def test_unspecified_type_is_rejected_by_name() -> None:
    with pytest.raises(UserActionRequired, match="'odd'"):
        tm.spec_from_proto(common_pb2.Column(name="odd", type=common_pb2.UNSPECIFIED))


def convert(data_type: int, text: str, **params: int) -> object:
    return tm.value_converter(FivetranType(data_type, **params))(text)


@pytest.mark.parametrize(
    ("data_type", "text", "expected"),
    [
        (tm.BOOLEAN, "true", True),
        (tm.BOOLEAN, "FALSE", False),
        (tm.BOOLEAN, "True", True),
        (tm.SHORT, "-32768", -32768),
        (tm.SHORT, "32767", 32767),
        (tm.INT, "2147483647", 2147483647),
        (tm.LONG, "-9223372036854775808", -(2**63)),
        (tm.LONG, "9223372036854775807", 2**63 - 1),
        # Unspecified precision is NUMERIC(38, 10): rounded to 10 decimals, as CrateDB stores it.
        (tm.DECIMAL, "12345678901234567890.123456789012345678", "12345678901234567890.1234567890"),
        (tm.DECIMAL, "1E+3", "1000"),
        (tm.DECIMAL, "-0.000001", "-0.000001"),
        (tm.FLOAT, "3.4028237E+38", "3.4028237E+38"),
        (tm.DOUBLE, "-2.2250738585072014E-308", "-2.2250738585072014E-308"),
        (tm.DOUBLE, "NaN", "NaN"),
        (tm.DOUBLE, "Infinity", "Infinity"),
        (tm.FLOAT, "-Infinity", "-Infinity"),
        (tm.NAIVE_DATE, "2007-12-03", "2007-12-03T00:00:00.000"),
        (tm.NAIVE_DATE, "1900-01-01", "1900-01-01T00:00:00.000"),
        (tm.NAIVE_DATETIME, "2007-12-03T10:15", "2007-12-03T10:15:00.000"),
        (tm.NAIVE_DATETIME, "2007-12-03T10:15:30", "2007-12-03T10:15:30.000"),
        (tm.NAIVE_DATETIME, "2007-12-03 10:15:30.1", "2007-12-03T10:15:30.100"),
        (tm.NAIVE_DATETIME, "2007-12-03T10:15:30.123456789", "2007-12-03T10:15:30.123"),
        (tm.UTC_DATETIME, "2024-01-24T23:11:39.755812480Z", "2024-01-24T23:11:39.755Z"),
        (tm.UTC_DATETIME, "2007-12-03T10:15:30Z", "2007-12-03T10:15:30.000Z"),
        (tm.UTC_DATETIME, "2007-12-03T10:15:30.5+02:00", "2007-12-03T10:15:30.500+02:00"),
        (tm.UTC_DATETIME, "2007-12-03T10:15:30-0530", "2007-12-03T10:15:30.000-05:30"),
        (tm.UTC_DATETIME, "2299-12-31T23:59:59.999Z", "2299-12-31T23:59:59.999Z"),
        (tm.NAIVE_TIME, "10:15:30", "10:15:30"),
        (tm.NAIVE_TIME, "15:00", "15:00:00"),
        (tm.NAIVE_TIME, "10:15:30.123456789", "10:15:30.123456789"),
        (tm.BINARY, "AAEC/w==", "AAEC/w=="),
        (tm.BINARY, "", ""),
        (tm.JSON, '{"a": [1, 2.5, null]}', '{"a": [1, 2.5, null]}'),
        (tm.JSON, "[1,2]", "[1,2]"),
        (tm.STRING, "", ""),
        (tm.STRING, "any ' \" text\n", "any ' \" text\n"),
        (tm.XML, "<tag>This is xml</tag>", "<tag>This is xml</tag>"),
    ],
)
def test_value_conversion(data_type: int, text: str, expected: object) -> None:
    assert convert(data_type, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Rounded once, to the scale, half away from zero (DuckDB's DECIMAL cast); CrateDB would round
        # 1.23499 to 5 significant digits first (1.2350) and then to 1.24 (crate/crate `NumericType`).
        ("1.23499", "1.23"),
        ("1.235", "1.24"),
        ("-1.235", "-1.24"),
        ("999.994", "999.99"),
        ("0.005", "0.01"),
        ("1.5e-3", "0.00"),
        ("1e2", "100"),
        ("1.2", "1.2"),
    ],
)
def test_decimal_values_are_rounded_to_the_scale_once(text: str, expected: str) -> None:
    assert convert(tm.DECIMAL, text, precision=5, scale=2) == expected


@pytest.mark.parametrize("text", ["999.999", "999.995", "1000", "-1000.00"])
def test_decimal_values_whose_integer_digits_do_not_fit_after_rounding_are_refused(text: str) -> None:
    with pytest.raises(tm.ConversionError, match=r"do not fit DECIMAL\(5,2\)") as caught:
        convert(tm.DECIMAL, text, precision=5, scale=2)
    assert text not in str(caught.value)


@pytest.mark.parametrize(
    ("data_type", "text", "expected"),
    [
        (tm.NAIVE_DATE, "0000-01-01", "0000-01-01T00:00:00.000"),
        (tm.NAIVE_DATETIME, "0000-02-29T12:00:00", "0000-02-29T12:00:00.000"),
        (tm.UTC_DATETIME, "0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000Z"),
    ],
)
def test_year_zero_is_a_valid_timestamp(data_type: int, text: str, expected: str) -> None:
    """Year 0000 is in CrateDB's timestamp range, and Fivetran's destination tester sends it."""
    assert convert(data_type, text) == expected


@pytest.mark.parametrize(
    ("data_type", "text"),
    [
        (tm.NAIVE_DATE, "0001-02-29"),
        (tm.NAIVE_DATETIME, "2023-02-29T00:00:00"),
        (tm.UTC_DATETIME, "2024-13-01"),
    ],
)
def test_impossible_dates_are_refused(data_type: int, text: str) -> None:
    with pytest.raises(tm.ConversionError, match="not a valid date"):
        convert(data_type, text)


@pytest.mark.parametrize(
    ("data_type", "text", "reason"),
    [
        (tm.BOOLEAN, "yes", "true or false"),
        (tm.SHORT, "32768", "range"),
        (tm.INT, "-2147483649", "range"),
        (tm.LONG, "9223372036854775808", "range"),
        (tm.INT, "1.5", "integer"),
        (tm.INT, "", "integer"),
        (tm.DECIMAL, "abc", "decimal"),
        (tm.DECIMAL, "NaN", "NaN"),
        (tm.DOUBLE, "1,5", "floating"),
        (tm.NAIVE_DATE, "2007-02-30", "valid"),
        (tm.NAIVE_DATE, "2007-12-03T10:00:00", "time of day"),
        (tm.NAIVE_DATETIME, "03.12.2007", "ISO"),
        (tm.UTC_DATETIME, "2007-12-03T25:00:00Z", "valid"),
        (tm.UTC_DATETIME, "2007-12-03T10:00:00+19:00", "offset"),
        (tm.NAIVE_TIME, "24:00:00", "range"),
        (tm.JSON, "{not json", "JSON"),
    ],
)
def test_bad_values_raise_without_quoting_the_value(data_type: int, text: str, reason: str) -> None:
    with pytest.raises(ConversionError, match=reason) as raised:
        convert(data_type, text)
    if text and reason not in ("range", "NaN"):  # range errors name the bounds, which may contain the digits
        assert text not in str(raised.value)


def test_invalid_base64_is_kept_base64_encoded_and_reported() -> None:
    reports: list[int] = []
    converter = tm.value_converter(FivetranType(tm.BINARY), lambda: reports.append(1))
    stored = converter("[B@7d4991ad")
    assert base64.b64decode(stored) == b"[B@7d4991ad"
    assert reports == [1]
    assert converter("FFFA") == "FFFA"  # valid base64 by accident: stored as sent
    assert reports == [1]


@pytest.mark.parametrize(
    ("ftype", "raw", "expected"),
    [
        (FivetranType(tm.BOOLEAN), True, True),
        (FivetranType(tm.LONG), 2**63 - 1, 2**63 - 1),
        (FivetranType(tm.DECIMAL, 38, 10), "-12345.0000000001", decimal.Decimal("-12345.0000000001")),
        (FivetranType(tm.DOUBLE), "NaN", float("nan")),
        (FivetranType(tm.FLOAT), 1.5, 1.5),
        (FivetranType(tm.NAIVE_DATE), -2208988800000, dt.date(1900, 1, 1)),
        (FivetranType(tm.NAIVE_DATETIME), 1196676930123, dt.datetime(2007, 12, 3, 10, 15, 30, 123000)),
        (FivetranType(tm.UTC_DATETIME), 0, dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)),
        (FivetranType(tm.BINARY), "AAEC/w==", b"\x00\x01\x02\xff"),
        (FivetranType(tm.JSON), '{"a": 1}', {"a": 1}),
        (FivetranType(tm.NAIVE_TIME), "10:15:30.123456789", dt.time(10, 15, 30, 123456)),
        (FivetranType(tm.STRING), "text", "text"),
        (FivetranType(tm.XML), None, None),
    ],
)  # fmt: skip
def test_read_value(ftype: FivetranType, raw: object, expected: object) -> None:
    value = tm.read_value(ftype, raw)
    if isinstance(expected, float) and expected != expected:
        assert value != value
    else:
        assert value == expected


def test_decimal_is_read_as_text() -> None:
    assert tm.read_expression('"amount"', FivetranType(tm.DECIMAL, 10, 2)) == 'CAST("amount" AS TEXT)'
    assert tm.read_expression('"name"', FivetranType(tm.STRING)) == '"name"'


def test_format_timestamp_truncates_to_milliseconds() -> None:
    value = dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert tm.format_timestamp(value) == "2024-01-02T01:04:05.678Z"
