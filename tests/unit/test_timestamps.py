"""Calendar arithmetic for instants of any year (year 0000 included), checked against `datetime`."""

from __future__ import annotations

import datetime as dt

import pytest
from cratedb_destination import timestamps
from hypothesis import given
from hypothesis import strategies as st

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@given(st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59)))
def test_epoch_ms_agrees_with_datetime_where_datetime_reaches(moment: dt.datetime) -> None:
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=dt.timezone.utc)
    expected = (moment - _EPOCH) // dt.timedelta(milliseconds=1)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    text = f"{moment.year:04d}" + text[text.index("-") :]
    assert timestamps.epoch_ms(text) == expected
    assert timestamps.iso_ms(expected) == text


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_iso_ms_and_epoch_ms_are_inverse(ms: int) -> None:
    assert timestamps.epoch_ms(timestamps.iso_ms(ms)) == ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1970-01-01T00:00:00.000Z", 0),
        ("0000-01-01T00:00:00Z", -62_167_219_200_000),
        ("0000-03-01", -62_162_035_200_000),  # year 0 is a leap year: 31 + 29 days after 0000-01-01
        ("2024-01-01T02:00:00+02:00", 1_704_067_200_000),
        ("2024-01-01T00:00:00.123456789-0530", 1_704_087_000_123),
    ],
)
def test_epoch_ms_of_known_instants(text: str, ms: int) -> None:
    assert timestamps.epoch_ms(text) == ms


def test_year_zero_round_trips_as_text() -> None:
    assert timestamps.iso_ms(-62_167_219_200_000) == "0000-01-01T00:00:00.000Z"
    assert timestamps.iso_ms(-62_167_219_200_000, zone=False) == "0000-01-01T00:00:00.000"


@pytest.mark.parametrize("text", ["2023-02-29", "0001-02-29", "2024-04-31", "not a date"])
def test_impossible_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        timestamps.epoch_ms(text)
