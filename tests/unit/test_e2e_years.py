"""The harness's dates before year 1 (year 0000 is a valid CrateDB timestamp; Python's datetime lacks it)."""

from __future__ import annotations

import pytest
from fivetran_e2e import years
from fivetran_e2e.csv_values import to_csv
from fivetran_e2e.data_types import DataType, FivetranType
from fivetran_e2e.model import epoch_ms, iso_ms
from fivetran_e2e.operations import Cell, CellKind
from fivetran_proto.common_pb2 import NAIVE_DATE, NAIVE_DATETIME, UTC_DATETIME
from hypothesis import given
from hypothesis import strategies as st

YEAR_ZERO_MS = -62_167_219_200_000  # 0000-01-01T00:00:00Z: 1970 years of 365.2425 days before the epoch


def test_year_zero_instants() -> None:
    assert epoch_ms("0000-01-01T00:00:00Z") == YEAR_ZERO_MS
    assert epoch_ms("0000-03-01") == YEAR_ZERO_MS + 60 * 86_400_000  # year 0 is a leap year
    assert iso_ms(YEAR_ZERO_MS) == "0000-01-01T00:00:00.000Z"
    assert iso_ms(YEAR_ZERO_MS - 1) == "-0001-12-31T23:59:59.999Z"


@given(st.integers(min_value=YEAR_ZERO_MS - 10**13, max_value=253_402_300_799_999))
def test_iso_ms_and_epoch_ms_are_inverse(ms: int) -> None:
    text = iso_ms(ms)
    if not text.startswith("-"):
        assert epoch_ms(text) == ms


@pytest.mark.parametrize(
    ("text", "shifted", "shift"),
    [("2024-01-01", "2024-01-01", 0), ("0000-02-29", "0400-02-29", 400), ("-0001-12-31", "0399-12-31", 400)],
)
def test_dates_move_by_whole_cycles(text: str, shifted: str, shift: int) -> None:
    assert years.into_range(text) == (shifted, shift)
    assert years.shifted_back(shifted, shift) == text


@pytest.mark.parametrize(
    ("data_type", "text", "expected"),
    [
        (NAIVE_DATE, "0000-01-01", "0000-01-01"),
        (NAIVE_DATETIME, "0000-02-29 12:00", "0000-02-29T12:00:00"),
        (UTC_DATETIME, "0000-01-01T01:00:00+02:00", "-0001-12-31T23:00:00Z"),
    ],
)
def test_batch_file_text_of_year_zero(data_type: DataType, text: str, expected: str) -> None:
    assert to_csv(Cell(CellKind.TEXT, text), FivetranType(data_type)) == expected
