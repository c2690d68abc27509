"""History-mode statement builders: tables of inputs and the exact statement text they must produce."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cratedb_destination import type_mapping as tm
from cratedb_destination.errors import InvalidName
from cratedb_destination.limits import MAX_STATEMENT_CHARS
from cratedb_destination.services import history as history_service
from cratedb_destination.sql import history
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.type_mapping import FivetranType

T = TableRef("sch", "tab")
TS = "CAST(? AS TIMESTAMP WITH TIME ZONE)"
COLUMNS = [
    ("id", FivetranType(tm.INT)),
    ("amount", FivetranType(tm.DECIMAL, 10, 2)),
    ("_fivetran_start", FivetranType(tm.UTC_DATETIME)),
]

CASES: list[tuple[str, Callable[[], str], str]] = [
    (
        "delete versions from the earliest start",
        lambda: history.delete_versions_from(T, ["id"]),
        f'DELETE FROM "sch"."tab" WHERE "id" = ? AND "_fivetran_start" >= {TS}',
    ),
    (
        "delete versions, composite record key with odd names",
        lambda: history.delete_versions_from(TableRef("s", "select"), ["a", 'we"ird']),
        f'DELETE FROM "s"."select" WHERE "a" = ? AND "we""ird" = ? AND "_fivetran_start" >= {TS}',
    ),
    (
        "close the active version",
        lambda: history.close_active_version(T, ["region", "day"]),
        f'UPDATE "sch"."tab" SET "_fivetran_active" = FALSE, "_fivetran_end" = {TS} '
        'WHERE "region" = ? AND "day" = ? AND "_fivetran_active" = TRUE',
    ),
    (
        "previous starts of one record",
        lambda: history.previous_starts(T, ["id"], 1),
        'SELECT "id", MAX("_fivetran_start") FROM "sch"."tab" '
        f'WHERE ("id" = ? AND "_fivetran_start" < {TS}) GROUP BY "id"',
    ),
    (
        "previous starts of two records, composite key",
        lambda: history.previous_starts(T, ["a", "b"], 2),
        'SELECT "a", "b", MAX("_fivetran_start") FROM "sch"."tab" '
        f'WHERE ("a" = ? AND "b" = ? AND "_fivetran_start" < {TS}) '
        f'OR ("a" = ? AND "b" = ? AND "_fivetran_start" < {TS}) GROUP BY "a", "b"',
    ),
    (
        "versions between two bounds, decimals read as text",
        lambda: history.versions_between(T, COLUMNS, ["id"], 2),
        'SELECT "id", CAST("amount" AS TEXT), "_fivetran_start" FROM "sch"."tab" '
        f'WHERE ("id" = ? AND "_fivetran_start" >= {TS} AND "_fivetran_start" < {TS}) '
        f'OR ("id" = ? AND "_fivetran_start" >= {TS} AND "_fivetran_start" < {TS})',
    ),
]


@pytest.mark.parametrize(("case", "build", "expected"), CASES, ids=[case[0] for case in CASES])
def test_builder(case: str, build: Callable[[], str], expected: str) -> None:
    assert build() == expected


@pytest.mark.parametrize(
    "build",
    [
        lambda: history.delete_versions_from(T, []),
        lambda: history.close_active_version(T, []),
        lambda: history.previous_starts(T, [], 1),
        lambda: history.previous_starts(T, ["id"], 0),
        lambda: history.versions_between(T, COLUMNS, [], 1),
    ],
)
def test_builders_reject_incomplete_input(build: Callable[[], str]) -> None:
    with pytest.raises(ValueError):
        build()


def test_builders_validate_column_names() -> None:
    with pytest.raises(InvalidName, match=r"'a\.b'"):
        history.close_active_version(T, ["a.b"])
    assert '"__id" = ?' in history.close_active_version(T, ["_id"])  # a system column name, stored renamed


@pytest.mark.parametrize(
    ("keys", "limit"),
    [(["id"], MAX_STATEMENT_CHARS), (["region", "day", "flag"], MAX_STATEMENT_CHARS), (["id"], 2000)],
)
def test_records_per_lookup_keeps_statements_under_the_limit(keys: list[str], limit: int) -> None:
    count = history.records_per_lookup(T, COLUMNS, keys, limit)
    assert count >= 1
    longest = max(
        len(history.previous_starts(T, keys, count)), len(history.versions_between(T, COLUMNS, keys, count))
    )
    assert longest <= limit
    one_more = max(
        len(history.previous_starts(T, keys, count + 1)),
        len(history.versions_between(T, COLUMNS, keys, count + 1)),
    )
    assert one_more > limit


def test_records_per_lookup_is_at_least_one() -> None:
    assert history.records_per_lookup(T, COLUMNS, ["id"], 10) == 1


# -- value forms used by the history service (pure functions) ------------------------------------------------

UTC = FivetranType(tm.UTC_DATETIME)
NAIVE = FivetranType(tm.NAIVE_DATETIME)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1970-01-01T00:00:00.000Z", 0),
        ("1969-12-31T23:59:59.999Z", -1),
        ("9999-12-31T23:59:59.999Z", 253402300799999),
        ("0001-01-01T00:00:00.000Z", -62135596800000),
        ("2024-01-01T01:00:00.000+01:00", 1704067200000),
        ("2024-01-01T00:00:00.000", 1704067200000),  # naive: read as UTC
    ],
)
def test_epoch_ms_and_back(text: str, ms: int) -> None:
    assert history_service.epoch_ms(text) == ms
    assert history_service.epoch_ms(history_service.iso_ms(ms)) == ms


@pytest.mark.parametrize(
    ("ftype", "stored", "parameter"),
    [
        (UTC, 1704067200123, "2024-01-01T00:00:00.123Z"),
        (NAIVE, -2208988800000, "1900-01-01T00:00:00.000"),
        (FivetranType(tm.DECIMAL, 38, 10), "1.5000000000", "1.5000000000"),
        (FivetranType(tm.STRING), "x", "x"),
        (UTC, None, None),
    ],
)
def test_stored_values_become_parameters(ftype: FivetranType, stored: object, parameter: object) -> None:
    assert history_service.stored_to_parameter(ftype, stored) == parameter


@pytest.mark.parametrize(
    ("ftype", "parameter", "stored"),
    [
        (UTC, "2024-01-01T01:00:00.000+01:00", 1704067200000),
        (FivetranType(tm.NAIVE_DATE), "2024-01-01T00:00:00.000", 1704067200000),
        (FivetranType(tm.DECIMAL, 12, 2), "10.00", "10.0"),
        (FivetranType(tm.FLOAT), "0.1", 0.1),
        (FivetranType(tm.INT), 7, 7),
    ],
)
def test_parameters_and_stored_values_compare_equal(
    ftype: FivetranType, parameter: object, stored: object
) -> None:
    assert history_service.comparable(ftype, parameter) == history_service.comparable(ftype, stored)


def test_end_of_time_is_a_whole_millisecond() -> None:
    assert (
        history_service.iso_ms(history_service.epoch_ms(history_service.END_OF_TIME))
        == history_service.END_OF_TIME
    )
