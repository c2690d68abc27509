"""Recorded SDK cells -> Fivetran CSV text for the column's type."""

from __future__ import annotations

import pytest
from fivetran_e2e.csv_values import (
    CellConversionError,
    DataType,
    FivetranType,
    converter,
    parse_iso,
    round_decimal,
    to_csv,
)
from fivetran_e2e.operations import Cell, CellKind
from fivetran_proto import common_pb2


def text(value: str) -> Cell:
    return Cell(CellKind.TEXT, text=value)


def test_data_type_numbers_match_the_protocol() -> None:
    for member in DataType:
        assert common_pb2.DataType.Value(member.name) == member.value


@pytest.mark.parametrize(
    ("cell", "column_type", "expected"),
    [
        (Cell(CellKind.NULL), FivetranType(DataType.LONG), None),
        (text("true"), FivetranType(DataType.BOOLEAN), "true"),
        (text("T"), FivetranType(DataType.BOOLEAN), "true"),
        (text("f"), FivetranType(DataType.BOOLEAN), "false"),
        (text("0012"), FivetranType(DataType.LONG), "12"),
        (text("true"), FivetranType(DataType.LONG), "1"),  # bool then int widens to BIGINT
        (text("5.0"), FivetranType(DataType.INT), "5"),
        (text(""), FivetranType(DataType.LONG), None),
        (text(""), FivetranType(DataType.STRING), ""),
        (text("12345678.905"), FivetranType(DataType.DECIMAL, 10, 2), "12345678.91"),  # half-up
        (text("42"), FivetranType(DataType.DECIMAL, 10, 2), "42"),  # already exact: sent as written
        (text("42.5"), FivetranType(DataType.DECIMAL, 3, 0), "43"),
        (text("123456.7"), FivetranType(DataType.DECIMAL, 6, 2), None),  # overflow -> NULL, as observed
        (text("-0.005"), FivetranType(DataType.DECIMAL, 5, 2), "-0.01"),
        (Cell(CellKind.FLOAT, text="3.141592653589793"), FivetranType(DataType.FLOAT), "3.141592653589793"),
        (Cell(CellKind.FLOAT, text="NaN"), FivetranType(DataType.FLOAT), None),
        (Cell(CellKind.DOUBLE, text="Infinity"), FivetranType(DataType.DOUBLE), "Infinity"),
        (text("12.3400"), FivetranType(DataType.DOUBLE), "12.3400"),
        (text("2024-05-06"), FivetranType(DataType.NAIVE_DATE), "2024-05-06"),
        (text("2024-05-06"), FivetranType(DataType.NAIVE_DATETIME), "2024-05-06T00:00:00"),
        (
            text("2024-05-06 07:08:09.123456"),
            FivetranType(DataType.NAIVE_DATETIME),
            "2024-05-06T07:08:09.123456",
        ),
        (text("2024-05-06T07:08:09+02:00"), FivetranType(DataType.UTC_DATETIME), "2024-05-06T05:08:09Z"),
        (text("2024-05-06T07:08:09.5Z"), FivetranType(DataType.UTC_DATETIME), "2024-05-06T07:08:09.5Z"),
        (text("2024-05-06T07:08:09,5z"), FivetranType(DataType.UTC_DATETIME), "2024-05-06T07:08:09.500000Z"),
        (text("2024-05-06 07:08:09"), FivetranType(DataType.UTC_DATETIME), "2024-05-06T07:08:09Z"),
        (Cell(CellKind.BINARY, data=b"\x00\x01\xff"), FivetranType(DataType.BINARY), "AAH/"),
        (
            Cell(CellKind.JSON, text='{"k": [1, {"z": null}]}'),
            FivetranType(DataType.JSON),
            '{"k": [1, {"z": null}]}',
        ),
        (text("abc"), FivetranType(DataType.JSON), '"abc"'),  # str then dict: the str becomes a JSON string
        (Cell(CellKind.JSON, text="[1, 2]"), FivetranType(DataType.STRING), "[1, 2]"),
        (text("<a>x</a>"), FivetranType(DataType.XML), "<a>x</a>"),
        (text("07:08:09"), FivetranType(DataType.NAIVE_TIME), "07:08:09"),
    ],
)
def test_to_csv(cell: Cell, column_type: FivetranType, expected: str | None) -> None:
    assert to_csv(cell, column_type) == expected


@pytest.mark.parametrize(
    ("cell", "column_type"),
    [
        (text("yes please"), FivetranType(DataType.BOOLEAN)),
        (text("1.5"), FivetranType(DataType.LONG)),
        (text("abc"), FivetranType(DataType.DOUBLE)),
        (text("2024-13-45T"), FivetranType(DataType.UTC_DATETIME)),
        (Cell(CellKind.BINARY, data=b"x"), FivetranType(DataType.LONG)),
    ],
)
def test_values_that_do_not_fit_raise_without_the_value(cell: Cell, column_type: FivetranType) -> None:
    with pytest.raises(CellConversionError) as error:
        to_csv(cell, column_type)
    assert cell.text is None or cell.text not in str(error.value)


def test_parse_iso_reports_zone_and_time() -> None:
    value, has_time, has_zone = parse_iso("2024-01-02T03:04:05.123456789-01:30")
    assert (has_time, has_zone) == (True, True)
    assert value.isoformat() == "2024-01-02T04:34:05.123456"
    assert parse_iso("2024-01-02")[1:] == (False, False)


def test_round_decimal_scale_zero_and_large_values() -> None:
    assert round_decimal("99999999999999999999999999999999999999", 38, 0) == "9" * 38
    assert round_decimal("0.5", 3, 0) == "1"
    assert round_decimal("Infinity", 10, 2) is None


@pytest.mark.parametrize(
    "column_type",
    [FivetranType(t) for t in DataType if t is not DataType.DECIMAL] + [FivetranType(DataType.DECIMAL, 4, 1)],
)
@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "true",
        "f",
        "42",
        "-0",
        "0012",
        "2024-05-06",
        "2024-05-06T07:08:09",
        "2024-05-06T07:08:09.123Z",
        "2024-05-06 07:08:09+02:00",
        "text",
        {"kind": "float", "text": "1.5"},
        {"kind": "double", "text": "NaN"},
        {"kind": "json", "text": '{"a": 1}'},
        {"kind": "binary", "b64": "AAH/"},
        {"kind": "text", "text": "long form"},
    ],
)
def test_the_specialised_converter_agrees_with_to_csv(column_type: FivetranType, raw: object) -> None:
    def outcome(function: object) -> object:
        try:
            return function()  # type: ignore[operator]
        except CellConversionError:
            return "error"

    fast = outcome(lambda: converter(column_type)(raw))
    slow = outcome(lambda: to_csv(Cell.from_json(raw), column_type))
    assert fast == slow
