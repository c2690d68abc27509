"""How history-mode update files find previous versions: two statements per chunk matching record keys
against arrays, per-record lookups for what those cannot settle, and the results being the same."""

from __future__ import annotations

from typing import Any

import pytest
from cratedb_destination.batch import UNMODIFIED
from destination_harness import Dest, ok
from destination_testkit import table
from test_history import SYNC_1, SYNC_2, SYSTEM, T2, T3, T4, T5, TMAX

pytestmark = pytest.mark.cratedb

T6 = "2024-01-06T00:00:00.000Z"
PAIRS = table("pairs", [("a", "INT", True), ("b", "INT", True), ("v", "STRING"), ("n", "INT"), *SYSTEM])
PAIR_COLUMNS = [c.name for c in PAIRS.columns]
PAIR_KEYS = ["a", "b", "_fivetran_start"]


def test_composite_keys_ignore_combinations_nobody_asked_for(dest: Dest) -> None:
    """Matching a and b against arrays also finds (1, 1) and (2, 2): they must stay untouched."""
    ok(dest.create(PAIRS))
    pairs = [("1", "1"), ("1", "2"), ("2", "1"), ("2", "2")]
    ok(
        dest.write_history(
            PAIRS,
            earliest=[(PAIR_KEYS, [[a, b, T2] for a, b in pairs])],
            replace=[(PAIR_COLUMNS, [[a, b, f"v{a}{b}", "1", SYNC_1, T2, TMAX, "true"] for a, b in pairs])],
        )
    )
    ok(
        dest.write_history(
            PAIRS,
            earliest=[(PAIR_KEYS, [["1", "2", T3], ["2", "1", T3]])],
            update=[
                (
                    PAIR_COLUMNS,
                    [
                        ["1", "2", UNMODIFIED, "5", SYNC_2, T3, TMAX, "true"],
                        ["2", "1", "changed", UNMODIFIED, SYNC_2, T3, TMAX, "true"],
                    ],
                )
            ],
        )
    )
    rows = dest.rows("pairs", ["a", "b", "v", "n", "_fivetran_active"], PAIR_KEYS)
    assert rows == [
        [1, 1, "v11", 1, True],
        [1, 2, "v12", 1, False],
        [1, 2, "v12", 5, True],
        [2, 1, "v21", 1, False],
        [2, 1, "changed", 1, True],
        [2, 2, "v22", 1, True],
    ]


def test_versions_written_between_a_records_rows_are_found(dest: Dest) -> None:
    """A replace file puts a version of record 1 between its two update rows: the later row must complete
    from that version (the per-record lookup), record 2 from its stored one (the array lookup)."""
    guide = table("guide", [("id", "INT", True), ("name", "STRING"), ("qty", "INT"), *SYSTEM])
    columns = [c.name for c in guide.columns]
    ok(dest.create(guide))
    ok(
        dest.write_history(
            guide,
            earliest=[(["id", "_fivetran_start"], [["1", T2], ["2", T2]])],
            replace=[
                (
                    columns,
                    [
                        ["1", "one", "1", SYNC_1, T2, TMAX, "true"],
                        ["2", "two", "2", SYNC_1, T2, TMAX, "true"],
                    ],
                )
            ],
        )
    )
    ok(
        dest.write_history(
            guide,
            earliest=[(["id", "_fivetran_start"], [["1", T3], ["2", T3]])],
            replace=[(columns, [["1", "replaced", "7", SYNC_2, T4, "2024-01-04T23:59:59.999Z", "false"]])],
            update=[
                (
                    columns,
                    [
                        ["1", UNMODIFIED, "3", SYNC_2, T3, "2024-01-03T23:59:59.999Z", "false"],
                        ["1", UNMODIFIED, "5", SYNC_2, T5, TMAX, "true"],
                        ["2", "two'", UNMODIFIED, SYNC_2, T6, TMAX, "true"],
                    ],
                )
            ],
        )
    )
    assert dest.rows("guide", ["id", "name", "qty", "_fivetran_start"], ["id", "_fivetran_start"]) == [
        [1, "one", 1, 1704153600000],
        [1, "one", 3, 1704240000000],
        [1, "replaced", 7, 1704326400000],
        [1, "replaced", 5, 1704412800000],
        [2, "two", 2, 1704153600000],
        [2, "two'", 2, 1704499200000],
    ]


def test_floating_point_record_keys_use_per_record_lookups(dest: Dest) -> None:
    measured = table("measured", [("x", "DOUBLE", True), ("v", "STRING"), ("n", "INT"), *SYSTEM])
    columns = [c.name for c in measured.columns]
    keys = ["x", "_fivetran_start"]
    ok(dest.create(measured))
    ok(
        dest.write_history(
            measured,
            earliest=[(keys, [["0.5", T2], ["1e300", T2]])],
            replace=[
                (
                    columns,
                    [
                        ["0.5", "half", "1", SYNC_1, T2, TMAX, "true"],
                        ["1e300", "huge", "2", SYNC_1, T2, TMAX, "true"],
                    ],
                )
            ],
        )
    )
    ok(
        dest.write_history(
            measured,
            earliest=[(keys, [["0.5", T3], ["1e300", T3]])],
            update=[
                (
                    columns,
                    [
                        ["0.5", UNMODIFIED, "10", SYNC_2, T3, TMAX, "true"],
                        ["1e300", "HUGE", UNMODIFIED, SYNC_2, T3, TMAX, "true"],
                    ],
                )
            ],
        )
    )
    rows = dest.rows("measured", ["x", "v", "n", "_fivetran_active"], keys)
    assert rows == [
        [0.5, "half", 1, False],
        [0.5, "half", 10, True],
        [1e300, "huge", 2, False],
        [1e300, "HUGE", 2, True],
    ]


@pytest.mark.emulator_only
def test_an_update_chunk_looks_up_previous_versions_in_two_statements(
    emulator_dest: Dest, emulator: Any
) -> None:
    guide = table("guide", [("id", "LONG", True), ("name", "STRING"), ("qty", "INT"), *SYSTEM])
    columns = [c.name for c in guide.columns]
    ids = [str(n) for n in range(1500)]
    ok(emulator_dest.create(guide))
    ok(
        emulator_dest.write_history(
            guide,
            earliest=[(["id", "_fivetran_start"], [[i, T2] for i in ids])],
            replace=[(columns, [[i, f"n{i}", "1", SYNC_1, T2, TMAX, "true"] for i in ids])],
        )
    )
    emulator.reset_stats()
    update = [[i, UNMODIFIED, "2", SYNC_2, T3, TMAX, "true"] for i in ids]
    ok(emulator_dest.write_history(guide, update=[(columns, update)]))
    assert emulator.stats()["statements"]["SELECT"] == 2
    rows = emulator_dest.rows("guide", ["id", "name", "qty"], ["id", "_fivetran_start"])
    assert rows[-2:] == [[1499, "n1499", 1], [1499, "n1499", 2]]
    assert len(rows) == 3000
