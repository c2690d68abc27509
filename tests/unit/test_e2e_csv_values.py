"""Recorded SDK cells -> Fivetran CSV text for the column's type."""

from __future__ import annotations

import pytest
from fivetran_e2e.csv_values import CellConversionError, converter, to_csv
from fivetran_e2e.data_types import REGISTRY, FivetranType, parse_iso, round_decimal, row_of
from fivetran_e2e.operations import Cell, CellKind
from fivetran_proto import common_pb2


def text(value: str) -> Cell:
    return Cell(CellKind.TEXT, text=value)


def test_data_type_numbers_match_the_protocol() -> None:
    for name, number in common_pb2.DataType.items():
        assert row_of(number).name == name


@pytest.mark.parametrize(
    ("cell", "column_type", "expected"),
    [
        (Cell(CellKind.NULL), FivetranType(common_pb2.LONG), None),
        (text("true"), FivetranType(common_pb2.BOOLEAN), "true"),
        (text("T"), FivetranType(common_pb2.BOOLEAN), "true"),
        (text("f"), FivetranType(common_pb2.BOOLEAN), "false"),
        (text("0012"), FivetranType(common_pb2.LONG), "12"),
        (text("true"), FivetranType(common_pb2.LONG), "1"),  # bool then int widens to BIGINT
        (text("5.0"), FivetranType(common_pb2.INT), "5"),
        (text(""), FivetranType(common_pb2.LONG), None),
        (text(""), FivetranType(common_pb2.STRING), ""),
        (text("12345678.905"), FivetranType(common_pb2.DECIMAL, 10, 2), "12345678.91"),  # half-up
        (text("42"), FivetranType(common_pb2.DECIMAL, 10, 2), "42"),  # already exact: sent as written
        (text("42.5"), FivetranType(common_pb2.DECIMAL, 3, 0), "43"),
        (text("123456.7"), FivetranType(common_pb2.DECIMAL, 6, 2), None),  # overflow -> NULL, as observed
        (text("-0.005"), FivetranType(common_pb2.DECIMAL, 5, 2), "-0.01"),
        (Cell(CellKind.FLOAT, text="3.141592653589793"), FivetranType(common_pb2.FLOAT), "3.141592653589793"),
        (Cell(CellKind.FLOAT, text="NaN"), FivetranType(common_pb2.FLOAT), None),
        (Cell(CellKind.DOUBLE, text="Infinity"), FivetranType(common_pb2.DOUBLE), "Infinity"),
        (text("12.3400"), FivetranType(common_pb2.DOUBLE), "12.3400"),
        (text("2024-05-06"), FivetranType(common_pb2.NAIVE_DATE), "2024-05-06"),
        (text("2024-05-06"), FivetranType(common_pb2.NAIVE_DATETIME), "2024-05-06T00:00:00"),
        (
            text("2024-05-06 07:08:09.123456"),
            FivetranType(common_pb2.NAIVE_DATETIME),
            "2024-05-06T07:08:09.123456",
        ),
        (text("2024-05-06T07:08:09+02:00"), FivetranType(common_pb2.UTC_DATETIME), "2024-05-06T05:08:09Z"),
        (text("2024-05-06T07:08:09.5Z"), FivetranType(common_pb2.UTC_DATETIME), "2024-05-06T07:08:09.5Z"),
        (
            text("2024-05-06T07:08:09,5z"),
            FivetranType(common_pb2.UTC_DATETIME),
            "2024-05-06T07:08:09.500000Z",
        ),
        (text("2024-05-06 07:08:09"), FivetranType(common_pb2.UTC_DATETIME), "2024-05-06T07:08:09Z"),
        (Cell(CellKind.BINARY, data=b"\x00\x01\xff"), FivetranType(common_pb2.BINARY), "AAH/"),
        (
            Cell(CellKind.JSON, text='{"k": [1, {"z": null}]}'),
            FivetranType(common_pb2.JSON),
            '{"k": [1, {"z": null}]}',
        ),
        (
            text("abc"),
            FivetranType(common_pb2.JSON),
            '"abc"',
        ),  # str then dict: the str becomes a common_pb2.JSON string
        (Cell(CellKind.JSON, text="[1, 2]"), FivetranType(common_pb2.STRING), "[1, 2]"),
        (text("<a>x</a>"), FivetranType(common_pb2.XML), "<a>x</a>"),
        (text("07:08:09"), FivetranType(common_pb2.NAIVE_TIME), "07:08:09"),
    ],
)
def test_to_csv(cell: Cell, column_type: FivetranType, expected: str | None) -> None:
    assert to_csv(cell, column_type) == expected


@pytest.mark.parametrize(
    ("cell", "column_type"),
    [
        (text("yes please"), FivetranType(common_pb2.BOOLEAN)),
        (text("1.5"), FivetranType(common_pb2.LONG)),
        (text("abc"), FivetranType(common_pb2.DOUBLE)),
        (text("2024-13-45T"), FivetranType(common_pb2.UTC_DATETIME)),
        (Cell(CellKind.BINARY, data=b"x"), FivetranType(common_pb2.LONG)),
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
    [FivetranType(t) for t in REGISTRY if t != common_pb2.DECIMAL] + [FivetranType(common_pb2.DECIMAL, 4, 1)],
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
