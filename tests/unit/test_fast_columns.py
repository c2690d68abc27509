"""The whole-column fast paths (`fast_columns`) against the reference converters of the type registry.

A fast path may refuse any column (the reference then converts it cell by cell); what it accepts it must
convert exactly as the reference does. Generated text mixes the plain forms the fast paths are for with
near misses (other digits, separators, signs, whitespace, out-of-range fields) and arbitrary text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pytest
from cratedb_destination import fast_columns
from cratedb_destination.type_mapping import (
    ALL_TYPES,
    BINARY,
    BOOLEAN,
    DECIMAL,
    DOUBLE,
    FLOAT,
    INT,
    JSON,
    LONG,
    NAIVE_DATE,
    NAIVE_DATETIME,
    NAIVE_TIME,
    SHORT,
    STRING,
    UTC_DATETIME,
    XML,
    ConversionError,
    FivetranType,
    column_converter,
    text_backed,
    value_converter,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TYPES = [FivetranType(data_type) for data_type in ALL_TYPES if data_type != DECIMAL] + [
    FivetranType(DECIMAL, precision=p, scale=s) for p, s in ((38, 10), (5, 2), (3, 3), (4, 0), (1, 0))
]


def reference(ftype: FivetranType, cells: list[str | None]) -> list[Any] | None:
    """The reference conversion of every cell, or None when one is refused."""
    convert = value_converter(ftype)
    try:
        return [None if cell is None else convert(cell) for cell in cells]
    except ConversionError:
        return None


def check(ftype: FivetranType, cells: list[str | None]) -> Sequence[Any] | None:
    fast = column_converter(ftype)
    assert fast is not None
    result = fast(pa.chunked_array([pa.array(cells, pa.string())]))
    if result is None:
        return None
    assert list(result.python()) == reference(ftype, cells), (ftype, cells)
    assert result.arrow().to_pylist() == list(result.python())  # what bulk_json writes: the same values
    return result.python()


def _pieces(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map("".join)


_digits = st.text("0123456789", min_size=1, max_size=4)
_noise = st.sampled_from(["", " ", "+", "-", "٣", "Z", "z", ".", ",", "T", "e5", "\n", ":", "=", "/"])
_two = st.integers(0, 99).map(lambda n: f"{n:02d}")
_year = st.sampled_from(["0000", "0001", "1900", "1970", "2000", "2024", "9999", "10000", "999"])
_fraction = st.sampled_from(["", ".", ".1", ".12", ".123", ".1234", ".123456789", ".1234567890", ",5"])
_date = _pieces(_year, st.just("-"), _two, st.just("-"), _two)
_clock = _pieces(_two, st.just(":"), _two, st.just(":"), _two, _fraction)
_datetime = _pieces(
    _noise, _date, st.sampled_from(["T", " ", "t"]), _clock, st.sampled_from(["Z", "", "+01:00", "z"]), _noise
)
_number = _pieces(
    _noise,
    st.sampled_from(["", "-", "+"]),
    _digits,
    st.sampled_from(["", ".", "."]),
    st.text("0123456789", max_size=12),
    st.sampled_from(["", "e3", "E-2"]),
    _noise,
)
_words = st.sampled_from(["true", "false", "TRUE", " true", "True", "1", "", "null", "fals"])
_json = st.sampled_from(
    ['{"a": 1}', "[1, 2]", '"x"', "1", "NaN", "{", '{"a": 1,}', "[1]]", "null", '"\\ud800"', "1e400"]
)
_base64 = st.sampled_from(
    ["", "QQ==", "QUI=", "QUJD", "QUJDRA==", "QQ=", "QQ", "Q===", "QU JD", "QUJD\n", "é"]
)
_cells = st.one_of(_datetime, _date, _clock, _number, _words, _json, _base64, st.text(max_size=12))
_columns = st.lists(st.one_of(st.none(), _cells), min_size=1, max_size=6)


@pytest.mark.parametrize("ftype", TYPES, ids=lambda ftype: str(ftype))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=_columns)
def test_a_fast_path_converts_what_it_accepts_exactly_as_the_reference(
    ftype: FivetranType, cells: list[str | None]
) -> None:
    check(ftype, cells)


@pytest.mark.parametrize(
    ("ftype", "cells"),
    [
        (
            FivetranType(UTC_DATETIME),
            ["2024-05-01T11:59:59.123Z", "2024-02-29T00:00:00Z", "0000-01-01T00:00:00.5Z", None],
        ),
        (
            FivetranType(NAIVE_DATETIME),
            ["2024-05-01T11:59:59.123", "2024-05-01T11:59:59", "9999-12-31T23:59:59.999999"],
        ),
        (FivetranType(NAIVE_DATE), ["2024-05-01", "0001-01-01", "2000-02-29"]),
        (FivetranType(NAIVE_TIME), ["23:59:59", "00:00:00.123456"]),
        (FivetranType(BOOLEAN), ["true", "false", None]),
        (FivetranType(SHORT), ["-32768", "32767", "0"]),
        (FivetranType(INT), ["-2147483648", "2147483647", "-0", "007"]),
        (FivetranType(LONG), ["123456789012345678", "-1"]),
        (FivetranType(DECIMAL, precision=18, scale=4), ["0", "-12.5", "99999.0001", "1.25"]),
        (FivetranType(FLOAT), ["1.5", "-2e10", ".5", "3."]),
        (FivetranType(DOUBLE), ["2.2250738585072014e-308", "0"]),
        (FivetranType(BINARY), ["QUJD", "QQ==", ""]),
        (FivetranType(STRING), ["", " spaced ", "é\n", None]),
        (FivetranType(XML), ["<a/>"]),
        (FivetranType(JSON), ['{"n": 1, "s": "x"}', "[]", "null", '"text"']),
    ],
    ids=lambda value: str(value) if isinstance(value, FivetranType) else "",
)
def test_the_plain_forms_take_the_fast_path(ftype: FivetranType, cells: list[str | None]) -> None:
    assert check(ftype, cells) is not None


@pytest.mark.parametrize(
    ("ftype", "cell"),
    [
        (FivetranType(UTC_DATETIME), "2023-02-29T00:00:00Z"),
        (FivetranType(UTC_DATETIME), "2024-01-01T24:00:00Z"),
        (FivetranType(UTC_DATETIME), "2024-01-01T10:00:00+02:00"),
        (FivetranType(NAIVE_DATE), "1900-02-29"),
        (FivetranType(SHORT), "32768"),
        (FivetranType(LONG), "9223372036854775807"),
        (FivetranType(BOOLEAN), "TRUE"),
        (FivetranType(DECIMAL, precision=5, scale=2), "1.234"),
        (FivetranType(DECIMAL, precision=5, scale=2), "0123"),
        (FivetranType(DECIMAL, precision=5, scale=2), "1234"),
        (FivetranType(FLOAT), "NaN"),
        (FivetranType(JSON), "NaN"),
        (FivetranType(BINARY), "not base64"),
        (FivetranType(NAIVE_TIME), "24:00:00"),
    ],
    ids=lambda value: str(value) if isinstance(value, FivetranType) else repr(value),
)
def test_other_forms_go_to_the_reference(ftype: FivetranType, cell: str) -> None:
    assert check(ftype, ["2024-01-01" if ftype.data_type == NAIVE_DATE else None, cell]) is None


@pytest.mark.parametrize("ftype", [ftype for ftype in TYPES if text_backed(ftype)], ids=str)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=_columns)
def test_the_fast_path_of_a_text_backed_type_gives_each_cells_own_text(
    ftype: FivetranType, cells: list[str | None]
) -> None:
    """The writer bounds such values by the longest cell in bytes (`BatchFileWriter._column_values`)."""
    values = check(ftype, cells)
    assert values is None or list(values) == cells


def test_every_type_but_object_stored_json_has_a_fast_path() -> None:
    assert all(column_converter(ftype) is not None for ftype in TYPES)
    assert column_converter(FivetranType(JSON, storage="object")) is None


# -- by_distinct: a repetitive column is converted once per distinct text ----------------------------------

_PATHS = {
    "instants": fast_columns.INSTANTS,
    "local datetimes": fast_columns.LOCAL_DATETIMES,
    "dates": fast_columns.dates,
    "times": fast_columns.TIME_OF_DAY,
    "integers": fast_columns.integers(-32768, 32767),
    "decimals": fast_columns.decimals(5, 2),
    "floats": fast_columns.FLOAT_TEXT,
    "booleans": fast_columns.booleans,
    "json": fast_columns.json_text,
    "base64": fast_columns.BASE64,
    "text": fast_columns.identity,
}


@pytest.mark.parametrize("name", list(_PATHS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pool=st.lists(st.one_of(st.none(), _cells), min_size=1, max_size=5),
    picks=st.lists(st.integers(0, 4), min_size=1, max_size=300),
    split=st.integers(0, 300),
)
def test_through_distinct_texts_a_column_converts_as_cell_by_cell(
    name: str, pool: list[str | None], picks: list[int], split: int
) -> None:
    convert = _PATHS[name]
    cells = [pool[pick % len(pool)] for pick in picks]
    column = pa.chunked_array([pa.array(cells[:split], pa.string()), pa.array(cells[split:], pa.string())])
    direct = convert(column)
    distinct = fast_columns.by_distinct(convert)(column)
    assert (distinct is None) == (direct is None)
    if direct is not None:
        assert distinct is not None
        assert list(distinct.python()) == list(direct.python())
        assert distinct.arrow().to_pylist() == direct.arrow().to_pylist()


def _converted(convert: fast_columns.ColumnValues, column: pa.ChunkedArray) -> list[Any]:
    values = convert(column)
    assert values is not None
    assert values.arrow().to_pylist() == list(values.python())
    return list(values.python())


def _recording(seen: list[list[str | None]]) -> fast_columns.ColumnValues:
    def convert(array: pa.ChunkedArray) -> fast_columns.Values:
        seen.append(array.to_pylist())
        return fast_columns.identity(array)

    return convert


def test_a_repetitive_column_is_converted_once_per_distinct_text() -> None:
    seen: list[list[str | None]] = []
    column = pa.chunked_array([pa.array(["a", "b", None] * 100), pa.array(["a"] * 50)])
    assert _converted(fast_columns.by_distinct(_recording(seen)), column) == column.to_pylist()
    assert seen == [["a", "b"]]


@pytest.mark.parametrize("start", [[], ["a"] * 64], ids=["varied", "varied after a repetitive start"])
def test_a_varied_column_is_converted_whole(start: list[str]) -> None:
    seen: list[list[str | None]] = []
    cells = [*start, *(f"value {i}" for i in range(200))]
    column = pa.chunked_array([pa.array(cells)])
    assert _converted(fast_columns.by_distinct(_recording(seen)), column) == cells
    assert seen == [cells]


def test_texts_seen_in_earlier_chunks_are_not_converted_again() -> None:
    seen: list[list[str | None]] = []
    convert = fast_columns.by_distinct(_recording(seen))
    first = pa.chunked_array([pa.array(["a", "b"] * 50)])
    second = pa.chunked_array([pa.array(["b", "c", None] * 40)])
    assert _converted(convert, first) == first.to_pylist()
    assert _converted(convert, second) == second.to_pylist()
    assert seen == [["a", "b"], ["c"]]


def test_many_distinct_texts_across_chunks_stay_exact() -> None:
    """More distinct texts than the column remembers: what it forgets is converted again."""
    convert = fast_columns.by_distinct(fast_columns.integers(0, 10**6))
    for start in range(0, 4500, 750):  # half of each chunk's 1,500 texts were in the chunk before
        cells = [str(start + (i // 4) % 1500) for i in range(6000)]
        assert _converted(convert, pa.chunked_array([pa.array(cells)])) == [int(cell) for cell in cells]
